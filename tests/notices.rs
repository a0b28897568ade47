//! Operational notices: the hub's own news (an endpoint switched off, a delivery dead-lettered, a key expiring,
//! a quota reached) arrives as `hub.*` events at an endpoint the tenant subscribed to them, like any event, with
//! a copy for the operators' tenant; and a notice about a notice never happens.

mod common;

use common::fixtures::{self, poll, publish_ticket};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{CreateApiKey, CreateWebhook, EventListQuery, Scope};
use integration_hub::server::service::{Actor, AppState};
use serde_json::Value;
use std::time::Duration;

/// The `data` of every `event_type` event the receiver got at `path`.
fn notices(rx: &Receiver, path: &str, event_type: &str) -> Vec<Value> {
    rx.received(path)
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .filter(|e| e["type"] == event_type)
        .map(|e| e["data"].clone())
        .collect()
}

async fn wait_notices(rx: &Receiver, path: &str, event_type: &str, n: usize) -> Vec<Value> {
    poll(Duration::from_secs(10), || async { notices(rx, path, event_type) }, |got| got.len() >= n).await
}

/// An endpoint of `tenant` subscribed to every `hub.*` event at `path`.
async fn watcher(hub: &AppState, rx: &Receiver, tenant: &str, path: &str) {
    let w = CreateWebhook { events: vec!["hub.*".into()], ..fixtures::hook(rx, path, tenant) };
    fixtures::add_hook(hub, w).await;
}

async fn hub_with_ops(b: &Backend) -> (AppState, String, String) {
    let hub0 = common::hub(b).await;
    let ops = hub0.create_tenant(Actor::System, "Operators").await.unwrap().id;
    drop(hub0);
    let hub = common::hub_configured(b, |c| c.serve.ops_tenant = Some(ops.clone())).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    (hub, t, ops)
}

