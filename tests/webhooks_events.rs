//! Webhooks, the event catalog and publishing, on every backend: validation, CRUD, secrets, matching
//! (wildcards, filters), idempotency, batches, the transactional outbox, and tenant isolation.

mod common;

use common::fixtures::{issue_key, issue_unlimited_key, poll};
use common::Backend;
use integration_hub::model::filter::{Filter, FilterOp};
use integration_hub::model::{
    ApiKey, CreateWebhook, DeliveryStatus, ErrorCode, EventListQuery, PublishEvent, RotateWebhookSecret, Scope,
    UpdateWebhook, Webhook, WebhookListQuery,
};
use integration_hub::server::service::{Actor, AppState};
use integration_hub::server::store::testing::count_deliveries;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

fn hook(url: &str, events: &[&str]) -> CreateWebhook {
    CreateWebhook { url: url.into(), events: events.iter().map(|s| s.to_string()).collect(), ..Default::default() }
}

fn ticket(priority: &str) -> Value {
    json!({"id": "tkt_1", "resolved_at": "2026-11-24T06:00:00Z",
           "ticket": {"id": "tkt_1", "subject": "Printer on fire", "status": "open", "priority": priority}})
}

fn event(t: &str, data: Value) -> PublishEvent {
    PublishEvent { event_type: t.into(), data, ..Default::default() }
}

/// Acme and Globex, each with a key of every scope: `ak` of Acme, `gk` of Globex.
struct TwoKeys {
    hub: AppState,
    acme: String,
    ak: ApiKey,
    gk: ApiKey,
}

