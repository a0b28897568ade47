//! Reading the delivery log in aggregate (stats) and keeping it bounded (retention).

use super::{DbResult, Store};
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
    /// Deliveries grouped by time bucket, status and latency class; reads only the covering stats index of the
    /// endpoint (or tenant), so it stays fast at millions of rows.
    pub async fn delivery_stats_rows(
        &self,
        tenant: Option<&str>,
        webhook: Option<&str>,
        since: i64,
        until: i64,
        bucket_ms: i64,
    ) -> DbResult<Vec<StatsRow>> {
        let mut class = String::from("CASE WHEN duration_ms IS NULL THEN -1");
        for (i, b) in LATENCY_BOUNDS_MS.iter().enumerate() {
            class.push_str(&format!(" WHEN duration_ms < {b} THEN {i}"));
        }
        class.push_str(&format!(" ELSE {} END", LATENCY_BOUNDS_MS.len()));
        // An endpoint's figures read its own index range; the tenant's, the tenant's range.
        let (col, key) = match (webhook, tenant) {
            (Some(w), _) => (Some("webhook_id"), Some(w)),
            (None, Some(t)) => (Some("tenant_id"), Some(t)),
            (None, None) => (None, None),
        };
        let p = |i| self.dialect.param(i);
        // Placeholders in order of appearance (SQLite binds `?` positionally).
        let sql = format!(
            "SELECT CAST((created_at - {p1}) / {p2} AS BIGINT) AS b, status, {class} AS c, COUNT(*) AS n, \
             CAST(COALESCE(SUM(duration_ms), 0) AS BIGINT) AS ms FROM deliveries \
             WHERE created_at >= {p3} AND created_at < {p4}{filter} GROUP BY 1, 2, 3",
            p1 = p(1),
            p2 = p(2),
            p3 = p(3),
            p4 = p(4),
            filter = col.map(|c| format!(" AND {c} = {}", p(5))).unwrap_or_default(),
        );
        let mut q = sqlx::query(&sql).bind(since).bind(bucket_ms).bind(since).bind(until);
        if let Some(k) = key {
            q = q.bind(k);
        }
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(StatsRow {
                    bucket: r.try_get("b")?,
                    status: r.try_get("status")?,
                    class: r.try_get::<i64, _>("c")?,
                    count: r.try_get("n")?,
                    total_ms: r.try_get("ms")?,
                })
            })
            .collect()
    }

    /// Deletes finished deliveries (with their attempts) last touched before `before` (test-fires before
    /// `test_before`), then events older than that which no delivery refers to, and idempotency keys past their
    /// 24 hours; in small transactions.
    pub async fn prune(&self, before: i64, test_before: i64) -> DbResult<Pruned> {
        let idempotency_before = super::now_ms() - super::events::IDEMPOTENCY_WINDOW_MS;
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
        loop {
            let n = sqlx::query(
                "DELETE FROM events WHERE id IN (SELECT id FROM events e WHERE created_at < $1 \
                 AND (is_test = 1 OR created_at < $2) \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT $3)",
            )
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
