//! `/api/v1/keys` and `/api/v1/me`.

use super::error::{optional_json, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Call;
use crate::model::{
    ApiKey, CreateApiKey, IssuedKey, KeyListQuery, KeyUsage, RotateApiKey, UpdateApiKey, UsageQuery, WhoAmI,
};
use crate::server::store::now_ms;
use axum::http::StatusCode;
use axum::Json;

pub async fn me(Call { key, .. }: Call) -> Json<WhoAmI> {
    let status = key.status_at(now_ms());
    Json(WhoAmI { admin_wide: key.tenant_id.is_none(), status, key })
}

pub async fn list(call: Call, ApiQuery(q): ApiQuery<KeyListQuery>) -> ApiResult<Json<serde_json::Value>> {
    let keys = call.hub.list_api_keys(call.actor(), q).await?;
    Ok(Json(serde_json::json!({ "data": keys })))
}

pub async fn create(call: Call, ApiJson(input): ApiJson<CreateApiKey>) -> ApiResult<(StatusCode, Json<IssuedKey>)> {
    Ok((StatusCode::CREATED, Json(call.hub.create_api_key(call.actor(), input).await?)))
}

pub async fn get_one(call: Call, ApiId(id): ApiId) -> ApiResult<Json<ApiKey>> {
    Ok(Json(call.hub.get_api_key(&call.actor(), &id).await?))
}

pub async fn update(call: Call, ApiId(id): ApiId, ApiJson(patch): ApiJson<UpdateApiKey>) -> ApiResult<Json<ApiKey>> {
    Ok(Json(call.hub.update_api_key(call.actor(), &id, patch).await?))
}

pub async fn delete(call: Call, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    call.hub.delete_api_key(call.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate(call: Call, ApiId(id): ApiId, body: axum::body::Bytes) -> ApiResult<Json<IssuedKey>> {
    let r: RotateApiKey = optional_json(&body)?;
    Ok(Json(call.hub.rotate_api_key(call.actor(), &id, r).await?))
}

pub async fn revoke(call: Call, ApiId(id): ApiId) -> ApiResult<Json<ApiKey>> {
    Ok(Json(call.hub.revoke_api_key(call.actor(), &id).await?))
}

/// `GET /keys/{id}/usage?window=7d|30d|90d`: requests per day and the refusals among them.
pub async fn usage(call: Call, ApiId(id): ApiId, ApiQuery(q): ApiQuery<UsageQuery>) -> ApiResult<Json<KeyUsage>> {
    Ok(Json(call.hub.key_usage(call.actor(), &id, q.window).await?))
}
