//! What many tests build the same way: ticket events, endpoints at the test receiver, API keys, catalog entries,
//! and waiting for deliveries to settle or for a condition to hold.

use super::receiver::{Received, Receiver};
use integration_hub::model::{
    CreateApiKey, CreateWebhook, Delivery, DeliveryStatus, EventType, IssuedKey, PublishEvent, RateTier, Role, Scope,
    User, Webhook,
};
use integration_hub::server::service::{Actor, AppState};
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// The data of a `ticket.created` event, as the catalog's schema wants it.
pub fn ticket() -> Value {
    json!({"id": "tkt_1", "ticket": {"id": "tkt_1", "subject": "Printer on fire", "status": "open", "priority": "high"}})
}

/// A ticket of its own number (`t{i}`), for events that must differ.
pub fn numbered_ticket(i: usize) -> Value {
    json!({"id": format!("t{i}"), "ticket": {"id": format!("t{i}"), "subject": "s", "status": "open", "priority": "low"}})
}

/// A `ticket.created` event of `tenant` carrying [`ticket`].
pub fn ticket_event(tenant: &str) -> PublishEvent {
    PublishEvent {
        event_type: "ticket.created".into(),
        data: ticket(),
        tenant_id: Some(tenant.to_string()),
        ..Default::default()
    }
}

/// A `ticket.created` event of `tenant` carrying [`numbered_ticket`] `i`.
pub fn numbered_ticket_event(tenant: &str, i: usize) -> PublishEvent {
    PublishEvent { data: numbered_ticket(i), ..ticket_event(tenant) }
}

/// Publishes [`ticket_event`] as the system; returns the event's id.
pub async fn publish_ticket(hub: &AppState, tenant: &str) -> String {
    hub.publish(Actor::System, ticket_event(tenant)).await.unwrap().id
}

/// An endpoint of `tenant` for every `ticket.*` event, at `path` of the test receiver (defaults otherwise).
pub fn hook(rx: &Receiver, path: &str, tenant: &str) -> CreateWebhook {
    CreateWebhook {
        url: rx.url(path),
        events: vec!["ticket.*".into()],
        tenant_id: Some(tenant.to_string()),
        ..Default::default()
    }
}

/// As [`hook`], retried `retries` times one (scaled) second apart, and given up after one second per attempt.
pub fn retrying_hook(rx: &Receiver, path: &str, tenant: &str, retries: u32) -> CreateWebhook {
    CreateWebhook {
        max_retries: Some(retries),
        retry_delay_seconds: Some(1),
        timeout_ms: Some(1_000),
        ..hook(rx, path, tenant)
    }
}

/// An endpoint of `tenant` at `url` for every event (`*`).
pub fn hook_to(url: &str, tenant: &str) -> CreateWebhook {
    CreateWebhook {
        url: url.into(),
        events: vec!["*".into()],
        tenant_id: Some(tenant.to_string()),
        ..Default::default()
    }
}

/// Creates the endpoint as the system.
pub async fn add_hook(hub: &AppState, hook: CreateWebhook) -> Webhook {
    hub.create_webhook(Actor::System, hook).await.unwrap()
}

/// Issues a key named `k` of `tenant` (`None`: an admin-wide key), in the default rate tier.
pub async fn issue_key(hub: &AppState, tenant: Option<&str>, scopes: &[Scope]) -> IssuedKey {
    let input = CreateApiKey {
        name: "k".into(),
        tenant_id: tenant.map(str::to_string),
        scopes: scopes.to_vec(),
        ..Default::default()
    };
    hub.create_api_key(Actor::System, input).await.unwrap()
}

/// As [`issue_key`], in the enterprise tier: its rate limits are never what a test meets.
pub async fn issue_unlimited_key(hub: &AppState, tenant: Option<&str>, scopes: &[Scope]) -> IssuedKey {
    let input = CreateApiKey {
        name: "k".into(),
        tenant_id: tenant.map(str::to_string),
        scopes: scopes.to_vec(),
        tier: Some(RateTier::Enterprise),
        ..Default::default()
    };
    hub.create_api_key(Actor::System, input).await.unwrap()
}

/// Adds an event type of category `Test` to the catalog, with `example` as its example data and no schema.
pub async fn add_event_type(hub: &AppState, name: &str, description: &str, example: Value) {
    let ty = EventType {
        name: name.into(),
        category: "Test".into(),
        description: description.into(),
        example,
        schema: None,
        archived: false,
        created_at: 0,
        updated_at: 0,
        unregistered: false,
        first_seen_at: None,
    };
    hub.save_event_type(Actor::System, ty).await.unwrap();
}

/// Waits until the event has deliveries and none of them is pending or retrying; returns them. Panics after
/// fifteen seconds.
pub async fn settle(hub: &AppState, event_id: &str) -> Vec<Delivery> {
    let settled = |ds: &Vec<Delivery>| {
        !ds.is_empty() && ds.iter().all(|d| !matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying))
    };
    let probe = || async { hub.get_event(Actor::System, event_id).await.unwrap().deliveries };
    let deliveries = poll(Duration::from_secs(15), probe, settled).await;
    assert!(settled(&deliveries), "deliveries of {event_id} did not settle: {deliveries:?}");
    deliveries
}

/// Asks `probe` every 20 ms until its answer satisfies `done` or `within` has passed; returns the last answer,
/// for the caller to assert on with its own message.
pub async fn poll<T, F: Future<Output = T>>(
    within: Duration,
    mut probe: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let answer = probe().await;
        if done(&answer) || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Standard Webhooks verification written from the spec, not from the production code: how many of the
/// request's signatures `secret` made.
pub fn signatures_by(secret: &str, r: &Received) -> usize {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let id = &r.headers["webhook-id"];
    let ts = &r.headers["webhook-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    r.headers["webhook-signature"].split(' ').filter(|s| *s == expected).count()
}

/// The email and password of the tenant user [`add_tenant_user`] makes.
pub const USER_EMAIL: &str = "u@acme.test";
pub const USER_PASSWORD: &str = "tenant-password-1";

/// A user of `tenant` ([`USER_EMAIL`], [`USER_PASSWORD`]), made by the system.
pub async fn add_tenant_user(hub: &AppState, tenant: &str) -> User {
    hub.create_user(Actor::System, USER_EMAIL, USER_PASSWORD, Role::Tenant, Some(tenant)).await.unwrap()
}

/// As [`add_tenant_user`], signed in from 127.0.0.1: returns the session token.
pub async fn signed_in_user(hub: &AppState, tenant: &str) -> String {
    add_tenant_user(hub, tenant).await;
    hub.login(USER_EMAIL, USER_PASSWORD, "127.0.0.1").await.unwrap().1
}
