//! Operational notifications: what the hub itself has to tell a tenant (an endpoint switched off, a delivery
//! dead-lettered, an API key about to expire, a quota reached) is published as an ordinary event of a `hub.*`
//! type from the catalog, to that tenant and to the operators' tenant (`HUB_OPS_TENANT`), so it can be routed
//! to email, Slack or a webhook like any other event.
//!
//! A notice goes only to tenants with an endpoint subscribed to it by name (`*` does not take `hub.*` types),
//! and never fails what caused it: publishing errors are logged. Events of `hub.*` types never cause
//! notices themselves (a dead-lettered notice would otherwise announce itself for ever), and the frequent kinds
//! are coalesced: at most one dead-letter notice per endpoint a minute, one quota notice per quota and key an hour.

use super::{Actor, Hub};
use crate::model::filter::{subscribed, HUB_NOTICE_PREFIX};
use crate::model::{PublishEvent, Webhook};
use crate::server::store::{now_ms, AttemptRecord, AutoDisabled};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

pub const ENDPOINT_DISABLED: &str = "hub.endpoint.disabled";
pub const DEAD_LETTERED: &str = "hub.delivery.dead_lettered";
pub const KEY_EXPIRING: &str = "hub.api_key.expiring";
pub const QUOTA_REACHED: &str = "hub.quota.reached";
/// A connected app's tokens were refused by its provider (published by `service/apps.rs`).
pub const APP_CONNECTION_ERROR: &str = "hub.app.connection_error";

const DEAD_LETTER_EVERY_MS: i64 = 60_000;
const QUOTA_EVERY_MS: i64 = 3_600_000;
/// Coalescing keys remembered at most (a flood of distinct keys clears the memory rather than growing it).
const REMEMBERED_MAX: usize = 10_000;

/// When each coalesced notice was last sent, by what it is about.
#[derive(Default)]
pub struct NoticeMemory(Mutex<HashMap<String, i64>>);

