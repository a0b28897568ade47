//! The Webhooks and Event types tabs' calls, through the same services as the REST API.

use crate::model::{AppError, EventType, Webhook};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(endpoint = "list_webhooks", input = Json)]
pub async fn list_webhooks(
    tenant_id: String,
    search: Option<String>,
    status: Option<String>,
) -> Result<Vec<Webhook>, AppError> {
    use crate::server::service::Actor;
    super::ctx::run(async {
        let hub = super::ctx::hub()?;
        let user = super::ctx::current_user(&hub).await?;
        hub.authorize_tenant(&user, &tenant_id).await?;
        let q = crate::model::WebhookListQuery {
            search,
            status,
            tenant_id: Some(tenant_id),
            limit: Some(500),
            ..Default::default()
        };
        hub.list_webhooks(Actor::User(&user), q).await
    })
    .await
}

#[server(endpoint = "set_webhook_active", input = Json)]
pub async fn set_webhook_active(tenant_id: String, id: String, active: bool) -> Result<Webhook, AppError> {
    use crate::server::service::Actor;
    super::ctx::run(async {
        let hub = super::ctx::hub()?;
        let user = super::ctx::current_user(&hub).await?;
        hub.authorize_tenant(&user, &tenant_id).await?;
        let patch = crate::model::UpdateWebhook { is_active: Some(active), ..Default::default() };
        hub.update_webhook(Actor::User(&user), &id, patch).await
    })
    .await
}

#[server(endpoint = "list_event_types", input = Json)]
pub async fn list_event_types() -> Result<Vec<EventType>, AppError> {
    super::ctx::run(async {
        let hub = super::ctx::hub()?;
        super::ctx::current_user(&hub).await?;
        hub.list_event_types().await
    })
    .await
}
