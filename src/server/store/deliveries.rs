//! Reading the delivery log: lists, one delivery, its attempts, an event's deliveries, counts. Reads never
//! write: deliveries still held in fan-outs are read through the queue's read-only view
//! ([`queue::fanout::pending_view`]). A fan-out is written out as rows in one transaction, so one statement
//! sees each delivery once; where a read takes several statements, the fan-outs are read first and a delivery
//! seen both ways keeps its row.

use super::queue::fanout::pending_view;
use super::queue::ids::{cursor_event, event_of, named_after_event, NOT_NAMED_AFTER_EVENT};
use super::queue::row::{delivery_from, DELIVERY_COLS};
use super::sql::{Conditions, Dialect};
use super::{DbResult, Store};
use crate::model::{Delivery, DeliveryAttempt, DeliveryListQuery, DeliveryStatus, ErrorKind};
use sqlx::Row;
use std::collections::HashSet;

/// Where one read of the delivery log looks (see `list_deliveries`).
#[derive(Clone, Copy)]
enum LogPart {
    /// Every row, by the primary key or whichever index the filters suit.
    All,
    /// An endpoint's attempted (or cancelled) rows: its own partial index (SQLite).
    Attempted,
    /// An endpoint's pending rows: the queue's index (SQLite).
    Pending,
    /// A tenant's rows named after its events: its events newest first, each with its deliveries' key range.
    NamedAfterEvents,
    /// A tenant's other rows (replays, rows older than migration 0010): their partial index.
    NotNamedAfterEvents,
    /// Deliveries still held in fan-outs (not yet rows).
    InFanouts,
}

impl Store {
    /// One delivery: its row, or its place in its event's fan-out.
    pub async fn get_delivery(&self, id: &str) -> DbResult<Option<Delivery>> {
        let row_sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = $1");
        let row = match event_of(id) {
            Some(event) => {
                let queued = pending_view(self.dialect, "f.event_id = $2");
                let sql = format!("{row_sql} UNION ALL SELECT {DELIVERY_COLS} FROM ({queued}) AS q WHERE id = $1");
                sqlx::query(&sql).bind(id).bind(event).fetch_optional(&self.read).await?
            }
            // An id of its own time (a replay) is never in a fan-out.
            None => sqlx::query(&row_sql).bind(id).fetch_optional(&self.read).await?,
        };
        row.as_ref().map(delivery_from).transpose()
    }

