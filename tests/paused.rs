//! Switching an endpoint off pauses its queued deliveries (visible as `paused`) and switching it on sends them;
//! only deleting it cancels them. Recovering an endpoint re-sends each dead letter once.

mod common;

use common::fixtures::{self, poll, publish_ticket};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{CreateWebhook, DeliveryListQuery, DeliveryStatus, UpdateWebhook, Webhook};
use integration_hub::server::service::{Actor, AppState};
use std::time::Duration;

/// An endpoint that is never retried.
fn hook(rx: &Receiver, path: &str, tenant: &str) -> CreateWebhook {
    CreateWebhook { max_retries: Some(0), ..fixtures::hook(rx, path, tenant) }
}

/// A hub, the test receiver, and an endpoint of a new tenant at `path` with `events` events published to it (no
/// worker runs yet).
async fn queued(b: &Backend, path: &str, events: usize) -> (AppState, Receiver, Webhook) {
    let hub = common::hub(b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = Receiver::start().await;
    let w = hub.create_webhook(Actor::System, hook(&rx, path, &t.id)).await.unwrap();
    for _ in 0..events {
        publish_ticket(&hub, &t.id).await;
    }
    (hub, rx, w)
}

async fn statuses(hub: &AppState, webhook: &str, status: DeliveryStatus) -> usize {
    let q = DeliveryListQuery {
        webhook_id: Some(webhook.into()),
        status: Some(status),
        limit: Some(500),
        ..Default::default()
    };
    hub.list_deliveries(Actor::System, q).await.unwrap().len()
}

/// Waits until `webhook` has `want` deliveries in `status`.
async fn wait_until(hub: &AppState, webhook: &str, status: DeliveryStatus, want: usize) {
    let got = poll(Duration::from_secs(10), || statuses(hub, webhook, status), |got| *got == want).await;
    assert_eq!(got, want, "{webhook} never had {want} {} deliveries", status.as_str());
}

backend_tests!(a_disabled_endpoints_deliveries_wait_and_are_sent_when_it_is_enabled_again);
async fn a_disabled_endpoints_deliveries_wait_and_are_sent_when_it_is_enabled_again(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = Receiver::start().await;
    let w = hub.create_webhook(Actor::System, hook(&rx, "/ok/a", &t.id)).await.unwrap();
    let gone = hub.create_webhook(Actor::System, hook(&rx, "/ok/b", &t.id)).await.unwrap();
    for _ in 0..5 {
        publish_ticket(&hub, &t.id).await;
    }
    let off = UpdateWebhook { is_active: Some(false), ..Default::default() };
    hub.update_webhook(Actor::System, &w.id, off.clone()).await.unwrap();
    hub.update_webhook(Actor::System, &gone.id, off).await.unwrap();
    let worker = common::Worker::start(&hub);
    wait_until(&hub, &w.id, DeliveryStatus::Paused, 5).await;
    wait_until(&hub, &gone.id, DeliveryStatus::Paused, 5).await;
    assert_eq!(statuses(&hub, &w.id, DeliveryStatus::Cancelled).await, 0, "[{n}] paused, not cancelled");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.requests.lock().unwrap().is_empty(), "[{n}] nothing is sent while switched off");
    // Switching on sends them; deleting the other cancels its paused deliveries.
    let on = UpdateWebhook { is_active: Some(true), ..Default::default() };
    hub.update_webhook(Actor::System, &w.id, on).await.unwrap();
    hub.delete_webhook(Actor::System, &gone.id).await.unwrap();
    wait_until(&hub, &w.id, DeliveryStatus::Success, 5).await;
    assert_eq!(rx.received("/ok/a").len(), 5, "[{n}]");
    assert_eq!(statuses(&hub, &gone.id, DeliveryStatus::Cancelled).await, 5, "[{n}]");
    assert!(rx.received("/ok/b").is_empty(), "[{n}]");
    worker.stop().await;
}

backend_tests!(recovering_an_endpoint_twice_sends_each_dead_letter_once);
async fn recovering_an_endpoint_twice_sends_each_dead_letter_once(b: Backend) {
    let n = b.name;
    let (hub, rx, w) = queued(&b, "/fail", 3).await;
    let worker = common::Worker::start(&hub);
    wait_until(&hub, &w.id, DeliveryStatus::Failed, 3).await;
    // No worker while recovering twice: a replay sent and failed in between would be a dead letter of its own,
    // which the second recover rightly sends again.
    worker.stop().await;
    assert_eq!(hub.recover_webhook(Actor::System, &w.id, 0).await.unwrap(), 3, "[{n}]");
    assert_eq!(hub.recover_webhook(Actor::System, &w.id, 0).await.unwrap(), 0, "[{n}] nothing new to recover");
    let worker = common::Worker::start(&hub);
    wait_until(&hub, &w.id, DeliveryStatus::Failed, 6).await;
    // The replays failed too: they are recovered, the originals are not sent a third time.
    assert_eq!(hub.recover_webhook(Actor::System, &w.id, 0).await.unwrap(), 3, "[{n}]");
    wait_until(&hub, &w.id, DeliveryStatus::Failed, 9).await;
    assert_eq!(rx.received("/fail").len(), 9, "[{n}]");
    let q = DeliveryListQuery { webhook_id: Some(w.id.clone()), limit: Some(100), ..Default::default() };
    let all = hub.list_deliveries(Actor::System, q).await.unwrap();
    assert_eq!(all.iter().filter(|d| d.replayed_by.is_some()).count(), 6, "[{n}] each replayed one names its replay");
    worker.stop().await;
}

backend_tests!(released_deliveries_can_all_be_claimed_again_at_once);
/// Giving leased deliveries back (as a stopping worker does) frees every one of them at once, the first too.
async fn released_deliveries_can_all_be_claimed_again_at_once(b: Backend) {
    let n = b.name;
    let (hub, _rx, _) = queued(&b, "/ok", 3).await;
    let claimed: Vec<String> = hub.store.claim(10, 60_000).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(claimed.len(), 3, "[{n}]");
    assert!(hub.store.claim(10, 60_000).await.unwrap().is_empty(), "[{n}] leased");
    hub.store.release(&claimed, None).await.unwrap();
    assert_eq!(hub.store.claim(10, 60_000).await.unwrap().len(), 3, "[{n}] every one released");
}
