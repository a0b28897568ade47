//! The tenant portal: an admin creates a link for one tenant; whoever opens it (and confirms) gets a portal
//! session for that tenant. Links are records, not self-contained signed URLs, so they can be listed and revoked:
//! the URL is `/portal/<id>.<secret>` and only the secret's SHA-256 is stored.
//!
//! A portal session is a [`Role::Portal`] user (the session row names its link): every tenant check applies
//! unchanged, API keys and users are refused ([`Actor::refuse_portal`]), and the session lookup refuses it as
//! soon as its link is revoked or expired.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, IssuedPortalLink, NewPortalLink, PortalLink, Role, Tenant, User};
use crate::server::auth::session;
use crate::server::store::{new_id, now_ms};

/// Longest a link may live (and so any session it opens).
pub const MAX_PORTAL_SECONDS: u64 = 30 * 24 * 3600;
const LABEL_MAX_CHARS: usize = 100;

/// Not an argon2 hash, so no password ever matches it: portal users cannot sign in with a password.
/// Migration 0014 finds the old links' sessions by it.
const NO_PASSWORD: &str = "!portal";

fn portal_email(tenant: &str) -> String {
    format!("portal+{}@portal.invalid", tenant.to_ascii_lowercase())
}

/// Why a portal URL does not open: it names no link or its secret is wrong (404), or the link was revoked or
/// has expired (410).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    Invalid,
    Ended,
}

/// A session opened from a link: the cookie's token, the tenant to go to, when the session ends.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub token: String,
    pub tenant_id: String,
    pub expires_at: i64,
}

