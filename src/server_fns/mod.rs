//! Thin `#[server]` functions: authenticate the session, call the service, return model types.
//! No business rule lives here; it would then exist only for the UI and not for the REST API.

pub mod api_keys;
pub mod auth;
pub mod deliveries;
pub mod portal;
pub mod shell;
pub mod tools;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use crate::model::{AppError, AppResult, Role, User};
    use crate::server::auth::session;
    use crate::server::service::AppState;

    use leptos::prelude::*;

    pub fn hub() -> AppResult<AppState> {
        use_context::<AppState>().ok_or_else(AppError::internal)
    }

    fn parts() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>()
    }

    pub fn session_token() -> Option<String> {
        let parts = parts()?;
        let header = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        session::token_from(header, session::Https::of(&parts.extensions)).map(str::to_string)
    }

    /// Whether this request came over https (decided by the router, `session::Https`): cookies follow it.
    pub fn https() -> bool {
        parts().is_some_and(|p| session::Https::of(&p.extensions))
    }

    pub fn client_ip(hub: &AppState) -> String {
        let Some(parts) = parts() else { return "unknown".into() };
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let xff = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        crate::server::client_ip::client_ip(peer, xff, &hub.config.trusted_proxies).to_string()
    }

    async fn current_user(hub: &AppState) -> AppResult<User> {
        hub.session_user(session_token().as_deref()).await
    }

    /// The signed-in user (401 without a session).
    async fn signed_in() -> AppResult<(AppState, User)> {
        let hub = hub()?;
        let user = current_user(&hub).await?;
        Ok((hub, user))
    }

    /// The signed-in user, if they may work in `tenant_id`, with their own role.
    async fn allowed_in(tenant_id: &str) -> AppResult<(AppState, User)> {
        let (hub, user) = signed_in().await?;
        hub.authorize_tenant(&user, tenant_id).await?;
        Ok((hub, user))
    }

    /// The signed-in user, checked against `tenant_id` and then confined to it: an admin working in one
    /// tenant's pages acts as that tenant's user, so an id from another tenant is a 404 there too.
    async fn signed_in_for(tenant_id: &str) -> AppResult<(AppState, User)> {
        let (hub, user) = allowed_in(tenant_id).await?;
        // A portal session stays one (it is refused API keys and users); anyone else acts as a tenant user.
        let role = if user.role == Role::Portal { Role::Portal } else { Role::Tenant };
        let confined = User { role, tenant_id: Some(tenant_id.to_string()), ..user };
        Ok((hub, confined))
    }

    /// A server function's body, run through [`run`] for the user `who` finds.
    async fn run_as<T>(
        who: impl std::future::Future<Output = AppResult<(AppState, User)>>,
        body: impl AsyncFnOnce(AppState, User) -> AppResult<T>,
    ) -> AppResult<T> {
        run(async {
            let (hub, user) = who.await?;
            body(hub, user).await
        })
        .await
    }

    /// A server function's body for the signed-in user.
    pub async fn as_user<T>(body: impl AsyncFnOnce(AppState, User) -> AppResult<T>) -> AppResult<T> {
        run_as(signed_in(), body).await
    }

    /// A server function's body for the signed-in user confined to `tenant_id` ([`signed_in_for`]): what the
    /// tenant's pages call.
    pub async fn as_tenant_user<T>(
        tenant_id: &str,
        body: impl AsyncFnOnce(AppState, User) -> AppResult<T>,
    ) -> AppResult<T> {
        run_as(signed_in_for(tenant_id), body).await
    }

    /// A server function's body for the signed-in user with their own role, once allowed into `tenant_id`: an
    /// admin's tools for a tenant.
    pub async fn as_user_in<T>(
        tenant_id: &str,
        body: impl AsyncFnOnce(AppState, User) -> AppResult<T>,
    ) -> AppResult<T> {
        run_as(allowed_in(tenant_id), body).await
    }

    pub fn set_header(name: http::HeaderName, value: &str) {
        if let (Some(res), Ok(v)) = (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(value))
        {
            res.append_header(name, v);
        }
    }

    /// Runs a server function body; on error, the HTTP status follows the error code (401, 403, 422…) so
    /// SSR pages and clients see the right status rather than a blanket 500.
    pub async fn run<T>(f: impl std::future::Future<Output = AppResult<T>>) -> AppResult<T> {
        let r = f.await;
        if let (Err(e), Some(res)) = (&r, use_context::<leptos_axum::ResponseOptions>()) {
            res.set_status(http::StatusCode::from_u16(e.code.http_status()).unwrap_or(http::StatusCode::BAD_REQUEST));
        }
        r
    }
}
