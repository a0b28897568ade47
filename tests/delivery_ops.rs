//! Operations around delivery, on every backend against a real receiver: the circuit breaker (by count and by
//! time), test-fire, statistics and retention.

mod common;

use common::fixtures::{issue_key, publish_ticket, retrying_hook, settle, ticket};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{
    DeliveryListQuery, DeliveryStatus, ErrorCode, ErrorKind, Scope, StatsQuery, StatsWindow, TestFire, UpdateWebhook,
};
use integration_hub::server::service::Actor;
use integration_hub::server::store::now_ms;
use serde_json::json;
use std::time::Duration;

backend_tests!(circuit_breaker_disables_a_failing_endpoint_and_says_why);
async fn circuit_breaker_disables_a_failing_endpoint_and_says_why(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| {
        c.serve.breaker_failures = 3;
        c.serve.breaker_period_seconds = 1;
    })
    .await;
    let worker = common::Worker::start(&hub);
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();

    // By count: three dead-lettered deliveries in a row switch the endpoint off; a success in between
    // would have reset the count (the healthy endpoint beside it is untouched).
    let bad = hub.create_webhook(Actor::System, retrying_hook(&rx, "/fail", &t.id, 0)).await.unwrap();
    let good = hub.create_webhook(Actor::System, retrying_hook(&rx, "/ok", &t.id, 0)).await.unwrap();
    for i in 0..3 {
        let id = publish_ticket(&hub, &t.id).await;
        settle(&hub, &id).await;
        let w = hub.get_webhook(&Actor::System, &bad.id).await.unwrap();
        assert_eq!(w.is_active, i < 2, "[{n}] after {} failures", i + 1);
    }
    let w = hub.get_webhook(&Actor::System, &bad.id).await.unwrap();
    let reason = w.disabled_reason.clone().unwrap_or_default();
    assert!(reason.contains("circuit breaker") && reason.contains("3 deliveries in a row"), "[{n}] {reason}");
    assert!(hub.get_webhook(&Actor::System, &good.id).await.unwrap().is_active, "[{n}]");
    let audit = hub.store.list_audit(Some(&t.id), 50).await.unwrap();
    let row = audit.iter().find(|a| a.action == "webhook.auto_disabled").expect("audit row");
    assert_eq!((row.actor.as_str(), row.target.as_deref()), ("system", Some(bad.id.as_str())), "[{n}]");
    // Disabled endpoints get nothing more.
    let id = publish_ticket(&hub, &t.id).await;
    settle(&hub, &id).await;
    assert_eq!(rx.received("/fail").len(), 3, "[{n}]");

    // Re-enabling is a user action and starts afresh.
    let on = UpdateWebhook { is_active: Some(true), ..Default::default() };
    let w = hub.update_webhook(Actor::System, &bad.id, on).await.unwrap();
    assert!(w.is_active && w.disabled_reason.is_none(), "[{n}]");

    // By time: an endpoint whose attempts have all failed for longer than the period (1 s here) is
    // switched off at its next failure, even below the count.
    let slowly = hub.create_webhook(Actor::System, retrying_hook(&rx, "/fail/slowly", &t.id, 0)).await.unwrap();
    hub.update_webhook(Actor::System, &bad.id, UpdateWebhook { is_active: Some(false), ..Default::default() })
        .await
        .unwrap();
    let id = publish_ticket(&hub, &t.id).await;
    settle(&hub, &id).await;
    assert!(hub.get_webhook(&Actor::System, &slowly.id).await.unwrap().is_active, "[{n}]");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let id = publish_ticket(&hub, &t.id).await;
    settle(&hub, &id).await;
    let w = hub.get_webhook(&Actor::System, &slowly.id).await.unwrap();
    assert!(!w.is_active, "[{n}]");
    assert!(w.disabled_reason.unwrap().contains("every attempt failed for 1 seconds"), "[{n}]");

    worker.stop().await;
}

