//! Slack incoming webhooks: a top-level `text` (the notification and the fallback) and Block Kit `blocks` (a
//! header, the text, the fields, a context line, an "Open" button), each within Block Kit's documented limits.
//! Slack parses `&`, `<` and `>` in mrkdwn as its own markup (`<!channel>`, `<https://…|label>`), so event text
//! is escaped as Slack documents and cannot ping a channel or dress up a link. Errors come back as a plain-text
//! code in the body (`invalid_payload`, `channel_is_archived`, …) with a 4xx status.

use super::{link, one_line, plain_summary, timestamp, Answer, Reply};
use crate::model::destination::platform_limits::{
    SLACK_BLOCKS, SLACK_FIELDS, SLACK_FIELD_TEXT, SLACK_HEADER_TEXT, SLACK_SECTION_TEXT,
};
use crate::model::destination::truncate_chars;
use crate::model::RenderedMessage;
use crate::server::delivery::sender::Rule;
use serde_json::{json, Value};

/// Slack asks that a message's top-level `text` stay under 4,000 characters (longer is cut by Slack itself).
const FALLBACK_TEXT: usize = 4_000;
/// A button's `url`.
const BUTTON_URL: usize = 3_000;
/// A field's name, before its value (message field names are at most 100 characters; escaping can grow them).
const FIELD_NAME: usize = 200;
/// A context element's text (a text object's limit).
const CONTEXT_TEXT: usize = 3_000;

pub(super) fn payload(m: &RenderedMessage) -> String {
    let mut blocks: Vec<Value> = Vec::new();
    let title = one_line(&m.title);
    if !title.is_empty() {
        // plain_text is shown as typed (Slack parses no markup in it), so it is not escaped.
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": truncate_chars(&title, SLACK_HEADER_TEXT), "emoji": true}}));
    }
    if !m.text.trim().is_empty() {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": escaped_within(&m.text, SLACK_SECTION_TEXT)}}),
        );
    }
    let fields: Vec<Value> = m
        .fields
        .iter()
        .filter(|(n, v)| !n.trim().is_empty() && !v.trim().is_empty())
        .take(SLACK_FIELDS)
        .map(|(name, value)| json!({"type": "mrkdwn", "text": field_text(name, value)}))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let context = context_text(m);
    if !context.is_empty() {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    }
    if let Some(url) = link(m, BUTTON_URL) {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url}
        ]}));
    }
    // Five blocks at most today; the cap keeps a future block from breaking Slack's rule.
    blocks.truncate(SLACK_BLOCKS);
    json!({"text": escaped_within(&plain_summary(m), FALLBACK_TEXT), "blocks": blocks}).to_string()
}

/// `*Name*` over the value, escaped, within a field's limit (the value gives way).
fn field_text(name: &str, value: &str) -> String {
    let head = format!("*{}*\n", escaped_within(&one_line(name), FIELD_NAME));
    let room = SLACK_FIELD_TEXT - head.chars().count();
    format!("{head}{}", escaped_within(value, room))
}

/// The footer, and the time as Slack's date token: each reader sees it in their own time zone, and the
/// RFC 3339 text after `|` is what clients that cannot format it show.
fn context_text(m: &RenderedMessage) -> String {
    let footer = escaped_within(&one_line(&m.footer), CONTEXT_TEXT - 200);
    let when = timestamp(m).map(|t| {
        let iso = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!("<!date^{}^{{date_short_pretty}} at {{time}}|{iso}>", t.timestamp())
    });
    match (footer.is_empty(), when) {
        (false, Some(when)) => format!("{footer} · {when}"),
        (true, Some(when)) => when,
        (_, None) => footer,
    }
}

/// The escape Slack documents for text it parses: `&` `<` `>` as `&amp;` `&lt;` `&gt;` (and nothing else).
fn escape(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

/// `s` escaped and cut to at most `max` characters as Slack counts them (after escaping), the cut marked
/// with an ellipsis and never inside an entity, which Slack would show half-written.
fn escaped_within(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let width = escape(c).map_or(1, str::len);
        // The last character fits only if nothing follows it; otherwise the ellipsis needs a place.
        let reserve = usize::from(chars.peek().is_some());
        if count + width + reserve > max {
            out.push('…');
            return out;
        }
        match escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
        count += width;
    }
    out
}

