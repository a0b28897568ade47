//! Tenants, users, sign-in and sessions.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, ErrorCode, Role, ShellContext, Tenant, User, Validator};
use crate::server::auth::{password, session, throttle};
use crate::server::store::{is_unique_violation, now_ms};
use tokio::sync::OwnedSemaphorePermit;

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty() && !domain.is_empty() && email.len() <= 254 && !email.contains(char::is_whitespace)
}

impl Hub {
    pub async fn create_tenant(&self, actor: Actor<'_>, name: &str) -> AppResult<Tenant> {
        actor.require_admin()?;
        let name = name.trim();
        let mut v = Validator::default();
        v.check(!name.is_empty(), "name", "is required");
        v.check(name.chars().count() <= 100, "name", "must be at most 100 characters");
        v.finish()?;
        let t = self.store.insert_tenant(name).await?;
        self.store.insert_audit(actor.id(), Some(&t.id), "tenant.created", Some(&t.id), Some(name)).await?;
        Ok(t)
    }

    pub async fn create_user(
        &self,
        actor: Actor<'_>,
        email: &str,
        password_plain: &str,
        role: Role,
        tenant_id: Option<&str>,
    ) -> AppResult<User> {
        actor.require_admin()?;
        let email = normalize_email(email);
        let mut v = Validator::default();
        v.check(valid_email(&email), "email", "must be an email address");
        v.check(
            password_plain.chars().count() >= password::MIN_PASSWORD_LEN,
            "password",
            format!("must be at least {} characters", password::MIN_PASSWORD_LEN),
        );
        match (role, tenant_id) {
            (Role::Tenant, None) => v.push("tenant_id", "is required for tenant users"),
            (Role::Admin, Some(_)) => v.push("tenant_id", "must be empty for admins"),
            _ => {}
        }
        v.finish()?;
        if let Some(t) = tenant_id {
            if self.store.get_tenant(t).await?.is_none() {
                return Err(AppError::field("tenant_id", format!("no tenant {t}")));
            }
        }
        let pw = password_plain.to_string();
        let permit = self.hash_permit().await?;
        let hash = tokio::task::spawn_blocking(move || {
            let _slot = permit;
            password::hash(&pw)
        })
        .await
        .map_err(|_| AppError::internal())?
        .map_err(|_| AppError::internal())?;
        let user = match self.store.insert_user(&email, &hash, role, tenant_id).await {
            Err(e) if is_unique_violation(&e) => return Err(AppError::field("email", "is already registered")),
            r => r?,
        };
        self.store.insert_audit(actor.id(), tenant_id, "user.created", Some(&user.id), Some(&email)).await?;
        Ok(user)
    }

    /// On first start: make sure an admin exists (and a first tenant, so the UI has somewhere to go).
    /// Returns the generated password when none was configured, for printing once.
    pub async fn bootstrap(&self, admin_email: &str, admin_password: Option<&str>) -> AppResult<Option<String>> {
        if self.store.list_tenants().await?.is_empty() {
            self.create_tenant(Actor::System, "Default").await?;
        }
        if self.store.count_admins().await? > 0 {
            return Ok(None);
        }
        let generated = admin_password.is_none().then(password::generate);
        let pw = admin_password.map(str::to_string).or_else(|| generated.clone()).unwrap_or_default();
        self.create_user(Actor::System, admin_email, &pw, Role::Admin, None).await?;
        Ok(generated)
    }

    /// A slot to compute a password hash (see [`throttle::LoginThrottle::hash_permit`]); 429 when none comes free
    /// within [`throttle::HASH_WAIT`].
    async fn hash_permit(&self) -> AppResult<OwnedSemaphorePermit> {
        let limit = self.config.serve.max_concurrent_hashes;
        self.throttle.hash_permit(limit, throttle::HASH_WAIT).await.ok_or_else(|| {
            AppError::new(
                ErrorCode::RateLimited,
                "Too many sign-ins are being checked right now. Try again in a few seconds.",
            )
        })
    }

