//! The store: the only place with SQL.
//!
//! Why one implementation on `sqlx::AnyPool` rather than one per backend behind a trait: the schema is kept
//! portable (TEXT ids with a type prefix, BIGINT unix-millisecond timestamps, BIGINT 0/1 flags, JSON as TEXT,
//! `$n` placeholders, which SQLite accepts too), so almost every statement is the same text on both engines and
//! one code path is tested twice instead of two drifting copies. The few statements that must differ switch on
//! [`Dialect`] right where they are written ([`sql`]).
//!
//! One file a topic: opening and migrating ([`connect`]), SQLite's WAL checkpointer ([`checkpoint`]), the shared
//! SQL helpers ([`sql`], [`script`]), the delivery queue ([`queue`]), and one file per kind of record. Helpers
//! for the project's own tests live in [`testing`].

mod accounts;
mod api_keys;
mod apps;
mod audit;
mod browse;
mod checkpoint;
mod connect;
mod deliveries;
mod events;
mod maintenance;
mod portal;
pub mod queue;
mod script;
pub mod sql;
pub mod testing;
mod webhooks;

pub use accounts::{LinkPurpose, StoredUserLink, INVITED_PASSWORD};
pub use api_keys::{StoredKey, UsageDelta};
pub use apps::{OAuthState, ObjectLink, SealedTokens, StateClaim, StoredConnection, SyncCounts};
pub use audit::{AuditEntry, NewAudit};
pub use maintenance::{Pruned, StatsRow, LATENCY_BOUNDS_MS};
pub use queue::ids::delivery_id;
pub use queue::{new_attempt_id, AttemptRecord, AutoDisabled, PublishOutcome, Streak};
pub use sql::Dialect;
pub use webhooks::SealedSecrets;

use sqlx::AnyPool;
use std::sync::Arc;

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// For LISTEN connections (PostgreSQL only).
    pg_url: Option<String>,
    /// Queue of the outbox writer (group commit of published events).
    outbox: tokio::sync::mpsc::UnboundedSender<queue::OutboxJob>,
    /// The queue's part in this process: the hand-over to the local worker and its wake-up.
    local: Arc<queue::Local>,
    /// Told after the busy writers commit, so the SQLite checkpointer sleeps while nothing is written.
    written: Arc<tokio::sync::Notify>,
    /// Dropped with the last handle on the store: the checkpointer then ends at once and lets the pools go.
    _alive: Arc<tokio::sync::watch::Sender<()>>,
}

/// NOTIFY channel: a tenant's endpoints changed (payload: tenant id).
pub const ROUTES_CHANNEL: &str = "hub_routes";
/// NOTIFY channel: new deliveries are due (payload unused).
pub const WORK_CHANNEL: &str = "hub_work";
/// NOTIFY channel: a tenant's deliveries changed (payload: tenant id), for live views on every instance.
pub const DELIVERIES_CHANNEL: &str = "hub_deliveries";

pub type DbResult<T> = Result<T, sqlx::Error>;

impl Store {
    pub(super) fn new(read: AnyPool, write: AnyPool, dialect: Dialect, pg_url: Option<String>) -> Store {
        let (outbox, rx) = tokio::sync::mpsc::unbounded_channel();
        let written = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(queue::outbox_writer(write.clone(), dialect, rx, written.clone()));
        let (alive, gone) = tokio::sync::watch::channel(());
        if dialect == Dialect::Sqlite {
            tokio::spawn(checkpoint::checkpointer(read.clone(), write.clone(), gone, written.clone()));
        }
        let local = Default::default();
        Store { read, write, dialect, pg_url, outbox, local, written, _alive: Arc::new(alive) }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Tells other instances on the same PostgreSQL database; a no-op on SQLite (one instance).
    pub async fn notify(&self, channel: &str, payload: &str) -> DbResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&self.write).await?;
        }
        Ok(())
    }

    /// A LISTEN connection on the given channels (PostgreSQL only).
    pub async fn listen(&self, channels: &[&str]) -> DbResult<Option<sqlx::postgres::PgListener>> {
        let Some(url) = &self.pg_url else { return Ok(None) };
        let mut l = sqlx::postgres::PgListener::connect(url).await?;
        l.listen_all(channels.iter().copied()).await?;
        Ok(Some(l))
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new id: type prefix + ULID, so ids say what they are and sort by creation time (keyset pagination).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}