/// Slack's answers: 200 `ok`; a code in the body otherwise. Rate limits (429) and Slack's own trouble (5xx)
/// are retried as any endpoint's are (the policy reads `Retry-After`).
pub(super) fn classify(r: &Reply<'_>) -> Answer {
    if r.success() || r.status == 429 || r.status >= 500 {
        return Answer::default();
    }
    let code = error_code(r.body);
    let gone = |what: &str, code: &str| Answer::rule(Rule::Gone(format!("Slack: {what} ({code})")));
    let refused = |code: &str| Answer::rule(Rule::Permanent(format!("Slack refused the message: {code}")));
    match code {
        Some(c @ "channel_is_archived") => gone("the channel is archived", c),
        Some(c @ "channel_not_found") => gone("the channel no longer exists", c),
        Some(c @ ("no_service" | "no_service_id")) => gone("the incoming webhook was removed or disabled", c),
        Some(c @ ("no_team" | "team_disabled" | "team_not_found")) => gone("the workspace is gone or disabled", c),
        // The message itself, or what the app may post there: sending it again cannot succeed.
        Some(
            c @ ("invalid_payload"
            | "invalid_blocks"
            | "invalid_blocks_format"
            | "no_text"
            | "too_many_attachments"
            | "invalid_attachments"
            | "missing_text_or_fallback_or_attachments"
            | "msg_too_long"
            | "too_many_blocks"
            | "action_prohibited"
            | "posting_to_general_channel_denied"
            | "invalid_token"
            | "restricted_action"),
        ) => refused(c),
        // Codes not listed above, by status: an unknown URL is a webhook that no longer exists.
        _ => match r.status {
            404 | 410 => gone("the incoming webhook no longer exists", code.unwrap_or(&r.status.to_string())),
            400 | 403 | 413 => refused(&code.map_or_else(|| format!("HTTP {}", r.status), str::to_string)),
            _ => Answer::default(),
        },
    }
}

