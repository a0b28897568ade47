//! Stand-ins for the six provider APIs the hub calls (docs/…/apps spec, "Calls the hub makes"), each an axum
//! server on 127.0.0.1 on a free port. One table ([`routes`]) says which method and path each provider accepts
//! and which handler checks and answers it; the handlers keep state (created objects, so an update or delete of
//! an unknown id is a 404 and an upsert of a known contact is an update) and answer with the provider's
//! documented bodies and statuses; errors come in each provider's own shape ([`error_body`]).
//!
//! What each check stands for in the provider's documentation:
//! - Every provider: `Authorization: Bearer <access token>` (Mailchimp's metadata endpoint: `OAuth <token>`),
//!   checked by introspection at the test OAuth server; a missing, unknown, expired or revoked token is a 401
//!   (Google: `UNAUTHENTICATED`/authError, Graph: `InvalidAuthenticationToken`, Zoom: code 124 "Invalid access
//!   token", HubSpot: category `INVALID_AUTHENTICATION`, Salesforce: `INVALID_SESSION_ID`, Mailchimp: problem
//!   "API Key Invalid"). A body must be JSON sent as `application/json` (a parse error is a 400).
//! - Google Calendar, Events: insert/patch/delete. `start.dateTime` and `end.dateTime` are RFC 3339 with an
//!   offset (a combined date-time value, "A time zone offset is required unless a time zone is explicitly
//!   specified in timeZone"); insert needs both (400 "Missing end time."); end before start is 400 "The
//!   specified time range is empty."; `attendees[].email` is required. Delete answers 204, and a deleted event
//!   410 "Resource has been deleted"; an unknown id 404 "Not Found".
//! - Microsoft Graph, event: create (`/me/events` or `/me/calendars/{id}/events`) 201, update 200, cancel 202,
//!   delete 204. `start`/`end` are dateTimeTimeZone: `dateTime` a combined date and time, `timeZone` required;
//!   `body.contentType` is `text` or `html` (any case); `attendees[].emailAddress.address` required, `type`
//!   required|optional|resource. An unknown or cancelled event is 404 `ErrorItemNotFound`.
//! - Zoom, Meetings: create 201 with a numeric `id` and `join_url`; `type` is 1, 2, 3 or 8 and a scheduled
//!   meeting (2) needs `start_time` as `yyyy-MM-ddTHH:mm:ssZ` (GMT) and `duration` in whole minutes; `topic` at
//!   most 200 characters, `agenda` 2,000. Update (PATCH) and delete answer 204; an unknown meeting 404 code 3001
//!   "Meeting does not exist".
//! - HubSpot CRM v3: contacts batch upsert needs `inputs` (1–100), each with `idProperty` (a unique property:
//!   `email` here), `id` and `properties` of strings; duplicate ids in one batch are a 400; answers 200
//!   `{status: "COMPLETE", results: [{id, properties, new}]}`, `new: false` when the contact existed. Deals:
//!   create 201, `properties.dealname`, `pipeline`, `dealstage` required, `amount` a numeric string.
//! - Salesforce REST: upsert by external id `PATCH /services/data/vXX.X/sobjects/Contact/{field}/{value}`:
//!   201 `{id, success, errors, created: true}` when it creates, 204 when it updates; creating without
//!   `LastName` is 400 `REQUIRED_FIELD_MISSING` (fields `[LastName]`); a field Contact does not have is
//!   `INVALID_FIELD`. Opportunity create needs `Name`, `StageName`, `CloseDate` (yyyy-mm-dd); `Amount` a number.
//!   Errors are arrays `[{message, errorCode, fields}]`.
//! - Mailchimp Marketing 3.0: add or update a list member `PUT /lists/{list_id}/members/{subscriber_hash}`,
//!   the hash being the MD5 of the lower-cased email (400 otherwise), `status_if_new` required for a new
//!   member (subscribed|unsubscribed|cleaned|pending|transactional), answers 200 with the member; tags `POST
//!   …/members/{hash}/tags` `{tags: [{name, status: active|inactive}]}` answer 204, 404 for an unknown member.
//!   Errors are application/problem+json `{type, title, status, detail, instance}`. `GET /oauth2/metadata`
//!   answers the account's `dc` and `api_endpoint` (this stand-in's address).
//!
//! Every request is recorded ([`ProviderStandIn::calls`]) with the status answered. [`ProviderStandIn::fail_next`]
//! makes the next requests fail with 401, 429 (with `Retry-After`), 5xx or 400 in the provider's shape.

