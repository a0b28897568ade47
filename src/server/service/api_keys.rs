//! API keys: issue (plaintext shown once), verify per request, scope, rotate with grace, revoke, and count
//! usage in batches so a request never costs a database write.

use super::audit::Audited;
use super::key_usage::KeyOutcome;
use super::{Actor, Hub};
use crate::model::{
    ApiKey, AppError, AppResult, CreateApiKey, ErrorCode, FieldError, IssuedKey, KeyListQuery, RateTier, RotateApiKey,
    Scope, UpdateApiKey, Validator, DEFAULT_ROTATION_GRACE_SECONDS, MAX_RATE_PER_HOUR, MAX_RATE_PER_MINUTE,
    MAX_ROTATION_GRACE_SECONDS,
};
use crate::server::auth::{api_key, cidr};
use crate::server::store::{new_id, now_ms, StoredKey};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Verified key records kept for [`KEY_CACHE_TTL`], so a request usually costs no database read. Any change
/// to a key made through this instance clears the cache at once; other instances sharing a PostgreSQL database
/// see a revocation within the TTL.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (std::time::Instant, StoredKey)>>,
}

pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl KeyCache {
    fn get(&self, key_id: &str) -> Option<StoredKey> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key_id).filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL).map(|(_, k)| k.clone())
    }
    fn put(&self, key_id: &str, k: StoredKey) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
        }
        map.insert(key_id.to_string(), (std::time::Instant::now(), k));
    }
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The limits asked for; with neither a tier nor numbers, those of `default` (see [`RateTier::default_for`]).
fn validate_limits(
    v: &mut Validator,
    tier: Option<RateTier>,
    per_min: Option<u32>,
    per_hour: Option<u32>,
    default: RateTier,
) -> (u32, u32) {
    let (m, h) = match tier.and_then(RateTier::limits) {
        Some(l) => l,
        None if tier == Some(RateTier::Custom) || per_min.is_some() || per_hour.is_some() => {
            (per_min.unwrap_or(60), per_hour.unwrap_or(1_000))
        }
        None => default.limits().unwrap_or((60, 1_000)),
    };
    v.check(
        (1..=MAX_RATE_PER_MINUTE).contains(&m),
        "rate_limit_per_minute",
        format!("must be 1–{MAX_RATE_PER_MINUTE}"),
    );
    v.check((1..=MAX_RATE_PER_HOUR).contains(&h), "rate_limit_per_hour", format!("must be 1–{MAX_RATE_PER_HOUR}"));
    v.check(h >= m, "rate_limit_per_hour", "must be at least the per-minute limit");
    (m, h)
}

/// Normalised CIDR strings, or one field error listing every bad line.
fn validate_ips(v: &mut Validator, lines: &[String]) -> Vec<String> {
    match cidr::parse_allowlist(lines) {
        Ok(nets) => {
            v.check(nets.len() <= 100, "allowed_ips", "at most 100 entries");
            nets.iter().map(|n| n.to_string()).collect()
        }
        Err(bad) => {
            v.push("allowed_ips", bad.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("\n"));
            Vec::new()
        }
    }
}

fn validate_scopes(v: &mut Validator, actor: &Actor<'_>, scopes: &[Scope]) {
    v.check(!scopes.is_empty(), "scopes", "choose at least one scope");
    if let Actor::Key(k) = actor {
        // A key can never mint a key more powerful than itself.
        let extra: Vec<_> = scopes.iter().filter(|s| !k.has_scope(**s)).map(|s| s.as_str()).collect();
        v.check(
            extra.is_empty(),
            "scopes",
            format!("this key cannot grant scopes it does not have: {}", extra.join(", ")),
        );
    }
}

/// A key acting on a key (rotating, changing, revoking or deleting it) may only touch keys whose scopes are all its
/// own: otherwise `keys:write` alone would reach every key of its tenant (an admin-wide key: every key), and a
/// rotation hands over the stronger key's new plaintext. People and the hub itself keep their own rules.
fn require_authority_over(actor: &Actor<'_>, target: &ApiKey, verb: &str) -> AppResult<()> {
    let Actor::Key(k) = actor else { return Ok(()) };
    let extra: Vec<_> = target.scopes.iter().filter(|s| !k.has_scope(**s)).map(|s| s.as_str()).collect();
    if extra.is_empty() {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "this API key cannot {verb} a key with scopes it does not have itself: {}",
        extra.join(", ")
    )))
}

