//! The event-type catalog and publishing: validate, match against the routing index, write the event and its
//! deliveries in one transaction, wake the worker.

use super::audit::Audited;
use super::routing::{RouteVerdict, CATALOG_CHANGED};
use super::{Actor, Hub};
use crate::model::schema;
use crate::model::Paged;
use crate::model::{
    AppError, AppResult, BatchItemResult, CreateEventType, ErrorCode, Event, EventListQuery, EventType,
    EventTypeSettings, EventWithDeliveries, PublishEvent, Published, UpdateEventType, Validator,
};
use crate::server::store::{new_id, now_ms, PublishOutcome};
use jsonschema::Validator as CompiledSchema;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub const MAX_BATCH: usize = 100;

/// The catalog shipped with the hub (helpdesk, CRM, approvals, event platform), seeded on start.
const CATALOG_JSON: &str = include_str!("data/event_catalog.json");

/// Names under `hub.` are the hub's own operational notices: producers neither create nor invent them.
const HUB_PREFIX: &str = "hub.";

/// One catalog entry with its schema compiled (or why it does not compile: a stored schema written before the
/// complete validator, which publishing then refuses with that reason rather than letting payloads through).
struct Entry {
    t: EventType,
    schema: Option<Result<Arc<CompiledSchema>, String>>,
}

/// The catalog in memory (publishing checks every event against it) and what goes with it; dropped on any
/// change, here and, through the routes channel, on the other instances.
#[derive(Default)]
pub struct CatalogCache {
    entries: Mutex<Option<Arc<HashMap<String, Entry>>>>,
    /// Compiled schemas by type name with the schema they were compiled from: a reload after one type changed
    /// compiles only that one (compiling is far slower than checking a payload).
    compiled: Mutex<HashMap<String, (Value, Arc<CompiledSchema>)>>,
    /// Tenants' `accept_unregistered_types`, read once per change.
    accepts: Mutex<HashMap<String, bool>>,
    /// (tenant, type) already recorded as unregistered, so a publish does not write it again.
    recorded: Mutex<HashSet<(String, String)>>,
}

