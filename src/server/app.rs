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
        .route("/portal/{token}", get(open_portal).with_state(hub.clone()))
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

/// A portal link: sets the session cookie and goes to the tenant's Integrations page; a bad or expired link
/// gets a page saying so (no cookie).
async fn open_portal(
    axum::extract::State(hub): axum::extract::State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    match hub.open_portal(&token).await {
        Ok((session_token, tenant)) => {
            let secure = hub.config.base_url.scheme() == "https";
            let cookie = super::auth::session::set_cookie(&session_token, secure);
            let to = format!("/t/{tenant}/integrations");
            (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, to)]).into_response()
        }
        Err(e) => {
            let page = format!(
                "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>Portal link</title>\
                 <main style=\"font-family:system-ui;max-width:32rem;margin:4rem auto\"><h1>Portal link</h1><p>{}</p></main>",
                e.message
            );
            let code = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::FORBIDDEN);
            (code, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
        }
    }
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
