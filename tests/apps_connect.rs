//! Connected apps, the connection core (issue 33): the authorisation-code flow with PKCE against a real OAuth
//! server (oidc-provider, `tests/common/oauth.rs`), `state` bound to the session and single use, tokens sealed
//! at rest, refresh, a revoked grant turning the connection to `error` with a notice, reconnect, disconnect
//! revoking at the provider, tenant isolation by service, server function and REST, the REST scopes, "not
//! configured" providers and settings validated against the provider's schema.

mod common;

use common::oauth::{ClientReg, OAuthServer};
use common::{fixtures, Backend};
use integration_hub::model::{
    ConnectionSettingsUpdate, ConnectionStatus, EventListQuery, ProviderId, Role, Scope, User,
};
use integration_hub::server::apps::tokens::{self, TokenError};
use integration_hub::server::service::{Actor, AppState};
use integration_hub::server::store::{now_ms, OAuthState};
use serde_json::json;
use std::collections::HashMap;

/// The hub's public URL in these tests: the redirect URI registered at the OAuth server is under it. The
/// authorisation stops at the redirect (the test plays the browser), so nothing needs to answer there.
const BASE: &str = "http://hub.test";
const PROVIDER: &str = "google_calendar";

struct Setup {
    hub: AppState,
    oauth: OAuthServer,
    tenant: String,
    user: User,
    /// The user's session token and its hash.
    token: String,
    hash: String,
}

fn client() -> ClientReg {
    ClientReg::new("hub-google", "hub-google-secret", &format!("{BASE}/oauth/callback"))
}

async fn setup(b: &Backend) -> Setup {
    let c = client();
    let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
    let vars = oauth.env_for(PROVIDER, &c);
    let hub = common::hub_configured(b, |config| {
        config.base_url = url::Url::parse(BASE).unwrap();
        config.apps = config.apps.with_vars(vars);
    })
    .await;
    let tenant = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let user = fixtures::add_tenant_user(&hub, &tenant).await;
    let (_, token) = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "127.0.0.1").await.unwrap();
    let hash = integration_hub::server::auth::session::token_hash(&token);
    Setup { hub, oauth, tenant, user, token, hash }
}

impl Setup {
    /// The whole connection as the browser makes it: authorize URL, the provider's consent, the callback.
    async fn connect(&self) -> String {
        let url = self
            .hub
            .begin_app_authorize(Actor::User(&self.user), Some(&self.tenant), PROVIDER, Some(&self.hash))
            .await
            .unwrap()
            .url;
        let (code, state) = self.oauth.follow_authorize(&url).await;
        let done = self.hub.complete_app_authorize(&self.user, &self.hash, &state, Some(&code), None).await.unwrap();
        done.connection.id
    }

    /// The connection's tokens in clear, as the hub opens them.
    async fn tokens(&self, id: &str) -> (String, String) {
        let stored = self.hub.store.get_connection(id).await.unwrap().unwrap();
        let (a, r) = tokens::open(&self.hub.master_key, &stored).unwrap();
        (a.unwrap(), r.unwrap())
    }
}

fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

