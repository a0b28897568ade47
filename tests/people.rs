//! People and tenants managed from the UI: a suspended tenant's keys are refused and its deliveries wait until it
//! is resumed; a viewer reads and changes nothing; invite and reset links open once and expire; deactivation and
//! password changes end sessions; a tenant's manager sees only their own tenant's people; every change is audited.

mod common;

use common::api::Api;
use common::fixtures::{self, poll, publish_ticket};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{
    CreateWebhook, DeliveryListQuery, DeliveryStatus, ErrorCode, NewInvite, Role, Scope, User,
};
use integration_hub::server::service::{Actor, AppState};
use reqwest::header::COOKIE;
use serde_json::{json, Value};
use std::time::Duration;

/// The `<id>.<secret>` token at the end of a one-time link's URL.
fn token_of(url: &str) -> String {
    url.rsplit_once("/accept/").map(|(_, t)| t.to_string()).unwrap_or_default()
}

/// An admin who is a person (so audit entries name them).
async fn admin(hub: &AppState) -> User {
    hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap()
}

async fn count(hub: &AppState, webhook: &str, status: DeliveryStatus) -> usize {
    let q = DeliveryListQuery {
        webhook_id: Some(webhook.into()),
        status: Some(status),
        limit: Some(500),
        ..Default::default()
    };
    hub.list_deliveries(Actor::System, q).await.unwrap().len()
}

async fn wait_for(hub: &AppState, webhook: &str, status: DeliveryStatus, want: usize) {
    let got = poll(Duration::from_secs(10), || count(hub, webhook, status), |n| *n == want).await;
    assert_eq!(got, want, "{webhook} never had {want} {} deliveries", status.as_str());
}

/// The audit actions written so far, oldest first.
async fn audited(hub: &AppState) -> Vec<String> {
    let mut all: Vec<String> = hub.store.list_audit(None, 1000).await.unwrap().into_iter().map(|e| e.action).collect();
    all.reverse();
    all
}

/// The error code of a call that must fail.
fn code_of<T>(r: Result<T, integration_hub::model::AppError>) -> ErrorCode {
    r.map(|_| ()).unwrap_err().code
}

fn assert_audited(actions: &[String], want: &[&str], n: &str) {
    for w in want {
        assert!(actions.iter().any(|a| a == w), "[{n}] {w} not audited: {actions:?}");
    }
}

