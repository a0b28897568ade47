//! Live previews, from an event type's catalog example: what an endpoint form's destination would send (the
//! platform's JSON, the email's text part, or the envelope), and what a connected app's settings and request
//! templates would send to its provider. Read nothing of any tenant: only the catalog.

use super::webhooks::sample_envelope;
use super::{Actor, Hub};
use crate::model::{AppError, AppPreview, AppResult, DestinationKind, DestinationPreview, FieldError, MessageTemplate};
use crate::model::{PreviewCall, ProviderId, RenderedMessage};
use crate::server::apps::{actions, providers};
use crate::server::delivery::{chat, email, message};
use serde_json::Value;
use std::collections::HashMap;

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
        let envelope = self.example_envelope(&event_type).await?;
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

    /// What a connection of `provider` with `settings` would send for the catalog example of `event_type` (one
    /// of the provider's triggers), as for an event new to it. Settings the schema refuses, or a template that
    /// does not render, are answered in [`AppPreview::error`] as the form or the sync log would say them; a type
    /// not in the catalog is a field error on `event_type`. Any signed-in user may ask.
    pub async fn preview_app_action(
        &self,
        actor: Actor<'_>,
        provider: &str,
        settings: &Value,
        event_type: &str,
    ) -> AppResult<AppPreview> {
        let _ = actor;
        let id = ProviderId::parse(provider).ok_or_else(|| AppError::not_found("provider"))?;
        if !actions::triggers(id.as_str()).contains(&event_type) {
            let message = format!("{} takes no action on {event_type:?}", id.label());
            return Err(AppError::field("event_type", message));
        }
        let mut preview = AppPreview { event_type: event_type.to_string(), ..Default::default() };
        if let Err(e) = providers::validate_settings(id, settings) {
            let said: Vec<String> = e.fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect();
            preview.error = Some(if said.is_empty() { e.message } else { said.join("; ") });
            return Ok(preview);
        }
        match actions::plan(
            id.as_str(),
            event_type,
            &self.example_envelope(event_type).await?,
            settings,
            &HashMap::new(),
        ) {
            Ok(plan) => {
                preview.skipped = plan.skipped;
                preview.calls = plan
                    .calls
                    .into_iter()
                    .map(|c| PreviewCall {
                        action: c.action.to_string(),
                        method: c.method.as_str().to_string(),
                        path: c.path,
                        body: c.body.map(|b| serde_json::to_string_pretty(&b).unwrap_or_default()),
                    })
                    .collect();
            }
            Err(e) => preview.error = Some(e),
        }
        Ok(preview)
    }

    /// Settings' own request templates, tried on each trigger's catalog example (as a new record and as one
    /// already linked, so update and cancel templates run too): a template that does not render is a 422 on
    /// `settings.templates.<action>`, before anything is saved. (Catalog rows are archived, never deleted, so
    /// every trigger has its example.)
    pub async fn check_app_templates(&self, id: ProviderId, settings: &Value) -> AppResult<()> {
        let Some(own) = settings.get("templates").and_then(Value::as_object).filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let mut fields: Vec<FieldError> = vec![];
        for trigger in actions::triggers(id.as_str()) {
            let envelope = self.example_envelope(trigger).await?;
            let data = envelope.get("data").cloned().unwrap_or(Value::Null);
            let linked: HashMap<String, actions::Link> = actions::link_keys(id.as_str(), trigger, &data)
                .into_iter()
                .map(|k| (k, actions::Link { remote_id: "preview".into(), remote_url: None }))
                .collect();
            for links in [HashMap::new(), linked] {
                let Err(e) = actions::plan(id.as_str(), trigger, &envelope, settings, &links) else { continue };
                for action in own.keys() {
                    let field = format!("settings.templates.{action}");
                    let said = actions::template_error_prefix(action);
                    if let Some(why) = e.strip_prefix(&said).filter(|_| !fields.iter().any(|f| f.field == field)) {
                        fields.push(FieldError { field, message: format!("{why} (for the {trigger} example)") });
                    }
                }
            }
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(fields))
        }
    }

    /// The catalog example of `event_type` as the envelope a preview renders (the preview's id, the time now);
    /// a type not in the catalog is a field error on `event_type`.
    async fn example_envelope(&self, event_type: &str) -> AppResult<Value> {
        let example = match self.store.get_event_type(event_type).await? {
            Some(t) if !event_type.is_empty() => t.example,
            _ => return Err(AppError::field("event_type", format!("unknown event type {event_type:?}"))),
        };
        let mut envelope = sample_envelope(event_type, example);
        envelope["id"] = PREVIEW_EVENT_ID.into();
        envelope["timestamp"] = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
        Ok(envelope)
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
