//! Publishing writes an event's matched endpoints as one fan-out instead of a delivery row per endpoint; the
//! rows are written from it later. On every backend: every reader sees a publish's deliveries as pending rows
//! named after the event before any worker runs, and deliveries handed to one engine's worker stay with it
//! while another engine reads them and runs its own worker.

mod common;

use common::fixtures::{add_hook, hook, ticket_event};
use common::receiver::{copies, copy, Receiver};
use common::Backend;
use integration_hub::model::{DeliveryListQuery, DeliveryStatus, StatsQuery};
use integration_hub::server::service::{Actor, AppState, Hub};
use integration_hub::server::store::delivery_id;
use integration_hub::server::store::testing::deliveries_in_fanouts;
use std::time::Duration;

async fn endpoints(hub: &AppState, rx: &Receiver, tenant: &str, path: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(add_hook(hub, hook(rx, &format!("{path}/{i}"), tenant)).await.id);
    }
    ids
}

backend_tests!(a_publish_reads_as_pending_rows_named_after_its_event_before_any_worker_runs);
async fn a_publish_reads_as_pending_rows_named_after_its_event_before_any_worker_runs(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = Receiver::start().await;
    // Twenty endpoints: delivery numbers past 9 are hex digits in the ids.
    let hooks = endpoints(&hub, &rx, &t.id, "/ok/fan", 20).await;
    let published = hub.publish(Actor::System, ticket_event(&t.id)).await.unwrap();
    assert_eq!(published.matched, 20, "[{n}]");
    let ev = hub.get_event(Actor::System, &published.id).await.unwrap();
    let ids: Vec<String> = ev.deliveries.iter().map(|d| d.id.clone()).collect();
    let expected: Vec<String> = (0..20).map(|i| delivery_id(&published.id, i)).collect();
    assert_eq!(ids, expected, "[{n}] ids named after the event, in match order");
    let mut got: Vec<&str> = ev.deliveries.iter().map(|d| d.webhook_id.as_str()).collect();
    let mut want: Vec<&str> = hooks.iter().map(String::as_str).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "[{n}] one delivery per endpoint");
    for d in &ev.deliveries {
        assert_eq!(d.status, DeliveryStatus::Pending, "[{n}]");
        assert_eq!((&*d.tenant_id, &*d.event_id, &*d.event_type), (&*t.id, &*published.id, "ticket.created"));
        assert_eq!(d.next_attempt_at, Some(d.created_at), "[{n}] due at once");
    }
    // One delivery by id, the endpoint's log, the tenant's log and the queue depth all see the same rows.
    let one = hub.get_delivery(&Actor::System, &expected[13]).await.unwrap();
    assert_eq!(one.delivery.status, DeliveryStatus::Pending, "[{n}]");
    let q = DeliveryListQuery { webhook_id: Some(hooks[7].clone()), ..Default::default() };
    assert_eq!(hub.list_deliveries(Actor::System, q).await.unwrap().len(), 1, "[{n}]");
    let q = DeliveryListQuery { tenant_id: Some(t.id.clone()), limit: Some(100), ..Default::default() };
    assert_eq!(hub.list_deliveries(Actor::System, q).await.unwrap().len(), 20, "[{n}]");
    assert_eq!(hub.store.queue_depth().await.unwrap(), 20, "[{n}]");

    // A second publish with no reader in between: the worker claims straight from its fan-out.
    let second = hub.publish(Actor::System, ticket_event(&t.id)).await.unwrap();
    let worker = common::Worker::start(&hub);
    let all = copies("/ok/fan", 20, &[published.id.clone(), second.id.clone()]);
    let s = rx.wait_for(&all, Duration::from_secs(30), copy).await;
    assert!(all.iter().all(|id| s.get(id) == Some(&1)), "[{n}] each delivered once: {s:?}");
    worker.stop().await;
    let ev = hub.get_event(Actor::System, &second.id).await.unwrap();
    assert!(ev.deliveries.iter().all(|d| d.status == DeliveryStatus::Success), "[{n}]");
    assert_eq!(hub.store.queue_depth().await.unwrap(), 0, "[{n}]");
}

