//! Proxies and the SSRF guard. A proxy resolves the target's name itself, out of the guarded resolver's sight:
//! with HTTP_PROXY set, deliveries to internal hosts used to go out through it (and test-fire showed their
//! answers). Environment proxies are now ignored; an operator's egress proxy (`HUB_EGRESS_PROXY`) carries
//! deliveries only to targets the guard allows, checked before the proxy is asked.
//!
//! A test binary of its own: it sets the proxy variables for the whole process.

mod common;

use common::fixtures::{add_event_type, hook_to};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{CreateWebhook, ErrorKind, TestFire};
use integration_hub::server::config::{Config, ServeArgs};
use integration_hub::server::service::{Actor, AppState};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A forward HTTP proxy on 127.0.0.1 that records the request line of every connection it is given and, when
/// `forward` is set, relays the request to its target.
#[derive(Clone)]
struct RecordingProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    async fn start(forward: bool) -> RecordingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy =
            RecordingProxy { url: format!("http://{}", listener.local_addr().unwrap()), seen: Default::default() };
        let seen = proxy.seen.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    let end = loop {
                        match client.read(&mut buf).await {
                            Ok(0) | Err(_) => {
                                seen.lock().unwrap().push("(connection without a request)".into());
                                return;
                            }
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                        if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p;
                        }
                    };
                    let text = String::from_utf8_lossy(&head[..end]).into_owned();
                    let request_line = text.lines().next().unwrap_or_default().to_string();
                    seen.lock().unwrap().push(request_line.clone());
                    if !forward {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
                        return;
                    }
                    // "POST http://host:port/path HTTP/1.1": to the target, in origin form.
                    let mut parts = request_line.split(' ');
                    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                    let Ok(target) = url::Url::parse(target) else { return };
                    let addr = format!("{}:{}", target.host_str().unwrap_or_default(), target.port().unwrap_or(80));
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(addr).await else { return };
                    let rest = &head[request_line.len()..];
                    let line = format!("{method} {} HTTP/1.1", target.path());
                    if upstream.write_all(line.as_bytes()).await.is_err() || upstream.write_all(rest).await.is_err() {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        proxy
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// A hub with the plain flags (no private target allowed) and `extra`, and the event type `proxy.test`.
async fn hub(b: &Backend, extra: &[&'static str]) -> AppState {
    let args = common::PLAIN_ARGS.into_iter().chain(extra.iter().copied());
    let hub = common::open(b, common::config_from(&b.url, args)).await;
    add_event_type(&hub, "proxy.test", "a test", serde_json::json!({"n": 1})).await;
    hub
}

/// Test-fires a new endpoint at `url`; returns the attempt's error kind and error.
async fn fire(hub: &AppState, url: &str) -> (Option<ErrorKind>, Option<String>) {
    static TENANTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!("Tenant {}", TENANTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let t = hub.create_tenant(Actor::System, &name).await.unwrap();
    let hook = CreateWebhook { events: vec!["proxy.test".into()], timeout_ms: Some(5_000), ..hook_to(url, &t.id) };
    let w = hub.create_webhook(Actor::System, hook).await.unwrap();
    let fired = hub.test_fire(Actor::System, &w.id, TestFire::default()).await.unwrap();
    (fired.attempt.error_kind, fired.attempt.error)
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

backend_tests!(environment_proxies_are_ignored_so_the_guard_sees_every_target);
/// The proxy variables are set for the whole process (each case points them at a proxy of its own; whichever is
/// set, none may be used).
async fn environment_proxies_are_ignored_so_the_guard_sees_every_target(b: Backend) {
    let n = b.name;
    let proxy = RecordingProxy::start(false).await;
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        std::env::set_var(var, &proxy.url);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap().to_string();
    // No private target allowed: localhost (a name, so only the resolver can refuse it) is refused.
    let guarded = hub(&b, &[]).await;
    let (kind, error) = fire(&guarded, &format!("http://localhost:{port}/ok")).await;
    assert_eq!(kind, Some(ErrorKind::SsrfBlocked), "[{n}] {error:?}");
    // 127.0.0.1 allowed: delivered straight to it.
    let open = hub(&b, &["--allow-private-targets", "127.0.0.1/32"]).await;
    let (kind, error) = fire(&open, &receiver.url("/ok")).await;
    assert_eq!((kind, error), (None, None), "[{n}]");
    assert!(proxy.seen().is_empty(), "[{n}] the environment's proxy was used: {:?}", proxy.seen());
    assert!(!receiver.received("/ok").is_empty(), "[{n}]");
}

backend_tests!(an_egress_proxy_carries_allowed_targets_and_never_sees_refused_ones);
async fn an_egress_proxy_carries_allowed_targets_and_never_sees_refused_ones(b: Backend) {
    let n = b.name;
    let proxy = RecordingProxy::start(true).await;
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap().to_string();
    let via = leak(proxy.url.clone());
    let allowed = hub(&b, &["--egress-proxy", via, "--allow-private-targets", "127.0.0.1/32"]).await;
    let before = proxy.seen().len();
    let (kind, error) = fire(&allowed, &receiver.url("/ok")).await;
    assert_eq!((kind, error), (None, None), "[{n}]");
    let seen = proxy.seen();
    assert_eq!(seen.len(), before + 1, "[{n}] {seen:?}");
    assert_eq!(seen.last().unwrap(), &format!("POST {} HTTP/1.1", receiver.url("/ok")), "[{n}]");

    let refused = hub(&b, &["--egress-proxy", via]).await;
    let before = proxy.seen().len();
    let (kind, error) = fire(&refused, &format!("http://localhost:{port}/refused")).await;
    assert_eq!(kind, Some(ErrorKind::SsrfBlocked), "[{n}] {error:?}");
    assert_eq!(error.as_deref(), Some("target address is not allowed"), "[{n}]");
    let (kind, _) = fire(&refused, "http://no-such-host.invalid/in").await;
    assert_eq!(kind, Some(ErrorKind::Dns), "[{n}]");
    assert_eq!(proxy.seen().len(), before, "[{n}] a refused target reached the proxy: {:?}", proxy.seen());
    assert!(receiver.received("/refused").is_empty(), "[{n}]");
}

#[test]
fn an_egress_proxy_that_is_not_a_plain_http_url_stops_the_start() {
    for bad in ["socks5://127.0.0.1:1080", "https://proxy:3128", "proxy:3128", "http://proxy:3128/x"] {
        let serve = ServeArgs::parse_args(["--egress-proxy", leak(bad.to_string())]).unwrap();
        let e = Config::from_args(&common::common_args("sqlite://unused.db"), serve).unwrap_err();
        assert!(e.starts_with("HUB_EGRESS_PROXY: "), "{bad}: {e}");
    }
}
