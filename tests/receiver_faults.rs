//! A receiver that misbehaves in every way at once — 500s, timeouts, slow answers, connection resets, 429 with
//! Retry-After — on every backend: each delivery's attempt history follows the retry policy exactly, and the
//! dead letters are recovered once the receiver is healthy.

mod common;

use common::fixtures::{add_event_type, hook_to, poll};
use common::Backend;
use integration_hub::model::{CreateWebhook, Delivery, DeliveryListQuery, DeliveryStatus, ErrorKind, PublishEvent};
use integration_hub::server::service::{Actor, AppState};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MESSAGES: usize = 20;
const MAX_RETRIES: u32 = 3;
const RETRY_AFTER_SECS: i64 = 100; // × the tests' time scale 0.001 = at least 100 ms

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Ok,
    Slow,
    Status500,
    Reset,
    Timeout,
    TooMany,
}

/// What attempt `k` (1-based) of message `i` meets.
fn plan(i: usize, k: u32) -> Fault {
    use Fault::*;
    match (i % 5, k) {
        (0, _) => Status500,
        (1, 1) => Reset,
        (2, 1) => Timeout,
        (2, 2) => TooMany,
        (3, 1) => Slow,
        (4, 1 | 2) => Status500,
        _ => Ok,
    }
}

#[derive(Clone, Default)]
struct Chaos {
    attempts: Arc<Mutex<HashMap<String, u32>>>,
    healthy: Arc<AtomicBool>,
}

/// A bare HTTP/1.1 server (so it can also reset connections): one request per connection.
async fn serve(chaos: Chaos) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let chaos = chaos.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, len) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body: serde_json::Value = serde_json::from_slice(&buf[head_end..]).unwrap_or_default();
                let id = body["id"].as_str().unwrap_or_default().to_string();
                let i: usize = body["data"]["n"].as_u64().unwrap_or(0) as usize;
                let k = {
                    let mut a = chaos.attempts.lock().unwrap();
                    let e = a.entry(id).or_insert(0);
                    *e += 1;
                    *e
                };
                let fault = if chaos.healthy.load(Ordering::SeqCst) { Fault::Ok } else { plan(i, k) };
                let reply = |status: &str, extra: &str| {
                    format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n{extra}\r\nok")
                };
                let answer = match fault {
                    Fault::Ok => reply("200 OK", ""),
                    Fault::Slow => {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        reply("200 OK", "")
                    }
                    Fault::Status500 => reply("500 Internal Server Error", ""),
                    Fault::TooMany => reply("429 Too Many Requests", &format!("retry-after: {RETRY_AFTER_SECS}\r\n")),
                    Fault::Timeout => {
                        tokio::time::sleep(Duration::from_millis(1_500)).await;
                        return;
                    }
                    Fault::Reset => {
                        // A zero linger does not block on drop (the deprecation's concern); it sends RST.
                        #[allow(deprecated)]
                        let _ = sock.set_linger(Some(Duration::ZERO));
                        return; // dropped with linger 0: the client sees a reset
                    }
                };
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

/// Waits until none of the tenant's deliveries is pending or retrying; returns them.
async fn all_final(hub: &AppState, tenant: &str) -> Vec<Delivery> {
    let probe = || async {
        let q = DeliveryListQuery { tenant_id: Some(tenant.into()), limit: Some(500), ..Default::default() };
        hub.list_deliveries(Actor::System, q).await.unwrap()
    };
    let settled = |list: &Vec<Delivery>| {
        list.iter().all(|d| !matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying))
    };
    let list = poll(Duration::from_secs(30), probe, settled).await;
    assert!(settled(&list), "deliveries did not settle");
    list
}

