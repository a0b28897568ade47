//! Tenants, users, sign-in and sessions: who may manage whom, suspended tenants, one-time invite and reset links,
//! deactivation and self-service (own password, own sessions). Every change a person makes is audited.

use super::{Actor, Hub};
use crate::model::{
    AppError, AppResult, ErrorCode, IssuedUserLink, NewInvite, Person, Role, SessionInfo, ShellContext, Tenant,
    TenantSummary, TotpEnrolment, TwoFactorState, User, UserLinkInfo, Validator,
};
use crate::server::auth::session::PendingStep;
use crate::server::auth::{password, session, throttle, totp};
use crate::server::store::{is_unique_violation, now_ms, LinkPurpose, INVITED_PASSWORD};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

/// How long this instance trusts its list of suspended tenants before reading it again: a suspension reaches
/// every instance's key checks within this time (at most one small read per second per instance).
pub const SUSPENDED_CACHE_TTL: Duration = Duration::from_secs(1);

/// A session's "last seen" is written at most this often, so browsing does not write on every request.
const LAST_SEEN_EVERY_MS: i64 = 5 * 60 * 1000;

/// The ids of suspended tenants as last read, for the API key check on every REST request.
#[derive(Default)]
pub struct SuspendedTenants(Mutex<Option<(Instant, HashSet<String>)>>);

impl SuspendedTenants {
    fn fresh(&self, tenant: &str) -> Option<bool> {
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cached.as_ref().filter(|(at, _)| at.elapsed() < SUSPENDED_CACHE_TTL).map(|(_, set)| set.contains(tenant))
    }

    fn store(&self, ids: Vec<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), ids.into_iter().collect()));
    }

    /// Forgets the list, so this instance sees a change it made at once.
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The tenants whose people `actor` manages: every one (None) for admins and the system, their own for a
/// tenant's manager (`tenant` role); viewers, portal sessions and API keys manage nobody.
fn managed_tenant<'a>(actor: &'a Actor<'_>) -> AppResult<Option<&'a str>> {
    match actor {
        Actor::System => Ok(None),
        Actor::User(u) if u.role == Role::Admin => Ok(None),
        Actor::User(u) if u.role == Role::Tenant => {
            u.tenant_id.as_deref().map(Some).ok_or_else(|| AppError::forbidden("You cannot manage users."))
        }
        _ => Err(AppError::forbidden("Only admins and a tenant's managers can manage users.")),
    }
}

fn check_password_rule(v: &mut Validator, field: &str, password_plain: &str) {
    v.check(
        password_plain.chars().count() >= password::MIN_PASSWORD_LEN,
        field,
        format!("must be at least {} characters", password::MIN_PASSWORD_LEN),
    );
    v.check(password_plain.len() <= 1024, field, "must be at most 1024 bytes");
}

/// A one-time link's token, `<id>.<secret>`, split; anything else is not ours and costs no database read.
fn split_link_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    (id.starts_with("ulk_") && id.len() <= 40 && !secret.is_empty() && secret.len() <= 100).then_some((id, secret))
}

fn too_many_failures(wait: Duration) -> AppError {
    AppError::new(
        ErrorCode::RateLimited,
        format!("Too many failed sign-ins. Try again in {} minutes.", wait.as_secs().div_ceil(60)),
    )
}

/// What a right password leads to.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the new session's token, for the cookie.
    Session(User, String),
    /// A second step first: the pending token (for its cookie) and which step.
    Pending(User, String, PendingStep),
}

fn link_refused() -> AppError {
    AppError::not_found("link (it may have been used already, replaced by a newer one, or expired)")
}

