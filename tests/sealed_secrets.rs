//! Endpoints' secrets at rest, on every backend: custom header values (receivers' credentials) are stored
//! sealed, shown masked by every answer and in the attempt log, revealed only with `webhooks:write`, and sent
//! for real; sealed values are bound to their row (one copied into another row does not open); a database
//! written in the first format (v1 secrets, clear header values) is re-sealed at open and still delivers.

mod common;

use base64::Engine;
use common::api::Api;
use common::fixtures::{hook, issue_unlimited_key, settle, signatures_by, ticket_event};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{CreateWebhook, DeliveryStatus, Scope, HEADER_MASK};
use integration_hub::server::service::{Actor, Hub};
use serde_json::{json, Value};
use sqlx::Connection;
use std::time::Duration;

const RECEIVER_TOKEN: &str = "rcv-token-1f8a";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn column(url: &str, col: &str, id: &str) -> Option<String> {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let row: (Option<String>,) = sqlx::query_as(&format!("SELECT {col} FROM webhooks WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.0
}

async fn set_column(url: &str, col: &str, id: &str, value: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(&format!("UPDATE webhooks SET {col} = $2 WHERE id = $1"))
        .bind(id)
        .bind(value)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// A value in the first sealed format (`v1:`, AES-256-GCM without associated data), as older hubs wrote it.
fn seal_v1(plaintext: &str) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    let key: [u8; 32] = hex::decode(common::MASTER_KEY).unwrap().try_into().unwrap();
    let nonce = [9u8; 12];
    let ct =
        aes_gcm::Aes256Gcm::new(&key.into()).encrypt(aes_gcm::Nonce::from_slice(&nonce), plaintext.as_bytes()).unwrap();
    format!("v1:{}", base64::engine::general_purpose::STANDARD.encode([nonce.as_slice(), &ct].concat()))
}

backend_tests!(header_values_are_stored_sealed_shown_masked_and_revealed_only_with_webhooks_write);
async fn header_values_are_stored_sealed_shown_masked_and_revealed_only_with_webhooks_write(b: Backend) {
    sqlx::any::install_default_drivers();
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = common::Worker::start(&hub);
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let api = Api::serve(&hub).await;
    let reader = issue_unlimited_key(&hub, Some(&t.id), &[Scope::WebhooksRead, Scope::DeliveriesRead]).await.secret;
    let writer = issue_unlimited_key(&hub, Some(&t.id), &[Scope::WebhooksRead, Scope::WebhooksWrite]).await.secret;
    let create = json!({"url": rx.url("/ok"), "events": ["ticket.*"], "headers": {"X-Api-Key": RECEIVER_TOKEN}});
    let (s, created, text) = api.call_text("POST", "/webhooks", &writer, Some(create)).await;
    assert_eq!(s, 201, "[{n}] {text}");
    assert_eq!(created["headers"]["X-Api-Key"], HEADER_MASK, "[{n}]");
    assert!(!text.contains(RECEIVER_TOKEN), "[{n}] {text}");
    let id = created["id"].as_str().unwrap().to_string();

    // At rest: sealed, nothing in clear.
    let stored = column(&b.url, "headers", &id).await.unwrap();
    assert!(!stored.contains(RECEIVER_TOKEN), "[{n}] {stored}");
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert!(stored["X-Api-Key"].as_str().unwrap().starts_with("v2:"), "[{n}] {stored}");

    // Every answer with webhooks:read masks the value.
    for path in ["/webhooks".to_string(), format!("/webhooks/{id}")] {
        let (s, body, text) = api.call_text("GET", &path, &reader, None).await;
        assert_eq!(s, 200, "[{n}] {path}");
        let hook = if path == "/webhooks" { &body["data"][0] } else { &body };
        assert_eq!(hook["headers"]["X-Api-Key"], HEADER_MASK, "[{n}] {path}");
        assert!(!text.contains(RECEIVER_TOKEN), "[{n}] {path}: {text}");
    }
    // Revealing needs webhooks:write.
    let (s, _, text) = api.call_text("GET", &format!("/webhooks/{id}/headers"), &reader, None).await;
    assert_eq!(s, 403, "[{n}] {text}");
    let (s, shown, _) = api.call_text("GET", &format!("/webhooks/{id}/headers"), &writer, None).await;
    assert_eq!((s, shown["headers"]["X-Api-Key"].as_str()), (200, Some(RECEIVER_TOKEN)), "[{n}]");

    // The receiver gets the real value; the attempt log shows it masked.
    let p = hub.publish(Actor::System, ticket_event(&t.id)).await.unwrap();
    let deliveries = settle(&hub, &p.id).await;
    let got = rx.wait_received("/ok", 1, Duration::from_secs(10)).await;
    assert_eq!(got[0].headers["x-api-key"], RECEIVER_TOKEN, "[{n}]");
    let (s, detail, text) = api.call_text("GET", &format!("/deliveries/{}", deliveries[0].id), &reader, None).await;
    assert_eq!(s, 200, "[{n}] {text}");
    assert!(!text.contains(RECEIVER_TOKEN), "[{n}] {text}");
    let sent = &detail["attempt_log"][0]["request_headers"];
    assert!(sent.as_array().unwrap().contains(&json!(["x-api-key", HEADER_MASK])), "[{n}] {sent}");

    // Test-fire: sent for real, recorded and answered masked.
    let (s, fired, text) = api.call_text("POST", &format!("/webhooks/{id}/test"), &writer, Some(json!({}))).await;
    assert_eq!(s, 200, "[{n}] {text}");
    assert!(!text.contains(RECEIVER_TOKEN), "[{n}] {text}");
    assert!(fired["attempt"]["request_headers"].as_array().unwrap().contains(&json!(["x-api-key", HEADER_MASK])));
    assert_eq!(
        rx.wait_received("/ok", 2, Duration::from_secs(10)).await[1].headers["x-api-key"],
        RECEIVER_TOKEN,
        "[{n}]"
    );

    // An update sending the mask keeps the value; a new value replaces it.
    let reveal = || async {
        let (_, shown, _) = api.call_text("GET", &format!("/webhooks/{id}/headers"), &writer, None).await;
        shown["headers"].clone()
    };
    let keep = json!({"name": "renamed", "headers": {"X-Api-Key": HEADER_MASK, "X-Team": "blue"}});
    let (s, patched, text) = api.call_text("PATCH", &format!("/webhooks/{id}"), &writer, Some(keep)).await;
    assert_eq!(s, 200, "[{n}] {text}");
    assert_eq!(patched["headers"], json!({"X-Api-Key": HEADER_MASK, "X-Team": HEADER_MASK}), "[{n}]");
    assert_eq!(reveal().await, json!({"X-Api-Key": RECEIVER_TOKEN, "X-Team": "blue"}), "[{n}]");
    let change = json!({"headers": {"X-Api-Key": "rcv-token-2", "X-Team": HEADER_MASK}});
    let (s, _, text) = api.call_text("PATCH", &format!("/webhooks/{id}"), &writer, Some(change)).await;
    assert_eq!(s, 200, "[{n}] {text}");
    assert_eq!(reveal().await, json!({"X-Api-Key": "rcv-token-2", "X-Team": "blue"}), "[{n}]");
    // The mask for a header that has no stored value is a field error, not a header sent as "••••••".
    let unknown = json!({"headers": {"X-New": HEADER_MASK}});
    let (s, err, _) = api.call_text("PATCH", &format!("/webhooks/{id}"), &writer, Some(unknown)).await;
    assert_eq!((s, err["error"]["fields"][0]["field"].as_str()), (422, Some("headers")), "[{n}] {err}");
    worker.stop().await;
}

backend_tests!(a_sealed_value_copied_into_another_endpoint_row_does_not_open_there);
async fn a_sealed_value_copied_into_another_endpoint_row_does_not_open_there(b: Backend) {
    sqlx::any::install_default_drivers();
    let n = b.name;
    let hub = common::hub(&b).await;
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let mk = |path: &str| CreateWebhook {
        headers: [("X-Api-Key".to_string(), RECEIVER_TOKEN.to_string())].into(),
        ..hook(&rx, path, &t.id)
    };
    let a = hub.create_webhook(Actor::System, mk("/ok/a")).await.unwrap();
    let victim = hub.create_webhook(Actor::System, mk("/ok/b")).await.unwrap();
    // Someone with write access to the database (not the key) copies A's sealed values into B's row.
    for col in ["secret_sealed", "headers"] {
        let value = column(&b.url, col, &a.id).await.unwrap();
        set_column(&b.url, col, &victim.id, &value).await;
    }
    let sealed = hub.store.webhook_secrets(&victim.id).await.unwrap().unwrap();
    assert!(hub.open_secrets(&sealed).is_err(), "[{n}] a copied secret opened");
    let mut stored = hub.store.webhook_for_send(&victim.id).await.unwrap().unwrap().0;
    assert!(hub.open_headers(&mut stored).is_err(), "[{n}] a copied header value opened");
    // A's own values still open.
    assert!(hub.open_secrets(&hub.store.webhook_secrets(&a.id).await.unwrap().unwrap()).is_ok(), "[{n}]");

    // The worker does not send with it: no request, no attempt counted (the delivery waits for the value to
    // be fixed, or is given up; it is never sent signed with another endpoint's secret).
    let worker = common::Worker::start(&hub);
    let p = hub.publish(Actor::System, ticket_event(&t.id)).await.unwrap();
    assert_eq!(rx.wait_received("/ok/a", 1, Duration::from_secs(10)).await.len(), 1, "[{n}]");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.received("/ok/b").is_empty(), "[{n}] sent with a copied secret");
    let ev = hub.get_event(Actor::System, &p.id).await.unwrap();
    let d = ev.deliveries.iter().find(|d| d.webhook_id == victim.id).unwrap();
    assert_eq!(d.attempts, 0, "[{n}] {d:?}");
    // A secret that does not open is not a verdict: the delivery waits, it is not cancelled.
    assert_eq!(d.status, DeliveryStatus::Pending, "[{n}] {d:?}");
    worker.stop().await;
}

backend_tests!(a_database_with_v1_secrets_and_clear_headers_is_resealed_at_open_and_still_delivers);
async fn a_database_with_v1_secrets_and_clear_headers_is_resealed_at_open_and_still_delivers(b: Backend) {
    sqlx::any::install_default_drivers();
    let n = b.name;
    let hub = common::hub(&b).await;
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let w = hub.create_webhook(Actor::System, hook(&rx, "/ok/legacy", &t.id)).await.unwrap();
    drop(hub);
    // What an older hub wrote: v1 secrets (current and previous, in its grace period), clear headers.
    let previous = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    set_column(&b.url, "secret_sealed", &w.id, &seal_v1(SECRET)).await;
    set_column(&b.url, "previous_secret_sealed", &w.id, &seal_v1(previous)).await;
    let expires = integration_hub::server::store::now_ms() + 3_600_000;
    let mut conn = sqlx::AnyConnection::connect(&b.url).await.unwrap();
    sqlx::query("UPDATE webhooks SET previous_secret_expires_at = $2 WHERE id = $1")
        .bind(&w.id)
        .bind(expires)
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    set_column(&b.url, "headers", &w.id, &json!({"X-Api-Key": RECEIVER_TOKEN}).to_string()).await;

    let hub = Hub::open(common::config(&b.url)).await.unwrap_or_else(|e| panic!("[{n}] open: {e}"));
    for col in ["secret_sealed", "previous_secret_sealed"] {
        let v = column(&b.url, col, &w.id).await.unwrap();
        assert!(v.starts_with("v2:"), "[{n}] {col}: {v}");
    }
    let headers = column(&b.url, "headers", &w.id).await.unwrap();
    assert!(!headers.contains(RECEIVER_TOKEN), "[{n}] {headers}");
    // Opening again changes nothing more (and the start check opens the v2 values).
    drop(hub);
    let hub = Hub::open(common::config(&b.url)).await.unwrap_or_else(|e| panic!("[{n}] reopen: {e}"));
    assert_eq!(column(&b.url, "headers", &w.id).await.unwrap(), headers, "[{n}]");

    let worker = common::Worker::start(&hub);
    hub.publish(Actor::System, ticket_event(&t.id)).await.unwrap();
    let got = rx.wait_received("/ok/legacy", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "[{n}]");
    assert_eq!(got[0].headers["x-api-key"], RECEIVER_TOKEN, "[{n}]");
    assert_eq!((signatures_by(SECRET, &got[0]), signatures_by(previous, &got[0])), (1, 1), "[{n}]");
    worker.stop().await;
}
