//! Webhooks, the event catalog and publishing, on every backend: validation, CRUD, secrets, matching
//! (wildcards, filters), idempotency, batches, the transactional outbox, and tenant isolation.

mod common;

use integration_hub::model::filter::{Filter, FilterOp};
use integration_hub::model::{
    CreateApiKey, CreateWebhook, ErrorCode, EventListQuery, PublishEvent, RateTier, RotateWebhookSecret, Scope,
    UpdateWebhook, WebhookListQuery,
};
use integration_hub::server::service::Actor;
use serde_json::{json, Value};
use std::collections::BTreeMap;

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

#[test]
fn webhook_validation_and_crud() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
            let ak = hub
                .create_api_key(
                    Actor::System,
                    CreateApiKey {
                        name: "a".into(),
                        tenant_id: Some(acme.id.clone()),
                        scopes: Scope::ALL.to_vec(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .key;
            let gk = hub
                .create_api_key(
                    Actor::System,
                    CreateApiKey {
                        name: "g".into(),
                        tenant_id: Some(globex.id.clone()),
                        scopes: Scope::ALL.to_vec(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .key;

            // Every invalid field at once, nothing written.
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
                rate_limit_per_minute: Some(0),
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
            assert!(hub
                .create_webhook(Actor::Key(&ak), hook(&long, &["*"]))
                .await
                .unwrap_err()
                .field_message("url")
                .is_some());
            // SSRF: private and metadata literals are refused at save time (127.0.0.1 is allowed in tests).
            for url in
                ["http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/", "http://[::ffff:10.0.0.1]/"]
            {
                let err = hub.create_webhook(Actor::Key(&ak), hook(url, &["*"])).await.unwrap_err();
                assert!(err.field_message("url").unwrap().contains("not a public"), "[{n}] {url}: {err:?}");
            }
            assert!(hub.list_webhooks(Actor::Key(&ak), Default::default()).await.unwrap().is_empty(), "[{n}]");

            // Defaults, generated secret, sealed at rest.
            let w =
                hub.create_webhook(Actor::Key(&ak), hook("https://hooks.example.com/in", &["ticket.*"])).await.unwrap();
            assert_eq!(
                (w.name.as_str(), w.max_retries, w.retry_delay_seconds, w.timeout_ms),
                ("hooks.example.com", 3, 5, 30_000),
                "[{n}]"
            );
            assert_eq!((w.backoff_factor, w.rate_limit_per_minute, w.is_active), (1.5, 60, true), "[{n}]");
            let secret = hub.webhook_secret(Actor::Key(&ak), &w.id).await.unwrap();
            assert!(secret.secret.starts_with("whsec_") && secret.previous_secret.is_none(), "[{n}]");
            let sealed = hub.store.webhook_secrets(&w.id).await.unwrap().unwrap();
            assert!(!sealed.current.contains(&secret.secret[6..]), "[{n}] secret is encrypted at rest");
            let rotated =
                hub.rotate_webhook_secret(Actor::Key(&ak), &w.id, RotateWebhookSecret::default()).await.unwrap();
            assert_ne!(rotated.secret, secret.secret, "[{n}]");
            assert_eq!(
                rotated.previous_secret.as_deref(),
                Some(secret.secret.as_str()),
                "[{n}] old one kept for the grace period"
            );

            // Update, list filters, cursor.
            let patch = UpdateWebhook { name: Some("Helpdesk".into()), is_active: Some(false), ..Default::default() };
            let w2 = hub.update_webhook(Actor::Key(&ak), &w.id, patch).await.unwrap();
            assert_eq!((w2.name.as_str(), w2.is_active), ("Helpdesk", false), "[{n}]");
            let bad_patch = UpdateWebhook { timeout_ms: Some(999_999), ..Default::default() };
            assert!(hub
                .update_webhook(Actor::Key(&ak), &w.id, bad_patch)
                .await
                .unwrap_err()
                .field_message("timeout_ms")
                .is_some());
            for i in 0..3 {
                hub.create_webhook(
                    Actor::Key(&ak),
                    hook(&format!("https://crm{i}.example.com/"), &["contact.created"]),
                )
                .await
                .unwrap();
            }
            let q = |status: Option<&str>, et: Option<&str>, search: Option<&str>| WebhookListQuery {
                status: status.map(Into::into),
                event_type: et.map(Into::into),
                search: search.map(Into::into),
                ..Default::default()
            };
            assert_eq!(
                hub.list_webhooks(Actor::Key(&ak), q(Some("disabled"), None, None)).await.unwrap().len(),
                1,
                "[{n}]"
            );
            assert_eq!(
                hub.list_webhooks(Actor::Key(&ak), q(Some("active"), None, None)).await.unwrap().len(),
                3,
                "[{n}]"
            );
            assert_eq!(
                hub.list_webhooks(Actor::Key(&ak), q(None, Some("ticket.closed"), None)).await.unwrap().len(),
                1,
                "[{n}]"
            );
            assert_eq!(
                hub.list_webhooks(Actor::Key(&ak), q(None, None, Some("CRM1"))).await.unwrap().len(),
                1,
                "[{n}]"
            );
            let page1 = hub
                .list_webhooks(Actor::Key(&ak), WebhookListQuery { limit: Some(2), ..Default::default() })
                .await
                .unwrap();
            let page2 = hub
                .list_webhooks(
                    Actor::Key(&ak),
                    WebhookListQuery { limit: Some(2), cursor: Some(page1[1].id.clone()), ..Default::default() },
                )
                .await
                .unwrap();
            assert_eq!((page1.len(), page2.len()), (2, 2), "[{n}]");
            assert!(page2.iter().all(|w| !page1.contains(w)), "[{n}] pages do not overlap");

            // Tenant isolation: another tenant's endpoint does not exist for them.
            assert_eq!(hub.get_webhook(&Actor::Key(&gk), &w.id).await.unwrap_err().code, ErrorCode::NotFound, "[{n}]");
            assert_eq!(
                hub.webhook_secret(Actor::Key(&gk), &w.id).await.unwrap_err().code,
                ErrorCode::NotFound,
                "[{n}]"
            );
            assert!(hub.list_webhooks(Actor::Key(&gk), Default::default()).await.unwrap().is_empty(), "[{n}]");
            let err = hub.delete_webhook(Actor::Key(&gk), &w.id).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::NotFound, "[{n}]");

            // Every mutation is audited.
            let audit = hub.store.list_audit(Some(&acme.id), 100).await.unwrap();
            for a in ["webhook.created", "webhook.disabled", "webhook.secret_rotated", "webhook.secret_viewed"] {
                assert!(audit.iter().any(|x| x.action == a), "[{n}] {a}");
            }
        }
    });
}

#[test]
fn publishing_matches_filters_and_is_durable() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
            let mk_key = |t: &str| CreateApiKey {
                name: "p".into(),
                tenant_id: Some(t.to_string()),
                scopes: Scope::ALL.to_vec(),
                tier: Some(RateTier::Enterprise),
                ..Default::default()
            };
            let ak = hub.create_api_key(Actor::System, mk_key(&acme.id)).await.unwrap().key;
            let gk = hub.create_api_key(Actor::System, mk_key(&globex.id)).await.unwrap().key;
            let create = |mut h: CreateWebhook| {
                h.tenant_id = Some(acme.id.clone());
                h
            };
            let all_tickets =
                hub.create_webhook(Actor::System, create(hook("https://a.example.com/", &["ticket.*"]))).await.unwrap();
            let mut urgent = create(hook("https://b.example.com/", &["ticket.created"]));
            urgent.filters = vec![Filter {
                field: "data.ticket.priority".into(),
                operator: FilterOp::In,
                value: json!(["high", "urgent"]),
            }];
            let urgent = hub.create_webhook(Actor::System, urgent).await.unwrap();
            let everything =
                hub.create_webhook(Actor::System, create(hook("https://c.example.com/", &["*"]))).await.unwrap();
            let _contacts = hub
                .create_webhook(Actor::System, create(hook("https://d.example.com/", &["contact.created"])))
                .await
                .unwrap();
            let mut big = create(hook("https://e.example.com/", &["payment.completed"]));
            big.filters =
                vec![Filter { field: "data.amount".into(), operator: FilterOp::GreaterThan, value: json!(1000) }];
            hub.create_webhook(Actor::System, big).await.unwrap();
            let mut off = create(hook("https://f.example.com/", &["*"]));
            off.is_active = Some(false);
            hub.create_webhook(Actor::System, off).await.unwrap();
            // Globex's endpoint never sees Acme's events.
            let mut theirs = hook("https://g.example.com/", &["*"]);
            theirs.tenant_id = Some(globex.id.clone());
            hub.create_webhook(Actor::System, theirs).await.unwrap();

            let p = hub.publish(Actor::Key(&ak), event("ticket.created", ticket("high"))).await.unwrap();
            assert_eq!((p.matched, p.duplicate), (3, false), "[{n}]");
            let ev = hub.get_event(Actor::Key(&ak), &p.id).await.unwrap();
            let mut got: Vec<_> = ev.deliveries.iter().map(|d| d.webhook_id.clone()).collect();
            got.sort();
            let mut want = vec![all_tickets.id.clone(), urgent.id.clone(), everything.id.clone()];
            want.sort();
            assert_eq!(got, want, "[{n}]");
            assert!(ev.deliveries.iter().all(|d| d.status == integration_hub::model::DeliveryStatus::Pending), "[{n}]");
            let env = &ev.event.envelope;
            assert_eq!(
                (env["id"].as_str(), env["type"].as_str()),
                (Some(p.id.as_str()), Some("ticket.created")),
                "[{n}]"
            );
            assert_eq!(env["tenant_id"], json!(acme.id), "[{n}]");
            assert!(env["timestamp"].as_str().unwrap().ends_with('Z'), "[{n}]");
            assert_eq!(env["data"], ticket("high"), "[{n}]");

            assert_eq!(
                hub.publish(Actor::Key(&ak), event("ticket.created", ticket("low"))).await.unwrap().matched,
                2,
                "[{n}]"
            );
            assert_eq!(
                hub.publish(Actor::Key(&ak), event("ticket.resolved", ticket("urgent"))).await.unwrap().matched,
                2,
                "[{n}]"
            );
            let pay = |amount: Value| {
                event(
                    "payment.completed",
                    json!({"id": "pay_1", "payment": {"id": "pay_1", "status": "succeeded", "amount": amount, "currency": "EUR"}, "amount": amount, "currency": "EUR"}),
                )
            };
            assert_eq!(
                hub.publish(Actor::Key(&ak), pay(json!(5000))).await.unwrap().matched,
                2,
                "[{n}] > 1000 matches"
            );
            assert_eq!(hub.publish(Actor::Key(&ak), pay(json!(10))).await.unwrap().matched, 1, "[{n}] only `*`");

            // Catalog and schema: unknown types and wrong shapes are 422 and write nothing.
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

            // Idempotency: same key, same tenant → the first event, nothing new; another tenant is separate.
            let mut idem = event("ticket.created", ticket("high"));
            idem.idempotency_key = Some("order-42".into());
            let first = hub.publish(Actor::Key(&ak), idem.clone()).await.unwrap();
            let deliveries = hub.store.count_deliveries(&acme.id).await.unwrap();
            let again = hub.publish(Actor::Key(&ak), idem.clone()).await.unwrap();
            assert_eq!((again.id.as_str(), again.matched, again.duplicate), (first.id.as_str(), 3, true), "[{n}]");
            assert_eq!(hub.store.count_deliveries(&acme.id).await.unwrap(), deliveries, "[{n}]");
            let other = hub.publish(Actor::Key(&gk), idem.clone()).await.unwrap();
            assert!(!other.duplicate && other.id != first.id, "[{n}]");

            // Batch: each item on its own.
            let results = hub
                .publish_batch(
                    Actor::Key(&ak),
                    vec![
                        json!({"type": "ticket.created", "data": ticket("high")}),
                        json!({"type": "nope.nope", "data": {}}),
                        json!({"data": {}}),
                    ],
                )
                .await
                .unwrap();
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

            // Events list: by type, tenant-confined; another tenant cannot read it.
            let q = EventListQuery { event_type: Some("payment.completed".into()), ..Default::default() };
            assert_eq!(hub.list_events(Actor::Key(&ak), q).await.unwrap().len(), 2, "[{n}]");
            assert_eq!(hub.get_event(Actor::Key(&gk), &p.id).await.unwrap_err().code, ErrorCode::NotFound, "[{n}]");

            // A disabled endpoint stops matching at once (the routing index follows changes).
            hub.update_webhook(
                Actor::System,
                &everything.id,
                UpdateWebhook { is_active: Some(false), ..Default::default() },
            )
            .await
            .unwrap();
            assert_eq!(
                hub.publish(Actor::Key(&ak), event("ticket.created", ticket("low"))).await.unwrap().matched,
                1,
                "[{n}]"
            );

            // Deleting an endpoint cancels its pending deliveries; its history stays readable.
            hub.delete_webhook(Actor::System, &all_tickets.id).await.unwrap();
            let ev = hub.get_event(Actor::Key(&ak), &p.id).await.unwrap();
            let d = ev.deliveries.iter().find(|d| d.webhook_id == all_tickets.id).unwrap();
            assert_eq!(d.status, integration_hub::model::DeliveryStatus::Cancelled, "[{n}]");

            // The outbox survives an abrupt end of the process state: publish, drop everything without
            // closing, reopen the database: every delivery row is there.
            let expected = hub.store.count_deliveries(&acme.id).await.unwrap() + 10;
            for _ in 0..10 {
                hub.publish(Actor::Key(&ak), event("ticket.created", ticket("urgent"))).await.unwrap();
            }
            std::mem::forget(hub);
            let reopened = common::hub(&b).await;
            assert_eq!(reopened.store.count_deliveries(&acme.id).await.unwrap(), expected, "[{n}]");
        }
    });
}

