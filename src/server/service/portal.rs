//! The tenant portal: an admin hands a tenant a signed, expiring link; opening it signs the browser in as that
//! tenant's portal user (a tenant-role user that has no password), so every tenant check applies unchanged.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, PortalLink, Role, User};
use crate::server::auth::session;
use crate::server::store::now_ms;

/// Longest a link may live.
pub const MAX_PORTAL_HOURS: u32 = 24 * 30;

/// Not an argon2 hash, so no password ever matches it: portal users cannot sign in with a password.
const NO_PASSWORD: &str = "!portal";

fn portal_email(tenant: &str) -> String {
    format!("portal+{}@portal.invalid", tenant.to_ascii_lowercase())
}

impl Hub {
    pub async fn create_portal_link(&self, actor: Actor<'_>, tenant_id: &str, hours: u32) -> AppResult<PortalLink> {
        actor.require_admin()?;
        if !(1..=MAX_PORTAL_HOURS).contains(&hours) {
            return Err(AppError::field("hours", format!("must be between 1 and {MAX_PORTAL_HOURS}")));
        }
        self.store.get_tenant(tenant_id).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        let expires_at = now_ms() + i64::from(hours) * 3_600_000;
        let msg = format!("{tenant_id}.{expires_at}");
        let token = format!("{msg}.{}", self.master_key.sign_link(&msg));
        let base = self.config.base_url.as_str().trim_end_matches('/');
        self.audit(&actor, Some(tenant_id), "portal.link_created", tenant_id, &format!("expires {expires_at}")).await?;
        Ok(PortalLink { url: format!("{base}/portal/{token}"), expires_at })
    }

    /// Checks a portal token and opens a session (ending when the link expires); returns it and the tenant.
    pub async fn open_portal(&self, token: &str) -> AppResult<(String, String)> {
        let invalid = || AppError::forbidden("This portal link is not valid. Ask for a new one.");
        let mut parts = token.splitn(3, '.');
        let (Some(tenant), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        if !self.master_key.verify_link(&format!("{tenant}.{expires}"), sig) {
            return Err(invalid());
        }
        let expires_at: i64 = expires.parse().map_err(|_| invalid())?;
        if expires_at <= now_ms() {
            return Err(AppError::forbidden("This portal link has expired. Ask for a new one."));
        }
        self.store.get_tenant(tenant).await?.ok_or_else(invalid)?;
        let user = self.portal_user(tenant).await?;
        let token = session::new_token();
        let until = expires_at.min(now_ms() + session::TTL_MS);
        self.store.insert_session(&session::token_hash(&token), &user.id, until).await?;
        self.audit(&Actor::User(&user), Some(tenant), "portal.opened", tenant, "").await?;
        Ok((token, tenant.to_string()))
    }

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
