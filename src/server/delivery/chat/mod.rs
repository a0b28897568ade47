//! Chat destinations: Slack incoming webhooks, Discord channel webhooks and Microsoft Teams Workflows webhooks.
//! The endpoint's message ([`super::message`]) is built into the platform's own payload within its documented
//! limits, POSTed through the guarded client like any webhook, and the platform's answer is read by its rules
//! ([`classify`]): which errors are permanent, which mean the destination is gone, how long to wait when it
//! says slow down. Each platform's format and rules live in its own module, written from its documentation.

mod discord;
mod slack;
mod teams;

use super::message;
use super::sender::{failed, new_attempt, post, Message, Outbound, Rule, Sent, USER_AGENT};
use crate::model::destination::truncate_chars;
use crate::model::{DeliveryAttempt, DestinationKind, ErrorKind, RenderedMessage, Webhook};
use std::time::{Duration, Instant};

/// Renders the endpoint's message for this event and sends it in the platform's format.
pub async fn send(out: Outbound<'_>, hook: &Webhook, msg: &Message<'_>, attempt_no: u32) -> Sent {
    let started = Instant::now();
    let attempt = new_attempt(attempt_no);
    let rendered = match message::render_stored(hook.message.as_ref(), msg.envelope_json) {
        Ok(m) => m,
        Err(e) => return failed(attempt, started, ErrorKind::Template, e),
    };
    let body = payload(hook.kind, &rendered);
    let headers =
        vec![("content-type".to_string(), "application/json".to_string()), ("user-agent".into(), USER_AGENT.into())];
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

/// The platform's request body for a rendered message, within the platform's documented limits (parts too long
/// are cut, the cut marked with an ellipsis). Webhook and email endpoints never come here (the sender signs
/// a webhook's envelope and mails email); for them this answers a plain `{"text": …}` (Slack's simplest
/// message), so a caller that asks anyway gets something readable rather than a panic.
pub fn payload(kind: DestinationKind, m: &RenderedMessage) -> String {
    match kind {
        DestinationKind::Slack => slack::payload(m),
        DestinationKind::Discord => discord::payload(m),
        DestinationKind::Teams => teams::payload(m),
        DestinationKind::Webhook | DestinationKind::Email | DestinationKind::App => {
            serde_json::json!({ "text": plain_summary(m) }).to_string()
        }
    }
}

/// What a platform's answer means beyond its status code.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub rule: Option<Rule>,
    /// Seconds to wait, when the platform says so in its own way (overrides `Retry-After`).
    pub retry_after: Option<String>,
}

impl Answer {
    fn rule(rule: Rule) -> Answer {
        Answer { rule: Some(rule), retry_after: None }
    }
}

/// Reads a platform's answer (status, headers, body as recorded) by that platform's documented rules. An
/// attempt that got no answer (a timeout, a refused connection) means nothing beyond what the policy makes of
/// it, nor does any answer to a webhook or email endpoint.
pub fn classify(kind: DestinationKind, attempt: &DeliveryAttempt) -> Answer {
    let Some(status) = attempt.response_status else {
        return Answer::default();
    };
    let reply =
        Reply { status, headers: &attempt.response_headers, body: attempt.response_body.as_deref().unwrap_or("") };
    match kind {
        DestinationKind::Slack => slack::classify(&reply),
        DestinationKind::Discord => discord::classify(&reply),
        DestinationKind::Teams => teams::classify(&reply),
        DestinationKind::Webhook | DestinationKind::Email | DestinationKind::App => Answer::default(),
    }
}

/// A platform's answer as the attempt recorded it.
struct Reply<'a> {
    status: u16,
    headers: &'a [(String, String)],
    body: &'a str,
}

impl Reply<'_> {
    /// A header's value (names are recorded lowercase; compared without case anyway).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
    }

    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.body).ok()
    }

    fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The most of a platform's own words a reason quotes: enough for "Invalid Form Body (embeds.0.title: …)",
/// short enough for a delivery log line.
const QUOTE_CHARS: usize = 200;

/// Platform text quoted in a reason: one line, control characters out, cut to [`QUOTE_CHARS`].
fn quoted(s: &str) -> String {
    let line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    truncate_chars(line.split_whitespace().collect::<Vec<_>>().join(" ").as_str(), QUOTE_CHARS)
}

