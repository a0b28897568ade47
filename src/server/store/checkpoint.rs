//! The SQLite WAL checkpointer: copies the WAL back into the database off the commit path.

use super::DbResult;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;

/// SQLite copies the WAL back into the database (a checkpoint, with fsyncs) on the connection whose commit
/// crosses the threshold; on the single writer that stalls every publish queued behind it. Checkpointing here,
/// on a reader connection and without blocking writers (PASSIVE), keeps that copy off the commit path.
///
/// A passive checkpoint alone never shortens the WAL under steady writes: SQLite starts the WAL over only when a
/// write transaction begins with every frame already copied, and frames keep arriving while a checkpoint runs
/// (the WAL grows without bound under steady publishing, and fsyncs slow down flushing it). So once the WAL is
/// longer than [`WAL_RESTART_FRAMES`], the few frames written since the passive pass are copied on the writer
/// itself, between two transactions; the next write then starts the WAL from the beginning. Every publish waits
/// while the writer copies and syncs, so reader passes repeat first until one copies fewer than
/// [`WRITER_TAIL_FRAMES`] (each pass copies what arrived during the previous one): the writer's passes set the
/// slowest publishes, and a tail of a few frames holds it far shorter than a long one. 16 MB keeps the WAL
/// bounded for large events too, at a restart rate the publish latency absorbs (docs/BENCHMARKS.md).
/// It runs at most every [`CHECKPOINT_EVERY`] and only after a commit (`written`); it ends with the last handle
/// on the store (`gone`), so a dropped hub's connections and caches are not kept alive.
pub(super) async fn checkpointer(
    read: AnyPool,
    write: AnyPool,
    mut gone: tokio::sync::watch::Receiver<()>,
    written: Arc<tokio::sync::Notify>,
) {
    while !read.is_closed() {
        tokio::select! {
            _ = written.notified() => {}
            // Nothing is ever sent: this fires when the store's last handle is dropped.
            _ = gone.changed() => return,
        }
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let (frames, mut copied) = match wal_checkpoint(&read).await {
            Ok(progress) => progress,
            Err(_) if read.is_closed() => return,
            Err(e) => {
                tracing::debug!(error = %e, "WAL checkpoint failed; will retry");
                continue;
            }
        };
        if frames < WAL_RESTART_FRAMES {
            continue;
        }
        // Each pass copies what was written during the previous one; once that is little, so is the writer's share.
        // A pass that copied no less than the one before shows writes that never pause (e.g. huge payloads): more
        // passes would only let the WAL grow, so the writer takes over there.
        let mut previous = i64::MAX;
        for _ in 0..CATCH_UP_PASSES {
            let Ok((_, now)) = wal_checkpoint(&read).await else { break };
            let fresh = now - std::mem::replace(&mut copied, now);
            if fresh < WRITER_TAIL_FRAMES || fresh >= previous {
                break;
            }
            previous = fresh;
        }
        let Ok(mut conn) = write.acquire().await else { return };
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_all(&mut *conn).await {
            tracing::debug!(error = %e, "WAL checkpoint on the writer failed; will retry");
        }
    }
}

/// How often the checkpointer copies the WAL back while writes go on.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// WAL length (4 KB pages) past which the writer finishes the checkpoint so the WAL starts over: 16 MB.
const WAL_RESTART_FRAMES: i64 = 4096;
/// A reader pass that copied fewer frames than this (128 KB, about one publish group) leaves the writer little to
/// copy and sync; at most this many passes are tried.
const WRITER_TAIL_FRAMES: i64 = 32;
const CATCH_UP_PASSES: usize = 16;

/// A passive checkpoint on a reader connection; returns the WAL's length and how much of it is copied (frames).
async fn wal_checkpoint(pool: &AnyPool) -> DbResult<(i64, i64)> {
    use sqlx::Row;
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    // Columns: busy, frames in the WAL, frames copied.
    Ok((row.try_get::<i64, _>(1)?, row.try_get::<i64, _>(2)?))
}
