//! The REST API under `/api/v1`, for producers and tenants, authenticated by API keys.
//!
//! Every route is listed once in [`ROUTES`] with the scope it needs; the scope guard looks the matched route
//! up there, so a route missing from the table is refused (deny by default), and the scope tests walk the table.

mod apps;
mod audit;
mod browse;
mod deliveries;
pub mod error;
mod events;
mod keys;
pub mod openapi;
mod webhooks;

use crate::model::{ApiKey, AppError, ErrorCode, Scope};
use crate::server::service::{Actor, AppState};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::{IpAddr, SocketAddr};

/// One REST route: method, path (as registered, relative to /api/v1) and the scope it requires
/// (None: any valid key).
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub scope: Option<Scope>,
}

const fn route(method: &'static str, path: &'static str, scope: Option<Scope>) -> RouteSpec {
    RouteSpec { method, path, scope }
}

pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/me", None),
    route("GET", "/keys", Some(Scope::KeysRead)),
    route("POST", "/keys", Some(Scope::KeysWrite)),
    route("GET", "/keys/{id}", Some(Scope::KeysRead)),
    route("PATCH", "/keys/{id}", Some(Scope::KeysWrite)),
    route("DELETE", "/keys/{id}", Some(Scope::KeysWrite)),
    route("POST", "/keys/{id}/rotate", Some(Scope::KeysWrite)),
    route("POST", "/keys/{id}/revoke", Some(Scope::KeysWrite)),
    route("GET", "/keys/{id}/usage", Some(Scope::KeysRead)),
    route("GET", "/webhooks", Some(Scope::WebhooksRead)),
    route("POST", "/webhooks", Some(Scope::WebhooksWrite)),
    route("GET", "/webhooks/{id}", Some(Scope::WebhooksRead)),
    route("PATCH", "/webhooks/{id}", Some(Scope::WebhooksWrite)),
    route("DELETE", "/webhooks/{id}", Some(Scope::WebhooksWrite)),
    // The signing secret is a credential: reading it needs the write scope.
    route("GET", "/webhooks/{id}/secret", Some(Scope::WebhooksWrite)),
    // Custom header values are receivers' credentials too (every other answer masks them).
    route("GET", "/webhooks/{id}/headers", Some(Scope::WebhooksWrite)),
    route("POST", "/webhooks/{id}/secret/rotate", Some(Scope::WebhooksWrite)),
    route("POST", "/events", Some(Scope::EventsWrite)),
    route("POST", "/events/batch", Some(Scope::EventsWrite)),
    route("GET", "/events", Some(Scope::EventsRead)),
    route("GET", "/events/{id}", Some(Scope::EventsRead)),
    route("GET", "/event-types", Some(Scope::EventsRead)),
    // The catalog is shared by every tenant: besides the scope, only admin-wide keys may write it (403).
    route("POST", "/event-types", Some(Scope::EventTypesWrite)),
    route("PATCH", "/event-types/{name}", Some(Scope::EventTypesWrite)),
    route("POST", "/event-types/{name}/archive", Some(Scope::EventTypesWrite)),
    route("POST", "/event-types/{name}/unarchive", Some(Scope::EventTypesWrite)),
    route("GET", "/deliveries", Some(Scope::DeliveriesRead)),
    route("GET", "/deliveries/{id}", Some(Scope::DeliveriesRead)),
    route("POST", "/deliveries/{id}/replay", Some(Scope::DeliveriesWrite)),
    route("POST", "/webhooks/{id}/recover", Some(Scope::DeliveriesWrite)),
    route("POST", "/webhooks/{id}/test", Some(Scope::WebhooksWrite)),
    route("GET", "/stats/deliveries", Some(Scope::DeliveriesRead)),
    // New deliveries of an existing event: the scope of replaying one (rest/browse.rs).
    route("POST", "/events/{id}/resend", Some(Scope::DeliveriesWrite)),
    route("GET", "/audit", Some(Scope::AuditRead)),
    route("GET", "/integrations", Some(Scope::IntegrationsRead)),
    route("POST", "/integrations/{id}/authorize", Some(Scope::IntegrationsWrite)),
    route("GET", "/integrations/{id}", Some(Scope::IntegrationsRead)),
    route("PATCH", "/integrations/{id}", Some(Scope::IntegrationsWrite)),
    route("DELETE", "/integrations/{id}", Some(Scope::IntegrationsWrite)),
    route("POST", "/integrations/{id}/sync", Some(Scope::IntegrationsWrite)),
    route("GET", "/integrations/{id}/sync-logs", Some(Scope::IntegrationsRead)),
];