backend_tests!(a_chaotic_receiver_gets_exactly_the_retry_policy);
async fn a_chaotic_receiver_gets_exactly_the_retry_policy(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = common::Worker::start(&hub);
    let chaos = Chaos::default();
    let base = serve(chaos.clone()).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let hook = CreateWebhook {
        max_retries: Some(MAX_RETRIES),
        retry_delay_seconds: Some(1),
        backoff_factor: Some(2.0),
        timeout_ms: Some(1_000),
        ..hook_to(&format!("{base}/in"), &t.id)
    };
    let w = hub.create_webhook(Actor::System, hook).await.unwrap();
    add_test_type(&hub).await;
    let mut events = Vec::new();
    for i in 0..MESSAGES {
        let e = PublishEvent { data: serde_json::json!({"n": i}), tenant_id: Some(t.id.clone()), ..test_publish() };
        events.push(hub.publish(Actor::System, e).await.unwrap().id);
    }
    let list = all_final(&hub, &t.id).await;
    assert_eq!(list.len(), MESSAGES, "[{n}]");
    let mut dead = 0;
    for (i, event) in events.iter().enumerate() {
        let d = list.iter().find(|d| &d.event_id == event).unwrap();
        let attempts = hub.store.attempts_for(&d.id).await.unwrap();
        // The planned history: faults until the first success, at most 1 + MAX_RETRIES attempts.
        let expected: Vec<Fault> = (1..=MAX_RETRIES + 1)
            .map(|k| plan(i, k))
            .scan(false, |done, f| {
                if *done {
                    return None;
                }
                *done = matches!(f, Fault::Ok | Fault::Slow);
                Some(f)
            })
            .collect();
        assert_eq!(attempts.len(), expected.len(), "[{n}] message {i}: {attempts:?}");
        let succeeded = matches!(expected.last(), Some(Fault::Ok | Fault::Slow));
        let want = if succeeded { DeliveryStatus::Success } else { DeliveryStatus::Failed };
        assert_eq!((d.status, d.attempts as usize), (want, expected.len()), "[{n}] message {i}");
        dead += usize::from(!succeeded);
        for (k, (a, f)) in attempts.iter().zip(&expected).enumerate() {
            let kind = match f {
                Fault::Ok | Fault::Slow => None,
                Fault::Status500 | Fault::TooMany => Some(ErrorKind::Status),
                Fault::Reset => Some(ErrorKind::Reset),
                Fault::Timeout => Some(ErrorKind::Timeout),
            };
            assert_eq!(a.error_kind, kind, "[{n}] message {i} attempt {}: {a:?}", k + 1);
            let last = k + 1 == attempts.len();
            assert_eq!(a.next_retry_at.is_some(), !last, "[{n}] message {i} attempt {}", k + 1);
            if let Some(next) = a.next_retry_at {
                let ended = a.created_at + a.duration_ms as i64;
                let waited = next - ended;
                // delay × factor^(k-1) with full jitter, × the time scale (0.001); Retry-After wins.
                let ceiling = (1000.0 * 2f64.powi(k as i32) * 0.001).ceil() as i64 + 20;
                if *f == Fault::TooMany {
                    assert!(waited >= RETRY_AFTER_SECS - 2, "[{n}] Retry-After ignored: {waited} ms");
                } else {
                    assert!((-2..=ceiling).contains(&waited), "[{n}] message {i}: waited {waited} ms");
                }
                let again = &attempts[k + 1];
                assert!(again.created_at >= next, "[{n}] message {i} retried before it was due");
            }
        }
    }
    assert_eq!(dead, MESSAGES / 5, "[{n}]");

    // The receiver recovers; so do the dead letters.
    chaos.healthy.store(true, Ordering::SeqCst);
    assert_eq!(hub.recover_webhook(Actor::System, &w.id, 0).await.unwrap(), dead, "[{n}]");
    let list = all_final(&hub, &t.id).await;
    let ok = list.iter().filter(|d| d.status == DeliveryStatus::Success).count();
    assert_eq!(ok, MESSAGES, "[{n}] every message delivered in the end");

    worker.stop().await;
}

