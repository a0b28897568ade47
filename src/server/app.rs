//! The HTTP surface: Leptos pages and server functions, liveness and readiness, metrics, security headers and
//! the cross-site check for cookie-authenticated requests.

use super::auth::session::Https;
use super::service::AppState;
use crate::model::{AppError, ErrorCode};
use crate::ui::{shell, App};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
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

/// The router of a hub whose start is complete (tests, benchmarks, embedding); see [`router_with_readiness`].
pub fn router(hub: AppState, leptos_options: LeptosOptions) -> Router {
    router_with_readiness(hub, leptos_options, Readiness::ready())
}

/// The router; `/readyz` answers 200 only once `readiness` is set ready and until the hub begins to stop.
pub fn router_with_readiness(hub: AppState, leptos_options: LeptosOptions, readiness: Readiness) -> Router {
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let ctx_hub = hub.clone();
    let context = move || {
        provide_context(ctx_hub.clone());
        // The page's inline scripts (hydration, streamed resources) carry the nonce that this response's
        // Content-Security-Policy names; leptos_axum provided a nonce of its own just before, which this replaces.
        let nonce = use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(n)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(n));
        }
    };
    let bundle = super::site::bundle_urls(&leptos_options.output_name);
    let not_found = leptos_axum::render_app_to_stream_with_context(context.clone(), {
        let bundle = bundle.clone();
        move || shell(bundle.clone())
    });
    let origin: std::sync::Arc<str> = hub.config.base_url.origin().ascii_serialization().into();
    let config = hub.config.clone();
    let health = Health { hub: hub.clone(), readiness };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        // Browsers and bookmarking tools ask for /favicon.ico whatever the page links; the icon is an SVG.
        .route("/favicon.ico", get(|| async { axum::response::Redirect::permanent("/favicon.svg") }))
        .route("/readyz", get(readyz).with_state(health))
        .route("/metrics", get(metrics_with_token).with_state(hub.clone()))
        .route("/api/ui/deliveries/stream", get(super::live::deliveries_stream).with_state(hub.clone()))
        .route("/api/ui/deliveries/export", get(super::export::deliveries_export).with_state(hub.clone()))
        .route("/api/ui/audit.csv", get(super::export::audit_csv).with_state(hub.clone()))
        .route("/portal/{token}", get(super::portal::show).post(super::portal::open).with_state(hub.clone()))
        // Connected apps: every provider redirects here after the person allowed (or refused) the hub.
        .route("/oauth/callback", get(super::apps::callback::callback).with_state(hub.clone()))
        .merge(super::unsubscribe::router(hub.clone()))
        .merge(super::rest::router(hub.clone()))
        .leptos_routes_with_context(&leptos_options, routes, context, move || shell(bundle.clone()))
        // The site's files (embedded; see `site`), else the app's own 404 page.
        .fallback(move |req: Request| {
            let not_found = not_found.clone();
            async move {
                match super::site::serve(req.method(), req.uri().path(), req.headers()) {
                    Some(file) => file,
                    None => not_found(req).await,
                }
            }
        })
        .with_state(leptos_options)
        // Pages and server-function data, brotli (quality 4) or gzip as the client accepts. Left as they are:
        // the bundle (already compressed), the live stream (text/event-stream) and bodies under 32 bytes.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(move |req, next| same_origin_only(origin.clone(), req, next)))
        .layer(axum::middleware::from_fn_with_state(hub.clone(), audit_address))
        .layer(axum::middleware::from_fn(move |req, next| security_headers(config.clone(), req, next)))
}

/// What `HUB_METRICS_ADDR` serves: `GET /metrics` only, open unless `HUB_METRICS_TOKEN` is set too.
pub fn metrics_router(hub: AppState) -> Router {
    let config = hub.config.clone();
    Router::new()
        .route("/metrics", get(metrics_open).with_state(hub))
        .layer(axum::middleware::from_fn(move |req, next| security_headers(config.clone(), req, next)))
}

/// Server functions authenticate with the session cookie, so a state-changing request must come from our own
/// pages: its `Origin` must be exactly the configured origin (scheme, host and port of `HUB_BASE_URL`, as browsers
/// serialise it), and without an `Origin` a browser must not say `Sec-Fetch-Site` other than same-origin/none.
/// The `Host` header is not consulted: a page of another origin that resolves to this server (another port, a
/// name pointed here) is another site. The REST API uses API keys, not cookies, and is exempt.
async fn same_origin_only(origin: std::sync::Arc<str>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD && !req.uri().path().starts_with("/api/v1/") {
        let headers = req.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|h| h.to_str().ok());
        let allowed = match headers.get(header::ORIGIN) {
            Some(given) => given.as_bytes() == origin.as_bytes(),
            None => matches!(fetch_site, None | Some("same-origin" | "none")),
        };
        if !allowed {
            let body = serde_json::json!({"error": {"code": "forbidden", "message": "cross-site request refused"}});
            return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        }
    }
    next.run(req).await
}

/// Every request runs with its client's address known to the audit trail (`service::audit`), whichever way it
/// reaches the service: server function, REST call or export.
async fn audit_address(State(hub): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let peer = peer.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let xff = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = super::client_ip::client_ip(peer, xff, &hub.config.trusted_proxies).to_string();
    super::service::audit::with_client_ip(ip, next.run(req)).await
}