/// Whether every address `after` admits is admitted by `before` as well (an empty list admits every address).
/// A list that does not parse admits nothing here: it can only be replaced by someone other than the key.
fn allowlist_within(after: &[String], before: &[String]) -> bool {
    if before.is_empty() {
        return true;
    }
    match (cidr::parse_allowlist(after), cidr::parse_allowlist(before)) {
        (Ok(after), Ok(before)) if !after.is_empty() && !before.is_empty() => {
            after.iter().all(|a| before.iter().any(|b| b.contains(a)))
        }
        _ => false,
    }
}

/// A key changing itself may tighten its restrictions but never loosen them: were it able to, a leaked key with
/// `keys:write` could lift the very IP allowlist, expiry and rate limits that contain the leak.
fn refuse_self_widening(before: &ApiKey, after: &ApiKey) -> AppResult<()> {
    let mut fields = Vec::new();
    let mut push = |field: &str, message: String| fields.push(FieldError { field: field.into(), message });
    if !allowlist_within(&after.allowed_ips, &before.allowed_ips) {
        push(
            "allowed_ips",
            format!(
                "would admit addresses the key's current allowlist refuses ({}); only entries within it may be set",
                before.allowed_ips.join(", ")
            ),
        );
    }
    match (before.expires_at, after.expires_at) {
        (Some(_), None) => push("expires_at", "cannot be removed by the key itself".into()),
        (Some(b), Some(a)) if a > b => push("expires_at", "cannot be moved later by the key itself".into()),
        _ => {}
    }
    if after.rate_limit_per_minute > before.rate_limit_per_minute {
        push(
            "rate_limit_per_minute",
            format!("cannot be raised by the key itself above {}", before.rate_limit_per_minute),
        );
    }
    if after.rate_limit_per_hour > before.rate_limit_per_hour {
        push("rate_limit_per_hour", format!("cannot be raised by the key itself above {}", before.rate_limit_per_hour));
    }
    if fields.is_empty() {
        return Ok(());
    }
    let what: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    let message = format!(
        "an API key cannot loosen its own restrictions ({}); a person or another key must change them",
        what.join(", ")
    );
    Err(AppError { code: ErrorCode::Forbidden, message, fields })
}

fn validate_text(v: &mut Validator, name: &str, description: &str) {
    v.check(!name.trim().is_empty(), "name", "is required");
    v.check(name.chars().count() <= 100, "name", "must be at most 100 characters");
    v.check(description.chars().count() <= 500, "description", "must be at most 500 characters");
}

fn invalid_key() -> AppError {
    AppError::unauthorized("invalid API key")
}

impl Hub {
    pub async fn create_api_key(&self, actor: Actor<'_>, input: CreateApiKey) -> AppResult<IssuedKey> {
        actor.refuse_portal("API keys")?;
        let tenant_id = self.target_tenant(&actor, input.tenant_id.as_deref()).await?;
        let mut v = Validator::default();
        validate_text(&mut v, &input.name, &input.description);
        validate_scopes(&mut v, &actor, &input.scopes);
        let ips = validate_ips(&mut v, &input.allowed_ips);
        let default = RateTier::default_for(tenant_id.as_deref(), &input.scopes);
        let (per_min, per_hour) =
            validate_limits(&mut v, input.tier, input.rate_limit_per_minute, input.rate_limit_per_hour, default);
        let now = now_ms();
        v.check(input.expires_at.is_none_or(|e| e > now), "expires_at", "must be in the future");
        v.finish()?;

        let generated = api_key::generate();
        let mut scopes = input.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let key = ApiKey {
            id: new_id("key"),
            tenant_id,
            name: input.name.trim().to_string(),
            description: input.description.trim().to_string(),
            prefix: generated.prefix.clone(),
            scopes,
            allowed_ips: ips,
            rate_limit_per_minute: per_min,
            rate_limit_per_hour: per_hour,
            expires_at: input.expires_at,
            is_active: true,
            revoked_at: None,
            previous_secret_expires_at: None,
            created_by: Some(actor.id().to_string()),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            usage_count: 0,
        };
        self.store.insert_api_key(&key, &generated.key_id, &generated.hash).await?;
        self.audit(&actor, key.tenant_id.as_deref(), "api_key.created", &key.id, &key.name).await?;
        Ok(IssuedKey { key, secret: generated.plaintext })
    }

