//! The event-type catalog, events and their delivery rows. Publishing writes the event, every delivery row and
//! the idempotency key in one transaction: after the 202, a crash loses nothing.

use super::{DbResult, Store};
use crate::model::{Delivery, DeliveryStatus, Event, EventListQuery, EventType};
use sqlx::any::AnyRow;
use sqlx::Row;

const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Rows per multi-row INSERT: 9 columns × 500 stays under both engines' parameter limits.
const DELIVERY_CHUNK: usize = 500;

fn event_type_from(r: &AnyRow) -> DbResult<EventType> {
    let example: String = r.try_get("example")?;
    let schema: Option<String> = r.try_get("schema")?;
    Ok(EventType {
        name: r.try_get("name")?,
        category: r.try_get("category")?,
        description: r.try_get("description")?,
        example: serde_json::from_str(&example).unwrap_or_default(),
        schema: schema.and_then(|s| serde_json::from_str(&s).ok()),
        archived: r.try_get::<i64, _>("archived")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn event_from(r: &AnyRow) -> DbResult<Event> {
    let envelope: String = r.try_get("envelope")?;
    Ok(Event {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        event_type: r.try_get("event_type")?,
        created_at: r.try_get("created_at")?,
        envelope: serde_json::from_str(&envelope).unwrap_or_default(),
    })
}

pub(super) fn delivery_from(r: &AnyRow) -> DbResult<Delivery> {
    let status: String = r.try_get("status")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        event_id: r.try_get("event_id")?,
        webhook_id: r.try_get("webhook_id")?,
        event_type: r.try_get("event_type")?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending),
        attempts: r.try_get::<i64, _>("attempts")?.clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status_code: r.try_get::<Option<i64>, _>("last_status_code")?.and_then(|c| u16::try_from(c).ok()),
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(super) const DELIVERY_COLS: &str = "id, tenant_id, event_id, webhook_id, event_type, status, attempts, \
    next_attempt_at, last_status_code, last_error, created_at, updated_at";

/// What a publish transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    Created,
    /// The idempotency key was used within 24 h: (first event id, its match count); nothing was written.
    Duplicate(String, usize),
}

impl Store {
    /// Adds catalog entries that do not exist yet (startup seeding; edits by admins are kept).
    pub async fn seed_event_types(&self, types: &[EventType]) -> DbResult<()> {
        let mut tx = self.write.begin().await?;
        for t in types {
            sqlx::query(
                "INSERT INTO event_types (name, category, description, example, schema, archived, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&t.name)
            .bind(&t.category)
            .bind(&t.description)
            .bind(t.example.to_string())
            .bind(t.schema.as_ref().map(|s| s.to_string()))
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    pub async fn list_event_types(&self) -> DbResult<Vec<EventType>> {
        let rows = sqlx::query("SELECT * FROM event_types ORDER BY category, name").fetch_all(&self.read).await?;
        rows.iter().map(event_type_from).collect()
    }

    pub async fn get_event_type(&self, name: &str) -> DbResult<Option<EventType>> {
        let row =
            sqlx::query("SELECT * FROM event_types WHERE name = $1").bind(name).fetch_optional(&self.read).await?;
        row.as_ref().map(event_type_from).transpose()
    }

    /// Inserts or replaces one catalog entry (admin edits).
    pub async fn upsert_event_type(&self, t: &EventType) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO event_types (name, category, description, example, schema, archived, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET category = excluded.category, \
             description = excluded.description, example = excluded.example, schema = excluded.schema, \
             archived = excluded.archived, updated_at = excluded.updated_at",
        )
        .bind(&t.name)
        .bind(&t.category)
        .bind(&t.description)
        .bind(t.example.to_string())
        .bind(t.schema.as_ref().map(|s| s.to_string()))
        .bind(i64::from(t.archived))
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The transactional outbox: idempotency key, event and one pending delivery per matched endpoint, atomically.
    pub async fn insert_event(
        &self,
        event: &Event,
        webhook_ids: &[String],
        idempotency_key: Option<&str>,
    ) -> DbResult<PublishOutcome> {
        let now = event.created_at;
        let mut tx = self.write.begin().await?;
        if let Some(key) = idempotency_key {
            sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at < $3")
                .bind(&event.tenant_id)
                .bind(key)
                .bind(now - IDEMPOTENCY_WINDOW_MS)
                .execute(&mut *tx)
                .await?;
            // Claim the key first: a concurrent publisher with the same key waits here, then sees ours.
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, key, event_id, matched, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, key) DO NOTHING",
            )
            .bind(&event.tenant_id)
            .bind(key)
            .bind(&event.id)
            .bind(webhook_ids.len() as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                let row =
                    sqlx::query("SELECT event_id, matched FROM idempotency_keys WHERE tenant_id = $1 AND key = $2")
                        .bind(&event.tenant_id)
                        .bind(key)
                        .fetch_one(&mut *tx)
                        .await?;
                tx.rollback().await?;
                let matched: i64 = row.try_get("matched")?;
                return Ok(PublishOutcome::Duplicate(row.try_get("event_id")?, matched.max(0) as usize));
            }
        }
        sqlx::query("INSERT INTO events (id, tenant_id, event_type, envelope, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&event.id)
            .bind(&event.tenant_id)
            .bind(&event.event_type)
            .bind(event.envelope.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for chunk in webhook_ids.chunks(DELIVERY_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, next_attempt_at, \
                 created_at, updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 2;
                if i > 0 {
                    sql.push(',');
                }
                // Shared values ($1 tenant, $2 event, $3 type, $4 now) are bound once per statement.
                sql.push_str(&format!("(${}, $1, $2, ${}, $3, 'pending', $4, $4, $4)", b + 5, b + 6));
            }
            let mut q = sqlx::query(&sql).bind(&event.tenant_id).bind(&event.id).bind(&event.event_type).bind(now);
            for wh in chunk {
                q = q.bind(super::new_id("dlv")).bind(wh.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(PublishOutcome::Created)
    }

    pub async fn get_event(&self, id: &str, tenant: Option<&str>) -> DbResult<Option<Event>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events WHERE id = $1 \
             AND ($2 IS NULL OR tenant_id = $2)",
        )
        .bind(id)
        .bind(tenant.map(str::to_string))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(event_from).transpose()
    }

    /// Newest first, keyset-paginated by id (ids sort by creation time).
    pub async fn list_events(&self, tenant: Option<&str>, q: &EventListQuery, limit: i64) -> DbResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events WHERE ($1 IS NULL OR tenant_id = $1) \
             AND ($2 IS NULL OR event_type = $2) AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR id < $4) \
             ORDER BY id DESC LIMIT $5",
        )
        .bind(tenant.map(str::to_string))
        .bind(q.event_type.clone())
        .bind(q.since)
        .bind(q.cursor.clone())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from).collect()
    }

    pub async fn deliveries_for_event(&self, event_id: &str) -> DbResult<Vec<Delivery>> {
        let rows = sqlx::query(&format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE event_id = $1 ORDER BY id"))
            .bind(event_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn count_deliveries(&self, tenant: &str) -> DbResult<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&self.read)
            .await?
            .try_get("n")
    }
}
