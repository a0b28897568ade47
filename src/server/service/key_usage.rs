//! API key usage: counted in memory per key and UTC day, and written every few seconds (and at shutdown) as
//! one batch that adds to the key's counter and its daily rollups, so a request never costs a database write.
//! Read back as one bar per day for the usage charts, per key and per tenant.

use super::{Actor, Hub};
use crate::model::{AppResult, KeyUsage, UsageWindow, DAY_MS};
use crate::server::store::{now_ms, UsageDelta};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// What happened to a request that presented a key's valid secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Verified: counts as a use (the key's counter, last use and address).
    Verified,
    /// Verified, then refused by the key's rate limit (already counted as [`KeyOutcome::Verified`]).
    RateLimited,
    /// Refused because the client address is outside the key's allowlist.
    IpRefused,
}

#[derive(Default)]
struct Pending {
    used: i64,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    /// Day number → (requests, rate_limited, ip_refused).
    days: HashMap<i64, (i64, i64, i64)>,
}

/// Usage counts collected in memory until [`Hub::flush_key_usage`] writes them.
#[derive(Default)]
pub struct UsageTracker {
    pending: Mutex<HashMap<String, Pending>>,
}

impl UsageTracker {
    /// Counts one request of the key with record id `key` from `ip`.
    pub fn record(&self, key: &str, ip: IpAddr, outcome: KeyOutcome) {
        let now = now_ms();
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(key.to_string()).or_default();
        let day = e.days.entry(now.div_euclid(DAY_MS)).or_default();
        match outcome {
            KeyOutcome::Verified => {
                day.0 += 1;
                e.used += 1;
                e.last_used_at = Some(now);
                e.last_used_ip = Some(ip.to_string());
            }
            KeyOutcome::RateLimited => day.1 += 1,
            KeyOutcome::IpRefused => {
                day.0 += 1;
                day.2 += 1;
            }
        }
    }

    fn take(&self) -> Vec<UsageDelta> {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.drain().map(|(key, p)| delta(key, p)).collect()
    }

    /// Puts a batch that could not be written back, so the next flush retries it.
    fn restore(&self, batch: Vec<UsageDelta>) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for d in batch {
            let e = map.entry(d.key).or_default();
            e.used += d.used;
            if d.last_used_at > e.last_used_at {
                e.last_used_at = d.last_used_at;
                e.last_used_ip = d.last_used_ip;
            }
            for (day, r, l, i) in d.days {
                let c = e.days.entry(day).or_default();
                *c = (c.0 + r, c.1 + l, c.2 + i);
            }
        }
    }
}

fn delta(key: String, p: Pending) -> UsageDelta {
    UsageDelta {
        key,
        used: p.used,
        last_used_at: p.last_used_at,
        last_used_ip: p.last_used_ip,
        days: p.days.into_iter().map(|(d, (r, l, i))| (d, r, l, i)).collect(),
    }
}

impl Hub {
    /// Writes the batched usage counters.
    pub async fn flush_key_usage(&self) -> AppResult<()> {
        let batch = self.usage.take();
        if let Err(e) = self.store.add_api_key_usage(&batch).await {
            self.usage.restore(batch);
            return Err(e.into());
        }
        Ok(())
    }

    /// One key's usage per day (another tenant's key is a 404).
    pub async fn key_usage(&self, actor: Actor<'_>, id: &str, window: UsageWindow) -> AppResult<KeyUsage> {
        let key = self.get_api_key(&actor, id).await?;
        let now = now_ms();
        let (first, last) = window.day_range(now);
        let rows = self.store.key_usage_days(Some(&key.id), None, first, last).await?;
        let (days, total) = KeyUsage::from_rows(window, now, &rows);
        let last_used_ip = self.store.api_key_last_used_ip(&key.id).await?;
        Ok(KeyUsage {
            key_id: Some(key.id),
            tenant_id: key.tenant_id,
            window,
            days,
            total,
            last_used_at: key.last_used_at,
            last_used_ip,
        })
    }

    /// The usage of every key of a tenant, summed per day (admins without a tenant: every key).
    pub async fn tenant_key_usage(
        &self,
        actor: Actor<'_>,
        tenant: Option<&str>,
        window: UsageWindow,
    ) -> AppResult<KeyUsage> {
        actor.refuse_portal("API keys")?;
        let tenant = self.list_tenant(&actor, tenant)?;
        let now = now_ms();
        let (first, last) = window.day_range(now);
        let rows = self.store.key_usage_days(None, tenant.as_deref(), first, last).await?;
        let (days, total) = KeyUsage::from_rows(window, now, &rows);
        Ok(KeyUsage { key_id: None, tenant_id: tenant, window, days, total, ..Default::default() })
    }
}