use super::oauth::{Introspector, OAuthServer};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
/// Mailchimp's subscriber hash (MD5 of the lower-cased address), the hub's: its unit tests check it against
/// RFC 1321's vectors, tests/apps_standins.rs against Mailchimp's documented example.
pub use integration_hub::server::apps::actions::subscriber_hash;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// The six providers, by the hub's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    GoogleCalendar,
    Outlook,
    Zoom,
    HubSpot,
    Salesforce,
    Mailchimp,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Provider::GoogleCalendar,
        Provider::Outlook,
        Provider::Zoom,
        Provider::HubSpot,
        Provider::Salesforce,
        Provider::Mailchimp,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Provider::GoogleCalendar => "google_calendar",
            Provider::Outlook => "outlook",
            Provider::Zoom => "zoom",
            Provider::HubSpot => "hubspot",
            Provider::Salesforce => "salesforce",
            Provider::Mailchimp => "mailchimp",
        }
    }

    pub fn from_id(id: &str) -> Provider {
        Provider::ALL.into_iter().find(|p| p.id() == id).unwrap_or_else(|| panic!("no provider {id}"))
    }
}

/// One request the stand-in received, and the status it answered.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// The bearer token it came with.
    pub token: Option<String>,
    pub status: u16,
    pub at: std::time::Instant,
}

/// A failure to answer instead of the real handling.
#[derive(Clone, Copy, Debug)]
struct Injected {
    status: u16,
    retry_after: Option<u64>,
}

#[derive(Default)]
struct Store {
    /// Objects by kind (`event`, `meeting`, `contact`, `deal`, `opportunity`, `member`) and id.
    objects: HashMap<&'static str, HashMap<String, Value>>,
    /// Ids deleted, for answers that tell deleted from unknown (Google's 410).
    deleted: HashSet<(&'static str, String)>,
    next_id: u64,
    calls: Vec<Call>,
    failures: VecDeque<Injected>,
}

impl Store {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn kind(&mut self, kind: &'static str) -> &mut HashMap<String, Value> {
        self.objects.entry(kind).or_default()
    }
}

struct Inner {
    provider: Provider,
    base: String,
    introspector: Introspector,
    store: Mutex<Store>,
}

/// A running stand-in; clones share it.
#[derive(Clone)]
pub struct ProviderStandIn {
    inner: Arc<Inner>,
}

impl ProviderStandIn {
    /// Starts `provider`'s stand-in, checking bearer tokens at `oauth`.
    pub async fn start(provider: Provider, oauth: &OAuthServer) -> ProviderStandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let inner = Arc::new(Inner { provider, base, introspector: oauth.introspector(), store: Mutex::default() });
        let app = axum::Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("stand-in") });
        ProviderStandIn { inner }
    }

    pub fn provider(&self) -> Provider {
        self.inner.provider
    }

    /// The API base URL (`HUB_OAUTH_<PROVIDER>_API_BASE`, Salesforce's `instance_url`).
    pub fn base(&self) -> &str {
        &self.inner.base
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.store.lock().unwrap().calls.clone()
    }

    /// The requests answered with a 2xx.
    pub fn accepted(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| (200..300).contains(&c.status)).collect()
    }

    /// Waits until at least `n` requests have come or `within` has passed; returns them as they are then.
    pub async fn wait_calls(&self, n: usize, within: std::time::Duration) -> Vec<Call> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let calls = self.calls();
            if calls.len() >= n || std::time::Instant::now() > deadline {
                return calls;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The objects of `kind` the stand-in holds now (`event`, `meeting`, `contact`, `deal`, `opportunity`,
    /// `member`).
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        let store = self.inner.store.lock().unwrap();
        store.objects.iter().find(|(k, _)| **k == kind).map(|(_, m)| m.values().cloned().collect()).unwrap_or_default()
    }

    /// The next `count` requests are answered with `status` (401, 429, 5xx, 400…) in the provider's error
    /// shape, a 429 with `Retry-After: retry_after` seconds when given; they change nothing.
    pub fn fail_next(&self, status: u16, count: usize, retry_after: Option<u64>) {
        let mut store = self.inner.store.lock().unwrap();
        store.failures.extend(std::iter::repeat_n(Injected { status, retry_after }, count));
    }
}

/// What a handler answers.
enum Reply {
    Json(u16, Value),
    Empty(u16),
    Error(Fail),
}

/// A refusal: its status, the message, and the field it is about.
struct Fail {
    status: u16,
    message: String,
    field: Option<String>,
}

fn fail(status: u16, message: impl Into<String>) -> Fail {
    Fail { status, message: message.into(), field: None }
}

/// A 400 about `field`.
fn invalid(field: &str, message: impl Into<String>) -> Fail {
    Fail { status: 400, message: message.into(), field: Some(field.into()) }
}

/// What a handler sees of one request.
struct Req<'a> {
    params: HashMap<&'static str, String>,
    body: Value,
    base: &'a str,
    store: &'a mut Store,
}

impl Req<'_> {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or_default()
    }
}

type Handler = fn(&mut Req) -> Result<Reply, Fail>;

/// One accepted method and path (`{name}` matches one segment, percent-decoded) and its handler.
struct Route {
    method: Method,
    path: &'static str,
    handler: Handler,
}

const fn route(method: Method, path: &'static str, handler: Handler) -> Route {
    Route { method, path, handler }
}

