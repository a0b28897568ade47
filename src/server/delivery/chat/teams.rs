//! Microsoft Teams Workflows webhooks ("Post to a channel when a webhook request is received"): a message with
//! one Adaptive Card 1.4 attachment (a title coloured by the event's tone, the text, a fact set of the fields,
//! a subtle footer, an "Open" button). Teams refuses bodies over 28 KB, so an oversized card is shortened
//! until it fits: the text first, then the facts, then the title. Errors come back as JSON
//! `{"error": {"code", "message"}}`.

use super::{link, one_line, quoted, timestamp, Answer, Reply};
use crate::model::destination::platform_limits::TEAMS_BYTES;
use crate::model::destination::truncate_chars;
use crate::model::{RenderedMessage, Tone};
use crate::server::delivery::sender::Rule;
use serde_json::{json, Value};

/// A fact's name (message field names are at most 100 characters).
const FACT_NAME: usize = 256;
/// The button's URL (Teams documents no limit; one this long is not a link anyone means).
const BUTTON_URL: usize = 2_048;

/// How much of each part a card shows, in characters; shrinking these makes the card fit.
#[derive(Clone, Copy)]
struct Cut {
    title: usize,
    text: usize,
    /// Every fact's value; 0 leaves the fact set out.
    value: usize,
}

pub(super) fn payload(m: &RenderedMessage) -> String {
    // A part with more characters than the limit has bytes can never be sent whole: the search starts from
    // copies that long (still over the limit, so still cut with an ellipsis), which keeps it cheap whatever
    // the templates rendered.
    let clip = |s: &str| s.chars().take(TEAMS_BYTES + 1).collect::<String>();
    let parts = Parts {
        title: clip(&one_line(&m.title)),
        text: clip(m.text.trim()),
        fields: m.fields.iter().map(|(n, v)| (clip(n), clip(v))).collect(),
        link: link(m, BUTTON_URL),
        footer: footer_text(m),
    };
    // Likewise the facts' values: cut to the same length, they cannot together have more characters than the
    // limit has bytes.
    let lengths: Vec<usize> = parts.fields.iter().map(|(_, v)| v.chars().count()).collect();
    let longest = lengths.iter().copied().max().unwrap_or(0);
    let longest_value = largest(longest, |n| lengths.iter().map(|l| (*l).min(n)).sum::<usize>() <= TEAMS_BYTES);
    let mut cut = Cut { title: parts.title.chars().count(), text: parts.text.chars().count(), value: longest_value };
    let fits = |c: Cut| card(m, &parts, c).len() <= TEAMS_BYTES;
    if !fits(cut) {
        cut.text = largest(cut.text, |n| fits(Cut { text: n, ..cut }));
    }
    if !fits(cut) {
        cut.value = largest(cut.value, |n| fits(Cut { value: n, ..cut }));
    }
    if !fits(cut) {
        cut.title = largest(cut.title, |n| fits(Cut { title: n, ..cut }));
    }
    // With no text, facts or title, what is left (the footer and a link of at most 2,048 characters) is far
    // below the limit.
    card(m, &parts, cut)
}

/// The message's title, text and fields, each at most one character over what could ever fit, its link and
/// its footer.
struct Parts {
    title: String,
    text: String,
    fields: Vec<(String, String)>,
    /// These two are built once, not on every try.
    link: Option<String>,
    footer: String,
}

