//! `/api/v1/events` and `/api/v1/event-types`.

use super::error::{page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Call;
use crate::model::Paged;
use crate::model::{AppError, EventListQuery, EventWithDeliveries, PublishEvent, Published};
use crate::server::service::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

pub async fn publish(call: Call, ApiJson(input): ApiJson<PublishEvent>) -> ApiResult<(StatusCode, Json<Published>)> {
    Ok((StatusCode::ACCEPTED, Json(call.hub.publish(call.actor(), input).await?)))
}

pub async fn publish_batch(call: Call, ApiJson(body): ApiJson<Value>) -> ApiResult<(StatusCode, Json<Value>)> {
    let items = match body.get("events").cloned().unwrap_or(body) {
        Value::Array(items) => items,
        _ => return Err(AppError::field("events", "send {\"events\": [ … ]}")),
    };
    let results = call.hub.publish_batch(call.actor(), items).await?;
    let accepted = results.iter().filter(|r| r.event.is_some()).count();
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "accepted": accepted, "results": results }))))
}

pub async fn list(call: Call, ApiQuery(q): ApiQuery<EventListQuery>) -> ApiResult<Json<Value>> {
    let limit = q.page_limit() as usize;
    let list = call.hub.list_events(call.actor(), q).await?;
    Ok(page(list, limit, |e| &e.id))
}

pub async fn get_one(call: Call, ApiId(id): ApiId) -> ApiResult<Json<EventWithDeliveries>> {
    Ok(Json(call.hub.get_event(call.actor(), &id).await?))
}

pub async fn event_types(State(hub): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(serde_json::json!({ "data": hub.list_event_types().await? })))
}
