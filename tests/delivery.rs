//! The delivery worker against a real receiver on 127.0.0.1, on every backend: signing (checked by an
//! independent implementation), retries with exact attempt counts, dead-letter, 410, Retry-After, form bodies,
//! templates, custom headers, secret rotation, response truncation and timeouts.

mod common;

use common::fixtures::{add_hook, hook, publish_ticket, retrying_hook, settle, signatures_by, ticket};
use common::receiver::Receiver;
use common::{Backend, Worker};
use integration_hub::model::{
    ContentType, Delivery, DeliveryListQuery, DeliveryStatus, ErrorKind, RotateWebhookSecret, Webhook,
};
use integration_hub::server::service::{Actor, AppState};
use std::time::Duration;

/// Ten endpoints of one tenant, each answering its own way, and one `ticket.created` event published to them all
/// and settled (the worker goes on running).
struct Delivered {
    hub: AppState,
    worker: Worker,
    rx: Receiver,
    tenant: String,
    event: String,
    deliveries: Vec<Delivery>,
    ok: Webhook,
    flaky: Webhook,
    dead: Webhook,
    gone: Webhook,
    limited: Webhook,
    broken: Webhook,
    slow: Webhook,
    big: Webhook,
}

impl Delivered {
    fn by_hook(&self, hook: &Webhook) -> Delivery {
        self.deliveries.iter().find(|d| d.webhook_id == hook.id).unwrap().clone()
    }
}

async fn deliver_to_every_kind_of_endpoint(b: &Backend) -> Delivered {
    let hub = common::hub(b).await;
    let worker = Worker::start(&hub);
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let mut ok = retrying_hook(&rx, "/ok", &t, 3);
    ok.headers.insert("X-Tenant-Ref".into(), "acme-42".into());
    let ok = add_hook(&hub, ok).await;
    let flaky = add_hook(&hub, retrying_hook(&rx, "/flaky/2", &t, 3)).await;
    let dead = add_hook(&hub, retrying_hook(&rx, "/fail", &t, 2)).await;
    let gone = add_hook(&hub, retrying_hook(&rx, "/gone", &t, 5)).await;
    let limited = add_hook(&hub, retrying_hook(&rx, "/limited", &t, 3)).await;
    let mut form = retrying_hook(&rx, "/ok/form", &t, 0);
    form.content_type = Some(ContentType::Form);
    add_hook(&hub, form).await;
    let mut templ = retrying_hook(&rx, "/ok/template", &t, 0);
    templ.template = Some(r#"{"text": "New ticket: {{ data.ticket.subject }}"}"#.into());
    add_hook(&hub, templ).await;
    let mut broken = retrying_hook(&rx, "/ok/broken", &t, 0);
    broken.template = Some("{{ data.nothing.here }}".into());
    let broken = add_hook(&hub, broken).await;
    let slow = add_hook(&hub, retrying_hook(&rx, "/slow/3000", &t, 0)).await;
    let big = add_hook(&hub, retrying_hook(&rx, "/big", &t, 0)).await;

    let p = hub.publish(Actor::System, common::fixtures::ticket_event(&t)).await.unwrap();
    assert_eq!(p.matched, 10, "[{}]", b.name);
    let deliveries = settle(&hub, &p.id).await;
    Delivered { hub, worker, rx, tenant: t, event: p.id, deliveries, ok, flaky, dead, gone, limited, broken, slow, big }
}

backend_tests!(a_delivery_is_signed_and_carries_the_hubs_headers_and_the_endpoints_own);
async fn a_delivery_is_signed_and_carries_the_hubs_headers_and_the_endpoints_own(b: Backend) {
    let n = b.name;
    let s = deliver_to_every_kind_of_endpoint(&b).await;
    let (hub, rx) = (&s.hub, &s.rx);
    // Signed (checked independently), stable ids, the hub's headers and the endpoint's own.
    let d = s.by_hook(&s.ok);
    assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Success, 1, Some(200)), "[{n}]");
    let got = rx.received("/ok");
    assert_eq!(got.len(), 1, "[{n}]");
    let r = &got[0];
    let secret = hub.webhook_secret(Actor::System, &s.ok.id).await.unwrap().secret;
    assert_eq!(signatures_by(&secret, r), 1, "[{n}] signature verifies");
    assert_eq!(
        (r.headers["webhook-id"].as_str(), r.headers["x-webhook-id"].as_str()),
        (s.event.as_str(), s.event.as_str()),
        "[{n}]"
    );
    assert_eq!(r.headers["x-webhook-event"], "ticket.created", "[{n}]");
    assert_eq!(r.headers["x-tenant-ref"], "acme-42", "[{n}]");
    assert_eq!(r.headers["content-type"], "application/json", "[{n}]");
    assert!(r.headers["user-agent"].starts_with("IntegrationHub/"), "[{n}]");
    assert!(r.headers["x-webhook-signature"].starts_with("v1="), "[{n}]");
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((body["id"].as_str(), body["data"].clone()), (Some(s.event.as_str()), ticket()), "[{n}]");
    s.worker.stop().await;
}