/// `/metrics` on the main address: only with `Authorization: Bearer <HUB_METRICS_TOKEN>`, and not at all
/// (404) without a configured token, so a default install does not publish its delivery figures.
async fn metrics_with_token(State(hub): State<AppState>, headers: HeaderMap) -> Response {
    if hub.config.serve.metrics_token.is_none() {
        let message = "metrics are not served here: set HUB_METRICS_TOKEN, or HUB_METRICS_ADDR for a separate address";
        return AppError::new(ErrorCode::NotFound, message).into_response();
    }
    metrics(&hub, &headers).await
}

/// `/metrics` on `HUB_METRICS_ADDR`: that address is private by configuration; a token is still required when set.
async fn metrics_open(State(hub): State<AppState>, headers: HeaderMap) -> Response {
    metrics(&hub, &headers).await
}

/// Prometheus text format: delivery outcomes, attempt latency, in-flight and queue depth.
async fn metrics(hub: &AppState, headers: &HeaderMap) -> Response {
    if let Some(token) = hub.config.serve.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        // Compared as digests, in constant time: neither the token's length nor a prefix shows in the timing.
        use sha2::{Digest, Sha256};
        use subtle::ConstantTimeEq;
        let ok = given.is_some_and(|g| bool::from(Sha256::digest(g).ct_eq(&Sha256::digest(token.trim()))));
        if !ok {
            let mut res =
                AppError::unauthorized("metrics need Authorization: Bearer <HUB_METRICS_TOKEN>").into_response();
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
            return res;
        }
    }
    let depth = hub.store.queue_depth().await.unwrap_or(-1);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], hub.metrics.render(depth)).into_response()
}

/// Where the process is in its start, for `/readyz` (stopping is `Hub::stopping`).
#[derive(Clone, Debug, Default)]
pub struct Readiness(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Readiness {
    /// Not ready until [`Readiness::set_ready`]: the binary's start until its listener and tasks are up.
    pub fn starting() -> Readiness {
        Readiness::default()
    }

    pub fn ready() -> Readiness {
        let r = Readiness::default();
        r.set_ready();
        r
    }

    pub fn set_ready(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }

    fn is_ready(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

#[derive(Clone)]
struct Health {
    hub: AppState,
    readiness: Readiness,
}

/// How long `/readyz` waits for the database: a probe must answer well inside a load balancer's own timeout.
const READY_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness (`/healthz` is liveness and touches nothing): 200 when this instance should get traffic; 503 with
/// a JSON body while starting, once it begins to stop (SIGTERM, through `HUB_DRAIN_SECONDS`), or when a trivial
/// read of the database fails or takes longer than [`READY_DB_TIMEOUT`].
async fn readyz(State(health): State<Health>) -> Response {
    let unavailable = |status: &str, message: String| {
        let body = serde_json::json!({"status": status, "message": message});
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    };
    if !health.readiness.is_ready() {
        return unavailable("starting", "the hub is starting".into());
    }
    if *health.hub.stopping.borrow() {
        return unavailable("draining", "the hub is shutting down".into());
    }
    match tokio::time::timeout(READY_DB_TIMEOUT, health.hub.store.count_admins()).await {
        Ok(Ok(_)) => {
            let body = serde_json::json!({"status": "ready"});
            (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database read failed");
            unavailable("unavailable", "the database read failed".into())
        }
        Err(_) => unavailable("unavailable", format!("the database did not answer within {READY_DB_TIMEOUT:?}")),
    }
}

/// The nonce of this response's Content-Security-Policy, for the page's inline scripts (see the Leptos context
/// in [`router_with_readiness`]).
#[derive(Clone, Debug)]
struct CspNonce(std::sync::Arc<str>);

/// The theme script in the page head (`ui::theme`) has no nonce; it is allowed by its hash.
static THEME_SCRIPT_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(crate::ui::theme::NO_FLASH_SCRIPT.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
});

/// Pages: scripts only from this origin, the hydration and streaming scripts by nonce, the theme script by
/// hash; `wasm-unsafe-eval` lets the app's WebAssembly compile. Styles, images, fonts and fetches (server
/// functions, the live stream) stay on this origin, and no page may be framed.
fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' {} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'",
        *THEME_SCRIPT_HASH
    )
}

/// Everything that is not a page (the APIs, assets, health, metrics): nothing to run or embed.
const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The portal-link pages (`portal.rs`) are plain HTML with an inline style and a form back to us: no script at all.
const PORTAL_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The outermost layer: decides once whether the request came over https (for the session cookie, see
/// [`Https`]), gives a page its CSP nonce, and sets the security headers on every response, errors included.
async fn security_headers(config: crate::server::config::Config, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let proto = req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    let https = Https::decide(&config, peer, proto);
    req.extensions_mut().insert(https);
    let path = req.uri().path();
    let portal = path.starts_with("/portal/");
    let page = !["/api/", "/pkg/", "/healthz", "/readyz", "/metrics"].iter().any(|p| path.starts_with(p));
    let csp = if portal {
        Some(HeaderValue::from_static(PORTAL_CSP))
    } else if page {
        use base64::Engine;
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let nonce: std::sync::Arc<str> = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes).into();
        req.extensions_mut().insert(CspNonce(nonce.clone()));
        HeaderValue::from_str(&page_csp(&nonce)).ok()
    } else {
        Some(HeaderValue::from_static(NON_PAGE_CSP))
    };
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Some(csp) = csp {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if page && !h.contains_key(header::CACHE_CONTROL) {
        // Pages are per user and carry this response's nonce: always asked for again, never kept by a proxy.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    }
    if https.0 {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin is stricter than strict-origin-when-cross-origin: other sites get no referrer at all, so the
    // tenant ids in page paths never leave. A portal link's path is its token: no referrer even to ourselves.
    let referrer = if portal { "no-referrer" } else { "same-origin" };
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    res
}
