//! `/api/v1/webhooks`.

use super::error::{optional_json, page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Caller;
use crate::model::Paged;
use crate::model::{
    CreateWebhook, RotateWebhookSecret, UpdateWebhook, Webhook, WebhookHeaders, WebhookListQuery, WebhookSecret,
};
use crate::server::service::{Actor, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

pub async fn create(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiJson(input): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<Webhook>)> {
    Ok((StatusCode::CREATED, Json(hub.create_webhook(Actor::Key(&key), input).await?)))
}

pub async fn list(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiQuery(q): ApiQuery<WebhookListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let limit = q.page_limit() as usize;
    let list = hub.list_webhooks(Actor::Key(&key), q).await?;
    Ok(page(list, limit, |w| &w.id))
}

pub async fn get_one(State(hub): State<AppState>, Caller(key): Caller, ApiId(id): ApiId) -> ApiResult<Json<Webhook>> {
    Ok(Json(hub.get_webhook(&Actor::Key(&key), &id).await?))
}

pub async fn update(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
    ApiJson(patch): ApiJson<UpdateWebhook>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(hub.update_webhook(Actor::Key(&key), &id, patch).await?))
}

pub async fn delete(State(hub): State<AppState>, Caller(key): Caller, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    hub.delete_webhook(Actor::Key(&key), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn secret(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
) -> ApiResult<Json<WebhookSecret>> {
    Ok(Json(hub.webhook_secret(Actor::Key(&key), &id).await?))
}

/// The custom headers with their real values (every other answer masks them).
pub async fn headers(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
) -> ApiResult<Json<WebhookHeaders>> {
    Ok(Json(hub.webhook_headers(Actor::Key(&key), &id).await?))
}

pub async fn rotate_secret(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
    body: axum::body::Bytes,
) -> ApiResult<Json<WebhookSecret>> {
    let r: RotateWebhookSecret = optional_json(&body)?;
    Ok(Json(hub.rotate_webhook_secret(Actor::Key(&key), &id, r).await?))
}
