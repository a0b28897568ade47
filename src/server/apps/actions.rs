//! Event-driven actions of connected apps: one trigger event (`event.created`, `contact.created`,
//! `registration.confirmed`, …) becomes the calls a provider documents (insert a calendar event, upsert a
//! contact, add a list member), and the provider's answer becomes what the hub records.
//!
//! Three steps, the first and last pure (and unit-tested for every provider):
//! - [`plan`]: the calls for one event: method, path (ids from the connection's settings and from the object
//!   links earlier calls stored, so an update patches what the insert made) and JSON body, rendered from the
//!   event's `data` by the action's template through the bounded renderer body templates use;
//! - [`execute`]: the calls sent through the SSRF-guarded client with the connection's bearer token, a 401
//!   answered by one refresh and one retry;
//! - [`read_answer`]: created / updated / already gone, the remote id and URL to remember, or why it failed
//!   (slow down, try again, or a permanent refusal quoting the provider's own message, read from each
//!   provider's error shape).
//!
//! The delivery queue ([`send`], called by the sender for [`DestinationKind::App`] endpoints) and Sync now
//! ([`super::sync`]) both run actions through [`run`].

use super::tokens::{AppToken, TokenError};
use crate::model::{
    AppResult, ConnectionStatus, DeliveryAttempt, ErrorKind, RecordError, SyncLog, SyncStatus, Webhook,
};
use crate::server::delivery::policy::{parse_retry_after, MAX_RETRY_AFTER_SECS};
use crate::server::delivery::sender::{failed, new_attempt, request, Message, Outbound, Rule, Sent, USER_AGENT};
use crate::server::delivery::template::render_message_part;
use crate::server::service::Hub;
use crate::server::store::{Store, StoredConnection};
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The event types a provider's actions run on (what its hidden endpoint subscribes to): the triggers its
/// definition lists.
pub fn triggers(provider: &str) -> Vec<&'static str> {
    let def = crate::model::ProviderId::parse(provider).map(super::providers::definition);
    def.map(|d| d.actions.iter().map(|(trigger, _)| *trigger).collect()).unwrap_or_default()
}

/// Requests a minute a connection's sends are held to unless the provider says slow down sooner: below each
/// provider's documented per-user or per-app budget, so a burst of events does not spend it (Google Calendar:
/// 600 a minute per user; Microsoft Graph: 10,000 per 10 minutes per mailbox; Zoom: meeting writes are its
/// "medium" class and 100 meetings a day per user; HubSpot: 100 per 10 s per OAuth app; Salesforce: a daily
/// budget per org; Mailchimp: 10 connections at once).
pub fn default_rate_limit_per_minute(provider: &str) -> u32 {
    match provider {
        "google_calendar" => 300,
        "outlook" => 600,
        "zoom" => 60,
        "hubspot" => 480,
        "salesforce" => 300,
        "mailchimp" => 300,
        _ => 60,
    }
}

// ---- templates ------------------------------------------------------------------------------------------------

/// How an error of `action`'s template begins (the sync log's and the preview's words); saving settings reads the
/// action back from it to name the field.
pub fn template_error_prefix(action: &str) -> String {
    format!("the {action} template: ")
}

/// The shipped template of one action (see [`super::templates`]).
pub fn default_template(provider: &str, action: &str) -> Option<&'static str> {
    let def = super::providers::definition(crate::model::ProviderId::parse(provider)?);
    def.templates.iter().find(|(a, _)| *a == action).map(|(_, t)| *t)
}

/// Mapped properties a connection may add (HubSpot, Salesforce): more is refused rather than sent.
pub const MAX_MAPPED_PROPERTIES: usize = 100;

// ---- plans --------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// What a call does to the remote record, which decides how its answer is read and what is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Makes the record (calendar event, meeting): its id is remembered under the call's link key.
    Create,
    /// Changes the record the link names.
    Update,
    /// Cancels or deletes it: already gone (404, 410) counts as done.
    Cancel,
    /// Creates or updates (contacts, list members): the answer or an earlier link says which.
    Upsert,
    /// A further record made once per source (a deal, an opportunity): remembered so a retry or replay does
    /// not make a second.
    Extra,
    /// Changes nothing the log counts (a member's tags).
    Attach,
}

/// One request to the provider's API.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The template it was rendered with (`event`, `contact`, …; empty for calls without a body template).
    pub action: &'static str,
    pub method: Method,
    /// Path and query under the API base, segments percent-encoded.
    pub path: String,
    pub body: Option<Value>,
    pub effect: Effect,
    /// The object link this call reads or writes (`event:<id>`, `contact:<email>`, `deal:<id>`).
    pub link: Option<String>,
}

/// What an earlier call made, as stored in the object links.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    pub remote_id: String,
    pub remote_url: Option<String>,
}

/// The calls for one event, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// How the sync log names the record (`event evt_1 "Launch"`, `ada@example.com`).
    pub record: String,
    pub calls: Vec<Call>,
    /// Set when there is nothing to do (a Zoom action for an event that is not virtual, an update of an event
    /// the connection never saw created, an unpaid registration's deal): the event is counted as processed.
    pub skipped: Option<String>,
}

/// The object links [`plan`] may need for this event: the caller reads these and passes what exists.
pub fn link_keys(provider: &str, event_type: &str, data: &Value) -> Vec<String> {
    let data = &normalize(event_type, data);
    let mut keys = Vec::new();
    match provider {
        "google_calendar" | "outlook" | "zoom" => keys.extend(event_key(data)),
        "hubspot" | "salesforce" | "mailchimp" => {
            keys.extend(contact_key(data));
            if event_type == "registration.confirmed" {
                keys.extend(deal_key(data));
            }
        }
        _ => {}
    }
    keys
}

fn text_field<'a>(data: &'a Value, name: &str) -> Option<&'a str> {
    data.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn id_field(data: &Value, name: &str) -> Option<String> {
    match data.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn event_key(data: &Value) -> Option<String> {
    id_field(data, "id").map(|id| format!("event:{id}"))
}

fn contact_key(data: &Value) -> Option<String> {
    text_field(data, "email").map(|e| format!("contact:{}", e.to_lowercase()))
}

fn deal_key(data: &Value) -> Option<String> {
    id_field(data, "id").map(|id| format!("deal:{id}"))
}

/// A path segment, percent-encoded (ids and emails go into paths).
pub fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The settings value `name` as text, if set.
fn setting<'a>(settings: &'a Value, name: &str) -> Option<&'a str> {
    settings.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn setting_bool(settings: &Value, name: &str) -> bool {
    settings.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// The calls one event makes at one provider, given the connection's settings and the object links that exist
/// (keys from [`link_keys`]). An `Err` is a permanent problem with the event or the settings (a required
/// field missing, a template that does not render): sending again cannot help.
pub fn plan(
    provider: &str,
    event_type: &str,
    envelope: &Value,
    settings: &Value,
    links: &HashMap<String, Link>,
) -> Result<Plan, String> {
    let data = normalize(event_type, envelope.get("data").unwrap_or(&Value::Null));
    let mut envelope = envelope.clone();
    envelope["data"] = data.clone();
    let ctx = context(&envelope, settings)?;
    let r = Renderer { provider, settings, ctx: &ctx };
    match provider {
        "google_calendar" | "outlook" | "zoom" => calendar_plan(&r, event_type, &data, links),
        "hubspot" | "salesforce" | "mailchimp" => contact_plan(&r, event_type, &data, links),
        other => Err(format!("unknown provider {other:?}")),
    }
}

/// The trigger's `data` with the flat fields actions read (`title`, `starts_at`, `virtual`, `email`,
/// `first_name`, `event_title`, …) filled in from the event platform's nested shape where they are missing:
/// `event.*` carries `{id, event: {title, starts_at, ends_at, format, venue, …}}`, `contact.created`
/// `{contact: {email, name, company: {name}, …}}` and `registration.confirmed` `{registration: {id,
/// attendee: {name, email}, …}, event: {id, title}}` (the catalog's schemas). Fields already at the top level
/// win; the nested objects stay as they are, for templates that want more.
pub fn normalize(event_type: &str, data: &Value) -> Value {
    let Value::Object(top) = data else { return data.clone() };
    let mut out = top.clone();
    let mut fill = |name: &str, v: Option<Value>| {
        if let Some(v) = v.filter(|v| !v.is_null() && v.as_str() != Some("")) {
            out.entry(name.to_string()).or_insert(v);
        }
    };
    let obj = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
    let text = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::trim).map(str::to_string);
    match event_type.split('.').next() {
        Some("event") => {
            let event = obj(top.get("event"));
            for (k, v) in &event {
                fill(k, Some(v.clone()));
            }
            let format = text(&event, "format");
            fill("virtual", format.as_deref().map(|f| Value::Bool(matches!(f, "online" | "hybrid"))));
            let venue = obj(event.get("venue"));
            let place: Vec<String> = ["name", "city"].iter().filter_map(|k| text(&venue, k)).collect();
            fill("location", (!place.is_empty()).then(|| place.join(", ").into()));
        }
        Some("contact") => {
            let contact = obj(top.get("contact"));
            fill("email", contact.get("email").cloned());
            let (f, l) = split_name(text(&contact, "name"));
            fill("first_name", contact.get("first_name").cloned().or(f));
            fill("last_name", contact.get("last_name").cloned().or(l));
            let company = contact.get("company").map(|c| c.get("name").cloned().unwrap_or_else(|| c.clone()));
            fill("company", company.filter(Value::is_string));
            fill("phone", contact.get("phone").cloned());
        }
        Some("registration") => {
            let registration = obj(top.get("registration"));
            let attendee = obj(registration.get("attendee"));
            let event = obj(top.get("event"));
            fill("id", registration.get("id").cloned());
            fill("email", attendee.get("email").cloned());
            let (f, l) = split_name(text(&attendee, "name"));
            fill("first_name", attendee.get("first_name").cloned().or(f));
            fill("last_name", attendee.get("last_name").cloned().or(l));
            fill("event_id", event.get("id").cloned());
            fill("event_title", event.get("title").cloned());
            fill("amount", registration.get("amount").cloned());
            fill("currency", registration.get("currency").cloned());
        }
        _ => {}
    }
    Value::Object(out)
}

