//! Reading the delivery log in aggregate (stats) and keeping it bounded (retention).

use super::queue::fanout::pending_view;
use super::queue::ids::{named_after_event, NOT_NAMED_AFTER_EVENT};
use super::queue::{AttemptRecord, IDEMPOTENCY_WINDOW_MS};
use super::script::Script;
use super::sql::{Arg, Conditions, Dialect};
use super::{now_ms, DbResult, Store};
use sqlx::Row;

/// Upper bounds (ms) of the latency histogram's classes; class `LATENCY_BOUNDS_MS.len()` is everything slower.
/// Steps of about 1.5× keep interpolated percentiles within a few percent.
pub const LATENCY_BOUNDS_MS: [i64; 30] = [
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000,
    10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 120_000,
];

/// One group of the stats query: deliveries of one status in one time bucket and latency class.
#[derive(Debug, Clone)]
pub struct StatsRow {
    pub bucket: i64,
    pub status: String,
    /// Index into [`LATENCY_BOUNDS_MS`] (-1: not attempted yet).
    pub class: i64,
    pub count: i64,
    pub total_ms: i64,
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub events: u64,
}

/// Rows per retention transaction: small, so the delivery worker never waits long behind it.
const PRUNE_BATCH: i64 = 500;

impl Store {
    /// Deliveries grouped by time bucket, status and latency class: finished ones from the hourly rollups,
    /// queued ones (pending, retrying) from the queue itself (its partial index and the fan-outs, in one
    /// statement). Neither read grows with the size of the log.
    pub async fn delivery_stats_rows(
        &self,
        tenant: Option<&str>,
        webhook: Option<&str>,
        since: i64,
        until: i64,
        bucket_ms: i64,
    ) -> DbResult<Vec<StatsRow>> {
        let mut c = Conditions::new(self.dialect);
        match (webhook, tenant) {
            (Some(w), _) => c.text("webhook_id", "=", Some(w)),
            (None, t) => c.text("tenant_id", "=", t),
        };
        c.int("hour", ">=", Some(since)).int("hour", "<", Some(until));
        let sql = format!(
            "SELECT hour, status, class, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(total_ms) AS BIGINT) AS ms \
             FROM delivery_rollups {} GROUP BY hour, status, class",
            c.clause()
        );
        let mut out = Vec::new();
        for r in c.bind(sqlx::query(&sql)).fetch_all(&self.read).await? {
            out.push(StatsRow {
                bucket: (r.try_get::<i64, _>("hour")? - since) / bucket_ms,
                status: r.try_get("status")?,
                class: r.try_get("class")?,
                count: r.try_get("n")?,
                total_ms: r.try_get("ms")?,
            });
        }
        let queued = |c: &mut Conditions| {
            match (webhook, tenant) {
                (Some(w), _) => c.text("webhook_id", "=", Some(w)),
                (None, t) => c.text("tenant_id", "=", t),
            };
            c.int("created_at", ">=", Some(since)).int("created_at", "<", Some(until));
        };
        let mut rows = Conditions::new(self.dialect);
        rows.raw("status IN ('pending', 'retrying')");
        queued(&mut rows);
        let mut fanned = Conditions::after(&rows);
        queued(&mut fanned);
        let sql = format!(
            "SELECT created_at, status FROM {} {} UNION ALL SELECT created_at, status FROM ({}) AS q {}",
            self.dialect.queue_table(),
            rows.clause(),
            pending_view(self.dialect, "1 = 1"),
            fanned.clause()
        );
        for r in fanned.bind(rows.bind(sqlx::query(&sql))).fetch_all(&self.read).await? {
            out.push(StatsRow {
                bucket: (r.try_get::<i64, _>("created_at")? - since) / bucket_ms,
                status: r.try_get("status")?,
                class: -1,
                count: 1,
                total_ms: 0,
            });
        }
        Ok(out)
    }

    /// A consistent copy of the SQLite database in a new file at `to` (`VACUUM INTO`: one read transaction's
    /// snapshot, compacted; writers go on meanwhile). SQLite refuses a file that exists.
    pub async fn backup_into(&self, to: &std::path::Path) -> DbResult<()> {
        sqlx::query("VACUUM INTO $1").bind(to.to_string_lossy().into_owned()).execute(&self.read).await?;
        Ok(())
    }

    /// Refreshes the query planner's statistics. PostgreSQL's autovacuum does this on its own a while after
    /// bulk changes; until then filtered log queries can pick a plan that reads the whole table.
    pub async fn analyze(&self) -> DbResult<()> {
        sqlx::query("ANALYZE").execute(&self.write).await?;
        Ok(())
    }

