//! `/api/v1/deliveries` and endpoint recovery.

use super::error::{optional_json, page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Caller;
use crate::model::Paged;
use crate::model::{
    Delivery, DeliveryDetail, DeliveryListQuery, DeliveryStats, RecoverRequest, StatsQuery, TestFire, TestFireResult,
};
use crate::server::service::{Actor, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

pub async fn list(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiQuery(q): ApiQuery<DeliveryListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.page_limit() as usize;
    let list = hub.list_deliveries(Actor::Key(&key), q).await?;
    Ok(page(list, limit, |d| &d.id))
}

pub async fn get_one(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
) -> ApiResult<Json<DeliveryDetail>> {
    Ok(Json(hub.get_delivery(&Actor::Key(&key), &id).await?))
}

pub async fn replay(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
) -> ApiResult<(StatusCode, Json<Delivery>)> {
    Ok((StatusCode::ACCEPTED, Json(hub.replay_delivery(Actor::Key(&key), &id).await?)))
}

pub async fn recover(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
    ApiJson(r): ApiJson<RecoverRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let n = hub.recover_webhook(Actor::Key(&key), &id, r.since).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "replayed": n }))))
}

pub async fn stats(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<DeliveryStats>> {
    Ok(Json(hub.delivery_stats(Actor::Key(&key), q).await?))
}

/// Synchronous: answers with what the endpoint answered (an empty body sends the type's example).
pub async fn test_fire(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
    body: axum::body::Bytes,
) -> ApiResult<Json<TestFireResult>> {
    let t: TestFire = optional_json(&body)?;
    Ok(Json(hub.test_fire(Actor::Key(&key), &id, t).await?))
}
