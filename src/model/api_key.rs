//! API keys as the UI, the REST API and the CLI see them. The plaintext exists only in [`IssuedKey`], once.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "events:write")]
    EventsWrite,
    #[serde(rename = "events:read")]
    EventsRead,
    #[serde(rename = "webhooks:read")]
    WebhooksRead,
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    #[serde(rename = "deliveries:read")]
    DeliveriesRead,
    #[serde(rename = "deliveries:write")]
    DeliveriesWrite,
    #[serde(rename = "keys:read")]
    KeysRead,
    #[serde(rename = "keys:write")]
    KeysWrite,
    /// Reading the audit trail (`GET /audit`): its own scope, as it names people and their addresses.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Changing the event-type catalog (shared by every tenant: only admin-wide keys may use it).
    #[serde(rename = "event_types:write")]
    EventTypesWrite,
    /// Reading the tenant's connected apps and their sync logs (never their tokens).
    #[serde(rename = "integrations:read")]
    IntegrationsRead,
    /// Connecting, configuring, syncing and disconnecting apps.
    #[serde(rename = "integrations:write")]
    IntegrationsWrite,
}

impl Scope {
    pub const ALL: [Scope; 12] = [
        Scope::EventsWrite,
        Scope::EventsRead,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
        Scope::DeliveriesRead,
        Scope::DeliveriesWrite,
        Scope::KeysRead,
        Scope::KeysWrite,
        Scope::AuditRead,
        Scope::EventTypesWrite,
        Scope::IntegrationsRead,
        Scope::IntegrationsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::EventsRead => "events:read",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
            Scope::DeliveriesRead => "deliveries:read",
            Scope::DeliveriesWrite => "deliveries:write",
            Scope::KeysRead => "keys:read",
            Scope::KeysWrite => "keys:write",
            Scope::AuditRead => "audit:read",
            Scope::EventTypesWrite => "event_types:write",
            Scope::IntegrationsRead => "integrations:read",
            Scope::IntegrationsWrite => "integrations:write",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// The resource part, for grouping in the UI ("events", "webhooks", …).
    pub fn group(self) -> &'static str {
        self.as_str().split(':').next().unwrap_or_default()
    }

    pub fn is_read(self) -> bool {
        self.as_str().ends_with(":read")
    }

    pub fn read_only() -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| s.is_read()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
    Disabled,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 4] = [KeyStatus::Active, KeyStatus::Expired, KeyStatus::Revoked, KeyStatus::Disabled];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<KeyStatus> {
        KeyStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Rate-limit presets; `Custom` takes the numbers given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RateTier {
    Free,
    Pro,
    Enterprise,
    /// For a host app's backend: publishing bursts (a bulk import, a nightly sync) must not meet a 429 within a
    /// second, as they would at 60 a minute. The default for producer keys (see [`RateTier::default_for`]).
    Producer,
    Custom,
}

impl RateTier {
    pub const ALL: [RateTier; 5] =
        [RateTier::Free, RateTier::Pro, RateTier::Enterprise, RateTier::Producer, RateTier::Custom];
    /// (per minute, per hour)
    pub fn limits(self) -> Option<(u32, u32)> {
        match self {
            RateTier::Free => Some((60, 1_000)),
            RateTier::Pro => Some((300, 10_000)),
            RateTier::Enterprise => Some((1_000, 50_000)),
            RateTier::Producer => Some((6_000, 300_000)),
            RateTier::Custom => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RateTier::Free => "free",
            RateTier::Pro => "pro",
            RateTier::Enterprise => "enterprise",
            RateTier::Producer => "producer",
            RateTier::Custom => "custom",
        }
    }
    pub fn parse(s: &str) -> Option<RateTier> {
        RateTier::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// The tier a new key gets when none is given: producer keys (they publish events, or are admin-wide and
    /// act for the host app) get [`RateTier::Producer`], every other key [`RateTier::Free`].
    pub fn default_for(tenant_id: Option<&str>, scopes: &[Scope]) -> RateTier {
        if tenant_id.is_none() || scopes.contains(&Scope::EventsWrite) {
            RateTier::Producer
        } else {
            RateTier::Free
        }
    }
    /// How people read the limits: "6,000 requests a minute and 300,000 an hour".
    pub fn describe_limits(per_minute: u32, per_hour: u32) -> String {
        format!("{} requests a minute and {} an hour", thousands(per_minute), thousands(per_hour))
    }
    /// The preset these numbers correspond to, if any.
    pub fn of(per_minute: u32, per_hour: u32) -> RateTier {
        RateTier::ALL.into_iter().find(|t| t.limits() == Some((per_minute, per_hour))).unwrap_or(RateTier::Custom)
    }
}

/// 6000 → "6,000".
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub const MAX_RATE_PER_MINUTE: u32 = 6_000_000;
pub const MAX_RATE_PER_HOUR: u32 = 360_000_000;
pub const DEFAULT_ROTATION_GRACE_SECONDS: u64 = 24 * 3600;
pub const MAX_ROTATION_GRACE_SECONDS: u64 = 30 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    /// None for an admin-wide key.
    pub tenant_id: Option<String>,
    pub name: String,
    pub description: String,
    /// What lists show, e.g. `ihk_live_Ab12Cd34`.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// CIDRs; empty allows every address.
    pub allowed_ips: Vec<String>,
    pub rate_limit_per_minute: u32,
    pub rate_limit_per_hour: u32,
    pub expires_at: Option<i64>,
    pub is_active: bool,
    pub revoked_at: Option<i64>,
    /// Until when the secret before the last rotation still works.
    pub previous_secret_expires_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
    pub usage_count: i64,
}

impl ApiKey {
    pub fn status_at(&self, now_ms: i64) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now_ms) {
            KeyStatus::Expired
        } else if !self.is_active {
            KeyStatus::Disabled
        } else {
            KeyStatus::Active
        }
    }
    pub fn has_scope(&self, s: Scope) -> bool {
        self.scopes.contains(&s)
    }
    pub fn rate_tier(&self) -> RateTier {
        RateTier::of(self.rate_limit_per_minute, self.rate_limit_per_hour)
    }
}

