//! Hardening of the HTTP surface, through the real router: session cookies over https (`Secure`, `__Host-`),
//! the security headers and the pages' Content-Security-Policy, the exact-origin cross-site check, live streams
//! ending with their session, readiness, and metrics behind a token.

mod common;

use common::fixtures::{add_hook, hook_to, ticket_event};
use common::Backend;
use integration_hub::model::Role;
use integration_hub::server::app::{self, Readiness};
use integration_hub::server::config::{Config, ServeArgs};
use integration_hub::server::service::{Actor, AppState};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use std::time::{Duration, Instant};

/// A hub with the tests' usual flags (as `common::config`, less its endpoint and lease settings) and `extra`.
async fn hub_with(b: &Backend, extra: &[&'static str]) -> AppState {
    common::open(b, common::local_config_with(&b.url, extra)).await
}

fn options() -> leptos::config::LeptosOptions {
    leptos::config::LeptosOptions::builder().output_name("integration-hub").build()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).timeout(Duration::from_secs(60)).build().unwrap()
}

/// A tenant and a user of it; returns the tenant id.
async fn tenant_user(hub: &AppState) -> String {
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    hub.create_user(Actor::System, "u@acme.test", "tenant-password-1", Role::Tenant, Some(&acme.id)).await.unwrap();
    acme.id
}

async fn sign_in(http: &reqwest::Client, base: &str, forwarded_proto: Option<&str>) -> reqwest::Response {
    let mut req = http
        .post(format!("{base}/api/login"))
        .header("accept", "application/json")
        .form(&[("email", "u@acme.test"), ("password", "tenant-password-1")]);
    if let Some(p) = forwarded_proto {
        req = req.header("x-forwarded-proto", p);
    }
    let res = req.send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "sign-in: {}", res.status());
    res
}

fn set_cookie(res: &reqwest::Response) -> String {
    res.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_string()
}

