//! Webhook endpoints: where a tenant's events go, which ones, and how they are delivered.

use super::destination::{DestinationKind, MessageTemplate};
use super::filter::Filter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ContentType {
    #[default]
    #[serde(rename = "application/json")]
    Json,
    /// Body `payload=<json>`.
    #[serde(rename = "application/x-www-form-urlencoded")]
    Form,
}

impl ContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::Form => "application/x-www-form-urlencoded",
        }
    }
    pub fn parse(s: &str) -> Option<ContentType> {
        [ContentType::Json, ContentType::Form].into_iter().find(|c| c.as_str() == s)
    }
}

/// Allowed ranges, shown in forms and enforced by the service.
pub mod limits {
    pub const MAX_RETRIES: (u32, u32, u32) = (0, 10, 3);
    pub const RETRY_DELAY_SECONDS: (u32, u32, u32) = (1, 3600, 5);
    pub const BACKOFF_FACTOR: (f64, f64, f64) = (1.0, 10.0, 1.5);
    pub const TIMEOUT_MS: (u32, u32, u32) = (1_000, 60_000, 30_000);
    /// 0 = no limit (the default); the limit holds across every instance working the queue.
    pub const RATE_LIMIT_PER_MINUTE: (u32, u32, u32) = (0, 1_000_000, 0);
    pub const MAX_URL_LEN: usize = 2_048;
    pub const MAX_FILTERS: usize = 50;
    pub const MAX_HEADERS: usize = 20;
    pub const MAX_EVENTS: usize = 100;
    pub const MAX_TEMPLATE_LEN: usize = 16_384;
}

/// What every answer shows instead of a custom header's value (values are receivers' credentials; they are
/// revealed only by `GET /webhooks/{id}/headers`). An update that sends a header with this value keeps the stored
/// value, so a form can send back what it was shown.
pub const HEADER_MASK: &str = "••••••";

/// Header names an endpoint cannot set: those the hub sets itself, and those that describe the connection
/// rather than the request (framing, upgrades, `Expect: 100-continue`), which a receiver, or a proxy on the way,
/// would act on. Every `proxy-*` name is reserved too ([`is_reserved_header`]).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-webhook-id",
    "x-webhook-event",
    "x-webhook-timestamp",
    "x-webhook-signature",
    "x-webhook-signature-timestamp",
];

/// Whether an endpoint may not set header `name` (any case).
pub fn is_reserved_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-")
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// Where deliveries go; `webhook` for endpoints made before destinations had kinds.
    #[serde(default)]
    pub kind: DestinationKind,
    /// The HTTP URL (every kind but email; empty for email).
    pub url: String,
    /// Email: who receives each delivery (one message each, with its own unsubscribe link).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Chat and email kinds: how the message reads; None = the default for each event's category.
    #[serde(default)]
    pub message: Option<MessageTemplate>,
    pub description: String,
    pub events: Vec<String>,
    pub filters: Vec<Filter>,
    /// Custom headers sent with every delivery; values are always shown as [`HEADER_MASK`].
    pub headers: BTreeMap<String, String>,
    pub content_type: ContentType,
    pub template: Option<String>,
    pub max_retries: u32,
    pub retry_delay_seconds: u32,
    pub backoff_factor: f64,
    pub timeout_ms: u32,
    /// Deliveries per minute to this endpoint, spread evenly (at most one second's worth at once) and shared by
    /// every hub instance; 0 = no limit (the default).
    pub rate_limit_per_minute: u32,
    pub is_active: bool,
    /// Why the hub disabled it (410 Gone, circuit breaker); None when a person did or it is active.
    pub disabled_reason: Option<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_triggered_at: Option<i64>,
    pub last_error_at: Option<i64>,
    pub last_error: Option<String>,
    pub total_delivered: i64,
    pub total_failed: i64,
}

impl Webhook {
    /// The same endpoint with every header value replaced by [`HEADER_MASK`].
    pub fn masked(mut self) -> Webhook {
        self.headers.values_mut().for_each(|v| *v = HEADER_MASK.to_string());
        self
    }
}

/// `GET /api/v1/webhooks/{id}/headers`: the custom headers with their real values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookHeaders {
    pub headers: BTreeMap<String, String>,
}

/// `POST /api/v1/webhooks`: only `url` and `events` are required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    #[serde(default)]
    pub name: Option<String>,
    /// `webhook` (the default), `slack`, `discord`, `teams` or `email`.
    #[serde(default)]
    pub kind: Option<DestinationKind>,
    /// Required for every kind but email.
    #[serde(default)]
    pub url: String,
    /// Email: the recipients (1–50 addresses).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Chat and email kinds: how the message reads; absent = the default for each event's category.
    #[serde(default)]
    pub message: Option<MessageTemplate>,
    #[serde(default)]
    pub description: Option<String>,
    pub events: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `whsec_…`; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub content_type: Option<ContentType>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub max_retries: Option<u32>,
    #[serde(default)]
    pub retry_delay_seconds: Option<u32>,
    #[serde(default)]
    pub backoff_factor: Option<f64>,
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    #[serde(default)]
    /// Deliveries per minute to this endpoint, spread evenly (at most one second's worth at once) and shared by
    /// every hub instance; 0 = no limit (the default). 0–1,000,000.
    pub rate_limit_per_minute: Option<u32>,
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Admin-wide keys and admins name the tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// `PATCH /api/v1/webhooks/{id}`: absent fields stay; `template: null` removes the template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<DestinationKind>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub recipients: Option<Vec<String>>,
    /// `null` goes back to the default message.
    #[serde(default, with = "super::api_key::double_option")]
    pub message: Option<Option<MessageTemplate>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub filters: Option<Vec<Filter>>,
    /// The whole set of custom headers; a value equal to the mask (`••••••`) keeps that header's stored value.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub content_type: Option<ContentType>,
    #[serde(default, with = "super::api_key::double_option")]
    pub template: Option<Option<String>>,
    #[serde(default)]
    pub max_retries: Option<u32>,
    #[serde(default)]
    pub retry_delay_seconds: Option<u32>,
    #[serde(default)]
    pub backoff_factor: Option<f64>,
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    #[serde(default)]
    /// Deliveries per minute to this endpoint, spread evenly (at most one second's worth at once) and shared by
    /// every hub instance; 0 = no limit (the default). 0–1,000,000.
    pub rate_limit_per_minute: Option<u32>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookSecret {
    pub secret: String,
    /// During a rotation: the previous secret, still signed with until `previous_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RotateWebhookSecret {
    /// Default 24 h; 0 drops the old secret at once.
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// A specific new secret (`whsec_…`); generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A tenant's endpoints counted in the database (the overview cards), however many there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCounts {
    pub total: i64,
    pub active: i64,
    /// Switched off by the hub (breaker, a platform's "gone" answer), not by a person.
    pub auto_disabled: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct WebhookListQuery {
    #[serde(default)]
    pub search: Option<String>,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
    /// Webhooks subscribed to this event type (by their patterns).
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The last id of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}