backend_tests!(failed_sends_are_retried_dead_lettered_or_given_up_as_the_answer_says);
async fn failed_sends_are_retried_dead_lettered_or_given_up_as_the_answer_says(b: Backend) {
    let n = b.name;
    let s = deliver_to_every_kind_of_endpoint(&b).await;
    let (hub, rx) = (&s.hub, &s.rx);
    // Retries with exact attempt counts; the webhook-id stays the same across them.
    let d = s.by_hook(&s.flaky);
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 3), "[{n}]");
    let attempts = hub.store.attempts_for(&d.id).await.unwrap();
    let codes: Vec<_> = attempts.iter().map(|a| a.response_status).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(200)], "[{n}]");
    assert!(attempts[0].next_retry_at.is_some() && attempts[2].next_retry_at.is_none(), "[{n}]");
    let ids: Vec<_> = rx.received("/flaky/2").iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert_eq!(ids, vec![s.event.clone(); 3], "[{n}]");

    // Dead letter after 1 + max_retries attempts.
    let d = s.by_hook(&s.dead);
    assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Failed, 3, Some(500)), "[{n}]");
    assert_eq!(rx.received("/fail").len(), 3, "[{n}]");

    // 410 Gone: failed at once and the endpoint is switched off with the reason.
    let d = s.by_hook(&s.gone);
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1), "[{n}]");
    let g = hub.get_webhook(&Actor::System, &s.gone.id).await.unwrap();
    assert!(!g.is_active && g.disabled_reason.as_deref().unwrap().contains("410"), "[{n}]");

    // 429 with Retry-After: retried, then delivered.
    let d = s.by_hook(&s.limited);
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 2), "[{n}]");

    // Counters on the endpoint.
    let w = hub.get_webhook(&Actor::System, &s.dead.id).await.unwrap();
    assert_eq!((w.total_failed, w.total_delivered), (1, 0), "[{n}]");
    assert!(w.last_error.is_some() && w.last_triggered_at.is_some(), "[{n}]");

    // The engine's metrics saw it all.
    let text = hub.metrics.render(0);
    assert!(!text.contains("hub_deliveries_total{outcome=\"success\"} 0"), "[{n}] {text}");
    assert!(text.contains("hub_deliveries_total{outcome=\"failed\"}"), "[{n}]");
    s.worker.stop().await;
}

