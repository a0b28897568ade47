//! The calls behind the API Keys tab's usage charts and the Webhooks tab's paged, searchable endpoint list.
//! Each checks the session and the tenant, then calls the same service as REST.

use crate::model::{AppError, KeyUsage, Page, UsageWindow, Webhook, WebhookListQuery};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx::as_tenant_user, crate::model::Paged, crate::server::service::Actor};

/// One key's requests per day over the window.
#[server(endpoint = "usage_of_key", input = Json)]
pub async fn usage_of_key(tenant_id: String, id: String, window: UsageWindow) -> Result<KeyUsage, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.key_usage(Actor::User(&user), &id, window).await).await
}

/// The tenant's keys' requests per day over the window, summed.
#[server(endpoint = "usage_of_tenant_keys", input = Json)]
pub async fn usage_of_tenant_keys(tenant_id: String, window: UsageWindow) -> Result<KeyUsage, AppError> {
    let tenant = tenant_id.clone();
    as_tenant_user(&tenant_id, async |hub, user| hub.tenant_key_usage(Actor::User(&user), Some(&tenant), window).await)
        .await
}

/// A page of the tenant's endpoints: search by name or URL, filter by status and event type, `cursor` from the
/// previous page's `next_cursor`.
#[server(endpoint = "webhook_page", input = Json)]
pub async fn webhook_page(tenant_id: String, query: WebhookListQuery) -> Result<Page<Webhook>, AppError> {
    let q = WebhookListQuery { tenant_id: Some(tenant_id.clone()), ..query };
    let limit = q.page_limit() as usize;
    as_tenant_user(&tenant_id, async |hub, user| {
        let list = hub.list_webhooks(Actor::User(&user), q).await?;
        Ok(Page::of(list, limit, |w| &w.id))
    })
    .await
}

/// The OpenAPI document of `/api/v1` (public, like `/api/v1/openapi.json`), for the API reference page.
#[server(endpoint = "api_reference", input = Json)]
pub async fn api_reference() -> Result<serde_json::Value, AppError> {
    super::ctx::as_user(async |_, _| {
        serde_json::to_value(crate::server::rest::openapi::document()).map_err(|_| AppError::internal())
    })
    .await
}
