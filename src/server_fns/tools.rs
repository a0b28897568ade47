//! Helpers that hold no tenant data: the signature playground, the template preview and the event-type admin.

use crate::model::{AppError, EventType, SignatureCheck, SignatureVerdict};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use super::ctx::as_user;

/// Verifies a pasted request; signed-in users only, nothing is stored or logged.
#[server(endpoint = "check_signature", input = Json)]
pub async fn check_signature(check: SignatureCheck) -> Result<SignatureVerdict, AppError> {
    as_user(async |_, _| Ok(crate::server::delivery::playground::diagnose(&check, chrono::Utc::now().timestamp())))
        .await
}

/// Renders a body template with an event type's example, as the sender would.
#[server(endpoint = "render_template_preview", input = Json)]
pub async fn render_template_preview(event_type: String, template: String) -> Result<String, AppError> {
    use crate::server::service::webhooks::{render_template, sample_envelope};
    as_user(async |hub, _| {
        let types = hub.list_event_types().await?;
        let example = types.into_iter().find(|t| t.name == event_type).map(|t| t.example);
        let example = example.ok_or_else(|| AppError::field("type", format!("unknown event type {event_type:?}")))?;
        render_template(&template, &sample_envelope(&event_type, example)).map_err(|e| AppError::field("template", e))
    })
    .await
}

/// Adds or edits (or archives, with `archived: true`) a catalog entry; admins only.
#[server(endpoint = "save_event_type", input = Json)]
pub async fn save_event_type(event_type: EventType) -> Result<EventType, AppError> {
    use crate::server::service::Actor;
    as_user(async |hub, user| hub.save_event_type(Actor::User(&user), event_type).await).await
}