    /// Deletes finished deliveries (with their attempts) last touched before `before` (test-fires before
    /// `test_before`), then events older than that which no delivery refers to, and idempotency keys past their
    /// 24 hours, and API key usage rollups of days (UTC day numbers) before `usage_before` (when given); in small transactions.
    pub async fn prune(&self, before: i64, test_before: i64, usage_before: Option<i64>) -> DbResult<Pruned> {
        let idempotency_before = now_ms() - IDEMPOTENCY_WINDOW_MS;
        let mut out = Pruned::default();
        for (cutoff, test) in [(before, 0i64), (test_before, 1)] {
            loop {
                let ids: Vec<String> = sqlx::query(
                    "SELECT id FROM deliveries WHERE status IN ('success', 'failed', 'cancelled') \
                     AND updated_at < $1 AND is_test = $2 LIMIT $3",
                )
                .bind(cutoff)
                .bind(test)
                .bind(PRUNE_BATCH)
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<Result<_, _>>()?;
                if ids.is_empty() {
                    break;
                }
                let list = self.dialect.list(ids.len());
                let mut tx = self.write.begin().await?;
                for table_sql in [
                    format!("DELETE FROM delivery_attempts WHERE delivery_id IN ({list})"),
                    format!("DELETE FROM deliveries WHERE id IN ({list})"),
                ] {
                    let mut q = sqlx::query(&table_sql);
                    for id in &ids {
                        q = q.bind(id);
                    }
                    let n = q.execute(&mut *tx).await?.rows_affected();
                    if table_sql.starts_with("DELETE FROM deliveries") {
                        out.deliveries += n;
                    }
                }
                tx.commit().await?;
                if (ids.len() as i64) < PRUNE_BATCH {
                    break;
                }
            }
        }
        // An event is an orphan when neither the deliveries named after it (a key range, see `delivery_id`)
        // nor the others (the partial index `deliveries_event`) are left, and no fan-out still holds some.
        let orphans = format!(
            "DELETE FROM events WHERE id IN (SELECT id FROM events e WHERE created_at < $1 \
             AND (is_test = 1 OR created_at < $2) \
             AND NOT EXISTS (SELECT 1 FROM deliveries WHERE {}) \
             AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = e.id AND {NOT_NAMED_AFTER_EVENT}) \
             AND NOT EXISTS (SELECT 1 FROM fanouts WHERE event_id = e.id) LIMIT $3)",
            named_after_event("", "e.id"),
        );
        loop {
            let n = sqlx::query(&orphans)
                .bind(before.max(test_before))
                .bind(before)
                .bind(PRUNE_BATCH)
                .execute(&self.write)
                .await?
                .rows_affected();
            out.events += n;
            if (n as i64) < PRUNE_BATCH {
                break;
            }
        }
        sqlx::query("DELETE FROM delivery_rollups WHERE hour < $1").bind(before).execute(&self.write).await?;
        if let Some(day) = usage_before {
            sqlx::query("DELETE FROM api_key_usage_daily WHERE day < $1").bind(day).execute(&self.write).await?;
        }
        loop {
            let n = sqlx::query(
                "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN \
                 (SELECT tenant_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
            )
            .bind(idempotency_before)
            .bind(PRUNE_BATCH)
            .execute(&self.write)
            .await?
            .rows_affected();
            if (n as i64) < PRUNE_BATCH {
                break;
            }
        }
        Ok(out)
    }
}

/// The hour (unix ms) a delivery created at `ms` is counted in.
fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(3_600_000)
}

/// The latency class of a duration (index of the first bound above it).
fn class_of(duration_ms: u64) -> i64 {
    LATENCY_BOUNDS_MS.iter().position(|b| (duration_ms as i64) < *b).unwrap_or(LATENCY_BOUNDS_MS.len()) as i64
}

/// Adds finished deliveries to the hourly rollups (one multi-row upsert, keys merged first: PostgreSQL refuses
/// to update one row twice in a statement).
pub(in crate::server::store) fn add_to_rollups<'a>(
    script: &mut Script<'a>,
    dialect: Dialect,
    records: &[&'a AttemptRecord],
) {
    // (endpoint, hour, status, class) → (tenant, count, total ms)
    type Key<'a> = (&'a str, i64, &'a str, i64);
    let mut merged: std::collections::BTreeMap<Key, (&str, i64, i64)> = Default::default();
    for r in records {
        let key =
            (r.webhook_id.as_str(), hour_of(r.delivery_created_at), r.status.as_str(), class_of(r.attempt.duration_ms));
        let e = merged.entry(key).or_insert((r.tenant_id.as_str(), 0, 0));
        e.1 += 1;
        e.2 += r.attempt.duration_ms as i64;
    }
    let rows: Vec<_> = merged.into_iter().collect();
    for chunk in rows.chunks(500) {
        let sql = dialect.values_sql(
            "INSERT INTO delivery_rollups (webhook_id, hour, status, class, tenant_id, n, total_ms) VALUES ",
            chunk.len(),
            7,
            " ON CONFLICT (webhook_id, hour, status, class) DO UPDATE SET n = delivery_rollups.n + excluded.n, \
             total_ms = delivery_rollups.total_ms + excluded.total_ms",
        );
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 7);
        for ((webhook, hour, status, class), (tenant, n, ms)) in chunk {
            args.extend([(*webhook).into(), (*hour).into(), (*status).into(), (*class).into()]);
            args.extend([(*tenant).into(), (*n).into(), (*ms).into()]);
        }
        script.push(sql, args);
    }
}

/// Counts the deliveries of `from` matching `cond` (on `$1`; it names the open statuses) as cancelled in the
/// rollups, just before they are.
pub(super) async fn rollup_cancelled(
    conn: &mut sqlx::AnyConnection,
    from: &str,
    cond: &str,
    arg: &str,
) -> DbResult<()> {
    sqlx::query(&format!(
        "INSERT INTO delivery_rollups (webhook_id, hour, status, class, tenant_id, n, total_ms) \
         SELECT webhook_id, (created_at / 3600000) * 3600000, 'cancelled', -1, MIN(tenant_id), COUNT(*), 0 \
         FROM {from} WHERE {cond} \
         GROUP BY webhook_id, (created_at / 3600000) * 3600000 \
         ON CONFLICT (webhook_id, hour, status, class) DO UPDATE SET n = delivery_rollups.n + excluded.n"
    ))
    .bind(arg)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