/// An invite or reset email: subject, plain text and HTML (every inserted value escaped).
fn link_email(link: &IssuedUserLink, purpose: LinkPurpose, ttl_seconds: u64) -> (String, String, String) {
    use crate::server::html::escape;
    let hours = ttl_seconds.div_ceil(3600).max(1);
    let lasts = if hours == 1 { "1 hour".to_string() } else { format!("{hours} hours") };
    let (subject, lead, action) = match purpose {
        LinkPurpose::Invite => (
            "You are invited to Integration Hub",
            format!("You have been invited to Integration Hub as {}.", link.user.email),
            "Choose your password",
        ),
        LinkPurpose::Reset => (
            "Reset your Integration Hub password",
            format!("A new password was asked for {} on Integration Hub.", link.user.email),
            "Choose a new password",
        ),
    };
    let text = format!(
        "{lead}\n\n{action} here (the link opens once and expires in {lasts}):\n{}\n\nIf you did not expect this, \
         ignore this email.\n",
        link.url
    );
    let html = format!(
        "<!doctype html><html><body><p>{}</p><p><a href=\"{}\">{action}</a> (the link opens once and expires in \
         {lasts}).</p><p>{}</p><p>If you did not expect this, ignore this email.</p></body></html>",
        escape(&lead),
        escape(&link.url),
        escape(&link.url)
    );
    (subject.to_string(), text, html)
}

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
        let audited = super::audit::Audited {
            tenant: Some(&t.id),
            action: "tenant.created",
            target: &t.id,
            name: Some(name),
            detail: name,
            ..Default::default()
        };
        self.audit_entry(&actor, audited).await?;
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
        check_password_rule(&mut v, "password", password_plain);
        self.check_new_user(&mut v, &email, role, tenant_id).await?;
        let hash = self.hash_password(password_plain).await?;
        self.insert_person(&actor, &email, &hash, role, tenant_id, "user.created").await
    }

    /// The rules every new user meets (email, role and tenant agree, the tenant exists), added to `v`.
    async fn check_new_user(
        &self,
        v: &mut Validator,
        email: &str,
        role: Role,
        tenant_id: Option<&str>,
    ) -> AppResult<()> {
        v.check(valid_email(email), "email", "must be an email address");
        match (role, tenant_id) {
            (Role::Tenant | Role::Viewer, None) => v.push("tenant_id", "is required for tenant users and viewers"),
            (Role::Admin, Some(_)) => v.push("tenant_id", "must be empty for admins"),
            (Role::Portal, _) => v.push("role", "must be admin, tenant or viewer"),
            _ => {}
        }
        std::mem::take(v).finish()?;
        if let Some(t) = tenant_id {
            if self.store.get_tenant(t).await?.is_none() {
                return Err(AppError::field("tenant_id", format!("no tenant {t}")));
            }
        }
        Ok(())
    }

    async fn insert_person(
        &self,
        actor: &Actor<'_>,
        email: &str,
        hash: &str,
        role: Role,
        tenant_id: Option<&str>,
        action: &str,
    ) -> AppResult<User> {
        let user = match self.store.insert_user(email, hash, role, tenant_id).await {
            Err(e) if is_unique_violation(&e) => return Err(AppError::field("email", "is already registered")),
            r => r?,
        };
        self.audit(actor, tenant_id, action, &user.id, &format!("{email} as {}", role.as_str())).await?;
        Ok(user)
    }

    /// An argon2 hash of `password_plain`, computed in one of the limited hashing slots.
    async fn hash_password(&self, password_plain: &str) -> AppResult<String> {
        let pw = password_plain.to_string();
        let permit = self.hash_permit().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = permit;
            password::hash(&pw)
        })
        .await
        .map_err(|_| AppError::internal())?
        .map_err(|_| AppError::internal())
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
        self.login_with(email, password_plain, client_ip, None).await
    }

    /// [`Hub::login`], noting the browser's user agent on the session for the user's sessions list. A person
    /// who signs in with a second factor gets no session here: use [`Hub::sign_in`].
    pub async fn login_with(
        &self,
        email: &str,
        password_plain: &str,
        client_ip: &str,
        user_agent: Option<&str>,
    ) -> AppResult<(User, String)> {
        match self.sign_in(email, password_plain, client_ip, user_agent).await? {
            SignIn::Session(user, token) => Ok((user, token)),
            SignIn::Pending(..) => Err(AppError::unauthorized("This account signs in with a second factor.")),
        }
    }

    /// Checks a password. Without a second factor the session opens at once; with one (or when the tenant
    /// requires one the person has not set up) the answer is a pending token for the next step instead, and the
    /// email's earlier failures stay counted until that step succeeds, so a known password does not reset the
    /// count of wrong codes.
    pub async fn sign_in(
        &self,
        email: &str,
        password_plain: &str,
        client_ip: &str,
        user_agent: Option<&str>,
    ) -> AppResult<SignIn> {
        let email = normalize_email(email);
        // Counted as a failure before the password is checked, so that parallel guesses cannot all pass.
        let attempt = self.throttle.reserve(&email, client_ip).map_err(too_many_failures)?;
        let checked = self.check_password(&email, password_plain).await;
        let user = match checked {
            // Said only to whoever knows the password, so it reveals nothing to a guesser.
            Ok(Some((_, true))) => {
                attempt.release();
                return Err(AppError::forbidden(
                    "This account has been deactivated. Ask an administrator to reactivate it.",
                ));
            }
            Ok(Some((user, false))) => user,
            // A wrong password stays counted.
            Ok(None) => return Err(AppError::unauthorized("Wrong email or password.")),
            Err(e) => {
                // Not checked (busy, or the database failed): this attempt guessed nothing.
                attempt.release();
                return Err(e);
            }
        };
        if let Some(step) = self.second_step(&user).await? {
            attempt.release();
            let token = session::pending_token(&self.master_key, &user.id, step, now_ms());
            return Ok(SignIn::Pending(user, token, step));
        }
        attempt.succeeded();
        let token = self.open_session(&user, Some(client_ip), user_agent).await?;
        Ok(SignIn::Session(user, token))
    }

    /// What a right password still needs: a code (a confirmed authenticator), enrolment (the tenant requires a
    /// second factor and there is none), or nothing.
    async fn second_step(&self, user: &User) -> AppResult<Option<PendingStep>> {
        let tfa = self.store.user_totp(&user.id).await?;
        Ok(if tfa.enabled_at.is_some() {
            Some(PendingStep::Code)
        } else if tfa.required {
            Some(PendingStep::Enrol)
        } else {
            None
        })
    }

    async fn open_session(&self, user: &User, ip: Option<&str>, user_agent: Option<&str>) -> AppResult<String> {
        let token = session::new_token();
        // What the sessions list shows; a browser's user agent is bounded, whatever it sends.
        let agent: Option<String> = user_agent.map(|a| a.chars().filter(|c| !c.is_control()).take(300).collect());
        let hash = session::token_hash(&token);
        self.store.insert_session(&hash, &user.id, now_ms() + session::TTL_MS, ip, agent.as_deref()).await?;
        Ok(token)
    }

    /// The user, and whether they are deactivated, when the password is theirs. An unknown email is verified
    /// against a dummy hash, so that both cost the same and the time taken does not reveal which emails exist.
    async fn check_password(&self, email: &str, password_plain: &str) -> AppResult<Option<(User, bool)>> {
        let found = self.store.user_for_sign_in(email).await?;
        let stored = found.as_ref().map(|(_, h, _)| h.clone());
        let ok = self.verify_password(stored, password_plain).await?;
        Ok(found.filter(|_| ok).map(|(user, _, deactivated)| (user, deactivated)))
    }

    /// Whether `password_plain` matches the stored hash (None: verified against a dummy, and false).
    async fn verify_password(&self, stored: Option<String>, password_plain: &str) -> AppResult<bool> {
        let permit = self.hash_permit().await?;
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
        Ok(ok)
    }

    pub async fn logout(&self, token: &str) -> AppResult<()> {
        self.store.delete_session(&session::token_hash(token)).await?;
        Ok(())
    }

    pub async fn session_user(&self, token: Option<&str>) -> AppResult<User> {
        let Some(token) = token.filter(|t| !t.is_empty() && t.len() < 200) else {
            return Err(AppError::unauthorized("Sign in first."));
        };
        let hash = session::token_hash(token);
        let (user, last_seen) = self
            .store
            .session_user(&hash)
            .await?
            .ok_or_else(|| AppError::unauthorized("Your session has expired; sign in again."))?;
        let now = now_ms();
        if last_seen.is_none_or(|at| now - at > LAST_SEEN_EVERY_MS) {
            // Only for the sessions list: a failed write loses a timestamp, never the request.
            if let Err(e) = self.store.touch_session(&hash, now).await {
                tracing::debug!(error = %e, "cannot note when a session was last seen");
            }
        }
        Ok(user)
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

/// The tenants page (admins): counts, rename, suspend and resume.
impl Hub {
    /// Every tenant with its endpoints, keys and the last day's finished deliveries.
    pub async fn tenant_summaries(&self, actor: Actor<'_>) -> AppResult<Vec<TenantSummary>> {
        actor.require_admin()?;
        Ok(self.store.tenant_summaries(now_ms() - 24 * 3600 * 1000).await?)
    }

    pub async fn rename_tenant(&self, actor: Actor<'_>, id: &str, name: &str) -> AppResult<Tenant> {
        actor.require_admin()?;
        let name = name.trim();
        let mut v = Validator::default();
        v.check(!name.is_empty(), "name", "is required");
        v.check(name.chars().count() <= 100, "name", "must be at most 100 characters");
        v.finish()?;
        let before = self.store.get_tenant(id).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        if before.name != name {
            self.store.rename_tenant(id, name).await?;
            self.audit(&actor, Some(id), "tenant.renamed", id, &format!("{} → {name}", before.name)).await?;
        }
        self.store.get_tenant(id).await?.ok_or_else(|| AppError::not_found("tenant"))
    }

    /// Suspends a tenant: its API keys are refused (403 "tenant suspended") on every instance within
    /// [`SUSPENDED_CACHE_TTL`], and its deliveries, queued or published later by others (operators' keys,
    /// notices), wait as `paused` (the worker pauses them as it does a switched-off endpoint's) until it is
    /// resumed. Nothing is lost.
    pub async fn suspend_tenant(&self, actor: Actor<'_>, id: &str) -> AppResult<Tenant> {
        self.set_suspended(actor, id, true).await
    }

    /// Resumes a suspended tenant: its keys work again and its paused deliveries are due at once.
    pub async fn resume_tenant(&self, actor: Actor<'_>, id: &str) -> AppResult<Tenant> {
        self.set_suspended(actor, id, false).await
    }

    async fn set_suspended(&self, actor: Actor<'_>, id: &str, suspend: bool) -> AppResult<Tenant> {
        actor.require_admin()?;
        self.store.get_tenant(id).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        let changed = self.store.set_tenant_suspended(id, suspend.then(now_ms)).await?;
        self.suspended.clear();
        if changed {
            let (action, name) =
                if suspend { ("tenant.suspended", "suspended") } else { ("tenant.resumed", "resumed") };
            self.audit(&actor, Some(id), action, id, name).await?;
            if !suspend && self.store.resume_paused_of_tenant(id).await? > 0 {
                self.deliveries_changed(&[id], true);
                self.wake_workers().await;
            }
        }
        self.store.get_tenant(id).await?.ok_or_else(|| AppError::not_found("tenant"))
    }

    /// Requires (or stops requiring) a second factor of every person of a tenant. Switching it on ends the
    /// sessions of those without one, so they enrol at their next sign-in.
    pub async fn set_tenant_require_two_factor(&self, actor: Actor<'_>, id: &str, on: bool) -> AppResult<Tenant> {
        actor.require_admin()?;
        self.store.get_tenant(id).await?.ok_or_else(|| AppError::not_found("tenant"))?;
        if self.store.set_tenant_require_two_factor(id, on).await? {
            let (action, detail) = if on {
                ("tenant.two_factor_required", "two-factor sign-in required")
            } else {
                ("tenant.two_factor_optional", "two-factor sign-in optional")
            };
            self.audit(&actor, Some(id), action, id, detail).await?;
        }
        self.store.get_tenant(id).await?.ok_or_else(|| AppError::not_found("tenant"))
    }

    /// 403 "tenant suspended" for an API key of a suspended tenant (admin-wide keys belong to none).
    pub async fn refuse_suspended(&self, tenant: Option<&str>) -> AppResult<()> {
        let Some(tenant) = tenant else { return Ok(()) };
        let suspended = match self.suspended.fresh(tenant) {
            Some(s) => s,
            None => {
                let ids = self.store.suspended_tenants().await?;
                let s = ids.iter().any(|t| t == tenant);
                self.suspended.store(ids);
                s
            }
        };
        if suspended {
            return Err(AppError::forbidden("tenant suspended: its API keys are refused until an admin resumes it"));
        }
        Ok(())
    }
}

/// People: lists, invites, roles, deactivation and reset links, for admins (everyone) and a tenant's managers
/// (their own tenant's people, as if no other existed).
impl Hub {
    /// The people of `tenant_id` (an admin may ask for all with None); a manager sees only their own tenant's.
    pub async fn list_people(&self, actor: Actor<'_>, tenant_id: Option<&str>) -> AppResult<Vec<Person>> {
        let tenant = match (managed_tenant(&actor)?, tenant_id) {
            (Some(own), Some(t)) if own != t => return Err(AppError::not_found("tenant")),
            (Some(own), _) => Some(own),
            (None, t) => t,
        };
        Ok(self.store.list_people(tenant).await?)
    }

    /// A person `actor` may manage; anyone else is a 404, as if absent. Nobody manages themselves here (their
    /// own password and sessions have their own calls), and only admins manage admins.
    async fn managed_person(&self, actor: &Actor<'_>, user_id: &str) -> AppResult<Person> {
        let scope = managed_tenant(actor)?;
        let person = self.store.get_person(user_id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if scope.is_some_and(|own| person.user.tenant_id.as_deref() != Some(own)) {
            return Err(AppError::not_found("user"));
        }
        if actor.id() == person.user.id {
            return Err(AppError::forbidden("You cannot change your own account here; use Account."));
        }
        Ok(person)
    }

    /// Invites someone: the user is made without a password, and the link (shown once) lets them choose it.
    /// A tenant's manager invites only into their own tenant, as a manager or a viewer.
    pub async fn invite_user(&self, actor: Actor<'_>, input: NewInvite) -> AppResult<IssuedUserLink> {
        let tenant = match (managed_tenant(&actor)?, input.tenant_id.as_deref().filter(|t| !t.is_empty())) {
            (Some(_), _) if input.role == Role::Admin => {
                return Err(AppError::forbidden("Only admins can invite admins."));
            }
            (Some(own), Some(t)) if own != t => return Err(AppError::not_found("tenant")),
            (Some(own), _) => Some(own.to_string()),
            (None, t) => t.map(str::to_string),
        };
        let email = normalize_email(&input.email);
        let mut v = Validator::default();
        self.check_new_user(&mut v, &email, input.role, tenant.as_deref()).await?;
        let user =
            self.insert_person(&actor, &email, INVITED_PASSWORD, input.role, tenant.as_deref(), "user.invited").await?;
        self.issue_user_link(&actor, user, LinkPurpose::Invite).await
    }

    /// A one-time link that sets a new password for a person `actor` manages (their sessions end when it is
    /// used); an invited person who has not accepted gets a fresh invite instead.
    pub async fn reset_link(&self, actor: Actor<'_>, user_id: &str) -> AppResult<IssuedUserLink> {
        let person = self.managed_person(&actor, user_id).await?;
        if person.deactivated_at.is_some() {
            return Err(AppError::conflict("This user is deactivated; reactivate them first."));
        }
        let purpose = if person.invited { LinkPurpose::Invite } else { LinkPurpose::Reset };
        self.audit(
            &actor,
            person.user.tenant_id.as_deref(),
            "user.reset_link_issued",
            &person.user.id,
            &person.user.email,
        )
        .await?;
        self.issue_user_link(&actor, person.user, purpose).await
    }

    async fn issue_user_link(&self, actor: &Actor<'_>, user: User, purpose: LinkPurpose) -> AppResult<IssuedUserLink> {
        let secret = session::new_token();
        let ttl_ms = i64::try_from(self.config.serve.user_link_ttl_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let expires_at = now_ms().saturating_add(ttl_ms);
        let id = self
            .store
            .insert_user_link(&user.id, purpose, &session::token_hash(&secret), actor.id(), expires_at)
            .await?;
        let base = self.config.base_url.as_str().trim_end_matches('/');
        let url = format!("{base}/accept/{id}.{secret}");
        let mut issued = IssuedUserLink { user, url, expires_at, emailed_to: None, email_error: None };
        if let Some(mailer) = &self.mailer {
            let (subject, text, html) = link_email(&issued, purpose, self.config.serve.user_link_ttl_seconds);
            match mailer.send_notice(&issued.user.email, &subject, text, html).await {
                Ok(()) => issued.emailed_to = Some(issued.user.email.clone()),
                Err(e) => {
                    tracing::warn!(user = %issued.user.id, error = %e, "cannot email a one-time link");
                    issued.email_error = Some(format!("Emailing the link failed: {e}. It still opens: pass it on."));
                }
            }
        }
        Ok(issued)
    }

    /// Makes a tenant user a viewer or back (admins stay admins: an admin is made, not promoted, here).
    pub async fn set_user_role(&self, actor: Actor<'_>, user_id: &str, role: Role) -> AppResult<Person> {
        let person = self.managed_person(&actor, user_id).await?;
        if !matches!(role, Role::Tenant | Role::Viewer) || person.user.role == Role::Admin {
            return Err(AppError::field("role", "a tenant's user can be made a manager (tenant) or a viewer"));
        }
        if person.user.role != role {
            self.store.set_user_role(user_id, role).await?;
            let detail = format!("{}: {} → {}", person.user.email, person.user.role.as_str(), role.as_str());
            self.audit(&actor, person.user.tenant_id.as_deref(), "user.role_changed", user_id, &detail).await?;
        }
        self.store.get_person(user_id).await?.ok_or_else(|| AppError::not_found("user"))
    }

    /// Deactivates a person (their sessions end at once, sign-in is refused, their links stop working) or
    /// reactivates them.
    pub async fn set_user_active(&self, actor: Actor<'_>, user_id: &str, active: bool) -> AppResult<Person> {
        let person = self.managed_person(&actor, user_id).await?;
        if self.store.set_user_deactivated(user_id, (!active).then(now_ms)).await? {
            let action = if active { "user.reactivated" } else { "user.deactivated" };
            self.audit(&actor, person.user.tenant_id.as_deref(), action, user_id, &person.user.email).await?;
        }
        self.store.get_person(user_id).await?.ok_or_else(|| AppError::not_found("user"))
    }
}

/// One-time links and self-service: what a signed-in person does to their own account.
impl Hub {
    /// The stored link a token names, if it still opens: the secret compared in constant time, unused, unexpired,
    /// its user active. Every refusal is the same 404, so a probe learns nothing.
    async fn open_user_link(&self, token: &str) -> AppResult<crate::server::store::StoredUserLink> {
        use subtle::ConstantTimeEq;
        let (id, secret) = split_link_token(token).ok_or_else(link_refused)?;
        let link = self.store.get_user_link(id).await?.ok_or_else(link_refused)?;
        let matches: bool = session::token_hash(secret).as_bytes().ct_eq(link.secret_hash.as_bytes()).into();
        if !matches || link.used_at.is_some() || link.expires_at <= now_ms() || link.deactivated {
            return Err(link_refused());
        }
        Ok(link)
    }

    /// What a link's page shows: whose account it is and whether it is an invite.
    pub async fn user_link_info(&self, token: &str) -> AppResult<UserLinkInfo> {
        let link = self.open_user_link(token).await?;
        Ok(UserLinkInfo { email: link.user.email, invite: link.purpose == LinkPurpose::Invite })
    }

    /// Uses a link once: sets the password, ends the user's other sessions and signs them in (the new session's
    /// token is returned for the cookie). A person with a second factor is refused a session here: see
    /// [`Hub::accept_user_link_signing_in`].
    pub async fn accept_user_link(
        &self,
        token: &str,
        password_plain: &str,
        client_ip: &str,
        user_agent: Option<&str>,
    ) -> AppResult<(User, String)> {
        match self.accept_user_link_signing_in(token, password_plain, client_ip, user_agent).await? {
            SignIn::Session(user, token) => Ok((user, token)),
            SignIn::Pending(..) => Err(AppError::unauthorized("This account signs in with a second factor.")),
        }
    }

    /// Uses a link once and signs the person in, through their second factor when they have one or their tenant
    /// requires one: a reset link alone never passes a second factor.
    pub async fn accept_user_link_signing_in(
        &self,
        token: &str,
        password_plain: &str,
        client_ip: &str,
        user_agent: Option<&str>,
    ) -> AppResult<SignIn> {
        let link = self.open_user_link(token).await?;
        let mut v = Validator::default();
        check_password_rule(&mut v, "password", password_plain);
        v.finish()?;
        let hash = self.hash_password(password_plain).await?;
        if !self.store.use_user_link(&link.id, &link.user.id, &hash, now_ms()).await? {
            return Err(link_refused());
        }
        let user = link.user;
        let action = if link.purpose == LinkPurpose::Invite { "user.invite_accepted" } else { "user.password_reset" };
        self.audit(&Actor::User(&user), user.tenant_id.as_deref(), action, &user.id, &user.email).await?;
        if let Some(step) = self.second_step(&user).await? {
            let token = session::pending_token(&self.master_key, &user.id, step, now_ms());
            return Ok(SignIn::Pending(user, token, step));
        }
        let session = self.open_session(&user, Some(client_ip), user_agent).await?;
        Ok(SignIn::Session(user, session))
    }

    /// Changes the signed-in user's password (the current one must be right); every other session of theirs
    /// ends, the one asking stays.
    pub async fn change_own_password(
        &self,
        user: &User,
        session_token: &str,
        current: &str,
        new: &str,
    ) -> AppResult<()> {
        let mut v = Validator::default();
        check_password_rule(&mut v, "new_password", new);
        v.finish()?;
        let stored = self.store.user_with_hash(&user.id).await?.map(|(_, h)| h);
        if !self.verify_password(stored, current).await? {
            return Err(AppError::field("current_password", "is not your current password"));
        }
        let hash = self.hash_password(new).await?;
        self.store.set_password(&user.id, &hash, Some(&session::token_hash(session_token))).await?;
        self.audit(&Actor::User(user), user.tenant_id.as_deref(), "user.password_changed", &user.id, &user.email).await
    }

    /// The signed-in user's unexpired sessions, the asking one marked.
    pub async fn own_sessions(&self, user: &User, session_token: &str) -> AppResult<Vec<SessionInfo>> {
        Ok(self.store.list_sessions(&user.id, &session::token_hash(session_token)).await?)
    }

    /// Signs the user out of every other session ("sign out everywhere" keeps the browser that asked); returns
    /// how many ended.
    pub async fn end_other_sessions(&self, user: &User, session_token: &str) -> AppResult<u64> {
        let ended = self.store.delete_user_sessions(&user.id, Some(&session::token_hash(session_token))).await?;
        let detail = format!("{ended} other sessions ended");
        self.audit(&Actor::User(user), user.tenant_id.as_deref(), "user.signed_out_everywhere", &user.id, &detail)
            .await?;
        Ok(ended)
    }
}

fn sealed_aad(user_id: &str) -> String {
    format!("user:{user_id}:totp")
}

fn now_seconds() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

fn wrong_code() -> AppError {
    AppError::field("code", "is not right, or was used already: enter the next code your app shows")
}

/// Two-factor sign-in: the second step of a sign-in, and each person's own authenticator and recovery codes.
/// The secret is sealed at rest and never audited, logged or shown again after enrolment.
impl Hub {
    /// The user a pending token names, if it holds, has the expected step and the user is still active.
    async fn pending_user(&self, pending: &str, want: PendingStep) -> AppResult<User> {
        let expired = || AppError::unauthorized("Your sign-in has expired: enter your password again.");
        let (user_id, step) = session::open_pending(&self.master_key, pending, now_ms()).ok_or_else(expired)?;
        if step != want {
            return Err(expired());
        }
        let person = self.store.get_person(&user_id).await?.ok_or_else(expired)?;
        if person.deactivated_at.is_some() {
            return Err(expired());
        }
        Ok(person.user)
    }

    /// Whether `input` is a valid second factor of `user`: a TOTP code of a step not used yet (it is then
    /// used), or an unused recovery code (used up). `Some(true)` for a recovery code.
    async fn use_second_factor(&self, user: &User, input: &str) -> AppResult<Option<bool>> {
        let tfa = self.store.user_totp(&user.id).await?;
        let (Some(sealed), Some(_)) = (tfa.sealed_secret, tfa.enabled_at) else { return Ok(None) };
        if totp::looks_like_code(input) {
            let secret = self.master_key.open_for(&sealed_aad(&user.id), &sealed).map_err(|e| {
                tracing::error!(user = %user.id, error = %e, "cannot open a TOTP secret");
                AppError::internal()
            })?;
            let Some(step) = totp::check(&secret, input, now_seconds()) else { return Ok(None) };
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            return Ok(self.store.use_totp_step(&user.id, step).await?.then_some(false));
        }
        let Some(normalized) = totp::normalize_recovery_code(input) else { return Ok(None) };
        let used = self.store.use_recovery_code(&user.id, &totp::recovery_code_hash(&user.id, &normalized)).await?;
        if used {
            let left = self.store.user_totp(&user.id).await?.recovery_codes_left;
            let detail = format!("{}: {left} recovery codes left", user.email);
            self.audit(&Actor::User(user), user.tenant_id.as_deref(), "user.recovery_code_used", &user.id, &detail)
                .await?;
        }
        Ok(used.then_some(true))
    }

    /// The second step of a sign-in: a code (or a recovery code) for the user the pending token names opens
    /// their session. A wrong code counts as a failed sign-in of their email.
    pub async fn second_factor(
        &self,
        pending: &str,
        code: &str,
        client_ip: &str,
        user_agent: Option<&str>,
    ) -> AppResult<(User, String)> {
        let user = self.pending_user(pending, PendingStep::Code).await?;
        let attempt = self.throttle.reserve(&user.email, client_ip).map_err(too_many_failures)?;
        match self.use_second_factor(&user, code).await {
            Ok(Some(_)) => attempt.succeeded(),
            // Counted.
            Ok(None) => return Err(wrong_code()),
            Err(e) => {
                attempt.release();
                return Err(e);
            }
        }
        let token = self.open_session(&user, Some(client_ip), user_agent).await?;
        Ok((user, token))
    }

    /// The signed-in person's two-factor state.
    pub async fn two_factor_status(&self, user: &User) -> AppResult<TwoFactorState> {
        let tfa = self.store.user_totp(&user.id).await?;
        Ok(TwoFactorState {
            enabled: tfa.enabled_at.is_some(),
            recovery_codes_left: tfa.recovery_codes_left,
            required: tfa.required,
        })
    }

    /// Starts setting up an authenticator: a new secret, sealed and kept pending until a code confirms it. The
    /// secret and its QR code are shown only in this answer.
    pub async fn begin_two_factor(&self, user: &User) -> AppResult<TotpEnrolment> {
        let fresh = totp::new_secret(&user.email).map_err(|e| {
            tracing::error!(error = %e, "cannot make a TOTP secret");
            AppError::internal()
        })?;
        let sealed = self.master_key.seal_for(&sealed_aad(&user.id), &fresh.base32);
        if !self.store.begin_totp(&user.id, &sealed).await? {
            return Err(AppError::conflict(
                "Two-factor sign-in is already on. Switch it off first to set up another authenticator.",
            ));
        }
        let qr_svg = totp::qr_svg(&fresh.url).map_err(|e| {
            tracing::error!(error = %e, "cannot draw a QR code");
            AppError::internal()
        })?;
        Ok(TotpEnrolment { secret: fresh.base32, otpauth_url: fresh.url, qr_svg })
    }

    /// Confirms the pending authenticator with a code from it; answers the ten recovery codes, shown once.
    pub async fn confirm_two_factor(&self, user: &User, code: &str) -> AppResult<Vec<String>> {
        let tfa = self.store.user_totp(&user.id).await?;
        if tfa.enabled_at.is_some() {
            return Err(AppError::conflict("Two-factor sign-in is already on."));
        }
        let sealed = tfa.sealed_secret.ok_or_else(|| AppError::conflict("Start setting up an authenticator first."))?;
        let secret = self.master_key.open_for(&sealed_aad(&user.id), &sealed).map_err(|e| {
            tracing::error!(user = %user.id, error = %e, "cannot open a TOTP secret");
            AppError::internal()
        })?;
        let step = totp::check(&secret, code, now_seconds())
            .ok_or_else(|| AppError::field("code", "is not the code your app shows now"))?;
        let codes = totp::new_recovery_codes();
        let hashes = recovery_hashes(&user.id, &codes);
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        if !self.store.confirm_totp(&user.id, &sealed, step, &hashes).await? {
            return Err(AppError::conflict("The authenticator changed meanwhile: start again."));
        }
        self.audit(&Actor::User(user), user.tenant_id.as_deref(), "user.two_factor_enabled", &user.id, &user.email)
            .await?;
        Ok(codes)
    }

    /// Switches two-factor sign-in off, with proof: a current code, a recovery code or the password. Refused
    /// while the person's tenant requires it. A set-up not yet confirmed is dropped without proof.
    pub async fn disable_two_factor(&self, user: &User, proof: &str, client_ip: &str) -> AppResult<()> {
        let tfa = self.store.user_totp(&user.id).await?;
        if tfa.enabled_at.is_none() {
            self.store.clear_totp(&user.id).await?;
            return Ok(());
        }
        if tfa.required {
            return Err(AppError::conflict("Your tenant requires two-factor sign-in: it cannot be switched off."));
        }
        self.prove_presence(user, proof, client_ip).await?;
        if self.store.clear_totp(&user.id).await? {
            let (tenant, email) = (user.tenant_id.as_deref(), &user.email);
            self.audit(&Actor::User(user), tenant, "user.two_factor_disabled", &user.id, email).await?;
        }
        Ok(())
    }

    /// New recovery codes (the old ones stop working), with a current code or a recovery code as proof.
    pub async fn regenerate_recovery_codes(&self, user: &User, proof: &str, client_ip: &str) -> AppResult<Vec<String>> {
        if self.store.user_totp(&user.id).await?.enabled_at.is_none() {
            return Err(AppError::conflict("Two-factor sign-in is off: there are no recovery codes."));
        }
        let attempt = self.throttle.reserve(&user.email, client_ip).map_err(too_many_failures)?;
        if self.use_second_factor(user, proof).await?.is_none() {
            return Err(wrong_code());
        }
        attempt.release();
        let codes = totp::new_recovery_codes();
        self.store.set_recovery_codes(&user.id, &recovery_hashes(&user.id, &codes)).await?;
        let (tenant, email) = (user.tenant_id.as_deref(), &user.email);
        self.audit(&Actor::User(user), tenant, "user.recovery_codes_regenerated", &user.id, email).await?;
        Ok(codes)
    }

    /// A code, a recovery code or the password of `user`; a wrong one counts as a failed sign-in.
    async fn prove_presence(&self, user: &User, proof: &str, client_ip: &str) -> AppResult<()> {
        let attempt = self.throttle.reserve(&user.email, client_ip).map_err(too_many_failures)?;
        if self.use_second_factor(user, proof).await?.is_some() {
            attempt.release();
            return Ok(());
        }
        let stored = self.store.user_with_hash(&user.id).await?.map(|(_, h)| h);
        if self.verify_password(stored, proof).await? {
            attempt.release();
            return Ok(());
        }
        Err(AppError::field("proof", "is neither a current code, a recovery code nor your password"))
    }

    /// Enrolment during sign-in, for a person whose tenant requires a second factor they do not have yet: the
    /// pending token stands in for the session they cannot have until it is set up.
    pub async fn begin_two_factor_at_sign_in(&self, pending: &str) -> AppResult<TotpEnrolment> {
        let user = self.pending_user(pending, PendingStep::Enrol).await?;
        self.begin_two_factor(&user).await
    }

    /// Confirms enrolment during sign-in and opens the session: the recovery codes and the session's token.
    pub async fn confirm_two_factor_at_sign_in(
        &self,
        pending: &str,
        code: &str,
        client_ip: &str,
        user_agent: Option<&str>,
    ) -> AppResult<(Vec<String>, String)> {
        let user = self.pending_user(pending, PendingStep::Enrol).await?;
        let attempt = self.throttle.reserve(&user.email, client_ip).map_err(too_many_failures)?;
        let codes = self.confirm_two_factor(&user, code).await?;
        attempt.succeeded();
        let token = self.open_session(&user, Some(client_ip), user_agent).await?;
        Ok((codes, token))
    }
}

fn recovery_hashes(user_id: &str, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|c| totp::normalize_recovery_code(c))
        .map(|n| totp::recovery_code_hash(user_id, &n))
        .collect()
}
