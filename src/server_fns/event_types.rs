//! The Event types tab's own calls: the catalog as the tenant sees it (with its unregistered types) and the
//! tenant's catalog settings. Saving entries is `tools::save_event_type`.

use crate::model::{AppError, EventType, EventTypeSettings};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {
    super::ctx::{as_tenant_user, as_user_in},
    crate::server::service::Actor,
};

/// Registered types, then the unregistered types `tenant_id` has published.
#[server(endpoint = "event_catalog", input = Json)]
pub async fn event_catalog(tenant_id: String) -> Result<Vec<EventType>, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.event_catalog(Actor::User(&user)).await).await
}

#[server(endpoint = "get_event_type_settings", input = Json)]
pub async fn get_event_type_settings(tenant_id: String) -> Result<EventTypeSettings, AppError> {
    as_user_in(&tenant_id, async |hub, user| hub.event_type_settings(Actor::User(&user), &tenant_id).await).await
}

/// Admins only (the service refuses everyone else).
#[server(endpoint = "set_event_type_settings", input = Json)]
pub async fn set_event_type_settings(settings: EventTypeSettings) -> Result<EventTypeSettings, AppError> {
    let tenant_id = settings.tenant_id.clone();
    as_user_in(&tenant_id, async |hub, user| hub.set_event_type_settings(Actor::User(&user), settings).await).await
}
