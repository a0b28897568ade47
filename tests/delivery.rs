//! The delivery worker against a real receiver on 127.0.0.1, on every backend: signing (checked by an
//! independent implementation), retries with exact attempt counts, dead-letter, 410, Retry-After, form bodies,
//! templates, custom headers, secret rotation, response truncation and timeouts.

mod common;

use base64::Engine;
use common::receiver::{Received, Receiver};
use hmac::{Hmac, Mac};
use integration_hub::model::{CreateWebhook, DeliveryStatus, ErrorKind, PublishEvent, RotateWebhookSecret};
use integration_hub::server::service::{Actor, AppState};
use serde_json::json;
use std::time::Duration;

/// Standard Webhooks verification written from the spec, not from the production code.
fn verify(secret: &str, r: &Received) -> usize {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let id = &r.headers["webhook-id"];
    let ts = &r.headers["webhook-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    r.headers["webhook-signature"].split(' ').filter(|s| *s == expected).count()
}

async fn settle(hub: &AppState, event_id: &str) -> Vec<integration_hub::model::Delivery> {
    for _ in 0..200 {
        let ev = hub.get_event(Actor::System, event_id).await.unwrap();
        if ev
            .deliveries
            .iter()
            .all(|d| matches!(d.status, DeliveryStatus::Success | DeliveryStatus::Failed | DeliveryStatus::Cancelled))
        {
            return ev.deliveries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries of {event_id} did not settle");
}

fn ticket() -> serde_json::Value {
    json!({"id": "tkt_1", "ticket": {"id": "tkt_1", "subject": "Printer on fire", "status": "open", "priority": "high"}})
}

#[test]
fn deliveries_are_signed_retried_and_recorded() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let worker = common::Worker::start(&hub);
            let rx = Receiver::start().await;
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let mk = |path: &str, retries: u32| CreateWebhook {
                url: rx.url(path),
                events: vec!["ticket.*".into()],
                tenant_id: Some(t.id.clone()),
                max_retries: Some(retries),
                retry_delay_seconds: Some(1),
                timeout_ms: Some(1_000),
                ..Default::default()
            };
            let mut ok = mk("/ok", 3);
            ok.headers.insert("X-Tenant-Ref".into(), "acme-42".into());
            let ok = hub.create_webhook(Actor::System, ok).await.unwrap();
            let flaky = hub.create_webhook(Actor::System, mk("/flaky/2", 3)).await.unwrap();
            let dead = hub.create_webhook(Actor::System, mk("/fail", 2)).await.unwrap();
            let gone = hub.create_webhook(Actor::System, mk("/gone", 5)).await.unwrap();
            let limited = hub.create_webhook(Actor::System, mk("/limited", 3)).await.unwrap();
            let mut form = mk("/ok/form", 0);
            form.content_type = Some(integration_hub::model::ContentType::Form);
            hub.create_webhook(Actor::System, form).await.unwrap();
            let mut templ = mk("/ok/template", 0);
            templ.template = Some(r#"{"text": "New ticket: {{ data.ticket.subject }}"}"#.into());
            hub.create_webhook(Actor::System, templ).await.unwrap();
            let mut broken = mk("/ok/broken", 0);
            broken.template = Some("{{ data.nothing.here }}".into());
            let broken = hub.create_webhook(Actor::System, broken).await.unwrap();
            let slow = hub.create_webhook(Actor::System, mk("/slow/3000", 0)).await.unwrap();
            let big = hub.create_webhook(Actor::System, mk("/big", 0)).await.unwrap();

            let ev = PublishEvent {
                event_type: "ticket.created".into(),
                data: ticket(),
                tenant_id: Some(t.id.clone()),
                ..Default::default()
            };
            let p = hub.publish(Actor::System, ev).await.unwrap();
            assert_eq!(p.matched, 10, "[{n}]");
            let deliveries = settle(&hub, &p.id).await;
            let by_hook = |id: &str| deliveries.iter().find(|d| d.webhook_id == id).unwrap().clone();

            // Success: signed (checked independently), stable ids, the hub's headers and the endpoint's own.
            let d = by_hook(&ok.id);
            assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Success, 1, Some(200)), "[{n}]");
            let got = rx.received("/ok");
            assert_eq!(got.len(), 1, "[{n}]");
            let r = &got[0];
            let secret = hub.webhook_secret(Actor::System, &ok.id).await.unwrap().secret;
            assert_eq!(verify(&secret, r), 1, "[{n}] signature verifies");
            assert_eq!(
                (r.headers["webhook-id"].as_str(), r.headers["x-webhook-id"].as_str()),
                (p.id.as_str(), p.id.as_str()),
                "[{n}]"
            );
            assert_eq!(r.headers["x-webhook-event"], "ticket.created", "[{n}]");
            assert_eq!(r.headers["x-tenant-ref"], "acme-42", "[{n}]");
            assert_eq!(r.headers["content-type"], "application/json", "[{n}]");
            assert!(r.headers["user-agent"].starts_with("IntegrationHub/"), "[{n}]");
            assert!(r.headers["x-webhook-signature"].starts_with("v1="), "[{n}]");
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!((body["id"].as_str(), body["data"].clone()), (Some(p.id.as_str()), ticket()), "[{n}]");

            // Retries with exact attempt counts; the webhook-id stays the same across them.
            let d = by_hook(&flaky.id);
            assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 3), "[{n}]");
            let attempts = hub.store.attempts_for(&d.id).await.unwrap();
            let codes: Vec<_> = attempts.iter().map(|a| a.response_status).collect();
            assert_eq!(codes, [Some(500), Some(500), Some(200)], "[{n}]");
            assert!(attempts[0].next_retry_at.is_some() && attempts[2].next_retry_at.is_none(), "[{n}]");
            let ids: Vec<_> = rx.received("/flaky/2").iter().map(|r| r.headers["webhook-id"].clone()).collect();
            assert_eq!(ids, vec![p.id.clone(); 3], "[{n}]");

            // Dead letter after 1 + max_retries attempts.
            let d = by_hook(&dead.id);
            assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Failed, 3, Some(500)), "[{n}]");
            assert_eq!(rx.received("/fail").len(), 3, "[{n}]");

            // 410 Gone: failed at once and the endpoint is switched off with the reason.
            let d = by_hook(&gone.id);
            assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1), "[{n}]");
            let g = hub.get_webhook(&Actor::System, &gone.id).await.unwrap();
            assert!(!g.is_active && g.disabled_reason.as_deref().unwrap().contains("410"), "[{n}]");

            // 429 with Retry-After: retried, then delivered.
            let d = by_hook(&limited.id);
            assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 2), "[{n}]");

            // Form bodies and templates.
            let f = &rx.received("/ok/form")[0];
            assert_eq!(f.headers["content-type"], "application/x-www-form-urlencoded", "[{n}]");
            assert!(f.body.starts_with("payload=%7B"), "[{n}] {}", f.body);
            assert_eq!(rx.received("/ok/template")[0].body, r#"{"text": "New ticket: Printer on fire"}"#, "[{n}]");
            let d = by_hook(&broken.id);
            assert_eq!(d.status, DeliveryStatus::Failed, "[{n}]");
            let a = hub.store.attempts_for(&d.id).await.unwrap();
            assert_eq!(a[0].error_kind, Some(ErrorKind::Template), "[{n}]");
            assert!(rx.received("/ok/broken").is_empty(), "[{n}] nothing sent when the template fails");

            // Timeouts and truncated responses are recorded as such.
            let a = hub.store.attempts_for(&by_hook(&slow.id).id).await.unwrap();
            assert_eq!(a[0].error_kind, Some(ErrorKind::Timeout), "[{n}] {:?}", a[0]);
            let a = hub.store.attempts_for(&by_hook(&big.id).id).await.unwrap();
            assert!(a[0].response_truncated && a[0].response_body.as_ref().unwrap().len() == 64 * 1024, "[{n}]");

            // Counters on the endpoint.
            let w = hub.get_webhook(&Actor::System, &dead.id).await.unwrap();
            assert_eq!((w.total_failed, w.total_delivered), (1, 0), "[{n}]");
            assert!(w.last_error.is_some() && w.last_triggered_at.is_some(), "[{n}]");

            // The log: filters, detail with attempts; replay and recover of dead letters.
            let q = integration_hub::model::DeliveryListQuery {
                status: Some(DeliveryStatus::Failed),
                webhook_id: Some(dead.id.clone()),
                ..Default::default()
            };
            let failed = hub.list_deliveries(Actor::System, q.clone()).await.unwrap();
            assert_eq!(failed.len(), 1, "[{n}]");
            let detail = hub.get_delivery(&Actor::System, &failed[0].id).await.unwrap();
            assert_eq!(detail.attempt_log.len(), 3, "[{n}]");
            let replay = hub.replay_delivery(Actor::System, &failed[0].id).await.unwrap();
            assert_ne!(replay.id, failed[0].id, "[{n}]");
            settle(&hub, &p.id).await;
            assert_eq!(rx.received("/fail").len(), 6, "[{n}] the replay ran the full retry policy again");
            // The original was replayed already: recovering sends only its replay, which failed too.
            assert_eq!(hub.recover_webhook(Actor::System, &dead.id, 0).await.unwrap(), 1, "[{n}]");
            settle(&hub, &p.id).await;
            assert_eq!(rx.received("/fail").len(), 9, "[{n}]");
            assert_eq!(hub.list_deliveries(Actor::System, q).await.unwrap().len(), 3, "[{n}] history kept");

            // Secret rotation: both signatures are sent during the grace period, each verifies.
            let old = hub.webhook_secret(Actor::System, &ok.id).await.unwrap().secret;
            let new =
                hub.rotate_webhook_secret(Actor::System, &ok.id, RotateWebhookSecret::default()).await.unwrap().secret;
            tokio::time::sleep(Duration::from_millis(2_100)).await; // the worker's endpoint cache expires
            let ev = PublishEvent {
                event_type: "ticket.created".into(),
                data: ticket(),
                tenant_id: Some(t.id.clone()),
                ..Default::default()
            };
            let p2 = hub.publish(Actor::System, ev).await.unwrap();
            settle(&hub, &p2.id).await;
            let r = rx.received("/ok").into_iter().find(|r| r.headers["webhook-id"] == p2.id).unwrap();
            assert_eq!(r.headers["webhook-signature"].split(' ').count(), 2, "[{n}]");
            assert_eq!((verify(&old, &r), verify(&new, &r)), (1, 1), "[{n}]");

            // The engine's metrics saw it all.
            let text = hub.metrics.render(0);
            assert!(!text.contains("hub_deliveries_total{outcome=\"success\"} 0"), "[{n}] {text}");
            assert!(text.contains("hub_deliveries_total{outcome=\"failed\"}"), "[{n}]");

            worker.stop().await;
        }
    });
}

/// PostgreSQL text cannot hold a NUL byte: a receiver answering with one must not make the attempt unrecordable
/// (which would leave the delivery leased and retried forever). Both engines store the replacement character.
#[test]
fn a_response_body_with_a_nul_byte_is_recorded() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let worker = common::Worker::start(&hub);
            let rx = Receiver::start().await;
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let hook = CreateWebhook {
                url: rx.url("/nul"),
                events: vec!["ticket.*".into()],
                tenant_id: Some(t.id.clone()),
                ..Default::default()
            };
            hub.create_webhook(Actor::System, hook).await.unwrap();
            let ev = PublishEvent {
                event_type: "ticket.created".into(),
                data: ticket(),
                tenant_id: Some(t.id.clone()),
                ..Default::default()
            };
            let p = hub.publish(Actor::System, ev).await.unwrap();
            let d = settle(&hub, &p.id).await;
            assert_eq!((d[0].status, d[0].attempts), (DeliveryStatus::Success, 1), "[{n}]");
            let attempts = hub.store.attempts_for(&d[0].id).await.unwrap();
            assert_eq!(attempts[0].response_body.as_deref(), Some("ok\u{FFFD}done"), "[{n}]");
            worker.stop().await;
        }
    });
}
