//! The two developer tools in the UI: the routing preview (which endpoints would receive this event, and why
//! not the others) and the signature playground (does this request verify, and if not, why).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An event that is not published: only routed, to see where it would go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingPreviewInput {
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteOutcome {
    /// Subscribed, active and every filter passed: it would be delivered.
    Delivered,
    NotSubscribed,
    /// Subscribed, but a payload filter rejected the event.
    Filtered,
    /// Subscribed, but the endpoint is disabled.
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCheck {
    pub webhook_id: String,
    pub name: String,
    pub url: String,
    pub outcome: RouteOutcome,
    /// For `filtered`: which filter and why, e.g. `filter #2 rejected the event: data.priority is "low"`.
    pub reason: Option<String>,
}

/// What a receiver got: the secret it holds, the request's headers (pasted as `Name: value` lines) and raw body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    pub secret: String,
    pub headers: String,
    pub body: String,
    /// Allowed clock skew; the Standard Webhooks libraries use 300 s.
    pub tolerance_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureVerdict {
    pub valid: bool,
    /// Why not, in one sentence.
    pub reason: Option<String>,
    /// What else was found out (e.g. "the signature matches once the trailing newline is removed").
    pub hints: Vec<String>,
    /// The v1 signature this secret gives for these headers and body (the receiver holds the secret already).
    pub expected_signature: Option<String>,
}
