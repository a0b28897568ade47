//! The delivery workers working this queue, across every hub instance on the database: each announces itself
//! every heartbeat, so an endpoint's rate limit can be shared among the workers alive (each sends its share).

use super::super::{DbResult, Store};

impl Store {
    /// Marks worker `id` alive at `now` and counts the workers seen since `alive_since` (itself included, so at
    /// least 1). Workers not seen for an hour are forgotten.
    pub async fn worker_heartbeat(&self, id: &str, now: i64, alive_since: i64) -> DbResult<u32> {
        sqlx::query(
            "INSERT INTO worker_instances (id, seen_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(id)
        .bind(now)
        .execute(&self.write)
        .await?;
        sqlx::query("DELETE FROM worker_instances WHERE seen_at < $1")
            .bind(now - 3_600_000)
            .execute(&self.write)
            .await?;
        let alive: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM worker_instances WHERE seen_at >= $1")
            .bind(alive_since)
            .fetch_one(&self.write)
            .await?;
        Ok(u32::try_from(alive).unwrap_or(u32::MAX).max(1))
    }

    /// Worker `id` stops: the others take its share at their next heartbeat.
    pub async fn worker_gone(&self, id: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM worker_instances WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(())
    }
}