/// Two hub instances on one PostgreSQL database: a change made through one reaches the other's routing index
/// through LISTEN/NOTIFY (SQLite is single-instance, so this runs on PostgreSQL only).
#[test]
fn routing_changes_reach_other_instances() {
    common::run(async {
        for b in common::backends().await.into_iter().filter(|b| b.name == "postgres") {
            let a = common::hub(&b).await;
            let other = common::hub(&b).await;
            let listener = tokio::spawn(other.clone().listen_for_changes());
            let t = a.create_tenant(Actor::System, "Acme").await.unwrap();
            let publish = |hub: integration_hub::server::service::AppState| {
                let mut e = event("ticket.created", ticket("high"));
                e.tenant_id = Some(t.id.clone());
                async move { hub.publish(Actor::System, e).await.unwrap().matched }
            };
            tokio::time::sleep(std::time::Duration::from_millis(300)).await; // listener connected
            assert_eq!(publish(other.clone()).await, 0, "index of the other instance is now cached and empty");
            let mut h = hook("https://a.example.com/", &["*"]);
            h.tenant_id = Some(t.id.clone());
            a.create_webhook(Actor::System, h).await.unwrap();
            let mut seen = 0;
            for _ in 0..50 {
                seen = publish(other.clone()).await;
                if seen == 1 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(seen, 1, "the other instance learned of the new endpoint");
            listener.abort();
        }
    });
}

/// SQLite starts its WAL over only when a write begins with every frame copied back, which steady writes never
/// allow on their own: without the hub's help the WAL file grows with everything ever written. Publishing
/// ~300 MB of events from several producers at once, the WAL must stay a few tens of MB.
#[test]
fn sqlite_wal_stays_bounded_under_steady_publishing() {
    common::run(async {
        let b = common::backends().await.into_iter().find(|b| b.name == "sqlite").expect("sqlite backend");
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
