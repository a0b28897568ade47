//! The HTTP surface: Leptos pages and server functions, health check, security headers and the cross-site
//! check for cookie-authenticated requests.

use super::service::AppState;
use crate::ui::{shell, App};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};

/// The pages' routes, found once per process. Finding them renders the app with resource loading switched off
/// by a process-wide flag (leptos_server's `SuppressResourceLoad`): a page rendering meanwhile for another router
/// of the same process (tests and benchmarks run several hubs) would wait forever for its resources.
static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();

pub fn router(hub: AppState, leptos_options: LeptosOptions) -> Router {
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let ctx_hub = hub.clone();
    let context = move || provide_context(ctx_hub.clone());
    let base = hub.config.base_url.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics).with_state(hub.clone()))
        .route("/api/ui/deliveries/stream", get(super::live::deliveries_stream).with_state(hub.clone()))
        .route("/portal/{token}", get(super::portal::show).post(super::portal::open).with_state(hub.clone()))
        .merge(super::rest::router(hub.clone()))
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let opts = leptos_options.clone();
            move || shell(opts.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(leptos_options)
        .layer(axum::middleware::from_fn(move |req, next| same_origin_only(base.clone(), req, next)))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Server functions authenticate with the session cookie, so a state-changing request must come from our own
/// pages: a foreign `Origin` (or a browser saying `Sec-Fetch-Site: cross-site`) is refused. The REST API uses
/// API keys, not cookies, and is exempt.
async fn same_origin_only(base: url::Url, req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD && !req.uri().path().starts_with("/api/v1/") {
        let headers = req.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let fetch_site = headers.get("sec-fetch-site").and_then(|h| h.to_str().ok());
        let allowed = match headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) {
            Some(origin) => {
                let own = url::Url::parse(origin).ok().is_some_and(|o| {
                    o.origin() == base.origin()
                        || o.host_str()
                            .zip(o.port_or_known_default())
                            .is_some_and(|(h, p)| format!("{h}:{p}") == host || (h == host && p == 80))
                });
                own && fetch_site != Some("cross-site")
            }
            None => fetch_site != Some("cross-site"),
        };
        if !allowed {
            let body = serde_json::json!({"error": {"code": "forbidden", "message": "cross-site request refused"}});
            return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        }
    }
    next.run(req).await
}

/// Prometheus text format: delivery outcomes, attempt latency, in-flight and queue depth.
async fn metrics(axum::extract::State(hub): axum::extract::State<AppState>) -> Response {
    let depth = hub.store.queue_depth().await.unwrap_or(-1);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], hub.metrics.render(depth)).into_response()
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    res
}
