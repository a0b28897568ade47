//! Helpers for the project's own tests and benchmarks: an isolated PostgreSQL schema per run, and integrity
//! checks a test asserts on. Nothing of the running hub calls them.

use super::queue::fanout::fanout_length;
use super::{now_ms, DbResult, Store};
use sqlx::{Executor, Row};

/// Creates a fresh schema in a PostgreSQL database and returns a URL whose connections live in it, so parallel
/// test runs never see each other's tables. Schemas it made more than an hour ago are dropped on the way.
pub async fn isolated_postgres_url(base: &str) -> Result<String, String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", crate::server::config::redact_url(base)))?;
    let old: Vec<String> =
        sqlx::query_scalar("SELECT CAST(nspname AS TEXT) FROM pg_namespace WHERE nspname LIKE 'hub_t_%'")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    let hour_ago = (now_ms() - 3_600_000) as u64;
    for name in old {
        let made = ulid::Ulid::from_string(&name["hub_t_".len()..].to_uppercase()).map(|u| u.timestamp_ms());
        if made.is_ok_and(|t| t < hour_ago) {
            let _ = conn.execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str()).await;
        }
    }
    let schema = format!("hub_t_{}", ulid::Ulid::new().to_string().to_lowercase());
    conn.execute(format!("CREATE SCHEMA {schema}").as_str()).await.map_err(|e| e.to_string())?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// Integrity check: attempts recorded twice under the same number (two workers sending one delivery at
/// once) — the lease and `SKIP LOCKED` must keep this at zero.
pub async fn repeated_attempts(store: &Store) -> DbResult<i64> {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT delivery_id, attempt FROM delivery_attempts \
         GROUP BY delivery_id, attempt HAVING COUNT(*) > 1) AS r",
    )
    .fetch_one(&store.read)
    .await?
    .try_get("n")
}

/// A tenant's deliveries, rows and those still in fan-outs, in one snapshot.
pub async fn count_deliveries(store: &Store, tenant: &str) -> DbResult<i64> {
    sqlx::query(&format!(
        "SELECT (SELECT COUNT(*) FROM deliveries WHERE tenant_id = $1) + (SELECT COALESCE(SUM({}), 0) \
         FROM fanouts f JOIN events e ON e.id = f.event_id WHERE e.tenant_id = $1) AS n",
        fanout_length(store.dialect)
    ))
    .bind(tenant)
    .fetch_one(&store.read)
    .await?
    .try_get("n")
}

/// Deliveries still held in fan-outs (not yet written out as rows), all tenants.
pub async fn deliveries_in_fanouts(store: &Store) -> DbResult<i64> {
    sqlx::query(&format!("SELECT COALESCE(SUM({}), 0) AS n FROM fanouts", fanout_length(store.dialect)))
        .fetch_one(&store.read)
        .await?
        .try_get("n")
}
