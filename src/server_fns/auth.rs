//! Sign-in and sign-out.

use crate::model::AppError;
use leptos::prelude::*;

#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::auth::session;
    ctx::run(async {
        let hub = ctx::hub()?;
        let ip = ctx::client_ip(&hub);
        let agent = ctx::user_agent();
        let (_user, token) = hub.login_with(&email, &password, &ip, agent.as_deref()).await?;
        ctx::set_header(http::header::SET_COOKIE, &session::set_cookie(&token, ctx::https()));
        let to = next.as_deref().and_then(crate::model::safe_next).unwrap_or("/integrations");
        leptos_axum::redirect(to);
        Ok(())
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
