//! The routing index: per tenant, its active endpoints with their event patterns and compiled filters, kept in
//! memory so publishing does not read the endpoints table for every event. Any change to a tenant's endpoints
//! drops that tenant's entry (and, on PostgreSQL, tells the other instances to do the same).

use super::{Actor, Hub};
use crate::model::filter::{subscribed, CompiledFilters};
use crate::model::{AppResult, PublishEvent, RouteCheck, RouteOutcome, RoutingPreviewInput, WebhookListQuery};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Payload on the routes channel meaning "the event-type catalog changed" (tenant ids never start with `*`).
pub const CATALOG_CHANGED: &str = "*catalog";

pub struct Route {
    pub webhook_id: String,
    pub events: Vec<String>,
    pub filters: CompiledFilters,
}

#[derive(Default)]
pub struct RoutingIndex {
    tenants: Mutex<HashMap<String, Arc<Vec<Route>>>>,
}

impl RoutingIndex {
    pub fn invalidate(&self, tenant: &str) {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).remove(tenant);
    }
    pub fn clear(&self) {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    fn get(&self, tenant: &str) -> Option<Arc<Vec<Route>>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).get(tenant).cloned()
    }
    fn put(&self, tenant: &str, routes: Arc<Vec<Route>>) {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).insert(tenant.to_string(), routes);
    }
}

/// Why an endpoint would or would not receive an event (routing preview, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteVerdict {
    Match,
    NotSubscribed,
    Filtered(String),
}

impl Route {
    pub fn verdict(&self, event_type: &str, envelope: &serde_json::Value) -> RouteVerdict {
        if !subscribed(&self.events, event_type) {
            return RouteVerdict::NotSubscribed;
        }
        match self.filters.evaluate(envelope) {
            Ok(()) => RouteVerdict::Match,
            Err(r) => RouteVerdict::Filtered(r.reason),
        }
    }
}

impl Hub {
    pub async fn routes_for(&self, tenant: &str) -> AppResult<Arc<Vec<Route>>> {
        if let Some(r) = self.routes.get(tenant) {
            return Ok(r);
        }
        let hooks = self.store.active_webhooks(tenant).await?;
        let routes: Vec<Route> = hooks
            .into_iter()
            .filter_map(|w| {
                // Filters were validated on save; one that no longer compiles matches nothing rather than all.
                let filters = CompiledFilters::new(w.filters).ok()?;
                Some(Route { webhook_id: w.id, events: w.events, filters })
            })
            .collect();
        let routes = Arc::new(routes);
        self.routes.put(tenant, routes.clone());
        Ok(routes)
    }

    /// Keeps this instance's routing index and catalog in step with changes made by other instances on the
    /// same PostgreSQL database (LISTEN); returns at once on SQLite. Runs until aborted.
    pub async fn listen_for_changes(self: Arc<Self>) {
        use crate::server::store::{DELIVERIES_CHANNEL, ROUTES_CHANNEL};
        let hub = self;
        loop {
            let mut listener = match hub.store.listen(&[ROUTES_CHANNEL, DELIVERIES_CHANNEL]).await {
                Ok(Some(l)) => l,
                Ok(None) => return, // SQLite: one instance, nothing to hear
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN for changes; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    continue;
                }
            };
            // Anything may have changed while we were not listening.
            hub.routes.clear();
            hub.catalog.clear();
            while let Ok(n) = listener.recv().await {
                match n.payload() {
                    tenant if n.channel() == DELIVERIES_CHANNEL => {
                        let _ = hub.live.send(tenant.to_string());
                    }
                    CATALOG_CHANGED => hub.catalog.clear(),
                    tenant => hub.routes.invalidate(tenant),
                }
            }
        }
    }

    /// Tells other hub instances on the same PostgreSQL database that a tenant's endpoints changed.
    pub fn broadcast_route_change(&self, tenant: &str) {
        let store = self.store.clone();
        let tenant = tenant.to_string();
        tokio::spawn(async move {
            if let Err(e) = store.notify(crate::server::store::ROUTES_CHANNEL, &tenant).await {
                tracing::warn!(error = %e, "cannot broadcast a routing change");
            }
        });
    }
}

impl Hub {
    /// Where an event of this type and data would go among the tenant's endpoints, and why not elsewhere;
    /// nothing is published. Uses the same matcher and filters as publishing.
    pub async fn preview_routing(
        &self,
        actor: Actor<'_>,
        tenant_id: Option<&str>,
        input: RoutingPreviewInput,
    ) -> AppResult<Vec<RouteCheck>> {
        let tenant = self.require_target_tenant(&actor, tenant_id).await?;
        let envelope = self
            .prepare(&tenant, &PublishEvent { event_type: input.event_type, data: input.data, ..Default::default() })
            .await?
            .envelope;
        let q = WebhookListQuery { tenant_id: Some(tenant), limit: Some(500), ..Default::default() };
        let hooks = self.list_webhooks(actor, q).await?;
        let event_type = envelope["type"].as_str().unwrap_or_default().to_string();
        Ok(hooks
            .into_iter()
            .map(|w| {
                let (outcome, reason) = match CompiledFilters::new(w.filters) {
                    _ if !subscribed(&w.events, &event_type) => (RouteOutcome::NotSubscribed, None),
                    Err(e) => (RouteOutcome::Filtered, Some(e)),
                    Ok(f) => match f.evaluate(&envelope) {
                        Err(r) => (RouteOutcome::Filtered, Some(r.to_string())),
                        Ok(()) if !w.is_active => (RouteOutcome::Disabled, None),
                        Ok(()) => (RouteOutcome::Delivered, None),
                    },
                };
                RouteCheck { webhook_id: w.id, name: w.name, url: w.url, outcome, reason }
            })
            .collect())
    }
}
