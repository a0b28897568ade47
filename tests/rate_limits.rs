//! Endpoint rate limits as a receiver sees them: none by default (a burst arrives at once), a limit spreads the
//! deliveries evenly, and the limit holds for all instances together, not for each.

mod common;

use common::fixtures::{add_hook, hook_to, numbered_ticket_event};
use common::receiver::Receiver;
use common::{Backend, Worker};
use integration_hub::model::{CreateWebhook, Webhook};
use integration_hub::server::service::{Actor, AppState, Hub};
use std::time::Duration;

/// Tenant Acme of `hub` with one endpoint at the receiver's `path`, `limit` deliveries a minute (None: the default).
async fn endpoint(hub: &AppState, rx: &Receiver, path: &str, limit: Option<u32>) -> (String, Webhook) {
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let hook = add_hook(hub, CreateWebhook { rate_limit_per_minute: limit, ..hook_to(&rx.url(path), &t.id) }).await;
    (t.id, hook)
}

async fn publish(hub: &AppState, tenant: &str, from: usize, n: usize) {
    for i in from..from + n {
        hub.publish(Actor::System, numbered_ticket_event(tenant, i)).await.unwrap();
    }
}

/// Deliveries to `path` that arrived from `from` to `to` after the first one, once `to` has passed.
async fn arrived_between(rx: &Receiver, path: &str, from: Duration, to: Duration) -> usize {
    let got = rx.wait_received(path, 1, Duration::from_secs(10)).await;
    let first = got.iter().map(|r| r.at).min().expect("a first delivery within 10 s");
    tokio::time::sleep_until((first + to).into()).await;
    rx.received(path).iter().filter(|r| r.at >= first + from && r.at < first + to).count()
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
    let (t, hook) = endpoint(&hub, &rx, "/ok/burst", None).await;
    assert_eq!(hook.rate_limit_per_minute, 0, "[{n}] no limit by default");
    let worker = Worker::start(&hub);
    publish(&hub, &t, 0, 200).await;
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
    // 1,200 a minute: 20 a second, at most one second's worth at once.
    let (t, _) = endpoint(&hub, &rx, "/ok/limited", Some(1_200)).await;
    let worker = Worker::start(&hub);
    publish(&hub, &t, 0, 300).await;
    let steady = arrived_between(&rx, "/ok/limited", Duration::from_secs(1), Duration::from_secs(9)).await;
    let burst = arrived_between(&rx, "/ok/limited", Duration::ZERO, Duration::from_millis(250)).await;
    assert!(
        burst <= 20 + 5,
        "[{n}] {burst} at once: one second's worth, and the 250 ms of budget that refilled meanwhile"
    );
    within_5_percent(steady, 160, n);
    worker.stop().await;
}

backend_tests!(postgres: two_instances_together_keep_an_endpoint_limit);
async fn two_instances_together_keep_an_endpoint_limit(b: Backend) {
    let rx = Receiver::start().await;
    let config = || common::local_config_with(&b.url, &["--heartbeat-ms", "200"]);
    let (a, c) = (Hub::open(config()).await.unwrap(), Hub::open(config()).await.unwrap());
    let (t, _) = endpoint(&a, &rx, "/ok/shared", Some(1_200)).await;
    let (wa, wc) = (Worker::start(&a), Worker::start(&c));
    // Both have announced themselves (a heartbeat is 200 ms) before the first delivery.
    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::join!(publish(&a, &t, 0, 200), publish(&c, &t, 200, 200));
    // 20 a second in all; each instance alone would send 20 a second, so two without sharing send 40.
    let both = arrived_between(&rx, "/ok/shared", Duration::from_secs(1), Duration::from_secs(10)).await;
    within_5_percent(both, 180, "two");
    let (by_a, by_c) = (a.metrics.count("success"), c.metrics.count("success"));
    assert!(by_a > 0 && by_c > 0, "both instances delivered ({by_a} and {by_c})");
    tokio::join!(wa.stop(), wc.stop());
}