/// Each provider's API as the hub calls it.
fn routes(provider: Provider) -> &'static [Route] {
    const GOOGLE: &[Route] = &[
        route(Method::POST, "/calendar/v3/calendars/{calendarId}/events", google_insert),
        route(Method::PATCH, "/calendar/v3/calendars/{calendarId}/events/{eventId}", google_patch),
        route(Method::DELETE, "/calendar/v3/calendars/{calendarId}/events/{eventId}", google_delete),
    ];
    const OUTLOOK: &[Route] = &[
        route(Method::POST, "/v1.0/me/events", graph_create),
        route(Method::POST, "/v1.0/me/calendars/{calendarId}/events", graph_create),
        route(Method::PATCH, "/v1.0/me/events/{id}", graph_update),
        route(Method::POST, "/v1.0/me/events/{id}/cancel", graph_cancel),
        route(Method::DELETE, "/v1.0/me/events/{id}", graph_delete),
    ];
    const ZOOM: &[Route] = &[
        route(Method::POST, "/v2/users/me/meetings", zoom_create),
        route(Method::PATCH, "/v2/meetings/{meetingId}", zoom_update),
        route(Method::DELETE, "/v2/meetings/{meetingId}", zoom_delete),
    ];
    const HUBSPOT: &[Route] = &[
        route(Method::POST, "/crm/v3/objects/contacts/batch/upsert", hubspot_upsert),
        route(Method::POST, "/crm/v3/objects/deals", hubspot_deal),
    ];
    const SALESFORCE: &[Route] = &[
        route(Method::PATCH, "/services/data/{version}/sobjects/Contact/{field}/{value}", salesforce_upsert),
        route(Method::POST, "/services/data/{version}/sobjects/Opportunity", salesforce_opportunity),
    ];
    const MAILCHIMP: &[Route] = &[
        route(Method::PUT, "/3.0/lists/{listId}/members/{hash}", mailchimp_member),
        route(Method::POST, "/3.0/lists/{listId}/members/{hash}/tags", mailchimp_tags),
        route(Method::GET, "/oauth2/metadata", mailchimp_metadata),
    ];
    match provider {
        Provider::GoogleCalendar => GOOGLE,
        Provider::Outlook => OUTLOOK,
        Provider::Zoom => ZOOM,
        Provider::HubSpot => HUBSPOT,
        Provider::Salesforce => SALESFORCE,
        Provider::Mailchimp => MAILCHIMP,
    }
}

/// The route `path` matches and its captured segments.
fn find_route(provider: Provider, path: &str) -> Vec<(&'static Route, HashMap<&'static str, String>)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    routes(provider)
        .iter()
        .filter_map(|r| {
            let pattern: Vec<&'static str> = r.path.trim_start_matches('/').split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = HashMap::new();
            for (p, s) in pattern.iter().zip(&segments) {
                match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => {
                        params.insert(name, percent_decode(s));
                    }
                    _ if p == s => {}
                    _ => return None,
                }
            }
            Some((r, params))
        })
        .collect()
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = inner.provider;
    let parsed: Result<Value, String> = if body.is_empty() {
        Ok(Value::Null)
    } else if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        Err("the body must be sent as application/json".into())
    } else {
        serde_json::from_slice(&body).map_err(|e| format!("Parse Error: {e}"))
    };
    let authorised = match bearer(&headers, uri.path() == "/oauth2/metadata") {
        Some(token) => inner.introspector.introspect(token).await.is_some(),
        None => false,
    };

    let mut store = inner.store.lock().unwrap();
    let injected = store.failures.pop_front();
    let reply = if let Some(f) = injected {
        Reply::Error(fail(f.status, injected_message(f.status)))
    } else if !authorised {
        Reply::Error(fail(401, "Invalid or expired access token"))
    } else {
        let matches = find_route(provider, uri.path());
        match (matches.iter().find(|(r, _)| r.method == method), parsed.clone()) {
            (None, _) if matches.is_empty() => Reply::Error(fail(404, format!("No such resource: {}", uri.path()))),
            (None, _) => Reply::Error(fail(405, format!("{method} is not allowed on {}", uri.path()))),
            (Some(_), Err(e)) => Reply::Error(fail(400, e)),
            (Some((route, params)), Ok(body)) => {
                let mut req = Req { params: params.clone(), body, base: &inner.base, store: &mut store };
                (route.handler)(&mut req).unwrap_or_else(Reply::Error)
            }
        }
    };
    let status = match &reply {
        Reply::Json(s, _) | Reply::Empty(s) => *s,
        Reply::Error(f) => f.status,
    };
    store.calls.push(Call {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        body: parsed.unwrap_or(Value::Null),
        token: bearer(&headers, true).map(str::to_string),
        status,
        at: std::time::Instant::now(),
    });
    drop(store);
    let code = StatusCode::from_u16(status).expect("status");
    match reply {
        Reply::Json(_, v) => (code, axum::Json(v)).into_response(),
        Reply::Empty(_) => code.into_response(),
        Reply::Error(f) => {
            let (body, content_type) = error_body(provider, &f);
            let mut response = (code, [("content-type", content_type)], body.to_string()).into_response();
            if let Some(seconds) = injected.and_then(|i| i.retry_after) {
                response.headers_mut().insert("retry-after", seconds.into());
            }
            if status == 401 && matches!(provider, Provider::GoogleCalendar | Provider::Outlook) {
                let challenge = "Bearer realm=\"api\", error=\"invalid_token\"";
                response.headers_mut().insert("www-authenticate", challenge.parse().expect("header"));
            }
            response
        }
    }
}