impl NoticeMemory {
    /// Whether a notice about `key` may go now, and if so remembers it.
    fn due(&self, key: String, every_ms: i64, now: i64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.get(&key).is_some_and(|at| now - at < every_ms) {
            return false;
        }
        if seen.len() >= REMEMBERED_MAX {
            seen.clear();
        }
        seen.insert(key, now);
        true
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn endpoint(w: Option<&Webhook>, id: &str) -> Value {
    match w {
        Some(w) => json!({"id": w.id, "name": w.name, "kind": w.kind.as_str(), "url": w.url}),
        None => json!({"id": id}),
    }
}

impl Hub {
    /// Whether `tenant` has an endpoint subscribed to `event_type` (yes when its routes cannot be read: the
    /// publish then says what is wrong).
    async fn listens(&self, tenant: &str, event_type: &str) -> bool {
        self.routes_for(tenant).await.map_or(true, |routes| routes.iter().any(|r| subscribed(&r.events, event_type)))
    }

    /// Whether the notice would reach anyone: `tenant` or the operators' tenant. Coalescing counts only notices
    /// that would, so subscribing later is not met by a quiet hour.
    async fn anyone_listens(&self, tenant: Option<&str>, event_type: &str) -> bool {
        for t in tenant.into_iter().chain(self.config.serve.ops_tenant.as_deref().filter(|t| !t.is_empty())) {
            if self.listens(t, event_type).await {
                return true;
            }
        }
        false
    }

    /// Publishes a notice to `tenant` (when there is one) and to the operators' tenant. Never fails.
    pub async fn notify(&self, tenant: Option<&str>, event_type: &str, mut data: Value) {
        let ops = self.config.serve.ops_tenant.as_deref().filter(|t| !t.is_empty());
        if let (Some(t), Some(obj)) = (tenant, data.as_object_mut()) {
            // The operators' copy says whose it is.
            obj.insert("tenant_id".into(), json!(t));
        }
        let mut to: Vec<&str> = tenant.into_iter().collect();
        to.extend(ops.filter(|o| Some(*o) != tenant));
        for t in to {
            // A notice nobody subscribed to is not recorded: the tenant's event list stays the host app's.
            if !self.listens(t, event_type).await {
                continue;
            }
            let input = PublishEvent {
                event_type: event_type.to_string(),
                data: data.clone(),
                tenant_id: Some(t.to_string()),
                ..Default::default()
            };
            if let Err(e) = self.publish(Actor::System, input).await {
                tracing::warn!(tenant = t, event_type, error = %e, "an operational notice could not be published");
            }
        }
    }

    /// An endpoint was switched off by the hub (410, a platform's word, the breaker, no recipients left).
    pub async fn notify_endpoint_disabled(&self, d: &AutoDisabled) {
        let hook = self.store.get_webhook(&d.webhook_id, None).await.ok().flatten();
        let data = json!({
            "endpoint": endpoint(hook.as_ref(), &d.webhook_id),
            "reason": d.reason,
            "disabled_at": rfc3339(now_ms()),
        });
        self.notify(Some(&d.tenant_id), ENDPOINT_DISABLED, data).await;
    }

    /// Deliveries that gave up; at most one notice per endpoint a minute, none for `hub.*` events.
    pub async fn notify_dead_letters(&self, records: &[&AttemptRecord]) {
        let now = now_ms();
        for r in records.iter().filter(|r| !r.event_type.starts_with(HUB_NOTICE_PREFIX)) {
            if !self.anyone_listens(Some(&r.tenant_id), DEAD_LETTERED).await
                || !self.notices.due(format!("dead:{}", r.webhook_id), DEAD_LETTER_EVERY_MS, now)
            {
                continue;
            }
            let hook = self.store.get_webhook(&r.webhook_id, None).await.ok().flatten();
            let data = json!({
                "delivery": {"id": r.delivery_id, "event_id": r.event_id, "event_type": r.event_type,
                             "attempts": r.attempt.attempt},
                "endpoint": endpoint(hook.as_ref(), &r.webhook_id),
                "reason": r.attempt.error.clone().unwrap_or_else(|| "its retries are spent".into()),
                "dead_lettered_at": rfc3339(now),
            });
            self.notify(Some(&r.tenant_id), DEAD_LETTERED, data).await;
        }
    }

    /// Keys expiring within `HUB_KEY_EXPIRY_NOTICE_DAYS`: one notice per key and expiry, across instances.
    pub async fn notify_expiring_keys(&self, now: i64) -> Result<usize, String> {
        let days = i64::from(self.config.serve.key_expiry_notice_days);
        if days == 0 {
            return Ok(0);
        }
        let keys = self.store.keys_expiring(now, now + days * 86_400_000).await.map_err(|e| e.to_string())?;
        let mut sent = 0;
        for k in keys {
            let Some(at) = k.expires_at else { continue };
            if !self.store.claim_expiry_notice(&k.id, at, false).await.map_err(|e| e.to_string())? {
                continue;
            }
            let data = json!({
                "key": {"id": k.id, "name": k.name, "prefix": k.prefix, "expires_at": rfc3339(at)},
                "days_left": (at - now) / 86_400_000,
            });
            self.notify(k.tenant_id.as_deref(), KEY_EXPIRING, data).await;
            sent += 1;
        }
        Ok(sent)
    }

    /// A quota was reached; at most one notice per quota (and key) an hour.
    pub async fn notify_quota(&self, tenant: Option<&str>, quota: &str, limit: u64, detail: Value) {
        let about = format!("quota:{}:{quota}:{}", tenant.unwrap_or("-"), detail["key"]["id"].as_str().unwrap_or("-"));
        if !self.anyone_listens(tenant, QUOTA_REACHED).await || !self.notices.due(about, QUOTA_EVERY_MS, now_ms()) {
            return;
        }
        let mut data = json!({"quota": quota, "limit": limit, "reached_at": rfc3339(now_ms())});
        if let (Some(obj), Value::Object(more)) = (data.as_object_mut(), detail) {
            obj.extend(more);
        }
        self.notify(tenant, QUOTA_REACHED, data).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesced_notices_go_once_per_period() {
        let m = NoticeMemory::default();
        assert!(m.due("dead:wh_1".into(), 60_000, 1_000));
        assert!(!m.due("dead:wh_1".into(), 60_000, 30_000));
        assert!(m.due("dead:wh_2".into(), 60_000, 30_000));
        assert!(m.due("dead:wh_1".into(), 60_000, 61_000));
    }
}
