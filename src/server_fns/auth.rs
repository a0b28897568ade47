//! Sign-in (password, then a second factor when the person has one) and sign-out.

use crate::model::{AppError, TotpEnrolment};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The sign-in page at its second step (`code`, `recovery` or `enrol`), returning to `next` afterwards.
pub fn step_path(step: &str, next: Option<&str>) -> String {
    let back = crate::model::login_path(next.and_then(crate::model::safe_next).unwrap_or("/"));
    match back.strip_prefix("/login?next=") {
        Some(encoded) => format!("/login?step={step}&next={encoded}"),
        None => format!("/login?step={step}"),
    }
}

#[cfg(feature = "ssr")]
mod pending {
    use crate::server::auth::session;

    /// The pending second-factor token of this request's cookie.
    pub fn token() -> Option<String> {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        let header = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        let secure = session::Https::of(&parts.extensions);
        session::cookie_value(header, session::pending_cookie_name(secure)).map(str::to_string)
    }
}

#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::auth::session::{self, PendingStep};
    use crate::server::service::accounts::SignIn;
    ctx::run(async {
        let hub = ctx::hub()?;
        let ip = ctx::client_ip(&hub);
        let agent = ctx::user_agent();
        match hub.sign_in(&email, &password, &ip, agent.as_deref()).await? {
            SignIn::Session(_, token) => {
                ctx::set_header(http::header::SET_COOKIE, &session::set_cookie(&token, ctx::https()));
                let to = next.as_deref().and_then(crate::model::safe_next).unwrap_or("/integrations");
                leptos_axum::redirect(to);
            }
            SignIn::Pending(_, token, step) => {
                ctx::set_header(http::header::SET_COOKIE, &session::set_pending_cookie(&token, ctx::https()));
                let step = if step == PendingStep::Enrol { "enrol" } else { "code" };
                leptos_axum::redirect(&step_path(step, next.as_deref()));
            }
        }
        Ok(())
    })
    .await
}

/// The second step of a sign-in: a code from the authenticator app or a recovery code opens the session.
#[server(endpoint = "verify_second_factor")]
pub async fn verify_second_factor(code: String, next: Option<String>) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::auth::session;
    ctx::run(async {
        let hub = ctx::hub()?;
        let ip = ctx::client_ip(&hub);
        let agent = ctx::user_agent();
        let pending = pending::token().unwrap_or_default();
        let (_user, token) = hub.second_factor(&pending, &code, &ip, agent.as_deref()).await?;
        ctx::set_header(http::header::SET_COOKIE, &session::set_cookie(&token, ctx::https()));
        ctx::set_header(http::header::SET_COOKIE, &session::clear_pending_cookie(ctx::https()));
        let to = next.as_deref().and_then(crate::model::safe_next).unwrap_or("/integrations");
        leptos_axum::redirect(to);
        Ok(())
    })
    .await
}

/// Enrolment during sign-in (the tenant requires a second factor): a new authenticator's secret and QR code.
#[server(endpoint = "begin_enrolment_at_sign_in", input = Json)]
pub async fn begin_enrolment_at_sign_in() -> Result<TotpEnrolment, AppError> {
    use super::ctx;
    ctx::run(async { ctx::hub()?.begin_two_factor_at_sign_in(&pending::token().unwrap_or_default()).await }).await
}

/// Confirms enrolment during sign-in with a code and signs the browser in; answers the recovery codes.
#[server(endpoint = "confirm_enrolment_at_sign_in", input = Json)]
pub async fn confirm_enrolment_at_sign_in(code: String) -> Result<Vec<String>, AppError> {
    use super::ctx;
    use crate::server::auth::session;
    ctx::run(async {
        let hub = ctx::hub()?;
        let ip = ctx::client_ip(&hub);
        let agent = ctx::user_agent();
        let pending = pending::token().unwrap_or_default();
        let (codes, token) = hub.confirm_two_factor_at_sign_in(&pending, &code, &ip, agent.as_deref()).await?;
        ctx::set_header(http::header::SET_COOKIE, &session::set_cookie(&token, ctx::https()));
        ctx::set_header(http::header::SET_COOKIE, &session::clear_pending_cookie(ctx::https()));
        Ok(codes)
    })
    .await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::ctx;
    use crate::server::auth::session;
    ctx::run(async {
        let hub = ctx::hub()?;
        if let Some(token) = ctx::session_token() {
            hub.logout(&token).await?;
        }
        ctx::set_header(http::header::SET_COOKIE, &session::clear_cookie(ctx::https()));
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}