    pub async fn list_api_keys(&self, actor: Actor<'_>, q: KeyListQuery) -> AppResult<Vec<ApiKey>> {
        actor.refuse_portal("API keys")?;
        let tenant = self.list_tenant(&actor, q.tenant_id.as_deref())?;
        let now = now_ms();
        let keys = self.store.list_api_keys(tenant.as_deref(), &q).await?;
        Ok(keys.into_iter().filter(|k| q.status.is_none_or(|s| k.status_at(now) == s)).collect())
    }

    /// A key the actor may see; another tenant's key is a 404, as if it did not exist.
    pub async fn get_api_key(&self, actor: &Actor<'_>, id: &str) -> AppResult<ApiKey> {
        // Every change to a key (edit, rotate, revoke, delete) reads it here first.
        actor.refuse_portal("API keys")?;
        let key = self.store.get_api_key(id, actor.own_tenant()).await?;
        key.filter(|k| actor.sees_tenant(k.tenant_id.as_deref())).ok_or_else(|| AppError::not_found("API key"))
    }

    pub async fn update_api_key(&self, actor: Actor<'_>, id: &str, patch: UpdateApiKey) -> AppResult<ApiKey> {
        let mut key = self.get_api_key(&actor, id).await?;
        require_authority_over(&actor, &key, "change")?;
        if key.revoked_at.is_some() {
            return Err(AppError::conflict("a revoked key cannot be changed"));
        }
        let before = key.clone();
        let mut v = Validator::default();
        if let Some(n) = patch.name {
            key.name = n.trim().to_string();
        }
        if let Some(d) = patch.description {
            key.description = d.trim().to_string();
        }
        validate_text(&mut v, &key.name, &key.description);
        if let Some(s) = patch.scopes {
            validate_scopes(&mut v, &actor, &s);
            key.scopes = s;
            key.scopes.sort();
            key.scopes.dedup();
        }
        if let Some(ips) = patch.allowed_ips {
            key.allowed_ips = validate_ips(&mut v, &ips);
        }
        if patch.tier.is_some() || patch.rate_limit_per_minute.is_some() || patch.rate_limit_per_hour.is_some() {
            let (m, h) = validate_limits(
                &mut v,
                patch.tier,
                patch.rate_limit_per_minute.or(Some(key.rate_limit_per_minute)),
                patch.rate_limit_per_hour.or(Some(key.rate_limit_per_hour)),
                // Never used: the key's own numbers stand in for those not given.
                key.rate_tier(),
            );
            (key.rate_limit_per_minute, key.rate_limit_per_hour) = (m, h);
        }
        if let Some(e) = patch.expires_at {
            v.check(e.is_none_or(|e| e > now_ms()), "expires_at", "must be in the future");
            key.expires_at = e;
        }
        if let Some(a) = patch.is_active {
            key.is_active = a;
        }
        v.finish()?;
        if matches!(actor, Actor::Key(k) if k.id == key.id) {
            refuse_self_widening(&before, &key)?;
        }
        key.updated_at = now_ms();
        self.store.update_api_key(&key).await?;
        self.key_cache.clear();
        let audited = Audited {
            tenant: key.tenant_id.as_deref(),
            action: "api_key.updated",
            target: &key.id,
            name: Some(&key.name),
            detail: &key.name,
            ..Default::default()
        };
        self.audit_update(&actor, audited, &before, &key).await?;
        Ok(key)
    }

