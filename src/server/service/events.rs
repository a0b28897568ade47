//! The event-type catalog and publishing: validate, match against the routing index, write the event and its
//! deliveries in one transaction, wake the worker.

use super::routing::{RouteVerdict, CATALOG_CHANGED};
use super::{Actor, Hub};
use crate::model::Paged;
use crate::model::{
    AppError, AppResult, BatchItemResult, ErrorCode, Event, EventListQuery, EventType, EventWithDeliveries,
    PublishEvent, Published, Validator,
};
use crate::server::store::{new_id, now_ms, PublishOutcome};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const MAX_BATCH: usize = 100;

/// The catalog shipped with the hub (helpdesk, CRM, approvals, event platform), seeded on start.
const CATALOG_JSON: &str = include_str!("data/event_catalog.json");

/// The catalog in memory (publishing checks every event against it); dropped on any change.
#[derive(Default)]
pub struct CatalogCache(Mutex<Option<Arc<HashMap<String, EventType>>>>);

impl CatalogCache {
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[derive(serde::Deserialize)]
struct SeedType {
    name: String,
    category: String,
    description: String,
    example: Value,
    schema: Option<Value>,
}

impl Hub {
    pub(super) async fn seed_catalog(&self) -> Result<(), String> {
        let seeds: Vec<SeedType> = serde_json::from_str(CATALOG_JSON).map_err(|e| e.to_string())?;
        let now = now_ms();
        let types: Vec<EventType> = seeds
            .into_iter()
            .map(|s| EventType {
                name: s.name,
                category: s.category,
                description: s.description,
                example: s.example,
                schema: s.schema,
                archived: false,
                created_at: now,
                updated_at: now,
            })
            .collect();
        self.store.seed_event_types(&types).await.map_err(|e| e.to_string())
    }

    async fn catalog(&self) -> AppResult<Arc<HashMap<String, EventType>>> {
        if let Some(c) = self.catalog.0.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(c);
        }
        let map: HashMap<_, _> =
            self.store.list_event_types().await?.into_iter().map(|t| (t.name.clone(), t)).collect();
        let map = Arc::new(map);
        *self.catalog.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(map.clone());
        Ok(map)
    }

    pub async fn list_event_types(&self) -> AppResult<Vec<EventType>> {
        Ok(self.store.list_event_types().await?)
    }

    /// Admins add, edit and archive catalog entries.
    pub async fn save_event_type(&self, actor: Actor<'_>, mut t: EventType) -> AppResult<EventType> {
        actor.require_admin()?;
        let mut v = Validator::default();
        if let Err(m) = crate::model::filter::validate_event_pattern(&t.name) {
            v.push("name", m);
        }
        v.check(!t.name.contains('*'), "name", "an event type cannot contain a wildcard");
        v.check(!t.category.trim().is_empty(), "category", "is required");
        if let Some(schema) = &t.schema {
            v.check(schema.is_object(), "schema", "must be a JSON object");
            if let Err(m) = crate::model::schema::validate(schema, &t.example) {
                v.push("example", format!("does not match the schema: {m}"));
            }
        }
        v.finish()?;
        let now = now_ms();
        t.created_at = self.store.get_event_type(&t.name).await?.map_or(now, |old| old.created_at);
        t.updated_at = now;
        self.store.upsert_event_type(&t).await?;
        self.catalog.clear();
        if let Err(e) = self.store.notify(crate::server::store::ROUTES_CHANNEL, CATALOG_CHANGED).await {
            tracing::warn!(error = %e, "cannot broadcast a catalog change");
        }
        self.audit(&actor, None, "event_type.saved", &t.name, if t.archived { "archived" } else { "active" }).await?;
        Ok(t)
    }

