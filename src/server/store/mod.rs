//! The store: the only place with SQL.
//!
//! Why one implementation on `sqlx::AnyPool` rather than one per backend behind a trait: the schema is kept
//! portable (TEXT ids with a type prefix, BIGINT unix-millisecond timestamps, BIGINT 0/1 flags, JSON as TEXT,
//! `$n` placeholders, which SQLite accepts too), so almost every statement is the same text on both engines and
//! one code path is tested twice instead of two drifting copies. The few statements that must differ (row
//! locking for the delivery queue) switch on [`Dialect`] right where they are written.
//!
//! SQLite allows one writer at a time, so it gets a separate single-connection write pool: writers queue in
//! process instead of failing with SQLITE_BUSY, while reads use several connections (WAL). PostgreSQL uses one
//! pool for both.

mod accounts;
mod api_keys;
mod audit;
mod deliveries;
mod events;
mod fanout;
mod maintenance;
mod portal;
mod script;
mod webhooks;

pub use api_keys::StoredKey;
pub use audit::AuditEntry;
pub use deliveries::{new_attempt_id, AttemptRecord, AutoDisabled, Breaker};
pub use events::PublishOutcome;
pub use maintenance::{Pruned, StatsRow, LATENCY_BOUNDS_MS};
pub use webhooks::SealedSecrets;

use crate::server::config::DatabaseUrl;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The `i`-th (1-based) bind placeholder. SQLite gets anonymous `?` (bound in order): for `$n` sqlx looks
    /// every parameter up by name, which made statements with thousands of parameters quadratic.
    pub(crate) fn param(self, i: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${i}"),
        }
    }

    /// The deliveries table read through the queue's partial index (pending and retrying rows). SQLite would
    /// rather walk a tenant's or an endpoint's whole log by their indexes than the small queue.
    pub(crate) fn queue_table(self) -> &'static str {
        match self {
            Dialect::Sqlite => "deliveries INDEXED BY deliveries_due",
            Dialect::Postgres => "deliveries",
        }
    }

    /// `p1, p2, … pn` for an `IN (…)` list.
    pub(crate) fn list(self, n: usize) -> String {
        (1..=n).map(|i| self.param(i)).collect::<Vec<_>>().join(", ")
    }

    /// `head (p1 … pcols), (…) tail` for `rows` rows, each parameter used once, in order.
    pub(crate) fn values_sql(self, head: &str, rows: usize, cols: usize, tail: &str) -> String {
        let mut sql = String::with_capacity(head.len() + tail.len() + rows * cols * 6);
        sql.push_str(head);
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..cols {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.param(r * cols + c + 1));
            }
            sql.push(')');
        }
        sql.push_str(tail);
        sql
    }
}

/// A WHERE clause of only the filters actually given. `(? IS NULL OR col = ?)` would keep one SQL text, but
/// then neither engine can pick the index that fits the filter (an endpoint's log scanned the whole table).
pub(crate) struct Conditions {
    dialect: Dialect,
    sql: Vec<String>,
    args: Vec<Arg>,
}

pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