impl Hub {
    /// A new link for `tenant_id` (admins only); its URL is in the answer and nowhere else.
    pub async fn create_portal_link(
        &self,
        actor: Actor<'_>,
        tenant_id: &str,
        input: NewPortalLink,
    ) -> AppResult<IssuedPortalLink> {
        actor.require_admin()?;
        let label = input.label.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let mut v = crate::model::Validator::default();
        v.check(
            (1..=MAX_PORTAL_SECONDS).contains(&input.expires_in_seconds),
            "expires_in_seconds",
            format!("must be between 1 and {MAX_PORTAL_SECONDS} (30 days)"),
        );
        v.check(
            label.is_none_or(|l| l.chars().count() <= LABEL_MAX_CHARS),
            "label",
            format!("must be at most {LABEL_MAX_CHARS} characters"),
        );
        v.check(label.is_none_or(|l| !l.chars().any(char::is_control)), "label", "must be one line of text");
        v.finish()?;
        self.store.get_tenant(tenant_id).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        let now = now_ms();
        let max = self.config.serve.max_portal_links_per_tenant;
        if max > 0 && self.store.count_live_portal_links(tenant_id, now).await? >= i64::from(max) {
            return Err(AppError::conflict(format!(
                "this tenant already has {max} open portal links (HUB_MAX_PORTAL_LINKS_PER_TENANT): revoke one first"
            )));
        }
        // The range check above keeps this far from overflowing.
        let expires_at = now + input.expires_in_seconds as i64 * 1000;
        let secret = session::new_token();
        let link = PortalLink {
            id: new_id("ptl"),
            tenant_id: tenant_id.to_string(),
            label: label.map(str::to_string),
            created_by: actor.id().to_string(),
            created_by_email: match &actor {
                Actor::User(u) => Some(u.email.clone()),
                _ => None,
            },
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        self.store.insert_portal_link(&link, &session::token_hash(&secret)).await?;
        let detail = format!("expires {expires_at}{}", label.map(|l| format!("; {l}")).unwrap_or_default());
        self.audit(&actor, Some(tenant_id), "portal_link.created", &link.id, &detail).await?;
        let base = self.config.base_url.as_str().trim_end_matches('/');
        Ok(IssuedPortalLink { url: format!("{base}/portal/{}.{secret}", link.id), link })
    }

    /// A tenant's links, newest first, with who made them (admins only).
    pub async fn list_portal_links(&self, actor: Actor<'_>, tenant_id: &str) -> AppResult<Vec<PortalLink>> {
        actor.require_admin()?;
        self.store.get_tenant(tenant_id).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        Ok(self.store.list_portal_links(tenant_id).await?)
    }

    /// Revokes a link of `tenant_id` (admins only): it no longer opens, and the sessions it opened end on their
    /// next request. Another tenant's link is a 404; revoking twice changes nothing.
    pub async fn revoke_portal_link(&self, actor: Actor<'_>, tenant_id: &str, id: &str) -> AppResult<PortalLink> {
        actor.require_admin()?;
        let not_found = || AppError::not_found("portal link");
        let (link, _) =
            self.store.get_portal_link(id).await?.filter(|(l, _)| l.tenant_id == tenant_id).ok_or_else(not_found)?;
        if link.revoked_at.is_some() {
            return Ok(link);
        }
        if self.store.revoke_portal_link(id, tenant_id, now_ms()).await? {
            let label = link.label.as_deref().unwrap_or_default();
            self.audit(&actor, Some(tenant_id), "portal_link.revoked", id, label).await?;
        }
        self.store.get_portal_link(id).await?.map(|(l, _)| l).ok_or_else(not_found)
    }

    /// The link and tenant a portal URL's token names, if it still opens.
    pub async fn check_portal_link(&self, token: &str) -> AppResult<Result<(PortalLink, Tenant), LinkRefused>> {
        use subtle::ConstantTimeEq;
        // `<id>.<secret>`; anything else is not ours and costs no database read.
        let Some((id, secret)) = token.split_once('.') else { return Ok(Err(LinkRefused::Invalid)) };
        if !id.starts_with("ptl_") || id.len() > 40 || secret.is_empty() || secret.len() > 100 {
            return Ok(Err(LinkRefused::Invalid));
        }
        let Some((link, hash)) = self.store.get_portal_link(id).await? else { return Ok(Err(LinkRefused::Invalid)) };
        if !bool::from(session::token_hash(secret).as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(Err(LinkRefused::Invalid));
        }
        if !link.is_usable(now_ms()) {
            return Ok(Err(LinkRefused::Ended));
        }
        let Some(tenant) = self.store.get_tenant(&link.tenant_id).await? else { return Ok(Err(LinkRefused::Invalid)) };
        Ok(Ok((link, tenant)))
    }

    /// Opens a portal session from a link: it ends when the link expires (or the usual session lifetime, if
    /// sooner), and at once when the link is revoked.
    pub async fn open_portal(&self, token: &str) -> AppResult<Result<PortalSession, LinkRefused>> {
        let (link, tenant) = match self.check_portal_link(token).await? {
            Ok(found) => found,
            Err(refused) => return Ok(Err(refused)),
        };
        let user = self.portal_user(&tenant.id).await?;
        let token = session::new_token();
        let now = now_ms();
        let expires_at = link.expires_at.min(now + session::TTL_MS);
        self.store.insert_portal_session(&session::token_hash(&token), &user.id, &link.id, now, expires_at).await?;
        self.store.touch_portal_link(&link.id, now).await?;
        self.audit(&Actor::User(&user), Some(&tenant.id), "portal_link.opened", &link.id, "").await?;
        Ok(Ok(PortalSession { token, tenant_id: tenant.id, expires_at }))
    }

    /// The tenant's portal user, which portal sessions belong to (sessions need a user row); made on first use.
    async fn portal_user(&self, tenant: &str) -> AppResult<User> {
        let email = portal_email(tenant);
        if let Some((user, _)) = self.store.user_with_hash_by_email(&email).await? {
            return Ok(user);
        }
        match self.store.insert_user(&email, NO_PASSWORD, Role::Tenant, Some(tenant)).await {
            Ok(u) => Ok(u),
            // Opened twice at once: the other request created it.
            Err(_) => self.store.user_with_hash_by_email(&email).await?.map(|(u, _)| u).ok_or_else(AppError::internal),
        }
    }
}