    pub async fn attempts_for(&self, delivery_id: &str) -> DbResult<Vec<DeliveryAttempt>> {
        let rows = sqlx::query("SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt")
            .bind(delivery_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let rh: String = r.try_get("request_headers")?;
                let sh: Option<String> = r.try_get("response_headers")?;
                let kind: Option<String> = r.try_get("error_kind")?;
                Ok(DeliveryAttempt {
                    id: r.try_get("id")?,
                    delivery_id: r.try_get("delivery_id")?,
                    attempt: r.try_get::<i64, _>("attempt")?.max(0) as u32,
                    request_headers: serde_json::from_str(&rh).unwrap_or_default(),
                    request_body: r.try_get("request_body")?,
                    response_status: r
                        .try_get::<Option<i64>, _>("response_status")?
                        .and_then(|s| u16::try_from(s).ok()),
                    response_headers: sh.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
                    response_body: r.try_get("response_body")?,
                    response_truncated: r.try_get::<i64, _>("response_truncated")? != 0,
                    duration_ms: r.try_get::<i64, _>("duration_ms")?.max(0) as u64,
                    error_kind: kind.as_deref().and_then(ErrorKind::parse),
                    error: r.try_get("error")?,
                    next_retry_at: r.try_get("next_retry_at")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Those named after the event (a primary-key range) and the others (replays, rows older than the naming),
    /// which the partial index `deliveries_event` holds: its predicate is repeated here so that SQLite uses it.
    /// Deliveries still in the event's fan-out come from the queue's view.
    pub async fn deliveries_for_event(&self, event_id: &str) -> DbResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM deliveries WHERE {} AND event_id = $1 UNION ALL \
             SELECT {DELIVERY_COLS} FROM deliveries WHERE event_id = $1 AND {NOT_NAMED_AFTER_EVENT} UNION ALL \
             SELECT {DELIVERY_COLS} FROM ({}) AS q ORDER BY id",
            named_after_event("", "$1"),
            pending_view(self.dialect, "f.event_id = $1"),
        );
        let rows = sqlx::query(&sql).bind(event_id).fetch_all(&self.read).await?;
        rows.iter().map(delivery_from).collect()
    }
}

impl Store {
    /// Newest first, keyset-paginated by id; every filter optional.
    ///
    /// Publishing writes as few index entries per delivery as it can, so some logs are read in two parts and
    /// merged:
    /// - On SQLite an endpoint's log: its own index holds the rows the worker has attempted (or that were
    ///   cancelled), the queue holds the pending rest. Publishing then writes no per-endpoint entry, which on
    ///   SQLite's single writer would be a b-tree leaf per endpoint per commit.
    ///   PostgreSQL's writers commit side by side and keep the full endpoint index: one read serves there.
    /// - A tenant's log, on both engines: the deliveries named after the tenant's events are found through the
    ///   events' own index (newest first, each event's deliveries a key range), the few others (replays) through
    ///   a partial index, so the single writer logs no index entry by tenant per delivery.
    pub async fn list_deliveries(
        &self,
        tenant: Option<&str>,
        q: &DeliveryListQuery,
        limit: i64,
    ) -> DbResult<Vec<Delivery>> {
        // Fan-outs first: one written out meanwhile is then seen as a row by the reads below.
        let queued = if q.status.is_none_or(|s| s == DeliveryStatus::Pending) {
            self.query_deliveries(tenant, q, LogPart::InFanouts, limit).await?
        } else {
            Vec::new()
        };
        let parts: &[LogPart] = match (&q.webhook_id, tenant) {
            (Some(_), _) if self.dialect == Dialect::Sqlite => match q.status {
                Some(DeliveryStatus::Pending) => &[LogPart::Pending],
                Some(_) => &[LogPart::Attempted],
                None => &[LogPart::Attempted, LogPart::Pending],
            },
            (None, Some(_)) => &[LogPart::NamedAfterEvents, LogPart::NotNamedAfterEvents],
            _ => &[LogPart::All],
        };
        let mut out = Vec::new();
        for part in parts {
            out.extend(self.query_deliveries(tenant, q, *part, limit).await?);
        }
        let rows: HashSet<String> = out.iter().map(|d| d.id.clone()).collect();
        out.extend(queued.into_iter().filter(|d| !rows.contains(&d.id)));
        out.sort_unstable_by(|a, b| b.id.cmp(&a.id));
        out.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(out)
    }

    async fn query_deliveries(
        &self,
        tenant: Option<&str>,
        q: &DeliveryListQuery,
        part: LogPart,
        limit: i64,
    ) -> DbResult<Vec<Delivery>> {
        let mut c = Conditions::new(self.dialect);
        let named = matches!(part, LogPart::NamedAfterEvents);
        // The deliveries' columns: `d`'s in the join with the events. There, on SQLite, `+` keeps the planner
        // from building a throwaway index on a filtered column instead of walking the tenant's events.
        let (d, cols, from, order) = match part {
            LogPart::NamedAfterEvents => {
                // Deliveries before the cursor are named after events no newer than the cursor's ULID.
                let last_event = q.cursor.as_deref().map(cursor_event);
                c.text("e.tenant_id", "=", tenant)
                    .text("e.event_type", "=", q.event_type.as_deref())
                    .text("e.id", "<=", last_event.as_deref())
                    .raw(&named_after_event("d", "e.id"));
                let d = if self.dialect == Dialect::Sqlite { "+d." } else { "d." };
                // CROSS JOIN: SQLite keeps the events as the outer loop. The deliveries named after one event sort
                // like the event, so this order is the log's (id, newest first). Both engines sort each event's
                // deliveries: the ids alone (read from the key's index) are sorted, then the page's rows read.
                (d, "d.id", "events e CROSS JOIN deliveries d".to_string(), "e.id DESC, d.id DESC")
            }
            LogPart::NotNamedAfterEvents => {
                // The exact predicate of the partial index, so that SQLite can use it.
                c.raw(NOT_NAMED_AFTER_EVENT);
                ("", DELIVERY_COLS, "deliveries".to_string(), "id DESC")
            }
            LogPart::Attempted => {
                c.raw("status <> 'pending'");
                ("", DELIVERY_COLS, "deliveries".to_string(), "id DESC")
            }
            LogPart::Pending => {
                c.raw("status IN ('pending', 'retrying')").raw("status = 'pending'");
                ("", DELIVERY_COLS, self.dialect.queue_table().to_string(), "id DESC")
            }
            LogPart::All => ("", DELIVERY_COLS, "deliveries".to_string(), "id DESC"),
            LogPart::InFanouts => {
                ("", DELIVERY_COLS, format!("({}) AS q", pending_view(self.dialect, "1 = 1")), "id DESC")
            }
        };
        if !named {
            // In the join these two are the events' columns, filtered above.
            c.text("tenant_id", "=", tenant).text("event_type", "=", q.event_type.as_deref());
        }
        let key = if named { "d.id" } else { "id" };
        c.text(&format!("{d}status"), "=", q.status.map(|s| s.as_str()))
            .text(&format!("{d}webhook_id"), "=", q.webhook_id.as_deref())
            .int(&format!("{d}created_at"), ">=", q.since)
            .int(&format!("{d}created_at"), "<=", q.until)
            .text(key, "<", q.cursor.as_deref());
        let mut sql = format!("SELECT {cols} FROM {from} {} ORDER BY {order} LIMIT {}", c.clause(), c.next_param());
        if named {
            sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id IN ({sql}) ORDER BY id DESC");
        }
        let rows = c.bind(sqlx::query(&sql)).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(delivery_from).collect()
    }
}
