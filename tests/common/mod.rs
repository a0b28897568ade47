//! Test harness: every store and service test runs on SQLite and, when `HUB_TEST_DATABASE_URL` is set, on
//! PostgreSQL too (each run in its own schema). On CI a missing or unreachable PostgreSQL fails the run.
#![allow(dead_code)]

use integration_hub::server::config::{CommonArgs, Config, LogFormat, ServeArgs};
use integration_hub::server::service::{AppState, Hub};
use integration_hub::server::store::isolated_postgres_url;
use std::net::SocketAddr;

pub mod receiver;

pub const MASTER_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct Backend {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Runs a test body on a multi-threaded runtime with the same large stacks as the real binary.
pub fn run<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    let handle = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .expect("test thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

pub async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite =
        Backend { name: "sqlite", url: format!("sqlite://{}", dir.path().join("hub.db").display()), _dir: Some(dir) };
    let mut list = vec![sqlite];
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match std::env::var("HUB_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => match isolated_postgres_url(&base).await {
            Ok(url) => list.push(Backend { name: "postgres", url, _dir: None }),
            Err(e) => panic!("HUB_TEST_DATABASE_URL is set but PostgreSQL is not usable: {e}"),
        },
        _ if ci => panic!("CI=true requires HUB_TEST_DATABASE_URL (PostgreSQL) so both backends are tested"),
        _ => eprintln!("note: HUB_TEST_DATABASE_URL not set; PostgreSQL tests skipped"),
    }
    list
}

pub fn config(url: &str) -> Config {
    config_with_lease(url, "3")
}

/// The crash test wants leases that expire fast; the scale test wants them longer than a busy batch takes.
pub fn config_with_lease(url: &str, lease_seconds: &'static str) -> Config {
    let common = CommonArgs {
        database_url: url.to_string(),
        master_key: Some(MASTER_KEY.to_string()),
        log: "warn".into(),
        log_format: LogFormat::Text,
    };
    // Tests deliver to receivers on 127.0.0.1, and retry delays shrink a thousandfold.
    let serve = ServeArgs::parse_args([
        "--admin-email",
        "admin@example.com",
        "--allow-private-targets",
        "127.0.0.1/32",
        // Every endpoint points at the one local receiver.
        "--max-endpoints-per-host",
        "0",
        "--retry-time-scale",
        "0.001",
        "--lease-seconds",
        lease_seconds,
    ])
    .expect("serve args");
    Config::from_args(&common, serve).expect("config")
}

pub async fn hub(b: &Backend) -> AppState {
    Hub::open(config(&b.url)).await.unwrap_or_else(|e| panic!("[{}] open: {e}", b.name))
}

/// A delivery worker running beside a test; [`Worker::stop`] shuts it down as SIGTERM would and waits for it.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    pub fn start(hub: &AppState) -> Worker {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        Worker { stop, task: integration_hub::server::delivery::worker::spawn(hub.clone(), stop_rx) }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(std::time::Duration::from_secs(15), self.task).await.unwrap().unwrap();
    }
}

/// Serves the real router on an ephemeral loopback port; returns its base URL.
pub async fn serve(hub: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let options = leptos::config::LeptosOptions::builder().output_name("integration-hub").build();
    let app = integration_hub::server::app::router(hub, options);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
    });
    format!("http://{addr}")
}
