//! A passing error is never a verdict: when the database cannot answer, a queued delivery waits and is sent
//! later; it is never cancelled or failed because a read failed. On every backend the reads the worker makes
//! are broken on purpose (a renamed column); on PostgreSQL the hub's connections are also killed over and over
//! while thousands of deliveries are in flight.

mod common;

use common::receiver::{Received, Receiver};
use integration_hub::model::{CreateWebhook, DeliveryListQuery, DeliveryStatus, PublishEvent};
use integration_hub::server::service::{Actor, AppState, Hub};
use sqlx::Connection;
use std::time::Duration;

fn event(tenant: &str, i: usize) -> PublishEvent {
    PublishEvent {
        event_type: "ticket.created".into(),
        data: serde_json::json!({"id": format!("t{i}"), "ticket": {"id": format!("t{i}"), "subject": "s",
            "status": "open", "priority": "low"}}),
        tenant_id: Some(tenant.to_string()),
        ..Default::default()
    }
}

fn event_id(r: &Received) -> Option<String> {
    r.headers.get("webhook-id").cloned()
}

/// One endpoint's copy of one event: "path webhook-id".
fn copy(r: &Received) -> Option<String> {
    Some(format!("{} {}", r.path, r.headers.get("webhook-id")?))
}

async fn endpoint(hub: &AppState, rx: &Receiver, tenant: &str, path: &str) -> String {
    let hook = CreateWebhook {
        url: rx.url(path),
        events: vec!["ticket.*".into()],
        tenant_id: Some(tenant.to_string()),
        max_retries: Some(10),
        ..Default::default()
    };
    hub.create_webhook(Actor::System, hook).await.unwrap().id
}

/// How many of the tenant's deliveries are in each final state that must not happen here.
async fn ended_badly(hub: &AppState, tenant: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for status in [DeliveryStatus::Cancelled, DeliveryStatus::Failed] {
        let q = DeliveryListQuery {
            tenant_id: Some(tenant.to_string()),
            status: Some(status),
            limit: Some(500),
            ..Default::default()
        };
        for d in hub.list_deliveries(Actor::System, q).await.unwrap() {
            out.push((format!("{} {}", d.status.as_str(), d.id), d.last_error));
        }
    }
    out
}

async fn sql(url: &str, statement: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(statement).execute(&mut conn).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
}

#[test]
fn deliveries_wait_while_the_worker_cannot_read_their_event_or_endpoint() {
    common::run(async {
        sqlx::any::install_default_drivers();
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let rx = Receiver::start().await;
            endpoint(&hub, &rx, &t.id, "/ok").await;
            let mut events = Vec::new();
            for i in 0..40 {
                events.push(hub.publish(Actor::System, event(&t.id, i)).await.unwrap().id);
            }
            // The deliveries become rows (a reader writes fan-outs out), so a claim needs neither the events'
            // envelopes nor the endpoints' secrets; only the sends that follow do.
            let q = DeliveryListQuery { tenant_id: Some(t.id.clone()), limit: Some(100), ..Default::default() };
            assert_eq!(hub.list_deliveries(Actor::System, q).await.unwrap().len(), 40, "[{n}]");
            for (table, column) in [("events", "envelope"), ("webhooks", "secret_sealed")] {
                sql(&b.url, &format!("ALTER TABLE {table} RENAME COLUMN {column} TO {column}_away")).await;
                let worker = common::Worker::start(&hub);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                worker.stop().await;
                sql(&b.url, &format!("ALTER TABLE {table} RENAME COLUMN {column}_away TO {column}")).await;
                assert_eq!(ended_badly(&hub, &t.id).await, vec![], "[{n}] {table}.{column} unreadable");
                assert!(rx.received("/ok").is_empty(), "[{n}] nothing can be sent without {table}.{column}");
                assert!(hub.metrics.count("deferred") > 0, "[{n}] the deferrals are counted");
            }
            let worker = common::Worker::start(&hub);
            let got = rx.wait_for(&events, Duration::from_secs(30), event_id).await;
            worker.stop().await;
            assert_eq!(got.len(), events.len(), "[{n}] every event arrives once the reads work again");
            assert_eq!(ended_badly(&hub, &t.id).await, vec![], "[{n}]");
        }
    });
}

/// The short form runs in `make test`; `FAULT_EVENTS=5000` makes it longer.
#[test]
fn killed_database_connections_lose_no_accepted_event() {
    common::run(async {
        sqlx::any::install_default_drivers();
        for b in common::backends().await.into_iter().filter(|b| b.name == "postgres") {
            // The hub's connections carry a name of their own, so only they are killed.
            let app = format!("hub_fault_{}", ulid::Ulid::new().to_string().to_lowercase());
            let url = format!("{}&application_name={app}", b.url);
            let mut cfg = common::config(&url);
            // Measured here: the engine under faults, not the endpoint's own rate limit.
            cfg.serve.endpoint_rate_limits = false;
            let hub = Hub::open(cfg).await.unwrap();
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let rx = Receiver::start().await;
            // Several endpoints: each is read (with its secrets) every few seconds while deliveries flow.
            for i in 0..4 {
                endpoint(&hub, &rx, &t.id, &format!("/slow/20/{i}")).await;
            }
            let worker = common::Worker::start(&hub);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let killer = {
                let (base, app, stop) = (b.url.clone(), app.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut kills = 0i64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(60)).await;
                        let Ok(mut conn) = sqlx::AnyConnection::connect(&base).await else { continue };
                        let q = "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                                 WHERE application_name = $1";
                        kills += sqlx::query_scalar::<_, i64>(q).bind(&app).fetch_one(&mut conn).await.unwrap_or(0);
                    }
                    kills
                })
            };
            let total: usize = std::env::var("FAULT_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
            // Publishing may fail while its connection is killed: the producer is told so (and would retry);
            // what counts is every event the hub accepted.
            let mut accepted = Vec::new();
            for i in 0..total {
                if let Ok(p) = hub.publish(Actor::System, event(&t.id, i)).await {
                    accepted.push(p.id);
                }
            }
            let copies: Vec<String> =
                accepted.iter().flat_map(|e| (0..4).map(move |i| format!("/slow/20/{i} {e}"))).collect();
            let got = rx.wait_for(&copies, Duration::from_secs(240), copy).await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let kills = killer.await.unwrap();
            assert!(kills >= 10, "[{}] the hub's connections were killed ({kills} times)", b.name);
            worker.stop().await;
            let missing = copies.iter().filter(|c| !got.contains_key(*c)).count();
            if missing > 0 {
                // What the log says of them, for whoever reads the failure.
                let q = DeliveryListQuery { tenant_id: Some(t.id.clone()), limit: Some(10000), ..Default::default() };
                let mut by: std::collections::HashMap<String, usize> = Default::default();
                for d in hub.list_deliveries(Actor::System, q).await.unwrap() {
                    *by.entry(format!("{} after {} attempts", d.status.as_str(), d.attempts)).or_default() += 1;
                }
                eprintln!("[{}] {missing} not arrived; the log: {by:?}", b.name);
            }
            assert_eq!(
                missing,
                0,
                "[{}] deliveries of accepted events that never arrived (of {})",
                b.name,
                copies.len()
            );
            assert!(accepted.len() > total / 2, "[{}] most publishes were accepted", b.name);
            assert_eq!(ended_badly(&hub, &t.id).await, vec![], "[{}]", b.name);
        }
    });
}
