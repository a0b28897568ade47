//! The real binary's start and stop as a load balancer and Prometheus see them: readiness, the drain after
//! SIGTERM (`HUB_DRAIN_SECONDS`) and metrics on their own address (`HUB_METRICS_ADDR`).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_integration-hub");

/// The `serve` process, killed when the test ends early.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A client that opens a new connection for every request, as a probe does (a kept-alive connection would be
/// served through the drain however the listener stands).
fn probe() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(10)).build().unwrap()
}

async fn status(url: &str) -> Option<u16> {
    probe().get(url).send().await.ok().map(|r| r.status().as_u16())
}

#[test]
fn after_sigterm_the_binary_answers_not_ready_while_it_drains_then_exits() {
    common::run(async {
        let dir = tempfile::tempdir().unwrap();
        let (port, metrics_port) = (free_port(), free_port());
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(BIN)
            .arg("serve")
            .env("HUB_DATABASE_URL", format!("sqlite://{}", dir.path().join("hub.db").display()))
            .env("HUB_MASTER_KEY", common::MASTER_KEY)
            .env("HUB_ADDR", format!("127.0.0.1:{port}"))
            .env("HUB_ADMIN_PASSWORD", "lifecycle-test-password")
            .env("HUB_LOG", "warn")
            .env("HUB_DRAIN_SECONDS", "3")
            .env("HUB_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut serve = Serve(child);

        let deadline = Instant::now() + Duration::from_secs(30);
        while status(&format!("{base}/readyz")).await != Some(200) {
            assert!(Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Metrics: not on the main address without a token, on the metrics address.
        assert_eq!(status(&format!("{base}/metrics")).await, Some(404));
        assert_eq!(status(&format!("http://127.0.0.1:{metrics_port}/metrics")).await, Some(200));

        let term = Command::new("kill").args(["-TERM", &serve.0.id().to_string()]).status().unwrap();
        assert!(term.success());
        let signalled = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Draining: not ready, yet still serving (new connections included) ...
        let res = probe().get(format!("{base}/readyz")).send().await.expect("served while draining");
        assert_eq!(res.status(), 503);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "draining", "{body}");
        assert_eq!(status(&format!("{base}/healthz")).await, Some(200));
        assert_eq!(status(&format!("http://127.0.0.1:{metrics_port}/metrics")).await, Some(200));
        // ... until the drain is over; then it exits cleanly.
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = serve.0.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "still running 20 s after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(exit.success(), "{exit:?}");
        assert!(signalled.elapsed() >= Duration::from_millis(2500), "exited after {:?}", signalled.elapsed());
        assert_eq!(status(&format!("{base}/healthz")).await, None, "the listener is closed");
    });
}