    /// Checks a password; returns the user and a new session token for the cookie.
    pub async fn login(&self, email: &str, password_plain: &str, client_ip: &str) -> AppResult<(User, String)> {
        let email = normalize_email(email);
        // Counted as a failure before the password is checked, so that parallel guesses cannot all pass.
        let attempt = self.throttle.reserve(&email, client_ip).map_err(|wait| {
            AppError::new(
                ErrorCode::RateLimited,
                format!("Too many failed sign-ins. Try again in {} minutes.", wait.as_secs().div_ceil(60)),
            )
        })?;
        let checked = self.check_password(&email, password_plain).await;
        let user = match checked {
            Ok(Some(user)) => user,
            // A wrong password stays counted.
            Ok(None) => return Err(AppError::unauthorized("Wrong email or password.")),
            Err(e) => {
                // Not checked (busy, or the database failed): this attempt guessed nothing.
                attempt.release();
                return Err(e);
            }
        };
        attempt.succeeded();
        let token = session::new_token();
        self.store.insert_session(&session::token_hash(&token), &user.id, now_ms() + session::TTL_MS).await?;
        Ok((user, token))
    }

    /// The user when the password is theirs. An unknown email is verified against a dummy hash, so that both
    /// cost the same and the time taken does not reveal which emails exist.
    async fn check_password(&self, email: &str, password_plain: &str) -> AppResult<Option<User>> {
        let found = self.store.user_with_hash_by_email(email).await?;
        let permit = self.hash_permit().await?;
        let stored = found.as_ref().map(|(_, h)| h.clone());
        let pw = password_plain.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            let _slot = permit;
            match stored {
                Some(hash) => password::verify(&pw, &hash),
                None => password::verify(&pw, password::dummy_hash()),
            }
        })
        .await
        .map_err(|_| AppError::internal())?;
        Ok(found.filter(|_| ok).map(|(user, _)| user))
    }

    pub async fn logout(&self, token: &str) -> AppResult<()> {
        self.store.delete_session(&session::token_hash(token)).await?;
        Ok(())
    }

    pub async fn session_user(&self, token: Option<&str>) -> AppResult<User> {
        let Some(token) = token.filter(|t| !t.is_empty() && t.len() < 200) else {
            return Err(AppError::unauthorized("Sign in first."));
        };
        self.store
            .session_user(&session::token_hash(token))
            .await?
            .ok_or_else(|| AppError::unauthorized("Your session has expired; sign in again."))
    }

    /// The tenant a user lands on: their own, or an admin's first tenant.
    pub async fn home_tenant(&self, user: &User) -> AppResult<Option<String>> {
        if let Some(t) = &user.tenant_id {
            return Ok(Some(t.clone()));
        }
        Ok(self.store.list_tenants().await?.into_iter().next().map(|t| t.id))
    }

    /// Tenants this user may see.
    pub async fn visible_tenants(&self, user: &User) -> AppResult<Vec<Tenant>> {
        let all = self.store.list_tenants().await?;
        Ok(all.into_iter().filter(|t| user.can_access_tenant(&t.id)).collect())
    }

    /// The one tenant gate: 403 for a tenant user on another tenant, 404 when it does not exist.
    pub async fn authorize_tenant(&self, user: &User, tenant_id: &str) -> AppResult<Tenant> {
        if !user.can_access_tenant(tenant_id) {
            return Err(AppError::forbidden("You do not have access to this tenant."));
        }
        self.store.get_tenant(tenant_id).await?.ok_or_else(|| AppError::not_found("tenant"))
    }

    pub async fn shell_context(&self, user: User, tenant_id: &str) -> AppResult<ShellContext> {
        let tenant = self.authorize_tenant(&user, tenant_id).await?;
        let tenants = self.visible_tenants(&user).await?;
        Ok(ShellContext { user, tenant, tenants })
    }
}