impl Conditions {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Conditions { dialect, sql: Vec::new(), args: Vec::new() }
    }

    /// Adds `col op ?` when the value is present.
    pub(crate) fn text(&mut self, col: &str, op: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.args.push(Arg::Text(v.to_string()));
            self.sql.push(format!("{col} {op} {}", self.dialect.param(self.args.len())));
        }
        self
    }

    pub(crate) fn int(&mut self, col: &str, op: &str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.args.push(Arg::Int(v));
            self.sql.push(format!("{col} {op} {}", self.dialect.param(self.args.len())));
        }
        self
    }

    /// A fixed condition without parameters.
    pub(crate) fn raw(&mut self, cond: &str) -> &mut Self {
        self.sql.push(cond.to_string());
        self
    }

    /// `WHERE … ` (or nothing), then `tail` with the next placeholder for a final LIMIT.
    pub(crate) fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    /// The placeholder after the conditions' own.
    pub(crate) fn next_param(&self) -> String {
        self.dialect.param(self.args.len() + 1)
    }

    pub(crate) fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// For LISTEN connections (PostgreSQL only).
    pg_url: Option<String>,
    /// Queue of the outbox writer (group commit of published events).
    outbox: tokio::sync::mpsc::UnboundedSender<events::OutboxJob>,
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

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    fn new(read: AnyPool, write: AnyPool, dialect: Dialect, pg_url: Option<String>) -> Store {
        let (outbox, rx) = tokio::sync::mpsc::unbounded_channel();
        let written = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(events::outbox_writer(write.clone(), dialect, rx, written.clone()));
        let (alive, gone) = tokio::sync::watch::channel(());
        if dialect == Dialect::Sqlite {
            tokio::spawn(checkpointer(read.clone(), write.clone(), gone, written.clone()));
        }
        Store { read, write, dialect, pg_url, outbox, written, _alive: Arc::new(alive) }
    }

    /// Opens (creating the SQLite file and its folder if needed) and checks the connection.
    pub async fn connect(db: &DatabaseUrl) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        match db {
            DatabaseUrl::Sqlite(path) => {
                sqlite_allocator();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create database folder {}: {e}", dir.display()))?;
                }
                let url = format!("sqlite://{}?mode=rwc", path.display());
                // The writer syncs the WAL at every commit (FULL): a publish answered 202 survives a power cut
                // or a kernel crash, not only a crash of the hub. Group commit shares one sync among the events
                // committed together. Readers never write.
                let open = |max: u32, synchronous: &'static str| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .min_connections(1)
                        .acquire_timeout(Duration::from_secs(30))
                        // A local file cannot drop the connection; the ping would cost a round trip to
                        // sqlx's SQLite thread on every transaction of the single writer.
                        .test_before_acquire(false)
                        // Page cache and mapped pages count as the hub's memory: 8 MB of cache per connection
                        // and no mapped file keep the five connections well inside the RSS budget (with the WAL
                        // starting over, reads come from the database file, and mapped pages added ~20 MB).
                        .after_connect(move |conn, _| {
                            Box::pin(async move {
                                conn.execute(
                                    format!(
                                        "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; \
                                         PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                                         PRAGMA cache_size=-8192; PRAGMA mmap_size=0; \
                                         PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=65536; \
                                         PRAGMA journal_size_limit=67108864;"
                                    )
                                    .as_str(),
                                )
                                .await?;
                                Ok(())
                            })
                        })
                        .connect(&url)
                };
                let write = open(1, "FULL")
                    .await
                    .map_err(|e| format!("cannot open SQLite database {}: {e}", path.display()))?;
                let read = open(4, "NORMAL")
                    .await
                    .map_err(|e| format!("cannot open SQLite database {}: {e}", path.display()))?;
                Ok(Store::new(read, write, Dialect::Sqlite, None))
            }
            DatabaseUrl::Postgres(url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(|e| {
                        format!("cannot connect to PostgreSQL at {}: {e}", crate::server::config::redact_url(url))
                    })?;
                Ok(Store::new(pool.clone(), pool, Dialect::Postgres, Some(url.clone())))
            }
        }
    }

    pub async fn migrate(&self) -> Result<(), String> {
        let failed = |e: &dyn std::fmt::Display| format!("database migration failed: {e}");
        if self.dialect == Dialect::Postgres {
            return POSTGRES_MIGRATIONS.run(&self.write).await.map_err(|e| failed(&e));
        }
        // SQLite changes a table by rebuilding it, and dropping the old one would cascade to the tables whose
        // foreign keys point at it; its documented procedure turns foreign keys off first, which only works
        // outside a transaction, so here on the connection the migrations then run on.
        let mut conn = self.write.acquire().await.map_err(|e| failed(&e))?;
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.map_err(|e| failed(&e))?;
        let ran = SQLITE_MIGRATIONS.run_direct(&mut *conn).await.map_err(|e| failed(&e));
        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await.map_err(|e| failed(&e))?;
        ran
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

/// SQLite's own allocations (pages, statements, bound values) go to mimalloc like the rest of the process, and
/// without SQLite's allocation statistics, which take a process-wide mutex on every malloc and free. Measured
/// on the single writer: glibc malloc and that mutex were ~16% of its time. Must run before SQLite initialises,
/// so it runs once, before the first connection of this process; if SQLite was initialised by something else
/// first, SQLite refuses the change and keeps its defaults.
fn sqlite_allocator() {
    use libsqlite3_sys as ffi;
    use std::os::raw::{c_int, c_void};
    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        libmimalloc_sys::mi_malloc(n.max(0) as usize)
    }
    unsafe extern "C" fn free(p: *mut c_void) {
        libmimalloc_sys::mi_free(p)
    }
    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        libmimalloc_sys::mi_realloc(p, n.max(0) as usize)
    }
    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        libmimalloc_sys::mi_usable_size(p).min(c_int::MAX as usize) as c_int
    }
    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        libmimalloc_sys::mi_good_size(n.max(0) as usize).min(c_int::MAX as usize) as c_int
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sqlite3_config may only run before SQLite initialises and while no other thread calls SQLite; every
    // SQLite connection of this process is opened by `Store::connect` after this `Once`, so none exists yet (or
    // SQLite is initialised already and returns SQLITE_MISUSE without changing anything). SQLite copies the
    // methods; the functions are valid mimalloc calls for any size, and mimalloc's pointers are SQLite's.
    ONCE.call_once(|| unsafe {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods);
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
    });
}

