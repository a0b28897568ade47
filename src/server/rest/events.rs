//! `/api/v1/events` and `/api/v1/event-types`.

use super::error::{page, ApiId, ApiJson, ApiQuery, ApiResult};
use super::Call;
use crate::model::Paged;
use crate::model::{
    AppError, CreateEventType, ErrorCode, EventListQuery, EventType, EventWithDeliveries, PublishEvent, Published,
    UpdateEventType,
};
use crate::server::service::events::require_catalog_writer;
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

/// The catalog, with the calling tenant's unregistered types (an admin-wide key: every tenant's).
pub async fn event_types(call: Call) -> ApiResult<Json<Value>> {
    Ok(Json(serde_json::json!({ "data": call.hub.event_catalog(call.actor()).await? })))
}

/// The catalog writes read their body's fields only after the key is known to be allowed, so a tenant key is told
/// that it may not change the shared catalog (403) rather than what is wrong with its fields.
fn catalog_write<T: serde::de::DeserializeOwned>(call: &Call, body: Value) -> ApiResult<T> {
    require_catalog_writer(&call.actor())?;
    serde_json::from_value(body)
        .map_err(|e| AppError::new(ErrorCode::ValidationFailed, format!("invalid request body: {e}")))
}

pub async fn create_event_type(call: Call, ApiJson(body): ApiJson<Value>) -> ApiResult<(StatusCode, Json<EventType>)> {
    let input: CreateEventType = catalog_write(&call, body)?;
    Ok((StatusCode::CREATED, Json(call.hub.create_event_type(call.actor(), input).await?)))
}

pub async fn update_event_type(
    call: Call,
    ApiId(name): ApiId,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<EventType>> {
    let patch: UpdateEventType = catalog_write(&call, body)?;
    Ok(Json(call.hub.update_event_type(call.actor(), &name, patch).await?))
}

pub async fn archive_event_type(call: Call, ApiId(name): ApiId) -> ApiResult<Json<EventType>> {
    Ok(Json(call.hub.set_event_type_archived(call.actor(), &name, true).await?))
}

pub async fn unarchive_event_type(call: Call, ApiId(name): ApiId) -> ApiResult<Json<EventType>> {
    Ok(Json(call.hub.set_event_type_archived(call.actor(), &name, false).await?))
}