/// A hub with no private targets allowed at all (the tests' usual config allows 127.0.0.1).
async fn hub_without_private_targets(b: &Backend) -> AppState {
    common::open(b, common::config_from(&b.url, common::PLAIN_ARGS)).await
}

backend_tests!(attempt_errors_say_what_failed_without_the_hubs_network_details);
/// What an attempt's error (and a test-fire's answer) tells the tenant is one fixed sentence per kind of failure:
/// never the hub's connection and resolver errors, the addresses a name resolved to, or OS error numbers (they
/// describe the hub's network; they are logged at debug level).
async fn attempt_errors_say_what_failed_without_the_hubs_network_details(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    add_test_type(&hub).await;
    let receiver = common::receiver::Receiver::start().await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cases = [
        (format!("http://127.0.0.1:{closed}/in"), ErrorKind::Connect, "connection refused"),
        (receiver.url("/slow/3000"), ErrorKind::Timeout, "timed out after 1000 ms"),
        (
            "http://no-such-host.invalid/in".to_string(),
            ErrorKind::Dns,
            "the endpoint's host name could not be resolved",
        ),
    ];
    for (url, kind, message) in cases {
        let hook = CreateWebhook { timeout_ms: Some(1_000), max_retries: Some(0), ..hook_to(&url, &t.id) };
        let w = hub.create_webhook(Actor::System, hook).await.unwrap();
        let fired = hub.test_fire(Actor::System, &w.id, test_event()).await.unwrap();
        assert_eq!(fired.attempt.error_kind, Some(kind), "[{n}] {url}: {:?}", fired.attempt);
        assert_eq!(fired.attempt.error.as_deref(), Some(message), "[{n}] {url}");
        hub.delete_webhook(Actor::System, &w.id).await.unwrap();
    }

    // The same wording on attempts the worker records.
    let worker = common::Worker::start(&hub);
    let hook = CreateWebhook { max_retries: Some(0), ..hook_to(&format!("http://127.0.0.1:{closed}/in"), &t.id) };
    let w = hub.create_webhook(Actor::System, hook).await.unwrap();
    let e = PublishEvent { tenant_id: Some(t.id.clone()), ..test_publish() };
    hub.publish(Actor::System, e).await.unwrap();
    let list = all_final(&hub, &t.id).await;
    let d = list.iter().find(|d| d.webhook_id == w.id).expect("a delivery");
    let attempts = hub.store.attempts_for(&d.id).await.unwrap();
    assert_eq!(attempts.len(), 1, "[{n}]");
    assert_eq!(attempts[0].error.as_deref(), Some("connection refused"), "[{n}] {attempts:?}");
    worker.stop().await;
}

backend_tests!(a_refused_target_is_reported_without_its_resolved_address);
/// A name that resolves to a refused address: the attempt says so, and neither the name's address nor the
/// resolver's words reach the tenant.
async fn a_refused_target_is_reported_without_its_resolved_address(b: Backend) {
    let n = b.name;
    let hub = hub_without_private_targets(&b).await;
    add_test_type(&hub).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let w = hub.create_webhook(Actor::System, hook_to("http://localhost:9/in", &t.id)).await.unwrap();
    let fired = hub.test_fire(Actor::System, &w.id, test_event()).await.unwrap();
    assert_eq!(fired.attempt.error_kind, Some(ErrorKind::SsrfBlocked), "[{n}] {:?}", fired.attempt);
    assert_eq!(fired.attempt.error.as_deref(), Some("target address is not allowed"), "[{n}]");
}

async fn add_test_type(hub: &AppState) {
    add_event_type(hub, "chaos.test", "numbered messages", serde_json::json!({"n": 0})).await;
}

fn test_event() -> integration_hub::model::TestFire {
    integration_hub::model::TestFire { event_type: Some("chaos.test".into()), data: Some(serde_json::json!({"n": 0})) }
}

fn test_publish() -> PublishEvent {
    PublishEvent { event_type: "chaos.test".into(), data: serde_json::json!({"n": 0}), ..Default::default() }
}