/// The body as a Slack error code (`snake_case`, short), or none: a proxy's HTML page is not quoted.
fn error_code(body: &str) -> Option<&str> {
    let code = body.trim();
    let plausible = (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    Some(code).filter(|_| plausible)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{answered, message};
    use super::super::{classify, DestinationKind};
    use super::*;

    fn blocks(m: &RenderedMessage) -> Value {
        serde_json::from_str(&payload(m)).unwrap()
    }

    fn block<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
        v["blocks"].as_array().unwrap().iter().find(|b| b["type"] == kind)
    }

    #[test]
    fn a_message_is_block_kit_with_header_text_fields_context_and_button() {
        let v = blocks(&message("Customer cannot export & import"));
        assert_eq!(v["text"], "Ticket created: #48213 Unable to export\nCustomer cannot export &amp; import");
        let types: Vec<&str> = v["blocks"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "section", "context", "actions"]);
        assert_eq!(
            v["blocks"][0]["text"],
            json!({"type": "plain_text", "text": "Ticket created: #48213 Unable to export", "emoji": true})
        );
        assert_eq!(v["blocks"][1]["text"]["type"], "mrkdwn");
        assert_eq!(v["blocks"][2]["fields"][1], json!({"type": "mrkdwn", "text": "*Priority*\nhigh"}));
        let context = v["blocks"][3]["elements"][0]["text"].as_str().unwrap();
        assert_eq!(
            context,
            "ticket.created · evt_01J9Z · <!date^1773479564^{date_short_pretty} at {time}|2026-03-14T09:12:44Z>"
        );
        let button = &v["blocks"][4]["elements"][0];
        assert_eq!(
            (button["type"].as_str(), button["url"].as_str()),
            (Some("button"), Some("https://support.example.com/tickets/48213"))
        );
        assert_eq!(button["text"]["text"], "Open");
    }

    #[test]
    fn parts_a_message_lacks_are_left_out() {
        let mut m = message("");
        m.link = None;
        m.fields.clear();
        m.timestamp = "yesterday".into();
        let v = blocks(&m);
        let types: Vec<&str> = v["blocks"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "context"], "no empty section, no fields, no button");
        assert_eq!(block(&v, "context").unwrap()["elements"][0]["text"], "ticket.created · evt_01J9Z");
        // A link Slack could not parse would fail the whole message: no button instead.
        m.link = Some("https://exa mple.com/x".into());
        assert!(block(&blocks(&m), "actions").is_none());
    }

    #[test]
    fn event_text_cannot_ping_or_link() {
        let mut m = message("<!channel> see <https://evil.example|your invoice> & <@U123>");
        m.fields = vec![("<!here>".into(), "<!everyone>".into())];
        m.footer = "<!subteam^S1>".into();
        let body = payload(&m);
        for markup in ["<!channel>", "<!here>", "<!everyone>", "<https://", "<@U123>", "<!subteam"] {
            assert!(!body.contains(markup), "{markup} got through: {body}");
        }
        let v = blocks(&m);
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "&lt;!channel&gt; see &lt;https://evil.example|your invoice&gt; &amp; &lt;@U123&gt;"
        );
        assert_eq!(v["blocks"][2]["fields"][0]["text"], "*&lt;!here&gt;*\n&lt;!everyone&gt;");
    }

    #[test]
    fn long_parts_are_cut_to_block_kits_limits_with_an_ellipsis() {
        let mut m = message(&"é".repeat(5_000));
        m.title = "T".repeat(400);
        m.fields = (0..14).map(|i| (format!("F{i}"), "v".repeat(3_000))).collect();
        let v = blocks(&m);
        let header = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), SLACK_HEADER_TEXT);
        assert!(header.ends_with('…'));
        let text = v["blocks"][1]["text"]["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), SLACK_SECTION_TEXT);
        assert!(text.ends_with("é…"));
        let fields = v["blocks"][2]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), SLACK_FIELDS);
        assert!(fields.iter().all(|f| f["text"].as_str().unwrap().chars().count() <= SLACK_FIELD_TEXT));
        assert!(v["text"].as_str().unwrap().chars().count() <= FALLBACK_TEXT);
    }

    #[test]
    fn escaping_counts_toward_the_limit_and_never_cuts_an_entity() {
        assert_eq!(escaped_within("a<b", 10), "a&lt;b");
        assert_eq!(escaped_within("abc", 3), "abc", "the last character fits without an ellipsis");
        assert_eq!(escaped_within("abcd", 3), "ab…");
        assert_eq!(escaped_within("a&b", 5), "a…", "&amp; and an ellipsis do not fit in 4");
        let cut = escaped_within(&"&".repeat(3_000), SLACK_SECTION_TEXT);
        assert!(cut.chars().count() <= SLACK_SECTION_TEXT && cut.ends_with("&amp;…"), "{}", &cut[cut.len() - 10..]);
        assert_eq!(escaped_within("", 0), "");
    }

    fn rule(status: u16, body: &str) -> Option<Rule> {
        classify(DestinationKind::Slack, &answered(status, &[], body)).rule
    }

    #[test]
    fn slacks_answers_are_read_by_their_codes() {
        assert_eq!(rule(200, "ok"), None);
        assert_eq!(
            rule(400, "invalid_payload"),
            Some(Rule::Permanent("Slack refused the message: invalid_payload".into()))
        );
        assert_eq!(
            rule(400, "invalid_blocks\n"),
            Some(Rule::Permanent("Slack refused the message: invalid_blocks".into()))
        );
        for code in ["action_prohibited", "posting_to_general_channel_denied", "invalid_token"] {
            assert_eq!(rule(403, code), Some(Rule::Permanent(format!("Slack refused the message: {code}"))));
        }
        assert_eq!(
            rule(410, "channel_is_archived"),
            Some(Rule::Gone("Slack: the channel is archived (channel_is_archived)".into()))
        );
        assert_eq!(
            rule(404, "channel_not_found"),
            Some(Rule::Gone("Slack: the channel no longer exists (channel_not_found)".into()))
        );
        assert_eq!(
            rule(404, "no_service"),
            Some(Rule::Gone("Slack: the incoming webhook was removed or disabled (no_service)".into()))
        );
        // An unknown URL (a proxy's page is not quoted), an odd code by its status.
        assert_eq!(
            rule(404, "<html>Not Found</html>"),
            Some(Rule::Gone("Slack: the incoming webhook no longer exists (404)".into()))
        );
        assert_eq!(
            rule(400, "some_new_code"),
            Some(Rule::Permanent("Slack refused the message: some_new_code".into()))
        );
        assert_eq!(rule(400, ""), Some(Rule::Permanent("Slack refused the message: HTTP 400".into())));
        // Slow down, and Slack's own trouble: retried (the policy reads Retry-After).
        let limited = classify(DestinationKind::Slack, &answered(429, &[("retry-after", "30")], "rate_limited"));
        assert_eq!(limited, Answer::default());
        assert_eq!(rule(500, "internal_error"), None);
        assert_eq!(rule(503, "invalid_payload"), None, "a status that means try again wins over the body");
    }
}
