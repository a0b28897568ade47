//! Discord channel webhooks: one embed (title, description, link, colour, inline fields, footer, timestamp)
//! within Discord's documented limits, and `allowed_mentions` with nothing to parse, so `@everyone`, `@here`
//! or a role mention in event text pings nobody. No `content`: the embed carries the whole message.
//! Discord answers 204 (200 with `?wait=true`), reports its per-webhook budget in `X-RateLimit-*` headers, and
//! errors as JSON `{"code", "message", "errors"}`.

use super::{link, one_line, quoted, timestamp, wait_secs, Answer, Reply};
use crate::model::destination::platform_limits::{
    DISCORD_DESCRIPTION, DISCORD_EMBED_TOTAL, DISCORD_FIELDS, DISCORD_FIELD_NAME, DISCORD_FIELD_VALUE, DISCORD_FOOTER,
    DISCORD_TITLE,
};
use crate::model::destination::truncate_chars;
use crate::model::RenderedMessage;
use crate::server::delivery::sender::Rule;
use serde_json::{json, Map, Value};

/// An embed's `url` (Discord documents no limit; one this long is not a link anyone means).
const EMBED_URL: usize = 2_048;

fn chars(s: &str) -> usize {
    s.chars().count()
}

pub(super) fn payload(m: &RenderedMessage) -> String {
    let title = truncate_chars(&one_line(&m.title), DISCORD_TITLE);
    let footer = truncate_chars(&one_line(&m.footer), DISCORD_FOOTER);
    let mut fields: Vec<(String, String)> = m
        .fields
        .iter()
        .filter(|(n, v)| !n.trim().is_empty() && !v.trim().is_empty())
        .take(DISCORD_FIELDS)
        .map(|(n, v)| (truncate_chars(&one_line(n), DISCORD_FIELD_NAME), truncate_chars(v, DISCORD_FIELD_VALUE)))
        .collect();
    // All of an embed's text counts toward one total. Title and footer are short; the text gives way first,
    // and only fields that cannot fit even without it are left out (the last first).
    let budget = DISCORD_EMBED_TOTAL - chars(&title) - chars(&footer);
    let mut fields_len: usize = fields.iter().map(|(n, v)| chars(n) + chars(v)).sum();
    while fields_len > budget {
        let (n, v) = fields.pop().expect("fields exceed the budget, so there is one");
        fields_len -= chars(&n) + chars(&v);
    }
    let room = (budget - fields_len).min(DISCORD_DESCRIPTION);
    let description = match room {
        // A one-character description would be a lone ellipsis.
        0 | 1 => String::new(),
        room => truncate_chars(m.text.trim(), room),
    };

    let mut embed = Map::new();
    if !title.is_empty() {
        embed.insert("title".into(), title.into());
    }
    if !description.is_empty() {
        embed.insert("description".into(), description.into());
    }
    if let Some(url) = link(m, EMBED_URL) {
        embed.insert("url".into(), url.into());
    }
    embed.insert("color".into(), m.tone.rgb().into());
    if !fields.is_empty() {
        let fields: Vec<Value> =
            fields.into_iter().map(|(name, value)| json!({"name": name, "value": value, "inline": true})).collect();
        embed.insert("fields".into(), fields.into());
    }
    if !footer.is_empty() {
        embed.insert("footer".into(), json!({"text": footer}));
    }
    if let Some(t) = timestamp(m) {
        // Discord refuses the message for a timestamp it cannot read, so only one that parsed is sent.
        embed.insert("timestamp".into(), t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into());
    }
    json!({"embeds": [embed], "allowed_mentions": {"parse": []}}).to_string()
}

/// Discord's answers by its documented codes.
pub(super) fn classify(r: &Reply<'_>) -> Answer {
    match r.status {
        // Delivered; a spent budget means the next message would only be answered 429, so the endpoint waits
        // until Discord says the budget is back.
        _ if r.success() => {
            let spent = r.header("x-ratelimit-remaining").is_some_and(|v| v == "0");
            let reset = r.header("x-ratelimit-reset-after").and_then(|v| v.parse::<f64>().ok()).and_then(wait_secs);
            match (spent, reset) {
                (true, Some(wait)) => Answer::rule(Rule::Hold(wait)),
                _ => Answer::default(),
            }
        }
        // Discord's `retry_after` (seconds, fractional) is more exact than its `Retry-After` header, so it
        // decides the retry; the endpoint is held as long, since its other messages would be refused too.
        429 => {
            let secs = r.json().and_then(|v| v.get("retry_after").and_then(Value::as_f64)).and_then(wait_secs);
            match secs {
                Some(wait) => {
                    Answer { rule: Some(Rule::Hold(wait)), retry_after: Some(wait.as_secs_f64().ceil().to_string()) }
                }
                None => Answer::default(),
            }
        }
        // The webhook (or its channel) was deleted.
        404 => Answer::rule(Rule::Gone("Discord: unknown webhook (it was deleted)".into())),
        // The token in the URL is no longer valid: the webhook was deleted or its token reset.
        401 => Answer::rule(Rule::Gone("Discord: the webhook's token is no longer valid".into())),
        403 => Answer::rule(Rule::Permanent(refused(r, "missing permissions"))),
        413 => Answer::rule(Rule::Permanent("Discord: the message is larger than Discord accepts".into())),
        400 => Answer::rule(Rule::Permanent(refused(r, "HTTP 400"))),
        _ => Answer::default(),
    }
}