/// A wait a platform asked for, in seconds: finite, positive, and no longer than the policy honours a
/// `Retry-After` (a platform's typo must not silence an endpoint for days).
fn wait_secs(secs: f64) -> Option<Duration> {
    let max = super::policy::MAX_RETRY_AFTER_SECS as f64;
    Some(secs).filter(|s| s.is_finite() && *s > 0.0).map(|s| Duration::from_secs_f64(s.min(max)))
}

/// Title and text, for notifications and fallbacks.
fn plain_summary(m: &RenderedMessage) -> String {
    format!("{}\n{}", m.title, m.text).trim().to_string()
}

/// One line: line breaks and other control characters become spaces (headers and titles are one line).
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// The message's link as a well-formed URL no longer than `max` characters, or none: platforms refuse the
/// whole message for a button or embed URL they cannot parse.
fn link(m: &RenderedMessage, max: usize) -> Option<String> {
    let parsed = url::Url::parse(m.link.as_deref()?).ok()?;
    Some(parsed.to_string()).filter(|u| matches!(parsed.scheme(), "http" | "https") && u.chars().count() <= max)
}

/// The message's timestamp in the one RFC 3339 form every platform reads (`2026-03-14T09:12:44Z`), if it is one.
fn timestamp(m: &RenderedMessage) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(m.timestamp.trim()).ok().map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tone;

    pub(super) fn message(text: &str) -> RenderedMessage {
        RenderedMessage {
            title: "Ticket created: #48213 Unable to export".into(),
            text: text.into(),
            fields: vec![("Status".into(), "new".into()), ("Priority".into(), "high".into())],
            link: Some("https://support.example.com/tickets/48213".into()),
            tone: Tone::Good,
            footer: "ticket.created · evt_01J9Z".into(),
            timestamp: "2026-03-14T09:12:44Z".into(),
        }
    }

    pub(super) fn answered(status: u16, headers: &[(&str, &str)], body: &str) -> DeliveryAttempt {
        let mut a = new_attempt(1);
        a.response_status = Some(status);
        a.response_headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        a.response_body = Some(body.to_string());
        if !(200..300).contains(&status) {
            a.error_kind = Some(ErrorKind::Status);
        }
        a
    }

    #[test]
    fn other_kinds_get_plain_text_and_no_rules() {
        let v: serde_json::Value = serde_json::from_str(&payload(DestinationKind::Webhook, &message("Hi"))).unwrap();
        assert_eq!(v["text"], "Ticket created: #48213 Unable to export\nHi");
        let gone = answered(404, &[], "no_service");
        assert_eq!(classify(DestinationKind::Webhook, &gone), Answer::default());
        assert_eq!(classify(DestinationKind::Email, &gone), Answer::default());
        // No answer at all (a timeout): nothing for any platform to read.
        for kind in DestinationKind::ALL {
            assert_eq!(classify(kind, &new_attempt(1)), Answer::default(), "{kind:?}");
        }
    }

    /// Whatever the templates rendered (empty, huge, multi-byte, control characters, odd links and
    /// timestamps), every platform gets valid JSON and nothing panics.
    #[test]
    fn any_message_makes_valid_json_for_every_kind() {
        let texts = ["", " ", "é", "\u{0}\u{1f}\n\t", "👩‍👩‍👧‍👦", "&<>\"\\", "x\u{301}"];
        for base in texts {
            for n in [0, 1, 149, 150, 151, 2_999, 3_001, 6_000, 40_000] {
                let s = base.repeat(n);
                let m = RenderedMessage {
                    title: s.clone(),
                    text: s.clone(),
                    fields: vec![(s.clone(), s.clone()); 12],
                    link: Some(format!("https://x.example/{s}")),
                    tone: Tone::Bad,
                    footer: s.clone(),
                    timestamp: s.clone(),
                };
                for kind in DestinationKind::ALL {
                    let body = payload(kind, &m);
                    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "{kind:?} {base:?}×{n}");
                }
            }
        }
    }

    #[test]
    fn quoted_platform_words_are_one_short_line() {
        assert_eq!(quoted("Invalid\n  Form\tBody"), "Invalid Form Body");
        assert_eq!(quoted(&"é".repeat(500)).chars().count(), QUOTE_CHARS);
        assert_eq!(wait_secs(f64::NAN), None);
        assert_eq!(wait_secs(-1.0), None);
        assert_eq!(wait_secs(1.5), Some(Duration::from_millis(1_500)));
        assert_eq!(wait_secs(1e300), Some(Duration::from_secs(super::super::policy::MAX_RETRY_AFTER_SECS)));
    }
}