backend_tests!(connecting_uses_pkce_and_seals_the_tokens);
/// The authorize URL carries an S256 challenge and a state; the callback exchanges the code with the kept
/// verifier (the server enforces PKCE); the tokens work at the provider and are stored only sealed; the state
/// cannot be used twice.
async fn connecting_uses_pkce_and_seals_the_tokens(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let url =
        s.hub.begin_app_authorize(Actor::User(&s.user), Some(&s.tenant), PROVIDER, Some(&s.hash)).await.unwrap().url;
    let q = query(&url);
    assert!(url.starts_with(&s.oauth.authorize_url()), "[{n}] {url}");
    assert_eq!(q["code_challenge_method"], "S256", "[{n}]");
    assert!(q["code_challenge"].len() >= 43 && q["state"].len() >= 16, "[{n}] {q:?}");
    assert_eq!(q["redirect_uri"], format!("{BASE}/oauth/callback"), "[{n}]");
    let (code, state) = s.oauth.follow_authorize(&url).await;
    assert_eq!(state, q["state"], "[{n}]");

    let done = s.hub.complete_app_authorize(&s.user, &s.hash, &state, Some(&code), None).await.unwrap();
    assert_eq!((done.connection.status, done.reconnected), (ConnectionStatus::Active, false), "[{n}]");
    assert_eq!(done.connection.provider, ProviderId::GoogleCalendar, "[{n}]");

    let stored = s.hub.store.get_connection(&done.connection.id).await.unwrap().unwrap();
    let (access, refresh) = s.tokens(&done.connection.id).await;
    assert!(s.oauth.introspect(&access).await.is_some_and(|i| i.active), "[{n}] a real, working access token");
    for (sealed, clear) in [(stored.access_token.unwrap(), &access), (stored.refresh_token.unwrap(), &refresh)] {
        assert!(sealed.starts_with("v2:") && !sealed.contains(clear.as_str()), "[{n}] sealed at rest: {sealed}");
    }
    // The tokens appear in no answer.
    let shown =
        serde_json::to_string(&s.hub.get_app_connection(Actor::User(&s.user), &done.connection.id).await.unwrap())
            .unwrap();
    assert!(!shown.contains(&access) && !shown.contains(&refresh), "[{n}] {shown}");

    // The state is spent.
    let again = s.hub.complete_app_authorize(&s.user, &s.hash, &state, Some(&code), None).await.unwrap_err();
    assert!(again.message.contains("already used"), "[{n}] {again:?}");
}

backend_tests!(a_state_belongs_to_its_session_and_expires);
/// A callback opened in another session (another person, or the same person signed in elsewhere) is refused
/// and spends the state; an expired state is refused; an unknown one too.
async fn a_state_belongs_to_its_session_and_expires(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let begin = || s.hub.begin_app_authorize(Actor::User(&s.user), Some(&s.tenant), PROVIDER, Some(&s.hash));
    let url = begin().await.unwrap().url;
    let (code, state) = s.oauth.follow_authorize(&url).await;
    let other = s.hub.create_user(Actor::System, "eve@acme.test", "eve-password-1", Role::Tenant, Some(&s.tenant));
    let eve = other.await.unwrap();
    let (_, eve_token) = s.hub.login("eve@acme.test", "eve-password-1", "127.0.0.1").await.unwrap();
    let eve_hash = integration_hub::server::auth::session::token_hash(&eve_token);
    let refused = s.hub.complete_app_authorize(&eve, &eve_hash, &state, Some(&code), None).await.unwrap_err();
    assert!(refused.message.contains("someone else"), "[{n}] {refused:?}");
    assert_eq!(refused.tenant_id, None, "[{n}] the attempt's tenant is not told to a stranger");
    // The same person in another session is refused as well.
    let url = begin().await.unwrap().url;
    let (code, state) = s.oauth.follow_authorize(&url).await;
    let elsewhere = s.hub.complete_app_authorize(&s.user, "another-session", &state, Some(&code), None).await;
    assert!(elsewhere.is_err(), "[{n}]");
    // Spent by the refusal: the right session cannot use it afterwards.
    let late = s.hub.complete_app_authorize(&s.user, &s.hash, &state, Some(&code), None).await.unwrap_err();
    assert!(late.message.contains("already used"), "[{n}] {late:?}");
    assert!(s.hub.list_app_connections(Actor::User(&s.user), None).await.unwrap().is_empty(), "[{n}]");

    // An attempt older than ten minutes.
    let stale = "stale-state-value-0123456789";
    let hash = integration_hub::server::auth::session::token_hash(stale);
    s.hub
        .store
        .insert_oauth_state(&OAuthState {
            state_hash: hash.clone(),
            tenant_id: s.tenant.clone(),
            user_id: Some(s.user.id.clone()),
            session_hash: Some(s.hash.clone()),
            provider: ProviderId::GoogleCalendar,
            verifier: s.hub.master_key.seal_for(&tokens::verifier_aad(&hash), "v"),
            created_at: now_ms() - 11 * 60_000,
            expires_at: now_ms() - 60_000,
            used_at: None,
        })
        .await
        .unwrap();
    let expired = s.hub.complete_app_authorize(&s.user, &s.hash, stale, Some("code"), None).await.unwrap_err();
    assert!(expired.message.contains("expired"), "[{n}] {expired:?}");
    let unknown = s.hub.complete_app_authorize(&s.user, &s.hash, "never-issued", Some("c"), None).await.unwrap_err();
    assert!(unknown.message.contains("not one the hub started"), "[{n}] {unknown:?}");
    // The user refusing at the provider comes back as a readable error for the tenant.
    let url = begin().await.unwrap().url;
    s.oauth.deny_next().await;
    let redirect = s.oauth.follow_to_redirect(&url).await;
    let q: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
    let denied =
        s.hub.complete_app_authorize(&s.user, &s.hash, &q["state"], None, q.get("error").map(String::as_str)).await;
    let denied = denied.unwrap_err();
    assert_eq!(denied.tenant_id.as_deref(), Some(s.tenant.as_str()), "[{n}]");
    assert!(denied.message.contains("access was denied"), "[{n}] {denied:?}");
}