backend_tests!(test_fire_answers_synchronously_and_is_kept_as_a_test_delivery);
async fn test_fire_answers_synchronously_and_is_kept_as_a_test_delivery(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let other = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let mut input = retrying_hook(&rx, "/ok", &t.id, 3);
    input.is_active = Some(false); // testing before switching on is the point
    let w = hub.create_webhook(Actor::System, input).await.unwrap();

    // The example payload of the endpoint's first event type, signed like any delivery.
    let r = hub.test_fire(Actor::System, &w.id, TestFire::default()).await.unwrap();
    assert!(r.success, "[{n}] {r:?}");
    assert!(r.event_type.starts_with("ticket.") && !r.event_type.contains('*'), "[{n}] {}", r.event_type);
    assert_eq!(r.attempt.response_status, Some(200), "[{n}]");
    assert_eq!(r.attempt.response_body.as_deref(), Some("{\"received\": true}"), "[{n}]");
    let got = rx.received("/ok");
    assert_eq!(got.len(), 1, "[{n}]");
    assert_eq!(got[0].headers["webhook-id"], r.event_id, "[{n}]");
    assert!(got[0].headers["webhook-signature"].starts_with("v1,"), "[{n}]");

    // A custom payload, and a failing endpoint: the answer says what happened, nothing is retried.
    let custom = TestFire { event_type: Some("ticket.created".into()), data: Some(ticket()) };
    let r = hub.test_fire(Actor::System, &w.id, custom).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&rx.received("/ok")[1].body).unwrap();
    assert_eq!((r.event_type.as_str(), body["data"].clone()), ("ticket.created", ticket()), "[{n}]");
    let failing = hub.create_webhook(Actor::System, retrying_hook(&rx, "/fail", &t.id, 3)).await.unwrap();
    let custom = TestFire { event_type: Some("ticket.created".into()), data: Some(ticket()) };
    let r = hub.test_fire(Actor::System, &failing.id, custom).await.unwrap();
    assert!(!r.success && r.attempt.response_status == Some(500), "[{n}]");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.received("/fail").len(), 1, "[{n}] a test is sent once");

    // Bad input is a field error; another tenant's endpoint does not exist.
    let bad = TestFire { event_type: Some("ticket.created".into()), data: Some(json!({"nope": 1})) };
    let e = hub.test_fire(Actor::System, &w.id, bad).await.unwrap_err();
    assert_eq!(e.fields.first().map(|f| f.field.as_str()), Some("data"), "[{n}] {e:?}");
    let globex_key = issue_key(&hub, Some(&other.id), &Scope::ALL).await;
    let e = hub.test_fire(Actor::Key(&globex_key.key), &w.id, TestFire::default()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "[{n}]");

    // Stored as test deliveries with their attempt; hidden from the event log; pruned after 7 days.
    let q = DeliveryListQuery { webhook_id: Some(w.id.clone()), ..Default::default() };
    let list = hub.list_deliveries(Actor::System, q.clone()).await.unwrap();
    assert_eq!(list.len(), 2, "[{n}]");
    assert!(list.iter().all(|d| d.is_test && d.status == DeliveryStatus::Success), "[{n}]");
    let detail = hub.get_delivery(&Actor::System, &list[0].id).await.unwrap();
    assert_eq!(detail.attempt_log.len(), 1, "[{n}]");
    assert!(hub.list_events(Actor::System, Default::default()).await.unwrap().is_empty(), "[{n}]");
    let day = 24 * 3_600_000;
    assert_eq!(hub.prune_at(now_ms() + 6 * day).await.unwrap().deliveries, 0, "[{n}]");
    let p = hub.prune_at(now_ms() + 8 * day).await.unwrap();
    assert_eq!((p.deliveries, p.events), (3, 3), "[{n}]");
    assert!(hub.list_deliveries(Actor::System, q).await.unwrap().is_empty(), "[{n}]");
}