/// "Discord refused the message: Invalid Form Body (embeds.0.title: Must be 256 or fewer in length.)": Discord's
/// message, and the first of its field errors with where it is.
fn refused(r: &Reply<'_>, otherwise: &str) -> String {
    let body = r.json().unwrap_or_default();
    let message = body.get("message").and_then(Value::as_str).map(quoted).filter(|m| !m.is_empty());
    let detail = body.get("errors").and_then(|e| first_error(e, &mut Vec::new()));
    let said = match (message, detail) {
        (Some(m), Some(d)) => format!("{m} ({d})"),
        (Some(m), None) => m,
        (None, Some(d)) => d,
        (None, None) => otherwise.to_string(),
    };
    format!("Discord refused the message: {}", quoted(&said))
}

/// The first `_errors` entry of Discord's nested error object, as `path: message`.
fn first_error(v: &Value, path: &mut Vec<String>) -> Option<String> {
    let obj = v.as_object()?;
    if let Some(message) =
        obj.get("_errors").and_then(|e| e.get(0)).and_then(|e| e.get("message")).and_then(Value::as_str)
    {
        return Some(if path.is_empty() { message.to_string() } else { format!("{}: {message}", path.join(".")) });
    }
    for (key, child) in obj {
        path.push(key.clone());
        if let Some(found) = first_error(child, path) {
            return Some(found);
        }
        path.pop();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{answered, message};
    use super::super::{classify, DestinationKind};
    use super::*;
    use std::time::Duration;

    fn body(m: &RenderedMessage) -> Value {
        serde_json::from_str(&payload(m)).unwrap()
    }

    /// All of an embed's text, as Discord counts it toward its total.
    fn embed_total(e: &Value) -> usize {
        let s = |v: &Value| v.as_str().map_or(0, chars);
        let fields = e["fields"].as_array().map_or(0, |f| f.iter().map(|f| s(&f["name"]) + s(&f["value"])).sum());
        s(&e["title"]) + s(&e["description"]) + s(&e["footer"]["text"]) + fields
    }

    #[test]
    fn a_message_is_one_embed_with_mentions_switched_off() {
        let v = body(&message("@everyone the export is broken <@&123>"));
        assert_eq!(v["allowed_mentions"], json!({"parse": []}));
        assert!(v.get("content").is_none(), "the embed carries the message");
        let e = &v["embeds"][0];
        assert_eq!(v["embeds"].as_array().unwrap().len(), 1);
        assert_eq!(e["title"], "Ticket created: #48213 Unable to export");
        assert_eq!(e["description"], "@everyone the export is broken <@&123>");
        assert_eq!(e["url"], "https://support.example.com/tickets/48213");
        assert_eq!(e["color"], 0x16A34A);
        assert_eq!(e["fields"][0], json!({"name": "Status", "value": "new", "inline": true}));
        assert_eq!(e["footer"], json!({"text": "ticket.created · evt_01J9Z"}));
        assert_eq!(e["timestamp"], "2026-03-14T09:12:44Z");
    }

    #[test]
    fn parts_a_message_lacks_are_left_out() {
        let mut m = message("");
        m.fields.clear();
        m.link = Some("not a url".into());
        m.timestamp = "2026-13-45".into();
        let e = &body(&m)["embeds"][0];
        for part in ["description", "fields", "url", "timestamp"] {
            assert!(e.get(part).is_none(), "{part}: {e}");
        }
    }

    #[test]
    fn long_parts_are_cut_to_discords_limits_and_the_total() {
        let mut m = message(&"ß".repeat(10_000));
        m.title = "T".repeat(300);
        m.footer = "f".repeat(2_500);
        let e = body(&m)["embeds"][0].clone();
        assert_eq!(chars(e["title"].as_str().unwrap()), DISCORD_TITLE);
        assert_eq!(chars(e["footer"]["text"].as_str().unwrap()), DISCORD_FOOTER);
        let description = e["description"].as_str().unwrap();
        assert!(description.ends_with('…') && chars(description) <= DISCORD_DESCRIPTION);
        assert_eq!(embed_total(&e), DISCORD_EMBED_TOTAL, "the text takes what the total leaves");

        // Fields long enough to fill the total alone: the text goes, then the last fields.
        m.fields = (0..30).map(|i| (format!("N{i}").repeat(200), "v".repeat(2_000))).collect();
        let e = body(&m)["embeds"][0].clone();
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= DISCORD_FIELDS && !fields.is_empty());
        assert!(fields.iter().all(|f| chars(f["name"].as_str().unwrap()) <= DISCORD_FIELD_NAME
            && chars(f["value"].as_str().unwrap()) <= DISCORD_FIELD_VALUE));
        assert_eq!(fields[0]["name"].as_str().unwrap().chars().next(), Some('N'), "the first fields stay");
        assert!(embed_total(&e) <= DISCORD_EMBED_TOTAL, "{}", embed_total(&e));
    }

    fn read(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        classify(DestinationKind::Discord, &answered(status, headers, body))
    }

    #[test]
    fn a_spent_budget_holds_the_endpoint_until_it_resets() {
        assert_eq!(read(204, &[], ""), Answer::default());
        let budget = [("x-ratelimit-limit", "5"), ("x-ratelimit-remaining", "1"), ("x-ratelimit-reset-after", "1.5")];
        assert_eq!(read(204, &budget, ""), Answer::default(), "budget left: no hold");
        let spent = [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset-after", "1.5")];
        assert_eq!(read(204, &spent, "").rule, Some(Rule::Hold(Duration::from_millis(1_500))));
        assert_eq!(read(200, &spent, "{\"id\": \"1\"}").rule, Some(Rule::Hold(Duration::from_millis(1_500))));
        let odd = [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset-after", "soon")];
        assert_eq!(read(204, &odd, ""), Answer::default());
    }

    #[test]
    fn a_429_waits_as_long_as_its_body_says() {
        let a = read(
            429,
            &[("retry-after", "1")],
            r#"{"message": "You are being rate limited.", "retry_after": 2.2, "global": false}"#,
        );
        assert_eq!(a.retry_after.as_deref(), Some("3"), "whole seconds, rounded up");
        assert_eq!(a.rule, Some(Rule::Hold(Duration::from_millis(2_200))));
        let a = read(429, &[("retry-after", "1")], r#"{"retry_after": 0.5, "global": true}"#);
        assert_eq!(a.retry_after.as_deref(), Some("1"));
        // No usable hint in the body: the policy reads Retry-After.
        assert_eq!(read(429, &[("retry-after", "1")], "slow down"), Answer::default());
        assert_eq!(read(429, &[], r#"{"retry_after": -3}"#), Answer::default());
    }

    #[test]
    fn errors_are_permanent_or_mean_the_webhook_is_gone() {
        let rule = |status, body: &str| read(status, &[], body).rule;
        let gone = Some(Rule::Gone("Discord: unknown webhook (it was deleted)".into()));
        assert_eq!(rule(404, r#"{"message": "Unknown Webhook", "code": 10015}"#), gone);
        assert_eq!(rule(404, ""), gone);
        assert_eq!(
            rule(401, r#"{"message": "Invalid Webhook Token", "code": 50027}"#),
            Some(Rule::Gone("Discord: the webhook's token is no longer valid".into()))
        );
        assert_eq!(
            rule(403, r#"{"message": "Missing Permissions", "code": 50013}"#),
            Some(Rule::Permanent("Discord refused the message: Missing Permissions".into()))
        );
        let invalid = r#"{"code": 50035, "errors": {"embeds": {"0": {"description": {"_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}]}}}}, "message": "Invalid Form Body"}"#;
        assert_eq!(
            rule(400, invalid),
            Some(Rule::Permanent(
                "Discord refused the message: Invalid Form Body (embeds.0.description: Must be 4096 or fewer in length.)".into()
            ))
        );
        assert_eq!(rule(400, "<html>"), Some(Rule::Permanent("Discord refused the message: HTTP 400".into())));
        assert!(matches!(rule(413, ""), Some(Rule::Permanent(r)) if r.contains("larger")));
        assert_eq!(rule(500, ""), None);
        assert_eq!(rule(502, r#"{"message": "Unknown Webhook"}"#), None);
        // Discord's own words are quoted short.
        let long = format!(r#"{{"message": "{}"}}"#, "x".repeat(5_000));
        assert!(matches!(rule(400, &long), Some(Rule::Permanent(r)) if r.chars().count() < 300));
    }
}