backend_tests!(reading_the_log_writes_nothing);
/// Every read a GET can make (one delivery, an event's deliveries, endpoint and tenant logs, stats, the queue
/// depth) sees a publish's deliveries without writing them out of their fan-out: readers never take the writer.
async fn reading_the_log_writes_nothing(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = Receiver::start().await;
    let hooks = endpoints(&hub, &rx, &t.id, "/ok/read", 3).await;
    let published = hub.publish(Actor::System, ticket_event(&t.id)).await.unwrap();
    assert_eq!(deliveries_in_fanouts(&hub.store).await.unwrap(), 3, "[{n}] the publish wrote a fan-out");
    let ev = hub.get_event(Actor::System, &published.id).await.unwrap();
    assert_eq!(ev.deliveries.len(), 3, "[{n}]");
    let one = hub.get_delivery(&Actor::System, &delivery_id(&published.id, 2)).await.unwrap();
    assert_eq!((one.delivery.status, one.delivery.webhook_id), (DeliveryStatus::Pending, hooks[2].clone()), "[{n}]");
    let by_endpoint = DeliveryListQuery { webhook_id: Some(hooks[0].clone()), ..Default::default() };
    assert_eq!(hub.list_deliveries(Actor::System, by_endpoint).await.unwrap().len(), 1, "[{n}]");
    let pending = DeliveryListQuery { status: Some(DeliveryStatus::Pending), ..Default::default() };
    assert_eq!(hub.list_deliveries(Actor::System, pending).await.unwrap().len(), 3, "[{n}]");
    let by_tenant = DeliveryListQuery { tenant_id: Some(t.id.clone()), ..Default::default() };
    assert_eq!(hub.list_deliveries(Actor::System, by_tenant).await.unwrap().len(), 3, "[{n}]");
    let window = StatsQuery { tenant_id: Some(t.id.clone()), ..Default::default() };
    let stats = hub.delivery_stats(Actor::System, window).await.unwrap();
    assert_eq!(stats.counts.pending, 3, "[{n}] stats count the queued deliveries");
    assert_eq!(hub.store.queue_depth().await.unwrap(), 3, "[{n}]");
    assert_eq!(deliveries_in_fanouts(&hub.store).await.unwrap(), 3, "[{n}] no read wrote the fan-out out");
}

backend_tests!(handed_over_deliveries_stay_with_their_worker_while_another_engine_reads_them);
async fn handed_over_deliveries_stay_with_their_worker_while_another_engine_reads_them(b: Backend) {
    let n = b.name;
    let rx = Receiver::start().await;
    let a = common::hub(&b).await;
    let t = a.create_tenant(Actor::System, "Acme").await.unwrap();
    endpoints(&a, &rx, &t.id, "/slow/500", 3).await;
    let worker_a = common::Worker::start(&a);
    // Engine B reads the log over and over, and starts a worker of its own (which claims at once), while
    // A's worker holds the deliveries it was handed at publish (each send takes 500 ms, inside A's 3-s
    // lease): the rows B's reads write out keep A's lease, so B's worker leaves them alone.
    let c = Hub::open(common::config(&b.url)).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (c, stop, tenant) = (c.clone(), stop.clone(), t.id.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let q = DeliveryListQuery { tenant_id: Some(tenant.clone()), ..Default::default() };
                c.list_deliveries(Actor::System, q).await.expect("log read");
                c.store.queue_depth().await.expect("queue depth");
                reads += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            reads
        })
    };
    let mut events = Vec::new();
    for _ in 0..30 {
        events.push(a.publish(Actor::System, ticket_event(&t.id)).await.unwrap().id);
    }
    let ids = copies("/slow/500", 3, &events);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let worker_c = common::Worker::start(&c);
    rx.wait_for(&ids, Duration::from_secs(30), copy).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.await.unwrap();
    assert!(reads > 0, "[{n}]");
    // Stopped gracefully: whatever either engine was sending has arrived.
    worker_a.stop().await;
    worker_c.stop().await;
    let s = rx.count_by(copy);
    let twice: Vec<_> = s.iter().filter(|(_, c)| **c > 1).collect();
    assert!(ids.iter().all(|id| s.contains_key(id)), "[{n}] every delivery sent");
    assert!(twice.is_empty(), "[{n}] {} sent by both engines, e.g. {:?}", twice.len(), twice.first());
    let q = DeliveryListQuery { tenant_id: Some(t.id.clone()), limit: Some(100), ..Default::default() };
    let log = c.list_deliveries(Actor::System, q).await.unwrap();
    assert_eq!(log.len(), 90, "[{n}]");
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Success && d.attempts == 1), "[{n}]");
}