/// "Ada King Lovelace" → ("Ada King", "Lovelace"); one word is a first name.
fn split_name(name: Option<String>) -> (Option<Value>, Option<Value>) {
    let name = name.unwrap_or_default();
    let mut words: Vec<&str> = name.split_whitespace().collect();
    match words.len() {
        0 => (None, None),
        1 => (Some(words[0].into()), None),
        _ => {
            let last = words.pop().unwrap_or_default();
            (Some(words.join(" ").into()), Some(last.into()))
        }
    }
}

/// Renders an action's body template (the connection's own, else the shipped one) with the event's context.
struct Renderer<'a> {
    provider: &'a str,
    settings: &'a Value,
    ctx: &'a Value,
}

impl Renderer<'_> {
    fn body(&self, action: &'static str) -> Result<Value, String> {
        let own = self.settings.get("templates").and_then(|t| t.get(action)).and_then(Value::as_str);
        let template = match own.filter(|t| !t.trim().is_empty()) {
            Some(t) => t,
            None => default_template(self.provider, action)
                .ok_or_else(|| format!("{} has no template for {action}", self.provider))?,
        };
        render_body(template, self.ctx).map_err(|e| format!("{}{e}", template_error_prefix(action)))
    }

    /// `contact_property_mapping` ({property: template}) rendered into `props`; an empty result is not sent.
    fn mapped(&self, props: &mut Map<String, Value>) -> Result<(), String> {
        let Some(mapping) = self.settings.get("contact_property_mapping").and_then(Value::as_object) else {
            return Ok(());
        };
        if mapping.len() > MAX_MAPPED_PROPERTIES {
            return Err(format!("contact_property_mapping has more than {MAX_MAPPED_PROPERTIES} properties"));
        }
        for (name, template) in mapping {
            let Some(template) = template.as_str() else {
                return Err(format!("contact_property_mapping.{name} must be a template (text)"));
            };
            let value =
                render_message_part(template, self.ctx).map_err(|e| format!("contact_property_mapping.{name}: {e}"))?;
            let value = value.trim();
            if !value.is_empty() {
                props.insert(name.clone(), Value::String(value.to_string()));
            }
        }
        Ok(())
    }
}

/// Renders a body template into JSON, dropping keys whose value is `null`.
pub fn render_body(template: &str, ctx: &Value) -> Result<Value, String> {
    let text = render_message_part(template, ctx)?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("the rendered body is not JSON ({e}): {}", clip(&text)))?;
    Ok(without_nulls(v))
}

fn clip(s: &str) -> String {
    crate::model::destination::truncate_chars(s.trim(), 200)
}

fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// What action templates see: the message templates' context ([`crate::server::delivery::message::context`]),
/// the connection's `settings`, and `hub`: values computed from the event that templates cannot compute.
pub fn context(envelope: &Value, settings: &Value) -> Result<Value, String> {
    let mut ctx = crate::server::delivery::message::context(envelope);
    let data = envelope.get("data").cloned().unwrap_or(Value::Null);
    let mut hub = Map::new();
    let time = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
        match text_field(&data, name) {
            None => Ok(None),
            Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| Some(t.with_timezone(&chrono::Utc)))
                .map_err(|_| format!("data.{name} is not an RFC 3339 time: {t:?}")),
        }
    };
    let start = time("starts_at")?;
    let end = time("ends_at")?;
    if let Some(s) = start {
        // An event without an end is taken to last an hour.
        let e = end.filter(|e| *e > s).unwrap_or(s + chrono::Duration::hours(1));
        let utc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let naive = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        hub.insert("start_utc".into(), utc(s).into());
        hub.insert("end_utc".into(), utc(e).into());
        hub.insert("start_naive".into(), naive(s).into());
        hub.insert("end_naive".into(), naive(e).into());
        let minutes = ((e - s).num_seconds() + 59) / 60;
        hub.insert("duration_minutes".into(), minutes.max(1).into());
    }
    hub.insert("today".into(), chrono::Utc::now().format("%Y-%m-%d").to_string().into());
    if let Some(n) = data.get("amount").and_then(Value::as_f64).filter(|n| n.is_finite()) {
        hub.insert("amount".into(), number_text(n).into());
        hub.insert("amount_number".into(), json!(n));
    }
    if let Value::Object(m) = &mut ctx {
        m.insert("settings".into(), settings.clone());
        m.insert("hub".into(), Value::Object(hub));
    }
    Ok(ctx)
}

/// An amount as providers take it in text: `49`, `49.5`, `1234.56`.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Where a calendar-like provider takes an event: one path to create it, and one per item (`item` + id +
/// `query`) to update it and, with the cancel suffix, to cancel it.
struct EventRoutes {
    /// The body template of create and update.
    action: &'static str,
    create: String,
    item: String,
    query: String,
    /// Method, path suffix and body template (empty: no body) of a cancellation.
    cancel: (Method, &'static str, &'static str),
    /// Only virtual events are made (Zoom meetings).
    virtual_only: bool,
    never_made: &'static str,
}

fn event_routes(provider: &str, settings: &Value) -> EventRoutes {
    match provider {
        "google_calendar" => {
            let base =
                format!("/calendar/v3/calendars/{}/events", seg(setting(settings, "calendar_id").unwrap_or("primary")));
            let query = match setting(settings, "send_updates") {
                Some(s @ ("all" | "externalOnly" | "none")) => format!("?sendUpdates={s}"),
                _ => String::new(),
            };
            EventRoutes {
                action: "event",
                create: format!("{base}{query}"),
                item: format!("{base}/"),
                query,
                cancel: (Method::Delete, "", ""),
                virtual_only: false,
                never_made: "the event was never added to the calendar",
            }
        }
        "outlook" => EventRoutes {
            action: "event",
            create: match setting(settings, "calendar_id") {
                Some(c) => format!("/v1.0/me/calendars/{}/events", seg(c)),
                None => "/v1.0/me/events".to_string(),
            },
            item: "/v1.0/me/events/".into(),
            query: String::new(),
            cancel: (Method::Post, "/cancel", "cancel"),
            virtual_only: false,
            never_made: "the event was never added to the calendar",
        },
        _ => EventRoutes {
            action: "meeting",
            create: "/v2/users/me/meetings".into(),
            item: "/v2/meetings/".into(),
            query: String::new(),
            cancel: (Method::Delete, "", ""),
            virtual_only: true,
            never_made: "no Zoom meeting was made for this event",
        },
    }
}

fn calendar_plan(
    r: &Renderer<'_>,
    event_type: &str,
    data: &Value,
    links: &HashMap<String, Link>,
) -> Result<Plan, String> {
    let key = event_key(data).ok_or("the event has no data.id")?;
    let title = text_field(data, "title").unwrap_or("");
    let record = format!("event {} {:?}", key.trim_start_matches("event:"), title);
    let linked = links.get(&key);
    let skip = |why: &str| Ok(Plan { record: record.clone(), calls: Vec::new(), skipped: Some(why.to_string()) });
    let verb = event_type.rsplit('.').next().unwrap_or("");
    if !matches!(verb, "created" | "updated" | "cancelled") || !event_type.starts_with("event.") {
        return skip(&format!("{} takes no action on {event_type}", r.provider));
    }
    if verb != "cancelled" {
        if text_field(data, "title").is_none() {
            return Err("the event has no data.title".into());
        }
        if text_field(data, "starts_at").is_none() {
            return Err("the event has no data.starts_at".into());
        }
    }
    let routes = event_routes(r.provider, r.settings);
    let call = |action, method, path: String, body, effect| Call {
        action,
        method,
        path,
        body,
        effect,
        link: Some(key.clone()),
    };
    let item = |id: &str, suffix: &str| format!("{}{}{suffix}{}", routes.item, seg(id), routes.query);
    // A created event seen again (a replay) updates what the first made; an update of an event this connection
    // never saw created makes it.
    let calls = match (verb, linked) {
        ("cancelled", None) => return skip(routes.never_made),
        ("cancelled", Some(l)) => {
            let (method, suffix, action) = routes.cancel;
            let body = if action.is_empty() { None } else { Some(r.body(action)?) };
            vec![call(action, method, item(&l.remote_id, suffix), body, Effect::Cancel)]
        }
        (_, Some(l)) => {
            vec![call(
                routes.action,
                Method::Patch,
                item(&l.remote_id, ""),
                Some(r.body(routes.action)?),
                Effect::Update,
            )]
        }
        (_, None) if routes.virtual_only && !data.get("virtual").and_then(Value::as_bool).unwrap_or(false) => {
            return skip("the event is not virtual (data.virtual is not true)");
        }
        (_, None) => {
            vec![call(routes.action, Method::Post, routes.create, Some(r.body(routes.action)?), Effect::Create)]
        }
    };
    Ok(Plan { record, calls, skipped: None })
}

