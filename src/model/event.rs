//! Event types, published events and the delivery rows they become.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventType {
    pub name: String,
    pub category: String,
    pub description: String,
    pub example: Value,
    /// JSON Schema (any draft from 4 to 2020-12; references only inside the schema) the `data` must satisfy.
    pub schema: Option<Value>,
    pub archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Not in the catalog: published by a tenant that accepts unregistered types, and shown so it can be
    /// registered (given a category, a description, a schema). Only that tenant and admins see it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unregistered: bool,
    /// When an unregistered type was first published (unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen_at: Option<i64>,
}

/// `POST /api/v1/event-types`: a new catalog entry (or the registration of an unregistered one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// Lowercase letters, digits and `_` between dots, e.g. `crm.deal_won`; `hub.` names are the hub's own.
    pub name: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    /// What test-fire and template previews send as `data`; must satisfy the schema. Default `{}`.
    #[serde(default)]
    pub example: Option<Value>,
    /// JSON Schema for `data` (references only inside the schema: `#/$defs/…`).
    #[serde(default)]
    pub schema: Option<Value>,
}

/// `PATCH /api/v1/event-types/{name}`: absent fields stay as they are; `"schema": null` removes the schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateEventType {
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub example: Option<Value>,
    #[serde(default, with = "super::api_key::double_option")]
    pub schema: Option<Option<Value>>,
}

/// A tenant's catalog settings (the Event types tab; `set_event_type_settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeSettings {
    pub tenant_id: String,
    /// Publishing a type that is not in the catalog is accepted (and the type recorded as unregistered)
    /// instead of refused with 422.
    pub accept_unregistered_types: bool,
}

/// `POST /api/v1/events` and the in-process `publish`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Required for admin-wide keys; must match for tenant keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// The 202 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Published {
    pub id: String,
    /// Endpoints that will receive it.
    pub matched: usize,
    /// True when an earlier event with the same idempotency key was returned instead.
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BatchItemResult {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Published>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<super::AppError>,
}

/// The stored event: its envelope is exactly what endpoints receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: String,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: i64,
    /// `{id, type, timestamp, tenant_id, data, previous_data?, metadata?}`
    pub envelope: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Retrying,
    Success,
    /// Failed after every attempt: the dead-letter queue.
    Failed,
    /// The endpoint was deleted before it was sent.
    Cancelled,
    /// Waiting for its endpoint to be switched on again (by a person, after 410 Gone or the circuit breaker);
    /// it goes back to the queue then, and deleting the endpoint cancels it.
    Paused,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Success,
        DeliveryStatus::Failed,
        DeliveryStatus::Cancelled,
        DeliveryStatus::Paused,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Success => "success",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
            DeliveryStatus::Paused => "paused",
        }
    }
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: String,
    pub tenant_id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    /// Latency of the latest attempt.
    pub duration_ms: Option<u64>,
    /// A test-fire, not a published event.
    pub is_test: bool,
    /// The latest replay of this delivery (recovering an endpoint re-sends a dead letter only once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventWithDeliveries {
    #[serde(flatten)]
    pub event: Event,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct EventListQuery {
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    /// Unix milliseconds.
    #[serde(default)]
    pub since: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// Why an attempt failed, for filtering and for the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The endpoint answered with a non-2xx status.
    Status,
    Timeout,
    Connect,
    Dns,
    Tls,
    Reset,
    SsrfBlocked,
    Template,
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Status,
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::Dns,
        ErrorKind::Tls,
        ErrorKind::Reset,
        ErrorKind::SsrfBlocked,
        ErrorKind::Template,
        ErrorKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Status => "status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Dns => "dns",
            ErrorKind::Tls => "tls",
            ErrorKind::Reset => "reset",
            ErrorKind::SsrfBlocked => "ssrf_blocked",
            ErrorKind::Template => "template",
            ErrorKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One attempt, as sent and as answered (bodies cut at 64 KB, flagged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    pub id: String,
    pub delivery_id: String,
    pub attempt: u32,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub response_status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub response_truncated: bool,
    pub duration_ms: u64,
    pub error_kind: Option<ErrorKind>,
    pub error: Option<String>,
    pub next_retry_at: Option<i64>,
    pub created_at: i64,
}

impl DeliveryAttempt {
    /// The success rule, one place for the worker, test-fire and the UI: a 2xx answer, read without error.
    pub fn succeeded(&self) -> bool {
        self.error_kind.is_none() && self.response_status.is_some_and(|c| (200..300).contains(&c))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct DeliveryListQuery {
    #[serde(default)]
    pub status: Option<DeliveryStatus>,
    #[serde(default)]
    pub webhook_id: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    /// Unix milliseconds, inclusive.
    #[serde(default)]
    pub since: Option<i64>,
    #[serde(default)]
    pub until: Option<i64>,
    /// The last id of the previous page (newest first).
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    /// Every attempt, oldest first (`attempts` is already the count, from the flattened delivery).
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// `POST /api/v1/webhooks/{id}/recover`: replay the endpoint's failed deliveries since a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecoverRequest {
    /// Unix milliseconds.
    pub since: i64,
}
