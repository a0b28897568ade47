//! Fan-outs: publishing writes an event's matched endpoints as one `fanouts` row instead of a delivery row per
//! endpoint (the rows would cost a publish more than everything else together), and the rows are written from
//! it later, in bulk and inside the database:
//! - by the worker that was handed the deliveries, in the transaction that records their first attempts (each
//!   attempted row is then written once, with its outcome; `Store::record`);
//! - by a claim, for fan-outs no worker holds (none had room, or its lease ran out after a crash);
//! - before a queued delivery is changed (released, cancelled, paused) or endpoints are deleted.
//!
//! Readers never write them out: [`pending_view`] shows a fan-out's deliveries as rows, read only.
//! Rows written from a fan-out keep its lease: a handed-over delivery is not claimed by anyone else meanwhile.
//! On PostgreSQL whoever writes an event's rows first locks its fan-out row (`FOR UPDATE`), so two instances
//! never insert the same rows side by side.

use super::ids::{events_named_by, sql_delivery_id};
use super::row::{delivery_from, DELIVERY_COLS};
use crate::model::Delivery;
use crate::server::store::script::Script;
use crate::server::store::sql::{bind_all, Arg, Dialect};
use crate::server::store::{DbResult, Store};
use sqlx::Row;

/// Fan-outs written out per transaction: small, so publishing never waits long behind it.
const BATCH: usize = 500;

/// The columns a written-out row gets, in `expand_select`'s order.
const COLS: &str =
    "id, tenant_id, event_id, webhook_id, event_type, status, next_attempt_at, lease_until, created_at, updated_at";

/// The delivery rows of the fan-outs `f` (a table or a `WITH` query with `event_id`, `endpoints`,
/// `lease_until`) whose event ids satisfy `filter`, named by [`sql_delivery_id`], leased until `lease` (an SQL
/// expression), in [`COLS`] order.
fn expand_select(dialect: Dialect, f: &str, filter: &str, lease: &str) -> String {
    // SQLite: `CROSS JOIN` keeps the fan-outs (few, or picked by key) the outer loop; left to itself the planner
    // may walk every event and look each up in the fan-outs.
    let (join, endpoints, n, webhook) = match dialect {
        Dialect::Sqlite => ("CROSS JOIN", "json_each(f.endpoints) j", "j.key", "j.value"),
        Dialect::Postgres => (
            "JOIN",
            "LATERAL jsonb_array_elements_text(f.endpoints::jsonb) WITH ORDINALITY AS j(w, n)",
            "(j.n - 1)",
            "j.w",
        ),
    };
    format!(
        "SELECT {} AS id, e.tenant_id AS tenant_id, e.id AS event_id, {webhook} AS webhook_id, \
         e.event_type AS event_type, 'pending' AS status, e.created_at AS next_attempt_at, {lease} AS lease_until, \
         e.created_at AS created_at, e.created_at AS updated_at \
         FROM {f} f {join} events e ON e.id = f.event_id CROSS JOIN {endpoints} WHERE {filter}",
        sql_delivery_id(dialect, "e.id", n)
    )
}

/// The deliveries still held in fan-outs of events that satisfy `filter` (on `f` and `e`), as the log's rows
/// ([`DELIVERY_COLS`]): a read-only view for the log's readers.
pub(in crate::server::store) fn pending_view(dialect: Dialect, filter: &str) -> String {
    format!(
        "SELECT id, tenant_id, event_id, webhook_id, event_type, status, CAST(0 AS BIGINT) AS attempts, \
         next_attempt_at, CAST(NULL AS BIGINT) AS last_status_code, CAST(NULL AS TEXT) AS last_error, \
         CAST(NULL AS BIGINT) AS duration_ms, CAST(0 AS BIGINT) AS is_test, CAST(NULL AS TEXT) AS replayed_by, \
         created_at, updated_at FROM ({}) AS p",
        expand_select(dialect, "fanouts", filter, "f.lease_until")
    )
}

/// How many deliveries a fan-out row (`endpoints`) holds.
pub(in crate::server::store) fn fanout_length(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "json_array_length(endpoints)",
        Dialect::Postgres => "json_array_length(CAST(endpoints AS json))",
    }
}

/// Writes the rows that `select` (an [`expand_select`]) yields, leaving any that exist alone.
fn insert_rows(select: &str, returning: &str) -> String {
    format!("INSERT INTO deliveries ({COLS}) {select} ON CONFLICT (id) DO NOTHING {returning}")
}