/// The largest `n` in `0..=max` for which `fits(n)` holds, found in about log2(max) tries (`fits` is, give or
/// take an ellipsis, monotonic in `n`); 0 when none does, found in two tries (a part that cannot help is not
/// searched: each try builds the whole card).
fn largest(max: usize, fits: impl Fn(usize) -> bool) -> usize {
    if max == 0 || fits(max) {
        return max;
    }
    if !fits(0) {
        return 0;
    }
    let (mut lo, mut hi) = (0, max);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The request body with each part cut as `cut` says.
fn card(m: &RenderedMessage, parts: &Parts, cut: Cut) -> String {
    let (title, text) = (parts.title.as_str(), parts.text.as_str());
    let color = match m.tone {
        Tone::Info => "default",
        Tone::Good => "good",
        Tone::Warning => "warning",
        Tone::Bad => "attention",
    };
    let mut body = Vec::new();
    if cut.title > 0 && !title.is_empty() {
        body.push(json!({"type": "TextBlock", "text": truncate_chars(title, cut.title), "weight": "bolder",
            "size": "medium", "wrap": true, "color": color}));
    }
    if cut.text > 0 && !text.is_empty() {
        body.push(json!({"type": "TextBlock", "text": truncate_chars(text, cut.text), "wrap": true}));
    }
    let facts: Vec<Value> = parts
        .fields
        .iter()
        .filter(|(n, v)| cut.value > 0 && !n.trim().is_empty() && !v.trim().is_empty())
        .map(|(n, v)| json!({"title": truncate_chars(&one_line(n), FACT_NAME), "value": truncate_chars(v, cut.value)}))
        .collect();
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if !parts.footer.is_empty() {
        body.push(json!({"type": "TextBlock", "text": parts.footer, "isSubtle": true, "size": "small", "wrap": true}));
    }
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(url) = &parts.link {
        content["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open", "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": content}]
    })
    .to_string()
}

/// The footer and the time, as Adaptive Cards' DATE and TIME functions so each reader sees their own time zone.
fn footer_text(m: &RenderedMessage) -> String {
    // The footer is the hub's own "type · id"; cut anyway, so that what is never shortened stays small.
    let footer = truncate_chars(&one_line(&m.footer), 500);
    let when = timestamp(m).map(|t| {
        let iso = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!("{{{{DATE({iso}, SHORT)}}}} {{{{TIME({iso})}}}}")
    });
    match (footer.is_empty(), when) {
        (false, Some(when)) => format!("{footer} · {when}"),
        (true, Some(when)) => when,
        (_, None) => footer,
    }
}