#[test]
fn https_requests_get_a_secure_host_prefixed_session_cookie_and_hsts() {
    common::run(async {
        let http = client();

        // Behind a trusted proxy that says https: Secure, __Host-, Path=/, no Domain, and HSTS.
        let b = common::sqlite();
        let hub = hub_with(&b, &["--trusted-proxies", "127.0.0.1/32"]).await;
        let acme = tenant_user(&hub).await;
        let base = common::serve_router(app::router(hub.clone(), options())).await;
        let res = sign_in(&http, &base, Some("https")).await;
        let cookie = set_cookie(&res);
        assert!(cookie.starts_with("__Host-hub_session="), "{cookie}");
        assert!(cookie.contains("; Path=/;") && cookie.ends_with("; Secure") && !cookie.contains("Domain"), "{cookie}");
        assert!(res.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
        let session = cookie.split(';').next().unwrap().to_string();
        let token = session.split_once('=').unwrap().1.to_string();

        // That cookie signs the pages and the live stream in over https ...
        let page = format!("{base}/t/{acme}/integrations");
        let res = http.get(&page).header(COOKIE, &session).header("x-forwarded-proto", "https").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let stream = format!("{base}/api/ui/deliveries/stream?tenant_id={acme}");
        let res = http.get(&stream).header(COOKIE, &session).header("x-forwarded-proto", "https").send().await.unwrap();
        assert_eq!(res.status(), 200);
        drop(res);
        // ... and a plain-named cookie (as a plain-http page or a subdomain could plant) does not.
        let planted = format!("hub_session={token}");
        let res = http
            .get(&page)
            .header(COOKIE, &planted)
            .header("x-forwarded-proto", "https")
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()[LOCATION], format!("/login?next=/t/{acme}/integrations"));

        // Signing out over https clears the __Host- cookie (the browser only takes it with Secure).
        let res = http
            .post(format!("{base}/api/logout"))
            .header(COOKIE, &session)
            .header("x-forwarded-proto", "https")
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let cleared = set_cookie(&res);
        assert!(cleared.starts_with("__Host-hub_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
        assert!(cleared.ends_with("; Secure"), "{cleared}");

        // Plain http: the plain name, not Secure, no HSTS.
        let res = sign_in(&http, &base, None).await;
        let cookie = set_cookie(&res);
        assert!(cookie.starts_with("hub_session=") && !cookie.contains("Secure"), "{cookie}");
        assert!(res.headers().get("strict-transport-security").is_none());

        // X-Forwarded-Proto from a peer that is not a trusted proxy is ignored.
        let b = common::sqlite();
        let hub = hub_with(&b, &[]).await;
        tenant_user(&hub).await;
        let base = common::serve_router(app::router(hub, options())).await;
        let res = sign_in(&http, &base, Some("https")).await;
        let cookie = set_cookie(&res);
        assert!(cookie.starts_with("hub_session=") && !cookie.contains("Secure"), "{cookie}");
        assert!(res.headers().get("strict-transport-security").is_none());

        // An https base URL makes every request https.
        let b = common::sqlite();
        let hub = hub_with(&b, &["--base-url", "https://hub.example.test"]).await;
        tenant_user(&hub).await;
        let base = common::serve_router(app::router(hub, options())).await;
        let res = sign_in(&http, &base, None).await;
        let cookie = set_cookie(&res);
        assert!(cookie.starts_with("__Host-hub_session=") && cookie.ends_with("; Secure"), "{cookie}");
        assert!(res.headers().get("strict-transport-security").is_some());
    });
}

#[test]
fn the_favicon_is_found_where_browsers_look_for_it() {
    common::run(async {
        let b = common::sqlite();
        let base = common::serve(common::hub(&b).await).await;
        let http = client();
        let res = http.get(format!("{base}/favicon.ico")).send().await.unwrap();
        assert_eq!(res.status(), 308, "not the 404 page");
        assert_eq!(res.headers()["location"], "/favicon.svg");
    });
}

#[test]
fn every_response_carries_the_security_headers() {
    common::run(async {
        let b = common::sqlite();
        let hub = common::hub(&b).await;
        let base = common::serve(hub).await;
        let http = client();
        let paths =
            ["/login", "/healthz", "/readyz", "/api/v1/me", "/definitely/not/here", "/pkg/missing.js", "/portal/x.y.z"];
        for path in paths {
            let res = http.get(format!("{base}{path}")).send().await.unwrap();
            let h = res.headers();
            let get = |name: &str| h.get(name).unwrap_or_else(|| panic!("{path}: no {name}")).to_str().unwrap();
            assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(get("x-frame-options"), "DENY", "{path}");
            assert!(get("content-security-policy").contains("frame-ancestors 'none'"), "{path}");
            let referrer = if path.starts_with("/portal/") { "no-referrer" } else { "same-origin" };
            assert_eq!(get("referrer-policy"), referrer, "{path}");
            assert!(h.get("strict-transport-security").is_none(), "{path}: HSTS over plain http");
            if !matches!(path, "/login" | "/definitely/not/here") {
                // Not a Leptos page (the 404 page is one): nothing may run.
                assert!(get("content-security-policy").starts_with("default-src 'none'"), "{path}");
                assert!(!get("content-security-policy").contains("script-src"), "{path}");
            }
        }
        // A cross-site refusal carries them too.
        let res = http.post(format!("{base}/api/logout")).header(ORIGIN, "https://evil.example").send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    });
}

/// The nonce of a `script-src` directive.
fn csp_nonce(csp: &str) -> String {
    let script_src = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src ")).expect("script-src");
    let nonce = script_src.split_whitespace().find_map(|s| s.strip_prefix("'nonce-")).expect("a nonce");
    nonce.trim_end_matches('\'').to_string()
}

/// Every inline script of `html` is allowed by `csp`: by its nonce or by its hash. Returns how many were allowed
/// by the nonce and how many by their hash.
fn assert_scripts_allowed(html: &str, csp: &str, what: &str) -> (usize, usize) {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let nonce = csp_nonce(csp);
    let script = regex::Regex::new(r"(?s)<script([^>]*)>(.*?)</script>").unwrap();
    let (mut by_nonce, mut by_hash) = (0, 0);
    for c in script.captures_iter(html) {
        let (attrs, body) = (&c[1], &c[2]);
        if attrs.contains("src=") {
            assert!(attrs.contains("src=\"/"), "{what}: a script from elsewhere: {attrs}");
            continue;
        }
        if attrs.contains(&format!("nonce=\"{nonce}\"")) {
            by_nonce += 1;
            continue;
        }
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{what}: inline script neither nonced nor hashed: {body}");
        by_hash += 1;
    }
    (by_nonce, by_hash)
}

#[test]
fn pages_inline_scripts_are_all_allowed_by_their_content_security_policy() {
    common::run(async {
        let b = common::sqlite();
        let hub = common::hub(&b).await;
        let acme = tenant_user(&hub).await;
        let (_, token) = hub.login("u@acme.test", "tenant-password-1", "127.0.0.1").await.unwrap();
        let base = common::serve(hub).await;
        let http = client();
        let mut nonces = Vec::new();
        for (path, cookie) in
            [("/login", String::new()), (&*format!("/t/{acme}/integrations"), format!("hub_session={token}"))]
        {
            let res = http.get(format!("{base}{path}")).header(COOKIE, cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
            for directive in ["default-src 'self'", "'wasm-unsafe-eval'", "object-src 'none'", "base-uri 'self'"] {
                assert!(csp.contains(directive), "{path}: {directive} missing from {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            let html = res.text().await.unwrap();
            // The hydration script at least carries the nonce; the theme script is allowed by its hash.
            let (by_nonce, by_hash) = assert_scripts_allowed(&html, &csp, path);
            assert!(by_nonce >= 1 && by_hash == 1, "{path}: {by_nonce} nonced, {by_hash} hashed scripts in {html}");
            nonces.push(csp_nonce(&csp));
        }
        assert_ne!(nonces[0], nonces[1], "a nonce is used once");
    });
}

#[test]
fn the_cross_site_check_accepts_only_the_exact_configured_origin() {
    common::run(async {
        let b = common::sqlite();
        let hub = common::hub(&b).await;
        tenant_user(&hub).await;
        let configured = hub.config.base_url.origin().ascii_serialization();
        assert_eq!(configured, "http://127.0.0.1:3000");
        let base = common::serve(hub).await;
        let http = client();
        let post = |origin: Option<&str>, host: Option<&str>, fetch_site: Option<&str>| {
            let mut req = http
                .post(format!("{base}/api/login"))
                .header("accept", "application/json")
                .form(&[("email", "u@acme.test"), ("password", "tenant-password-1")]);
            if let Some(o) = origin {
                req = req.header(ORIGIN, o);
            }
            if let Some(h) = host {
                req = req.header("host", h);
            }
            if let Some(s) = fetch_site {
                req = req.header("sec-fetch-site", s);
            }
            req.send()
        };
        let refused = [
            // Look-alikes of the configured origin.
            (Some("http://127.0.0.1:3000.evil.test"), None, None),
            (Some("http://127.0.0.1:3001"), None, None),
            (Some("https://127.0.0.1:3000"), None, None),
            (Some("http://localhost:3000"), None, None),
            (Some("null"), None, None),
            // The address actually connected to, and a Host header to match, is not the configured origin either.
            (Some(base.as_str()), None, None),
            (Some("https://127.0.0.1:3000"), Some("127.0.0.1:3000"), None),
            (Some("http://127.0.0.1"), Some("127.0.0.1"), None),
            // No Origin, but the browser says the request comes from another site.
            (None, None, Some("cross-site")),
            (None, None, Some("same-site")),
        ];
        for (origin, host, fetch_site) in refused {
            let res = post(origin, host, fetch_site).await.unwrap();
            assert_eq!(res.status(), 403, "{origin:?} {host:?} {fetch_site:?}");
            assert!(res.headers().get(SET_COOKIE).is_none());
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "forbidden", "{body}");
        }
        for (origin, fetch_site) in [(Some(configured.as_str()), Some("same-origin")), (None, None)] {
            let res = post(origin, None, fetch_site).await.unwrap();
            assert!(res.headers().get(SET_COOKIE).is_some(), "{origin:?}: {}", res.status());
        }
    });
}

/// Reads the stream until it ends; panics if it does not within `bound`. Returns what it carried.
async fn until_end(mut res: reqwest::Response, bound: Duration) -> String {
    let mut text = String::new();
    let end = tokio::time::timeout(bound, async {
        while let Some(chunk) = res.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(end.is_ok(), "the stream was still open after {bound:?}: {text}");
    text
}

backend_tests!(the_live_stream_ends_once_its_session_is_signed_out);
async fn the_live_stream_ends_once_its_session_is_signed_out(b: Backend) {
    let n = b.name;
    let hub = hub_with(&b, &["--stream-recheck-seconds", "1"]).await;
    let acme = tenant_user(&hub).await;
    let (_, token) = hub.login("u@acme.test", "tenant-password-1", "127.0.0.1").await.unwrap();
    let base = common::serve(hub.clone()).await;
    let url = format!("{base}/api/ui/deliveries/stream?tenant_id={acme}");
    let res = client().get(&url).header(COOKIE, format!("hub_session={token}")).send().await.unwrap();
    assert_eq!(res.status(), 200, "[{n}]");
    let started = Instant::now();
    hub.logout(&token).await.unwrap();
    until_end(res, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "[{n}] ended after {:?}", started.elapsed());
    // Opening it again is refused.
    let res = client().get(&url).header(COOKIE, format!("hub_session={token}")).send().await.unwrap();
    assert_eq!(res.status(), 401, "[{n}]");
}

backend_tests!(the_live_stream_sends_no_event_after_its_session_is_signed_out);
/// Between periodic checks, the check before an event ends the stream: a signed-out browser hears nothing more.
async fn the_live_stream_sends_no_event_after_its_session_is_signed_out(b: Backend) {
    let n = b.name;
    let hub = hub_with(&b, &["--stream-recheck-seconds", "3600"]).await;
    let acme = tenant_user(&hub).await;
    let rx = common::receiver::Receiver::start().await;
    add_hook(&hub, hook_to(&rx.url("/ok"), &acme)).await;
    let (_, token) = hub.login("u@acme.test", "tenant-password-1", "127.0.0.1").await.unwrap();
    let base = common::serve(hub.clone()).await;
    let url = format!("{base}/api/ui/deliveries/stream?tenant_id={acme}");
    let res = client().get(&url).header(COOKIE, format!("hub_session={token}")).send().await.unwrap();
    assert_eq!(res.status(), 200, "[{n}]");
    hub.logout(&token).await.unwrap();
    hub.publish(Actor::System, ticket_event(&acme)).await.unwrap();
    let text = until_end(res, Duration::from_secs(5)).await;
    assert!(!text.contains("event: deliveries"), "[{n}] an event after sign-out: {text}");
}

async fn ready_status(http: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    let res = http.get(format!("{base}/readyz")).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

backend_tests!(readiness_follows_start_drain_and_the_database);
async fn readiness_follows_start_drain_and_the_database(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let readiness = Readiness::starting();
    let base = common::serve_router(app::router_with_readiness(hub.clone(), options(), readiness.clone())).await;
    let http = client();

    let (status, body) = ready_status(&http, &base).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("starting")), "[{n}] {body}");
    readiness.set_ready();
    let (status, body) = ready_status(&http, &base).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "[{n}] {body}");

    // The database gone: not ready, while liveness (no database) still answers.
    hub.store.close().await;
    let (status, body) = ready_status(&http, &base).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("unavailable")), "[{n}] {body}");
    let live = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(live.status(), 200, "[{n}]");

    // Draining (SIGTERM received): not ready, whatever the database says.
    let hub = common::hub(&b).await;
    let base = common::serve(hub.clone()).await;
    assert_eq!(ready_status(&http, &base).await.0, 200, "[{n}]");
    hub.stopping.send_replace(true);
    let (status, body) = ready_status(&http, &base).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("draining")), "[{n}] {body}");
}

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