/// PostgreSQL: the `WITH` query `f`, the fan-outs of the events that `events` (SQL) yields, deleted as they are
/// read, so that only whoever deletes a fan-out writes its rows.
fn taken(events: &str) -> String {
    format!("f AS (DELETE FROM fanouts WHERE event_id IN ({events}) RETURNING event_id, endpoints, lease_until)")
}

/// Adds to a SQLite record script the statements that write out the fan-outs of `events` (after the script's
/// own upserts of the attempted rows, which the written-out rows then leave alone) and delete them.
pub(in crate::server::store) fn push_write_out_sqlite<'a>(script: &mut Script<'a>, events: &'a [String]) {
    for chunk in events.chunks(BATCH) {
        let list = Dialect::Sqlite.list(chunk.len());
        let filter = format!("f.event_id IN ({list})");
        script.push(
            insert_rows(&expand_select(Dialect::Sqlite, "fanouts", &filter, "f.lease_until"), ""),
            chunk.iter().map(|e| Arg::from(e.as_str())).collect(),
        );
        script.push(
            format!("DELETE FROM fanouts WHERE event_id IN ({list})"),
            chunk.iter().map(|e| Arg::from(e.as_str())).collect(),
        );
    }
}

/// PostgreSQL: writes out (and deletes) the fan-outs of `events` on `conn`, inside the caller's transaction,
/// except the rows named in `except` (the caller writes those itself). Waits for a fan-out another instance is
/// writing out; the lock is taken before any row is written, so no two writers wait on each other's rows.
pub(in crate::server::store) async fn write_out_pg(
    conn: &mut sqlx::AnyConnection,
    events: &[String],
    except: &[&str],
) -> DbResult<()> {
    let events = serde_json::to_string(events).unwrap_or_default();
    let except = serde_json::to_string(except).unwrap_or_default();
    let f = taken(
        "SELECT event_id FROM fanouts WHERE event_id IN (SELECT value FROM json_array_elements_text($1::json)) \
         ORDER BY event_id FOR UPDATE",
    );
    let rows = format!(
        "SELECT {COLS} FROM ({}) AS r ({COLS}) WHERE id NOT IN (SELECT value FROM json_array_elements_text($2::json))",
        expand_select(Dialect::Postgres, "f", "true", "f.lease_until")
    );
    let sql = format!("WITH {f} {}", insert_rows(&rows, ""));
    sqlx::query(&sql).bind(events).bind(except).execute(&mut *conn).await?;
    Ok(())
}

impl Store {
    /// Writes out the fan-outs of the events that these deliveries are named after, before they are changed.
    pub(in crate::server::store) async fn write_out(&self, delivery_ids: &[String]) -> DbResult<()> {
        let events = events_named_by(delivery_ids);
        if events.is_empty() {
            return Ok(());
        }
        self.write_out_events(&events).await
    }

    /// Claims the deliveries of fan-outs that no live worker holds (unleased, or leased until before `now`):
    /// their rows are written leased until `lease_until` and returned, the oldest events first, whole events
    /// up to about `limit` deliveries (one event more than that at most: a fan-out is written out whole).
    pub(in crate::server::store) async fn claim_fanouts(
        &self,
        limit: i64,
        now: i64,
        lease_until: i64,
    ) -> DbResult<Vec<Delivery>> {
        // Events in order until the deliveries before each reach the limit; each has at least one, so no more
        // than `limit` events are looked at.
        let len = fanout_length(self.dialect);
        let lock = if self.dialect == Dialect::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let pick = format!(
            "SELECT event_id FROM (SELECT event_id, SUM({len}) OVER (ORDER BY event_id ROWS UNBOUNDED PRECEDING) \
             - {len} AS before FROM (SELECT event_id, endpoints FROM fanouts \
             WHERE lease_until IS NULL OR lease_until < $1 ORDER BY event_id LIMIT $2 {lock}) AS c) AS w \
             WHERE before < $2"
        );
        let rows = match self.dialect {
            Dialect::Postgres => {
                let sql = format!(
                    "WITH {} {}",
                    taken(&pick),
                    insert_rows(
                        &expand_select(Dialect::Postgres, "f", "true", "$3"),
                        &format!("RETURNING {DELIVERY_COLS}")
                    )
                );
                sqlx::query(&sql).bind(now).bind(limit).bind(lease_until).fetch_all(&self.write).await?
            }
            Dialect::Sqlite => {
                let mut script = Script::default().prepared();
                let filter = format!("f.event_id IN ({pick})");
                script.push_returning(
                    insert_rows(
                        &expand_select(Dialect::Sqlite, "fanouts", &filter, "$3"),
                        &format!("RETURNING {DELIVERY_COLS}"),
                    ),
                    vec![now.into(), limit.into(), lease_until.into()],
                );
                script.push(format!("DELETE FROM fanouts WHERE event_id IN ({pick})"), vec![now.into(), limit.into()]);
                script.commit(&self.write, self.dialect).await?
            }
        };
        rows.iter().map(delivery_from).collect()
    }

