//! The HTTP surface of the foundation, through the real router: sign-in, cookies, the cross-site check,
//! the tenant gate on pages and server functions, and 404s.

mod common;

use common::fixtures::{add_hook, add_tenant_user, hook_to, signed_in_user, ticket_event};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{ApiKey, CreateApiKey, CreateWebhook, PublishEvent, Role, Scope, Webhook};
use integration_hub::server::service::{Actor, AppState};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

backend_tests!(pages_and_server_functions_enforce_sessions_and_tenants);
async fn pages_and_server_functions_enforce_sessions_and_tenants(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    hub.bootstrap("admin@example.com", Some("admin-password-1")).await.unwrap();
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    add_tenant_user(&hub, &acme.id).await;
    // The cross-site check compares Origin with the configured base URL's origin exactly.
    let origin = hub.config.base_url.origin().ascii_serialization();
    let base = common::serve(hub).await;
    // A response that never finishes (one CI run stalled here with the process idle) fails the request
    // that stalled, by its line, instead of holding the run.
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();

    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().text().await.unwrap(), "ok");

    // Wrong password: 401 with a JSON error the UI shows as is.
    let res = http
        .post(format!("{base}/api/login"))
        .header("accept", "application/json")
        .form(&[("email", "u@acme.test"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "[{n}]");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["message"], "Wrong email or password.", "[{n}] {body}");

    // A foreign Origin is refused before the function runs.
    let res = http
        .post(format!("{base}/api/login"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("email", "u@acme.test"), ("password", "tenant-password-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "[{n}]");
    assert!(res.headers().get(SET_COOKIE).is_none(), "[{n}]");

    // Right password: an HttpOnly, SameSite=Lax session cookie (not Secure on plain http).
    let res = http
        .post(format!("{base}/api/login"))
        .header(ORIGIN, origin.as_str())
        .form(&[("email", "u@acme.test"), ("password", "tenant-password-1")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "[{n}] {}", res.status());
    let cookie = res.headers().get(SET_COOKIE).expect("session cookie").to_str().unwrap().to_string();
    assert!(cookie.starts_with("hub_session="), "[{n}] {cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"));
    let session = cookie.split(';').next().unwrap().to_string();

    // Own tenant page renders; another tenant's page is a 403 that names nothing of it.
    let own = http.get(format!("{base}/t/{}/integrations", acme.id)).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(own.status(), 200, "[{n}]");
    assert!(own.text().await.unwrap().contains("Integrations"), "[{n}]");
    let other = http.get(format!("{base}/t/{}/integrations", globex.id)).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(other.status(), 403, "[{n}]");
    let html = other.text().await.unwrap();
    assert!(html.contains("Access denied") && !html.contains("Globex"), "[{n}]");

    // The same through the server function directly.
    let res = http
        .post(format!("{base}/api/get_shell_context"))
        .header(COOKIE, &session)
        .header("accept", "application/json")
        .form(&[("tenant_id", globex.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "[{n}]");
    assert!(!res.text().await.unwrap().contains("Globex"), "[{n}]");

    // No session: pages redirect to sign-in, which then returns to the page asked for.
    let asked = format!("/t/{}/integrations?tab=api-keys", acme.id);
    let anon = http.get(format!("{base}{asked}")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(anon.status(), 302, "[{n}]");
    let login = format!("/login?next=/t/{}/integrations%3Ftab%3Dapi-keys", acme.id);
    assert_eq!(anon.headers().get(LOCATION).unwrap(), login.as_str(), "[{n}]");
    let form = http.get(format!("{base}{login}")).header("accept", "text/html").send().await.unwrap();
    let html = form.text().await.unwrap();
    assert!(html.contains(&format!(r#"name="next" value="{asked}""#)), "[{n}] the form carries it: {html}");
    // The form (no JavaScript needed) sends it back: sign-in returns there, and never to another site.
    let to_integrations = "/integrations";
    for (next, to) in [
        (asked.as_str(), asked.as_str()),
        ("https://evil.example/", to_integrations),
        ("//evil.example", to_integrations),
    ] {
        let res = http
            .post(format!("{base}/api/login"))
            .header(ORIGIN, origin.as_str())
            .header("accept", "text/html")
            .form(&[("email", "u@acme.test"), ("password", "tenant-password-1"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "[{n}] {next}: {}", res.status());
        assert_eq!(res.headers().get(LOCATION).unwrap(), to, "[{n}] after signing in with next={next}");
    }

    let missing = http.get(format!("{base}/definitely/not/here")).send().await.unwrap();
    assert_eq!(missing.status(), 404, "[{n}]");
    assert!(missing.text().await.unwrap().contains("Page not found"), "[{n}]");
}

/// Pages render while another hub of the same process builds its router. Finding a router's routes renders the
/// app with resource loading switched off process-wide; a page that started loading meanwhile waited forever
/// (tests and benchmarks run several hubs in one process). The engine does not matter here: SQLite only.
#[test]
fn pages_render_while_another_hub_builds_its_router() {
    common::run(async {
        let b = common::sqlite();
        let hub = common::hub(&b).await;
        let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
        let token = signed_in_user(&hub, &acme.id).await;
        let base = common::serve(hub.clone()).await;
        let builder = tokio::task::spawn_blocking(move || {
            for _ in 0..40 {
                let options = leptos::config::LeptosOptions::builder().output_name("integration-hub").build();
                drop(integration_hub::server::app::router(hub.clone(), options));
            }
        });
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
        let cookie = format!("hub_session={token}");
        for i in 0..40 {
            let page = http.get(format!("{base}/t/{}/integrations", acme.id)).header(COOKIE, &cookie).send().await;
            let page = page.unwrap_or_else(|e| panic!("page {i}: {e}"));
            assert_eq!(page.status(), 200, "page {i}");
            let html = page.text().await.unwrap_or_else(|e| panic!("page {i} never finished: {e}"));
            assert!(html.contains("Integrations"), "page {i}");
        }
        builder.await.unwrap();
    });
}

/// Pages are compressed for a browser that accepts it, never cached by a proxy, and plain for a client that does
/// not ask. The engine does not matter here: SQLite only.
#[test]
fn pages_are_compressed_when_asked_and_never_kept_by_a_proxy() {
    common::run(async {
        let hub = common::hub(&common::sqlite()).await;
        let base = common::serve(hub).await;
        let http = reqwest::Client::new();
        for (asked, encoding, magic) in
            [("br", Some("br"), None), ("gzip", Some("gzip"), Some(&[0x1f, 0x8b])), ("", None, None)]
        {
            let mut req = http.get(format!("{base}/login"));
            if !asked.is_empty() {
                req = req.header("accept-encoding", asked);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["cache-control"], "no-cache, private");
            assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), encoding, "{asked}");
            let body = res.bytes().await.unwrap();
            match (encoding, magic) {
                (None, _) => assert!(String::from_utf8_lossy(&body).contains("Sign in")),
                (_, Some(m)) => assert!(body.starts_with(m), "{asked}"),
                _ => assert!(!String::from_utf8_lossy(&body).contains("Sign in"), "{asked}"),
            }
        }
    });
}

backend_tests!(the_live_deliveries_stream_is_per_tenant_and_signed_in);
async fn the_live_deliveries_stream_is_per_tenant_and_signed_in(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let token = signed_in_user(&hub, &acme.id).await;
    let rx = Receiver::start().await;
    add_hook(&hub, hook_to(&rx.url("/ok"), &acme.id)).await;
    let base = common::serve(hub.clone()).await;
    let http = reqwest::Client::new();
    let url = |t: &str| format!("{base}/api/ui/deliveries/stream?tenant_id={t}");

    // Signed out: 401; another tenant: 403; both as JSON errors.
    assert_eq!(http.get(url(&acme.id)).send().await.unwrap().status(), 401, "[{n}]");
    let cookie = format!("hub_session={token}");
    let res = http.get(url(&globex.id)).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), 403, "[{n}]");

    // Own tenant: an event stream that announces a publish within moments, never compressed (a compressor would
    // hold the events back until its buffer fills).
    let req = http.get(url(&acme.id)).header(COOKIE, &cookie).header("accept-encoding", "br, gzip").send();
    let mut res = req.await.unwrap();
    assert_eq!(res.status(), 200, "[{n}]");
    assert_eq!(res.headers()["content-type"], "text/event-stream", "[{n}]");
    assert!(res.headers().get("content-encoding").is_none(), "[{n}]");
    hub.publish(Actor::System, ticket_event(&acme.id)).await.unwrap();
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), res.chunk()).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&chunk.unwrap()).to_string();
    assert!(text.contains("event: deliveries") && text.contains(&acme.id), "[{n}] {text}");
}

/// Acme with a signed-in user; Globex with a key, an endpoint and a delivery of its own, all named so that a leak
/// shows; an admin, signed in too.
struct TwoTenants {
    hub: AppState,
    base: String,
    http: reqwest::Client,
    acme: String,
    globex: String,
    user_token: String,
    admin_token: String,
    g_key: ApiKey,
    g_hook: Webhook,
    g_delivery: String,
    g_event: String,
}

async fn two_tenants(b: &Backend) -> TwoTenants {
    let hub = common::hub(b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
    let user_token = signed_in_user(&hub, &acme).await;
    let key = CreateApiKey {
        name: "globex-secret-key".into(),
        tenant_id: Some(globex.clone()),
        scopes: vec![Scope::EventsWrite],
        ..Default::default()
    };
    let g_key = hub.create_api_key(Actor::System, key).await.unwrap().key;
    let hook = CreateWebhook {
        name: Some("globex-private-hook".into()),
        ..hook_to("https://globex.example.com/hook", &globex)
    };
    let g_hook = add_hook(&hub, hook).await;
    let example = hub.list_event_types().await.unwrap().into_iter().find(|t| t.name == "ticket.created");
    let publish = PublishEvent { data: example.unwrap().example, ..ticket_event(&globex) };
    let g_event = hub.publish(Actor::System, publish).await.unwrap();
    let g_delivery = hub.get_event(Actor::System, &g_event.id).await.unwrap().deliveries.remove(0).id;
    let g_event = g_event.id;
    hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let (_, admin_token) = hub.login("root@hub.test", "admin-password-1", "127.0.0.1").await.unwrap();
    let base = common::serve(hub.clone()).await;
    TwoTenants {
        hub,
        base,
        http: reqwest::Client::new(),
        acme,
        globex,
        user_token,
        admin_token,
        g_key,
        g_hook,
        g_delivery,
        g_event,
    }
}

impl TwoTenants {
    /// Nothing of Globex changed.
    async fn assert_globex_unchanged(&self, n: &str) {
        let key = self.hub.get_api_key(&Actor::System, &self.g_key.id).await.unwrap();
        assert!(key.revoked_at.is_none() && key.name == "globex-secret-key", "[{n}]");
        assert!(self.hub.get_webhook(&Actor::System, &self.g_hook.id).await.unwrap().is_active, "[{n}]");
    }
}

/// (server function, JSON body or None for a form, form fields, expected status)
type Case = (&'static str, Option<Value>, Vec<(&'static str, String)>, u16);

/// What a user of Acme calls with Globex's ids or resources, and the status each must get.
fn tenant_user_cases(s: &TwoTenants) -> Vec<Case> {
    let (a, g) = (s.acme.as_str(), s.globex.as_str());
    let (k, w, d) = (s.g_key.id.as_str(), s.g_hook.id.as_str(), s.g_delivery.as_str());
    let hook = json!({"url": "https://x.example.com/h", "events": ["*"]});
    let check = json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "headers": "", "body": ""});
    let routing = json!({"type": "ticket.created", "data": {}});
    let new_key = json!({"name": "x", "scopes": ["events:write"]});
    vec![
        ("list_keys", Some(json!({"tenant_id": g, "search": null, "status": null})), vec![], 403),
        ("issue_key", Some(json!({"tenant_id": g, "input": new_key})), vec![], 403),
        ("edit_key", Some(json!({"tenant_id": g, "id": k, "patch": {"name": "pwned"}})), vec![], 403),
        ("edit_key", Some(json!({"tenant_id": a, "id": k, "patch": {"name": "pwned"}})), vec![], 404),
        ("rotate_key", Some(json!({"tenant_id": a, "id": k, "grace_seconds": 0})), vec![], 404),
        ("revoke_key", Some(json!({"tenant_id": a, "id": k})), vec![], 404),
        ("revoke_key", Some(json!({"tenant_id": g, "id": k})), vec![], 403),
        ("list_webhooks", Some(json!({"tenant_id": g, "search": null, "status": null})), vec![], 403),
        ("webhook_page", Some(json!({"tenant_id": g, "query": {}})), vec![], 403),
        ("count_endpoints", Some(json!({"tenant_id": g})), vec![], 403),
        ("webhook_page", Some(json!({"tenant_id": a, "query": {"tenant_id": g}})), vec![], 200),
        ("usage_of_key", Some(json!({"tenant_id": a, "id": k, "window": "7d"})), vec![], 404),
        ("usage_of_key", Some(json!({"tenant_id": g, "id": k, "window": "7d"})), vec![], 403),
        ("usage_of_tenant_keys", Some(json!({"tenant_id": g, "window": "30d"})), vec![], 403),
        ("set_webhook_active", Some(json!({"tenant_id": a, "id": w, "active": false})), vec![], 404),
        ("set_webhook_active", Some(json!({"tenant_id": g, "id": w, "active": false})), vec![], 403),
        ("list_deliveries", Some(json!({"tenant_id": g, "query": {}})), vec![], 403),
        ("list_deliveries", Some(json!({"tenant_id": a, "query": {"tenant_id": g}})), vec![], 200),
        ("get_delivery", Some(json!({"tenant_id": a, "id": d})), vec![], 404),
        ("replay_delivery", Some(json!({"tenant_id": a, "id": d})), vec![], 404),
        ("recover_webhook", Some(json!({"tenant_id": a, "webhook_id": w, "since": 0})), vec![], 404),
        ("load_delivery_stats", Some(json!({"tenant_id": a, "webhook_id": w, "window": "24h"})), vec![], 404),
        ("load_delivery_stats", Some(json!({"tenant_id": g, "webhook_id": null, "window": "24h"})), vec![], 403),
        ("load_sparklines", Some(json!({"tenant_id": g})), vec![], 403),
        ("send_test_event", Some(json!({"tenant_id": a, "webhook_id": w, "input": {}})), vec![], 404),
        ("add_webhook", Some(json!({"tenant_id": g, "input": hook})), vec![], 403),
        ("edit_webhook", Some(json!({"tenant_id": a, "id": w, "patch": {"name": "pwned"}})), vec![], 404),
        ("delete_webhook", Some(json!({"tenant_id": a, "id": w})), vec![], 404),
        ("reveal_webhook_secret", Some(json!({"tenant_id": a, "id": w})), vec![], 404),
        ("reveal_webhook_headers", Some(json!({"tenant_id": a, "id": w})), vec![], 404),
        ("rotate_webhook_secret", Some(json!({"tenant_id": a, "id": w, "grace_seconds": 0})), vec![], 404),
        ("preview_routing", Some(json!({"tenant_id": g, "input": routing})), vec![], 403),
        // Connected apps: another tenant's page is refused; another tenant's connection id is a 404 from one's own.
        ("load_connected_apps", Some(json!({"tenant_id": g})), vec![], 403),
        ("get_app_connection", Some(json!({"tenant_id": g, "id": "app_x"})), vec![], 403),
        ("get_app_connection", Some(json!({"tenant_id": a, "id": "app_x"})), vec![], 404),
        ("begin_app_connect", Some(json!({"tenant_id": g, "provider": "zoom"})), vec![], 403),
        ("save_app_settings", Some(json!({"tenant_id": g, "id": "app_x", "update": {"enabled": false}})), vec![], 403),
        ("save_app_settings", Some(json!({"tenant_id": a, "id": "app_x", "update": {"enabled": false}})), vec![], 404),
        ("disconnect_app", Some(json!({"tenant_id": g, "id": "app_x"})), vec![], 403),
        ("disconnect_app", Some(json!({"tenant_id": a, "id": "app_x"})), vec![], 404),
        ("sync_app_now", Some(json!({"tenant_id": a, "id": "app_x", "request": {"kind": "full"}})), vec![], 404),
        ("list_app_sync_logs", Some(json!({"tenant_id": g, "id": "app_x", "query": {}})), vec![], 403),
        ("list_app_sync_logs", Some(json!({"tenant_id": a, "id": "app_x", "query": {}})), vec![], 404),
        // The audit trail and the event browser: another tenant's is refused; asking for it from one's own
        // tenant's pages gives one's own.
        ("list_audit", Some(json!({"tenant_id": g, "query": {}, "all_tenants": false})), vec![], 403),
        ("list_audit", Some(json!({"tenant_id": a, "query": {"tenant_id": g}, "all_tenants": true})), vec![], 200),
        ("search_events", Some(json!({"tenant_id": g, "query": {}})), vec![], 403),
        ("search_events", Some(json!({"tenant_id": a, "query": {"tenant_id": g}})), vec![], 200),
        ("event_detail", Some(json!({"tenant_id": a, "id": s.g_event})), vec![], 404),
        ("resend_event", Some(json!({"tenant_id": a, "id": s.g_event, "endpoint_id": null})), vec![], 404),
        ("resend_event", Some(json!({"tenant_id": g, "id": s.g_event, "endpoint_id": w})), vec![], 403),
        (
            "save_event_type",
            Some(
                json!({"event_type": {"name": "x.y", "category": "X", "description": "", "example": {}, "schema": null, "archived": false, "created_at": 0, "updated_at": 0}}),
            ),
            vec![],
            403,
        ),
        ("get_shell_context", None, vec![("tenant_id", g.to_string())], 403),
        ("event_catalog", Some(json!({"tenant_id": g})), vec![], 403),
        ("get_event_type_settings", Some(json!({"tenant_id": g})), vec![], 403),
        (
            "set_event_type_settings",
            Some(json!({"settings": {"tenant_id": g, "accept_unregistered_types": true}})),
            vec![],
            403,
        ),
        // Only admins switch it, even for the user's own tenant.
        (
            "set_event_type_settings",
            Some(json!({"settings": {"tenant_id": a, "accept_unregistered_types": true}})),
            vec![],
            403,
        ),
        ("create_portal_link", Some(json!({"tenant_id": g, "input": {"expires_in_seconds": 60}})), vec![], 403),
        ("create_portal_link", Some(json!({"tenant_id": a, "input": {"expires_in_seconds": 60}})), vec![], 403),
        ("list_portal_links", Some(json!({"tenant_id": g})), vec![], 403),
        ("list_portal_links", Some(json!({"tenant_id": a})), vec![], 403),
        ("revoke_portal_link", Some(json!({"tenant_id": g, "id": "ptl_x"})), vec![], 403),
        ("create_tenant", None, vec![("name", "Mine".to_string())], 403),
        // People and tenants: the Tenants page is an admin's; a manager's Users page holds only their tenant.
        ("list_tenant_summaries", Some(json!({})), vec![], 403),
        ("rename_tenant", Some(json!({"id": g, "name": "pwned"})), vec![], 403),
        ("set_tenant_suspended", Some(json!({"id": g, "suspended": true})), vec![], 403),
        ("list_people", Some(json!({"tenant_id": g})), vec![], 404),
        (
            "invite_user",
            Some(json!({"input": {"email": "x@globex.test", "role": "tenant", "tenant_id": g}})),
            vec![],
            404,
        ),
        ("reset_user_link", Some(json!({"user_id": "usr_x"})), vec![], 404),
        ("set_user_role", Some(json!({"user_id": "usr_x", "role": "viewer"})), vec![], 404),
        ("set_user_active", Some(json!({"user_id": "usr_x", "active": false})), vec![], 404),
        ("read_user_link", Some(json!({"token": "ulk_x.secret"})), vec![], 404),
        ("accept_user_link", Some(json!({"token": "ulk_x.secret", "password": "long-password-1"})), vec![], 404),
        // The signed-in person's own account.
        ("own_sessions", Some(json!({})), vec![], 200),
        (
            "change_own_password",
            Some(json!({"current_password": "wrong", "new_password": "new-password-1"})),
            vec![],
            422,
        ),
        ("end_other_sessions", Some(json!({})), vec![], 200),
        // Their own second factor; the sign-in's second step needs its pending cookie; the tenant rule is admins'.
        ("two_factor_status", Some(json!({})), vec![], 200),
        ("begin_two_factor", Some(json!({})), vec![], 200),
        ("confirm_two_factor", Some(json!({"code": "000000"})), vec![], 422),
        ("disable_two_factor", Some(json!({"proof": "not-a-proof"})), vec![], 200),
        ("regenerate_recovery_codes", Some(json!({"proof": "000000"})), vec![], 409),
        ("verify_second_factor", None, vec![("code", "123456".into())], 401),
        ("begin_enrolment_at_sign_in", Some(json!({})), vec![], 401),
        ("confirm_enrolment_at_sign_in", Some(json!({"code": "123456"})), vec![], 401),
        ("set_tenant_require_two_factor", Some(json!({"id": g, "required": true})), vec![], 403),
        ("set_tenant_require_two_factor", Some(json!({"id": a, "required": true})), vec![], 403),
        // Not tenant data: the shared catalog, the user's own home, signing in and out.
        ("list_event_types", Some(json!({})), vec![], 200),
        ("api_reference", Some(json!({})), vec![], 200),
        ("check_signature", Some(json!({"check": check})), vec![], 200),
        (
            "render_template_preview",
            Some(json!({"event_type": "ticket.created", "template": "{{ type }}"})),
            vec![],
            200,
        ),
        (
            "preview_destination",
            Some(json!({"kind": "slack", "message": null, "event_type": "ticket.created"})),
            vec![],
            200,
        ),
        ("message_defaults", Some(json!({"event_type": "ticket.created"})), vec![], 200),
        (
            "preview_app_action",
            Some(json!({"provider": "zoom", "settings": {}, "event_type": "event.created"})),
            vec![],
            200,
        ),
        ("home_tenant", None, vec![], 200),
        ("login", None, vec![("email", "nobody@x.test".into()), ("password", "wrong-password".into())], 401),
        ("logout", None, vec![], 200),
    ]
}

backend_tests!(every_server_function_keeps_tenants_apart);
/// Every server function, called by a signed-in tenant user with another tenant's id or resources: 403/404 and
/// nothing of the other tenant in the answer or changed. The table must name every registered function.
async fn every_server_function_keeps_tenants_apart(b: Backend) {
    let n = b.name;
    let s = two_tenants(&b).await;
    let cases = tenant_user_cases(&s);
    let registered: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(registered.len() >= 12, "[{n}] the registry lists {} functions", registered.len());
    for (path, _) in registered {
        let name = path.trim_start_matches("/api/");
        assert!(cases.iter().any(|c| c.0 == name), "server function {name} has no isolation case");
    }
    for (name, body, form, want) in cases {
        let cookie = format!("hub_session={}", s.user_token);
        let req =
            s.http.post(format!("{}/api/{name}", s.base)).header(COOKIE, cookie).header("accept", "application/json");
        let req = match body {
            Some(b) => req.json(&b),
            None => req.form(&form),
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, want, "[{n}] {name}: {text}");
        for secret in ["Globex", "globex-secret-key", "globex-private-hook"] {
            assert!(!text.contains(secret), "[{n}] {name} leaked {secret}: {text}");
        }
    }
    s.assert_globex_unchanged(n).await;
}

backend_tests!(an_admin_in_one_tenants_pages_is_confined_to_that_tenant);
/// An admin working in Acme's pages is confined to Acme: Globex's ids are not found there, and nothing of Globex
/// changes.
async fn an_admin_in_one_tenants_pages_is_confined_to_that_tenant(b: Backend) {
    let n = b.name;
    let s = two_tenants(&b).await;
    let (a, k, w, d) = (s.acme.as_str(), s.g_key.id.as_str(), s.g_hook.id.as_str(), s.g_delivery.as_str());
    let admin_cases = [
        ("get_delivery", json!({"tenant_id": a, "id": d})),
        ("edit_webhook", json!({"tenant_id": a, "id": w, "patch": {"is_active": false}})),
        ("reveal_webhook_secret", json!({"tenant_id": a, "id": w})),
        ("edit_key", json!({"tenant_id": a, "id": k, "patch": {"name": "pwned"}})),
    ];
    for (name, body) in admin_cases {
        let res = s
            .http
            .post(format!("{}/api/{name}", s.base))
            .header(COOKIE, format!("hub_session={}", s.admin_token))
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404, "[{n}] admin {name}");
    }
    s.assert_globex_unchanged(n).await;
}
