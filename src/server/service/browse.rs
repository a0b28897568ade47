//! The event browser: finding a tenant's events and sending one again, to every endpoint subscribed now or to
//! one endpoint of the caller's choosing.

use super::audit::Audited;
use super::routing::RouteVerdict;
use super::{Actor, Hub};
use crate::model::{AppError, AppResult, Event, EventSearchQuery, Paged, Resent, Search};

impl Hub {
    /// Events newest first, by type, time, id, idempotency key or payload field ([`Search::parse`]); a bad search
    /// is a 422 naming `search`.
    pub async fn search_events(&self, actor: &Actor<'_>, q: &EventSearchQuery) -> AppResult<Vec<Event>> {
        let tenant = self.list_tenant(actor, q.tenant_id.as_deref())?;
        let search =
            Search::parse(q.search.as_deref().unwrap_or_default()).map_err(|m| AppError::field("search", m))?;
        let limit = i64::from(q.page_limit());
        Ok(self.store.search_events(tenant.as_deref(), q, search.as_ref(), limit).await?)
    }

    /// Queues the event again as new deliveries (full retry policy), audited as `event.resent`.
    ///
    /// Without `endpoint_id`: to every endpoint subscribed to it now (its types and filters as they are today,
    /// active endpoints only), which may differ from those it first went to. With one: to that endpoint even if
    /// it is not subscribed (sending one event by hand is the point: a new endpoint's backfill, a receiver's
    /// bug fixed), but only the event's own tenant's (another's is a 404); a switched-off endpoint keeps it
    /// `paused` until it is switched on, as any delivery.
    pub async fn resend_event(&self, actor: Actor<'_>, event_id: &str, endpoint_id: Option<&str>) -> AppResult<Resent> {
        let event = self.get_event(Actor::clone_of(&actor), event_id).await?.event;
        let endpoints: Vec<String> = match endpoint_id.filter(|e| !e.is_empty()) {
            Some(id) => {
                let w = self.get_webhook(&actor, id).await?;
                if w.tenant_id != event.tenant_id {
                    return Err(AppError::not_found("webhook"));
                }
                vec![w.id]
            }
            None => self
                .routes_for(&event.tenant_id)
                .await?
                .iter()
                .filter(|r| r.verdict(&event.event_type, &event.envelope) == RouteVerdict::Match)
                .map(|r| r.webhook_id.clone())
                .collect(),
        };
        if endpoints.is_empty() {
            return Err(AppError::conflict("no endpoint is subscribed to this event now; choose one to send it to"));
        }
        let deliveries = self.store.resend_event(&event, &endpoints).await?;
        let detail = format!("{} new deliveries", deliveries.len());
        let after = serde_json::json!({ "endpoints": endpoints, "deliveries": deliveries });
        let audited = Audited {
            tenant: Some(&event.tenant_id),
            action: "event.resent",
            target: &event.id,
            name: Some(&event.event_type),
            detail: &detail,
            after: Some(after),
            ..Default::default()
        };
        self.audit_entry(&actor, audited).await?;
        self.deliveries_changed(&[event.tenant_id.as_str()], true);
        self.wake_workers().await;
        Ok(Resent { event_id: event.id, deliveries, endpoints })
    }
}