backend_tests!(an_endpoint_switched_off_and_a_dead_letter_are_announced_to_the_tenant_and_the_operators);
async fn an_endpoint_switched_off_and_a_dead_letter_are_announced_to_the_tenant_and_the_operators(b: Backend) {
    let n = b.name;
    let (hub, t, ops) = hub_with_ops(&b).await;
    let rx = Receiver::start().await;
    watcher(&hub, &rx, &t, "/ok/tenant").await;
    watcher(&hub, &rx, &ops, "/ok/ops").await;
    let gone = CreateWebhook { name: Some("Old CRM".into()), max_retries: Some(0), ..fixtures::hook(&rx, "/gone", &t) };
    let gone = fixtures::add_hook(&hub, gone).await;
    let failing = CreateWebhook { max_retries: Some(0), ..fixtures::hook(&rx, "/fail", &t) };
    let failing = fixtures::add_hook(&hub, failing).await;
    let worker = common::Worker::start(&hub);
    publish_ticket(&hub, &t).await;

    let off = wait_notices(&rx, "/ok/tenant", "hub.endpoint.disabled", 1).await;
    assert_eq!(off.len(), 1, "[{n}] one endpoint was switched off: {off:?}");
    assert_eq!(off[0]["endpoint"]["id"], gone.id.as_str(), "[{n}]");
    assert_eq!(off[0]["endpoint"]["name"], "Old CRM", "[{n}]");
    assert!(off[0]["reason"].as_str().unwrap().contains("410"), "[{n}] {off:?}");
    let dead = wait_notices(&rx, "/ok/tenant", "hub.delivery.dead_lettered", 2).await;
    let ids: Vec<&str> = dead.iter().map(|d| d["endpoint"]["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&failing.id.as_str()) && ids.contains(&gone.id.as_str()), "[{n}] {dead:?}");
    let to_fail = dead.iter().find(|d| d["endpoint"]["id"] == failing.id.as_str()).unwrap();
    assert_eq!(to_fail["delivery"]["event_type"], "ticket.created", "[{n}]");
    assert!(to_fail["reason"].as_str().unwrap().contains("500"), "[{n}] {to_fail}");
    // The operators see the same, saying whose.
    let copies = wait_notices(&rx, "/ok/ops", "hub.endpoint.disabled", 1).await;
    assert_eq!(copies[0]["tenant_id"], t.as_str(), "[{n}]");

    // A second failure within the minute is not announced again.
    publish_ticket(&hub, &t).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let again = notices(&rx, "/ok/tenant", "hub.delivery.dead_lettered");
    assert_eq!(again.iter().filter(|d| d["endpoint"]["id"] == failing.id.as_str()).count(), 1, "[{n}] {again:?}");
    worker.stop().await;
}

backend_tests!(a_notice_that_cannot_be_delivered_announces_nothing_further);
async fn a_notice_that_cannot_be_delivered_announces_nothing_further(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let rx = Receiver::start().await;
    // The notices go to an endpoint that always fails; the ticket goes to another that fails too.
    let sink =
        CreateWebhook { events: vec!["hub.*".into()], max_retries: Some(0), ..fixtures::hook(&rx, "/fail/hub", &t) };
    fixtures::add_hook(&hub, sink).await;
    let failing = CreateWebhook { max_retries: Some(0), ..fixtures::hook(&rx, "/fail/crm", &t) };
    fixtures::add_hook(&hub, failing).await;
    let worker = common::Worker::start(&hub);
    publish_ticket(&hub, &t).await;
    rx.wait_received("/fail/hub", 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let q = EventListQuery { event_type: Some("hub.delivery.dead_lettered".into()), ..Default::default() };
    let events = hub.list_events(Actor::System, q).await.unwrap();
    assert_eq!(events.len(), 1, "[{n}] only the ticket's dead letter is announced, not the notice's own");
    assert_eq!(rx.received("/fail/hub").len(), 1, "[{n}]");
    worker.stop().await;
}

backend_tests!(a_key_about_to_expire_is_announced_once_per_expiry);
async fn a_key_about_to_expire_is_announced_once_per_expiry(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let now = integration_hub::server::store::now_ms();
    let day = 86_400_000;
    let soon = CreateApiKey {
        name: "Publisher".into(),
        scopes: vec![Scope::EventsWrite],
        expires_at: Some(now + 3 * day),
        tenant_id: Some(t.clone()),
        ..Default::default()
    };
    let rx = Receiver::start().await;
    watcher(&hub, &rx, &t, "/ok/notices").await;
    let key = hub.create_api_key(Actor::System, soon.clone()).await.unwrap();
    let later = CreateApiKey { name: "Later".into(), expires_at: Some(now + 30 * day), ..soon };
    hub.create_api_key(Actor::System, later).await.unwrap();
    assert_eq!(hub.notify_expiring_keys(now).await.unwrap(), 1, "[{n}] only the key within 7 days");
    assert_eq!(hub.notify_expiring_keys(now).await.unwrap(), 0, "[{n}] once");
    let q = EventListQuery { event_type: Some("hub.api_key.expiring".into()), ..Default::default() };
    let events = hub.list_events(Actor::System, q.clone()).await.unwrap();
    assert_eq!(events.len(), 1, "[{n}]");
    assert_eq!(events[0].tenant_id, t, "[{n}]");
    assert_eq!(events[0].envelope["data"]["key"]["id"], key.key.id.as_str(), "[{n}]");
    assert_eq!(events[0].envelope["data"]["days_left"], 3, "[{n}]");
    // A new expiry, still within the window, is announced again.
    let moved = integration_hub::model::UpdateApiKey { expires_at: Some(Some(now + 5 * day)), ..Default::default() };
    hub.update_api_key(Actor::System, &key.key.id, moved).await.unwrap();
    assert_eq!(hub.notify_expiring_keys(now).await.unwrap(), 1, "[{n}]");
}

backend_tests!(reaching_the_endpoint_quota_is_announced_once_an_hour);
async fn reaching_the_endpoint_quota_is_announced_once_an_hour(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.max_endpoints_per_tenant = 2).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let rx = Receiver::start().await;
    // Nobody is subscribed yet: a refusal records no notice.
    fixtures::add_hook(&hub, fixtures::hook(&rx, "/ok/a", &t)).await;
    assert!(hub.create_webhook(Actor::System, fixtures::hook(&rx, "/ok/b", &t)).await.is_ok());
    let q = EventListQuery { event_type: Some("hub.quota.reached".into()), ..Default::default() };
    assert!(hub.create_webhook(Actor::System, fixtures::hook(&rx, "/ok/c", &t)).await.is_err());
    assert!(hub.list_events(Actor::System, q.clone()).await.unwrap().is_empty(), "[{n}] not recorded");
    // A person subscribes (their watcher replaces one endpoint); the next refusals are announced once.
    let all = hub.list_webhooks(Actor::System, Default::default()).await.unwrap();
    hub.delete_webhook(Actor::System, &all[0].id).await.unwrap();
    watcher(&hub, &rx, &t, "/ok/notices").await;
    for _ in 0..2 {
        let refused = hub.create_webhook(Actor::System, fixtures::hook(&rx, "/ok/d", &t)).await;
        assert!(refused.is_err(), "[{n}] the third endpoint is over the quota");
    }
    let events = poll(
        Duration::from_secs(5),
        || hub.list_events(Actor::System, q.clone()),
        |e| e.as_ref().is_ok_and(|e| !e.is_empty()),
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1, "[{n}] two refusals, one notice");
    let data = &events[0].envelope["data"];
    assert_eq!((data["quota"].as_str(), data["limit"].as_u64()), (Some("endpoints_per_tenant"), Some(2)), "[{n}]");
}
