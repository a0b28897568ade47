//! The delivery-id scheme, in Rust and in both SQL dialects side by side.
//!
//! A delivery made when its event is published is named after the event: `dlv_<the event's ULID>_<n>`, `n` its
//! number in the fan-out as at least four lowercase hex digits. An event's deliveries are then a range of the
//! primary key (no index by event to write while publishing), they sort like their event, and a delivery id
//! names its event. Rows made later (replays) get ids of their own time ([`super::super::new_id`]), so a log
//! sorted by id stays in creation order; the partial index `deliveries_event` finds those.
//!
//! The fan-out's rows are written inside the database ([`super::fanout`]), so the same name is built in SQL;
//! the test below generates ids all three ways and checks they agree, sort alike and name their event.

use crate::server::store::sql::Dialect;

const PREFIX: &str = "dlv_";

/// The id of an event's `n`th (from 0) delivery made when it is published.
pub fn delivery_id(event_id: &str, n: usize) -> String {
    format!("{PREFIX}{}_{n:04x}", event_ulid(event_id))
}

/// The same name as an SQL expression, from the event id `event` and the 0-based number `n` (SQL expressions).
/// PostgreSQL's `lpad` would cut a longer text, so five hex digits and more are kept whole there, as in Rust.
pub(in crate::server::store) fn sql_delivery_id(dialect: Dialect, event: &str, n: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("'{PREFIX}' || substr({event}, 5) || '_' || printf('%04x', {n})"),
        Dialect::Postgres => format!(
            "'{PREFIX}' || substr({event}, 5) || '_' || \
             CASE WHEN {n} < 65536 THEN lpad(to_hex({n}), 4, '0') ELSE to_hex({n}) END"
        ),
    }
}

fn event_ulid(event_id: &str) -> &str {
    event_id.strip_prefix("evt_").unwrap_or(event_id)
}

/// The event a delivery id names; None for ids of their own time (replays, rows older than the scheme).
pub fn event_of(delivery_id: &str) -> Option<String> {
    let (ulid, _) = delivery_id.strip_prefix(PREFIX)?.split_once('_')?;
    Some(format!("evt_{ulid}"))
}

/// The events these deliveries are named after, each once.
pub(in crate::server::store) fn events_named_by(delivery_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = delivery_ids.iter().filter_map(|id| event_of(id)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The event no newer than any delivery before a keyset cursor (a delivery id) can be named after: the
/// cursor's ULID as an event id. For a replay's id (a newer ULID of its own) this bounds loosely, never wrongly.
pub(in crate::server::store) fn cursor_event(cursor: &str) -> String {
    format!("evt_{}", cursor.chars().skip(PREFIX.len()).take(26).collect::<String>())
}

/// The deliveries (`table`: their name or alias in the query, "" when unambiguous) named after the event whose
/// id is the SQL expression `event`: a key range (`_~` sorts after every hex digit).
pub(in crate::server::store) fn named_after_event(table: &str, event: &str) -> String {
    let id = if table.is_empty() { "id".to_string() } else { format!("{table}.id") };
    format!("{id} >= '{PREFIX}' || substr({event}, 5) || '_' AND {id} < '{PREFIX}' || substr({event}, 5) || '_~'")
}

/// The predicate of the partial index `deliveries_event` (migration 0010): rows whose id does not name their
/// event. Queries repeat it verbatim, which is how SQLite sees that the index applies.
pub(in crate::server::store) const NOT_NAMED_AFTER_EVENT: &str = "substr(id, 5, 26) <> substr(event_id, 5, 26)";

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, Row};

    const NUMBERS: [usize; 9] = [0, 1, 9, 10, 255, 4096, 65_535, 65_536, 1_000_000];

    /// The ids one dialect builds for `event`, numbers in [`NUMBERS`] order, and whether each is in the event's
    /// key range and outside the partial index.
    async fn in_sql(conn: &mut sqlx::AnyConnection, dialect: Dialect, event: &str) -> Vec<(String, bool, bool)> {
        let (e, n) = match dialect {
            Dialect::Sqlite => ("?1", "?2"),
            Dialect::Postgres => ("CAST($1 AS TEXT)", "CAST($2 AS BIGINT)"),
        };
        let id = sql_delivery_id(dialect, e, n);
        let sql = format!(
            "SELECT id, CASE WHEN {} THEN 1 ELSE 0 END AS ranged, \
             CASE WHEN {NOT_NAMED_AFTER_EVENT} THEN 1 ELSE 0 END AS other \
             FROM (SELECT {id} AS id, {e} AS event_id) AS d",
            named_after_event("", e),
        );
        let mut out = Vec::new();
        for n in NUMBERS {
            let row = sqlx::query(&sql).bind(event).bind(n as i64).fetch_one(&mut *conn).await.unwrap();
            out.push((
                row.try_get("id").unwrap(),
                row.try_get::<i64, _>("ranged").unwrap() == 1,
                row.try_get::<i64, _>("other").unwrap() == 1,
            ));
        }
        out
    }

    fn check(dialect: &str, event: &str, got: Vec<(String, bool, bool)>) {
        let rust: Vec<String> = NUMBERS.iter().map(|n| delivery_id(event, *n)).collect();
        let ids: Vec<String> = got.iter().map(|(id, _, _)| id.clone()).collect();
        assert_eq!(ids, rust, "{dialect} names deliveries as Rust does");
        for (id, ranged, other) in got {
            assert!(ranged, "{dialect}: {id} is in its event's key range");
            assert!(!other, "{dialect}: {id} is not in the partial index of other rows");
            assert_eq!(event_of(&id).as_deref(), Some(event), "{id} names its event");
            assert_eq!(cursor_event(&id), event, "a cursor at {id} bounds the events by its own");
        }
    }

    #[test]
    fn rust_ids_sort_by_number_and_name_their_event() {
        let event = "evt_01JDQ5Z0X3N9Q0000000000000";
        let ids: Vec<String> = NUMBERS[..7].iter().map(|n| delivery_id(event, *n)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "a fan-out's deliveries sort in their order (up to 65,536 endpoints)");
        assert_eq!(event_of("dlv_01JDQ5Z0X3N9Q0000000000001"), None, "a replay's id names no event");
        let newer = delivery_id("evt_01JDQ5Z0X3N9Q0000000000001", 0);
        assert!(ids.iter().all(|id| *id < newer), "deliveries sort like their events");
        assert_eq!(events_named_by(&[ids[0].clone(), ids[3].clone(), "dlv_x".into()]), vec![event.to_string()]);
    }

    #[tokio::test]
    async fn sqlite_and_postgres_build_the_same_ids() {
        sqlx::any::install_default_drivers();
        let event = "evt_01JDQ5Z0X3N9Q0000000000000";
        let mut lite = sqlx::AnyConnection::connect("sqlite::memory:").await.unwrap();
        check("sqlite", event, in_sql(&mut lite, Dialect::Sqlite, event).await);
        match std::env::var("HUB_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let mut pg = sqlx::AnyConnection::connect(&url).await.unwrap();
                check("postgres", event, in_sql(&mut pg, Dialect::Postgres, event).await);
            }
            _ => eprintln!("note: HUB_TEST_DATABASE_URL not set; the PostgreSQL form is not checked"),
        }
    }
}