fn contact_plan(
    r: &Renderer<'_>,
    event_type: &str,
    data: &Value,
    links: &HashMap<String, Link>,
) -> Result<Plan, String> {
    let email = text_field(data, "email").map(str::to_lowercase);
    let record = email.clone().unwrap_or_else(|| id_field(data, "id").unwrap_or_default());
    let skip = |why: String| Ok(Plan { record: record.clone(), calls: Vec::new(), skipped: Some(why) });
    if !triggers(r.provider).contains(&event_type) {
        return skip(format!("{} takes no action on {event_type}", r.provider));
    }
    let email = email.ok_or("the event has no data.email")?;
    let contact = contact_key(data);
    let paid = event_type == "registration.confirmed"
        && data.get("amount").and_then(Value::as_f64).is_some_and(|a| a.is_finite() && a > 0.0);
    let deal = deal_key(data).filter(|_| paid);
    let extra_wanted = |flag: &str| deal.as_ref().filter(|k| setting_bool(r.settings, flag) && !links.contains_key(*k));
    let mut calls = Vec::new();
    match r.provider {
        "hubspot" => {
            let mut body = r.body("contact")?;
            if let Some(props) = body.pointer_mut("/inputs/0/properties").and_then(Value::as_object_mut) {
                r.mapped(props)?;
            }
            calls.push(Call {
                action: "contact",
                method: Method::Post,
                path: "/crm/v3/objects/contacts/batch/upsert".into(),
                body: Some(body),
                effect: Effect::Upsert,
                link: contact,
            });
            if let Some(key) = extra_wanted("create_deals") {
                calls.push(Call {
                    action: "deal",
                    method: Method::Post,
                    path: "/crm/v3/objects/deals".into(),
                    body: Some(r.body("deal")?),
                    effect: Effect::Extra,
                    link: Some(key.clone()),
                });
            }
        }
        "salesforce" => {
            let v = setting(r.settings, "api_version").unwrap_or("v60.0");
            let field = setting(r.settings, "external_id_field").unwrap_or("Email");
            let mut body = r.body("contact")?;
            if let Some(props) = body.as_object_mut() {
                r.mapped(props)?;
            }
            // The external id is in the path; Salesforce refuses a body that sets it again.
            let value = body.get(field).and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| email.clone());
            if let Some(props) = body.as_object_mut() {
                props.remove(field);
            }
            calls.push(Call {
                action: "contact",
                method: Method::Patch,
                path: format!("/services/data/{}/sobjects/Contact/{}/{}", seg(v), seg(field), seg(&value)),
                body: Some(body),
                effect: Effect::Upsert,
                link: contact,
            });
            if let Some(key) = extra_wanted("create_opportunities") {
                calls.push(Call {
                    action: "opportunity",
                    method: Method::Post,
                    path: format!("/services/data/{}/sobjects/Opportunity", seg(v)),
                    body: Some(r.body("opportunity")?),
                    effect: Effect::Extra,
                    link: Some(key.clone()),
                });
            }
        }
        "mailchimp" => {
            let list = setting(r.settings, "list_id").ok_or("the connection's settings have no list_id")?;
            let member = format!("/3.0/lists/{}/members/{}", seg(list), subscriber_hash(&email));
            calls.push(Call {
                action: "member",
                method: Method::Put,
                path: member.clone(),
                body: Some(r.body("member")?),
                effect: Effect::Upsert,
                link: contact,
            });
            let names = r.settings.get("tags").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let tags: Vec<Value> = names
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|name| json!({"name": name, "status": "active"}))
                .collect();
            if !tags.is_empty() {
                calls.push(Call {
                    action: "",
                    method: Method::Post,
                    path: format!("{member}/tags"),
                    body: Some(json!({ "tags": tags })),
                    effect: Effect::Attach,
                    link: None,
                });
            }
        }
        _ => unreachable!("contact providers only"),
    }
    Ok(Plan { record, calls, skipped: None })
}

/// Mailchimp's member id in paths: the MD5 of the lower-cased address, in hex.
pub fn subscriber_hash(email: &str) -> String {
    hex::encode(md5(email.trim().to_lowercase().as_bytes()))
}

/// MD5 (RFC 1321), only for Mailchimp's subscriber hash: an identifier Mailchimp defines, not a security
/// measure.
fn md5(input: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(input).into()
}

// ---- answers ------------------------------------------------------------------------------------------------

/// What one answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The call did what it should. `created`: the provider said whether it made a new record (None: it did
    /// not say; an upsert then counts as created when no link existed).
    Done { remote_id: Option<String>, remote_url: Option<String>, created: Option<bool> },
    /// A cancel or delete of something already gone.
    AlreadyGone,
    /// 401: the token was refused; refresh it once and try once more.
    Unauthorized(String),
    /// 429: wait `Retry-After` (raw header value) and hold the connection.
    SlowDown { retry_after: Option<String>, message: String },
    /// 5xx or no answer: try again later.
    Retry(String),
    /// Other 4xx: sending again cannot help; the provider's own words.
    Permanent(String),
}

/// The most of a provider's own words a record's error quotes.
const QUOTE_CHARS: usize = 300;

/// Reads the answer to `call` (status, `Retry-After`, body) by the provider's documented shapes.
pub fn read_answer(provider: &str, call: &Call, status: u16, retry_after: Option<&str>, body: &str) -> Answer {
    let json: Option<Value> = serde_json::from_str(body).ok();
    if (200..300).contains(&status) {
        let j = json.unwrap_or(Value::Null);
        let id_of = |v: &Value| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let text_of = |name: &str| j.get(name).and_then(Value::as_str).map(str::to_string);
        let (remote_id, remote_url, created) = match provider {
            "google_calendar" => (j.get("id").and_then(id_of), text_of("htmlLink"), None),
            "outlook" => (j.get("id").and_then(id_of), text_of("webLink"), None),
            "zoom" => (j.get("id").and_then(id_of), text_of("join_url"), None),
            "hubspot" => match call.effect {
                Effect::Upsert => {
                    let first = j.pointer("/results/0").cloned().unwrap_or(Value::Null);
                    (first.get("id").and_then(id_of), None, first.get("new").and_then(Value::as_bool))
                }
                _ => (j.get("id").and_then(id_of), None, None),
            },
            // 201 {id, success, created: true} or 204 (an existing record updated).
            "salesforce" => (
                j.get("id").and_then(id_of),
                None,
                j.get("created").and_then(Value::as_bool).or((status == 204).then_some(false)),
            ),
            "mailchimp" => (j.get("id").and_then(id_of), None, None),
            _ => (None, None, None),
        };
        return Answer::Done { remote_id, remote_url, created };
    }
    let message = provider_message(provider, status, body);
    match status {
        404 | 410 if call.effect == Effect::Cancel => Answer::AlreadyGone,
        401 => Answer::Unauthorized(message),
        429 => Answer::SlowDown { retry_after: retry_after.map(str::to_string), message },
        // Request Timeout: the provider's own timeout, worth another try.
        408 => Answer::Retry(message),
        s if s >= 500 => Answer::Retry(message),
        _ => Answer::Permanent(message),
    }
}

/// The provider's explanation of a failed call, in its own words where its error body has them.
pub fn provider_message(provider: &str, status: u16, body: &str) -> String {
    let j: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let s = |p: &str| j.pointer(p).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let said: Option<String> = match provider {
        // {error: {code, message, errors: [{reason, message}], status}}
        "google_calendar" => s("/error/message").map(str::to_string),
        // Microsoft Graph: {error: {code, message}}
        "outlook" => match (s("/error/code"), s("/error/message")) {
            (Some(c), Some(m)) => Some(format!("{c}: {m}")),
            (c, m) => m.or(c).map(str::to_string),
        },
        // {code, message}
        "zoom" => s("/message").map(str::to_string),
        // {status: "error", message, category, correlationId}
        "hubspot" => match (s("/category"), s("/message")) {
            (Some(c), Some(m)) => Some(format!("{c}: {m}")),
            (c, m) => m.or(c).map(str::to_string),
        },
        // [{message, errorCode, fields}]
        "salesforce" => j.as_array().filter(|a| !a.is_empty()).map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let code = e.get("errorCode").and_then(Value::as_str).unwrap_or("");
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
                    let fields: Vec<&str> = e
                        .get("fields")
                        .and_then(Value::as_array)
                        .map(|f| f.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let mut one = if code.is_empty() { msg.to_string() } else { format!("{code}: {msg}") };
                    if !fields.is_empty() {
                        one.push_str(&format!(" ({})", fields.join(", ")));
                    }
                    one
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
        // application/problem+json: {type, title, status, detail, instance}
        "mailchimp" => match (s("/title"), s("/detail")) {
            (Some(t), Some(d)) => Some(format!("{t}: {d}")),
            (t, d) => d.or(t).map(str::to_string),
        },
        _ => None,
    };
    let said = said.filter(|m| !m.trim().is_empty()).map(|m| quoted(&m));
    match said {
        Some(m) => format!("{status}: {m}"),
        None if body.trim().is_empty() => format!("the provider answered {status}"),
        None => format!("{status}: {}", quoted(body)),
    }
}

fn quoted(s: &str) -> String {
    let line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    crate::model::destination::truncate_chars(
        line.split_whitespace().collect::<Vec<_>>().join(" ").as_str(),
        QUOTE_CHARS,
    )
}

/// An attempt's record of a call: the method and path first, the bearer token never.
pub fn recorded_headers(call: &Call, url: &str) -> Vec<(String, String)> {
    let mut h = vec![
        ("x-hub-request".to_string(), format!("{} {url}", call.method.as_str())),
        ("authorization".to_string(), "Bearer ••••••".to_string()),
        ("user-agent".to_string(), USER_AGENT.to_string()),
    ];
    if call.body.is_some() {
        h.push(("content-type".into(), "application/json".into()));
    }
    h
}

// ---- running an action ----------------------------------------------------------------------------------

/// What actions need from the hub beyond the HTTP client: the store, fresh tokens, and a way to stop sending to
/// a connection whose tokens were refused for good. The [`Hub`] is one; the worker gets it through
/// [`crate::server::delivery::sender::Outbound::apps`].
pub trait AppsRuntime: Send + Sync {
    fn store(&self) -> &Store;
    /// The connection's access token and API base, refreshed first when it is about to expire, or because the
    /// provider answered 401 to `rejected` (the token the call carried). A refresh the provider refuses puts
    /// the connection in `error` and tells the tenant.
    fn access_token<'a>(
        &'a self,
        conn: &'a StoredConnection,
        rejected: Option<&'a str>,
    ) -> BoxFuture<'a, Result<AppToken, TokenError>>;
    /// The connection's tokens were refused: its hidden endpoint is switched off, so its deliveries wait
    /// (`paused`) until a reconnect switches it on again.
    fn connection_broken<'a>(&'a self, conn: &'a StoredConnection, message: &'a str) -> BoxFuture<'a, ()>;
}

