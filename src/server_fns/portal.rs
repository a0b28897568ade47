//! The admin's portal-link calls: list, create (the URL is in the answer, once) and revoke one tenant's links.
//! They keep the admin's own role (not confined to the tenant as tenant pages are): links are an admin's tool.

use crate::model::{AppError, IssuedPortalLink, NewPortalLink, PortalLink};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx::as_user_in, crate::server::service::Actor};

#[server(endpoint = "list_portal_links", input = Json)]
pub async fn list_portal_links(tenant_id: String) -> Result<Vec<PortalLink>, AppError> {
    as_user_in(&tenant_id, async |hub, user| hub.list_portal_links(Actor::User(&user), &tenant_id).await).await
}

#[server(endpoint = "create_portal_link", input = Json)]
pub async fn create_portal_link(tenant_id: String, input: NewPortalLink) -> Result<IssuedPortalLink, AppError> {
    as_user_in(&tenant_id, async |hub, user| hub.create_portal_link(Actor::User(&user), &tenant_id, input).await).await
}

#[server(endpoint = "revoke_portal_link", input = Json)]
pub async fn revoke_portal_link(tenant_id: String, id: String) -> Result<PortalLink, AppError> {
    as_user_in(&tenant_id, async |hub, user| hub.revoke_portal_link(Actor::User(&user), &tenant_id, &id).await).await
}