/// Teams' answers: 202 (or 200) accepted; a 400's reason is in the body's `error.message`; a workflow that was
/// deleted or switched off answers 404. Rate limits (429) and Teams' own trouble (5xx) are retried.
pub(super) fn classify(r: &Reply<'_>) -> Answer {
    match r.status {
        _ if r.success() => Answer::default(),
        400 => {
            let said = r.json().and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(quoted));
            let reason = match said.filter(|s| !s.is_empty()) {
                Some(s) => format!("Teams refused the message: {s}"),
                None => "Teams refused the message (HTTP 400)".to_string(),
            };
            Answer::rule(Rule::Permanent(reason))
        }
        404 => Answer::rule(Rule::Gone("Teams: the workflow no longer exists".into())),
        413 => Answer::rule(Rule::Permanent("Teams: the message is larger than Teams accepts".into())),
        _ => Answer::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{answered, message};
    use super::super::{classify, DestinationKind};
    use super::*;

    fn parsed(m: &RenderedMessage) -> (usize, Value) {
        let body = payload(m);
        (body.len(), serde_json::from_str(&body).unwrap())
    }

    #[test]
    fn a_message_is_an_adaptive_card_in_a_message() {
        let (_, v) = parsed(&message("The export fails with error 500."));
        assert_eq!(v["type"], "message");
        let attachments = v["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0]["contentType"], "application/vnd.microsoft.card.adaptive");
        assert!(attachments[0]["contentUrl"].is_null());
        let c = &attachments[0]["content"];
        assert_eq!(
            (c["type"].as_str(), c["version"].as_str(), c["$schema"].as_str()),
            (Some("AdaptiveCard"), Some("1.4"), Some("http://adaptivecards.io/schemas/adaptive-card.json"))
        );
        let b = c["body"].as_array().unwrap();
        assert_eq!(b[0]["text"], "Ticket created: #48213 Unable to export");
        assert_eq!(
            (b[0]["weight"].as_str(), b[0]["color"].as_str(), b[0]["wrap"].as_bool()),
            (Some("bolder"), Some("good"), Some(true))
        );
        assert_eq!(b[1], json!({"type": "TextBlock", "text": "The export fails with error 500.", "wrap": true}));
        assert_eq!(b[2]["facts"][1], json!({"title": "Priority", "value": "high"}));
        assert_eq!(b[3]["isSubtle"], true);
        assert_eq!(
            b[3]["text"],
            "ticket.created · evt_01J9Z · {{DATE(2026-03-14T09:12:44Z, SHORT)}} {{TIME(2026-03-14T09:12:44Z)}}"
        );
        assert_eq!(
            c["actions"],
            json!([{"type": "Action.OpenUrl", "title": "Open", "url": "https://support.example.com/tickets/48213"}])
        );
        let mut m = message("");
        m.link = None;
        m.tone = Tone::Bad;
        let (_, v) = parsed(&m);
        let c = &v["attachments"][0]["content"];
        assert!(c.get("actions").is_none());
        assert_eq!(c["body"][0]["color"], "attention");
        assert_eq!(c["body"][1]["type"], "FactSet", "no empty text block");
    }

    #[test]
    fn an_oversized_card_is_shortened_to_fit_text_first() {
        let (len, v) = parsed(&message(&"é".repeat(40_000)));
        assert!(len <= TEAMS_BYTES, "{len}");
        assert!(len > TEAMS_BYTES - 16, "the text keeps all the room there is: {len}");
        let b = &v["attachments"][0]["content"]["body"];
        assert!(b[1]["text"].as_str().unwrap().ends_with('…'));
        assert_eq!(b[2]["facts"][1], json!({"title": "Priority", "value": "high"}), "facts kept whole");

        // Facts that alone exceed the limit: the text goes, then the facts shrink.
        let mut m = message("some text");
        m.fields = (0..10).map(|i| (format!("F{i}"), "\u{1}".repeat(5_000))).collect();
        let (len, v) = parsed(&m);
        assert!(len <= TEAMS_BYTES, "{len}");
        let b = &v["attachments"][0]["content"]["body"];
        assert_eq!(b[1]["type"], "FactSet");
        assert!(b[1]["facts"][9]["value"].as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn even_a_huge_title_ends_up_within_the_limit() {
        let mut m = message(&"\"".repeat(100_000));
        m.title = "\u{7}".repeat(100_000);
        m.fields = vec![("x".repeat(1_000), "y".repeat(100_000)); 10];
        m.link = Some(format!("https://x.example/{}", "a".repeat(2_000)));
        let (len, v) = parsed(&m);
        assert!(len <= TEAMS_BYTES, "{len}");
        assert!(v["attachments"][0]["content"]["actions"].is_array(), "the link stays");
    }

    #[test]
    fn teams_answers() {
        let rule = |status, body: &str| classify(DestinationKind::Teams, &answered(status, &[], body)).rule;
        assert_eq!(rule(202, ""), None);
        assert_eq!(rule(200, "1"), None);
        let invalid = r#"{"error": {"code": "TriggerInputSchemaMismatch", "message": "The input body for trigger 'manual' did not match its schema."}}"#;
        assert_eq!(
            rule(400, invalid),
            Some(Rule::Permanent(
                "Teams refused the message: The input body for trigger 'manual' did not match its schema.".into()
            ))
        );
        assert_eq!(rule(400, "Bad Request"), Some(Rule::Permanent("Teams refused the message (HTTP 400)".into())));
        assert_eq!(rule(404, ""), Some(Rule::Gone("Teams: the workflow no longer exists".into())));
        assert_eq!(rule(413, ""), Some(Rule::Permanent("Teams: the message is larger than Teams accepts".into())));
        assert_eq!(rule(429, ""), None);
        assert_eq!(rule(502, ""), None);
    }
}
