//! Thin `#[server]` functions: authenticate the session, call the service, return model types.
//! No business rule lives here; it would then exist only for the UI and not for the REST API.

pub mod api_keys;
pub mod apps;
pub mod audit;
pub mod auth;
pub mod deliveries;
pub mod devtools;
pub mod event_types;
pub mod events;
pub mod people;
pub mod portal;
pub mod shell;
pub mod tools;
pub mod webhooks;

/// The server functions a viewer may call: they change nothing. Every other one is refused to a viewer
/// with 403 before its body runs (`ctx::refuse_viewer_writes`), so a function added without a line here is
/// closed to viewers, never open. Add a function here only if it writes nothing (revealing a secret counts
/// as a write: it is audited and needs write scopes on REST).
pub const READ_ONLY: &[&str] = &[
    // The shell and the tenant's pages.
    "get_shell_context",
    "home_tenant",
    "list_keys",
    "usage_of_key",
    "usage_of_tenant_keys",
    "list_webhooks",
    "count_endpoints",
    "webhook_page",
    "list_deliveries",
    "get_delivery",
    "load_delivery_stats",
    "load_sparklines",
    "search_events",
    "event_detail",
    "list_audit",
    "list_event_types",
    "event_catalog",
    "get_event_type_settings",
    // Connected apps: the providers, the tenant's connections and their sync logs (never a token).
    "load_connected_apps",
    "get_app_connection",
    "list_app_sync_logs",
    // Computed on the spot from what is sent, nothing stored.
    "preview_routing",
    "check_signature",
    "render_template_preview",
    "preview_destination",
    "message_defaults",
    "preview_app_action",
    // A viewer's own account: their sessions, their password (self-service, not the tenant's data).
    "own_sessions",
    "change_own_password",
    "end_other_sessions",
    // Their own second factor: any person, viewers too, may protect their own sign-in.
    "two_factor_status",
    "begin_two_factor",
    "confirm_two_factor",
    "disable_two_factor",
    "regenerate_recovery_codes",
];

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use super::READ_ONLY;
    use crate::model::{AppError, AppResult, Role, User};
    use crate::server::auth::session;
    use crate::server::service::AppState;

    use leptos::prelude::*;

    pub fn hub() -> AppResult<AppState> {
        use_context::<AppState>().ok_or_else(AppError::internal)
    }

    tokio::task_local! {
        /// The request's parts for the whole of a server function's body ([`run_as`]).
        static REQUEST: Option<http::request::Parts>;
    }

    /// The request's parts. A context looked up after an await can be gone: a resource of a server render may
    /// outlive the reactive owner it started under (the render runs the page's components again once the
    /// shell's resource resolves), so a body run by [`run_as`] also finds them in a task-local set before its
    /// first await. Without this, such a run saw no session (no "This browser" badge, a viewer refused a read)
    /// and the browser hydrated data that did not match the markup.
    fn parts() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>().or_else(|| REQUEST.try_with(Clone::clone).ok().flatten())
    }

    pub fn session_token() -> Option<String> {
        let parts = parts()?;
        let header = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        session::token_from(header, session::Https::of(&parts.extensions)).map(str::to_string)
    }

    /// The browser's user agent, for the sessions list.
    pub fn user_agent() -> Option<String> {
        let parts = parts()?;
        parts.headers.get(http::header::USER_AGENT)?.to_str().ok().map(str::to_string)
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

    /// The server function a request calls, by its endpoint name (`/api/<name>`); None while a page renders on
    /// the server, which calls its resources' functions directly within the page's own request.
    fn called_function(parts: &http::request::Parts) -> Option<&str> {
        parts.uri.path().strip_prefix("/api/")
    }

    /// Deny by default: a viewer may call only the [`READ_ONLY`] functions. A page rendered on the server (a
    /// GET of a page, not of `/api/`) only reads: it calls the functions of its resources, never an action.
    fn refuse_viewer_writes(user: &User, parts: Option<&http::request::Parts>) -> AppResult<()> {
        if user.role != Role::Viewer {
            return Ok(());
        }
        let allowed = match parts {
            Some(p) => match called_function(p) {
                Some(name) => READ_ONLY.contains(&name),
                None => p.method == http::Method::GET || p.method == http::Method::HEAD,
            },
            None => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::forbidden("Viewers can look but not change anything: ask a manager of this tenant."))
        }
    }

    /// The signed-in user (401 without a session); a viewer only for [`READ_ONLY`] functions (403 otherwise).
    async fn signed_in() -> AppResult<(AppState, User)> {
        let hub = hub()?;
        let parts = parts();
        let user = current_user(&hub).await?;
        refuse_viewer_writes(&user, parts.as_ref())?;
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
        // A portal session stays one (it is refused API keys and users), a viewer stays read-only; anyone else
        // acts as a tenant user.
        let role = if matches!(user.role, Role::Portal | Role::Viewer) { user.role } else { Role::Tenant };
        let confined = User { role, tenant_id: Some(tenant_id.to_string()), ..user };
        Ok((hub, confined))
    }

    /// A server function's body, run through [`run`] for the user `who` finds.
    async fn run_as<T>(
        who: impl std::future::Future<Output = AppResult<(AppState, User)>>,
        body: impl AsyncFnOnce(AppState, User) -> AppResult<T>,
    ) -> AppResult<T> {
        let parts = parts();
        REQUEST
            .scope(
                parts,
                run(async {
                    let (hub, user) = who.await?;
                    body(hub, user).await
                }),
            )
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