/// What the sender is given for [`DestinationKind::App`] endpoints.
pub type AppsContext = dyn AppsRuntime;

/// How one event's action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    /// Nothing to do, or already done (the reason).
    Skipped(String),
}

/// An action that did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Sending again cannot help (a 4xx other than 401/408/429, a template or settings problem).
    Permanent { status: Option<u16>, message: String },
    /// 429: wait (the raw `Retry-After`) and hold the connection's sends.
    SlowDown { retry_after: Option<String>, message: String },
    /// 5xx, a timeout, no answer: try again later.
    Retry { status: Option<u16>, message: String },
    /// The provider refused the connection's tokens for good: reconnect.
    Reconnect(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Permanent { message, .. }
            | Failure::SlowDown { message, .. }
            | Failure::Retry { message, .. }
            | Failure::Reconnect(message) => message,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Permanent { status, .. } | Failure::Retry { status, .. } => *status,
            Failure::SlowDown { .. } => Some(429),
            Failure::Reconnect(_) => Some(401),
        }
    }
}

/// One event's action, run.
#[derive(Debug)]
pub struct Run {
    /// How the sync log names the record.
    pub record: String,
    pub result: Result<Outcome, Failure>,
    /// What was made or changed at the provider (the first call's answer, or what the link held).
    pub remote_id: Option<String>,
    /// Where people see it (a calendar event's link, a Zoom meeting's `join_url`).
    pub remote_url: Option<String>,
    /// The last call made, as the delivery log shows it (the token masked); the hub's own 204 when nothing
    /// was sent.
    pub attempt: DeliveryAttempt,
    /// Every call made, `METHOD path → status`, in order.
    pub calls: Vec<String>,
}

/// Runs one event's action for a connection: plans it, sends its calls to the connection's API base with its
/// token (a 401 answered by one refresh and one retry), remembers what was made, and reads the answers.
/// `hook` gives the timeout and names the target in the debug log.
pub async fn run(
    out: Outbound<'_>,
    rt: &AppsContext,
    hook: &Webhook,
    conn: &StoredConnection,
    envelope: &Value,
    attempt_no: u32,
) -> Run {
    let provider = conn.connection.provider.as_str();
    let event_type = envelope.get("type").and_then(Value::as_str).unwrap_or_default();
    let data = envelope.get("data").cloned().unwrap_or(Value::Null);
    let mut run = Run {
        record: String::new(),
        result: Ok(Outcome::Skipped(String::new())),
        remote_id: None,
        remote_url: None,
        attempt: new_attempt(attempt_no),
        calls: Vec::new(),
    };
    let started = Instant::now();
    let fail = |mut run: Run, f: Failure| {
        run.attempt.error_kind.get_or_insert(ErrorKind::Other);
        run.attempt.error = Some(f.message().to_string());
        run.attempt.duration_ms = started.elapsed().as_millis() as u64;
        run.result = Err(f);
        run
    };
    let store = rt.store();
    let mut links = HashMap::new();
    for key in link_keys(provider, event_type, &data) {
        match store.object_link(&conn.connection.id, &key).await {
            Ok(Some(l)) => {
                links.insert(key, Link { remote_id: l.remote_id, remote_url: l.remote_url });
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, connection = %conn.connection.id, "reading an object link failed");
                let msg = "the hub could not read what it made earlier; trying again later".to_string();
                return fail(run, Failure::Retry { status: None, message: msg });
            }
        }
    }
    let plan = match plan(provider, event_type, envelope, &conn.connection.settings, &links) {
        Ok(p) => p,
        Err(message) => {
            run.attempt.error_kind = Some(ErrorKind::Template);
            return fail(run, Failure::Permanent { status: None, message });
        }
    };
    run.record = plan.record.clone();
    if let Some(why) = plan.skipped {
        run.attempt.response_status = Some(204);
        run.attempt.response_body = Some(format!("nothing sent: {why}"));
        run.attempt.duration_ms = started.elapsed().as_millis() as u64;
        run.result = Ok(Outcome::Skipped(why));
        return run;
    }
    let mut token = match rt.access_token(conn, None).await {
        Ok(t) => t,
        Err(e) => return fail(run, token_failure(rt, conn, e).await),
    };
    let Some(base) = token.api_base.clone() else {
        let message = format!(
            "{} named no API address for this connection: set its api_base setting",
            conn.connection.provider.label()
        );
        return fail(run, Failure::Permanent { status: None, message });
    };
    let mut outcome = None;
    for call in &plan.calls {
        let url = format!("{}{}", base.trim_end_matches('/'), call.path);
        let mut sent = send_call(out, hook, call, &url, &token.access_token, attempt_no).await;
        let mut answer = answer_of(provider, call, &sent);
        if matches!(answer, Some(Answer::Unauthorized(_))) {
            run.calls.push(format!("{} {} → 401", call.method.as_str(), call.path));
            let rejected = token.access_token.clone();
            token = match rt.access_token(conn, Some(&rejected)).await {
                Ok(t) => t,
                Err(e) => {
                    run.attempt = sent.attempt;
                    return fail(run, token_failure(rt, conn, e).await);
                }
            };
            sent = send_call(out, hook, call, &url, &token.access_token, attempt_no).await;
            answer = answer_of(provider, call, &sent);
        }
        run.calls.push(match sent.attempt.response_status {
            Some(s) => format!("{} {} → {s}", call.method.as_str(), call.path),
            None => format!("{} {} → no answer", call.method.as_str(), call.path),
        });
        let status = sent.attempt.response_status;
        run.attempt = sent.attempt;
        let failure = match answer {
            // No answer at all: the sender's fixed wording (timed out, connection refused, …).
            None => Some(Failure::Retry {
                status: None,
                message: run.attempt.error.clone().unwrap_or_else(|| "the request could not be sent".into()),
            }),
            Some(Answer::Done { remote_id, remote_url, created }) => {
                let key = call.link.as_deref();
                let had = key.is_some_and(|k| links.contains_key(k));
                let remembered = match (call.effect, key, remote_id.as_deref()) {
                    (Effect::Create | Effect::Upsert | Effect::Extra, Some(k), Some(id)) => {
                        store.put_object_link(&conn.connection.id, k, id, remote_url.as_deref()).await
                    }
                    (Effect::Update, Some(k), _) if remote_url.is_some() => {
                        let id = links.get(k).map(|l| l.remote_id.clone()).or(remote_id.clone()).unwrap_or_default();
                        store.put_object_link(&conn.connection.id, k, &id, remote_url.as_deref()).await
                    }
                    (Effect::Cancel, Some(k), _) => store.delete_object_link(&conn.connection.id, k).await.map(drop),
                    _ => Ok(()),
                };
                if let Err(e) = remembered {
                    // Done at the provider; only the link is missing, so a later update makes a new record.
                    tracing::warn!(error = %e, connection = %conn.connection.id, "remembering an object link failed");
                }
                if outcome.is_none() {
                    let linked = key.and_then(|k| links.get(k));
                    run.remote_id = remote_id.or_else(|| linked.map(|l| l.remote_id.clone()));
                    run.remote_url = remote_url.or_else(|| linked.and_then(|l| l.remote_url.clone()));
                    outcome = Some(match call.effect {
                        Effect::Create => Outcome::Created,
                        Effect::Update | Effect::Cancel | Effect::Attach => Outcome::Updated,
                        Effect::Upsert | Effect::Extra => {
                            if created.unwrap_or(!had) {
                                Outcome::Created
                            } else {
                                Outcome::Updated
                            }
                        }
                    });
                }
                None
            }
            Some(Answer::AlreadyGone) => {
                if let Some(k) = call.link.as_deref() {
                    if let Err(e) = store.delete_object_link(&conn.connection.id, k).await {
                        let id = &conn.connection.id;
                        tracing::warn!(error = %e, connection = %id, "forgetting an object link failed");
                    }
                }
                outcome.get_or_insert(Outcome::Skipped("already gone at the provider".into()));
                None
            }
            Some(Answer::Unauthorized(m)) => Some(Failure::Permanent {
                status,
                message: format!("{m} (refused again with a freshly refreshed token: check the granted scopes)"),
            }),
            Some(Answer::SlowDown { retry_after, message }) => Some(Failure::SlowDown { retry_after, message }),
            Some(Answer::Retry(message)) => Some(Failure::Retry { status, message }),
            Some(Answer::Permanent(message)) => Some(Failure::Permanent { status, message }),
        };
        if let Some(f) = failure {
            return fail(run, f);
        }
    }
    run.attempt.request_headers.push(("x-hub-calls".into(), run.calls.join("; ")));
    run.result = Ok(outcome.unwrap_or(Outcome::Skipped("nothing to send".into())));
    run
}

