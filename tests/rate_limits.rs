//! Endpoint rate limits as a receiver sees them: none by default (a burst arrives at once), a limit spreads the
//! deliveries evenly, and the limit holds for all instances together, not for each.

mod common;

use common::fixtures::{hook_to, numbered_ticket_event};
use common::receiver::Receiver;
use common::{Backend, Worker};
use integration_hub::model::CreateWebhook;
use integration_hub::server::service::{Actor, AppState, Hub};
use std::time::Duration;

async fn publish(hub: &AppState, tenant: &str, from: usize, n: usize) {
    for i in from..from + n {
        hub.publish(Actor::System, numbered_ticket_event(tenant, i)).await.unwrap();
    }
}

/// Deliveries to `path` that arrived from `from` to `to` after the first one.
fn arrived_between(rx: &Receiver, path: &str, from: Duration, to: Duration) -> usize {
    let got = rx.received(path);
    let Some(first) = got.iter().map(|r| r.at).min() else { return 0 };
    got.iter().filter(|r| r.at >= first + from && r.at < first + to).count()
}

/// Asserts `count` is within 5 % of `expected`.
fn within_5_percent(count: usize, expected: usize, what: &str) {
    let (lo, hi) = (expected * 95 / 100, expected * 105 / 100);
    assert!((lo..=hi).contains(&count), "{what}: {count} deliveries, expected {expected} ± 5 % ({lo}..={hi})");
}

backend_tests!(an_endpoint_has_no_limit_unless_one_is_set);
async fn an_endpoint_has_no_limit_unless_one_is_set(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let hook = hub.create_webhook(Actor::System, hook_to(&rx.url("/ok/burst"), &t.id)).await.unwrap();
    assert_eq!(hook.rate_limit_per_minute, 0, "[{n}] no limit by default");
    let worker = Worker::start(&hub);
    publish(&hub, &t.id, 0, 200).await;
    // Under the old default of 60 a minute these 200 took over three minutes.
    let got = rx.wait_received("/ok/burst", 200, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 200, "[{n}] a burst of 200 arrives at once");
    worker.stop().await;
}

backend_tests!(an_endpoint_limit_spreads_deliveries_evenly);
async fn an_endpoint_limit_spreads_deliveries_evenly(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    // 1,200 a minute: 20 a second, at most one second's worth at once.
    let hook = CreateWebhook { rate_limit_per_minute: Some(1_200), ..hook_to(&rx.url("/ok/limited"), &t.id) };
    hub.create_webhook(Actor::System, hook).await.unwrap();
    let worker = Worker::start(&hub);
    publish(&hub, &t.id, 0, 300).await;
    rx.wait_received("/ok/limited", 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(9_200)).await;
    let burst = arrived_between(&rx, "/ok/limited", Duration::ZERO, Duration::from_millis(250));
    assert!(
        burst <= 20 + 5,
        "[{n}] {burst} at once: one second's worth, and the 250 ms of budget that refilled meanwhile"
    );
    within_5_percent(arrived_between(&rx, "/ok/limited", Duration::from_secs(1), Duration::from_secs(9)), 160, n);
    worker.stop().await;
}

backend_tests!(postgres: two_instances_together_keep_an_endpoint_limit);
async fn two_instances_together_keep_an_endpoint_limit(b: Backend) {
    let rx = Receiver::start().await;
    let config = || common::local_config_with(&b.url, &["--heartbeat-ms", "200"]);
    let (a, c) = (Hub::open(config()).await.unwrap(), Hub::open(config()).await.unwrap());
    let t = a.create_tenant(Actor::System, "Acme").await.unwrap();
    let hook = CreateWebhook { rate_limit_per_minute: Some(1_200), ..hook_to(&rx.url("/ok/shared"), &t.id) };
    a.create_webhook(Actor::System, hook).await.unwrap();
    let (wa, wc) = (Worker::start(&a), Worker::start(&c));
    // Both have announced themselves (a heartbeat is 200 ms) before the first delivery.
    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::join!(publish(&a, &t.id, 0, 200), publish(&c, &t.id, 200, 200));
    rx.wait_received("/ok/shared", 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(10_200)).await;
    // 20 a second in all; each instance alone would send 20 a second, so two without sharing send 40.
    within_5_percent(arrived_between(&rx, "/ok/shared", Duration::from_secs(1), Duration::from_secs(10)), 180, "two");
    let (by_a, by_c) = (a.metrics.count("success"), c.metrics.count("success"));
    assert!(by_a > 0 && by_c > 0, "both instances delivered ({by_a} and {by_c})");
    tokio::join!(wa.stop(), wc.stop());
}