backend_tests!(an_expiring_token_is_refreshed_once);
/// An access token about to expire is refreshed before use (the stored one replaced, sealed); callers at the
/// same time share one refresh.
async fn an_expiring_token_is_refreshed_once(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    s.oauth.set_access_ttl(30).await;
    let id = s.connect().await;
    let (first, _) = s.tokens(&id).await;
    let stored = s.hub.store.get_connection(&id).await.unwrap().unwrap();
    assert!(stored.connection.token_expires_at.unwrap() < now_ms() + 60_000, "[{n}] within the refresh margin");
    s.oauth.set_access_ttl(3600).await;
    let (a, b2) = tokio::join!(s.hub.app_access_token(&stored, false), s.hub.app_access_token(&stored, false));
    let (a, b2) = (a.unwrap(), b2.unwrap());
    assert_ne!(a.access_token, first, "[{n}] refreshed");
    assert_eq!(a.access_token, b2.access_token, "[{n}] one refresh for both callers");
    assert!(s.oauth.introspect(&a.access_token).await.is_some_and(|i| i.active), "[{n}]");
    let (now_stored, _) = s.tokens(&id).await;
    assert_eq!(now_stored, a.access_token, "[{n}] the new token is the stored one");
    let c = s.hub.store.get_connection(&id).await.unwrap().unwrap();
    assert!(c.connection.token_expires_at.unwrap() > now_ms() + 3_000_000, "[{n}]");
    // Fresh now: no refresh, the same token.
    assert_eq!(s.hub.app_access_token(&c, false).await.unwrap().access_token, a.access_token, "[{n}]");
    // After a 401 it refreshes again.
    let after = s.hub.app_access_token(&c, true).await.unwrap();
    assert_ne!(after.access_token, a.access_token, "[{n}]");
}

