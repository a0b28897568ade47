//! Messages for chat and email destinations: an endpoint's [`MessageTemplate`] (or the default for the event's
//! category, [`defaults`]) rendered against the event into a [`RenderedMessage`], which each platform's format
//! ([`super::chat`], [`super::email`]) is built from. Rendering uses the same bounded renderer as body
//! templates, with missing fields empty instead of an error.

pub mod defaults;

use super::template::render_message_part;
use crate::model::webhook::limits::MAX_TEMPLATE_LEN;
use crate::model::{MessageTemplate, RenderedMessage, Tone};
use serde_json::{Map, Value};

/// Fields a message may show (Slack shows at most 10 in a section; Discord 25; all show the first ones).
pub const MAX_FIELDS: usize = 10;

/// What templates see: the event's `data` fields at the top level (`{{ ticket.subject }}`), and `data`, `type`,
/// `event_id` and `timestamp` (these four win over data fields of the same name). JSON nulls are left out, so
/// `{{ ticket.assignee.name }}` of an unassigned ticket is empty rather than an error.
pub fn context(envelope: &Value) -> Value {
    let data = strip_nulls(envelope.get("data").cloned().unwrap_or(Value::Null));
    let mut ctx = match &data {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    ctx.insert("data".into(), data);
    for (name, from) in [("type", "type"), ("event_id", "id"), ("timestamp", "timestamp")] {
        if let Some(v) = envelope.get(from) {
            ctx.insert(name.into(), v.clone());
        }
    }
    Value::Object(ctx)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Renders the message for one event: the endpoint's template where it has one, else the category default.
/// A part of the endpoint's own template that fails to render fails the attempt (recorded like a body
/// template's error); a default part that fails is left empty.
pub fn render(template: Option<&MessageTemplate>, envelope: &Value) -> Result<RenderedMessage, String> {
    let event_type = envelope.get("type").and_then(Value::as_str).unwrap_or_default();
    let default = defaults::default_template(event_type);
    let ctx = context(envelope);
    let own = |part: &str| Some(part.to_string()).filter(|p| !p.trim().is_empty());
    let part = |mine: Option<String>, fallback: &str| -> Result<String, String> {
        match mine {
            Some(t) => render_message_part(&t, &ctx).map(|s| s.trim().to_string()),
            None => Ok(render_message_part(fallback, &ctx).map(|s| s.trim().to_string()).unwrap_or_default()),
        }
    };
    let title = part(own(template.map_or("", |t| t.title.as_str())), &default.title)?;
    let text = part(own(template.map_or("", |t| t.text.as_str())), &default.text)?;
    let link = part(own(template.map_or("", |t| t.link.as_str())), &default.link)?;
    let field_templates = match template.filter(|t| !t.fields.is_empty()) {
        Some(t) => t.fields.iter().map(|f| (f.name.clone(), Some(f.value.clone()))).collect::<Vec<_>>(),
        None => default.fields.iter().map(|f| (f.name.clone(), None::<String>)).collect(),
    };
    let mut fields = Vec::new();
    for (i, (name, mine)) in field_templates.into_iter().enumerate().take(MAX_FIELDS) {
        let fallback = default.fields.get(i).map(|f| f.value.as_str()).unwrap_or_default();
        let value = part(mine, fallback)?;
        if !value.is_empty() && !name.trim().is_empty() {
            fields.push((name.trim().to_string(), value));
        }
    }
    let event_id = envelope.get("id").and_then(Value::as_str).unwrap_or_default();
    Ok(RenderedMessage {
        title: if title.is_empty() { event_type.to_string() } else { title },
        text,
        fields,
        link: Some(link).filter(|l| l.starts_with("https://") || l.starts_with("http://")),
        tone: Tone::of_event_type(event_type),
        footer: format!("{event_type} · {event_id}"),
        timestamp: envelope.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_string(),
    })
}

/// [`render`] for an envelope as stored (JSON text), as the senders have it.
pub fn render_stored(template: Option<&MessageTemplate>, envelope_json: &str) -> Result<RenderedMessage, String> {
    render(template, &serde_json::from_str(envelope_json).unwrap_or_default())
}

/// Save-time checks of a message template: sizes, and that each part compiles and renders against a sample
/// (missing fields are fine: they render empty, and what fails only for want of them is left to real events). Answers (field, message) pairs for the form.
pub fn check_template(t: &MessageTemplate) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let ctx = context(&serde_json::json!({"id": "evt_sample", "type": "sample.event", "data": {}}));
    let mut check = |field: String, part: &str| {
        if part.len() > MAX_TEMPLATE_LEN {
            errors.push((field, format!("must be at most {MAX_TEMPLATE_LEN} bytes")));
        } else if let Err(e) = render_message_part(part, &ctx) {
            // The sample has no fields: arithmetic or a filter on one of them fails here and not on a real
            // event, so only errors that are not about missing values count (as for body templates).
            if !e.contains("undefined") {
                errors.push((field, e));
            }
        }
    };
    check("message.title".into(), &t.title);
    check("message.text".into(), &t.text);
    check("message.link".into(), &t.link);
    for (i, f) in t.fields.iter().enumerate() {
        check(format!("message.fields.{i}.value"), &f.value);
    }
    if t.fields.len() > MAX_FIELDS {
        errors.push(("message.fields".into(), format!("at most {MAX_FIELDS} fields")));
    }
    for (i, _) in t.fields.iter().enumerate().filter(|(_, f)| f.name.trim().is_empty() || f.name.chars().count() > 100)
    {
        errors.push((format!("message.fields.{i}.name"), "a field needs a name of at most 100 characters".into()));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageField;

    fn envelope(event_type: &str, data: Value) -> Value {
        serde_json::json!({"id": "evt_1", "type": event_type, "timestamp": "2026-03-14T09:12:44Z", "data": data})
    }

    #[test]
    fn defaults_read_well_for_each_category() {
        let ticket = serde_json::json!({"ticket": {"number": 48213, "subject": "Unable to export", "status": "new",
            "priority": "high", "requester": {"name": "Hannah"}, "assignee": null}});
        let m = render(None, &envelope("ticket.created", ticket)).unwrap();
        assert_eq!(m.title, "Ticket created: #48213 Unable to export");
        assert_eq!(m.tone, Tone::Good);
        assert!(m.fields.contains(&("Priority".into(), "high".into())));
        assert!(!m.fields.iter().any(|(n, _)| n == "Assignee"), "an unassigned ticket shows no assignee");
        let unnumbered = serde_json::json!({"ticket": {"subject": "Printer on fire"}});
        let m = render(None, &envelope("ticket.created", unnumbered)).unwrap();
        assert_eq!(m.title, "Ticket created: Printer on fire", "no number, no stray #");
        let reg = serde_json::json!({"registration": {"attendee": {"name": "Julien"}, "ticket_type": "early_bird",
            "status": "confirmed"}, "event": {"title": "DevOps Days"}, "confirmation_code": "DDL26"});
        let m = render(None, &envelope("registration.confirmed", reg)).unwrap();
        assert_eq!(m.title, "Registration confirmed: DevOps Days");
        assert_eq!(m.text, "Julien · early_bird");
        let odd = render(
            None,
            &envelope("widget.spun", serde_json::json!({"name": "Spinner", "url": "https://x.example/1"})),
        )
        .unwrap();
        assert_eq!((odd.title.as_str(), odd.text.as_str()), ("Widget spun", "Spinner"));
        assert_eq!(odd.link.as_deref(), Some("https://x.example/1"));
    }

    #[test]
    fn an_own_template_wins_and_its_errors_fail_the_render() {
        let data = serde_json::json!({"event": {"title": "Meetup"}, "registration_count": 41, "max_attendees": 50});
        let t = MessageTemplate {
            title: "🎉 New registration for {{event.title}}! {{registration_count}}/{{max_attendees}} spots filled."
                .into(),
            fields: vec![MessageField {
                name: "Left".into(),
                value: "{{ max_attendees - registration_count }}".into(),
            }],
            link: "javascript:alert(1)".into(),
            ..Default::default()
        };
        let m = render(Some(&t), &envelope("registration.created", data.clone())).unwrap();
        assert_eq!(m.title, "🎉 New registration for Meetup! 41/50 spots filled.");
        assert_eq!(m.fields, vec![("Left".to_string(), "9".to_string())]);
        assert_eq!(m.link, None, "only http(s) links become buttons");
        let broken = MessageTemplate { text: "{{ event.title | nosuchfilter }}".into(), ..Default::default() };
        assert!(render(Some(&broken), &envelope("registration.created", data)).is_err());
        assert_eq!(check_template(&broken)[0].0, "message.text");
        assert!(check_template(&t).is_empty(), "{:?}", check_template(&t));
    }
}