/// No token as a failure: refused tokens stop the connection's sends (its endpoint is switched off, so its
/// deliveries wait for a reconnect); a switched-off connection's are being stopped by the service; a database
/// or token endpoint that did not answer is tried again.
async fn token_failure(rt: &AppsContext, conn: &StoredConnection, e: TokenError) -> Failure {
    let label = conn.connection.provider.label();
    match e {
        TokenError::Rejected { message, .. } => {
            let message = format!("{label} refused the connection's tokens; reconnect it: {message}");
            rt.connection_broken(conn, &message).await;
            Failure::Reconnect(message)
        }
        TokenError::NotActive(ConnectionStatus::Error) => {
            let why = conn.connection.last_error.clone().unwrap_or_default();
            let message = format!("the connection to {label} needs reconnecting: {why}");
            rt.connection_broken(conn, &message).await;
            Failure::Reconnect(message)
        }
        TokenError::NotActive(_) => Failure::Retry { status: None, message: e.to_string() },
        TokenError::Gone => Failure::Permanent { status: None, message: e.to_string() },
        TokenError::Unavailable(m) => Failure::Retry { status: None, message: m },
    }
}

fn answer_of(provider: &str, call: &Call, sent: &Sent) -> Option<Answer> {
    let status = sent.attempt.response_status?;
    let body = sent.attempt.response_body.as_deref().unwrap_or("");
    Some(read_answer(provider, call, status, sent.retry_after.as_deref(), body))
}

/// Sends one call through the sender's guarded request, then records it with the token masked.
async fn send_call(out: Outbound<'_>, hook: &Webhook, call: &Call, url: &str, token: &str, attempt_no: u32) -> Sent {
    let method = match call.method {
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    };
    let body = call.body.as_ref().map(Value::to_string).unwrap_or_default();
    let mut headers = vec![
        ("authorization".to_string(), format!("Bearer {token}")),
        ("accept".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), USER_AGENT.to_string()),
    ];
    if call.body.is_some() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let mut sent = request(out, hook, method, url, new_attempt(attempt_no), Instant::now(), headers, body).await;
    sent.attempt.request_headers = recorded_headers(call, url);
    sent
}

/// Sends one delivery of a connection's hidden endpoint (the sender's [`crate::model::DestinationKind::App`]
/// branch): the event's action through [`run`], its `event` sync-log row written, and the answer in the
/// delivery policy's terms: success; 429 a hold on the endpoint and a retry after `Retry-After`; 5xx and no
/// answer a retry; other 4xx a dead letter with the provider's message; refused tokens a retry that finds the
/// endpoint switched off (paused until a reconnect).
pub async fn send(out: Outbound<'_>, rt: &AppsContext, hook: &Webhook, msg: &Message<'_>, attempt_no: u32) -> Sent {
    let started = Instant::now();
    let attempt = new_attempt(attempt_no);
    let conn = match rt.store().connection_by_endpoint(&hook.id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let mut sent = failed(attempt, started, ErrorKind::Other, "the connection was removed".into());
            sent.rule = Some(Rule::Permanent("the connection was removed".into()));
            return sent;
        }
        Err(e) => {
            tracing::warn!(error = %e, webhook = %hook.id, "reading a connection failed");
            return failed(attempt, started, ErrorKind::Other, "the connection could not be read; trying again".into());
        }
    };
    match conn.connection.status {
        ConnectionStatus::Active => {}
        // Its endpoint is being switched off with it: the retry finds it off and waits (paused).
        ConnectionStatus::Disabled => {
            return failed(attempt, started, ErrorKind::Other, "the connection is switched off".into());
        }
        ConnectionStatus::Error => {
            let why = conn.connection.last_error.clone().unwrap_or_default();
            let message = format!("the connection needs reconnecting: {why}");
            rt.connection_broken(&conn, &message).await;
            return failed(attempt, started, ErrorKind::Other, message);
        }
    }
    let envelope: Value = serde_json::from_str(msg.envelope_json).unwrap_or_default();
    let run = run(out, rt, hook, &conn, &envelope, attempt_no).await;
    // The delivery policy's last attempt is the one past the endpoint's retries.
    let last = attempt_no > hook.max_retries;
    if let Some(delivery) = msg.delivery_id {
        record_event(rt.store(), &conn, delivery, &run, last).await;
    }
    let mut sent = Sent { attempt: run.attempt, retry_after: None, rule: None };
    match run.result {
        Ok(_) => {}
        Err(Failure::Permanent { message, .. }) => sent.rule = Some(Rule::Permanent(message)),
        Err(Failure::SlowDown { retry_after, .. }) => {
            let wait = retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, crate::server::store::now_ms()))
                .unwrap_or(DEFAULT_SLOW_DOWN_SECS)
                .clamp(1, MAX_RETRY_AFTER_SECS);
            sent.rule = Some(Rule::Hold(Duration::from_secs(wait)));
            sent.retry_after = Some(retry_after.unwrap_or_else(|| wait.to_string()));
        }
        Err(Failure::Retry { .. } | Failure::Reconnect(_)) => {}
    }
    sent
}

/// How long a 429 without `Retry-After` holds a connection.
const DEFAULT_SLOW_DOWN_SECS: u64 = 10;

/// Writes the delivery's `event` sync-log row: one record, created / updated / failed, with the remote id and
/// URL (a Zoom meeting's `join_url`). A failure that will be retried leaves the row `running` with the error;
/// a failed write is logged and never fails the delivery.
async fn record_event(store: &Store, conn: &StoredConnection, delivery: &str, run: &Run, last: bool) {
    let c = &conn.connection;
    let mut log = match store.event_sync_log(&c.id, &c.tenant_id, delivery).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, connection = %c.id, "writing an event sync log failed");
            return;
        }
    };
    apply(&mut log, run, last);
    if let Err(e) = store.save_sync_log(&log).await {
        tracing::warn!(error = %e, connection = %c.id, "writing an event sync log failed");
    } else if log.status != SyncStatus::Running {
        let _ = store.set_connection_synced(&c.id, crate::server::store::now_ms()).await;
    }
}

/// An event row as one run leaves it: its one record's counts, error and details (set, not added, so a
/// retried delivery still counts once).
fn apply(log: &mut SyncLog, run: &Run, last: bool) {
    let retrying = matches!(run.result, Err(Failure::Retry { .. } | Failure::SlowDown { .. } | Failure::Reconnect(_)));
    log.processed = 1;
    (log.created, log.updated, log.failed) = match &run.result {
        Ok(Outcome::Created) => (1, 0, 0),
        Ok(Outcome::Updated) => (0, 1, 0),
        Ok(Outcome::Skipped(_)) => (0, 0, 0),
        Err(_) => (0, 0, 1),
    };
    log.errors = match &run.result {
        Err(f) => {
            vec![RecordError { record: run.record.clone(), message: f.message().to_string(), status: f.status() }]
        }
        Ok(_) => Vec::new(),
    };
    log.status = match &run.result {
        Err(_) if retrying && !last => {
            log.processed = 0;
            log.failed = 0;
            SyncStatus::Running
        }
        Err(_) => SyncStatus::Failed,
        Ok(_) => SyncStatus::Succeeded,
    };
    log.details = details(run);
}

/// What a run gave back worth showing on its log row.
pub fn details(run: &Run) -> Value {
    let mut d = Map::new();
    d.insert("record".into(), run.record.clone().into());
    if let Some(id) = &run.remote_id {
        d.insert("remote_id".into(), id.clone().into());
    }
    if let Some(url) = &run.remote_url {
        d.insert("remote_url".into(), url.clone().into());
    }
    if let Ok(Outcome::Skipped(why)) = &run.result {
        d.insert("skipped".into(), why.clone().into());
    }
    if !run.calls.is_empty() {
        d.insert("calls".into(), run.calls.clone().into());
    }
    Value::Object(d)
}

// ---- the hidden endpoint --------------------------------------------------------------------------------

/// Retries of a connection's deliveries: the most an endpoint may have, on a slow schedule (30 s doubling),
/// since a provider's outage or a connection waiting to be reconnected can last hours.
const APP_MAX_RETRIES: u32 = 10;
const APP_RETRY_DELAY_SECONDS: u32 = 30;
const APP_BACKOFF_FACTOR: f64 = 2.0;

