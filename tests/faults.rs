//! A passing error is never a verdict: when the database cannot answer, a queued delivery waits and is sent
//! later; it is never cancelled or failed because a read failed. On every backend the reads the worker makes
//! are broken on purpose (a renamed column); on PostgreSQL the hub's connections are also killed over and over
//! while thousands of deliveries are in flight.

mod common;

use common::fixtures::{add_hook, hook, numbered_ticket_event};
use common::receiver::{copies, copy, webhook_id, Receiver};
use common::Backend;
use integration_hub::model::{CreateWebhook, DeliveryListQuery, DeliveryStatus};
use integration_hub::server::service::{Actor, AppState, Hub};
use sqlx::Connection;
use std::time::Duration;

async fn endpoint(hub: &AppState, rx: &Receiver, tenant: &str, path: &str) -> String {
    add_hook(hub, CreateWebhook { max_retries: Some(10), ..hook(rx, path, tenant) }).await.id
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

backend_tests!(deliveries_wait_while_the_worker_cannot_read_their_event_or_endpoint);
async fn deliveries_wait_while_the_worker_cannot_read_their_event_or_endpoint(b: Backend) {
    sqlx::any::install_default_drivers();
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = Receiver::start().await;
    endpoint(&hub, &rx, &t.id, "/ok").await;
    let mut events = Vec::new();
    for i in 0..40 {
        events.push(hub.publish(Actor::System, numbered_ticket_event(&t.id, i)).await.unwrap().id);
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
    let got = rx.wait_for(&events, Duration::from_secs(30), webhook_id).await;
    worker.stop().await;
    assert_eq!(got.len(), events.len(), "[{n}] every event arrives once the reads work again");
    assert_eq!(ended_badly(&hub, &t.id).await, vec![], "[{n}]");
}

backend_tests!(postgres: killed_database_connections_lose_no_accepted_event);
/// The short form runs in `make test`; `FAULT_EVENTS=5000` (and `FAULT_STORM_SECONDS=60`) make it longer.
async fn killed_database_connections_lose_no_accepted_event(b: Backend) {
    sqlx::any::install_default_drivers();
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
        if let Ok(p) = hub.publish(Actor::System, numbered_ticket_event(&t.id, i)).await {
            accepted.push(p.id);
        }
    }
    let sent = copies("/slow/20", 4, &accepted);
    // The kills go on while the deliveries are sent, then stop: the promise is that nothing accepted is lost
    // and everything arrives once the database answers again. (Killing every connection every 60 ms for
    // minutes on end only measures whether a slow machine fits a claim between two kills.)
    let storm =
        Duration::from_secs(std::env::var("FAULT_STORM_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5));
    let during = rx.wait_for(&sent, storm, copy).await.len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kills = killer.await.unwrap();
    eprintln!("[{}] {during} of {} arrived during the kills ({kills} connections killed)", b.name, sent.len());
    let got = rx.wait_for(&sent, Duration::from_secs(240), copy).await;
    assert!(kills >= 10, "[{}] the hub's connections were killed ({kills} times)", b.name);
    worker.stop().await;
    let missing = sent.iter().filter(|c| !got.contains_key(*c)).count();
    if missing > 0 {
        // What the log says of them, for whoever reads the failure.
        let q = DeliveryListQuery { tenant_id: Some(t.id.clone()), limit: Some(10000), ..Default::default() };
        let mut by: std::collections::HashMap<String, usize> = Default::default();
        for d in hub.list_deliveries(Actor::System, q).await.unwrap() {
            *by.entry(format!("{} after {} attempts", d.status.as_str(), d.attempts)).or_default() += 1;
        }
        eprintln!("[{}] {missing} not arrived; the log: {by:?}", b.name);
    }
    assert_eq!(missing, 0, "[{}] deliveries of accepted events that never arrived (of {})", b.name, sent.len());
    assert!(accepted.len() > total / 2, "[{}] most publishes were accepted", b.name);
    assert_eq!(ended_badly(&hub, &t.id).await, vec![], "[{}]", b.name);
}