backend_tests!(a_revoked_grant_puts_the_connection_in_error_until_reconnected);
/// The provider refusing the refresh token (the user removed the app there): the connection turns `error` with
/// the provider's message, the tenant gets one `hub.app.connection_error` event; reconnecting fixes it.
async fn a_revoked_grant_puts_the_connection_in_error_until_reconnected(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let mut watcher = fixtures::hook_to("https://ops.acme.example/notices", &s.tenant);
    watcher.events = vec!["hub.app.connection_error".into()];
    fixtures::add_hook(&s.hub, watcher).await;
    s.oauth.set_access_ttl(30).await;
    let id = s.connect().await;
    let (_, refresh) = s.tokens(&id).await;
    assert!(s.oauth.revoke_refresh_token(&refresh).await, "[{n}]");
    let stored = s.hub.store.get_connection(&id).await.unwrap().unwrap();
    let e = s.hub.app_access_token(&stored, false).await.unwrap_err();
    assert!(matches!(&e, TokenError::Rejected { newly: true, .. }), "[{n}] {e:?}");
    let again = s.hub.app_access_token(&stored, true).await.unwrap_err();
    assert_eq!(again, TokenError::NotActive(ConnectionStatus::Error), "[{n}] nothing is sent meanwhile");
    let c = s.hub.get_app_connection(Actor::User(&s.user), &id).await.unwrap();
    assert_eq!(c.status, ConnectionStatus::Error, "[{n}]");
    let message = c.last_error.unwrap_or_default();
    assert!(message.contains("invalid_grant"), "[{n}] the provider's message: {message}");
    let q = EventListQuery { event_type: Some("hub.app.connection_error".into()), ..Default::default() };
    let events = s.hub.list_events(Actor::System, q).await.unwrap();
    assert_eq!(events.len(), 1, "[{n}] one notice");
    assert_eq!(events[0].tenant_id, s.tenant, "[{n}]");
    assert_eq!(events[0].envelope["data"]["connection"]["id"], id.as_str(), "[{n}]");
    assert!(events[0].envelope["data"]["message"].as_str().unwrap().contains("invalid_grant"), "[{n}]");
    // Switching it on does not fix tokens; reconnecting does.
    let on = ConnectionSettingsUpdate { enabled: Some(true), ..Default::default() };
    assert_eq!(s.hub.update_app_connection(Actor::User(&s.user), &id, on).await.unwrap_err().code.http_status(), 409);
    assert_eq!(s.connect().await, id, "[{n}] the same connection");
    let c = s.hub.get_app_connection(Actor::User(&s.user), &id).await.unwrap();
    assert_eq!((c.status, c.last_error), (ConnectionStatus::Active, None), "[{n}]");
    let fresh = s.hub.store.get_connection(&id).await.unwrap().unwrap();
    assert!(s.hub.app_access_token(&fresh, false).await.is_ok(), "[{n}]");
}

backend_tests!(disconnecting_revokes_at_the_provider_and_deletes_the_tokens);
async fn disconnecting_revokes_at_the_provider_and_deletes_the_tokens(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let id = s.connect().await;
    let (access, refresh) = s.tokens(&id).await;
    assert!(s.oauth.introspect(&refresh).await.is_some(), "[{n}]");
    s.hub.disconnect_app(Actor::User(&s.user), &id).await.unwrap();
    let audit = s.hub.list_audit(&Actor::System, &Default::default()).await.unwrap().data;
    let entry = audit.iter().find(|e| e.action == "app_connection.disconnected").expect("audited");
    assert_eq!(entry.detail.as_deref(), Some("revoked at the provider; tokens deleted"), "[{n}]");
    assert!(s.oauth.introspect(&refresh).await.is_none(), "[{n}] the grant is revoked at the provider");
    assert!(s.oauth.introspect(&access).await.is_none(), "[{n}] its access token too");
    assert!(s.hub.store.get_connection(&id).await.unwrap().is_none(), "[{n}] tokens deleted");
    assert!(audit.iter().any(|e| e.action == "app_connection.connected"), "[{n}]");
    let text = serde_json::to_string(&audit).unwrap();
    assert!(!text.contains(&access) && !text.contains(&refresh), "[{n}] no token in the audit trail");
}

