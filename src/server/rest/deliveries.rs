//! `/api/v1/deliveries` and endpoint recovery.

use super::error::{optional_json, page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Call;
use crate::model::Paged;
use crate::model::{
    Delivery, DeliveryDetail, DeliveryListQuery, DeliveryStats, RecoverRequest, StatsQuery, TestFire, TestFireResult,
};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

pub async fn list(call: Call, ApiQuery(q): ApiQuery<DeliveryListQuery>) -> ApiResult<Json<Value>> {
    let limit = q.page_limit() as usize;
    let list = call.hub.list_deliveries(call.actor(), q).await?;
    Ok(page(list, limit, |d| &d.id))
}

pub async fn get_one(call: Call, ApiId(id): ApiId) -> ApiResult<Json<DeliveryDetail>> {
    Ok(Json(call.hub.get_delivery(&call.actor(), &id).await?))
}

pub async fn replay(call: Call, ApiId(id): ApiId) -> ApiResult<(StatusCode, Json<Delivery>)> {
    Ok((StatusCode::ACCEPTED, Json(call.hub.replay_delivery(call.actor(), &id).await?)))
}

pub async fn recover(
    call: Call,
    ApiId(id): ApiId,
    ApiJson(r): ApiJson<RecoverRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let n = call.hub.recover_webhook(call.actor(), &id, r.since).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "replayed": n }))))
}

pub async fn stats(call: Call, ApiQuery(q): ApiQuery<StatsQuery>) -> ApiResult<Json<DeliveryStats>> {
    Ok(Json(call.hub.delivery_stats(call.actor(), q).await?))
}

/// Synchronous: answers with what the endpoint answered (an empty body sends the type's example).
pub async fn test_fire(call: Call, ApiId(id): ApiId, body: axum::body::Bytes) -> ApiResult<Json<TestFireResult>> {
    let t: TestFire = optional_json(&body)?;
    Ok(Json(call.hub.test_fire(call.actor(), &id, t).await?))
}