/// Bounds the memory of [`CatalogCache::accepts`] and [`CatalogCache::recorded`] (cleared when full).
const REMEMBERED_MAX: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CatalogCache {
    pub fn clear(&self) {
        *lock(&self.entries) = None;
        lock(&self.accepts).clear();
        lock(&self.recorded).clear();
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

/// Who may change the catalog: it is shared by every tenant, so admins, the hub itself and admin-wide keys
/// (with `event_types:write`, checked by the REST scope table); never a tenant's key or user.
pub fn require_catalog_writer(actor: &Actor<'_>) -> AppResult<()> {
    match actor {
        Actor::Key(k) if k.tenant_id.is_some() => Err(AppError::forbidden(
            "the event-type catalog is shared by every tenant: only an admin-wide key (one without a tenant) may \
             change it",
        )),
        Actor::Key(_) => Ok(()),
        _ => actor.require_admin(),
    }
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
                unregistered: false,
                first_seen_at: None,
            })
            .collect();
        self.store.seed_event_types(&types).await.map_err(|e| e.to_string())
    }

    async fn catalog(&self) -> AppResult<Arc<HashMap<String, Entry>>> {
        if let Some(c) = lock(&self.catalog.entries).clone() {
            return Ok(c);
        }
        let types = self.store.list_event_types().await?;
        let mut compiled = lock(&self.catalog.compiled);
        compiled.retain(|name, _| types.iter().any(|t| &t.name == name));
        let map: HashMap<_, _> = types
            .into_iter()
            .map(|t| {
                let schema = t.schema.as_ref().map(|s| match compiled.get(&t.name) {
                    Some((source, v)) if source == s => Ok(v.clone()),
                    _ => schema::compile(s).map(|v| {
                        let v = Arc::new(v);
                        compiled.insert(t.name.clone(), (s.clone(), v.clone()));
                        v
                    }),
                });
                (t.name.clone(), Entry { t, schema })
            })
            .collect();
        drop(compiled);
        let map = Arc::new(map);
        *lock(&self.catalog.entries) = Some(map.clone());
        Ok(map)
    }

    /// The registered catalog (what endpoint forms and previews offer).
    pub async fn list_event_types(&self) -> AppResult<Vec<EventType>> {
        Ok(self.store.list_event_types().await?)
    }

    /// The catalog as `actor` sees it: every registered type, then the unregistered types of its tenant (admins
    /// and admin-wide keys: of every tenant), marked so and with when they were first published.
    pub async fn event_catalog(&self, actor: Actor<'_>) -> AppResult<Vec<EventType>> {
        let mut list = self.store.list_event_types().await?;
        let registered: HashSet<String> = list.iter().map(|t| t.name.clone()).collect();
        for (name, first_seen) in self.store.list_unregistered_types(actor.own_tenant()).await? {
            if registered.contains(&name) {
                continue;
            }
            list.push(EventType {
                name,
                category: String::new(),
                description: String::new(),
                example: Value::Object(Default::default()),
                schema: None,
                archived: false,
                created_at: first_seen,
                updated_at: first_seen,
                unregistered: true,
                first_seen_at: Some(first_seen),
            });
        }
        Ok(list)
    }

    /// Admins (UI), admin-wide keys (REST) and the hub add, edit and archive catalog entries; saving an
    /// unregistered type's name registers it. Every write of the catalog comes through here.
    pub async fn save_event_type(&self, actor: Actor<'_>, t: EventType) -> AppResult<EventType> {
        self.write_event_type(actor, t, "event_type.saved", false).await
    }

    /// `POST /event-types`: a new entry (409 when the name is taken), or the registration of an unregistered one.
    pub async fn create_event_type(&self, actor: Actor<'_>, input: CreateEventType) -> AppResult<EventType> {
        require_catalog_writer(&actor)?;
        let mut v = Validator::default();
        v.check(!input.name.starts_with(HUB_PREFIX), "name", "names under hub. are the hub's own operational notices");
        v.finish()?;
        let t = EventType {
            name: input.name.trim().to_string(),
            category: input.category.trim().to_string(),
            description: input.description.trim().to_string(),
            example: input.example.unwrap_or_else(|| Value::Object(Default::default())),
            schema: input.schema,
            archived: false,
            created_at: 0,
            updated_at: 0,
            unregistered: false,
            first_seen_at: None,
        };
        self.write_event_type(actor, t, "event_type.created", true).await
    }

    /// `PATCH /event-types/{name}`: changes the fields given, under the same rules as every save.
    pub async fn update_event_type(
        &self,
        actor: Actor<'_>,
        name: &str,
        patch: UpdateEventType,
    ) -> AppResult<EventType> {
        require_catalog_writer(&actor)?;
        let mut t = self.registered_type(name).await?;
        if let Some(c) = patch.category {
            t.category = c.trim().to_string();
        }
        if let Some(d) = patch.description {
            t.description = d.trim().to_string();
        }
        if let Some(e) = patch.example {
            t.example = e;
        }
        if let Some(s) = patch.schema {
            t.schema = s;
        }
        self.write_event_type(actor, t, "event_type.updated", false).await
    }

    /// Archives (publishing it is refused, endpoint forms stop offering it) or unarchives a type.
    pub async fn set_event_type_archived(&self, actor: Actor<'_>, name: &str, archived: bool) -> AppResult<EventType> {
        require_catalog_writer(&actor)?;
        let t = EventType { archived, ..self.registered_type(name).await? };
        let action = if archived { "event_type.archived" } else { "event_type.unarchived" };
        self.write_event_type(actor, t, action, false).await
    }

    async fn registered_type(&self, name: &str) -> AppResult<EventType> {
        self.store.get_event_type(name).await?.ok_or_else(|| AppError::not_found("event type"))
    }

    /// The one rule for every catalog write: who, what a valid entry is, then the write, the caches and the
    /// audit. `only_new` refuses a name already registered (409) instead of replacing it.
    async fn write_event_type(
        &self,
        actor: Actor<'_>,
        mut t: EventType,
        action: &str,
        only_new: bool,
    ) -> AppResult<EventType> {
        require_catalog_writer(&actor)?;
        let mut v = Validator::default();
        if let Err(m) = crate::model::filter::validate_event_pattern(&t.name) {
            v.push("name", m);
        }
        v.check(!t.name.contains('*'), "name", "an event type cannot contain a wildcard");
        v.check(!t.category.trim().is_empty(), "category", "is required");
        if let Some(s) = &t.schema {
            match schema::compile(s) {
                Err(m) => v.push("schema", m),
                Ok(compiled) => {
                    if let Err(m) = schema::check(&compiled, &t.example) {
                        v.push("example", format!("does not match the schema: {m}"));
                    }
                }
            }
        }
        v.finish()?;
        let now = now_ms();
        let old = self.store.get_event_type(&t.name).await?;
        if only_new && old.is_some() {
            return Err(AppError::conflict(format!(
                "event type {:?} already exists; change it with PATCH /event-types/{}",
                t.name, t.name
            )));
        }
        t.created_at = old.as_ref().map_or(now, |old| old.created_at);
        t.updated_at = now;
        (t.unregistered, t.first_seen_at) = (false, None);
        if !self.store.save_event_type(&t, only_new).await? {
            return Err(AppError::conflict(format!("event type {:?} was just created", t.name)));
        }
        self.catalog_changed().await;
        let state = if t.archived { "archived" } else { "active" };
        let audited = Audited { action, target: &t.name, name: Some(&t.name), detail: state, ..Default::default() };
        match old {
            // The changed fields' before and after (the save time aside, which always changes).
            Some(was) => self.audit_update(&actor, audited, &EventType { updated_at: now, ..was }, &t).await?,
            None => self.audit_entry(&actor, Audited { after: serde_json::to_value(&t).ok(), ..audited }).await?,
        }
        Ok(t)
    }

    /// Drops this instance's catalog and tells the others to drop theirs.
    async fn catalog_changed(&self) {
        self.catalog.clear();
        if let Err(e) = self.store.notify(crate::server::store::ROUTES_CHANNEL, CATALOG_CHANGED).await {
            tracing::warn!(error = %e, "cannot broadcast a catalog change");
        }
    }

    /// A tenant's catalog settings; its own users and admins may read them.
    pub async fn event_type_settings(&self, actor: Actor<'_>, tenant: &str) -> AppResult<EventTypeSettings> {
        if !actor.sees_tenant(Some(tenant)) {
            return Err(AppError::not_found("tenant"));
        }
        let on = self.store.accepts_unregistered_types(tenant).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        Ok(EventTypeSettings { tenant_id: tenant.to_string(), accept_unregistered_types: on })
    }

    /// Admins switch a tenant's acceptance of unregistered types; audited.
    pub async fn set_event_type_settings(
        &self,
        actor: Actor<'_>,
        settings: EventTypeSettings,
    ) -> AppResult<EventTypeSettings> {
        actor.require_admin()?;
        let on = settings.accept_unregistered_types;
        if !self.store.set_accept_unregistered_types(&settings.tenant_id, on).await? {
            return Err(AppError::not_found("tenant"));
        }
        self.catalog_changed().await;
        let detail = format!("accept_unregistered_types: {on}");
        self.audit(&actor, Some(&settings.tenant_id), "tenant.event_type_settings", &settings.tenant_id, &detail)
            .await?;
        Ok(settings)
    }

    async fn accepts_unregistered(&self, tenant: &str) -> AppResult<bool> {
        if let Some(on) = lock(&self.catalog.accepts).get(tenant) {
            return Ok(*on);
        }
        let on = self.store.accepts_unregistered_types(tenant).await?.unwrap_or(false);
        let mut accepts = lock(&self.catalog.accepts);
        if accepts.len() >= REMEMBERED_MAX {
            accepts.clear();
        }
        accepts.insert(tenant.to_string(), on);
        Ok(on)
    }

    /// Records a type published without being in the catalog (once per tenant and name), within the tenant's
    /// limit of unregistered types.
    async fn record_unregistered(&self, tenant: &str, name: &str) -> AppResult<()> {
        let key = (tenant.to_string(), name.to_string());
        if lock(&self.catalog.recorded).contains(&key) {
            return Ok(());
        }
        let max = self.config.serve.max_unregistered_types_per_tenant;
        if !self.store.record_unregistered_type(tenant, name, now_ms(), max).await? {
            return Err(AppError::field(
                "type",
                format!(
                    "unknown event type {name:?}, and this tenant already has {max} unregistered types \
                     (HUB_MAX_UNREGISTERED_TYPES_PER_TENANT): register some in the catalog first"
                ),
            ));
        }
        let mut recorded = lock(&self.catalog.recorded);
        if recorded.len() >= REMEMBERED_MAX {
            recorded.clear();
        }
        recorded.insert(key);
        Ok(())
    }

    /// Checks an event against the catalog and builds its envelope. A type not in the catalog passes only for a
    /// tenant that accepts unregistered types (the caller records it: see [`Hub::publish`]).
    pub(super) async fn prepare(&self, tenant: &str, input: &PublishEvent) -> AppResult<Event> {
        let mut v = Validator::default();
        let catalog = self.catalog().await?;
        let name = &input.event_type;
        match catalog.get(name) {
            None if self.accepts_unregistered(tenant).await? => {
                if let Err(m) = crate::model::filter::validate_event_pattern(name) {
                    v.push("type", m);
                }
                v.check(!name.contains('*'), "type", "an event type cannot contain a wildcard");
                v.check(!name.starts_with(HUB_PREFIX), "type", "names under hub. are the hub's own notices");
            }
            None => v.push(
                "type",
                format!(
                    "unknown event type {name:?}; add it to the catalog first (or let this tenant accept \
                     unregistered types)"
                ),
            ),
            Some(e) if e.t.archived => v.push("type", format!("event type {name:?} is archived")),
            Some(e) => match &e.schema {
                Some(Ok(compiled)) => {
                    if let Err(m) = schema::check(compiled, &input.data) {
                        v.push("data", m);
                    }
                }
                Some(Err(m)) => v.push("type", format!("the schema of event type {name:?} {m}; an admin must fix it")),
                None => {}
            },
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
        if !self.catalog().await?.contains_key(&event.event_type) {
            self.record_unregistered(&tenant, &event.event_type).await?;
        }
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
