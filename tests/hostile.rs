//! Hostile input on the REST API: every refusal is a 4xx with the JSON error shape, never a 5xx, never a panic,
//! and nothing is written.

mod common;

use common::fixtures::{add_event_type, issue_key, poll};
use common::receiver::Receiver;
use common::{Backend, Worker};
use integration_hub::model::{Delivery, DeliveryListQuery, DeliveryStatus, ErrorKind, Scope};
use integration_hub::server::service::{Actor, AppState};
use reqwest::Method;
use std::time::Duration;

/// A hub served on a loopback port, a tenant of it and a key of that tenant with every scope.
struct Served {
    hub: AppState,
    tenant: String,
    key: String,
    base: String,
}

async fn served(b: &Backend) -> Served {
    let hub = common::hub(b).await;
    let tenant = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let key = issue_key(&hub, Some(&tenant), &Scope::ALL).await.secret;
    let base = common::serve(hub.clone()).await;
    Served { hub, tenant, key, base }
}

backend_tests!(malformed_huge_deep_and_strange_requests_get_clear_4xx_answers);
async fn malformed_huge_deep_and_strange_requests_get_clear_4xx_answers(b: Backend) {
    let n = b.name;
    let Served { hub, key, base, .. } = served(&b).await;
    let http = reqwest::Client::new();
    let send = |method: Method, path: &str, body: Vec<u8>| {
        http.request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(Method, &str, Vec<u8>, u16)> = vec![
        (Method::POST, "/events", b"{\"type\": ".to_vec(), 400),
        (Method::POST, "/events", vec![0xff, 0xfe, b'{', b'}'], 400),
        (Method::POST, "/events", deep.into_bytes(), 400),
        (Method::POST, "/events", format!("{{\"type\": \"{}\"}}", "x".repeat(2 << 20)).into_bytes(), 413),
        (Method::POST, "/events", b"[]".to_vec(), 422),
        (
            Method::POST,
            "/webhooks",
            b"{\"url\": \"https://x.example.com/\", \"name\": \"a\\u0000b\", \"events\": [\"*\"]}".to_vec(),
            400,
        ),
        (Method::GET, "/webhooks?search=%00", vec![], 400),
        (Method::POST, "/webhooks", b"{\"url\": 5, \"events\": []}".to_vec(), 422),
        (Method::POST, "/webhooks", b"{\"url\": \"file:///etc/passwd\", \"events\": [\"*\"]}".to_vec(), 422),
        (Method::GET, "/webhooks/..%2F..%2Fetc%2Fpasswd", vec![], 404),
        (Method::GET, "/deliveries/%00", vec![], 404),
        (Method::GET, "/events/'%20OR%201=1--", vec![], 404),
        (Method::GET, "/deliveries?limit=-5&status=nope", vec![], 400),
        (Method::GET, "/stats/deliveries?window=1y", vec![], 400),
        (Method::PUT, "/webhooks", vec![], 405),
        (Method::GET, "/nope", vec![], 404),
    ];
    for (method, path, body, want) in cases {
        // A 413 may be answered while the client is still writing the body, and the connection then
        // closes under it; a request that fails the same way three times is a real failure.
        let mut tries = 0;
        let res = loop {
            match send(method.clone(), path, body.clone()).await {
                Ok(r) => break r,
                Err(e) if tries < 2 && e.is_request() => tries += 1,
                Err(e) => panic!("[{n}] {method} {path}: {e:?}"),
            }
        };
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, want, "[{n}] {method} {path}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("[{n}] not JSON: {text}"));
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "[{n}] {text}");
    }
    // A header that is not valid UTF-8 in the key position is just a wrong key.
    let res = http
        .get(format!("{base}/api/v1/me"))
        .header("x-api-key", reqwest::header::HeaderValue::from_bytes(b"ihk_live_\xff\xfe").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "[{n}]");
    // Nothing was written by any of it.
    assert!(hub.list_events(Actor::System, Default::default()).await.unwrap().is_empty(), "[{n}]");
    assert!(hub.list_webhooks(Actor::System, Default::default()).await.unwrap().is_empty(), "[{n}]");
}