pub fn router<S: Clone + Send + Sync + 'static>(hub: AppState) -> Router<S> {
    let api = Router::new()
        .route("/me", get(keys::me))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}", get(keys::get_one).patch(keys::update).delete(keys::delete))
        .route("/keys/{id}/rotate", post(keys::rotate))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route("/keys/{id}/usage", get(keys::usage))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::get_one).patch(webhooks::update).delete(webhooks::delete))
        .route("/webhooks/{id}/secret", get(webhooks::secret))
        .route("/webhooks/{id}/headers", get(webhooks::headers))
        .route("/webhooks/{id}/secret/rotate", post(webhooks::rotate_secret))
        .route("/events", get(events::list).post(events::publish))
        .route("/events/batch", post(events::publish_batch))
        .route("/events/{id}", get(events::get_one))
        .route("/event-types", get(events::event_types).post(events::create_event_type))
        .route("/event-types/{name}", axum::routing::patch(events::update_event_type))
        .route("/event-types/{name}/archive", post(events::archive_event_type))
        .route("/event-types/{name}/unarchive", post(events::unarchive_event_type))
        .route("/deliveries", get(deliveries::list))
        .route("/deliveries/{id}", get(deliveries::get_one))
        .route("/deliveries/{id}/replay", post(deliveries::replay))
        .route("/webhooks/{id}/recover", post(deliveries::recover))
        .route("/webhooks/{id}/test", post(deliveries::test_fire))
        .route("/stats/deliveries", get(deliveries::stats))
        .route("/events/{id}/resend", post(browse::resend))
        .route("/audit", get(audit::list))
        .route("/integrations", get(apps::list))
        // `{id}` is the provider's id here (axum wants one name per position): `/integrations/zoom/authorize`.
        .route("/integrations/{id}/authorize", post(apps::authorize))
        .route("/integrations/{id}", get(apps::get_one).patch(apps::update).delete(apps::delete))
        .route("/integrations/{id}/sync", post(apps::sync))
        .route("/integrations/{id}/sync-logs", get(apps::sync_logs))
        .route_layer(from_fn(scope_guard))
        .layer(from_fn_with_state(hub.clone(), authenticate))
        .layer(axum::extract::DefaultBodyLimit::max(error::MAX_BODY_BYTES))
        .fallback(|| async { AppError::new(ErrorCode::NotFound, "no such API route") })
        .with_state(hub);
    Router::new().route("/api/v1/openapi.json", get(openapi_json)).nest("/api/v1", api)
}

/// The API description is public (it holds no data), built once.
async fn openapi_json() -> impl axum::response::IntoResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_string(&openapi::document()).unwrap_or_default());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body.as_str())
}

/// The key from `Authorization: Bearer …` or `X-API-Key`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

fn client_ip(hub: &AppState, req: &Request) -> IpAddr {
    let peer =
        req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let xff = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    crate::server::client_ip::client_ip(peer, xff, &hub.config.trusted_proxies)
}

/// Verifies the key, applies its rate limits and puts it in the request for the handlers.
async fn authenticate(State(hub): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(presented) = presented_key(req.headers()) else {
        return AppError::unauthorized("missing API key: send `Authorization: Bearer <key>` or `X-API-Key`")
            .into_response();
    };
    let ip = client_ip(&hub, &req);
    let key = match hub.verify_api_key(presented, ip).await {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let decision = hub.limiter.check(&key.id, key.rate_limit_per_minute, key.rate_limit_per_hour);
    let mut res = if decision.allowed {
        req.extensions_mut().insert(key);
        next.run(req).await
    } else {
        hub.usage.record(&key.id, ip, crate::server::service::key_usage::KeyOutcome::RateLimited);
        let detail = serde_json::json!({
            "setting": "the key's requests per minute and per hour",
            "key": {"id": key.id, "name": key.name},
        });
        let (notifier, tenant, limit) = (hub.clone(), key.tenant_id.clone(), u64::from(decision.limit));
        // In the background: the refused request is answered at once.
        tokio::spawn(async move {
            notifier.notify_quota(tenant.as_deref(), "api_key_rate_limit", limit, detail).await;
        });
        let mut r = AppError::new(
            ErrorCode::RateLimited,
            format!("rate limit of {} requests exceeded; retry in {} s", decision.limit, decision.retry_after_secs),
        )
        .into_response();
        r.headers_mut().insert("retry-after", HeaderValue::from(decision.retry_after_secs));
        r
    };
    let h = res.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_secs));
    res
}

/// Refuses a request whose key lacks the route's scope (or a route absent from [`ROUTES`]).
async fn scope_guard(req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|m| m.as_str().trim_start_matches("/api/v1").to_string());
    let method = req.method().clone();
    let spec = path.as_deref().and_then(|p| ROUTES.iter().find(|r| r.path == p && r.method == method.as_str()));
    let Some(spec) = spec else {
        let allowed: Vec<&str> = ROUTES.iter().filter(|r| Some(r.path) == path.as_deref()).map(|r| r.method).collect();
        if !allowed.is_empty() {
            let mut res =
                AppError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed here")).into_response();
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                res.headers_mut().insert(axum::http::header::ALLOW, v);
            }
            return res;
        }
        tracing::error!(%method, ?path, "REST route missing from the scope table");
        return AppError::forbidden("route has no declared scope").into_response();
    };
    let Some(key) = req.extensions().get::<ApiKey>() else {
        return AppError::unauthorized("missing API key").into_response();
    };
    if let Some(scope) = spec.scope {
        if !key.has_scope(scope) {
            return AppError::forbidden(format!("this API key lacks the scope {}", scope.as_str())).into_response();
        }
    }
    next.run(req).await
}

/// What a handler works with: the hub, and the calling key that [`authenticate`] put in the request.
pub struct Call {
    pub hub: AppState,
    pub key: ApiKey,
}

impl Call {
    /// The key, as the service sees who acts.
    pub fn actor(&self) -> Actor<'_> {
        Actor::Key(&self.key)
    }
}

impl axum::extract::FromRequestParts<AppState> for Call {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, hub: &AppState) -> Result<Self, AppError> {
        let key = parts.extensions.get::<ApiKey>().cloned().ok_or_else(|| AppError::unauthorized("missing API key"))?;
        Ok(Call { hub: hub.clone(), key })
    }
}
