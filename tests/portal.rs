//! Tenant portal links through the real router, on both databases: links are records that can be listed and
//! revoked; opening one takes a confirmation page and a same-site POST; the session it opens is confined to the
//! portal's purpose (endpoints, deliveries, replay, test-fire; no API keys, no users) and ends with its link.

mod common;

use common::fixtures::{add_hook, hook_to, issue_key, signed_in_user};
use common::Backend;
use integration_hub::model::{CreateWebhook, NewPortalLink, Role, Scope, Tenant, User};
use integration_hub::server::service::{Actor, AppState};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

struct Env {
    n: &'static str,
    hub: AppState,
    base: String,
    /// The configured base URL's origin, which the cross-site check accepts.
    origin: String,
    http: reqwest::Client,
    acme: Tenant,
    globex: Tenant,
    admin: User,
    admin_cookie: String,
    _backend: Backend,
}

async fn setup(b: Backend) -> Env {
    setup_with(b, &[]).await
}

/// As [`setup`], with these serve flags added to the tests' usual ones.
async fn setup_with(b: Backend, extra: &[&'static str]) -> Env {
    let usual = ["--admin-email", "admin@example.com", "--allow-private-targets", "127.0.0.1/32"];
    let hub = common::open(&b, common::config_from(&b.url, usual.into_iter().chain(extra.iter().copied()))).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let admin = hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let (_, token) = hub.login("root@hub.test", "admin-password-1", "127.0.0.1").await.unwrap();
    let origin = hub.config.base_url.origin().ascii_serialization();
    let base = common::serve(hub.clone()).await;
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    Env {
        n: b.name,
        hub,
        base,
        origin,
        http,
        acme,
        globex,
        admin,
        admin_cookie: format!("hub_session={token}"),
        _backend: b,
    }
}

impl Env {
    /// A new link of `tenant`, made by the admin; returns its id and its path (`/portal/<token>`).
    async fn link(&self, tenant: &str, seconds: u64) -> (String, String) {
        let input = NewPortalLink { label: Some("Support".into()), expires_in_seconds: seconds };
        let issued = self.hub.create_portal_link(Actor::User(&self.admin), tenant, input).await.unwrap();
        let path = url::Url::parse(&issued.url).unwrap().path().to_string();
        (issued.link.id, path)
    }

    /// POSTs the confirmation form as our own page would; returns the response.
    async fn confirm(&self, path: &str) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).header(ORIGIN, &self.origin).send().await.unwrap()
    }

    /// Opens a link (GET, then the form's POST) and returns the session cookie.
    async fn open(&self, path: &str) -> String {
        let page = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert_eq!(page.status(), 200, "[{}]", self.n);
        let res = self.confirm(path).await;
        assert_eq!(res.status(), 303, "[{}]", self.n);
        let cookie = res.headers().get(SET_COOKIE).expect("session cookie").to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// Calls a server function with a session cookie; returns the status and the JSON answer.
    async fn call(&self, cookie: &str, name: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header(COOKIE, cookie)
            .header(ORIGIN, &self.origin)
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

backend_tests!(link_page_sets_no_cookie_and_only_a_same_site_post_opens_the_portal);
async fn link_page_sets_no_cookie_and_only_a_same_site_post_opens_the_portal(b: Backend) {
    let e = setup(b).await;
    let n = e.n;
    let (_, path) = e.link(&e.acme.id, 3600).await;

    // The GET is a page naming the tenant, whose form posts back to the same URL; no session yet.
    let page = e.http.get(format!("{}{path}", e.base)).send().await.unwrap();
    assert_eq!(page.status(), 200, "[{n}]");
    assert!(page.headers().get(SET_COOKIE).is_none(), "[{n}] GET set a cookie");
    assert_eq!(page.headers().get("cache-control").unwrap(), "no-store", "[{n}]");
    let html = page.text().await.unwrap();
    assert!(html.contains("Open the Acme portal"), "[{n}] {html}");
    assert!(html.contains(&format!("<form method=\"post\" action=\"{path}\">")), "[{n}] {html}");

    // Another site's POST (by Origin, or a browser's Sec-Fetch-Site) is refused before a session exists.
    for (name, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let res = e.http.post(format!("{}{path}", e.base)).header(name, value).send().await.unwrap();
        assert_eq!(res.status(), 403, "[{n}] {name}");
        assert!(res.headers().get(SET_COOKIE).is_none(), "[{n}] {name}");
    }

    // Our own page's POST opens the tenant's pages.
    let res = e.confirm(&path).await;
    assert_eq!(res.status(), 303, "[{n}]");
    assert_eq!(res.headers().get(LOCATION).unwrap().to_str().unwrap(), format!("/t/{}/integrations", e.acme.id));
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let own = e.http.get(format!("{}/t/{}/integrations", e.base, e.acme.id)).header(COOKIE, &cookie);
    assert_eq!(own.send().await.unwrap().status(), 200, "[{n}]");

    // A made-up id or a wrong secret is a 404 page, on GET and POST alike.
    let (id, secret) = path.trim_start_matches("/portal/").split_once('.').unwrap();
    let wrong = format!("/portal/{id}.{}", secret.chars().rev().collect::<String>());
    for bad in [wrong.as_str(), "/portal/ptl_01AAAAAAAAAAAAAAAAAAAAAAAA.x", "/portal/nonsense"] {
        let res = e.http.get(format!("{}{bad}", e.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "[{n}] GET {bad}");
        assert!(res.text().await.unwrap().contains("not valid"), "[{n}]");
        let res = e.confirm(bad).await;
        assert_eq!(res.status(), 404, "[{n}] POST {bad}");
        assert!(res.headers().get(SET_COOKIE).is_none(), "[{n}]");
    }
}

backend_tests!(revoked_link_stops_opening_and_ends_the_session_it_opened);
async fn revoked_link_stops_opening_and_ends_the_session_it_opened(b: Backend) {
    let e = setup(b).await;
    let n = e.n;
    let (id, path) = e.link(&e.acme.id, 3600).await;
    let portal = e.open(&path).await;
    let list = json!({"tenant_id": e.acme.id, "search": null, "status": null});
    assert_eq!(e.call(&portal, "list_webhooks", list.clone()).await.0, 200, "[{n}]");

    let (status, revoked) =
        e.call(&e.admin_cookie, "revoke_portal_link", json!({"tenant_id": e.acme.id, "id": id})).await;
    assert_eq!(status, 200, "[{n}] {revoked}");
    assert!(revoked["revoked_at"].is_i64(), "[{n}] {revoked}");

    // The session it opened is refused on its very next call, and the link opens nothing any more.
    let (status, body) = e.call(&portal, "list_webhooks", list).await;
    assert_eq!(status, 401, "[{n}] {body}");
    let page = e.http.get(format!("{}{path}", e.base)).send().await.unwrap();
    assert_eq!(page.status(), 410, "[{n}]");
    assert!(page.text().await.unwrap().contains("revoked or has expired"), "[{n}]");
    let res = e.confirm(&path).await;
    assert_eq!(res.status(), 410, "[{n}]");
    assert!(res.headers().get(SET_COOKIE).is_none(), "[{n}]");

    // Listed as revoked, with who made it; both changes are in the audit log.
    let (status, links) = e.call(&e.admin_cookie, "list_portal_links", json!({"tenant_id": e.acme.id})).await;
    assert_eq!(status, 200, "[{n}] {links}");
    assert_eq!(links[0]["id"], id.as_str(), "[{n}]");
    assert_eq!(links[0]["created_by_email"], "root@hub.test", "[{n}]");
    assert_eq!(links[0]["label"], "Support", "[{n}]");
    assert!(links[0]["revoked_at"].is_i64() && links[0]["last_used_at"].is_i64(), "[{n}] {links}");
    let audit = e.hub.store.list_audit(Some(&e.acme.id), 50).await.unwrap();
    for action in ["portal_link.created", "portal_link.revoked"] {
        let row = audit.iter().find(|a| a.action == action).unwrap_or_else(|| panic!("[{n}] no {action}"));
        assert_eq!(row.actor, e.admin.id, "[{n}] {action}");
        assert_eq!(row.target.as_deref(), Some(id.as_str()), "[{n}] {action}");
    }
}

backend_tests!(portal_session_runs_its_endpoints_but_is_refused_api_keys_and_users);
async fn portal_session_runs_its_endpoints_but_is_refused_api_keys_and_users(b: Backend) {
    let e = setup(b).await;
    let n = e.n;
    let rx = common::receiver::Receiver::start().await;
    let a = e.acme.id.as_str();
    let hook = add_hook(&e.hub, CreateWebhook { name: Some("Orders".into()), ..hook_to(&rx.url("/ok"), a) }).await;
    let key = issue_key(&e.hub, Some(a), &[Scope::EventsWrite]).await.key;
    let (_, path) = e.link(a, 3600).await;
    let portal = e.open(&path).await;

    // What the portal is for: its endpoints, their signing secret, test-fire, the log and replay.
    let (s, hooks) = e.call(&portal, "list_webhooks", json!({"tenant_id": a, "search": null, "status": null})).await;
    assert_eq!((s, hooks[0]["id"].as_str()), (200, Some(hook.id.as_str())), "[{n}] {hooks}");
    let (s, secret) = e.call(&portal, "reveal_webhook_secret", json!({"tenant_id": a, "id": hook.id})).await;
    assert_eq!(s, 200, "[{n}] {secret}");
    let fire = json!({"tenant_id": a, "webhook_id": hook.id, "input": {}});
    let (s, fired) = e.call(&portal, "send_test_event", fire).await;
    assert_eq!(s, 200, "[{n}] {fired}");
    assert_eq!(fired["success"], true, "[{n}] {fired}");
    assert_eq!(rx.received("/ok").len(), 1, "[{n}]");
    let (s, log) = e.call(&portal, "list_deliveries", json!({"tenant_id": a, "query": {}})).await;
    assert_eq!(s, 200, "[{n}] {log}");
    let delivery = fired["delivery_id"].as_str().unwrap();
    let (s, replay) = e.call(&portal, "replay_delivery", json!({"tenant_id": a, "id": delivery})).await;
    assert_eq!(s, 200, "[{n}] {replay}");

    // Not for it: API keys (listing, issuing, changing one of its own tenant's) and portal links.
    let refused = [
        ("list_keys", json!({"tenant_id": a, "search": null, "status": null})),
        ("issue_key", json!({"tenant_id": a, "input": {"name": "x", "scopes": ["events:write"]}})),
        ("revoke_key", json!({"tenant_id": a, "id": key.id})),
        ("edit_key", json!({"tenant_id": a, "id": key.id, "patch": {"name": "pwned"}})),
        ("rotate_key", json!({"tenant_id": a, "id": key.id, "grace_seconds": 0})),
        ("list_portal_links", json!({"tenant_id": a})),
        ("create_portal_link", json!({"tenant_id": a, "input": {"expires_in_seconds": 60}})),
    ];
    for (name, body) in refused {
        let (s, answer) = e.call(&portal, name, body).await;
        assert_eq!(s, 403, "[{n}] {name}: {answer}");
    }
    assert!(e.hub.get_api_key(&Actor::System, &key.id).await.unwrap().revoked_at.is_none(), "[{n}]");

    // Users: the portal session's own user, as the service sees it, is refused too.
    let token = portal.trim_start_matches("hub_session=");
    let user = e.hub.session_user(Some(token)).await.unwrap();
    assert_eq!(user.role, Role::Portal, "[{n}]");
    let made = e.hub.create_user(Actor::User(&user), "x@acme.test", "long-password-1", Role::Tenant, Some(a));
    assert_eq!(made.await.unwrap_err().code.http_status(), 403, "[{n}]");

    // Another tenant stays out of reach.
    let (s, _) =
        e.call(&portal, "list_webhooks", json!({"tenant_id": e.globex.id, "search": null, "status": null})).await;
    assert_eq!(s, 403, "[{n}]");
}

backend_tests!(portal_session_ends_when_its_link_expires);
async fn portal_session_ends_when_its_link_expires(b: Backend) {
    let e = setup(b).await;
    let n = e.n;
    let (_, path) = e.link(&e.acme.id, 2).await;
    let portal = e.open(&path).await;
    let list = json!({"tenant_id": e.acme.id, "search": null, "status": null});
    assert_eq!(e.call(&portal, "list_webhooks", list.clone()).await.0, 200, "[{n}]");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, body) = e.call(&portal, "list_webhooks", list).await;
    assert_eq!(status, 401, "[{n}] {body}");
    assert_eq!(e.http.get(format!("{}{path}", e.base)).send().await.unwrap().status(), 410, "[{n}]");
}

backend_tests!(another_tenants_link_cannot_be_revoked_or_listed_from_this_tenant);
async fn another_tenants_link_cannot_be_revoked_or_listed_from_this_tenant(b: Backend) {
    let e = setup(b).await;
    let n = e.n;
    let (g_link, g_path) = e.link(&e.globex.id, 3600).await;
    let (s, answer) =
        e.call(&e.admin_cookie, "revoke_portal_link", json!({"tenant_id": e.acme.id, "id": g_link})).await;
    assert_eq!(s, 404, "[{n}] {answer}");
    let (s, links) = e.call(&e.admin_cookie, "list_portal_links", json!({"tenant_id": e.acme.id})).await;
    assert_eq!((s, links.as_array().map(Vec::len)), (200, Some(0)), "[{n}] {links}");
    // Still open: nothing was revoked.
    assert_eq!(e.http.get(format!("{}{g_path}", e.base)).send().await.unwrap().status(), 200, "[{n}]");

    // A tenant's own (password) user cannot manage links either: they are the admin's to hand out.
    let tenant_user = format!("hub_session={}", signed_in_user(&e.hub, &e.acme.id).await);
    let (s, _) = e.call(&tenant_user, "list_portal_links", json!({"tenant_id": e.acme.id})).await;
    assert_eq!(s, 403, "[{n}]");

    // Bad input is a field error.
    let bad = json!({"tenant_id": e.acme.id, "input": {"expires_in_seconds": 0, "label": "x".repeat(101)}});
    let (s, answer) = e.call(&e.admin_cookie, "create_portal_link", bad).await;
    assert_eq!(s, 422, "[{n}] {answer}");
    let fields: Vec<_> = answer["fields"].as_array().unwrap().iter().map(|f| f["field"].clone()).collect();
    assert_eq!(fields, [json!("expires_in_seconds"), json!("label")], "[{n}] {answer}");
}

#[test]
fn portal_cookie_follows_the_request_scheme_as_a_sign_in_does() {
    common::run(async {
        let b = common::sqlite();
        let e = setup_with(b, &["--trusted-proxies", "127.0.0.1/32"]).await;
        let (_, path) = e.link(&e.acme.id, 3600).await;
        // Behind a trusted proxy that says https: the __Host- cookie with Secure, which https requests read.
        let res = e
            .http
            .post(format!("{}{path}", e.base))
            .header(ORIGIN, &e.origin)
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
        assert!(cookie.starts_with("__Host-hub_session=") && cookie.ends_with("; Secure"), "{cookie}");
        let session = cookie.split(';').next().unwrap();
        let page = format!("{}/t/{}/integrations", e.base, e.acme.id);
        let res = e.http.get(&page).header(COOKIE, session).header("x-forwarded-proto", "https").send().await.unwrap();
        assert_eq!(res.status(), 200);
    });
}

backend_tests!(a_tenant_cannot_hold_more_open_portal_links_than_its_limit);
/// A tenant holds at most `HUB_MAX_PORTAL_LINKS_PER_TENANT` open links; a revoked one frees its place.
async fn a_tenant_cannot_hold_more_open_portal_links_than_its_limit(b: Backend) {
    let env = setup_with(b, &["--max-portal-links-per-tenant", "2"]).await;
    let (first, _) = env.link(&env.acme.id, 3600).await;
    env.link(&env.acme.id, 3600).await;
    let input = NewPortalLink { label: None, expires_in_seconds: 3600 };
    let err = env.hub.create_portal_link(Actor::User(&env.admin), &env.acme.id, input.clone()).await.unwrap_err();
    assert_eq!(err.code, integration_hub::model::ErrorCode::Conflict, "[{}] {err:?}", env.n);
    assert!(err.message.contains("HUB_MAX_PORTAL_LINKS_PER_TENANT"), "[{}]", env.n);
    env.link(&env.globex.id, 3600).await; // another tenant has its own
    env.hub.revoke_portal_link(Actor::User(&env.admin), &env.acme.id, &first).await.unwrap();
    env.hub.create_portal_link(Actor::User(&env.admin), &env.acme.id, input).await.unwrap();
}