/// Makes or updates the hidden [`crate::model::DestinationKind::App`] endpoint that carries a connection's
/// event-driven actions through the delivery queue: subscribed to the provider's trigger types, its URL the
/// provider's API base (`base`), limited to the provider's rate, switched on exactly while the connection is
/// `active` (switched off, its deliveries wait as `paused`; switched on again, they are sent). Called by the
/// service whenever a connection is made, reconnected, switched on or off; returns the endpoint's id (also
/// recorded on the connection).
pub async fn sync_endpoint(hub: &Hub, conn: &StoredConnection, base: &str) -> AppResult<String> {
    let c = &conn.connection;
    let provider = c.provider.as_str();
    let active = c.status == ConnectionStatus::Active;
    let existing = match &conn.endpoint_id {
        Some(id) => hub.store.get_webhook(id, Some(&c.tenant_id)).await?,
        None => None,
    };
    let now = crate::server::store::now_ms();
    let events: Vec<String> = triggers(provider).iter().map(|t| t.to_string()).collect();
    let name = format!("{} (connected app)", c.provider.label());
    let description = format!("Carries the actions of the connection {}; made and changed with it.", c.id);
    let id = match existing {
        Some(mut w) => {
            let was_active = w.is_active;
            w.name = name;
            w.description = description;
            w.url = base.to_string();
            w.events = events;
            w.is_active = active;
            w.disabled_reason = if active { None } else { Some(why_off(c)) };
            w.updated_at = now;
            hub.store.update_webhook(&w).await?;
            if active && !was_active && hub.store.resume_paused(Some(&w.id)).await? > 0 {
                hub.deliveries_changed(&[c.tenant_id.as_str()], true);
                hub.wake_workers().await;
            }
            w.id
        }
        None => {
            let w = Webhook {
                id: crate::server::store::new_id("wh"),
                tenant_id: c.tenant_id.clone(),
                name,
                kind: crate::model::DestinationKind::App,
                url: base.to_string(),
                description,
                events,
                max_retries: APP_MAX_RETRIES,
                retry_delay_seconds: APP_RETRY_DELAY_SECONDS,
                backoff_factor: APP_BACKOFF_FACTOR,
                timeout_ms: crate::model::webhook::limits::TIMEOUT_MS.2,
                rate_limit_per_minute: default_rate_limit_per_minute(provider),
                is_active: active,
                disabled_reason: (!active).then(|| why_off(c)),
                created_at: now,
                updated_at: now,
                ..Default::default()
            };
            // Never used to sign (nothing of the hub's signing reaches a provider), but every endpoint has one.
            let secret = crate::server::delivery::sign::SigningSecret::generate();
            hub.store.insert_webhook(&w, &hub.seal_secret(&w.id, &secret.expose())).await?;
            hub.store.set_connection_endpoint(&c.id, Some(&w.id)).await?;
            w.id
        }
    };
    hub.routes.invalidate(&c.tenant_id);
    hub.broadcast_route_change(&c.tenant_id);
    Ok(id)
}

fn why_off(c: &crate::model::Connection) -> String {
    match (c.status, &c.last_error) {
        (ConnectionStatus::Error, Some(e)) => format!("the connection needs reconnecting: {e}"),
        (ConnectionStatus::Error, None) => "the connection needs reconnecting".into(),
        _ => "the connection is switched off".into(),
    }
}

/// Deletes a connection's hidden endpoint (its pending deliveries are cancelled), before the connection
/// itself is deleted.
pub async fn remove_endpoint(hub: &Hub, conn: &StoredConnection) -> AppResult<()> {
    if let Some(id) = &conn.endpoint_id {
        hub.store.delete_webhook(id).await?;
        hub.store.set_connection_endpoint(&conn.connection.id, None).await?;
        hub.routes.invalidate(&conn.connection.tenant_id);
        hub.broadcast_route_change(&conn.connection.tenant_id);
    }
    Ok(())
}

/// Switches a connection's endpoint off with `message` as the reason (its deliveries then wait as `paused`).
async fn switch_endpoint_off(hub: &Hub, conn: &StoredConnection, message: &str) {
    let Some(id) = &conn.endpoint_id else { return };
    let result = async {
        if let Some(mut w) = hub.store.get_webhook(id, Some(&conn.connection.tenant_id)).await? {
            if w.is_active {
                w.is_active = false;
                w.disabled_reason = Some(message.to_string());
                w.updated_at = crate::server::store::now_ms();
                hub.store.update_webhook(&w).await?;
                hub.routes.invalidate(&w.tenant_id);
                hub.broadcast_route_change(&w.tenant_id);
            }
        }
        Ok::<(), sqlx::Error>(())
    };
    if let Err(e) = result.await {
        tracing::warn!(error = %e, connection = %conn.connection.id, "switching a connection's endpoint off failed");
    }
}

/// A fresh token ([`Hub::app_access_token`]); after a 401, a refresh over exactly the token that was refused,
/// the tenant told when the provider refuses it.
async fn hub_token(hub: &Hub, conn: &StoredConnection, rejected: Option<&str>) -> Result<AppToken, TokenError> {
    let Some(rejected) = rejected else { return hub.app_access_token(conn, false).await };
    let redirect = hub.oauth_redirect_uri();
    let got = super::tokens::after_unauthorized(hub.token_deps(&redirect), &conn.connection.id, rejected).await;
    if let Err(TokenError::Rejected { message, newly: true }) = &got {
        hub.notify_connection_error(&conn.connection, message).await;
    }
    got
}

impl AppsRuntime for Hub {
    fn store(&self) -> &Store {
        &self.store
    }

