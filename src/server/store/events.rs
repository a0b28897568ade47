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
        unregistered: false,
        first_seen_at: None,
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

    /// Inserts or replaces one catalog entry (admin edits); with `only_new`, an existing entry is left alone and
    /// the answer is false. A registered name is no longer anyone's unregistered type: those rows go in the same
    /// transaction.
    pub async fn save_event_type(&self, t: &EventType, only_new: bool) -> DbResult<bool> {
        let on_conflict = if only_new {
            "DO NOTHING"
        } else {
            "DO UPDATE SET category = excluded.category, description = excluded.description, \
             example = excluded.example, schema = excluded.schema, archived = excluded.archived, \
             updated_at = excluded.updated_at"
        };
        let sql = format!(
            "INSERT INTO event_types (name, category, description, example, schema, archived, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) {on_conflict}"
        );
        let mut tx = self.write.begin().await?;
        let written = sqlx::query(&sql)
            .bind(&t.name)
            .bind(&t.category)
            .bind(&t.description)
            .bind(t.example.to_string())
            .bind(t.schema.as_ref().map(|s| s.to_string()))
            .bind(i64::from(t.archived))
            .bind(t.created_at)
            .bind(t.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if written {
            sqlx::query("DELETE FROM unregistered_event_types WHERE name = $1").bind(&t.name).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Whether the tenant accepts event types that are not in the catalog (None: no such tenant).
    pub async fn accepts_unregistered_types(&self, tenant: &str) -> DbResult<Option<bool>> {
        let row = sqlx::query("SELECT accept_unregistered_types FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| r.try_get::<i64, _>(0).map(|v| v != 0)).transpose()
    }

    /// False when there is no such tenant.
    pub async fn set_accept_unregistered_types(&self, tenant: &str, on: bool) -> DbResult<bool> {
        let done = sqlx::query("UPDATE tenants SET accept_unregistered_types = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(tenant)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a type the tenant published without it being in the catalog, unless it is already recorded
    /// or the tenant has `max` of them already (0: no limit). False when refused for the limit.
    pub async fn record_unregistered_type(&self, tenant: &str, name: &str, now: i64, max: u32) -> DbResult<bool> {
        // One statement, so concurrent publishes of new names cannot pass the limit together by much.
        let done = sqlx::query(
            "INSERT INTO unregistered_event_types (tenant_id, name, first_seen_at) \
             SELECT $1, $2, $3 WHERE $4 = 0 OR (SELECT COUNT(*) FROM unregistered_event_types WHERE tenant_id = $1) < $4 \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(tenant)
        .bind(name)
        .bind(now)
        .bind(i64::from(max))
        .execute(&self.write)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        let known = sqlx::query("SELECT 1 FROM unregistered_event_types WHERE tenant_id = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .fetch_optional(&self.write)
            .await?;
        Ok(known.is_some())
    }

    /// Unregistered types (name, first seen) of one tenant, or of every tenant (the earliest sighting per name).
    pub async fn list_unregistered_types(&self, tenant: Option<&str>) -> DbResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT name, MIN(first_seen_at) AS first_seen_at FROM unregistered_event_types \
             WHERE ($1 IS NULL OR tenant_id = $1) GROUP BY name ORDER BY name",
        )
        .bind(tenant.map(str::to_string))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("first_seen_at")?))).collect()
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

    /// A tenant's events of these types after the event `after` (exclusive), oldest first (ids sort by creation
    /// time): what a connected app's "Sync now" sends, a page at a time. Test-fires are not events.
    pub async fn events_of_types_after(
        &self,
        tenant: &str,
        types: &[&str],
        after: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Event>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let n = types.len();
        let list = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events WHERE is_test = 0 \
             AND event_type IN ({list}) AND tenant_id = ${} AND (${after} IS NULL OR id > ${after}) \
             ORDER BY id LIMIT ${}",
            n + 1,
            n + 3,
            after = n + 2,
        );
        let mut q = sqlx::query(&sql);
        for t in types {
            q = q.bind(*t);
        }
        let rows = q.bind(tenant).bind(after.map(str::to_string)).bind(limit).fetch_all(&self.read).await?;
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
