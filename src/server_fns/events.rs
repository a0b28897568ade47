//! The Events tab: search, one event with its deliveries, and resending it; each confined to the tenant whose
//! pages the user is in, through the same service as the REST API.

use crate::model::{AppError, Event, EventSearchQuery, EventWithDeliveries, Resent};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx::as_tenant_user, crate::server::service::Actor};

#[server(endpoint = "search_events", input = Json)]
pub async fn search_events(tenant_id: String, query: EventSearchQuery) -> Result<Vec<Event>, AppError> {
    let q = EventSearchQuery { tenant_id: Some(tenant_id.clone()), ..query };
    as_tenant_user(&tenant_id, async |hub, user| hub.search_events(&Actor::User(&user), &q).await).await
}

#[server(endpoint = "event_detail", input = Json)]
pub async fn event_detail(tenant_id: String, id: String) -> Result<EventWithDeliveries, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.get_event(Actor::User(&user), &id).await).await
}

/// To every endpoint subscribed now, or to `endpoint_id` (one of the tenant's, subscribed or not).
#[server(endpoint = "resend_event", input = Json)]
pub async fn resend_event(tenant_id: String, id: String, endpoint_id: Option<String>) -> Result<Resent, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| {
        hub.resend_event(Actor::User(&user), &id, endpoint_id.as_deref()).await
    })
    .await
}