    fn access_token<'a>(
        &'a self,
        conn: &'a StoredConnection,
        rejected: Option<&'a str>,
    ) -> BoxFuture<'a, Result<AppToken, TokenError>> {
        Box::pin(hub_token(self, conn, rejected))
    }

    fn connection_broken<'a>(&'a self, conn: &'a StoredConnection, message: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(switch_endpoint_off(self, conn, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(event_type: &str, data: Value) -> Value {
        json!({"id": "evt_1", "type": event_type, "timestamp": "2026-03-01T10:00:00Z", "data": data})
    }

    fn launch() -> Value {
        json!({
            "id": "ev_42", "title": "Launch \"party\"", "description": "Cake & <drinks>", "location": "Room 1",
            "starts_at": "2026-03-14T09:00:00+01:00", "ends_at": "2026-03-14T10:30:00+01:00", "virtual": true,
            "attendees": [{"email": "ada@example.com", "name": "Ada"}, {"email": "bob@example.com"}]
        })
    }

    fn linked(key: &str, id: &str) -> HashMap<String, Link> {
        HashMap::from([(key.to_string(), Link { remote_id: id.into(), remote_url: None })])
    }

    fn one(p: Plan) -> Call {
        assert_eq!(p.skipped, None);
        assert_eq!(p.calls.len(), 1, "{:?}", p.calls);
        p.calls.into_iter().next().unwrap()
    }

    #[test]
    fn the_platforms_nested_payloads_read_like_the_flat_ones() {
        let created = json!({"id": "evt_3", "event": {"id": "evt_3", "title": "DevOps Days", "format": "hybrid",
            "starts_at": "2026-06-18T08:30:00Z", "ends_at": "2026-06-19T17:00:00Z",
            "venue": {"name": "LX Factory", "city": "Lisbon"}}});
        let n = normalize("event.created", &created);
        assert_eq!(
            (&n["title"], &n["virtual"], &n["location"]),
            (&json!("DevOps Days"), &json!(true), &json!("LX Factory, Lisbon"))
        );
        let c =
            one(plan("zoom", "event.created", &env("event.created", created), &json!({}), &HashMap::new()).unwrap());
        assert_eq!(c.body.unwrap()["duration"], 1950);
        let contact = json!({"id": "cnt_5", "contact": {"id": "cnt_5", "name": "Hannah Keller", "email": "hannah@example.com",
            "company": {"id": "org_2", "name": "Keller GmbH"}}});
        let c =
            one(plan("hubspot", "contact.created", &env("contact.created", contact), &json!({}), &HashMap::new())
                .unwrap());
        assert_eq!(
            c.body.unwrap()["inputs"][0]["properties"],
            json!({"email": "hannah@example.com", "firstname": "Hannah", "lastname": "Keller", "company": "Keller GmbH"})
        );
        let reg = json!({"id": "reg_7", "registration": {"id": "reg_7", "status": "confirmed",
            "attendee": {"name": "Julien Moreau", "email": "julien@example.com"}}, "event": {"id": "evt_3", "title": "DevOps Days"}});
        let n = normalize("registration.confirmed", &reg);
        assert_eq!(
            (&n["email"], &n["last_name"], &n["event_title"]),
            (&json!("julien@example.com"), &json!("Moreau"), &json!("DevOps Days"))
        );
        // Flat fields win over nested ones.
        let both = json!({"title": "Flat", "event": {"title": "Nested"}});
        assert_eq!(normalize("event.updated", &both)["title"], "Flat");
    }

    #[test]
    fn md5_matches_rfc_1321_and_mailchimps_hash() {
        let hex = |s: &str| hex::encode(md5(s.as_bytes()));
        assert_eq!(hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
        assert_eq!(
            hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        assert_eq!(subscriber_hash(" Ada@Example.COM "), hex("ada@example.com"));
    }

    #[test]
    fn google_calendar_inserts_patches_and_deletes_the_event() {
        let settings = json!({"calendar_id": "team@group.calendar.google.com"});
        let c =
            one(plan("google_calendar", "event.created", &env("event.created", launch()), &settings, &HashMap::new())
                .unwrap());
        assert_eq!((c.method, c.effect), (Method::Post, Effect::Create));
        assert_eq!(c.path, "/calendar/v3/calendars/team%40group.calendar.google.com/events");
        assert_eq!(c.link.as_deref(), Some("event:ev_42"));
        assert_eq!(
            c.body.unwrap(),
            json!({
                "summary": "Launch \"party\"", "description": "Cake & <drinks>", "location": "Room 1",
                "start": {"dateTime": "2026-03-14T08:00:00Z"}, "end": {"dateTime": "2026-03-14T09:30:00Z"},
                "attendees": [{"email": "ada@example.com", "displayName": "Ada"}, {"email": "bob@example.com"}]
            })
        );
        // Optional fields the event does not have are not sent; the default calendar is `primary`.
        let bare = json!({"id": "ev_1", "title": "T", "starts_at": "2026-03-14T09:00:00Z"});
        let c =
            one(plan("google_calendar", "event.created", &env("event.created", bare), &json!({}), &HashMap::new())
                .unwrap());
        assert_eq!(c.path, "/calendar/v3/calendars/primary/events");
        assert_eq!(
            c.body.unwrap(),
            json!({"summary": "T", "start": {"dateTime": "2026-03-14T09:00:00Z"}, "end": {"dateTime": "2026-03-14T10:00:00Z"}})
        );
        let links = linked("event:ev_42", "g/1");
        let c = one(plan(
            "google_calendar",
            "event.updated",
            &env("event.updated", launch()),
            &json!({"send_updates": "all"}),
            &links,
        )
        .unwrap());
        assert_eq!((c.method, c.effect), (Method::Patch, Effect::Update));
        assert_eq!(c.path, "/calendar/v3/calendars/primary/events/g%2F1?sendUpdates=all");
        let c = one(plan(
            "google_calendar",
            "event.cancelled",
            &env("event.cancelled", json!({"id": "ev_42"})),
            &json!({}),
            &links,
        )
        .unwrap());
        assert_eq!(
            (c.method, c.path.as_str(), c.body),
            (Method::Delete, "/calendar/v3/calendars/primary/events/g%2F1", None)
        );
        // An update of an event never inserted inserts it; a cancel of one never inserted is skipped.
        let c =
            one(plan("google_calendar", "event.updated", &env("event.updated", launch()), &json!({}), &HashMap::new())
                .unwrap());
        assert_eq!(c.method, Method::Post);
        let p = plan(
            "google_calendar",
            "event.cancelled",
            &env("event.cancelled", json!({"id": "ev_9"})),
            &json!({}),
            &HashMap::new(),
        )
        .unwrap();
        assert!(p.calls.is_empty() && p.skipped.is_some());
        // A replayed created event patches what the first made instead of making a second.
        let c =
            one(plan("google_calendar", "event.created", &env("event.created", launch()), &json!({}), &links).unwrap());
        assert_eq!(c.method, Method::Patch);
    }

    #[test]
    fn outlook_posts_patches_and_cancels_through_graph() {
        let c = one(
            plan("outlook", "event.created", &env("event.created", launch()), &json!({}), &HashMap::new()).unwrap()
        );
        assert_eq!((c.method, c.path.as_str()), (Method::Post, "/v1.0/me/events"));
        assert_eq!(
            c.body.unwrap(),
            json!({
                "subject": "Launch \"party\"", "body": {"contentType": "Text", "content": "Cake & <drinks>"},
                "start": {"dateTime": "2026-03-14T08:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-03-14T09:30:00", "timeZone": "UTC"},
                "location": {"displayName": "Room 1"},
                "attendees": [
                    {"emailAddress": {"address": "ada@example.com", "name": "Ada"}, "type": "required"},
                    {"emailAddress": {"address": "bob@example.com"}, "type": "required"}
                ]
            })
        );
        let c = one(plan(
            "outlook",
            "event.created",
            &env("event.created", launch()),
            &json!({"calendar_id": "AAMk=="}),
            &HashMap::new(),
        )
        .unwrap());
        assert_eq!(c.path, "/v1.0/me/calendars/AAMk%3D%3D/events");
        let links = linked("event:ev_42", "AAMkAD");
        let c = one(plan("outlook", "event.updated", &env("event.updated", launch()), &json!({}), &links).unwrap());
        assert_eq!((c.method, c.path.as_str()), (Method::Patch, "/v1.0/me/events/AAMkAD"));
        let gone = json!({"id": "ev_42", "message": "Weather"});
        let c = one(plan("outlook", "event.cancelled", &env("event.cancelled", gone), &json!({}), &links).unwrap());
        assert_eq!((c.method, c.path.as_str()), (Method::Post, "/v1.0/me/events/AAMkAD/cancel"));
        assert_eq!(c.body.unwrap(), json!({"comment": "Weather"}));
    }

    #[test]
    fn zoom_makes_meetings_for_virtual_events_only() {
        let c =
            one(plan("zoom", "event.created", &env("event.created", launch()), &json!({}), &HashMap::new()).unwrap());
        assert_eq!((c.method, c.path.as_str()), (Method::Post, "/v2/users/me/meetings"));
        assert_eq!(
            c.body.unwrap(),
            json!({"topic": "Launch \"party\"", "type": 2, "start_time": "2026-03-14T08:00:00Z", "duration": 90,
                   "timezone": "UTC", "agenda": "Cake & <drinks>"})
        );
        let mut onsite = launch();
        onsite["virtual"] = json!(false);
        let p = plan("zoom", "event.created", &env("event.created", onsite), &json!({}), &HashMap::new()).unwrap();
        assert!(p.calls.is_empty() && p.skipped.unwrap().contains("not virtual"));
        let links = linked("event:ev_42", "85746065432");
        let c = one(plan("zoom", "event.updated", &env("event.updated", launch()), &json!({}), &links).unwrap());
        assert_eq!((c.method, c.path.as_str()), (Method::Patch, "/v2/meetings/85746065432"));
        let c =
            one(plan("zoom", "event.cancelled", &env("event.cancelled", json!({"id": "ev_42"})), &json!({}), &links)
                .unwrap());
        assert_eq!((c.method, c.path.as_str(), c.effect), (Method::Delete, "/v2/meetings/85746065432", Effect::Cancel));
    }

    fn registration(amount: f64) -> Value {
        json!({"id": "reg_7", "email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace",
               "event_id": "ev_42", "event_title": "Launch", "amount": amount, "currency": "EUR"})
    }

    #[test]
    fn hubspot_upserts_the_contact_and_makes_one_deal_for_a_paid_registration() {
        let settings = json!({"create_deals": true, "deal_pipeline": "p1", "deal_stage": "s1",
                              "contact_property_mapping": {"jobtitle": "{{ data.role }}", "lifecyclestage": "customer"}});
        let p = plan(
            "hubspot",
            "registration.confirmed",
            &env("registration.confirmed", registration(49.5)),
            &settings,
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(p.record, "ada@example.com");
        assert_eq!(p.calls.len(), 2);
        let (contact, deal) = (&p.calls[0], &p.calls[1]);
        assert_eq!((contact.method, contact.path.as_str()), (Method::Post, "/crm/v3/objects/contacts/batch/upsert"));
        assert_eq!(
            contact.body.clone().unwrap(),
            json!({"inputs": [{"idProperty": "email", "id": "ada@example.com", "properties": {
                "email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace", "lifecyclestage": "customer"}}]})
        );
        assert_eq!(
            (deal.method, deal.path.as_str(), deal.link.as_deref()),
            (Method::Post, "/crm/v3/objects/deals", Some("deal:reg_7"))
        );
        assert_eq!(
            deal.body.clone().unwrap(),
            json!({"properties": {"dealname": "Launch – ada@example.com", "amount": "49.5", "pipeline": "p1", "dealstage": "s1"}})
        );
        // A deal already made is not made again; free registrations and create_deals off make none.
        let done = linked("deal:reg_7", "d1");
        let p = plan(
            "hubspot",
            "registration.confirmed",
            &env("registration.confirmed", registration(49.5)),
            &settings,
            &done,
        )
        .unwrap();
        assert_eq!(p.calls.len(), 1);
        let p = plan(
            "hubspot",
            "registration.confirmed",
            &env("registration.confirmed", registration(0.0)),
            &settings,
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(p.calls.len(), 1);
        let p = plan(
            "hubspot",
            "registration.confirmed",
            &env("registration.confirmed", registration(10.0)),
            &json!({}),
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(p.calls.len(), 1);
        let contact = json!({"email": "bob@example.com", "company": "Acme"});
        let c =
            one(plan("hubspot", "contact.created", &env("contact.created", contact), &json!({}), &HashMap::new())
                .unwrap());
        assert_eq!(c.body.unwrap()["inputs"][0]["properties"], json!({"email": "bob@example.com", "company": "Acme"}));
        assert!(plan(
            "hubspot",
            "contact.created",
            &env("contact.created", json!({"first_name": "X"})),
            &json!({}),
            &HashMap::new()
        )
        .unwrap_err()
        .contains("data.email"));
    }

    #[test]
    fn salesforce_upserts_by_external_id_and_makes_an_opportunity() {
        let settings = json!({"create_opportunities": true, "opportunity_stage": "Prospecting",
                              "contact_property_mapping": {"Title": "{{ data.role }}", "Department": "Events"}});
        let p = plan(
            "salesforce",
            "registration.confirmed",
            &env("registration.confirmed", registration(120.0)),
            &settings,
            &HashMap::new(),
        )
        .unwrap();
        let (contact, opp) = (&p.calls[0], &p.calls[1]);
        assert_eq!(
            (contact.method, contact.path.as_str()),
            (Method::Patch, "/services/data/v60.0/sobjects/Contact/Email/ada%40example.com")
        );
        assert_eq!(
            contact.body.clone().unwrap(),
            json!({"LastName": "Lovelace", "FirstName": "Ada", "Department": "Events"})
        );
        assert_eq!((opp.method, opp.path.as_str()), (Method::Post, "/services/data/v60.0/sobjects/Opportunity"));
        let body = opp.body.clone().unwrap();
        assert_eq!(
            (&body["Name"], &body["StageName"], &body["Amount"]),
            (&json!("Launch – ada@example.com"), &json!("Prospecting"), &json!(120.0))
        );
        assert!(body["CloseDate"].as_str().is_some_and(|d| d.len() == 10 && d.as_bytes()[4] == b'-'));
        // LastName is required: a contact without one is named by its address.
        let c = one(plan(
            "salesforce",
            "contact.created",
            &env("contact.created", json!({"email": "x@y.io"})),
            &json!({"api_version": "v59.0"}),
            &HashMap::new(),
        )
        .unwrap());
        assert_eq!(c.path, "/services/data/v59.0/sobjects/Contact/Email/x%40y.io");
        assert_eq!(c.body.unwrap(), json!({"LastName": "x@y.io"}));
    }

    #[test]
    fn mailchimp_puts_the_member_then_tags_it() {
        let settings = json!({"list_id": "a1b2c3", "tags": ["Launch", " ", "VIP"], "status_if_new": "pending"});
        let p = plan(
            "mailchimp",
            "registration.confirmed",
            &env("registration.confirmed", registration(0.0)),
            &settings,
            &HashMap::new(),
        )
        .unwrap();
        let hash = subscriber_hash("ada@example.com");
        assert_eq!(p.calls.len(), 2);
        assert_eq!(
            (p.calls[0].method, p.calls[0].path.clone()),
            (Method::Put, format!("/3.0/lists/a1b2c3/members/{hash}"))
        );
        assert_eq!(
            p.calls[0].body.clone().unwrap(),
            json!({"email_address": "ada@example.com", "status_if_new": "pending", "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace"}})
        );
        assert_eq!(p.calls[1].path, format!("/3.0/lists/a1b2c3/members/{hash}/tags"));
        assert_eq!(
            p.calls[1].body.clone().unwrap(),
            json!({"tags": [{"name": "Launch", "status": "active"}, {"name": "VIP", "status": "active"}]})
        );
        let p = plan(
            "mailchimp",
            "registration.confirmed",
            &env("registration.confirmed", json!({"email": "b@c.io"})),
            &json!({"list_id": "L"}),
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(p.calls.len(), 1);
        assert_eq!(p.calls[0].body.clone().unwrap(), json!({"email_address": "b@c.io", "status_if_new": "pending"}));
        assert!(plan(
            "mailchimp",
            "registration.confirmed",
            &env("registration.confirmed", registration(0.0)),
            &json!({}),
            &HashMap::new()
        )
        .unwrap_err()
        .contains("list_id"));
        // Mailchimp takes no action on contacts.
        let p = plan(
            "mailchimp",
            "contact.created",
            &env("contact.created", json!({"email": "b@c.io"})),
            &settings,
            &HashMap::new(),
        )
        .unwrap();
        assert!(p.calls.is_empty() && p.skipped.is_some());
    }

    #[test]
    fn a_connections_own_template_wins_and_a_broken_one_is_a_readable_error() {
        let own = json!({"templates": {"event": "{\"summary\": {{ (\"[Hub] \" ~ title) | tojson }}, \"start\": {\"dateTime\": {{ hub.start_utc | tojson }}}, \"end\": {\"dateTime\": {{ hub.end_utc | tojson }}}}"}});
        let c =
            one(plan("google_calendar", "event.created", &env("event.created", launch()), &own, &HashMap::new())
                .unwrap());
        assert_eq!(c.body.unwrap()["summary"], "[Hub] Launch \"party\"");
        let broken = json!({"templates": {"event": "{\"summary\": {{ title }}}"}});
        let e = plan("google_calendar", "event.created", &env("event.created", launch()), &broken, &HashMap::new())
            .unwrap_err();
        assert!(e.contains("the event template") && e.contains("not JSON"), "{e}");
        let bad_time = json!({"id": "e", "title": "T", "starts_at": "tomorrow"});
        let e =
            plan("zoom", "event.created", &env("event.created", bad_time), &json!({}), &HashMap::new()).unwrap_err();
        assert!(e.contains("starts_at"), "{e}");
    }

    fn call(effect: Effect) -> Call {
        Call { action: "", method: Method::Post, path: "/x".into(), body: None, effect, link: None }
    }

    #[test]
    fn successful_answers_give_the_remote_id_url_and_whether_it_was_new() {
        let done = |id: &str, url: Option<&str>, created: Option<bool>| Answer::Done {
            remote_id: Some(id.into()),
            remote_url: url.map(str::to_string),
            created,
        };
        let a = read_answer(
            "google_calendar",
            &call(Effect::Create),
            200,
            None,
            r#"{"id":"g1","status":"confirmed","htmlLink":"https://cal/g1"}"#,
        );
        assert_eq!(a, done("g1", Some("https://cal/g1"), None));
        let a = read_answer(
            "outlook",
            &call(Effect::Create),
            201,
            None,
            r#"{"id":"AAMk","webLink":"https://outlook/AAMk"}"#,
        );
        assert_eq!(a, done("AAMk", Some("https://outlook/AAMk"), None));
        let a = read_answer(
            "zoom",
            &call(Effect::Create),
            201,
            None,
            r#"{"id":85746065432,"join_url":"https://zoom.us/j/85746065432","start_url":"s"}"#,
        );
        assert_eq!(a, done("85746065432", Some("https://zoom.us/j/85746065432"), None));
        let a = read_answer(
            "hubspot",
            &call(Effect::Upsert),
            200,
            None,
            r#"{"status":"COMPLETE","results":[{"id":"51","properties":{},"new":false}]}"#,
        );
        assert_eq!(a, done("51", None, Some(false)));
        let a = read_answer("hubspot", &call(Effect::Extra), 201, None, r#"{"id":"d9"}"#);
        assert_eq!(a, done("d9", None, None));
        let a = read_answer(
            "salesforce",
            &call(Effect::Upsert),
            201,
            None,
            r#"{"id":"003xx","success":true,"created":true}"#,
        );
        assert_eq!(a, done("003xx", None, Some(true)));
        let a = read_answer("salesforce", &call(Effect::Upsert), 204, None, "");
        assert_eq!(a, Answer::Done { remote_id: None, remote_url: None, created: Some(false) });
        let a = read_answer(
            "mailchimp",
            &call(Effect::Upsert),
            200,
            None,
            r#"{"id":"abc","email_address":"a@b.c","status":"subscribed"}"#,
        );
        assert_eq!(a, done("abc", None, None));
        let a = read_answer("google_calendar", &call(Effect::Cancel), 204, None, "");
        assert_eq!(a, Answer::Done { remote_id: None, remote_url: None, created: None });
    }

    #[test]
    fn failures_are_read_in_each_providers_error_shape() {
        let c = call(Effect::Create);
        let cases = [
            (
                "google_calendar",
                r#"{"error":{"code":400,"message":"Invalid start time.","errors":[]}}"#,
                "400: Invalid start time.",
            ),
            (
                "outlook",
                r#"{"error":{"code":"ErrorInvalidRequest","message":"Your request is invalid."}}"#,
                "400: ErrorInvalidRequest: Your request is invalid.",
            ),
            ("zoom", r#"{"code":300,"message":"Invalid meeting start time."}"#, "400: Invalid meeting start time."),
            (
                "hubspot",
                r#"{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR","correlationId":"x"}"#,
                "400: VALIDATION_ERROR: Property values were not valid",
            ),
            (
                "salesforce",
                r#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]"#,
                "400: REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (LastName)",
            ),
            (
                "mailchimp",
                r#"{"type":"https://mailchimp.com/developer/","title":"Invalid Resource","status":400,"detail":"ada@ looks fake or invalid","instance":"x"}"#,
                "400: Invalid Resource: ada@ looks fake or invalid",
            ),
        ];
        for (provider, body, want) in cases {
            assert_eq!(read_answer(provider, &c, 400, None, body), Answer::Permanent(want.into()), "{provider}");
        }
        assert_eq!(
            read_answer("zoom", &c, 422, None, "<html>nope</html>"),
            Answer::Permanent("422: <html>nope</html>".into())
        );
        assert_eq!(read_answer("zoom", &c, 403, None, ""), Answer::Permanent("the provider answered 403".into()));
        assert!(matches!(read_answer("hubspot", &c, 401, None, "{}"), Answer::Unauthorized(_)));
        assert_eq!(
            read_answer("mailchimp", &c, 429, Some("7"), r#"{"title":"Too Many Requests","detail":"slow"}"#),
            Answer::SlowDown { retry_after: Some("7".into()), message: "429: Too Many Requests: slow".into() }
        );
        assert!(matches!(read_answer("salesforce", &c, 503, None, ""), Answer::Retry(_)));
        assert!(matches!(read_answer("outlook", &c, 500, None, "{}"), Answer::Retry(_)));
        // A cancel of something already gone is done; a create answered 404 is not.
        assert_eq!(read_answer("google_calendar", &call(Effect::Cancel), 410, None, ""), Answer::AlreadyGone);
        assert_eq!(read_answer("zoom", &call(Effect::Cancel), 404, None, ""), Answer::AlreadyGone);
        assert!(matches!(read_answer("zoom", &c, 404, None, ""), Answer::Permanent(_)));
    }
}