async fn two_keys(b: &Backend) -> TwoKeys {
    let hub = common::hub(b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
    let ak = issue_key(&hub, Some(&acme), &Scope::ALL).await.key;
    let gk = issue_key(&hub, Some(&globex), &Scope::ALL).await.key;
    TwoKeys { hub, acme, ak, gk }
}

/// Acme's endpoint for every ticket event, created with its key.
async fn tickets_endpoint(s: &TwoKeys) -> Webhook {
    s.hub.create_webhook(Actor::Key(&s.ak), hook("https://hooks.example.com/in", &["ticket.*"])).await.unwrap()
}

backend_tests!(an_invalid_webhook_is_refused_field_by_field_and_nothing_is_written);
async fn an_invalid_webhook_is_refused_field_by_field_and_nothing_is_written(b: Backend) {
    let n = b.name;
    let TwoKeys { hub, ak, .. } = two_keys(&b).await;
    // Every invalid field at once.
    let mut headers = BTreeMap::new();
    headers.insert("Content-Type".to_string(), "text/plain".to_string());
    headers.insert("bad header".to_string(), "x".to_string());
    let bad = CreateWebhook {
        url: "ftp://example.com/hook".into(),
        events: vec!["Ticket Created".into()],
        filters: vec![
            Filter { field: "data.x".into(), operator: FilterOp::Regex, value: json!("([") },
            Filter { field: "data.x".into(), operator: FilterOp::In, value: json!("not-a-list") },
        ],
        headers,
        secret: Some("nope".into()),
        template: Some("{{ data.x ".into()),
        max_retries: Some(11),
        retry_delay_seconds: Some(0),
        backoff_factor: Some(0.5),
        timeout_ms: Some(500),
        rate_limit_per_minute: Some(1_000_001),
        ..Default::default()
    };
    let err = hub.create_webhook(Actor::Key(&ak), bad).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed, "[{n}]");
    for f in [
        "url",
        "events",
        "filters.0",
        "filters.1",
        "headers",
        "secret",
        "template",
        "max_retries",
        "retry_delay_seconds",
        "backoff_factor",
        "timeout_ms",
        "rate_limit_per_minute",
    ] {
        assert!(err.field_message(f).is_some(), "[{n}] {f} missing in {err:?}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2100));
    let err = hub.create_webhook(Actor::Key(&ak), hook(&long, &["*"])).await.unwrap_err();
    assert!(err.field_message("url").is_some(), "[{n}]");
    // SSRF: private and metadata literals are refused at save time (127.0.0.1 is allowed in tests).
    for url in ["http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/", "http://[::ffff:10.0.0.1]/"] {
        let err = hub.create_webhook(Actor::Key(&ak), hook(url, &["*"])).await.unwrap_err();
        assert!(err.field_message("url").unwrap().contains("not a public"), "[{n}] {url}: {err:?}");
    }
    assert!(hub.list_webhooks(Actor::Key(&ak), Default::default()).await.unwrap().is_empty(), "[{n}]");
}

backend_tests!(a_new_webhook_gets_defaults_and_a_generated_secret_sealed_at_rest_and_rotatable);
async fn a_new_webhook_gets_defaults_and_a_generated_secret_sealed_at_rest_and_rotatable(b: Backend) {
    let n = b.name;
    let s = two_keys(&b).await;
    let (hub, ak) = (&s.hub, &s.ak);
    let w = tickets_endpoint(&s).await;
    assert_eq!(
        (w.name.as_str(), w.max_retries, w.retry_delay_seconds, w.timeout_ms),
        ("hooks.example.com", 3, 5, 30_000),
        "[{n}]"
    );
    assert_eq!((w.backoff_factor, w.rate_limit_per_minute, w.is_active), (1.5, 0, true), "[{n}] no rate limit");
    let secret = hub.webhook_secret(Actor::Key(ak), &w.id).await.unwrap();
    assert!(secret.secret.starts_with("whsec_") && secret.previous_secret.is_none(), "[{n}]");
    let sealed = hub.store.webhook_secrets(&w.id).await.unwrap().unwrap();
    assert!(!sealed.current.contains(&secret.secret[6..]), "[{n}] secret is encrypted at rest");
    let rotated = hub.rotate_webhook_secret(Actor::Key(ak), &w.id, RotateWebhookSecret::default()).await.unwrap();
    assert_ne!(rotated.secret, secret.secret, "[{n}]");
    assert_eq!(
        rotated.previous_secret.as_deref(),
        Some(secret.secret.as_str()),
        "[{n}] old one kept for the grace period"
    );
    // Every mutation, and every look at the secret, is audited.
    let audit = hub.store.list_audit(Some(&s.acme), 100).await.unwrap();
    for a in ["webhook.created", "webhook.secret_rotated", "webhook.secret_viewed"] {
        assert!(audit.iter().any(|x| x.action == a), "[{n}] {a}");
    }
}

backend_tests!(webhooks_are_updated_and_listed_by_status_type_search_and_cursor);
async fn webhooks_are_updated_and_listed_by_status_type_search_and_cursor(b: Backend) {
    let n = b.name;
    let s = two_keys(&b).await;
    let (hub, ak) = (&s.hub, &s.ak);
    let w = tickets_endpoint(&s).await;
    let patch = UpdateWebhook { name: Some("Helpdesk".into()), is_active: Some(false), ..Default::default() };
    let w2 = hub.update_webhook(Actor::Key(ak), &w.id, patch).await.unwrap();
    assert_eq!((w2.name.as_str(), w2.is_active), ("Helpdesk", false), "[{n}]");
    let bad_patch = UpdateWebhook { timeout_ms: Some(999_999), ..Default::default() };
    let err = hub.update_webhook(Actor::Key(ak), &w.id, bad_patch).await.unwrap_err();
    assert!(err.field_message("timeout_ms").is_some(), "[{n}]");
    for i in 0..3 {
        let crm = hook(&format!("https://crm{i}.example.com/"), &["contact.created"]);
        hub.create_webhook(Actor::Key(ak), crm).await.unwrap();
    }
    let count = |status: Option<&str>, et: Option<&str>, search: Option<&str>| {
        let q = WebhookListQuery {
            status: status.map(Into::into),
            event_type: et.map(Into::into),
            search: search.map(Into::into),
            ..Default::default()
        };
        async move { hub.list_webhooks(Actor::Key(ak), q).await.unwrap().len() }
    };
    assert_eq!(count(Some("disabled"), None, None).await, 1, "[{n}]");
    assert_eq!(count(Some("active"), None, None).await, 3, "[{n}]");
    assert_eq!(count(None, Some("ticket.closed"), None).await, 1, "[{n}]");
    assert_eq!(count(None, None, Some("CRM1")).await, 1, "[{n}]");
    let page1 =
        hub.list_webhooks(Actor::Key(ak), WebhookListQuery { limit: Some(2), ..Default::default() }).await.unwrap();
    let next = WebhookListQuery { limit: Some(2), cursor: Some(page1[1].id.clone()), ..Default::default() };
    let page2 = hub.list_webhooks(Actor::Key(ak), next).await.unwrap();
    assert_eq!((page1.len(), page2.len()), (2, 2), "[{n}]");
    assert!(page2.iter().all(|w| !page1.contains(w)), "[{n}] pages do not overlap");
    let audit = hub.store.list_audit(Some(&s.acme), 100).await.unwrap();
    assert!(audit.iter().any(|x| x.action == "webhook.disabled"), "[{n}] webhook.disabled");
}

backend_tests!(another_tenants_webhook_does_not_exist_for_them);
async fn another_tenants_webhook_does_not_exist_for_them(b: Backend) {
    let n = b.name;
    let s = two_keys(&b).await;
    let (hub, gk) = (&s.hub, &s.gk);
    let w = tickets_endpoint(&s).await;
    assert_eq!(hub.get_webhook(&Actor::Key(gk), &w.id).await.unwrap_err().code, ErrorCode::NotFound, "[{n}]");
    assert_eq!(hub.webhook_secret(Actor::Key(gk), &w.id).await.unwrap_err().code, ErrorCode::NotFound, "[{n}]");
    assert!(hub.list_webhooks(Actor::Key(gk), Default::default()).await.unwrap().is_empty(), "[{n}]");
    let err = hub.delete_webhook(Actor::Key(gk), &w.id).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound, "[{n}]");
}

/// Acme's endpoints — every ticket event (`all_tickets`), urgent created tickets (`urgent`), every event
/// (`everything`), contacts, large payments, one switched off — and one of Globex for every event; an unlimited
/// key of each tenant (`ak`, `gk`).
struct Routes {
    hub: AppState,
    acme: String,
    ak: ApiKey,
    gk: ApiKey,
    all_tickets: Webhook,
    urgent: Webhook,
    everything: Webhook,
}

async fn routes(b: &Backend) -> Routes {
    let hub = common::hub(b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
    let ak = issue_unlimited_key(&hub, Some(&acme), &Scope::ALL).await.key;
    let gk = issue_unlimited_key(&hub, Some(&globex), &Scope::ALL).await.key;
    let add = |url: &str, events: &[&str], tenant: &str, change: fn(&mut CreateWebhook)| {
        let mut h = CreateWebhook { tenant_id: Some(tenant.to_string()), ..hook(url, events) };
        change(&mut h);
        let hub = hub.clone();
        async move { hub.create_webhook(Actor::System, h).await.unwrap() }
    };
    let all_tickets = add("https://a.example.com/", &["ticket.*"], &acme, |_| {}).await;
    let urgent = add("https://b.example.com/", &["ticket.created"], &acme, |h| {
        h.filters = vec![Filter {
            field: "data.ticket.priority".into(),
            operator: FilterOp::In,
            value: json!(["high", "urgent"]),
        }]
    })
    .await;
    let everything = add("https://c.example.com/", &["*"], &acme, |_| {}).await;
    add("https://d.example.com/", &["contact.created"], &acme, |_| {}).await;
    add("https://e.example.com/", &["payment.completed"], &acme, |h| {
        h.filters = vec![Filter { field: "data.amount".into(), operator: FilterOp::GreaterThan, value: json!(1000) }]
    })
    .await;
    add("https://f.example.com/", &["*"], &acme, |h| h.is_active = Some(false)).await;
    // Globex's endpoint never sees Acme's events.
    add("https://g.example.com/", &["*"], &globex, |_| {}).await;
    Routes { hub, acme, ak, gk, all_tickets, urgent, everything }
}

backend_tests!(publishing_matches_event_types_filters_and_the_tenant);
async fn publishing_matches_event_types_filters_and_the_tenant(b: Backend) {
    let n = b.name;
    let Routes { hub, acme, ak, gk, all_tickets, urgent, everything } = routes(&b).await;
    let p = hub.publish(Actor::Key(&ak), event("ticket.created", ticket("high"))).await.unwrap();
    assert_eq!((p.matched, p.duplicate), (3, false), "[{n}]");
    let ev = hub.get_event(Actor::Key(&ak), &p.id).await.unwrap();
    let mut got: Vec<_> = ev.deliveries.iter().map(|d| d.webhook_id.clone()).collect();
    got.sort();
    let mut want = vec![all_tickets.id.clone(), urgent.id.clone(), everything.id.clone()];
    want.sort();
    assert_eq!(got, want, "[{n}]");
    assert!(ev.deliveries.iter().all(|d| d.status == DeliveryStatus::Pending), "[{n}]");
    let env = &ev.event.envelope;
    assert_eq!((env["id"].as_str(), env["type"].as_str()), (Some(p.id.as_str()), Some("ticket.created")), "[{n}]");
    assert_eq!(env["tenant_id"], json!(acme), "[{n}]");
    assert!(env["timestamp"].as_str().unwrap().ends_with('Z'), "[{n}]");
    assert_eq!(env["data"], ticket("high"), "[{n}]");

    let matched = |e: PublishEvent| {
        let (hub, ak) = (&hub, &ak);
        async move { hub.publish(Actor::Key(ak), e).await.unwrap().matched }
    };
    assert_eq!(matched(event("ticket.created", ticket("low"))).await, 2, "[{n}]");
    assert_eq!(matched(event("ticket.resolved", ticket("urgent"))).await, 2, "[{n}]");
    let pay = |amount: Value| {
        event(
            "payment.completed",
            json!({"id": "pay_1", "payment": {"id": "pay_1", "status": "succeeded", "amount": amount, "currency": "EUR"}, "amount": amount, "currency": "EUR"}),
        )
    };
    assert_eq!(matched(pay(json!(5000))).await, 2, "[{n}] > 1000 matches");
    assert_eq!(matched(pay(json!(10))).await, 1, "[{n}] only `*`");

    // Events list: by type, tenant-confined; another tenant cannot read it.
    let q = EventListQuery { event_type: Some("payment.completed".into()), ..Default::default() };
    assert_eq!(hub.list_events(Actor::Key(&ak), q).await.unwrap().len(), 2, "[{n}]");
    assert_eq!(hub.get_event(Actor::Key(&gk), &p.id).await.unwrap_err().code, ErrorCode::NotFound, "[{n}]");
}

backend_tests!(unknown_wrongly_shaped_and_archived_events_are_refused_and_write_nothing);
async fn unknown_wrongly_shaped_and_archived_events_are_refused_and_write_nothing(b: Backend) {
    let n = b.name;
    let Routes { hub, ak, .. } = routes(&b).await;
    // Catalog and schema: unknown types and wrong shapes are 422.
    let before = hub.list_events(Actor::Key(&ak), Default::default()).await.unwrap().len();
    let err = hub.publish(Actor::Key(&ak), event("ticket.exploded", json!({}))).await.unwrap_err();
    assert!(err.field_message("type").unwrap().contains("unknown event type"), "[{n}]");
    let err = hub.publish(Actor::Key(&ak), event("ticket.created", json!({"nope": 1}))).await.unwrap_err();
    assert_eq!(err.field_message("data"), Some("data.id is required"), "[{n}]");
    let mut archived = hub.store.get_event_type("sla.warning").await.unwrap().unwrap();
    archived.archived = true;
    hub.save_event_type(Actor::System, archived).await.unwrap();
    let err = hub.publish(Actor::Key(&ak), event("sla.warning", json!({}))).await.unwrap_err();
    assert!(err.field_message("type").unwrap().contains("archived"), "[{n}]");
    assert_eq!(hub.list_events(Actor::Key(&ak), Default::default()).await.unwrap().len(), before, "[{n}]");
}

backend_tests!(an_idempotency_key_publishes_once_per_tenant);
async fn an_idempotency_key_publishes_once_per_tenant(b: Backend) {
    let n = b.name;
    let Routes { hub, acme, ak, gk, .. } = routes(&b).await;
    // Same key, same tenant → the first event, nothing new; another tenant is separate.
    let mut idem = event("ticket.created", ticket("high"));
    idem.idempotency_key = Some("order-42".into());
    let first = hub.publish(Actor::Key(&ak), idem.clone()).await.unwrap();
    let deliveries = count_deliveries(&hub.store, &acme).await.unwrap();
    let again = hub.publish(Actor::Key(&ak), idem.clone()).await.unwrap();
    assert_eq!((again.id.as_str(), again.matched, again.duplicate), (first.id.as_str(), 3, true), "[{n}]");
    assert_eq!(count_deliveries(&hub.store, &acme).await.unwrap(), deliveries, "[{n}]");
    let other = hub.publish(Actor::Key(&gk), idem.clone()).await.unwrap();
    assert!(!other.duplicate && other.id != first.id, "[{n}]");
}

backend_tests!(a_batch_publishes_each_item_on_its_own);
async fn a_batch_publishes_each_item_on_its_own(b: Backend) {
    let n = b.name;
    let Routes { hub, ak, .. } = routes(&b).await;
    let items = vec![
        json!({"type": "ticket.created", "data": ticket("high")}),
        json!({"type": "nope.nope", "data": {}}),
        json!({"data": {}}),
    ];
    let results = hub.publish_batch(Actor::Key(&ak), items).await.unwrap();
    assert!(results[0].event.as_ref().is_some_and(|e| e.matched == 3), "[{n}]");
    assert_eq!(results[1].error.as_ref().unwrap().code, ErrorCode::ValidationFailed, "[{n}]");
    assert!(results[2].error.as_ref().unwrap().message.contains("type"), "[{n}]");
    // Two items with one idempotency key in one batch (committed together): one event, one duplicate.
    let twice = json!({"type": "ticket.created", "data": ticket("high"), "idempotency_key": "batch-twice"});
    let results = hub.publish_batch(Actor::Key(&ak), vec![twice.clone(), twice]).await.unwrap();
    let (one, two) = (results[0].event.as_ref().unwrap(), results[1].event.as_ref().unwrap());
    assert_eq!(one.id, two.id, "[{n}] both name the one event");
    assert_eq!(u8::from(one.duplicate) + u8::from(two.duplicate), 1, "[{n}] exactly one was written");
    let too_many = vec![json!({}); 101];
    assert!(hub.publish_batch(Actor::Key(&ak), too_many).await.is_err(), "[{n}]");
}

backend_tests!(a_disabled_endpoint_stops_matching_and_a_deleted_ones_deliveries_are_cancelled);
async fn a_disabled_endpoint_stops_matching_and_a_deleted_ones_deliveries_are_cancelled(b: Backend) {
    let n = b.name;
    let Routes { hub, ak, all_tickets, everything, .. } = routes(&b).await;
    let p = hub.publish(Actor::Key(&ak), event("ticket.created", ticket("high"))).await.unwrap();
    // A disabled endpoint stops matching at once (the routing index follows changes).
    let off = UpdateWebhook { is_active: Some(false), ..Default::default() };
    hub.update_webhook(Actor::System, &everything.id, off).await.unwrap();
    let low = hub.publish(Actor::Key(&ak), event("ticket.created", ticket("low"))).await.unwrap();
    assert_eq!(low.matched, 1, "[{n}]");

    // Deleting an endpoint cancels its pending deliveries; its history stays readable.
    hub.delete_webhook(Actor::System, &all_tickets.id).await.unwrap();
    let ev = hub.get_event(Actor::Key(&ak), &p.id).await.unwrap();
    let d = ev.deliveries.iter().find(|d| d.webhook_id == all_tickets.id).unwrap();
    assert_eq!(d.status, DeliveryStatus::Cancelled, "[{n}]");
}

backend_tests!(published_deliveries_survive_an_abrupt_end_of_the_process);
async fn published_deliveries_survive_an_abrupt_end_of_the_process(b: Backend) {
    let n = b.name;
    let Routes { hub, acme, ak, .. } = routes(&b).await;
    // The outbox: publish ten events (three endpoints match each), drop everything without closing, reopen the
    // database: every delivery row is there.
    let expected = count_deliveries(&hub.store, &acme).await.unwrap() + 30;
    for _ in 0..10 {
        hub.publish(Actor::Key(&ak), event("ticket.created", ticket("urgent"))).await.unwrap();
    }
    std::mem::forget(hub);
    let reopened = common::hub(&b).await;
    assert_eq!(count_deliveries(&reopened.store, &acme).await.unwrap(), expected, "[{n}]");
}

backend_tests!(postgres: routing_changes_reach_other_instances);
/// Two hub instances on one PostgreSQL database: a change made through one reaches the other's routing index
/// through LISTEN/NOTIFY (SQLite is single-instance, so this runs on PostgreSQL only).
async fn routing_changes_reach_other_instances(b: Backend) {
    let a = common::hub(&b).await;
    let other = common::hub(&b).await;
    let listener = tokio::spawn(other.clone().listen_for_changes());
    let t = a.create_tenant(Actor::System, "Acme").await.unwrap();
    let publish = || {
        let mut e = event("ticket.created", ticket("high"));
        e.tenant_id = Some(t.id.clone());
        let hub = other.clone();
        async move { hub.publish(Actor::System, e).await.unwrap().matched }
    };
    tokio::time::sleep(Duration::from_millis(300)).await; // listener connected
    assert_eq!(publish().await, 0, "index of the other instance is now cached and empty");
    let mut h = hook("https://a.example.com/", &["*"]);
    h.tenant_id = Some(t.id.clone());
    a.create_webhook(Actor::System, h).await.unwrap();
    let seen = poll(Duration::from_secs(5), publish, |seen| *seen == 1).await;
    assert_eq!(seen, 1, "the other instance learned of the new endpoint");
    listener.abort();
}

/// SQLite starts its WAL over only when a write begins with every frame copied back, which steady writes never
/// allow on their own: without the hub's help the WAL file grows with everything ever written. Publishing
/// ~300 MB of events from several producers at once, the WAL must stay a few tens of MB.
#[test]
fn sqlite_wal_stays_bounded_under_steady_publishing() {
    common::run(async {
        let b = common::sqlite();
        let wal = format!("{}-wal", b.url.trim_start_matches("sqlite://"));
        let hub = common::hub(&b).await;
        let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
        let mut h = hook("https://hooks.example.com/in", &["*"]);
        h.tenant_id = Some(t.id.clone());
        hub.create_webhook(Actor::System, h).await.unwrap();
        let blob = "x".repeat(200_000);
        let producers: Vec<_> = (0..6)
            .map(|_| {
                let (hub, tenant, blob) = (hub.clone(), t.id.clone(), blob.clone());
                tokio::spawn(async move {
                    for i in 0..250 {
                        let mut data = ticket("high");
                        data["blob"] = json!(blob);
                        data["id"] = json!(format!("t{i}"));
                        let mut e = event("ticket.created", data);
                        e.tenant_id = Some(tenant.clone());
                        hub.publish(Actor::System, e).await.unwrap();
                    }
                })
            })
            .collect();
        let mut largest = 0u64;
        while producers.iter().any(|p| !p.is_finished()) {
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        for p in producers {
            p.await.unwrap();
        }
        assert!(largest > 0, "the WAL file was never seen at {wal}");
        assert!(largest < 80 << 20, "the WAL grew to {} MB while ~300 MB were written", largest >> 20);
    });
}
