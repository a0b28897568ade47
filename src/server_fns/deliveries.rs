//! The Deliveries tab, the stats cards and charts, replay, recover and test-fire: each checks the session and
//! the tenant, then calls the same service as the REST API, confined to that tenant.

use crate::model::{
    AppError, Delivery, DeliveryDetail, DeliveryListQuery, DeliveryStats, StatsWindow, TestFire, TestFireResult,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx::as_tenant_user, crate::server::service::Actor};

#[server(endpoint = "list_deliveries", input = Json)]
pub async fn list_deliveries(tenant_id: String, query: DeliveryListQuery) -> Result<Vec<Delivery>, AppError> {
    let q = DeliveryListQuery { tenant_id: Some(tenant_id.clone()), ..query };
    as_tenant_user(&tenant_id, async |hub, user| hub.list_deliveries(Actor::User(&user), q).await).await
}

#[server(endpoint = "get_delivery", input = Json)]
pub async fn get_delivery(tenant_id: String, id: String) -> Result<DeliveryDetail, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.get_delivery(&Actor::User(&user), &id).await).await
}

#[server(endpoint = "replay_delivery", input = Json)]
pub async fn replay_delivery(tenant_id: String, id: String) -> Result<Delivery, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.replay_delivery(Actor::User(&user), &id).await).await
}

/// Replays an endpoint's dead letters since `since` (unix ms); returns how many were queued again.
#[server(endpoint = "recover_webhook", input = Json)]
pub async fn recover_webhook(tenant_id: String, webhook_id: String, since: i64) -> Result<usize, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.recover_webhook(Actor::User(&user), &webhook_id, since).await)
        .await
}

/// One endpoint's figures (`webhook_id`) or the whole tenant's.
#[server(endpoint = "load_delivery_stats", input = Json)]
pub async fn load_delivery_stats(
    tenant_id: String,
    webhook_id: Option<String>,
    window: StatsWindow,
) -> Result<DeliveryStats, AppError> {
    let q = crate::model::StatsQuery { webhook_id, tenant_id: Some(tenant_id.clone()), window };
    as_tenant_user(&tenant_id, async |hub, user| hub.delivery_stats(Actor::User(&user), q).await).await
}

#[server(endpoint = "send_test_event", input = Json)]
pub async fn send_test_event(
    tenant_id: String,
    webhook_id: String,
    input: TestFire,
) -> Result<TestFireResult, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.test_fire(Actor::User(&user), &webhook_id, input).await).await
}

/// 24-hour figures of the tenant's first 100 endpoints at once (the cards' sparklines), rather than a request
/// per card.
#[server(endpoint = "load_sparklines", input = Json)]
pub async fn load_sparklines(tenant_id: String) -> Result<Vec<(String, DeliveryStats)>, AppError> {
    let q =
        crate::model::WebhookListQuery { tenant_id: Some(tenant_id.clone()), limit: Some(100), ..Default::default() };
    as_tenant_user(&tenant_id, async |hub, user| {
        let mut out = Vec::new();
        for w in hub.list_webhooks(Actor::User(&user), q).await? {
            let q =
                crate::model::StatsQuery { webhook_id: Some(w.id.clone()), tenant_id: None, window: StatsWindow::Day };
            out.push((w.id, hub.delivery_stats(Actor::User(&user), q).await?));
        }
        Ok(out)
    })
    .await
}