backend_tests!(stats_and_retention_follow_the_log);
async fn stats_and_retention_follow_the_log(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = common::Worker::start(&hub);
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let ok = hub.create_webhook(Actor::System, retrying_hook(&rx, "/slow/30", &t.id, 0)).await.unwrap();
    let bad = hub.create_webhook(Actor::System, retrying_hook(&rx, "/fail", &t.id, 0)).await.unwrap();
    let mut events = Vec::new();
    for _ in 0..4 {
        let id = publish_ticket(&hub, &t.id).await;
        settle(&hub, &id).await;
        events.push(id);
    }

    // Per endpoint: counts, success rate, latency (the receiver waits 30 ms) and a bucketed series.
    let q = StatsQuery { webhook_id: Some(ok.id.clone()), ..Default::default() };
    let s = hub.delivery_stats(Actor::System, q).await.unwrap();
    assert_eq!((s.total, s.counts.success, s.success_rate), (4, 4, Some(1.0)), "[{n}] {s:?}");
    let p95 = s.p95_ms.unwrap();
    assert!((30.0..200.0).contains(&p95), "[{n}] p95 {p95}");
    assert!(s.avg_ms.unwrap() >= 30.0, "[{n}]");
    assert_eq!(s.buckets.len(), 24, "[{n}]");
    assert_eq!(s.buckets.iter().map(|b| b.counts.total()).sum::<i64>(), 4, "[{n}]");
    assert!(s.buckets.last().unwrap().start <= now_ms() && s.until > now_ms(), "[{n}]");
    // Per tenant: both endpoints.
    let q = StatsQuery { tenant_id: Some(t.id.clone()), window: StatsWindow::Month, ..Default::default() };
    let s = hub.delivery_stats(Actor::System, q).await.unwrap();
    assert_eq!((s.total, s.counts.success, s.counts.failed), (8, 4, 4), "[{n}]");
    assert_eq!((s.success_rate, s.buckets.len()), (Some(0.5), 30), "[{n}]");
    let dead = hub
        .list_deliveries(Actor::System, DeliveryListQuery { webhook_id: Some(bad.id.clone()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(hub.store.attempts_for(&dead[0].id).await.unwrap().len(), 1, "[{n}]");

    // A replay has an id of its own time (it sorts as the newest), and the event lists it beside the
    // deliveries made when it was published.
    let replay = hub.replay_delivery(Actor::System, &dead[0].id).await.unwrap();
    let all = hub.list_deliveries(Actor::System, DeliveryListQuery::default()).await.unwrap();
    assert_eq!(all[0].id, replay.id, "[{n}]");
    settle(&hub, &dead[0].event_id).await;
    let ev = hub.get_event(Actor::System, &dead[0].event_id).await.unwrap();
    let mut listed: Vec<&str> = ev.deliveries.iter().map(|d| d.webhook_id.as_str()).collect();
    listed.sort();
    let mut expected = vec![ok.id.as_str(), bad.id.as_str(), bad.id.as_str()];
    expected.sort();
    assert_eq!(listed, expected, "[{n}]");
    assert!(ev.deliveries.iter().any(|d| d.id == replay.id && d.status == DeliveryStatus::Failed), "[{n}]");
    // The other events list only their own two.
    let other = hub.get_event(Actor::System, &events[0]).await.unwrap();
    assert_eq!(other.deliveries.len(), 2, "[{n}]");
    assert!(other.deliveries.iter().all(|d| d.event_id == events[0]), "[{n}]");

    // Retention: nothing is young enough to go now; 31 days on, deliveries, attempts and the events
    // they belonged to are gone, in batches.
    assert_eq!(hub.prune_at(now_ms()).await.unwrap().deliveries, 0, "[{n}]");
    let day = 24 * 3_600_000;
    let p = hub.prune_at(now_ms() + 31 * day).await.unwrap();
    assert_eq!((p.deliveries, p.events), (9, 4), "[{n}]");
    assert!(hub.store.attempts_for(&dead[0].id).await.unwrap().is_empty(), "[{n}]");
    assert!(hub.list_events(Actor::System, Default::default()).await.unwrap().is_empty(), "[{n}]");
    let s = hub.delivery_stats(Actor::System, StatsQuery::default()).await.unwrap();
    assert_eq!(s.total, 0, "[{n}]");

    worker.stop().await;
}

backend_tests!(ssrf_guard_refuses_private_targets_at_save_and_at_send);
async fn ssrf_guard_refuses_private_targets_at_save_and_at_send(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| {
        // No exceptions here: loopback is as forbidden as in production.
        c.target_policy = integration_hub::server::delivery::ssrf::TargetPolicy::default();
    })
    .await;
    let worker = common::Worker::start(&hub);
    let rx = Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let port = rx.base.rsplit(':').next().unwrap().to_string();
    for url in [
        format!("http://127.0.0.1:{port}/ok"),
        "http://10.0.0.1/x".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        format!("http://[::1]:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
    ] {
        let mut h = retrying_hook(&rx, "/ok", &t.id, 0);
        h.url = url.clone();
        let e = hub.create_webhook(Actor::System, h).await.unwrap_err();
        assert_eq!(e.fields.first().map(|f| f.field.as_str()), Some("url"), "[{n}] {url}");
    }
    // A host name is resolved at send time; one that resolves to loopback is refused, never contacted.
    let mut h = retrying_hook(&rx, "/ok", &t.id, 3);
    h.url = format!("http://localhost:{port}/ok");
    let w = hub.create_webhook(Actor::System, h).await.unwrap();
    let id = publish_ticket(&hub, &t.id).await;
    settle(&hub, &id).await;
    let d = hub.get_event(Actor::System, &id).await.unwrap().deliveries.remove(0);
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1), "[{n}] not retried");
    let a = hub.store.attempts_for(&d.id).await.unwrap();
    assert_eq!(a[0].error_kind, Some(ErrorKind::SsrfBlocked), "[{n}] {:?}", a[0]);
    let r = hub.test_fire(Actor::System, &w.id, TestFire::default()).await.unwrap();
    assert_eq!(r.attempt.error_kind, Some(ErrorKind::SsrfBlocked), "[{n}]");
    assert!(rx.requests.lock().unwrap().is_empty(), "[{n}] the receiver was contacted");

    worker.stop().await;
}

backend_tests!(a_tenant_log_merges_its_events_deliveries_and_replays_page_by_page);
async fn a_tenant_log_merges_its_events_deliveries_and_replays_page_by_page(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let other = hub.create_tenant(Actor::System, "Other").await.unwrap();
    let rx = Receiver::start().await;
    hub.create_webhook(Actor::System, retrying_hook(&rx, "/ok", &acme.id, 0)).await.unwrap();
    let bad = hub.create_webhook(Actor::System, retrying_hook(&rx, "/fail", &acme.id, 0)).await.unwrap();
    hub.create_webhook(Actor::System, retrying_hook(&rx, "/ok", &other.id, 0)).await.unwrap();
    // Three of Acme's events delivered (one endpoint fails), the other tenant's published in between.
    let worker = common::Worker::start(&hub);
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(publish_ticket(&hub, &acme.id).await);
        let theirs = publish_ticket(&hub, &other.id).await;
        settle(&hub, &theirs).await;
        settle(&hub, events.last().unwrap()).await;
    }
    worker.stop().await;
    // A replay of the oldest dead letter (its id is of its own time), then one more event, left queued.
    let first = hub.get_event(Actor::System, &events[0]).await.unwrap().deliveries;
    let dead = first.iter().find(|d| d.webhook_id == bad.id).unwrap();
    let replay = hub.replay_delivery(Actor::System, &dead.id).await.unwrap();
    events.push(publish_ticket(&hub, &acme.id).await);
    // An event lists its replays beside its own deliveries.
    let mut expected = Vec::new();
    for e in &events {
        expected.extend(hub.get_event(Actor::System, e).await.unwrap().deliveries.into_iter().map(|d| d.id));
    }
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(expected.len(), 9, "[{n}]");
    assert!(expected.contains(&replay.id), "[{n}]");

    let log = |status: Option<DeliveryStatus>, cursor: Option<String>, limit: u32| {
        let q = DeliveryListQuery {
            tenant_id: Some(acme.id.clone()),
            status,
            cursor,
            limit: Some(limit),
            ..Default::default()
        };
        hub.list_deliveries(Actor::System, q)
    };
    let all: Vec<String> = log(None, None, 50).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(all, expected, "[{n}] every row of the tenant, newest first, and no other tenant's");
    assert_eq!(all[2], replay.id, "[{n}] the replay sorts by its own time, before the newest event's");
    // Pages of two: the cursor crosses events and the replay without losing or repeating a row.
    let (mut paged, mut cursor) = (Vec::new(), None);
    loop {
        let page = log(None, cursor, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(last.id.clone());
        paged.extend(page.into_iter().map(|d| d.id));
    }
    assert_eq!(paged, expected, "[{n}]");
    let failed = log(Some(DeliveryStatus::Failed), None, 50).await.unwrap();
    assert_eq!(failed.len(), 3, "[{n}]");
    assert!(failed.iter().all(|d| d.webhook_id == bad.id && d.tenant_id == acme.id), "[{n}]");
    let pending: Vec<String> =
        log(Some(DeliveryStatus::Pending), None, 50).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(pending.len(), 3, "[{n}] the newest event's two and the replay: {pending:?}");
    assert!(pending.contains(&replay.id), "[{n}]");
    let q =
        DeliveryListQuery { tenant_id: Some(acme.id.clone()), since: Some(replay.created_at), ..Default::default() };
    assert_eq!(hub.list_deliveries(Actor::System, q).await.unwrap().len(), 3, "[{n}] since the replay");
    let q = DeliveryListQuery {
        tenant_id: Some(acme.id.clone()),
        event_type: Some("ticket.updated".into()),
        ..Default::default()
    };
    assert!(hub.list_deliveries(Actor::System, q).await.unwrap().is_empty(), "[{n}] no event of that type");
}

backend_tests!(an_endpoint_log_merges_attempted_and_queued_deliveries_page_by_page);
async fn an_endpoint_log_merges_attempted_and_queued_deliveries_page_by_page(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let rx = Receiver::start().await;
    let w = hub.create_webhook(Actor::System, retrying_hook(&rx, "/ok", &t.id, 0)).await.unwrap();
    let other = hub.create_webhook(Actor::System, retrying_hook(&rx, "/ok", &t.id, 0)).await.unwrap();
    // Three delivered while a worker runs, then three that stay queued.
    let worker = common::Worker::start(&hub);
    for _ in 0..3 {
        let id = publish_ticket(&hub, &t.id).await;
        settle(&hub, &id).await;
    }
    worker.stop().await;
    for _ in 0..3 {
        publish_ticket(&hub, &t.id).await;
    }
    let log = |status: Option<DeliveryStatus>, cursor: Option<String>, limit: u32| {
        let q = DeliveryListQuery {
            webhook_id: Some(w.id.clone()),
            status,
            cursor,
            limit: Some(limit),
            ..Default::default()
        };
        hub.list_deliveries(Actor::System, q)
    };
    let all = log(None, None, 50).await.unwrap();
    let statuses: Vec<DeliveryStatus> = all.iter().map(|d| d.status).collect();
    use DeliveryStatus::{Cancelled, Pending, Success};
    assert_eq!(statuses, [Pending, Pending, Pending, Success, Success, Success], "[{n}]");
    assert!(all.windows(2).all(|p| p[0].id > p[1].id), "[{n}] newest first");
    assert!(all.iter().all(|d| d.webhook_id == w.id), "[{n}] only this endpoint's rows");
    // Pages of four: the cursor runs across both halves without losing or repeating a row.
    let first = log(None, None, 4).await.unwrap();
    let second = log(None, Some(first[3].id.clone()), 4).await.unwrap();
    let paged: Vec<&str> = first.iter().chain(&second).map(|d| d.id.as_str()).collect();
    assert_eq!(paged, all.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), "[{n}]");
    assert_eq!(log(Some(Pending), None, 50).await.unwrap().len(), 3, "[{n}]");
    assert_eq!(log(Some(Success), None, 50).await.unwrap().len(), 3, "[{n}]");
    // Deleting the other endpoint cancels only its own queue.
    hub.delete_webhook(Actor::System, &other.id).await.unwrap();
    assert_eq!(log(Some(Pending), None, 50).await.unwrap().len(), 3, "[{n}]");
    let q = DeliveryListQuery { status: Some(Cancelled), ..Default::default() };
    let cancelled = hub.list_deliveries(Actor::System, q).await.unwrap();
    assert_eq!(cancelled.len(), 3, "[{n}]");
    assert!(cancelled.iter().all(|d| d.webhook_id == other.id), "[{n}]");
    let q = DeliveryListQuery { webhook_id: Some(other.id.clone()), ..Default::default() };
    let statuses: Vec<DeliveryStatus> =
        hub.list_deliveries(Actor::System, q).await.unwrap().iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Cancelled, Cancelled, Cancelled, Success, Success, Success], "[{n}]");
}