backend_tests!(a_suspended_tenants_keys_are_refused_and_its_deliveries_wait_until_it_is_resumed);
async fn a_suspended_tenants_keys_are_refused_and_its_deliveries_wait_until_it_is_resumed(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let root = admin(&hub).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let rx = Receiver::start().await;
    let once = |path: &str, t: &str| CreateWebhook { max_retries: Some(0), ..fixtures::hook(&rx, path, t) };
    let hook = hub.create_webhook(Actor::System, once("/ok/acme", &acme.id)).await.unwrap();
    let g_hook = hub.create_webhook(Actor::System, once("/ok/globex", &globex.id)).await.unwrap();
    let scopes = [Scope::EventsWrite, Scope::WebhooksRead];
    let key = fixtures::issue_unlimited_key(&hub, Some(&acme.id), &scopes).await.secret;
    let g_key = fixtures::issue_unlimited_key(&hub, Some(&globex.id), &scopes).await.secret;
    let api = Api::serve(&hub).await;
    let event = json!({"type": "ticket.created", "data": fixtures::ticket()});
    for _ in 0..3 {
        assert_eq!(api.call("POST", "/events", &key, Some(event.clone())).await.0, 202, "[{n}]");
    }

    let suspended = hub.suspend_tenant(Actor::User(&root), &acme.id).await.unwrap();
    assert!(suspended.suspended_at.is_some(), "[{n}]");
    for (method, path, body) in [("GET", "/webhooks", None), ("POST", "/events", Some(event.clone()))] {
        let (status, answer) = api.call(method, path, &key, body).await;
        assert_eq!(status, 403, "[{n}] {method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden", "[{n}] a JSON error body: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("tenant suspended"), "[{n}] {answer}");
    }
    // Others publishing to it (an operator, the hub's notices) are accepted, and held like the rest.
    publish_ticket(&hub, &acme.id).await;
    // Another tenant is untouched.
    assert_eq!(api.call("GET", "/webhooks", &g_key, None).await.0, 200, "[{n}]");
    assert_eq!(api.call("POST", "/events", &g_key, Some(event.clone())).await.0, 202, "[{n}]");

    let worker = common::Worker::start(&hub);
    wait_for(&hub, &hook.id, DeliveryStatus::Paused, 4).await;
    wait_for(&hub, &g_hook.id, DeliveryStatus::Success, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.received("/ok/acme").is_empty(), "[{n}] a suspended tenant's receiver sees nothing");
    assert_eq!(count(&hub, &hook.id, DeliveryStatus::Cancelled).await, 0, "[{n}] held, not lost");
    // The switcher marks it.
    let shell = hub.shell_context(root.clone(), &globex.id).await.unwrap();
    let listed = shell.tenants.iter().find(|t| t.id == acme.id).unwrap();
    assert!(listed.suspended_at.is_some(), "[{n}]");

    let resumed = hub.resume_tenant(Actor::User(&root), &acme.id).await.unwrap();
    assert!(resumed.suspended_at.is_none(), "[{n}]");
    wait_for(&hub, &hook.id, DeliveryStatus::Success, 4).await;
    assert_eq!(rx.received("/ok/acme").len(), 4, "[{n}] every held delivery is sent once");
    assert_eq!(api.call("GET", "/webhooks", &key, None).await.0, 200, "[{n}] its key works again");
    worker.stop().await;

    let summaries = hub.tenant_summaries(Actor::User(&root)).await.unwrap();
    let s = summaries.iter().find(|s| s.tenant.id == acme.id).unwrap();
    assert_eq!((s.endpoints, s.keys, s.deliveries_24h, s.succeeded_24h), (1, 1, 4, 4), "[{n}] {s:?}");
    assert_eq!(s.success_rate(), Some(100.0), "[{n}]");
    let actions = audited(&hub).await;
    assert_audited(&actions, &["tenant.suspended", "tenant.resumed"], n);
    // Only admins suspend.
    let user = fixtures::add_tenant_user(&hub, &globex.id).await;
    let err = hub.suspend_tenant(Actor::User(&user), &globex.id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden, "[{n}]");
    let err = hub.rename_tenant(Actor::User(&user), &globex.id, "Mine").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden, "[{n}]");
}

/// Acme with an endpoint, a key and a viewer signed in over HTTP.
struct ViewerSetup {
    hub: AppState,
    base: String,
    http: reqwest::Client,
    tenant: String,
    cookie: String,
    hook: String,
    key: String,
    viewer: User,
}

async fn viewer_setup(b: &Backend) -> ViewerSetup {
    let hub = common::hub(b).await;
    let tenant = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let hook = fixtures::add_hook(&hub, fixtures::hook_to("https://acme.example.com/h", &tenant)).await.id;
    let key = fixtures::issue_key(&hub, Some(&tenant), &[Scope::EventsWrite]).await.key.id;
    let viewer = hub
        .create_user(Actor::System, "viewer@acme.test", "viewer-password-1", Role::Viewer, Some(&tenant))
        .await
        .unwrap();
    let (_, token) = hub.login("viewer@acme.test", "viewer-password-1", "127.0.0.1").await.unwrap();
    let base = common::serve(hub.clone()).await;
    ViewerSetup {
        hub,
        base,
        http: reqwest::Client::new(),
        tenant,
        cookie: format!("hub_session={token}"),
        hook,
        key,
        viewer,
    }
}

