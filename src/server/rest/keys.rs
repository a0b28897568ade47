//! `/api/v1/keys` and `/api/v1/me`.

use super::error::{optional_json, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Caller;
use crate::model::{ApiKey, CreateApiKey, IssuedKey, KeyListQuery, RotateApiKey, UpdateApiKey, WhoAmI};
use crate::server::service::{Actor, AppState};
use crate::server::store::now_ms;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

pub async fn me(Caller(key): Caller) -> Json<WhoAmI> {
    let status = key.status_at(now_ms());
    Json(WhoAmI { admin_wide: key.tenant_id.is_none(), status, key })
}

pub async fn list(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiQuery(q): ApiQuery<KeyListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let keys = hub.list_api_keys(Actor::Key(&key), q).await?;
    Ok(Json(serde_json::json!({ "data": keys })))
}

pub async fn create(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiJson(input): ApiJson<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<IssuedKey>)> {
    Ok((StatusCode::CREATED, Json(hub.create_api_key(Actor::Key(&key), input).await?)))
}

pub async fn get_one(State(hub): State<AppState>, Caller(key): Caller, ApiId(id): ApiId) -> ApiResult<Json<ApiKey>> {
    Ok(Json(hub.get_api_key(&Actor::Key(&key), &id).await?))
}

pub async fn update(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
    ApiJson(patch): ApiJson<UpdateApiKey>,
) -> ApiResult<Json<ApiKey>> {
    Ok(Json(hub.update_api_key(Actor::Key(&key), &id, patch).await?))
}

pub async fn delete(State(hub): State<AppState>, Caller(key): Caller, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    hub.delete_api_key(Actor::Key(&key), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
    body: axum::body::Bytes,
) -> ApiResult<Json<IssuedKey>> {
    let r: RotateApiKey = optional_json(&body)?;
    Ok(Json(hub.rotate_api_key(Actor::Key(&key), &id, r).await?))
}

pub async fn revoke(State(hub): State<AppState>, Caller(key): Caller, ApiId(id): ApiId) -> ApiResult<Json<ApiKey>> {
    Ok(Json(hub.revoke_api_key(Actor::Key(&key), &id).await?))
}
