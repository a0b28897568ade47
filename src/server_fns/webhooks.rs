//! The Webhooks and Event types tabs' calls, through the same services as the REST API.

use crate::model::{
    AppError, CreateWebhook, DestinationKind, DestinationPreview, EndpointCounts, EventType, MessageTemplate,
    RouteCheck, RoutingPreviewInput, UpdateWebhook, Webhook, WebhookHeaders, WebhookSecret,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {
    super::ctx::{as_tenant_user, as_user},
    crate::server::service::Actor,
};

/// The overview cards' counts of the tenant's endpoints, counted by the database (no list behind them).
#[server(endpoint = "count_endpoints", input = Json)]
pub async fn count_endpoints(tenant_id: String) -> Result<EndpointCounts, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.endpoint_counts(Actor::User(&user), Some(&tenant_id)).await).await
}

#[server(endpoint = "list_webhooks", input = Json)]
pub async fn list_webhooks(
    tenant_id: String,
    search: Option<String>,
    status: Option<String>,
) -> Result<Vec<Webhook>, AppError> {
    let q = crate::model::WebhookListQuery {
        search,
        status,
        tenant_id: Some(tenant_id.clone()),
        limit: Some(500),
        ..Default::default()
    };
    as_tenant_user(&tenant_id, async |hub, user| hub.list_webhooks(Actor::User(&user), q).await).await
}

#[server(endpoint = "set_webhook_active", input = Json)]
pub async fn set_webhook_active(tenant_id: String, id: String, active: bool) -> Result<Webhook, AppError> {
    let patch = UpdateWebhook { is_active: Some(active), ..Default::default() };
    as_tenant_user(&tenant_id, async |hub, user| hub.update_webhook(Actor::User(&user), &id, patch).await).await
}

#[server(endpoint = "list_event_types", input = Json)]
pub async fn list_event_types() -> Result<Vec<EventType>, AppError> {
    as_user(async |hub, _| hub.list_event_types().await).await
}

#[server(endpoint = "add_webhook", input = Json)]
pub async fn add_webhook(tenant_id: String, input: CreateWebhook) -> Result<Webhook, AppError> {
    let input = CreateWebhook { tenant_id: Some(tenant_id.clone()), ..input };
    as_tenant_user(&tenant_id, async |hub, user| hub.create_webhook(Actor::User(&user), input).await).await
}

#[server(endpoint = "edit_webhook", input = Json)]
pub async fn edit_webhook(tenant_id: String, id: String, patch: UpdateWebhook) -> Result<Webhook, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.update_webhook(Actor::User(&user), &id, patch).await).await
}

#[server(endpoint = "delete_webhook", input = Json)]
pub async fn delete_webhook(tenant_id: String, id: String) -> Result<(), AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.delete_webhook(Actor::User(&user), &id).await).await
}

/// The signing secret, for the reveal button (the endpoint's owner needs it to verify requests).
#[server(endpoint = "reveal_webhook_secret", input = Json)]
pub async fn reveal_webhook_secret(tenant_id: String, id: String) -> Result<WebhookSecret, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.webhook_secret(Actor::User(&user), &id).await).await
}

/// The custom headers' real values, for the reveal button (every other answer masks them); audited.
#[server(endpoint = "reveal_webhook_headers", input = Json)]
pub async fn reveal_webhook_headers(tenant_id: String, id: String) -> Result<WebhookHeaders, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.webhook_headers(Actor::User(&user), &id).await).await
}

#[server(endpoint = "rotate_webhook_secret", input = Json)]
pub async fn rotate_webhook_secret(
    tenant_id: String,
    id: String,
    grace_seconds: u64,
) -> Result<WebhookSecret, AppError> {
    let r = crate::model::RotateWebhookSecret { grace_seconds: Some(grace_seconds), secret: None };
    as_tenant_user(&tenant_id, async |hub, user| hub.rotate_webhook_secret(Actor::User(&user), &id, r).await).await
}

#[server(endpoint = "preview_routing", input = Json)]
pub async fn preview_routing(tenant_id: String, input: RoutingPreviewInput) -> Result<Vec<RouteCheck>, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.preview_routing(Actor::User(&user), Some(&tenant_id), input).await)
        .await
}

/// The endpoint form's live preview: the catalog example of `event_type` rendered as a destination of `kind`
/// with `message` would send it (a template error comes back in the preview, not as an error).
#[server(endpoint = "preview_destination", input = Json)]
pub async fn preview_destination(
    kind: DestinationKind,
    message: Option<MessageTemplate>,
    event_type: String,
) -> Result<DestinationPreview, AppError> {
    as_user(async |hub, user| hub.preview_destination(Actor::User(&user), kind, message, event_type).await).await
}

/// What the message form shows beside a chat or email destination's templates: the default message for
/// `event_type`'s category (what empty parts fall back to), and who email comes from (None: this hub has no
/// SMTP server, so email destinations cannot be saved).
#[server(endpoint = "message_defaults", input = Json)]
pub async fn message_defaults(event_type: String) -> Result<(MessageTemplate, Option<String>), AppError> {
    as_user(async |hub, _| {
        Ok((crate::server::delivery::message::defaults::default_template(&event_type), hub.email_sender()))
    })
    .await
}