/// Input for a new key. Limits come from `tier`, or from the two numbers for `custom`. Without either: the
/// `producer` tier for keys with `events:write` and admin-wide keys, `free` for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateApiKey {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Only admin-wide keys and admins may name another tenant; None with a tenant key means the key's tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    #[serde(default)]
    pub tier: Option<RateTier>,
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    #[serde(default)]
    pub rate_limit_per_hour: Option<u32>,
    /// Unix milliseconds; None never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// A partial update: absent fields stay as they are. `expires_at: Some(None)` removes the expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UpdateApiKey {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
    #[serde(default)]
    pub allowed_ips: Option<Vec<String>>,
    #[serde(default)]
    pub tier: Option<RateTier>,
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    #[serde(default)]
    pub rate_limit_per_hour: Option<u32>,
    #[serde(default, with = "double_option")]
    pub expires_at: Option<Option<i64>>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// The one response that carries a key's plaintext: after create and rotate. It is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RotateApiKey {
    /// How long the old secret keeps working; default 24 h, 0 = stops at once.
    #[serde(default)]
    pub grace_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct KeyListQuery {
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub status: Option<KeyStatus>,
    /// Admin-wide keys and admins: which tenant's keys (None: all for admins).
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// `GET /api/v1/me`: what the calling key is and may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WhoAmI {
    pub key: ApiKey,
    pub admin_wide: bool,
    pub status: KeyStatus,
}

/// Distinguishes "field absent" from "field: null" in PATCH bodies.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_tiers_roundtrip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        assert_eq!(Scope::read_only().len(), 6, "events, webhooks, deliveries, keys, audit and integrations");
        assert_eq!(RateTier::of(300, 10_000), RateTier::Pro);
        assert_eq!(RateTier::of(7, 8), RateTier::Custom);
        assert_eq!(RateTier::of(6_000, 300_000), RateTier::Producer);
    }

    #[test]
    fn producer_keys_default_to_the_producer_tier() {
        assert_eq!(RateTier::default_for(Some("ten_1"), &[Scope::EventsWrite]), RateTier::Producer);
        assert_eq!(RateTier::default_for(None, &[Scope::EventsRead]), RateTier::Producer);
        assert_eq!(RateTier::default_for(Some("ten_1"), &[Scope::EventsRead, Scope::KeysWrite]), RateTier::Free);
        assert_eq!(RateTier::describe_limits(6_000, 300_000), "6,000 requests a minute and 300,000 an hour");
        assert_eq!(RateTier::describe_limits(60, 1_000), "60 requests a minute and 1,000 an hour");
    }

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let p: UpdateApiKey = serde_json::from_str(r#"{"expires_at": null}"#).unwrap();
        assert_eq!(p.expires_at, Some(None));
        let p: UpdateApiKey = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.expires_at, None);
    }
}