    /// When the earliest fan-out that no worker holds is due: now for unleased ones, else when a lease runs out.
    pub(in crate::server::store) async fn next_fanout_due(&self, now: i64) -> DbResult<Option<i64>> {
        let row = sqlx::query("SELECT MIN(COALESCE(lease_until, $1)) AS t FROM fanouts")
            .bind(now)
            .fetch_one(&self.read)
            .await?;
        row.try_get("t")
    }

    /// Writes out every open fan-out, before queued deliveries are changed in bulk (an endpoint deleted).
    /// Nothing to do (one indexed read) is the common case.
    pub(in crate::server::store) async fn write_out_all(&self) -> DbResult<()> {
        if sqlx::query("SELECT event_id FROM fanouts LIMIT 1").fetch_optional(&self.read).await?.is_none() {
            return Ok(());
        }
        // A batch of the oldest fan-outs at a time, until a batch comes back short.
        let pick = format!("SELECT event_id FROM fanouts ORDER BY event_id LIMIT {BATCH}");
        loop {
            let done = match self.dialect {
                Dialect::Postgres => {
                    // Fan-outs another instance is writing out are skipped: it writes them.
                    let sql = format!(
                        "WITH {}, n AS (SELECT COUNT(*) AS n FROM f), w AS ({}) SELECT n FROM n",
                        taken(&format!("{pick} FOR UPDATE SKIP LOCKED")),
                        insert_rows(&expand_select(Dialect::Postgres, "f", "true", "f.lease_until"), "")
                    );
                    // `fetch_all`, not `fetch_one`: sqlx's Any driver answers `fetch_one` at the first row, before
                    // PostgreSQL has committed the statement, and a connection lost then would undo it unseen.
                    let rows = sqlx::query(&sql).fetch_all(&self.write).await?;
                    rows.first().ok_or(sqlx::Error::RowNotFound)?.try_get::<i64, _>("n")?
                }
                Dialect::Sqlite => {
                    let mut script = Script::default();
                    let filter = format!("f.event_id IN ({pick})");
                    script.push(
                        insert_rows(&expand_select(Dialect::Sqlite, "fanouts", &filter, "f.lease_until"), ""),
                        Vec::new(),
                    );
                    script.push_returning(
                        format!("DELETE FROM fanouts WHERE event_id IN ({pick}) RETURNING event_id"),
                        Vec::new(),
                    );
                    script.commit(&self.write, self.dialect).await?.len() as i64
                }
            };
            if done < BATCH as i64 {
                break;
            }
        }
        self.written.notify_one();
        Ok(())
    }

    /// Writes out the fan-outs of these events (each chunk on its own: a release names a few events, a
    /// shutdown at most a worker's window).
    async fn write_out_events(&self, events: &[String]) -> DbResult<()> {
        for chunk in events.chunks(BATCH) {
            let open = format!("SELECT event_id FROM fanouts WHERE event_id IN ({})", self.dialect.list(chunk.len()));
            let args = chunk.iter().map(|e| Arg::from(e.as_str())).collect();
            if bind_all(sqlx::query(&open), args).fetch_optional(&self.read).await?.is_none() {
                continue;
            }
            if self.dialect == Dialect::Postgres {
                let mut tx = self.write.begin().await?;
                write_out_pg(&mut tx, chunk, &[]).await?;
                tx.commit().await?;
            } else {
                let mut script = Script::default();
                push_write_out_sqlite(&mut script, chunk);
                script.commit(&self.write, self.dialect).await?;
            }
            self.written.notify_one();
        }
        Ok(())
    }
}
