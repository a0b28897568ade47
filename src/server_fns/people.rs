//! People and tenants: the admins' Tenants page, the Users page (admins: everyone; a tenant's managers: their
//! own tenant's people), one-time invite and reset links, and each person's own Account (password, sessions).
//! Who may do what is decided in `service/accounts.rs`; these keep the caller's own role (not confined to the
//! tenant page they are on), since an admin manages every tenant from here.

use crate::model::{
    AppError, IssuedUserLink, NewInvite, Person, Role, SessionInfo, Tenant, TenantSummary, TotpEnrolment,
    TwoFactorState, UserLinkInfo,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx, super::ctx::as_user, crate::server::service::Actor};

#[server(endpoint = "list_tenant_summaries", input = Json)]
pub async fn list_tenant_summaries() -> Result<Vec<TenantSummary>, AppError> {
    as_user(async |hub, user| hub.tenant_summaries(Actor::User(&user)).await).await
}

#[server(endpoint = "rename_tenant", input = Json)]
pub async fn rename_tenant(id: String, name: String) -> Result<Tenant, AppError> {
    as_user(async |hub, user| hub.rename_tenant(Actor::User(&user), &id, &name).await).await
}

/// Suspends (`suspended: true`) or resumes a tenant.
#[server(endpoint = "set_tenant_suspended", input = Json)]
pub async fn set_tenant_suspended(id: String, suspended: bool) -> Result<Tenant, AppError> {
    as_user(async |hub, user| {
        if suspended {
            hub.suspend_tenant(Actor::User(&user), &id).await
        } else {
            hub.resume_tenant(Actor::User(&user), &id).await
        }
    })
    .await
}

/// Requires (`required: true`) or stops requiring a second factor of every person of a tenant.
#[server(endpoint = "set_tenant_require_two_factor", input = Json)]
pub async fn set_tenant_require_two_factor(id: String, required: bool) -> Result<Tenant, AppError> {
    as_user(async |hub, user| hub.set_tenant_require_two_factor(Actor::User(&user), &id, required).await).await
}

#[server(endpoint = "list_people", input = Json)]
pub async fn list_people(tenant_id: Option<String>) -> Result<Vec<Person>, AppError> {
    as_user(async |hub, user| hub.list_people(Actor::User(&user), tenant_id.as_deref()).await).await
}

#[server(endpoint = "invite_user", input = Json)]
pub async fn invite_user(input: NewInvite) -> Result<IssuedUserLink, AppError> {
    as_user(async |hub, user| hub.invite_user(Actor::User(&user), input).await).await
}

#[server(endpoint = "reset_user_link", input = Json)]
pub async fn reset_user_link(user_id: String) -> Result<IssuedUserLink, AppError> {
    as_user(async |hub, user| hub.reset_link(Actor::User(&user), &user_id).await).await
}

#[server(endpoint = "set_user_role", input = Json)]
pub async fn set_user_role(user_id: String, role: Role) -> Result<Person, AppError> {
    as_user(async |hub, user| hub.set_user_role(Actor::User(&user), &user_id, role).await).await
}

/// Deactivates (`active: false`) or reactivates a person.
#[server(endpoint = "set_user_active", input = Json)]
pub async fn set_user_active(user_id: String, active: bool) -> Result<Person, AppError> {
    as_user(async |hub, user| hub.set_user_active(Actor::User(&user), &user_id, active).await).await
}

/// What an invite or reset link's page shows; no session needed (the link is the credential).
#[server(endpoint = "read_user_link", input = Json)]
pub async fn read_user_link(token: String) -> Result<UserLinkInfo, AppError> {
    ctx::run(async { ctx::hub()?.user_link_info(&token).await }).await
}

/// Uses an invite or reset link once: sets the password and signs the browser in. Answers where to go next:
/// the app, or the sign-in page's second step for a person with (or required to have) a second factor.
#[server(endpoint = "accept_user_link", input = Json)]
pub async fn accept_user_link(token: String, password: String) -> Result<String, AppError> {
    use crate::server::auth::session::{self, PendingStep};
    use crate::server::service::accounts::SignIn;
    ctx::run(async {
        let hub = ctx::hub()?;
        let ip = ctx::client_ip(&hub);
        let agent = ctx::user_agent();
        match hub.accept_user_link_signing_in(&token, &password, &ip, agent.as_deref()).await? {
            SignIn::Session(_, token) => {
                ctx::set_header(http::header::SET_COOKIE, &session::set_cookie(&token, ctx::https()));
                Ok("/integrations".to_string())
            }
            SignIn::Pending(_, token, step) => {
                ctx::set_header(http::header::SET_COOKIE, &session::set_pending_cookie(&token, ctx::https()));
                let step = if step == PendingStep::Enrol { "enrol" } else { "code" };
                Ok(super::auth::step_path(step, None))
            }
        }
    })
    .await
}

/// The signed-in person's sessions.
#[server(endpoint = "own_sessions", input = Json)]
pub async fn own_sessions() -> Result<Vec<SessionInfo>, AppError> {
    as_user(async |hub, user| hub.own_sessions(&user, &ctx::session_token().unwrap_or_default()).await).await
}

#[server(endpoint = "change_own_password", input = Json)]
pub async fn change_own_password(current_password: String, new_password: String) -> Result<(), AppError> {
    as_user(async |hub, user| {
        let token = ctx::session_token().unwrap_or_default();
        hub.change_own_password(&user, &token, &current_password, &new_password).await
    })
    .await
}

/// "Sign out everywhere": every other session of the signed-in person ends; returns how many.
#[server(endpoint = "end_other_sessions", input = Json)]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    as_user(async |hub, user| hub.end_other_sessions(&user, &ctx::session_token().unwrap_or_default()).await).await
}

/// The signed-in person's two-factor state.
#[server(endpoint = "two_factor_status", input = Json)]
pub async fn two_factor_status() -> Result<TwoFactorState, AppError> {
    as_user(async |hub, user| hub.two_factor_status(&user).await).await
}

/// Starts setting up an authenticator: its secret and QR code, shown once.
#[server(endpoint = "begin_two_factor", input = Json)]
pub async fn begin_two_factor() -> Result<TotpEnrolment, AppError> {
    as_user(async |hub, user| hub.begin_two_factor(&user).await).await
}

/// Confirms the authenticator with a code; answers the recovery codes, shown once.
#[server(endpoint = "confirm_two_factor", input = Json)]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    as_user(async |hub, user| hub.confirm_two_factor(&user, &code).await).await
}

/// Switches two-factor sign-in off, with a current code, a recovery code or the password as proof.
#[server(endpoint = "disable_two_factor", input = Json)]
pub async fn disable_two_factor(proof: String) -> Result<(), AppError> {
    as_user(async |hub, user| hub.disable_two_factor(&user, &proof, &ctx::client_ip(&hub)).await).await
}

/// New recovery codes (the old ones stop working), with a current code as proof; shown once.
#[server(endpoint = "regenerate_recovery_codes", input = Json)]
pub async fn regenerate_recovery_codes(proof: String) -> Result<Vec<String>, AppError> {
    as_user(async |hub, user| hub.regenerate_recovery_codes(&user, &proof, &ctx::client_ip(&hub)).await).await
}