#[test]
fn metrics_need_the_token_and_are_not_served_without_one() {
    common::run(async {
        let http = client();
        let b = common::sqlite();

        // No token configured: the main address does not serve metrics at all.
        let hub = common::hub(&b).await;
        let base = common::serve(hub.clone()).await;
        let res = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{body}");
        // The separate metrics address serves them.
        let metrics_base = common::serve_router(app::metrics_router(hub)).await;
        let res = http.get(format!("{metrics_base}/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("hub_queue_depth"));

        // With a token: 401 without it or with another, 200 with it.
        let b = common::sqlite();
        let hub = hub_with(&b, &["--metrics-token", METRICS_TOKEN]).await;
        let base = common::serve(hub.clone()).await;
        let metrics_base = common::serve_router(app::metrics_router(hub)).await;
        for base in [&base, &metrics_base] {
            let res = http.get(format!("{base}/metrics")).send().await.unwrap();
            assert_eq!(res.status(), 401, "{base}");
            assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
            let wrong = format!("{METRICS_TOKEN}x");
            let res = http.get(format!("{base}/metrics")).bearer_auth(wrong).send().await.unwrap();
            assert_eq!(res.status(), 401, "{base}");
            let res = http.get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
            assert_eq!(res.status(), 200, "{base}");
            assert!(res.text().await.unwrap().contains("hub_queue_depth"));
        }

        // A token too short to be one is a configuration error.
        let short = ServeArgs::parse_args(["--metrics-token", "short"]).unwrap();
        let err = Config::from_args(&common::common_args(&b.url), short).unwrap_err();
        assert!(err.contains("HUB_METRICS_TOKEN"), "{err}");
    });
}

async fn count(url: &str, table: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut conn).await.unwrap()
}

backend_tests!(a_metrics_scrape_writes_nothing);
/// Reading the queue-depth gauge changes nothing: open fan-outs stay fan-outs (no delivery row is written).
async fn a_metrics_scrape_writes_nothing(b: Backend) {
    sqlx::any::install_default_drivers();
    let n = b.name;
    let hub = hub_with(&b, &["--metrics-token", METRICS_TOKEN]).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = common::receiver::Receiver::start().await;
    for path in ["/a", "/b", "/c"] {
        add_hook(&hub, hook_to(&rx.url(path), &acme.id)).await;
    }
    // No worker runs: the publishes' fan-outs stay open.
    for _ in 0..4 {
        hub.publish(Actor::System, ticket_event(&acme.id)).await.unwrap();
    }
    let before = (count(&b.url, "deliveries").await, count(&b.url, "fanouts").await);
    assert_eq!(before.1, 4, "[{n}] open fan-outs");
    let base = common::serve(hub.clone()).await;
    let res = client().get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200, "[{n}]");
    let text = res.text().await.unwrap();
    assert!(text.contains("hub_queue_depth 12"), "[{n}] the 12 waiting deliveries: {text}");
    let after = (count(&b.url, "deliveries").await, count(&b.url, "fanouts").await);
    assert_eq!(before, after, "[{n}] (deliveries, fanouts) rows before and after a scrape");
}

