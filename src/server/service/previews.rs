//! The endpoint form's live preview: an event type's catalog example rendered into a destination's message, and
//! exactly what the hub would send for it (the platform's JSON, the email's text part, or the envelope). Reads
//! nothing of any tenant: only the catalog.

use super::webhooks::sample_envelope;
use super::{Actor, Hub};
use crate::model::{AppError, AppResult, DestinationKind, DestinationPreview, MessageTemplate, RenderedMessage};
use crate::server::delivery::{chat, email, message};

/// The id the preview's example event carries (its footer shows it).
pub const PREVIEW_EVENT_ID: &str = "evt_preview";

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

impl Hub {
    /// What an endpoint of `kind` with `message` would send for the catalog example of `event_type`. A template
    /// that does not render is answered in [`DestinationPreview::error`], as the sender would record it; an
    /// event type not in the catalog is a field error on `event_type`. Any signed-in user may ask.
    pub async fn preview_destination(
        &self,
        actor: Actor<'_>,
        kind: DestinationKind,
        message: Option<MessageTemplate>,
        event_type: String,
    ) -> AppResult<DestinationPreview> {
        let _ = actor;
        let event_type = event_type.trim().to_string();
        let example = match self.store.get_event_type(&event_type).await? {
            Some(t) if !event_type.is_empty() => t.example,
            _ => return Err(AppError::field("event_type", format!("unknown event type {event_type:?}"))),
        };
        let mut envelope = sample_envelope(&event_type, example);
        envelope["id"] = PREVIEW_EVENT_ID.into();
        envelope["timestamp"] = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
        let mut preview = DestinationPreview {
            kind,
            event_type: event_type.clone(),
            message: RenderedMessage::default(),
            ..Default::default()
        };
        if !kind.is_message() {
            preview.payload = serde_json::to_string_pretty(&envelope).unwrap_or_default();
            return Ok(preview);
        }
        if let Some(e) = message.as_ref().and_then(too_long) {
            preview.error = Some(e);
            return Ok(preview);
        }
        match message::render(message.as_ref(), &envelope) {
            Ok(m) => {
                preview.payload = match kind {
                    DestinationKind::Email => {
                        let parts = email::parts(&m, &self.unsubscribe_example());
                        format!("Subject: {}\n\n{}", parts.subject, parts.text)
                    }
                    _ => pretty(&chat::payload(kind, &m)),
                };
                preview.message = m;
            }
            Err(e) => preview.error = Some(e),
        }
        Ok(preview)
    }

    /// Who email destinations' messages come from (`HUB_SMTP_FROM`), or None when this hub has no SMTP server.
    pub fn email_sender(&self) -> Option<String> {
        self.mailer.as_ref().map(|_| self.config.serve.smtp_from.clone().unwrap_or_default())
    }

    /// The unsubscribe link the preview shows (each real message carries one of its recipient's own).
    fn unsubscribe_example(&self) -> String {
        format!("{}/unsubscribe/preview", self.config.base_url.as_str().trim_end_matches('/'))
    }
}

/// A part longer than a saved template may be, said as the save would say it.
fn too_long(t: &MessageTemplate) -> Option<String> {
    use crate::model::webhook::limits::MAX_TEMPLATE_LEN;
    let parts = [("Title", &t.title), ("Text", &t.text), ("Link", &t.link)];
    let long = parts.into_iter().find(|(_, p)| p.len() > MAX_TEMPLATE_LEN).map(|(n, _)| n.to_string());
    let long = long.or_else(|| t.fields.iter().find(|f| f.value.len() > MAX_TEMPLATE_LEN).map(|f| f.name.clone()));
    long.map(|n| format!("{n}: a template must be at most {MAX_TEMPLATE_LEN} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageField;

    #[test]
    fn long_parts_are_named() {
        let ok = MessageTemplate { title: "{{ ticket.subject }}".into(), ..Default::default() };
        assert_eq!(too_long(&ok), None);
        let long = "x".repeat(crate::model::webhook::limits::MAX_TEMPLATE_LEN + 1);
        let t = MessageTemplate { fields: vec![MessageField { name: "Big".into(), value: long }], ..ok };
        assert!(too_long(&t).unwrap().starts_with("Big: "));
    }

    #[test]
    fn payloads_are_pretty_when_json() {
        assert_eq!(pretty(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty("not json"), "not json");
    }
}
