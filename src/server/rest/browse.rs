//! `POST /api/v1/events/{id}/resend`: an event queued again, to every endpoint subscribed now or to the one
//! named. It needs `deliveries:write`, the scope of replaying and recovering: it creates deliveries of an event
//! that exists, it publishes nothing new.

use super::error::{optional_json, ApiId, ApiResult};
use super::Call;
use crate::model::{ResendRequest, Resent};
use axum::http::StatusCode;
use axum::Json;

pub async fn resend(call: Call, ApiId(id): ApiId, body: axum::body::Bytes) -> ApiResult<(StatusCode, Json<Resent>)> {
    let r: ResendRequest = optional_json(&body)?;
    let resent = call.hub.resend_event(call.actor(), &id, r.endpoint_id.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, Json(resent)))
}