impl ViewerSetup {
    /// Calls a server function as the viewer: JSON, or a form for the functions that take one.
    async fn call(&self, name: &str, body: &Value) -> (u16, String) {
        let req = self.http.post(format!("{}/api/{name}", self.base)).header(COOKIE, &self.cookie);
        let req = req.header("accept", "application/json");
        let req = if FORM_FUNCTIONS.contains(&name) { req.form(body) } else { req.json(body) };
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// A valid call of every server function that changes something, on the viewer's own tenant: each would succeed
/// for a manager. A function missing here is still called (with an empty body) and must not succeed.
fn write_calls(s: &ViewerSetup) -> Vec<(&'static str, Value)> {
    let (t, w, k, v) = (s.tenant.as_str(), s.hook.as_str(), s.key.as_str(), s.viewer.id.as_str());
    let hook = json!({"url": "https://acme.example.com/new", "events": ["*"]});
    let event_type = json!({"name": "x.y", "category": "X", "description": "", "example": {}, "schema": null,
        "archived": false, "created_at": 0, "updated_at": 0});
    vec![
        ("issue_key", json!({"tenant_id": t, "input": {"name": "x", "scopes": ["events:write"]}})),
        ("edit_key", json!({"tenant_id": t, "id": k, "patch": {"name": "pwned"}})),
        ("rotate_key", json!({"tenant_id": t, "id": k, "grace_seconds": 0})),
        ("revoke_key", json!({"tenant_id": t, "id": k})),
        ("add_webhook", json!({"tenant_id": t, "input": hook})),
        ("edit_webhook", json!({"tenant_id": t, "id": w, "patch": {"name": "pwned"}})),
        ("set_webhook_active", json!({"tenant_id": t, "id": w, "active": false})),
        ("delete_webhook", json!({"tenant_id": t, "id": w})),
        ("rotate_webhook_secret", json!({"tenant_id": t, "id": w, "grace_seconds": 0})),
        ("reveal_webhook_secret", json!({"tenant_id": t, "id": w})),
        ("reveal_webhook_headers", json!({"tenant_id": t, "id": w})),
        ("recover_webhook", json!({"tenant_id": t, "webhook_id": w, "since": 0})),
        ("send_test_event", json!({"tenant_id": t, "webhook_id": w, "input": {}})),
        ("replay_delivery", json!({"tenant_id": t, "id": "dlv_x"})),
        ("resend_event", json!({"tenant_id": t, "id": "evt_x", "endpoint_id": null})),
        ("set_event_type_settings", json!({"settings": {"tenant_id": t, "accept_unregistered_types": true}})),
        ("save_event_type", json!({"event_type": event_type})),
        ("create_portal_link", json!({"tenant_id": t, "input": {"expires_in_seconds": 60}})),
        ("revoke_portal_link", json!({"tenant_id": t, "id": "ptl_x"})),
        ("list_portal_links", json!({"tenant_id": t})),
        ("create_tenant", json!({"name": "Mine"})),
        ("rename_tenant", json!({"id": t, "name": "Mine"})),
        ("set_tenant_suspended", json!({"id": t, "suspended": true})),
        ("set_tenant_require_two_factor", json!({"id": t, "required": true})),
        ("list_tenant_summaries", json!({})),
        ("list_people", json!({"tenant_id": t})),
        ("invite_user", json!({"input": {"email": "new@acme.test", "role": "tenant", "tenant_id": t}})),
        ("reset_user_link", json!({"user_id": v})),
        ("set_user_role", json!({"user_id": v, "role": "tenant"})),
        ("set_user_active", json!({"user_id": v, "active": false})),
        ("begin_app_connect", json!({"tenant_id": t, "provider": "zoom"})),
        ("save_app_settings", json!({"tenant_id": t, "id": "app_x", "update": {"enabled": false}})),
        ("disconnect_app", json!({"tenant_id": t, "id": "app_x"})),
        ("sync_app_now", json!({"tenant_id": t, "id": "app_x", "request": {"kind": "full"}})),
    ]
}

/// Server functions that take a form rather than JSON.
const FORM_FUNCTIONS: &[&str] = &["create_tenant", "get_shell_context", "home_tenant"];

/// Functions that need no session: signing in and out, and the one-time link pages (the link is the credential).
const SESSIONLESS: &[&str] = &[
    "login",
    "logout",
    "read_user_link",
    "accept_user_link",
    "verify_second_factor",
    "begin_enrolment_at_sign_in",
    "confirm_enrolment_at_sign_in",
];

backend_tests!(a_viewer_reads_and_every_crafted_write_is_refused);
async fn a_viewer_reads_and_every_crafted_write_is_refused(b: Backend) {
    let n = b.name;
    let s = viewer_setup(&b).await;
    let t = s.tenant.clone();
    // Reads work.
    let (status, text) = s.call("list_webhooks", &json!({"tenant_id": t, "search": null, "status": null})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    let (status, text) = s.call("get_shell_context", &json!({"tenant_id": t})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    assert!(text.contains("\"viewer\""), "[{n}] the shell knows it is a viewer: {text}");

    let known = write_calls(&s);
    let registered: Vec<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p.trim_start_matches("/api/").to_string()).collect();
    assert!(registered.len() > 20, "[{n}]");
    for name in &registered {
        if integration_hub::server_fns::READ_ONLY.contains(&name.as_str()) || SESSIONLESS.contains(&name.as_str()) {
            continue;
        }
        let body = known.iter().find(|(k, _)| k == name).map(|(_, b)| b.clone());
        let (status, text) = s.call(name, body.as_ref().unwrap_or(&json!({}))).await;
        if body.is_some() {
            assert_eq!(status, 403, "[{n}] a viewer's {name}: {text}");
            assert!(text.contains("Viewers can look"), "[{n}] {name}: {text}");
        } else {
            assert!(status >= 400, "[{n}] {name} answered a viewer {status}: {text}");
        }
    }
    // Every listed write is a registered function (the table does not test names that do not exist).
    for (name, _) in &known {
        assert!(registered.iter().any(|r| r == name), "[{n}] {name} is not a server function");
    }
    // Nothing changed.
    let hook = s.hub.get_webhook(&Actor::System, &s.hook).await.unwrap();
    assert!(hook.is_active && hook.name != "pwned", "[{n}]");
    let key = s.hub.get_api_key(&Actor::System, &s.key).await.unwrap();
    assert!(key.revoked_at.is_none() && key.name == "k", "[{n}]");
    let people = s.hub.list_people(Actor::System, Some(&t)).await.unwrap();
    assert_eq!(people.len(), 1, "[{n}] nobody invited");
    assert_eq!(people[0].user.role, Role::Viewer, "[{n}] still a viewer");
    assert!(people[0].deactivated_at.is_none(), "[{n}]");
    assert!(s.hub.store.get_tenant(&t).await.unwrap().unwrap().suspended_at.is_none(), "[{n}]");
    // Their own account stays theirs: the sessions list answers.
    let (status, text) = s.call("own_sessions", &json!({})).await;
    assert_eq!(status, 200, "[{n}] {text}");
}

backend_tests!(invite_links_open_once_and_expire);
async fn invite_links_open_once_and_expire(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.user_link_ttl_seconds = 2).await;
    let root = admin(&hub).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let invite = NewInvite { email: " New@Acme.test ".into(), role: Role::Viewer, tenant_id: Some(acme.id.clone()) };
    let before = integration_hub::server::store::now_ms();
    let issued = hub.invite_user(Actor::User(&root), invite.clone()).await.unwrap();
    assert!((issued.expires_at - before - 2000).abs() < 1000, "[{n}] the link lasts the configured 2 s");
    assert!(issued.url.starts_with("http") && issued.url.contains("/accept/ulk_"), "[{n}] {}", issued.url);
    let token = token_of(&issued.url);
    // Invited, not yet able to sign in.
    let people = hub.list_people(Actor::User(&root), Some(&acme.id)).await.unwrap();
    assert!(people.iter().any(|p| p.user.email == "new@acme.test" && p.invited), "[{n}] {people:?}");
    assert!(hub.login("new@acme.test", "", "10.1.0.1").await.is_err(), "[{n}]");
    // The same address twice is refused.
    let again = hub.invite_user(Actor::User(&root), invite).await.unwrap_err();
    assert_eq!(again.field_message("email"), Some("is already registered"), "[{n}]");

    assert_eq!(hub.user_link_info(&token).await.unwrap().email, "new@acme.test", "[{n}]");
    let (id, _) = token.split_once('.').unwrap();
    let forged = format!("{id}.not-the-secret");
    assert_eq!(hub.user_link_info(&forged).await.unwrap_err().code, ErrorCode::NotFound, "[{n}] a wrong secret");
    let short = hub.accept_user_link(&token, "short", "10.1.0.1", None).await.unwrap_err();
    assert!(short.field_message("password").is_some(), "[{n}] {short:?}");
    let (user, session) = hub.accept_user_link(&token, "viewer-password-1", "10.1.0.1", Some("Firefox")).await.unwrap();
    assert_eq!(user.role, Role::Viewer, "[{n}]");
    assert_eq!(hub.session_user(Some(&session)).await.unwrap().id, user.id, "[{n}] signed in");
    let reused = hub.accept_user_link(&token, "another-password-1", "10.1.0.1", None).await.unwrap_err();
    assert_eq!(reused.code, ErrorCode::NotFound, "[{n}] single use");
    assert!(hub.login("new@acme.test", "viewer-password-1", "10.1.0.1").await.is_ok(), "[{n}]");
    assert!(hub.login("new@acme.test", "another-password-1", "10.1.0.2").await.is_err(), "[{n}]");

    // A reset link, unused past its expiry, no longer opens.
    let reset = hub.reset_link(Actor::User(&root), &user.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let late = hub.accept_user_link(&token_of(&reset.url), "late-password-1", "10.1.0.1", None).await.unwrap_err();
    assert_eq!(late.code, ErrorCode::NotFound, "[{n}] expired");
    assert!(hub.login("new@acme.test", "viewer-password-1", "10.1.0.3").await.is_ok(), "[{n}] password unchanged");

    // A fresh reset link sets a new password and ends every session.
    let reset = hub.reset_link(Actor::User(&root), &user.id).await.unwrap();
    hub.accept_user_link(&token_of(&reset.url), "reset-password-1", "10.1.0.1", None).await.unwrap();
    assert!(hub.session_user(Some(&session)).await.is_err(), "[{n}] old sessions end on reset");
    assert!(hub.login("new@acme.test", "reset-password-1", "10.1.0.4").await.is_ok(), "[{n}]");
    let actions = audited(&hub).await;
    assert_audited(
        &actions,
        &["user.invited", "user.invite_accepted", "user.reset_link_issued", "user.password_reset"],
        n,
    );
}

backend_tests!(a_deactivated_user_cannot_sign_in_and_their_sessions_end_at_once);
async fn a_deactivated_user_cannot_sign_in_and_their_sessions_end_at_once(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let root = admin(&hub).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let user = fixtures::add_tenant_user(&hub, &acme.id).await;
    let (_, one) = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.2.0.1").await.unwrap();
    let (_, two) = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.2.0.2").await.unwrap();

    let person = hub.set_user_active(Actor::User(&root), &user.id, false).await.unwrap();
    assert!(person.deactivated_at.is_some() && person.sessions == 0, "[{n}] {person:?}");
    for t in [&one, &two] {
        assert_eq!(hub.session_user(Some(t)).await.unwrap_err().code, ErrorCode::Unauthorized, "[{n}]");
    }
    let refused = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.2.0.3").await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "[{n}]");
    assert!(refused.message.contains("deactivated"), "[{n}] a clear message: {}", refused.message);
    // A wrong password learns nothing about the account.
    let wrong = hub.login(fixtures::USER_EMAIL, "wrong-password", "10.2.0.4").await.unwrap_err();
    assert_eq!(wrong.code, ErrorCode::Unauthorized, "[{n}]");
    let err = hub.reset_link(Actor::User(&root), &user.id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "[{n}] no reset link for a deactivated user");
    // Admins cannot lock themselves out here.
    let own = hub.set_user_active(Actor::User(&root), &root.id, false).await.unwrap_err();
    assert_eq!(own.code, ErrorCode::Forbidden, "[{n}]");

    hub.set_user_active(Actor::User(&root), &user.id, true).await.unwrap();
    assert!(hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.2.0.5").await.is_ok(), "[{n}]");
    assert_audited(&audited(&hub).await, &["user.deactivated", "user.reactivated"], n);
}

backend_tests!(changing_a_password_ends_the_other_sessions);
async fn changing_a_password_ends_the_other_sessions(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    fixtures::add_tenant_user(&hub, &acme.id).await;
    let (user, here) =
        hub.login_with(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.3.0.1", Some("Firefox")).await.unwrap();
    let (_, there) = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.3.0.2").await.unwrap();

    let sessions = hub.own_sessions(&user, &here).await.unwrap();
    assert_eq!(sessions.len(), 2, "[{n}]");
    let mine = sessions.iter().find(|s| s.current).unwrap();
    assert_eq!((mine.ip.as_deref(), mine.user_agent.as_deref()), (Some("10.3.0.1"), Some("Firefox")), "[{n}]");
    assert!(mine.last_seen_at.is_some(), "[{n}]");

    let wrong = hub.change_own_password(&user, &here, "not-my-password", "new-password-12").await.unwrap_err();
    assert!(wrong.field_message("current_password").is_some(), "[{n}] {wrong:?}");
    assert!(hub.session_user(Some(&there)).await.is_ok(), "[{n}] a refused change ends nothing");
    hub.change_own_password(&user, &here, fixtures::USER_PASSWORD, "new-password-12").await.unwrap();
    assert!(hub.session_user(Some(&here)).await.is_ok(), "[{n}] the session that changed it stays");
    assert!(hub.session_user(Some(&there)).await.is_err(), "[{n}] the others end");
    assert!(hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.3.0.3").await.is_err(), "[{n}]");
    let (_, third) = hub.login(fixtures::USER_EMAIL, "new-password-12", "10.3.0.4").await.unwrap();

    // Sign out everywhere else.
    assert_eq!(hub.end_other_sessions(&user, &here).await.unwrap(), 1, "[{n}]");
    assert!(hub.session_user(Some(&third)).await.is_err(), "[{n}]");
    assert_eq!(hub.own_sessions(&user, &here).await.unwrap().len(), 1, "[{n}]");
    assert_audited(&audited(&hub).await, &["user.password_changed", "user.signed_out_everywhere"], n);
}

backend_tests!(a_tenant_manager_sees_and_manages_only_their_own_tenants_people);
async fn a_tenant_manager_sees_and_manages_only_their_own_tenants_people(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let root = admin(&hub).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
    let manager = fixtures::add_tenant_user(&hub, &acme).await;
    let other = hub
        .create_user(Actor::System, "g@globex.test", "globex-password-1", Role::Tenant, Some(&globex))
        .await
        .unwrap();
    let me = Actor::User(&manager);

    let seen = hub.list_people(Actor::clone_of(&me), None).await.unwrap();
    assert!(seen.iter().all(|p| p.user.tenant_id.as_deref() == Some(acme.as_str())), "[{n}] {seen:?}");
    assert!(!seen.iter().any(|p| p.user.email.contains("globex") || p.user.role == Role::Admin), "[{n}]");
    assert_eq!(code_of(hub.list_people(Actor::clone_of(&me), Some(&globex)).await), ErrorCode::NotFound, "[{n}]");
    assert_eq!(
        code_of(hub.set_user_active(Actor::clone_of(&me), &other.id, false).await),
        ErrorCode::NotFound,
        "[{n}]"
    );
    assert_eq!(code_of(hub.reset_link(Actor::clone_of(&me), &other.id).await), ErrorCode::NotFound, "[{n}]");
    assert_eq!(
        code_of(hub.set_user_role(Actor::clone_of(&me), &other.id, Role::Viewer).await),
        ErrorCode::NotFound,
        "[{n}]"
    );
    assert_eq!(
        code_of(hub.reset_link(Actor::clone_of(&me), &root.id).await),
        ErrorCode::NotFound,
        "[{n}] admins neither"
    );
    let into_globex = NewInvite { email: "x@globex.test".into(), role: Role::Tenant, tenant_id: Some(globex.clone()) };
    assert_eq!(code_of(hub.invite_user(Actor::clone_of(&me), into_globex).await), ErrorCode::NotFound, "[{n}]");
    let an_admin = NewInvite { email: "boss@acme.test".into(), role: Role::Admin, tenant_id: None };
    assert_eq!(code_of(hub.invite_user(Actor::clone_of(&me), an_admin).await), ErrorCode::Forbidden, "[{n}]");
    assert!(hub.login("g@globex.test", "globex-password-1", "10.4.0.1").await.is_ok(), "[{n}] Globex untouched");

    // Their own tenant: invite a viewer (the tenant is theirs whatever they name), promote and deactivate.
    let viewer = NewInvite { email: "v@acme.test".into(), role: Role::Viewer, tenant_id: None };
    let issued = hub.invite_user(Actor::clone_of(&me), viewer).await.unwrap();
    assert_eq!(issued.user.tenant_id.as_deref(), Some(acme.as_str()), "[{n}]");
    let promoted = hub.set_user_role(Actor::clone_of(&me), &issued.user.id, Role::Tenant).await.unwrap();
    assert_eq!(promoted.user.role, Role::Tenant, "[{n}]");
    let err = hub.set_user_role(Actor::clone_of(&me), &issued.user.id, Role::Admin).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed, "[{n}] no one is made an admin here");
    hub.set_user_active(Actor::clone_of(&me), &issued.user.id, false).await.unwrap();

    // A viewer manages nobody; an admin sees everyone.
    let (_, v_token) = {
        hub.create_user(Actor::System, "v2@acme.test", "viewer-password-1", Role::Viewer, Some(&acme)).await.unwrap();
        hub.login("v2@acme.test", "viewer-password-1", "10.4.0.2").await.unwrap()
    };
    let v = hub.session_user(Some(&v_token)).await.unwrap();
    assert_eq!(code_of(hub.list_people(Actor::User(&v), None).await), ErrorCode::Forbidden, "[{n}]");
    let all = hub.list_people(Actor::User(&root), None).await.unwrap();
    assert!(all.iter().any(|p| p.user.id == other.id) && all.iter().any(|p| p.user.id == root.id), "[{n}]");
    let actions = audited(&hub).await;
    assert_audited(&actions, &["user.invited", "user.role_changed", "user.deactivated"], n);
}