/// The bearer token of the request (`OAuth <token>` too where Mailchimp documents it).
fn bearer(headers: &HeaderMap, oauth_scheme: bool) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("OAuth ").filter(|_| oauth_scheme))
}

fn injected_message(status: u16) -> &'static str {
    match status {
        401 => "Invalid or expired access token",
        429 => "Rate limit exceeded",
        400 => "The request was refused",
        _ => "Internal error, try again later",
    }
}

/// `fail` as `provider` words an error: its body and content type.
fn error_body(provider: Provider, f: &Fail) -> (Value, &'static str) {
    let Fail { status, message, field } = f;
    let json = "application/json";
    match provider {
        Provider::GoogleCalendar => {
            let (reason, grpc) = match status {
                401 => ("authError", "UNAUTHENTICATED"),
                404 => ("notFound", "NOT_FOUND"),
                410 => ("deleted", "NOT_FOUND"),
                429 => ("rateLimitExceeded", "RESOURCE_EXHAUSTED"),
                400 => ("invalid", "INVALID_ARGUMENT"),
                _ => ("backendError", "INTERNAL"),
            };
            let error = json!({"domain": "global", "reason": reason, "message": message, "location": field});
            (json!({"error": {"code": status, "message": message, "errors": [error], "status": grpc}}), json)
        }
        Provider::Outlook => {
            let code = match status {
                401 => "InvalidAuthenticationToken",
                404 => "ErrorItemNotFound",
                429 => "TooManyRequests",
                400 => "ErrorInvalidRequest",
                _ => "generalException",
            };
            let inner = json!({"date": "2026-01-01T00:00:00", "request-id": "standin"});
            (json!({"error": {"code": code, "message": message, "innerError": inner}}), json)
        }
        Provider::Zoom => {
            let code = match status {
                401 => 124,
                404 => 3001,
                429 => 429,
                400 => 300,
                _ => 500,
            };
            (json!({"code": code, "message": message}), json)
        }
        Provider::HubSpot => {
            let category = match status {
                401 => "INVALID_AUTHENTICATION",
                404 => "OBJECT_NOT_FOUND",
                429 => "RATE_LIMITS",
                400 => "VALIDATION_ERROR",
                _ => "INTERNAL_ERROR",
            };
            let body = json!({"status": "error", "message": message, "correlationId": "standin", "category": category,
                "context": field.as_ref().map(|f| json!({"properties": [f]}))});
            (body, json)
        }
        Provider::Salesforce => {
            let code = match (status, field.as_deref()) {
                (401, _) => "INVALID_SESSION_ID",
                (404, _) => "NOT_FOUND",
                (429, _) => "REQUEST_LIMIT_EXCEEDED",
                (400, Some("LastName" | "Name" | "StageName" | "CloseDate")) if message.starts_with("Required") => {
                    "REQUIRED_FIELD_MISSING"
                }
                (400, Some(_)) if message.starts_with("No such column") => "INVALID_FIELD",
                (400, _) => "INVALID_FIELD_FOR_INSERT_UPDATE",
                _ => "UNKNOWN_EXCEPTION",
            };
            let fields: Vec<&String> = field.iter().collect();
            (json!([{"message": message, "errorCode": code, "fields": fields}]), json)
        }
        Provider::Mailchimp => {
            let title = match status {
                401 => "API Key Invalid",
                404 => "Resource Not Found",
                429 => "Too Many Requests",
                400 => "Invalid Resource",
                _ => "Internal Server Error",
            };
            let body = json!({"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
                "status": status, "detail": message, "instance": "standin"});
            (body, "application/problem+json")
        }
    }
}

// ---- body checks shared by the handlers ----

/// The value at `pointer` (`/start/dateTime`) as a string; `required` makes its absence a 400.
fn text<'a>(body: &'a Value, pointer: &str, required: bool) -> Result<Option<&'a str>, Fail> {
    let name = pointer.trim_start_matches('/').replace('/', ".");
    match body.pointer(pointer) {
        None | Some(Value::Null) if required => Err(invalid(&name, format!("Required field missing: {name}"))),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(&name, format!("{name} must be a string, not {other}"))),
    }
}

fn object(body: &Value) -> Result<&Map<String, Value>, Fail> {
    body.as_object().ok_or_else(|| fail(400, "The body must be a JSON object"))
}

fn email_ok(s: &str) -> bool {
    s.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !s.contains(' '))
}

