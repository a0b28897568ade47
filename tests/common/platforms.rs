//! Local stand-ins for Slack incoming webhooks, Discord channel webhooks and Microsoft Teams Workflows webhooks,
//! each a real HTTP server on 127.0.0.1 started by the test (as [`super::receiver`] is). Every request is
//! checked against the platform's documented payload rules, written here from the platforms' documentation
//! and not from the hub's code, and answered as the platform answers: Slack `200 ok` or `400 invalid_blocks`,
//! Discord `204` (`200` with the message under `?wait=true`) or `400 {"code": 50035, …}`, Teams `202` or a
//! `400`/`413`. A test can script the next answers ([`Platform::answer_next`]) and reads what arrived
//! ([`Platform::received`]).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which platform a stand-in plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slack,
    Discord,
    Teams,
}

/// An answer a test scripts: status, headers, body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply { status, headers: Vec::new(), body: body.into() }
    }

    /// A JSON answer (Discord's and Teams' errors).
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::new(status, body.to_string()).header("content-type", "application/json")
    }

    /// Slack's way of saying no: the error code as plain text.
    pub fn slack_error(status: u16, code: &str) -> Reply {
        Reply::new(status, code).header("content-type", "text/plain")
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Got {
    /// The body as JSON (`Null` when it was not JSON).
    pub body: Value,
    pub raw: String,
    pub headers: HashMap<String, String>,
    pub query: Option<String>,
    /// The platform's rules it broke (empty: none).
    pub problems: Vec<String>,
    /// What the stand-in answered.
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct Inbox {
    got: Vec<Got>,
    script: VecDeque<Reply>,
}

#[derive(Clone)]
pub struct Platform {
    pub kind: Kind,
    pub base: String,
    state: Arc<Mutex<Inbox>>,
}

impl Platform {
    pub async fn slack() -> Platform {
        Platform::start(Kind::Slack).await
    }

    pub async fn discord() -> Platform {
        Platform::start(Kind::Discord).await
    }

    pub async fn teams() -> Platform {
        Platform::start(Kind::Teams).await
    }

    pub async fn start(kind: Kind) -> Platform {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = Platform {
            kind,
            base: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::new(Mutex::new(Inbox::default())),
        };
        let app = Router::new().route("/{*path}", post(handle)).with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        p
    }

    /// The webhook URL, shaped as the platform's are.
    pub fn url(&self) -> String {
        let path = match self.kind {
            Kind::Slack => "/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX",
            Kind::Discord => "/api/webhooks/1234567890/abcdefTOKEN",
            Kind::Teams => "/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=1&sig=abc",
        };
        format!("{}{path}", self.base)
    }

    /// Answers the next `n` requests that keep the platform's rules with `reply` (after what is scripted
    /// already); a request that breaks them is refused as the platform would, script or not.
    pub fn answer_next(&self, n: usize, reply: Reply) {
        let mut s = self.state.lock().unwrap();
        s.script.extend(std::iter::repeat_n(reply, n));
    }

    pub fn received(&self) -> Vec<Got> {
        self.state.lock().unwrap().got.clone()
    }

    /// Waits until at least `n` requests have come or `within` has passed; returns them as they are then.
    pub async fn wait_received(&self, n: usize, within: Duration) -> Vec<Got> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn handle(State(p): State<Platform>, RawQuery(query): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let mut problems = Vec::new();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/json") {
        problems.push(format!("content-type: {content_type:?}, not application/json"));
    }
    match &json {
        None => problems.push("the body is not JSON".to_string()),
        Some(v) => problems.extend(match p.kind {
            Kind::Slack => slack_problems(v),
            Kind::Discord => discord_problems(v),
            Kind::Teams => teams_problems(v),
        }),
    }
    let too_big = p.kind == Kind::Teams && body.len() > TEAMS_BYTES;
    if too_big {
        problems.push(format!("{} bytes, more than Teams' 28 KB", body.len()));
    }
    let reply = if problems.is_empty() {
        let scripted = p.state.lock().unwrap().script.pop_front();
        scripted.unwrap_or_else(|| accepted(p.kind, query.as_deref()))
    } else {
        refused(p.kind, &problems, json.is_none(), too_big)
    };
    p.state.lock().unwrap().got.push(Got {
        body: json.unwrap_or(Value::Null),
        raw,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect(),
        query,
        problems,
        status: reply.status,
        at: Instant::now(),
    });
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in &reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(v).unwrap(),
        );
    }
    response
}

