//! Tenants, users, sign-in and sessions.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, Role, ShellContext, Tenant, User, Validator};
use crate::server::auth::{password, session};
use crate::server::store::{is_unique_violation, now_ms};

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
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
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

    /// Checks a password; returns the user and a new session token for the cookie.
    pub async fn login(&self, email: &str, password_plain: &str, client_ip: &str) -> AppResult<(User, String)> {
        let email = normalize_email(email);
        if let Err(wait) = self.throttle.check(&email, client_ip) {
            return Err(AppError::new(
                crate::model::ErrorCode::RateLimited,
                format!("Too many failed sign-ins. Try again in {} minutes.", wait.as_secs().div_ceil(60)),
            ));
        }
        let found = self.store.user_with_hash_by_email(&email).await?;
        let stored = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| password::dummy_hash().to_string());
        let pw = password_plain.to_string();
        let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &stored))
            .await
            .map_err(|_| AppError::internal())?;
        let user = match (found, ok) {
            (Some((user, _)), true) => user,
            _ => {
                self.throttle.failed(&email, client_ip);
                return Err(AppError::unauthorized("Wrong email or password."));
            }
        };
        self.throttle.succeeded(&email);
        let token = session::new_token();
        self.store.insert_session(&session::token_hash(&token), &user.id, now_ms() + session::TTL_MS).await?;
        Ok((user, token))
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
