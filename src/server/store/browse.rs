//! The event browser's reads and its one write: events found by type, time, id, idempotency key or a payload
//! field, and an event queued again for endpoints of the caller's choosing (new deliveries, like a replay's).

use super::sql::{Arg, Conditions, Dialect};
use super::{new_id, now_ms, DbResult, Store};
use crate::model::{Event, EventSearchQuery, PayloadMatch, Search};
use sqlx::Row;

/// The payload condition: the envelope's field at the path equals the value, compared as JSON. Both the path
/// and the value are bound parameters; the path's alphabet is checked by [`Search::parse`] (letters, digits,
/// `_`, `-`), so the one parameter cannot be read as anything but a path.
fn payload_condition(dialect: Dialect, m: &PayloadMatch) -> (&'static str, Vec<Arg<'static>>) {
    let value = m.value.to_string();
    match dialect {
        // `->` gives the field as JSON text (strings quoted), minified as serde_json writes it.
        Dialect::Sqlite => {
            let mut path = String::from("$");
            for s in &m.path {
                if s.bytes().all(|b| b.is_ascii_digit()) {
                    path.push_str(&format!("[{s}]"));
                } else {
                    path.push_str(&format!(".\"{s}\""));
                }
            }
            ("(envelope -> ?) = ?", vec![Arg::Owned(Some(path)), Arg::Owned(Some(value))])
        }
        // jsonb compares by value (1.0 = 1, key order ignored); `#>` takes digits as array indexes too.
        Dialect::Postgres => (
            "(envelope::jsonb #> string_to_array(?, '.')) = ?::jsonb",
            vec![Arg::Owned(Some(m.path.join("."))), Arg::Owned(Some(value))],
        ),
    }
}

impl Store {
    /// Newest first, keyset-paginated by id (ids sort by creation time); test-fires are not events.
    pub async fn search_events(
        &self,
        tenant: Option<&str>,
        q: &EventSearchQuery,
        search: Option<&Search>,
        limit: i64,
    ) -> DbResult<Vec<Event>> {
        let mut c = Conditions::new(self.dialect);
        c.raw("is_test = 0")
            .text("tenant_id", "=", tenant)
            .text("event_type", "=", q.event_type.as_deref().filter(|t| !t.is_empty()))
            .int("created_at", ">=", q.since)
            .int("created_at", "<=", q.until)
            .text("id", "<", q.cursor.as_deref().filter(|c| !c.is_empty()));
        match search {
            None => {}
            Some(Search::Key(k)) => {
                let k = || Arg::Owned(Some(k.clone()));
                c.expr(
                    "(id = ? OR id IN (SELECT i.event_id FROM idempotency_keys i WHERE i.key = ? \
                     AND i.tenant_id = events.tenant_id))",
                    vec![k(), k()],
                );
            }
            Some(Search::Payload(m)) => {
                let (sql, args) = payload_condition(self.dialect, m);
                c.expr(sql, args);
            }
        }
        let sql = format!(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events {} ORDER BY id DESC LIMIT {}",
            c.clause(),
            c.next_param()
        );
        let rows = c.bind(sqlx::query(&sql)).bind(limit).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let envelope: String = r.try_get("envelope")?;
                Ok(Event {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    event_type: r.try_get("event_type")?,
                    created_at: r.try_get("created_at")?,
                    envelope: serde_json::from_str(&envelope).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Queues `event` again for each of `webhooks` (the caller checked they are the event's tenant's): one new
    /// pending delivery each, due now, written in one transaction so a resend is whole or absent. Their ids are
    /// of their own time, like a replay's, so the event's earlier deliveries keep theirs.
    pub async fn resend_event(&self, event: &Event, webhooks: &[String]) -> DbResult<Vec<String>> {
        let now = now_ms();
        let ids: Vec<String> = webhooks.iter().map(|_| new_id("dlv")).collect();
        let mut tx = self.write.begin().await?;
        for (id, webhook) in ids.iter().zip(webhooks) {
            sqlx::query(
                "INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, next_attempt_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)",
            )
            .bind(id)
            .bind(&event.tenant_id)
            .bind(&event.id)
            .bind(webhook)
            .bind(&event.event_type)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }
}