/// SQLite copies the WAL back into the database (a checkpoint, with fsyncs) on the connection whose commit
/// crosses the threshold; on the single writer that stalls every publish queued behind it. Checkpointing here,
/// on a reader connection and without blocking writers (PASSIVE), keeps that copy off the commit path.
///
/// A passive checkpoint alone never shortens the WAL under steady writes: SQLite starts the WAL over only when a
/// write transaction begins with every frame already copied, and frames keep arriving while a checkpoint runs
/// (measured: a 1.4 GB WAL after 10 s of publishing, and fsyncs slowed by flushing it). So once the WAL is
/// longer than [`WAL_RESTART_FRAMES`], the few frames written since the passive pass are copied on the writer
/// itself, between two transactions; the next write then starts the WAL from the beginning. Every publish waits
/// while the writer copies and syncs, so reader passes repeat first until one copies fewer than
/// [`WRITER_TAIL_FRAMES`] (each pass copies what arrived during the previous one). Measured at 64 publishing
/// connections: those writer passes, not the publishes' own work, were the slowest 1% (a 1 MB tail held the writer
/// 3–4 ms, up to 16 ms when its fsyncs queued behind the WAL's writeback); a tail of a few frames holds it ~1.7 ms,
/// at most ~7 ms. Restarting at 32 MB instead of 16 MB halved how often that happens, but once publishing no
/// longer wrote a row per delivery (`fanout`), large events outran it: the WAL test peaked at 63–80 MB against
/// 39–43 MB at 16 MB, and the publish p99 had room to spare.
/// It runs at most every [`CHECKPOINT_EVERY`] and only after a commit (`written`); it ends with the last handle
/// on the store (`gone`), so a dropped hub's connections and caches are not kept alive.
async fn checkpointer(
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

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new id: type prefix + ULID, so ids say what they are and sort by creation time (keyset pagination).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// The id of an event's `n`th delivery made when it is published: `dlv_<the event's ULID>_<n>`. An event's
/// deliveries are then a range of the primary key, so publishing writes no entry in an index by event — an
/// eighth of the bytes SQLite's one writer logged per event. Rows made later (replays) keep ids of their own
/// time, so a delivery log sorted by id stays in creation order; the partial index `deliveries_event` finds them.
pub fn delivery_id(event_id: &str, n: usize) -> String {
    // The queries find these rows as a key range (`events::named_after_event`), which strips the same prefix.
    format!("dlv_{}_{n:04x}", event_id.strip_prefix("evt_").unwrap_or(event_id))
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

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

#[cfg(test)]
mod tests {
    use super::{DatabaseUrl, Store, SQLITE_MIGRATIONS};
    use sqlx::Row;

    /// A database written before deliveries were named after their events keeps its rows through the table
    /// rebuild: attempts are not cascaded away, and an event still finds its old deliveries.
    #[tokio::test]
    async fn sqlite_rebuild_keeps_older_rows() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        {
            let before = sqlx::migrate::Migrator {
                migrations: std::borrow::Cow::Owned(
                    SQLITE_MIGRATIONS.migrations.iter().filter(|m| m.version < 10).cloned().collect(),
                ),
                ..sqlx::migrate::Migrator::DEFAULT
            };
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
            before.run_direct(&mut conn).await.unwrap();
            for sql in [
                "PRAGMA foreign_keys = ON",
                "INSERT INTO tenants (id, name, created_at) VALUES ('ten_1', 'Acme', 0)",
                "INSERT INTO events (id, tenant_id, event_type, envelope, created_at) \
                 VALUES ('evt_01AAAAAAAAAAAAAAAAAAAAAAAA', 'ten_1', 'ticket.created', '{}', 0)",
                "INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, created_at, \
                 updated_at) VALUES ('dlv_01BBBBBBBBBBBBBBBBBBBBBBBB', 'ten_1', 'evt_01AAAAAAAAAAAAAAAAAAAAAAAA', \
                 'wh_1', 'ticket.created', 'success', 0, 0)",
                "INSERT INTO delivery_attempts (id, delivery_id, attempt, request_headers, request_body, \
                 duration_ms, created_at) VALUES ('att_1', 'dlv_01BBBBBBBBBBBBBBBBBBBBBBBB', 1, '{}', '{}', 5, 0)",
            ] {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
        let store = Store::connect(&DatabaseUrl::Sqlite(path.clone())).await.unwrap();
        store.migrate().await.unwrap();
        let found = store.deliveries_for_event("evt_01AAAAAAAAAAAAAAAAAAAAAAAA").await.unwrap();
        assert_eq!(found.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["dlv_01BBBBBBBBBBBBBBBBBBBBBBBB"]);
        assert_eq!(store.attempts_for("dlv_01BBBBBBBBBBBBBBBBBBBBBBBB").await.unwrap().len(), 1);
        // The attempts still point at deliveries, and the connection checks foreign keys again.
        let fk = sqlx::query("PRAGMA foreign_key_list(delivery_attempts)").fetch_all(&store.write).await.unwrap();
        assert_eq!(fk[0].try_get::<String, _>("table").unwrap(), "deliveries");
        let on = sqlx::query("PRAGMA foreign_keys").fetch_one(&store.write).await.unwrap();
        assert_eq!(on.try_get::<i64, _>(0).unwrap(), 1);
        assert!(sqlx::query("PRAGMA foreign_key_list(deliveries)").fetch_all(&store.write).await.unwrap().is_empty());
    }

    /// A publish is answered once its commit is on disk: the writer syncs the WAL at every commit (FULL = 2),
    /// so a power cut cannot take back an accepted event. Readers never write and keep NORMAL (1).
    #[tokio::test]
    async fn sqlite_commits_are_durable_before_they_are_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&DatabaseUrl::Sqlite(dir.path().join("hub.db"))).await.unwrap();
        for (pool, want, which) in [(&store.write, 2, "the writer"), (&store.read, 1, "a reader")] {
            let row = sqlx::query("PRAGMA synchronous").fetch_one(pool).await.unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), want, "{which}");
        }
    }
}