backend_tests!(a_session_cannot_open_more_live_streams_than_its_limit);
/// One session holds at most `HUB_MAX_STREAMS_PER_SESSION` live streams; closing one frees its place, and other
/// sessions are not affected.
async fn a_session_cannot_open_more_live_streams_than_its_limit(b: Backend) {
    let n = b.name;
    let hub = hub_with(&b, &["--max-streams-per-session", "2"]).await;
    let acme = tenant_user(&hub).await;
    let (_, token) = hub.login("u@acme.test", "tenant-password-1", "127.0.0.1").await.unwrap();
    let (_, other) = hub.login("u@acme.test", "tenant-password-1", "127.0.0.1").await.unwrap();
    let base = common::serve(hub.clone()).await;
    let url = format!("{base}/api/ui/deliveries/stream?tenant_id={acme}");
    let open = |t: String| {
        let url = url.clone();
        async move { client().get(&url).header(COOKIE, format!("hub_session={t}")).send().await.unwrap() }
    };
    let first = open(token.clone()).await;
    let second = open(token.clone()).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200), "[{n}]");
    let third = open(token.clone()).await;
    assert_eq!(third.status(), 429, "[{n}]");
    let body: serde_json::Value = third.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("live streams"), "[{n}] {body}");
    assert_eq!(open(other).await.status(), 200, "[{n}] another session has its own");
    drop(first);
    let mut again = 0;
    for _ in 0..50 {
        again = open(token.clone()).await.status().as_u16();
        if again == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(again, 200, "[{n}] a closed stream gives its place back");
    drop(second);
}