backend_tests!(tenants_cannot_see_or_use_each_others_connections);
/// Tenant B's person and key get 404 for tenant A's connection and its logs, by service, server function and
/// REST, and change nothing.
async fn tenants_cannot_see_or_use_each_others_connections(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let id = s.connect().await;
    let globex = s.hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
    let mallory = s.hub.create_user(Actor::System, "m@globex.test", "mallory-pass-1", Role::Tenant, Some(&globex));
    let mallory = mallory.await.unwrap();
    let (_, m_token) = s.hub.login("m@globex.test", "mallory-pass-1", "127.0.0.1").await.unwrap();
    assert_eq!(s.hub.get_app_connection(Actor::User(&mallory), &id).await.unwrap_err().code.http_status(), 404);
    assert!(s.hub.list_app_connections(Actor::User(&mallory), None).await.unwrap().is_empty(), "[{n}]");
    assert_eq!(
        s.hub.app_sync_logs(Actor::User(&mallory), &id, &Default::default()).await.unwrap_err().code.http_status(),
        404
    );
    let off = ConnectionSettingsUpdate { enabled: Some(false), ..Default::default() };
    let e = s.hub.update_app_connection(Actor::User(&mallory), &id, off).await.unwrap_err();
    assert_eq!(e.code.http_status(), 404, "[{n}]");
    assert_eq!(s.hub.disconnect_app(Actor::User(&mallory), &id).await.unwrap_err().code.http_status(), 404);

    let api = common::api::Api::serve(&s.hub).await;
    let cookie = format!("hub_session={m_token}");
    for (f, body) in [
        ("get_app_connection", json!({"tenant_id": globex, "id": id})),
        ("list_app_sync_logs", json!({"tenant_id": globex, "id": id, "query": {}})),
        ("disconnect_app", json!({"tenant_id": globex, "id": id})),
        ("sync_app_now", json!({"tenant_id": globex, "id": id, "request": {"kind": "full"}})),
    ] {
        let (status, text) = api.server_fn(&cookie, f, body).await;
        assert_eq!(status, 404, "[{n}] {f}: {text}");
    }
    let (status, text) = api.server_fn(&cookie, "load_connected_apps", json!({"tenant_id": s.tenant})).await;
    assert_eq!(status, 403, "[{n}] {text}");
    let (status, text) = api.server_fn(&cookie, "load_connected_apps", json!({"tenant_id": globex})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    assert!(!text.contains(&id), "[{n}] {text}");
    // Acme's own person sees it.
    let (status, text) =
        api.server_fn(&format!("hub_session={}", s.token), "load_connected_apps", json!({"tenant_id": s.tenant})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    assert!(text.contains(&id), "[{n}] {text}");

    let key = fixtures::issue_key(&s.hub, Some(&globex), &[Scope::IntegrationsRead, Scope::IntegrationsWrite]).await;
    let k = key.secret.as_str();
    for (method, path) in [
        ("GET", format!("/integrations/{id}")),
        ("GET", format!("/integrations/{id}/sync-logs")),
        ("PATCH", format!("/integrations/{id}")),
        ("POST", format!("/integrations/{id}/sync")),
        ("DELETE", format!("/integrations/{id}")),
    ] {
        let body = (method == "PATCH").then(|| json!({"enabled": false}));
        let (status, answer) = api.call(method, &path, k, body).await;
        assert_eq!(status, 404, "[{n}] {method} {path}: {answer}");
    }
    let (status, answer) = api.call("GET", "/integrations", k, None).await;
    assert_eq!(status, 200, "[{n}] {answer}");
    assert_eq!(answer["data"], json!([]), "[{n}]");
    let c = s.hub.get_app_connection(Actor::System, &id).await.unwrap();
    assert_eq!(c.status, ConnectionStatus::Active, "[{n}] unchanged");
}

backend_tests!(rest_needs_the_integrations_scopes);
/// Reading needs `integrations:read`, changing `integrations:write`; a bad setting is a 422 naming the field; a
/// provider without credentials is "not configured" with the variables to set.
async fn rest_needs_the_integrations_scopes(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let id = s.connect().await;
    let api = common::api::Api::serve(&s.hub).await;
    let none = fixtures::issue_key(&s.hub, Some(&s.tenant), &[Scope::EventsWrite]).await;
    let read = fixtures::issue_key(&s.hub, Some(&s.tenant), &[Scope::IntegrationsRead]).await;
    let write =
        fixtures::issue_key(&s.hub, Some(&s.tenant), &[Scope::IntegrationsRead, Scope::IntegrationsWrite]).await;
    let (status, _) = api.call("GET", "/integrations", &none.secret, None).await;
    assert_eq!(status, 403, "[{n}]");
    let (status, answer) = api.call("GET", "/integrations", &read.secret, None).await;
    assert_eq!(status, 200, "[{n}] {answer}");
    assert_eq!(answer["data"][0]["id"], id.as_str(), "[{n}]");
    let hubspot = answer["providers"].as_array().unwrap().iter().find(|p| p["id"] == "hubspot").unwrap().clone();
    assert_eq!(hubspot["configured"], false, "[{n}]");
    assert_eq!(
        hubspot["missing_env"],
        json!(["HUB_OAUTH_HUBSPOT_CLIENT_ID", "HUB_OAUTH_HUBSPOT_CLIENT_SECRET"]),
        "[{n}]"
    );
    let google = answer["providers"].as_array().unwrap().iter().find(|p| p["id"] == PROVIDER).unwrap().clone();
    assert_eq!(
        (google["configured"].clone(), google["redirect_uri"].clone()),
        (json!(true), json!(format!("{BASE}/oauth/callback")))
    );
    for (method, path) in [
        ("PATCH", format!("/integrations/{id}")),
        ("DELETE", format!("/integrations/{id}")),
        ("POST", format!("/integrations/{id}/sync")),
        ("POST", format!("/integrations/{PROVIDER}/authorize")),
    ] {
        let (status, answer) = api.call(method, &path, &read.secret, Some(json!({}))).await;
        assert_eq!(status, 403, "[{n}] {method} {path} with only integrations:read: {answer}");
    }
    let (status, answer) = api.call("GET", &format!("/integrations/{id}/sync-logs"), &read.secret, None).await;
    assert_eq!((status, answer["data"].clone()), (200, json!([])), "[{n}] {answer}");

    let (status, answer) = api.call("POST", &format!("/integrations/{PROVIDER}/authorize"), &write.secret, None).await;
    assert_eq!(status, 200, "[{n}] {answer}");
    assert_eq!(query(answer["url"].as_str().unwrap())["code_challenge_method"], "S256", "[{n}]");
    let (status, answer) = api.call("POST", "/integrations/hubspot/authorize", &write.secret, None).await;
    assert_eq!(status, 422, "[{n}] {answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("HUB_OAUTH_HUBSPOT_CLIENT_ID"), "[{n}] {answer}");

    let bad = json!({"settings": {"calendar_id": "team", "send_updates": "sometimes"}});
    let (status, answer) = api.call("PATCH", &format!("/integrations/{id}"), &write.secret, Some(bad)).await;
    assert_eq!(status, 422, "[{n}] {answer}");
    assert_eq!(answer["error"]["fields"][0]["field"], "settings.send_updates", "[{n}] {answer}");
    let good = json!({"settings": {"calendar_id": "team@example.com", "send_updates": "all"}});
    let (status, answer) = api.call("PATCH", &format!("/integrations/{id}"), &write.secret, Some(good)).await;
    assert_eq!(status, 200, "[{n}] {answer}");
    assert_eq!(answer["settings"]["send_updates"], "all", "[{n}]");
    let audit = s.hub.list_audit(&Actor::System, &Default::default()).await.unwrap().data;
    assert!(audit.iter().any(|e| e.action == "app_connection.updated" && e.target.as_deref() == Some(id.as_str())));
    let (status, _) = api.call("DELETE", &format!("/integrations/{id}"), &write.secret, None).await;
    assert_eq!(status, 204, "[{n}]");
}

backend_tests!(own_request_templates_are_checked_saved_and_previewed);
/// A connection's own request template replaces the shipped one in what the preview shows (and what is sent,
/// `apps_actions`); a template that does not render for a trigger's catalog example, an action the provider
/// does not have and an oversized template are 422s naming `settings.templates…`, and nothing is saved; a
/// refused Switch on after good settings leaves the settings unsaved too.
async fn own_request_templates_are_checked_saved_and_previewed(b: Backend) {
    let n = b.name;
    let s = setup(&b).await;
    let id = s.connect().await;
    let me = || Actor::User(&s.user);
    let own = r#"{"summary": {{ ("[Hub] " ~ title) | tojson }}, "start": {"dateTime": {{ hub.start_utc | tojson }}}, "end": {"dateTime": {{ hub.end_utc | tojson }}}}"#;
    let settings = json!({"calendar_id": "team", "templates": {"event": own}});

    let shipped = s.hub.preview_app_action(me(), PROVIDER, &json!({}), "event.created").await.unwrap();
    assert_eq!(shipped.error, None, "[{n}] {shipped:?}");
    assert_eq!(shipped.calls.len(), 1, "[{n}]");
    assert_eq!(
        (shipped.calls[0].method.as_str(), shipped.calls[0].path.as_str()),
        ("POST", "/calendar/v3/calendars/primary/events"),
        "[{n}]"
    );
    let body: serde_json::Value = serde_json::from_str(shipped.calls[0].body.as_deref().unwrap()).unwrap();
    assert!(!body["summary"].as_str().unwrap().starts_with("[Hub] "), "[{n}] {body}");
    let mine = s.hub.preview_app_action(me(), PROVIDER, &settings, "event.created").await.unwrap();
    assert_eq!(mine.calls[0].path, "/calendar/v3/calendars/team/events", "[{n}]");
    let body: serde_json::Value = serde_json::from_str(mine.calls[0].body.as_deref().unwrap()).unwrap();
    assert!(body["summary"].as_str().unwrap().starts_with("[Hub] "), "[{n}] {body}");
    assert!(body.get("description").is_none(), "[{n}] only what the own template sends: {body}");
    let broken = json!({"templates": {"event": r#"{"summary": {{ title }}}"#}});
    let p = s.hub.preview_app_action(me(), PROVIDER, &broken, "event.created").await.unwrap();
    assert!(p.error.as_deref().unwrap_or_default().contains("the event template"), "[{n}] {p:?}");
    let e = s.hub.preview_app_action(me(), PROVIDER, &json!({}), "contact.created").await.unwrap_err();
    assert_eq!(e.fields[0].field, "event_type", "[{n}] {e:?}");

    let save = |settings: serde_json::Value, enabled: Option<bool>| {
        let hub = s.hub.clone();
        let (user, id) = (s.user.clone(), id.clone());
        async move {
            let u = ConnectionSettingsUpdate { settings: Some(settings), enabled };
            hub.update_app_connection(Actor::User(&user), &id, u).await
        }
    };
    for (bad, field) in [
        (broken.clone(), "settings.templates.event"),
        (json!({"templates": {"meeting": "{}"}}), "settings.templates"),
        (json!({"templates": {"event": "x".repeat(20_001)}}), "settings.templates.event"),
    ] {
        let e = save(bad, None).await.unwrap_err();
        assert_eq!(e.code.http_status(), 422, "[{n}] {e:?}");
        assert!(e.fields.iter().any(|f| f.field == field), "[{n}] {field}: {e:?}");
        let c = s.hub.get_app_connection(me(), &id).await.unwrap();
        assert_eq!(c.settings.get("templates"), None, "[{n}] nothing saved");
    }
    let c = save(settings.clone(), None).await.unwrap();
    assert_eq!(c.settings["templates"]["event"], own, "[{n}]");

    // A connection in error cannot be switched on: the settings sent with that request are not saved either.
    s.hub.store.set_connection_error(&id, "revoked").await.unwrap();
    let e = save(json!({"calendar_id": "elsewhere"}), Some(true)).await.unwrap_err();
    assert_eq!(e.code.http_status(), 409, "[{n}] {e:?}");
    let c = s.hub.get_app_connection(me(), &id).await.unwrap();
    assert_eq!(c.settings["calendar_id"], "team", "[{n}] unchanged");
}