    /// New secret for the same key; the old one keeps working for the grace period (0 = stops at once).
    pub async fn rotate_api_key(&self, actor: Actor<'_>, id: &str, r: RotateApiKey) -> AppResult<IssuedKey> {
        let key = self.get_api_key(&actor, id).await?;
        require_authority_over(&actor, &key, "rotate")?;
        if key.revoked_at.is_some() {
            return Err(AppError::conflict("a revoked key cannot be rotated"));
        }
        let grace = r.grace_seconds.unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS);
        if grace > MAX_ROTATION_GRACE_SECONDS {
            return Err(AppError::field("grace_seconds", format!("must be at most {MAX_ROTATION_GRACE_SECONDS}")));
        }
        let key_id = key.prefix.trim_start_matches(api_key::KEY_PREFIX).to_string();
        let generated = api_key::generate_secret_for(&key_id).map_err(|_| AppError::internal())?;
        // With 0 the old secret is already past its grace (the record keeps it to say why it fails).
        let previous_until = now_ms() + grace as i64 * 1000;
        self.store.rotate_api_key_secret(&key.id, &generated.hash, previous_until).await?;
        let detail = format!("{} (grace {grace}s)", key.name);
        self.key_cache.clear();
        self.audit(&actor, key.tenant_id.as_deref(), "api_key.rotated", &key.id, &detail).await?;
        let key = self.get_api_key(&actor, id).await?;
        Ok(IssuedKey { key, secret: generated.plaintext })
    }

    pub async fn revoke_api_key(&self, actor: Actor<'_>, id: &str) -> AppResult<ApiKey> {
        let key = self.get_api_key(&actor, id).await?;
        require_authority_over(&actor, &key, "revoke")?;
        self.store.revoke_api_key(&key.id).await?;
        self.key_cache.clear();
        self.audit(&actor, key.tenant_id.as_deref(), "api_key.revoked", &key.id, &key.name).await?;
        self.get_api_key(&actor, id).await
    }

    pub async fn delete_api_key(&self, actor: Actor<'_>, id: &str) -> AppResult<()> {
        let key = self.get_api_key(&actor, id).await?;
        require_authority_over(&actor, &key, "delete")?;
        self.store.delete_api_key(&key.id).await?;
        self.key_cache.clear();
        self.audit(&actor, key.tenant_id.as_deref(), "api_key.deleted", &key.id, &key.name).await?;
        Ok(())
    }

    /// Checks a presented key: format, secret (constant-time, current or in-grace previous), status, client IP.
    /// Unknown and wrong keys get the same answer, so nothing reveals which key ids exist.
    pub async fn verify_api_key(&self, presented: &str, client_ip: IpAddr) -> AppResult<ApiKey> {
        let parsed = api_key::parse(presented.trim()).map_err(|_| invalid_key())?;
        let stored = match self.key_cache.get(&parsed.key_id) {
            Some(k) => k,
            None => {
                let k = self.store.api_key_by_key_id(&parsed.key_id).await?.ok_or_else(invalid_key)?;
                self.key_cache.put(&parsed.key_id, k.clone());
                k
            }
        };
        let now = now_ms();
        let current = api_key::hashes_equal(&parsed.hash, &stored.secret_hash);
        let in_grace = stored.key.previous_secret_expires_at.is_some_and(|e| e > now);
        let previous = stored.previous_hash.as_deref().is_some_and(|h| api_key::hashes_equal(&parsed.hash, h));
        if !(current || (previous && in_grace)) {
            return Err(if previous {
                AppError::unauthorized("API key was rotated and its grace period is over")
            } else {
                invalid_key()
            });
        }
        let key = stored.key;
        match key.status_at(now) {
            crate::model::KeyStatus::Revoked => return Err(AppError::unauthorized("API key has been revoked")),
            crate::model::KeyStatus::Expired => return Err(AppError::unauthorized("API key has expired")),
            crate::model::KeyStatus::Disabled => return Err(AppError::forbidden("API key is disabled")),
            crate::model::KeyStatus::Active => {}
        }
        self.refuse_suspended(key.tenant_id.as_deref()).await?;
        if !key.allowed_ips.is_empty() {
            // Stored entries that no longer parse must not shrink the list to nothing, which admits everyone:
            // the key is refused until its allowlist is set again.
            let nets = match cidr::parse_allowlist(&key.allowed_ips) {
                Ok(nets) if !nets.is_empty() => nets,
                _ => {
                    tracing::warn!(key = %key.id, "API key refused: its stored IP allowlist cannot be read");
                    return Err(AppError::forbidden(
                        "this API key's IP allowlist cannot be read, so every address is refused; \
                         set the key's allowed IPs again",
                    ));
                }
            };
            if !cidr::ip_allowed(&nets, client_ip) {
                self.usage.record(&key.id, client_ip, KeyOutcome::IpRefused);
                return Err(AppError::new(
                    ErrorCode::Forbidden,
                    format!("client IP {client_ip} is not allowed for this API key"),
                ));
            }
        }
        self.usage.record(&key.id, client_ip, KeyOutcome::Verified);
        Ok(key)
    }
}
