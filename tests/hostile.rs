//! Hostile input on the REST API: every refusal is a 4xx with the JSON error shape, never a 5xx, never a panic,
//! and nothing is written.

mod common;

use integration_hub::model::{CreateApiKey, ErrorKind, Scope};
use integration_hub::server::service::Actor;
use reqwest::Method;

#[test]
fn malformed_huge_deep_and_strange_requests_get_clear_4xx_answers() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let input = CreateApiKey {
                name: "k".into(),
                tenant_id: Some(t.id.clone()),
                scopes: Scope::ALL.to_vec(),
                ..Default::default()
            };
            let key = hub.create_api_key(Actor::System, input).await.unwrap().secret;
            let base = common::serve(hub.clone()).await;
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
                let v: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|_| panic!("[{n}] not JSON: {text}"));
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
    });
}

/// A template under 1 KB that doubles a string forty times used to abort the process (the worker, with every
/// restart). Saved unguarded it is now a 422 on `template`; guarded by `is defined` it passes the save-time check
/// (the sample event has no `data.x`), and each delivery of an event that has `data.x` is a recorded attempt with
/// a template error, retried by the endpoint's policy only, while the worker goes on delivering to others.
#[test]
fn a_template_that_would_exhaust_memory_is_refused_on_save_and_a_recorded_template_error_at_send() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let worker = common::Worker::start(&hub);
            let receiver = common::receiver::Receiver::start().await;
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let input = CreateApiKey {
                name: "k".into(),
                tenant_id: Some(t.id.clone()),
                scopes: Scope::ALL.to_vec(),
                ..Default::default()
            };
            let key = hub.create_api_key(Actor::System, input).await.unwrap().secret;
            let ty = integration_hub::model::EventType {
                name: "hostile.test".into(),
                category: "Test".into(),
                description: "carries data.x".into(),
                example: serde_json::json!({"x": 1}),
                schema: None,
                archived: false,
                created_at: 0,
                updated_at: 0,
            };
            hub.save_event_type(Actor::System, ty).await.unwrap();
            let base = common::serve(hub.clone()).await;
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
                    "template": template, "max_retries": 2, "retry_delay_seconds": 1, "rate_limit_per_minute": 1000})
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
            assert_eq!(
                (&fired["success"], &fired["attempt"]["error_kind"]),
                (&false.into(), &"template".into()),
                "[{n}]"
            );
            assert!(fired["attempt"]["error"].as_str().unwrap().starts_with("template error: "), "[{n}] {fired}");

            // Two events: each is attempted 1 + max_retries times at the bomb, delivered to the plain endpoint.
            for _ in 0..2 {
                let ev = serde_json::json!({"type": "hostile.test", "data": {"x": 1}});
                assert_eq!(api(Method::POST, "/events", ev).await.unwrap().status(), 202, "[{n}]");
            }
            // Read through the service: the key's rate limit (60 a minute) is not what is tested here.
            let bomb_id = bomb["id"].as_str().unwrap().to_string();
            let q = || integration_hub::model::DeliveryListQuery {
                webhook_id: Some(bomb_id.clone()),
                tenant_id: Some(t.id.clone()),
                ..Default::default()
            };
            let mut settled = Vec::new();
            for _ in 0..400 {
                let list = hub.list_deliveries(Actor::System, q()).await.unwrap();
                let events: Vec<_> = list.into_iter().filter(|d| !d.event_id.is_empty()).collect();
                if events.len() >= 3
                    && events.iter().all(|d| d.status == integration_hub::model::DeliveryStatus::Failed)
                {
                    settled = events;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            // The test-fire's delivery and the two events'.
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
            for _ in 0..200 {
                if receiver.received("/ok").len() == 2 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(receiver.received("/ok").len(), 2, "[{n}] the worker stopped delivering");
            worker.stop().await;
        }
    });
}

/// Headers that describe the connection rather than the request (`TE`, `Upgrade`, `Expect`, `Trailer`,
/// `Keep-Alive`, any `Proxy-*`) would be acted on by the receiver or a proxy on the way: an endpoint cannot set
/// them, in any case, and nothing is saved.
#[test]
fn connection_and_proxy_header_names_are_reserved_on_save() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let input = CreateApiKey {
                name: "k".into(),
                tenant_id: Some(t.id.clone()),
                scopes: Scope::ALL.to_vec(),
                ..Default::default()
            };
            let key = hub.create_api_key(Actor::System, input).await.unwrap().secret;
            let base = common::serve(hub.clone()).await;
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
    });
}
