//! API key usage per UTC day: what the API Keys tab's usage charts and `GET /api/v1/keys/{id}/usage` show.

use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;

/// How far back a usage chart looks: one bar per day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum UsageWindow {
    #[default]
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
}

impl UsageWindow {
    pub const ALL: [UsageWindow; 3] = [UsageWindow::Week, UsageWindow::Month, UsageWindow::Quarter];

    pub fn days(self) -> i64 {
        match self {
            UsageWindow::Week => 7,
            UsageWindow::Month => 30,
            UsageWindow::Quarter => 90,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UsageWindow::Week => "7d",
            UsageWindow::Month => "30d",
            UsageWindow::Quarter => "90d",
        }
    }

    /// The UTC day numbers (days since 1970-01-01) the window covers at `now_ms`, oldest first, today last.
    pub fn day_range(self, now_ms: i64) -> (i64, i64) {
        let today = now_ms.div_euclid(DAY_MS);
        (today - self.days() + 1, today)
    }
}

/// `GET /api/v1/keys/{id}/usage` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct UsageQuery {
    #[serde(default)]
    pub window: UsageWindow,
}

/// One day's counts. Every request that presented a valid secret counts in `requests`; `rate_limited` and
/// `ip_refused` are those of them refused by the key's rate limit or IP allowlist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsageDay {
    /// Unix ms of the day's start (UTC).
    pub day: i64,
    pub requests: i64,
    pub rate_limited: i64,
    pub ip_refused: i64,
}

impl UsageDay {
    /// Requests that were let through.
    pub fn accepted(&self) -> i64 {
        (self.requests - self.rate_limited - self.ip_refused).max(0)
    }
}

/// A key's (or a tenant's keys') usage over a window: one entry per day, days without requests as zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyUsage {
    /// The key the figures are for; absent for a tenant's total.
    pub key_id: Option<String>,
    pub tenant_id: Option<String>,
    pub window: UsageWindow,
    pub days: Vec<UsageDay>,
    /// The sums over the window (`day` is the window's first day).
    pub total: UsageDay,
    pub last_used_at: Option<i64>,
    /// The client address of the key's last accepted request.
    pub last_used_ip: Option<String>,
}

impl KeyUsage {
    /// Fills the window's days from the stored rows `(day number, requests, rate_limited, ip_refused)`.
    pub fn from_rows(window: UsageWindow, now_ms: i64, rows: &[(i64, i64, i64, i64)]) -> (Vec<UsageDay>, UsageDay) {
        let (first, last) = window.day_range(now_ms);
        let days: Vec<UsageDay> = (first..=last)
            .map(|d| {
                let r = rows.iter().find(|r| r.0 == d).copied().unwrap_or((d, 0, 0, 0));
                UsageDay { day: d * DAY_MS, requests: r.1, rate_limited: r.2, ip_refused: r.3 }
            })
            .collect();
        let total = days.iter().fold(UsageDay { day: first * DAY_MS, ..Default::default() }, |mut t, d| {
            t.requests += d.requests;
            t.rate_limited += d.rate_limited;
            t.ip_refused += d.ip_refused;
            t
        });
        (days, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_has_one_entry_per_day_ending_today() {
        let now = 20_000 * DAY_MS + 5;
        let (days, total) = KeyUsage::from_rows(UsageWindow::Week, now, &[(20_000, 5, 1, 2), (19_990, 9, 0, 0)]);
        assert_eq!(days.len(), 7);
        assert_eq!(days[6], UsageDay { day: 20_000 * DAY_MS, requests: 5, rate_limited: 1, ip_refused: 2 });
        assert_eq!(days[6].accepted(), 2);
        assert_eq!((total.requests, total.rate_limited, total.day), (5, 1, 19_994 * DAY_MS));
        assert_eq!(UsageWindow::Quarter.day_range(now), (19_911, 20_000));
    }
}
