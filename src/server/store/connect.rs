//! Opening the database and migrating it. SQLite gets a single-connection write pool (writers queue in
//! process instead of failing with SQLITE_BUSY) and a few read connections (WAL); PostgreSQL one pool for both.

use super::sql::Dialect;
use super::Store;
use crate::server::config::DatabaseUrl;
use sqlx::any::AnyPoolOptions;
use sqlx::Executor;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
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
                        // and no mapped file keep the five connections inside the RSS budget (with the WAL
                        // starting over, reads come from the database file, whose mapped pages would count).
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
}

/// SQLite's own allocations (pages, statements, bound values) go to mimalloc like the rest of the process, and
/// without SQLite's allocation statistics, which take a process-wide mutex on every malloc and free (a visible
/// share of the single writer's time). Must run before SQLite initialises,
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
