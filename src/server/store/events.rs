//! The event-type catalog and the events (publishing them is the queue's: [`super::queue`]).

use super::{DbResult, Store};
use crate::model::{Event, EventListQuery, EventType};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

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
        let mut c = super::sql::Conditions::new(self.dialect);
        c.raw("is_test = 0")
            .text("tenant_id", "=", tenant)
            .text("event_type", "=", q.event_type.as_deref())
            .int("created_at", ">=", q.since)
            .text("id", "<", q.cursor.as_deref());
        let sql = format!(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events {} ORDER BY id DESC LIMIT {}",
            c.clause(),
            c.next_param()
        );
        let rows = c.bind(sqlx::query(&sql)).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(event_from).collect()
    }

    /// Envelopes of the given events, by id.
    pub async fn envelopes(&self, ids: &[String]) -> DbResult<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = self.dialect.list(chunk.len());
            let sql = format!("SELECT id, envelope FROM events WHERE id IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.read).await? {
                out.insert(r.try_get("id")?, r.try_get("envelope")?);
            }
        }
        Ok(out)
    }
}