backend_tests!(form_bodies_and_templates_shape_what_is_sent);
async fn form_bodies_and_templates_shape_what_is_sent(b: Backend) {
    let n = b.name;
    let s = deliver_to_every_kind_of_endpoint(&b).await;
    let (hub, rx) = (&s.hub, &s.rx);
    let f = &rx.received("/ok/form")[0];
    assert_eq!(f.headers["content-type"], "application/x-www-form-urlencoded", "[{n}]");
    assert!(f.body.starts_with("payload=%7B"), "[{n}] {}", f.body);
    assert_eq!(rx.received("/ok/template")[0].body, r#"{"text": "New ticket: Printer on fire"}"#, "[{n}]");
    let d = s.by_hook(&s.broken);
    assert_eq!(d.status, DeliveryStatus::Failed, "[{n}]");
    let a = hub.store.attempts_for(&d.id).await.unwrap();
    assert_eq!(a[0].error_kind, Some(ErrorKind::Template), "[{n}]");
    assert!(rx.received("/ok/broken").is_empty(), "[{n}] nothing sent when the template fails");
    s.worker.stop().await;
}

backend_tests!(timeouts_and_truncated_responses_are_recorded_as_such);
async fn timeouts_and_truncated_responses_are_recorded_as_such(b: Backend) {
    let n = b.name;
    let s = deliver_to_every_kind_of_endpoint(&b).await;
    let hub = &s.hub;
    let a = hub.store.attempts_for(&s.by_hook(&s.slow).id).await.unwrap();
    assert_eq!(a[0].error_kind, Some(ErrorKind::Timeout), "[{n}] {:?}", a[0]);
    let a = hub.store.attempts_for(&s.by_hook(&s.big).id).await.unwrap();
    assert!(a[0].response_truncated && a[0].response_body.as_ref().unwrap().len() == 64 * 1024, "[{n}]");
    s.worker.stop().await;
}

backend_tests!(dead_letters_are_listed_replayed_and_recovered_with_their_history_kept);
async fn dead_letters_are_listed_replayed_and_recovered_with_their_history_kept(b: Backend) {
    let n = b.name;
    let s = deliver_to_every_kind_of_endpoint(&b).await;
    let (hub, rx) = (&s.hub, &s.rx);
    // The log: filters, detail with attempts; replay and recover of dead letters.
    let q = DeliveryListQuery {
        status: Some(DeliveryStatus::Failed),
        webhook_id: Some(s.dead.id.clone()),
        ..Default::default()
    };
    let failed = hub.list_deliveries(Actor::System, q.clone()).await.unwrap();
    assert_eq!(failed.len(), 1, "[{n}]");
    let detail = hub.get_delivery(&Actor::System, &failed[0].id).await.unwrap();
    assert_eq!(detail.attempt_log.len(), 3, "[{n}]");
    let replay = hub.replay_delivery(Actor::System, &failed[0].id).await.unwrap();
    assert_ne!(replay.id, failed[0].id, "[{n}]");
    settle(hub, &s.event).await;
    assert_eq!(rx.received("/fail").len(), 6, "[{n}] the replay ran the full retry policy again");
    // The original was replayed already: recovering sends only its replay, which failed too.
    assert_eq!(hub.recover_webhook(Actor::System, &s.dead.id, 0).await.unwrap(), 1, "[{n}]");
    settle(hub, &s.event).await;
    assert_eq!(rx.received("/fail").len(), 9, "[{n}]");
    assert_eq!(hub.list_deliveries(Actor::System, q).await.unwrap().len(), 3, "[{n}] history kept");
    s.worker.stop().await;
}

backend_tests!(a_rotated_secret_and_the_previous_one_both_sign_during_the_grace_period);
async fn a_rotated_secret_and_the_previous_one_both_sign_during_the_grace_period(b: Backend) {
    let n = b.name;
    let s = deliver_to_every_kind_of_endpoint(&b).await;
    let (hub, rx) = (&s.hub, &s.rx);
    let old = hub.webhook_secret(Actor::System, &s.ok.id).await.unwrap().secret;
    let new = hub.rotate_webhook_secret(Actor::System, &s.ok.id, RotateWebhookSecret::default()).await.unwrap().secret;
    tokio::time::sleep(Duration::from_millis(2_100)).await; // the worker's endpoint cache expires
    let p2 = publish_ticket(hub, &s.tenant).await;
    settle(hub, &p2).await;
    let r = rx.received("/ok").into_iter().find(|r| r.headers["webhook-id"] == p2).unwrap();
    assert_eq!(r.headers["webhook-signature"].split(' ').count(), 2, "[{n}]");
    assert_eq!((signatures_by(&old, &r), signatures_by(&new, &r)), (1, 1), "[{n}]");
    s.worker.stop().await;
}

backend_tests!(a_response_body_with_a_nul_byte_is_recorded);
/// PostgreSQL text cannot hold a NUL byte: a receiver answering with one must not make the attempt unrecordable
/// (which would leave the delivery leased and retried forever). Both engines store the replacement character.
async fn a_response_body_with_a_nul_byte_is_recorded(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    hub.create_webhook(Actor::System, hook(&rx, "/nul", &t.id)).await.unwrap();
    let p = publish_ticket(&hub, &t.id).await;
    let d = settle(&hub, &p).await;
    assert_eq!((d[0].status, d[0].attempts), (DeliveryStatus::Success, 1), "[{n}]");
    let attempts = hub.store.attempts_for(&d[0].id).await.unwrap();
    assert_eq!(attempts[0].response_body.as_deref(), Some("ok\u{FFFD}done"), "[{n}]");
    worker.stop().await;
}