/// What the platform answers a message it takes.
fn accepted(kind: Kind, query: Option<&str>) -> Reply {
    match kind {
        Kind::Slack => Reply::new(200, "ok").header("content-type", "text/html"),
        // `?wait=true` asks Discord for the message it created.
        Kind::Discord if query.is_some_and(|q| q.split('&').any(|kv| kv == "wait=true")) => {
            Reply::json(200, json!({"id": "1100000000000000000", "type": 0, "channel_id": "1", "content": ""}))
        }
        Kind::Discord => Reply::new(204, ""),
        Kind::Teams => Reply::new(202, ""),
    }
}

/// What the platform answers a message that breaks its rules.
fn refused(kind: Kind, problems: &[String], not_json: bool, too_big: bool) -> Reply {
    match kind {
        Kind::Slack if not_json => Reply::slack_error(400, "invalid_payload"),
        Kind::Slack if problems.iter().any(|p| p.starts_with("no text")) => Reply::slack_error(400, "no_text"),
        Kind::Slack => Reply::slack_error(400, "invalid_blocks"),
        Kind::Discord => {
            // Discord nests its field errors by path: {"embeds": {"0": {"title": {"_errors": [...]}}}}.
            let (path, message) = problems[0].split_once(": ").unwrap_or(("content", problems[0].as_str()));
            let mut errors = json!({"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]});
            for key in path.rsplit('.') {
                errors = json!({ key: errors });
            }
            Reply::json(400, json!({"code": 50035, "errors": errors, "message": "Invalid Form Body"}))
        }
        Kind::Teams if too_big => Reply::json(
            413,
            json!({"error": {"code": "MessageSizeTooBig", "message": "The request body is larger than 28 KB."}}),
        ),
        Kind::Teams => Reply::json(
            400,
            json!({"error": {"code": "InvalidRequestContent", "message": format!("The card is not valid: {}", problems[0])}}),
        ),
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// A string of 1 to `max` characters, or what is wrong with it.
fn text(path: &str, v: &Value, max: usize, problems: &mut Vec<String>) {
    match v.as_str() {
        None => problems.push(format!("{path}: missing or not a string")),
        Some("") => problems.push(format!("{path}: empty")),
        Some(s) if s.chars().count() > max => {
            problems.push(format!("{path}: {} characters, more than {max}", s.chars().count()))
        }
        Some(_) => {}
    }
}

/// A Block Kit text object (`plain_text` or `mrkdwn`) of at most `max` characters.
fn slack_text(path: &str, v: &Value, max: usize, plain_only: bool, problems: &mut Vec<String>) {
    match v["type"].as_str() {
        Some("plain_text") => {}
        Some("mrkdwn") if !plain_only => {}
        other => problems.push(format!("{path}.type: {other:?} is not a text object type here")),
    }
    text(&format!("{path}.text"), &v["text"], max, problems);
}

/// Slack's rules for an incoming webhook's message (Block Kit reference: blocks, text objects).
pub fn slack_problems(v: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let has_text = v["text"].as_str().is_some_and(|t| !t.is_empty());
    let blocks = v["blocks"].as_array();
    if !has_text && blocks.is_none_or(|b| b.is_empty()) {
        problems.push("no text: the message has neither text nor blocks".to_string());
    }
    let Some(blocks) = blocks else {
        return problems;
    };
    if blocks.len() > 50 {
        problems.push(format!("blocks: {} blocks, more than 50", blocks.len()));
    }
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("blocks.{i}");
        match b["type"].as_str() {
            Some("header") => slack_text(&format!("{at}.text"), &b["text"], 150, true, &mut problems),
            Some("section") => {
                if b.get("text").is_none() && b.get("fields").is_none() {
                    problems.push(format!("{at}: a section needs text or fields"));
                }
                if let Some(t) = b.get("text") {
                    slack_text(&format!("{at}.text"), t, 3_000, false, &mut problems);
                }
                if let Some(fields) = b.get("fields") {
                    let fields = fields.as_array().cloned().unwrap_or_default();
                    if fields.is_empty() || fields.len() > 10 {
                        problems.push(format!("{at}.fields: {} fields, not 1 to 10", fields.len()));
                    }
                    for (j, f) in fields.iter().enumerate() {
                        slack_text(&format!("{at}.fields.{j}"), f, 2_000, false, &mut problems);
                    }
                }
            }
            Some("context") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                if elements.is_empty() || elements.len() > 10 {
                    problems.push(format!("{at}.elements: {} elements, not 1 to 10", elements.len()));
                }
                for (j, e) in elements.iter().enumerate().filter(|(_, e)| e["type"] != "image") {
                    slack_text(&format!("{at}.elements.{j}"), e, 3_000, false, &mut problems);
                }
            }
            Some("actions") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                if elements.is_empty() || elements.len() > 25 {
                    problems.push(format!("{at}.elements: {} elements, not 1 to 25", elements.len()));
                }
                for (j, e) in elements.iter().enumerate() {
                    let at = format!("{at}.elements.{j}");
                    if e["type"] != "button" {
                        continue;
                    }
                    slack_text(&format!("{at}.text"), &e["text"], 75, true, &mut problems);
                    if let Some(url) = e.get("url") {
                        text(&format!("{at}.url"), url, 3_000, &mut problems);
                        if url.as_str().is_some_and(|u| url::Url::parse(u).is_err()) {
                            problems.push(format!("{at}.url: not a URL"));
                        }
                    }
                }
            }
            Some("divider" | "image" | "rich_text" | "input" | "file" | "video") => {}
            other => problems.push(format!("{at}.type: {other:?} is not a block type")),
        }
    }
    problems
}

/// Discord's rules for an execute-webhook request (Channel resource: embed limits; Message: allowed mentions),
/// and the hub's own: `allowed_mentions` is always sent.
pub fn discord_problems(v: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(c) = v.get("content") {
        match c.as_str() {
            Some(s) if s.chars().count() > 2_000 => problems.push("content: more than 2000 characters".to_string()),
            Some(_) => {}
            None => problems.push("content: not a string".to_string()),
        }
    }
    let embeds = v.get("embeds").map(|e| e.as_array().cloned().unwrap_or_default()).unwrap_or_default();
    if embeds.len() > 10 {
        problems.push(format!("embeds: {} embeds, more than 10", embeds.len()));
    }
    if chars(&v["content"]) == 0 && embeds.is_empty() {
        problems.push("content: Cannot send an empty message".to_string());
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let at = format!("embeds.{i}");
        // Each part's characters count toward the total, and each has its own limit.
        let mut within = |part: &str, value: &Value, max: usize, problems: &mut Vec<String>| {
            if let Some(s) = value.as_str() {
                let n = s.chars().count();
                total += n;
                if n > max {
                    problems.push(format!("{at}.{part}: Must be {max} or fewer in length."));
                }
            } else if !value.is_null() {
                problems.push(format!("{at}.{part}: not a string"));
            }
        };
        within("title", &e["title"], 256, &mut problems);
        within("description", &e["description"], 4_096, &mut problems);
        within("footer.text", &e["footer"]["text"], 2_048, &mut problems);
        within("author.name", &e["author"]["name"], 256, &mut problems);
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        for (j, f) in fields.iter().enumerate() {
            within(&format!("fields.{j}.name"), &f["name"], 256, &mut problems);
            within(&format!("fields.{j}.value"), &f["value"], 1_024, &mut problems);
            for part in ["name", "value"] {
                if chars(&f[part]) == 0 {
                    problems.push(format!("{at}.fields.{j}.{part}: This field is required"));
                }
            }
        }
        if fields.len() > 25 {
            problems.push(format!("{at}.fields: {} fields, more than 25", fields.len()));
        }
        if let Some(c) = e.get("color") {
            if c.as_u64().is_none_or(|c| c > 0xFF_FF_FF) {
                problems.push(format!("{at}.color: not a colour"));
            }
        }
        if let Some(t) = e.get("timestamp") {
            if t.as_str().is_none_or(|t| chrono::DateTime::parse_from_rfc3339(t).is_err()) {
                problems.push(format!("{at}.timestamp: Could not parse {t}. Should be ISO8601."));
            }
        }
        if let Some(u) = e.get("url") {
            if !u.as_str().and_then(|u| url::Url::parse(u).ok()).is_some_and(|u| u.scheme().starts_with("http")) {
                problems.push(format!("{at}.url: Not a well formed URL."));
            }
        }
    }
    if total > 6_000 {
        problems.push(format!("embeds: {total} characters in all, more than 6000"));
    }
    if !v["allowed_mentions"]["parse"].is_array() {
        problems.push("allowed_mentions: missing (the hub always switches mentions off)".to_string());
    }
    problems
}

/// Teams' body limit for a Workflows webhook request.
pub const TEAMS_BYTES: usize = 28 * 1024;

/// The shape a Teams Workflows webhook ("Post to a channel when a webhook request is received") takes: a
/// `message` with Adaptive Card attachments (1.0 to 1.5, what Teams renders).
pub fn teams_problems(v: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if v["type"] != "message" {
        problems.push(format!("type: {} is not \"message\"", v["type"]));
    }
    let attachments = v["attachments"].as_array().cloned().unwrap_or_default();
    if attachments.is_empty() {
        problems.push("attachments: none".to_string());
    }
    for (i, a) in attachments.iter().enumerate() {
        let at = format!("attachments.{i}");
        if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
            problems.push(format!("{at}.contentType: {}", a["contentType"]));
        }
        let c = &a["content"];
        if c["type"] != "AdaptiveCard" {
            problems.push(format!("{at}.content.type: {}", c["type"]));
        }
        if !matches!(c["version"].as_str(), Some("1.0" | "1.1" | "1.2" | "1.3" | "1.4" | "1.5")) {
            problems.push(format!("{at}.content.version: {} is not one Teams renders", c["version"]));
        }
        let Some(body) = c["body"].as_array() else {
            problems.push(format!("{at}.content.body: missing"));
            continue;
        };
        for (j, b) in body.iter().enumerate() {
            let at = format!("{at}.content.body.{j}");
            match b["type"].as_str() {
                Some("TextBlock") => {
                    if !b["text"].is_string() {
                        problems.push(format!("{at}.text: missing"));
                    }
                }
                Some("FactSet") => {
                    let facts = b["facts"].as_array().cloned().unwrap_or_default();
                    if facts.is_empty() {
                        problems.push(format!("{at}.facts: none"));
                    }
                    if !facts.iter().all(|f| f["title"].is_string() && f["value"].is_string()) {
                        problems.push(format!("{at}.facts: a fact needs a title and a value"));
                    }
                }
                Some("Container" | "ColumnSet" | "Image" | "ActionSet" | "RichTextBlock" | "Table") => {}
                other => problems.push(format!("{at}.type: {other:?} is not an element type")),
            }
        }
        for (j, action) in c["actions"].as_array().cloned().unwrap_or_default().iter().enumerate() {
            let at = format!("{at}.content.actions.{j}");
            match action["type"].as_str() {
                Some("Action.OpenUrl") => {
                    if action["url"].as_str().is_none_or(|u| url::Url::parse(u).is_err()) {
                        problems.push(format!("{at}.url: not a URL"));
                    }
                }
                Some("Action.Submit" | "Action.ShowCard" | "Action.ToggleVisibility" | "Action.Execute") => {}
                other => problems.push(format!("{at}.type: {other:?} is not an action type")),
            }
        }
    }
    problems
}
