//! Crash safety and scale-out of the delivery engine:
//! - an engine dropped mid-flight (its whole runtime killed, no graceful shutdown) loses nothing: another engine
//!   on the same database delivers every accepted event, duplicates only with the same `webhook-id`;
//! - two engines on one PostgreSQL database deliver 10,000 deliveries, each exactly once (none taken by both).

mod common;

use common::fixtures::{hook_to, numbered_ticket_event, poll};
use common::receiver::{Received, Receiver};
use common::{Backend, Worker};
use integration_hub::server::service::{Actor, AppState, Hub};
use std::collections::HashMap;
use std::time::Duration;

async fn publish_many(hub: &AppState, tenant: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|i| {
                let (hub, e) = (hub.clone(), numbered_ticket_event(tenant, *i));
                tokio::spawn(async move { hub.publish(Actor::System, e).await.unwrap().id })
            })
            .collect();
        for t in tasks {
            ids.push(t.await.unwrap());
        }
    }
    ids
}

/// The `webhook-id` of a request to `path`.
fn webhook_id_at(path: &str) -> impl Fn(&Received) -> Option<String> + Copy + '_ {
    move |r: &Received| (r.path == path).then(|| r.headers["webhook-id"].clone())
}

backend_tests!(a_crashed_engine_loses_nothing);
async fn a_crashed_engine_loses_nothing(b: Backend) {
    let n = b.name;
    let rx = Receiver::start().await;
    // Engine A lives in its own runtime, so killing that runtime kills every task it had: sends in
    // flight, unwritten results, pool connections — like a process crash.
    let rt_a = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .unwrap();
    let url = b.url.clone();
    let hub_a = rt_a
        .spawn(async move {
            let hub = Hub::open(common::config(&url)).await.unwrap();
            // Never stopped: it dies with the runtime.
            std::mem::forget(Worker::start(&hub));
            hub
        })
        .await
        .unwrap();
    let t = hub_a.create_tenant(Actor::System, "Acme").await.unwrap();
    let hook = hook_to(&rx.url("/slow/100"), &t.id);
    hub_a.create_webhook(Actor::System, hook).await.unwrap();
    let ids = publish_many(&hub_a, &t.id, 400).await;
    // Kill A while deliveries are in flight.
    rx.wait_received("/slow/100", 50, Duration::from_secs(20)).await;
    rt_a.shutdown_background();
    // What a dying process leaves behind: its database connections close (and SQLite's locks go).
    drop(hub_a);
    let before = rx.received("/slow/100").len();
    assert!(before < 400, "[{n}] A was killed mid-run ({before} sent)");

    // Engine B on the same database takes over once A's leases expire.
    let hub_b = common::hub(&b).await;
    let wb = Worker::start(&hub_b);
    let s = rx.wait_for(&ids, Duration::from_secs(60), webhook_id_at("/slow/100")).await;
    let missing = ids.iter().filter(|id| !s.contains_key(*id)).count();
    assert_eq!(missing, 0, "[{n}] every accepted event was delivered");
    assert!(s.keys().all(|k| ids.contains(k)), "[{n}] duplicates carry the same webhook-id");
    let dups: usize = s.values().map(|c| c - 1).sum();
    eprintln!("[{n}] crash test: {} events, {before} sent before the kill, {dups} duplicates", ids.len());
    wb.stop().await;
}

backend_tests!(postgres: two_engines_share_one_postgres_queue_without_overlap);
async fn two_engines_share_one_postgres_queue_without_overlap(b: Backend) {
    let total: usize = std::env::var("SCALE_DELIVERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rx = Receiver::start().await;
    let a = Hub::open(common::config_with_lease(&b.url, "60")).await.unwrap();
    let c = Hub::open(common::config_with_lease(&b.url, "60")).await.unwrap();
    let t = a.create_tenant(Actor::System, "Acme").await.unwrap();
    // Ten endpoints, as a fan-out (no rate limit: the default).
    for i in 0..10 {
        let url = rx.url(&format!("/ok/scale/{i}"));
        a.create_webhook(Actor::System, hook_to(&url, &t.id)).await.unwrap();
    }
    let (wa, wc) = (Worker::start(&a), Worker::start(&c));
    // Both instances publish (each hands its own deliveries to its worker) and both claim.
    let (ids_a, ids_c) =
        tokio::join!(publish_many(&a, &t.id, total / 20), publish_many(&c, &t.id, total / 10 - total / 20));
    let ids: Vec<String> = ids_a.into_iter().chain(ids_c).collect();
    poll(Duration::from_secs(180), || async { rx.requests.lock().unwrap().len() }, |n| *n >= total).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reqs = rx.requests.lock().unwrap().clone();
    let mut per: HashMap<(String, String), usize> = HashMap::new();
    for r in &reqs {
        *per.entry((r.path.clone(), r.headers["webhook-id"].clone())).or_insert(0) += 1;
    }
    assert_eq!(per.len(), total, "every delivery arrived");
    assert!(per.values().all(|c| *c == 1), "no delivery was sent twice (none taken by both engines)");
    assert!(ids.len() * 10 == total);
    let (by_a, by_c) = (a.metrics.count("success"), c.metrics.count("success"));
    assert_eq!(by_a + by_c, total as u64, "each delivery was attempted once, by one engine");
    assert!(by_a > 0 && by_c > 0, "both engines delivered ({by_a} and {by_c})");
    tokio::join!(wa.stop(), wc.stop());
}
