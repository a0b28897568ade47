//! `/api/v1/webhooks`.

use super::error::{optional_json, page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Call;
use crate::model::Paged;
use crate::model::{
    CreateWebhook, RotateWebhookSecret, UpdateWebhook, Webhook, WebhookHeaders, WebhookListQuery, WebhookSecret,
};
use axum::http::StatusCode;
use axum::Json;

pub async fn create(call: Call, ApiJson(input): ApiJson<CreateWebhook>) -> ApiResult<(StatusCode, Json<Webhook>)> {
    Ok((StatusCode::CREATED, Json(call.hub.create_webhook(call.actor(), input).await?)))
}

pub async fn list(call: Call, ApiQuery(q): ApiQuery<WebhookListQuery>) -> ApiResult<Json<serde_json::Value>> {
    let limit = q.page_limit() as usize;
    let list = call.hub.list_webhooks(call.actor(), q).await?;
    Ok(page(list, limit, |w| &w.id))
}

pub async fn get_one(call: Call, ApiId(id): ApiId) -> ApiResult<Json<Webhook>> {
    Ok(Json(call.hub.get_webhook(&call.actor(), &id).await?))
}

pub async fn update(call: Call, ApiId(id): ApiId, ApiJson(patch): ApiJson<UpdateWebhook>) -> ApiResult<Json<Webhook>> {
    Ok(Json(call.hub.update_webhook(call.actor(), &id, patch).await?))
}

pub async fn delete(call: Call, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    call.hub.delete_webhook(call.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn secret(call: Call, ApiId(id): ApiId) -> ApiResult<Json<WebhookSecret>> {
    Ok(Json(call.hub.webhook_secret(call.actor(), &id).await?))
}

/// The custom headers with their real values (every other answer masks them).
pub async fn headers(call: Call, ApiId(id): ApiId) -> ApiResult<Json<WebhookHeaders>> {
    Ok(Json(call.hub.webhook_headers(call.actor(), &id).await?))
}

pub async fn rotate_secret(call: Call, ApiId(id): ApiId, body: axum::body::Bytes) -> ApiResult<Json<WebhookSecret>> {
    let r: RotateWebhookSecret = optional_json(&body)?;
    Ok(Json(call.hub.rotate_webhook_secret(call.actor(), &id, r).await?))
}
