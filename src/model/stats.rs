//! Delivery statistics (per endpoint or per tenant) and test-fire: what the Webhooks tab's cards and charts and
//! the REST API show.

use super::DeliveryAttempt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The period a stats query covers; each has a fixed bucket size for the charts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum StatsWindow {
    #[default]
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
}

const HOUR_MS: i64 = 3_600_000;

impl StatsWindow {
    pub const ALL: [StatsWindow; 3] = [StatsWindow::Day, StatsWindow::Week, StatsWindow::Month];

    pub fn label(self) -> &'static str {
        match self {
            StatsWindow::Day => "24h",
            StatsWindow::Week => "7d",
            StatsWindow::Month => "30d",
        }
    }
    /// (bucket size in ms, number of buckets): 24 hours, 28 quarter-days, 30 days.
    pub fn buckets(self) -> (i64, i64) {
        match self {
            StatsWindow::Day => (HOUR_MS, 24),
            StatsWindow::Week => (6 * HOUR_MS, 28),
            StatsWindow::Month => (24 * HOUR_MS, 30),
        }
    }
}

/// `GET /api/v1/stats/deliveries`: one endpoint's figures, or a tenant's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct StatsQuery {
    #[serde(default)]
    pub webhook_id: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub window: StatsWindow,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    pub pending: i64,
    pub retrying: i64,
    pub success: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    pub fn total(&self) -> i64 {
        self.pending + self.retrying + self.success + self.failed + self.cancelled
    }
    /// Successes among finished deliveries (None before anything finished).
    pub fn success_rate(&self) -> Option<f64> {
        let done = self.success + self.failed;
        (done > 0).then(|| self.success as f64 / done as f64)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatsBucket {
    /// Unix ms of the bucket's start.
    pub start: i64,
    pub counts: StatusCounts,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// Counts by status, success rate and latency (of each delivery's latest attempt; percentiles interpolated in a
/// fine log-scale histogram) over the window, and the same per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryStats {
    pub window: StatsWindow,
    pub since: i64,
    pub until: i64,
    pub bucket_ms: i64,
    pub counts: StatusCounts,
    pub total: i64,
    pub success_rate: Option<f64>,
    pub avg_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub buckets: Vec<StatsBucket>,
}

/// `POST /api/v1/webhooks/{id}/test`: send one event to one endpoint now and wait for its answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestFire {
    /// Defaults to the endpoint's first subscribed event type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Defaults to the event type's example payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// What the endpoint answered; the attempt is stored as a test delivery (kept 7 days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TestFireResult {
    pub delivery_id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub success: bool,
    pub attempt: DeliveryAttempt,
}
