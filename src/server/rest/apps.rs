//! `/api/v1/integrations`: a tenant's connected apps (`integrations:read`) and their changes
//! (`integrations:write`): start an authorisation (the answer is the URL to open in a browser signed in to the
//! hub; the callback finishes it there), settings, "Sync now", disconnect, and the sync logs. Tokens never
//! appear in any answer.

use super::error::{optional_json, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Call;
use crate::model::{
    AuthorizeRequest, AuthorizeUrl, Connection, ConnectionSettingsUpdate, IntegrationsQuery, Page, SyncLog,
    SyncLogQuery, SyncRequest,
};
use axum::http::StatusCode;
use axum::Json;

pub async fn list(call: Call, ApiQuery(q): ApiQuery<IntegrationsQuery>) -> ApiResult<Json<serde_json::Value>> {
    let overview = call.hub.apps_overview(call.actor(), q.tenant_id.as_deref()).await?;
    Ok(Json(serde_json::json!({ "data": overview.connections, "providers": overview.providers })))
}

/// `POST /integrations/{provider}/authorize`: the provider's authorize URL for the tenant.
pub async fn authorize(call: Call, ApiId(provider): ApiId, body: axum::body::Bytes) -> ApiResult<Json<AuthorizeUrl>> {
    let r: AuthorizeRequest = optional_json(&body)?;
    Ok(Json(call.hub.begin_app_authorize(call.actor(), r.tenant_id.as_deref(), &provider, None).await?))
}

pub async fn get_one(call: Call, ApiId(id): ApiId) -> ApiResult<Json<Connection>> {
    Ok(Json(call.hub.get_app_connection(call.actor(), &id).await?))
}

pub async fn update(
    call: Call,
    ApiId(id): ApiId,
    ApiJson(u): ApiJson<ConnectionSettingsUpdate>,
) -> ApiResult<Json<Connection>> {
    Ok(Json(call.hub.update_app_connection(call.actor(), &id, u).await?))
}

pub async fn delete(call: Call, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    call.hub.disconnect_app(call.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /integrations/{id}/sync`: starts "Sync now"; 202 with the run's sync-log row.
pub async fn sync(call: Call, ApiId(id): ApiId, body: axum::body::Bytes) -> ApiResult<(StatusCode, Json<SyncLog>)> {
    let r: SyncRequest = optional_json(&body)?;
    let hub = call.hub.clone();
    Ok((StatusCode::ACCEPTED, Json(hub.request_app_sync(call.actor(), &id, r).await?)))
}

pub async fn sync_logs(
    call: Call,
    ApiId(id): ApiId,
    ApiQuery(q): ApiQuery<SyncLogQuery>,
) -> ApiResult<Json<Page<SyncLog>>> {
    Ok(Json(call.hub.app_sync_logs(call.actor(), &id, &q).await?))
}
