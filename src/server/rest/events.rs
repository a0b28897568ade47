//! `/api/v1/events` and `/api/v1/event-types`.

use super::error::{page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Caller;
use crate::model::Paged;
use crate::model::{AppError, EventListQuery, EventWithDeliveries, PublishEvent, Published};
use crate::server::service::{Actor, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

pub async fn publish(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiJson(input): ApiJson<PublishEvent>,
) -> ApiResult<(StatusCode, Json<Published>)> {
    Ok((StatusCode::ACCEPTED, Json(hub.publish(Actor::Key(&key), input).await?)))
}

pub async fn publish_batch(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let items = match body.get("events").cloned().unwrap_or(body) {
        Value::Array(items) => items,
        _ => return Err(AppError::field("events", "send {\"events\": [ … ]}")),
    };
    let results = hub.publish_batch(Actor::Key(&key), items).await?;
    let accepted = results.iter().filter(|r| r.event.is_some()).count();
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "accepted": accepted, "results": results }))))
}

pub async fn list(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiQuery(q): ApiQuery<EventListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.page_limit() as usize;
    let list = hub.list_events(Actor::Key(&key), q).await?;
    Ok(page(list, limit, |e| &e.id))
}

pub async fn get_one(
    State(hub): State<AppState>,
    Caller(key): Caller,
    ApiId(id): ApiId,
) -> ApiResult<Json<EventWithDeliveries>> {
    Ok(Json(hub.get_event(Actor::Key(&key), &id).await?))
}

pub async fn event_types(State(hub): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(serde_json::json!({ "data": hub.list_event_types().await? })))
}