fn email(body: &Value, pointer: &str, required: bool) -> Result<Option<String>, Fail> {
    let name = pointer.trim_start_matches('/').replace('/', ".");
    match text(body, pointer, required)? {
        Some(e) if !email_ok(e) => Err(invalid(&name, format!("Invalid email address: {e}"))),
        e => Ok(e.map(str::to_string)),
    }
}

/// Each element of the array at `pointer` (none when absent); not an array is a 400.
fn each<'a>(body: &'a Value, pointer: &str) -> Result<&'a [Value], Fail> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(pointer.trim_start_matches('/'), "must be an array")),
    }
}

/// A string of at most `max` characters.
fn max_len(body: &Value, pointer: &str, max: usize) -> Result<(), Fail> {
    match text(body, pointer, false)? {
        Some(s) if s.chars().count() > max => {
            Err(invalid(pointer.trim_start_matches('/'), format!("longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

/// `body` with `patch`'s fields over it.
fn merged(mut body: Value, patch: &Value) -> Value {
    if let (Some(target), Some(changes)) = (body.as_object_mut(), patch.as_object()) {
        for (k, v) in changes {
            target.insert(k.clone(), v.clone());
        }
    }
    body
}

// ---- Google Calendar ----

/// Checks an event body; `insert` requires start and end.
fn google_event(body: &Value, insert: bool) -> Result<(), Fail> {
    object(body)?;
    for field in ["/summary", "/description", "/location"] {
        text(body, field, false)?;
    }
    let mut times = Vec::new();
    for (pointer, missing) in [("/start/dateTime", "Missing start time."), ("/end/dateTime", "Missing end time.")] {
        match text(body, pointer, false)? {
            Some(t) => times.push(chrono::DateTime::parse_from_rfc3339(t).map_err(|_| {
                invalid(&pointer[1..].replace('/', "."), format!("Invalid value for dateTime: {t} (RFC 3339 expected)"))
            })?),
            None if insert => return Err(invalid(&pointer[1..].replace('/', "."), missing)),
            None => {}
        }
    }
    if let [start, end] = times[..] {
        if end < start {
            return Err(fail(400, "The specified time range is empty."));
        }
    }
    for a in each(body, "/attendees")? {
        email(a, "/email", true)?;
    }
    Ok(())
}

fn google_answer(id: &str, calendar: &str, body: &Value) -> Value {
    let link = format!("https://www.google.com/calendar/event?eid={id}");
    let organizer = json!({"email": calendar, "self": true});
    merged(
        json!({"kind": "calendar#event", "id": id, "status": "confirmed", "htmlLink": link, "organizer": organizer}),
        body,
    )
}

fn google_insert(req: &mut Req) -> Result<Reply, Fail> {
    google_event(&req.body, true)?;
    let id = format!("standinevt{:06}", req.store.new_id());
    let event = google_answer(&id, req.param("calendarId"), &req.body);
    req.store.kind("event").insert(id, event.clone());
    Ok(Reply::Json(200, event))
}

/// The stored event the path names in its calendar: 410 when deleted, 404 when unknown.
fn google_existing(req: &mut Req) -> Result<Value, Fail> {
    let (calendar, id) = (req.param("calendarId").to_string(), req.param("eventId").to_string());
    if req.store.deleted.contains(&("event", id.clone())) {
        return Err(fail(410, "Resource has been deleted"));
    }
    match req.store.kind("event").get(&id) {
        Some(e) if e["organizer"]["email"] == calendar.as_str() => Ok(e.clone()),
        _ => Err(fail(404, "Not Found")),
    }
}

fn google_patch(req: &mut Req) -> Result<Reply, Fail> {
    let existing = google_existing(req)?;
    google_event(&req.body, false)?;
    let event = merged(existing, &req.body);
    google_event(&event, true)?;
    let id = req.param("eventId").to_string();
    req.store.kind("event").insert(id, event.clone());
    Ok(Reply::Json(200, event))
}

fn google_delete(req: &mut Req) -> Result<Reply, Fail> {
    google_existing(req)?;
    let id = req.param("eventId").to_string();
    req.store.kind("event").remove(&id);
    req.store.deleted.insert(("event", id));
    Ok(Reply::Empty(204))
}

// ---- Microsoft Graph ----

fn graph_event(body: &Value, create: bool) -> Result<(), Fail> {
    object(body)?;
    text(body, "/subject", create)?;
    if let Some(kind) = text(body, "/body/contentType", body.get("body").is_some())? {
        if !kind.eq_ignore_ascii_case("text") && !kind.eq_ignore_ascii_case("html") {
            return Err(invalid("body.contentType", format!("Invalid contentType: {kind}")));
        }
    }
    for side in ["start", "end"] {
        let present = body.get(side).is_some();
        if let Some(t) = text(body, &format!("/{side}/dateTime"), create || present)? {
            let naive = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok();
            if !naive && chrono::DateTime::parse_from_rfc3339(t).is_err() {
                return Err(invalid(&format!("{side}.dateTime"), format!("Cannot convert the literal '{t}'")));
            }
            text(body, &format!("/{side}/timeZone"), true)?;
        }
    }
    text(body, "/location/displayName", false)?;
    for a in each(body, "/attendees")? {
        email(a, "/emailAddress/address", true)?;
        text(a, "/emailAddress/name", false)?;
        if let Some(t) = text(a, "/type", false)? {
            if !["required", "optional", "resource"].contains(&t) {
                return Err(invalid("attendees.type", format!("Invalid attendee type: {t}")));
            }
        }
    }
    Ok(())
}

fn graph_existing(req: &mut Req) -> Result<Value, Fail> {
    let id = req.param("id").to_string();
    req.store
        .kind("event")
        .get(&id)
        .cloned()
        .ok_or_else(|| fail(404, "The specified object was not found in the store."))
}

fn graph_create(req: &mut Req) -> Result<Reply, Fail> {
    graph_event(&req.body, true)?;
    let id = format!("AAMkAGstandin{:06}", req.store.new_id());
    let link = format!("https://outlook.office365.com/owa/?itemid={id}&exvsurl=1&path=/calendar/item");
    let event = merged(json!({"id": id, "webLink": link, "isCancelled": false}), &req.body);
    req.store.kind("event").insert(id, event.clone());
    Ok(Reply::Json(201, event))
}

fn graph_update(req: &mut Req) -> Result<Reply, Fail> {
    let existing = graph_existing(req)?;
    graph_event(&req.body, false)?;
    let event = merged(existing, &req.body);
    let id = req.param("id").to_string();
    req.store.kind("event").insert(id, event.clone());
    Ok(Reply::Json(200, event))
}

/// The event leaves the organizer's calendar (cancelled or deleted); a second time it is unknown.
fn graph_remove(req: &mut Req) -> Result<(), Fail> {
    graph_existing(req)?;
    let id = req.param("id").to_string();
    req.store.kind("event").remove(&id);
    req.store.deleted.insert(("event", id));
    Ok(())
}

fn graph_cancel(req: &mut Req) -> Result<Reply, Fail> {
    if !req.body.is_null() {
        object(&req.body)?;
        text(&req.body, "/comment", false)?;
    }
    graph_remove(req)?;
    Ok(Reply::Empty(202))
}

fn graph_delete(req: &mut Req) -> Result<Reply, Fail> {
    graph_remove(req)?;
    Ok(Reply::Empty(204))
}

// ---- Zoom ----

fn zoom_meeting(body: &Value, create: bool) -> Result<(), Fail> {
    object(body)?;
    max_len(body, "/topic", 200)?;
    max_len(body, "/agenda", 2000)?;
    text(body, "/timezone", false)?;
    let kind = match body.get("type") {
        None if create => 2,
        None => 0,
        Some(t) => match t.as_i64() {
            Some(t @ (1 | 2 | 3 | 8)) => t,
            _ => return Err(invalid("type", format!("Invalid field: type {t}"))),
        },
    };
    if let Some(start) = text(body, "/start_time", create && kind == 2)? {
        if chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M:%SZ").is_err() {
            return Err(invalid("start_time", format!("Invalid field: start_time {start} (yyyy-MM-ddTHH:mm:ssZ)")));
        }
    }
    match body.get("duration") {
        None if create && kind == 2 => Err(invalid("duration", "Invalid field: duration is required")),
        None => Ok(()),
        Some(d) if d.as_u64().is_some_and(|d| d > 0) => Ok(()),
        Some(d) => Err(invalid("duration", format!("Invalid field: duration {d} (whole minutes)"))),
    }
}

fn zoom_existing(req: &mut Req) -> Result<String, Fail> {
    let id = req.param("meetingId").to_string();
    match req.store.kind("meeting").contains_key(&id) {
        true => Ok(id),
        false => Err(fail(404, format!("Meeting does not exist: {id}."))),
    }
}

fn zoom_create(req: &mut Req) -> Result<Reply, Fail> {
    zoom_meeting(&req.body, true)?;
    let id = 85_000_000_000 + req.store.new_id();
    let meeting = merged(
        json!({"id": id, "uuid": format!("standin{id}=="), "host_id": "standin-host", "type": 2, "status": "waiting",
               "join_url": format!("https://zoom.us/j/{id}?pwd=standin"),
               "start_url": format!("https://zoom.us/s/{id}?zak=standin")}),
        &req.body,
    );
    req.store.kind("meeting").insert(id.to_string(), meeting.clone());
    Ok(Reply::Json(201, meeting))
}

fn zoom_update(req: &mut Req) -> Result<Reply, Fail> {
    let id = zoom_existing(req)?;
    zoom_meeting(&req.body, false)?;
    let meetings = req.store.kind("meeting");
    let updated = merged(meetings[&id].clone(), &req.body);
    meetings.insert(id, updated);
    Ok(Reply::Empty(204))
}

fn zoom_delete(req: &mut Req) -> Result<Reply, Fail> {
    let id = zoom_existing(req)?;
    req.store.kind("meeting").remove(&id);
    Ok(Reply::Empty(204))
}

// ---- HubSpot ----

/// `properties` must be an object of strings (HubSpot's property values).
fn string_properties<'a>(body: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, Fail> {
    let props = body
        .pointer(pointer)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("properties", "properties is required"))?;
    match props.iter().find(|(_, v)| !(v.is_string() || v.is_null())) {
        Some((k, v)) => Err(invalid(k, format!("Property values must be strings: {k} is {v}"))),
        None => Ok(props),
    }
}

fn hubspot_upsert(req: &mut Req) -> Result<Reply, Fail> {
    let inputs = each(&req.body, "/inputs")?;
    if inputs.is_empty() || inputs.len() > 100 {
        return Err(invalid("inputs", "inputs must hold 1 to 100 objects"));
    }
    let mut seen = HashSet::new();
    for input in inputs {
        if text(input, "/idProperty", true)? != Some("email") {
            return Err(invalid("idProperty", "idProperty must be a unique property (email)"));
        }
        let id = email(input, "/id", true)?.unwrap_or_default().to_lowercase();
        if !seen.insert(id) {
            return Err(fail(400, "Duplicate IDs found in batch input"));
        }
        string_properties(input, "/properties")?;
    }
    let mut results = Vec::new();
    for input in inputs {
        let key = input["id"].as_str().unwrap_or_default().to_lowercase();
        let contacts = req.store.objects.entry("contact").or_default();
        let existing = contacts.get(&key).cloned();
        let id = match &existing {
            Some(c) => c["id"].clone(),
            None => json!((1000 + req.store.new_id()).to_string()),
        };
        let previous = existing.as_ref().map_or(json!({}), |c| c["properties"].clone());
        let mut properties = merged(previous, &input["properties"]);
        properties["email"] = json!(key);
        let contact = json!({"id": id, "properties": properties, "archived": false});
        req.store.kind("contact").insert(key, contact.clone());
        results.push(merged(contact, &json!({"new": existing.is_none()})));
    }
    Ok(Reply::Json(200, json!({"status": "COMPLETE", "results": results})))
}

fn hubspot_deal(req: &mut Req) -> Result<Reply, Fail> {
    let props = string_properties(&req.body, "/properties")?;
    for field in ["dealname", "pipeline", "dealstage"] {
        text(&req.body, &format!("/properties/{field}"), true)?;
    }
    if let Some(amount) = props.get("amount").and_then(Value::as_str) {
        if amount.parse::<f64>().is_err() {
            return Err(invalid("amount", format!("{amount} is not a valid number")));
        }
    }
    let id = (2000 + req.store.new_id()).to_string();
    let deal = json!({"id": id, "properties": req.body["properties"], "archived": false});
    req.store.kind("deal").insert(id, deal.clone());
    Ok(Reply::Json(201, deal))
}

// ---- Salesforce ----

/// Contact's standard fields the hub may map to (custom fields end in `__c`).
const CONTACT_FIELDS: [&str; 14] = [
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "Department",
    "Description",
    "LeadSource",
    "MailingStreet",
    "MailingCity",
    "MailingPostalCode",
    "MailingCountry",
    "AccountId",
];

fn salesforce_version(req: &Req) -> Result<(), Fail> {
    let v = req.param("version");
    let ok = v
        .strip_prefix('v')
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(major, minor)| major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(fail(404, format!("The requested resource does not exist: version {v}")))
    }
}

fn salesforce_upsert(req: &mut Req) -> Result<Reply, Fail> {
    salesforce_version(req)?;
    let field = req.param("field").to_string();
    if field != "Email" && field != "Id" && !field.ends_with("__c") {
        return Err(invalid(
            &field,
            format!("Provided external ID field does not exist or is not accessible: {field}"),
        ));
    }
    let fields = object(&req.body)?;
    if let Some(unknown) = fields.keys().find(|k| !CONTACT_FIELDS.contains(&k.as_str()) && !k.ends_with("__c")) {
        return Err(invalid(unknown, format!("No such column '{unknown}' on sobject of type Contact")));
    }
    if let Some((k, _)) = fields.iter().find(|(_, v)| v.is_object() || v.is_array()) {
        return Err(invalid(k, format!("Cannot deserialize instance of string from {k}")));
    }
    email(&req.body, "/Email", false)?;
    let key = format!("{field}:{}", req.param("value").to_lowercase());
    let existing = req.store.kind("contact").get(&key).cloned();
    if existing.is_none() && text(&req.body, "/LastName", true)?.is_none_or(str::is_empty) {
        return Err(invalid("LastName", "Required fields are missing: [LastName]"));
    }
    let id = match &existing {
        Some(c) => c["Id"].as_str().unwrap_or_default().to_string(),
        None => format!("003Sa{:010}AAQ", req.store.new_id()),
    };
    let contact =
        merged(existing.clone().unwrap_or_else(|| json!({"Id": id, field.clone(): req.param("value")})), &req.body);
    req.store.kind("contact").insert(key, contact);
    match existing {
        Some(_) => Ok(Reply::Empty(204)),
        None => Ok(Reply::Json(201, json!({"id": id, "success": true, "errors": [], "created": true}))),
    }
}

fn salesforce_opportunity(req: &mut Req) -> Result<Reply, Fail> {
    salesforce_version(req)?;
    object(&req.body)?;
    for field in ["Name", "StageName", "CloseDate"] {
        if text(&req.body, &format!("/{field}"), false)?.is_none_or(str::is_empty) {
            return Err(invalid(field, format!("Required fields are missing: [{field}]")));
        }
    }
    let close = req.body["CloseDate"].as_str().unwrap_or_default();
    if chrono::NaiveDate::parse_from_str(close, "%Y-%m-%d").is_err() {
        return Err(invalid("CloseDate", format!("CloseDate: value not of required type: {close}")));
    }
    if req.body.get("Amount").is_some_and(|a| !a.is_number()) {
        return Err(invalid("Amount", "Amount: value not of required type (a number)"));
    }
    let id = format!("006Sa{:010}AAQ", req.store.new_id());
    req.store.kind("opportunity").insert(id.clone(), merged(json!({"Id": id}), &req.body));
    Ok(Reply::Json(201, json!({"id": id, "success": true, "errors": []})))
}

// ---- Mailchimp ----

const MEMBER_STATUSES: [&str; 5] = ["subscribed", "unsubscribed", "cleaned", "pending", "transactional"];

fn mailchimp_member(req: &mut Req) -> Result<Reply, Fail> {
    object(&req.body)?;
    let address = email(&req.body, "/email_address", true)?.unwrap_or_default();
    let hash = req.param("hash").to_string();
    if hash != subscriber_hash(&address) {
        return Err(invalid("subscriber_hash", "The subscriber hash must be the MD5 of the lower-cased email address"));
    }
    let key = format!("{}/{hash}", req.param("listId"));
    let existing = req.store.kind("member").get(&key).cloned();
    for field in ["/status_if_new", "/status"] {
        if let Some(s) = text(&req.body, field, false)? {
            if !MEMBER_STATUSES.contains(&s) {
                return Err(invalid(&field[1..], format!("Invalid status: {s}")));
            }
        }
    }
    let status_if_new = text(&req.body, "/status_if_new", false)?;
    if existing.is_none() && status_if_new.is_none() && req.body.get("status").is_none() {
        return Err(invalid("status_if_new", "status_if_new is required when the member is new"));
    }
    if let Some(fields) = req.body.get("merge_fields") {
        string_properties(&json!({"properties": fields}), "/properties")?;
    }
    let status = existing.as_ref().map_or_else(
        || req.body.get("status").and_then(Value::as_str).or(status_if_new).unwrap_or_default().to_string(),
        |m| m["status"].as_str().unwrap_or_default().to_string(),
    );
    let base = existing.unwrap_or_else(|| json!({"id": hash, "list_id": req.param("listId"), "tags": []}));
    let mut member = merged(base, &req.body);
    member["status"] = json!(status);
    member.as_object_mut().map(|m| m.remove("status_if_new"));
    req.store.kind("member").insert(key, member.clone());
    Ok(Reply::Json(200, member))
}

fn mailchimp_tags(req: &mut Req) -> Result<Reply, Fail> {
    let key = format!("{}/{}", req.param("listId"), req.param("hash"));
    if !req.store.kind("member").contains_key(&key) {
        return Err(fail(404, "The requested resource could not be found."));
    }
    let tags = each(&req.body, "/tags")?;
    if req.body.get("tags").is_none() {
        return Err(invalid("tags", "tags is required"));
    }
    for tag in tags {
        if text(tag, "/name", true)?.is_none_or(str::is_empty) {
            return Err(invalid("tags.name", "A tag needs a name"));
        }
        if !matches!(text(tag, "/status", true)?, Some("active" | "inactive")) {
            return Err(invalid("tags.status", "A tag's status is active or inactive"));
        }
    }
    let member = req.store.kind("member").get_mut(&key).expect("member");
    let mut names: Vec<Value> = member["tags"].as_array().cloned().unwrap_or_default();
    for tag in tags {
        let name = &tag["name"];
        names.retain(|n| n != name);
        if tag["status"] == "active" {
            names.push(name.clone());
        }
    }
    member["tags"] = Value::Array(names);
    Ok(Reply::Empty(204))
}

fn mailchimp_metadata(req: &mut Req) -> Result<Reply, Fail> {
    let base = req.base.to_string();
    Ok(Reply::Json(
        200,
        json!({"dc": "us1", "role": "owner", "accountname": "Stand-in", "api_endpoint": base,
               "login_url": format!("{base}/login"), "login": {"login_name": "test-user"}}),
    ))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
