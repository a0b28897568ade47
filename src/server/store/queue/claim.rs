//! Taking deliveries out of the queue and giving them back: claims with a lease, release, cancel, pause.

use super::fanout::fanout_length;
use super::row::{delivery_from, DELIVERY_COLS};
use crate::model::Delivery;
use crate::server::store::{now_ms, DbResult, Dialect, Store};
use sqlx::Row;

impl Store {
    /// Claims up to `limit` due deliveries for `lease_ms`: rows first (retries, and deliveries whose rows were
    /// written before any claim), then fan-outs no worker holds ([`Store::claim_fanouts`]). On PostgreSQL,
    /// `FOR UPDATE SKIP LOCKED` lets several instances claim side by side without ever taking the same
    /// delivery; SQLite has a single writer.
    pub async fn claim(&self, limit: i64, lease_ms: i64) -> DbResult<Vec<Delivery>> {
        let now = now_ms();
        let lock = if self.dialect == Dialect::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let rows = sqlx::query(&format!(
            "UPDATE deliveries SET lease_until = $1, updated_at = $2 WHERE id IN (SELECT id FROM deliveries \
             WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at LIMIT $3 {lock}) \
             RETURNING {DELIVERY_COLS}"
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        let mut claimed = rows.iter().map(delivery_from).collect::<DbResult<Vec<_>>>()?;
        let left = limit - claimed.len() as i64;
        if left > 0 {
            claimed.extend(self.claim_fanouts(left, now, now + lease_ms).await?);
        }
        Ok(claimed)
    }

    /// When the next queued delivery can be claimed (None: queue empty): due rows and fan-outs no worker holds,
    /// and those held when their lease runs out (a worker sending them will record them before).
    pub async fn next_due_at(&self) -> DbResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) AS t \
             FROM deliveries WHERE status IN ('pending', 'retrying')",
        )
        .fetch_one(&self.read)
        .await?;
        let rows: Option<i64> = row.try_get("t")?;
        let fanouts = self.next_fanout_due(now_ms()).await?;
        Ok(rows.into_iter().chain(fanouts).min())
    }

    /// Gives claimed deliveries back without counting an attempt: due as before (`due` None: the worker stops,
    /// any other may claim them at once), or at `due` (throttled, or something they need could not be read).
    pub async fn release(&self, ids: &[String], due: Option<i64>) -> DbResult<()> {
        self.write_out(ids).await?;
        let due = due.map_or("next_attempt_at".to_string(), |t| t.to_string());
        for chunk in ids.chunks(500) {
            // The times are written into the text (our own integers): SQLite binds its `?` in the order they
            // stand, and the list comes last.
            let sql = format!(
                "UPDATE deliveries SET lease_until = NULL, next_attempt_at = {due}, updated_at = {} \
                 WHERE id IN ({}) AND status IN ('pending', 'retrying')",
                now_ms(),
                self.dialect.list(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&self.write).await?;
        }
        Ok(())
    }

    /// Ends a delivery without sending (its endpoint is gone or switched off).
    pub async fn cancel(&self, id: &str, reason: &str) -> DbResult<()> {
        self.write_out(&[id.to_string()]).await?;
        let mut tx = self.write.begin().await?;
        crate::server::store::maintenance::rollup_cancelled(
            &mut tx,
            "deliveries",
            "id = $1 AND status IN ('pending', 'retrying')",
            id,
        )
        .await?;
        sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', lease_until = NULL, next_attempt_at = NULL, last_error = $2, \
             updated_at = $3 WHERE id = $1 AND status IN ('pending', 'retrying')",
        )
        .bind(id)
        .bind(reason)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Holds a claimed delivery while its endpoint is switched off or its tenant suspended: it leaves the queue
    /// as 'paused' until [`Store::resume_paused`] (or [`Store::resume_paused_of_tenant`]). Both are looked at
    /// again here, so a delivery of an endpoint switched back on (a tenant resumed) meanwhile simply goes back to
    /// the queue.
    pub async fn pause(&self, id: &str) -> DbResult<()> {
        self.write_out(&[id.to_string()]).await?;
        sqlx::query(
            "UPDATE deliveries SET status = CASE WHEN EXISTS (SELECT 1 FROM webhooks w JOIN tenants t ON \
             t.id = w.tenant_id WHERE w.id = deliveries.webhook_id AND w.deleted_at IS NULL AND (w.is_active = 0 \
             OR t.suspended_at IS NOT NULL)) THEN 'paused' ELSE status END, \
             lease_until = NULL, updated_at = $2 WHERE id = $1 AND status IN ('pending', 'retrying')",
        )
        .bind(id)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Puts the paused deliveries of switched-on endpoints (one endpoint, or all) back in the queue, due now;
    /// returns how many. Enabling an endpoint calls it for that endpoint; the maintenance pass for all, which
    /// also catches a pause that raced with the enabling.
    pub async fn resume_paused(&self, webhook_id: Option<&str>) -> DbResult<u64> {
        let now = now_ms();
        let one = if webhook_id.is_some() { "AND webhook_id = $2" } else { "AND $2 IS NULL" };
        Ok(sqlx::query(&format!(
            "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END, \
             next_attempt_at = $1, updated_at = $1 WHERE status = 'paused' {one} AND webhook_id IN \
             (SELECT w.id FROM webhooks w JOIN tenants t ON t.id = w.tenant_id WHERE w.is_active = 1 \
             AND w.deleted_at IS NULL AND t.suspended_at IS NULL)"
        ))
        .bind(now)
        .bind(webhook_id)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Puts the paused deliveries of a resumed tenant's switched-on endpoints back in the queue, due now;
    /// returns how many. Those of its switched-off endpoints keep waiting for their endpoint.
    pub async fn resume_paused_of_tenant(&self, tenant_id: &str) -> DbResult<u64> {
        let now = now_ms();
        Ok(sqlx::query(
            "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END, \
             next_attempt_at = $1, updated_at = $1 WHERE status = 'paused' AND tenant_id = $2 AND webhook_id IN \
             (SELECT w.id FROM webhooks w JOIN tenants t ON t.id = w.tenant_id WHERE w.tenant_id = $3 \
             AND w.is_active = 1 AND w.deleted_at IS NULL AND t.suspended_at IS NULL)",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(tenant_id)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Queued deliveries for the queue-depth gauge: the rows, and the deliveries still held in fan-outs (an
    /// event's fan-out is written out whole, so none is counted twice). Read only: a scrape never writes.
    pub async fn queue_depth(&self) -> DbResult<i64> {
        let length = fanout_length(self.dialect);
        sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying')) + \
             (SELECT COALESCE(SUM({length}), 0) FROM fanouts) AS n"
        ))
        .fetch_one(&self.read)
        .await?
        .try_get("n")
    }
}
