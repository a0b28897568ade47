//! Hostile input on the REST API: every refusal is a 4xx with the JSON error shape, never a 5xx, never a panic,
//! and nothing is written.

mod common;

use integration_hub::model::{CreateApiKey, Scope};
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