    /// Checks an event against the catalog and builds its envelope.
    pub(super) async fn prepare(&self, tenant: &str, input: &PublishEvent) -> AppResult<Event> {
        let mut v = Validator::default();
        let catalog = self.catalog().await?;
        match catalog.get(&input.event_type) {
            None => v.push("type", format!("unknown event type {:?}; add it to the catalog first", input.event_type)),
            Some(t) if t.archived => v.push("type", format!("event type {:?} is archived", input.event_type)),
            Some(t) => {
                if let Some(schema) = &t.schema {
                    if let Err(m) = crate::model::schema::validate(schema, &input.data) {
                        v.push("data", m);
                    }
                }
            }
        }
        v.check(input.metadata.as_ref().is_none_or(Value::is_object), "metadata", "must be a JSON object");
        if let Some(k) = &input.idempotency_key {
            v.check(!k.is_empty() && k.len() <= 255, "idempotency_key", "must be 1–255 characters");
        }
        v.finish()?;
        let id = new_id("evt");
        let now = now_ms();
        let timestamp = chrono::DateTime::from_timestamp_millis(now)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let mut envelope = serde_json::json!({
            "id": id, "type": input.event_type, "timestamp": timestamp, "tenant_id": tenant, "data": input.data,
        });
        if let Some(p) = &input.previous_data {
            envelope["previous_data"] = p.clone();
        }
        if let Some(m) = &input.metadata {
            envelope["metadata"] = m.clone();
        }
        Ok(Event { id, tenant_id: tenant.to_string(), event_type: input.event_type.clone(), created_at: now, envelope })
    }

    /// The in-process publish API (REST calls it too). Returns once the event and its deliveries are durable.
    pub async fn publish(&self, actor: Actor<'_>, input: PublishEvent) -> AppResult<Published> {
        let tenant = self.require_target_tenant(&actor, input.tenant_id.as_deref()).await?;
        let event = self.prepare(&tenant, &input).await?;
        let routes = self.routes_for(&tenant).await?;
        let matched: Vec<String> = routes
            .iter()
            .filter(|r| r.verdict(&event.event_type, &event.envelope) == RouteVerdict::Match)
            .map(|r| r.webhook_id.clone())
            .collect();
        let matched_n = matched.len();
        let envelope: Arc<str> = event.envelope.to_string().into();
        let key = input.idempotency_key.as_deref();
        Ok(match self.store.enqueue(&event, envelope, matched, key).await? {
            PublishOutcome::Duplicate(id, n) => Published { id, matched: n, duplicate: true },
            PublishOutcome::Created => {
                if matched_n > 0 {
                    // Other instances hear of it once a worker records the first attempt.
                    self.deliveries_changed(&[tenant.as_str()], false);
                }
                Published { id: event.id, matched: matched_n, duplicate: false }
            }
        })
    }

    /// Wakes this instance's worker, and the others' on PostgreSQL.
    pub async fn wake_workers(&self) {
        if let Err(e) = self.store.wake().await {
            tracing::warn!(error = %e, "cannot notify other workers");
        }
    }

    /// Up to [`MAX_BATCH`] events, each accepted or refused on its own.
    pub async fn publish_batch(&self, actor: Actor<'_>, items: Vec<Value>) -> AppResult<Vec<BatchItemResult>> {
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(AppError::field("events", format!("send 1–{MAX_BATCH} events")));
        }
        // Published side by side, so the outbox commits the whole batch in one transaction (in order).
        let each = items.into_iter().enumerate().map(|(index, item)| {
            let actor = Actor::clone_of(&actor);
            async move {
                let result = match serde_json::from_value::<PublishEvent>(item) {
                    Err(e) => Err(AppError::new(ErrorCode::ValidationFailed, format!("invalid event: {e}"))),
                    Ok(input) => self.publish(actor, input).await,
                };
                match result {
                    Ok(p) => BatchItemResult { index, event: Some(p), error: None },
                    Err(e) => BatchItemResult { index, event: None, error: Some(e) },
                }
            }
        });
        Ok(futures::future::join_all(each).await)
    }

    pub async fn list_events(&self, actor: Actor<'_>, q: EventListQuery) -> AppResult<Vec<Event>> {
        let tenant = self.list_tenant(&actor, q.tenant_id.as_deref())?;
        let limit = i64::from(q.page_limit());
        Ok(self.store.list_events(tenant.as_deref(), &q, limit).await?)
    }

    pub async fn get_event(&self, actor: Actor<'_>, id: &str) -> AppResult<EventWithDeliveries> {
        let event = self.store.get_event(id, actor.own_tenant()).await?;
        let event =
            event.filter(|e| actor.sees_tenant(Some(&e.tenant_id))).ok_or_else(|| AppError::not_found("event"))?;
        let deliveries = self.store.deliveries_for_event(&event.id).await?;
        Ok(EventWithDeliveries { event, deliveries })
    }
}