backend_tests!(a_template_that_would_exhaust_memory_is_refused_on_save_and_a_recorded_template_error_at_send);
/// A template under 1 KB that doubles a string forty times used to abort the process (the worker, with every
/// restart). Saved unguarded it is now a 422 on `template`; guarded by `is defined` it passes the save-time check
/// (the sample event has no `data.x`), and each delivery of an event that has `data.x` is a recorded attempt with
/// a template error, retried by the endpoint's policy only, while the worker goes on delivering to others.
async fn a_template_that_would_exhaust_memory_is_refused_on_save_and_a_recorded_template_error_at_send(b: Backend) {
    let n = b.name;
    let Served { hub, tenant, key, base } = served(&b).await;
    let worker = Worker::start(&hub);
    let receiver = Receiver::start().await;
    add_event_type(&hub, "hostile.test", "carries data.x", serde_json::json!({"x": 1})).await;
    let http = reqwest::Client::new();
    let api = |method: Method, path: &str, body: serde_json::Value| {
        let req = http.request(method, format!("{base}/api/v1{path}")).bearer_auth(&key);
        if body.is_null() { req } else { req.json(&body) }.send()
    };
    let mut doubling = String::from(r#"{% set a = "x" ~ "x" %}"#);
    doubling.push_str(&"{% set a = a ~ a %}".repeat(40));
    doubling.push_str("{{ a|length }}");
    assert!(doubling.len() < 1024);
    let hook = |name: &str, path: &str, template: Option<&str>| {
        serde_json::json!({"name": name, "url": receiver.url(path), "events": ["hostile.test"],
            "template": template, "max_retries": 2, "retry_delay_seconds": 1})
    };

    let res = api(Method::POST, "/webhooks", hook("bomb", "/never", Some(&doubling))).await.unwrap();
    assert_eq!(res.status(), 422, "[{n}]");
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error"]["fields"][0]["field"], "template", "[{n}] {err}");
    let msg = err["error"]["fields"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("template error: ") && msg.contains("256 KiB"), "[{n}] {msg}");

    let guarded = format!("{{% if data.x is defined %}}{doubling}{{% endif %}}");
    let res = api(Method::POST, "/webhooks", hook("guarded", "/never", Some(&guarded))).await.unwrap();
    assert_eq!(res.status(), 201, "[{n}] {}", res.text().await.unwrap());
    let bomb: serde_json::Value = res.json().await.unwrap();
    let res = api(Method::POST, "/webhooks", hook("plain", "/ok", None)).await.unwrap();
    assert_eq!(res.status(), 201, "[{n}]");

    // Test-fire answers with the template error, and sends nothing.
    let body = serde_json::json!({"type": "hostile.test", "data": {"x": 1}});
    let res = api(Method::POST, &format!("/webhooks/{}/test", bomb["id"].as_str().unwrap()), body).await;
    let fired: serde_json::Value = res.unwrap().json().await.unwrap();
    assert_eq!((&fired["success"], &fired["attempt"]["error_kind"]), (&false.into(), &"template".into()), "[{n}]");
    assert!(fired["attempt"]["error"].as_str().unwrap().starts_with("template error: "), "[{n}] {fired}");

    // Two events: each is attempted 1 + max_retries times at the bomb, delivered to the plain endpoint.
    for _ in 0..2 {
        let ev = serde_json::json!({"type": "hostile.test", "data": {"x": 1}});
        assert_eq!(api(Method::POST, "/events", ev).await.unwrap().status(), 202, "[{n}]");
    }
    // Read through the service: the key's rate limit (60 a minute) is not what is tested here.
    let bomb_id = bomb["id"].as_str().unwrap().to_string();
    let probe = || async {
        let q = DeliveryListQuery {
            webhook_id: Some(bomb_id.clone()),
            tenant_id: Some(tenant.clone()),
            ..Default::default()
        };
        let list = hub.list_deliveries(Actor::System, q).await.unwrap();
        list.into_iter().filter(|d| !d.event_id.is_empty()).collect::<Vec<_>>()
    };
    let failed = |ds: &Vec<Delivery>| ds.len() >= 3 && ds.iter().all(|d| d.status == DeliveryStatus::Failed);
    let settled = poll(Duration::from_secs(20), probe, failed).await;
    // The test-fire's delivery and the two events'.
    assert!(failed(&settled), "[{n}] the bomb's deliveries did not settle as failed: {settled:?}");
    assert_eq!(settled.len(), 3, "[{n}] the bomb's deliveries did not settle as failed");
    let mut attempts = Vec::new();
    for d in &settled {
        let log = hub.store.attempts_for(&d.id).await.unwrap();
        assert!(log.iter().all(|a| a.error_kind == Some(ErrorKind::Template)), "[{n}] {log:?}");
        assert!(log.iter().all(|a| a.error.as_deref().is_some_and(|e| e.starts_with("template error: "))));
        attempts.push(log.len());
    }
    attempts.sort();
    assert_eq!(attempts, [1, 3, 3], "[{n}] test-fire once, each event 1 + max_retries times");
    assert!(receiver.received("/never").is_empty(), "[{n}] the bomb reached its receiver");
    let delivered = receiver.wait_received("/ok", 2, Duration::from_secs(10)).await;
    assert_eq!(delivered.len(), 2, "[{n}] the worker stopped delivering");
    worker.stop().await;
}

backend_tests!(connection_and_proxy_header_names_are_reserved_on_save);
/// Headers that describe the connection rather than the request (`TE`, `Upgrade`, `Expect`, `Trailer`,
/// `Keep-Alive`, any `Proxy-*`) would be acted on by the receiver or a proxy on the way: an endpoint cannot set
/// them, in any case, and nothing is saved.
async fn connection_and_proxy_header_names_are_reserved_on_save(b: Backend) {
    let n = b.name;
    let Served { hub, key, base, .. } = served(&b).await;
    let http = reqwest::Client::new();
    for name in [
        "te",
        "TE",
        "upgrade",
        "Expect",
        "trailer",
        "Keep-Alive",
        "proxy-authorization",
        "Proxy-Connection",
        "proxy-anything",
        "Host",
    ] {
        let body = serde_json::json!({"url": "https://hooks.example.com/in", "events": ["*"],
            "headers": {name: "x"}});
        let res = http.post(format!("{base}/api/v1/webhooks")).bearer_auth(&key).json(&body).send().await;
        let res = res.unwrap();
        assert_eq!(res.status(), 422, "[{n}] {name}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"]["fields"][0]["field"], "headers", "[{n}] {name}: {err}");
        assert!(err["error"]["fields"][0]["message"].as_str().unwrap().contains(name), "[{n}] {err}");
    }
    // Names that merely resemble them are the endpoint's to set.
    let body = serde_json::json!({"url": "https://hooks.example.com/in", "events": ["*"],
        "headers": {"x-proxy-id": "1", "tenant": "2", "expected-version": "3"}});
    let res = http.post(format!("{base}/api/v1/webhooks")).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "[{n}] {}", res.text().await.unwrap());
    assert_eq!(hub.list_webhooks(Actor::System, Default::default()).await.unwrap().len(), 1, "[{n}]");
}
