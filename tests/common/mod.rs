//! Test harness: every store and service test runs once per database engine, as two tests reported apart
//! (`name::sqlite` and `name::postgres`, see [`backend_tests!`]). SQLite runs in a temporary folder; PostgreSQL
//! runs when `HUB_TEST_DATABASE_URL` is set, each test in its own schema. On CI a missing or unreachable
//! PostgreSQL fails the run.
#![allow(dead_code)]

use integration_hub::server::config::{CommonArgs, Config, LogFormat, ServeArgs};
use integration_hub::server::service::{AppState, Hub};
use integration_hub::server::store::testing::isolated_postgres_url;
use std::net::SocketAddr;

pub mod api;
pub mod apps;
pub mod console;
pub mod fixtures;
pub mod oauth;
pub mod platforms;
pub mod providers;
pub mod receiver;
pub mod smtp;

pub const MASTER_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct Backend {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The database engines a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Turns test bodies into one `#[test]` per engine, reported apart: for each name, a module of that name with
/// `fn sqlite()` and `fn postgres()` (run one engine with `cargo test ::sqlite` or `cargo test ::postgres`). Each
/// test calls the `async fn name(b: Backend)` of the same name beside it on [`run`]'s runtime, with a fresh
/// database; the PostgreSQL case passes with a note when `HUB_TEST_DATABASE_URL` is not set (see [`postgres`]).
///
/// ```ignore
/// backend_tests!(publishing_is_durable);
/// /// What it shows.
/// async fn publishing_is_durable(b: Backend) {
///     let hub = common::hub(&b).await;
///     assert!(..., "[{}] ...", b.name);
/// }
/// ```
///
/// `backend_tests!(postgres: name)` makes only `name::postgres`, for what SQLite cannot do (several instances).
#[macro_export]
macro_rules! backend_tests {
    (@cases $name:ident $([$engine:ident $case:ident])+) => {
        mod $name {
            $(
                #[test]
                fn $case() {
                    $crate::common::run_on($crate::common::Engine::$engine, super::$name);
                }
            )+
        }
    };
    (postgres: $($name:ident),+ $(,)?) => {
        $( $crate::backend_tests!(@cases $name [Postgres postgres]); )+
    };
    ($($name:ident),+ $(,)?) => {
        $( $crate::backend_tests!(@cases $name [Sqlite sqlite] [Postgres postgres]); )+
    };
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

/// Runs `test` on [`run`]'s runtime with a fresh database of `engine`; PostgreSQL when it is not configured
/// skips the test with a note (see [`postgres`]). What [`backend_tests!`] calls.
pub fn run_on<F, Fut>(engine: Engine, test: F)
where
    F: FnOnce(Backend) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    run(async move {
        let backend = match engine {
            Engine::Sqlite => Some(sqlite()),
            Engine::Postgres => postgres().await,
        };
        if let Some(b) = backend {
            test(b).await;
        }
    })
}

/// A fresh SQLite database in a temporary folder of its own (removed when the backend is dropped).
pub fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    Backend { name: "sqlite", url: format!("sqlite://{}", dir.path().join("hub.db").display()), _dir: Some(dir) }
}

/// A fresh schema of the PostgreSQL database `HUB_TEST_DATABASE_URL` names. Not set: `None` with a note, except
/// that `CI=true` requires it (so both engines are tested there). Set but unusable: a panic.
pub async fn postgres() -> Option<Backend> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match std::env::var("HUB_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => match isolated_postgres_url(&base).await {
            Ok(url) => Some(Backend { name: "postgres", url, _dir: None }),
            Err(e) => panic!("HUB_TEST_DATABASE_URL is set but PostgreSQL is not usable: {e}"),
        },
        _ if ci => panic!("CI=true requires HUB_TEST_DATABASE_URL (PostgreSQL) so both backends are tested"),
        _ => {
            eprintln!("note: HUB_TEST_DATABASE_URL not set; PostgreSQL tests skipped");
            None
        }
    }
}

/// Every configured backend, SQLite first (the benchmarks loop over them; tests use [`backend_tests!`]).
pub async fn backends() -> Vec<Backend> {
    let mut list = vec![sqlite()];
    list.extend(postgres().await);
    list
}

/// The database and master key every test uses.
pub fn common_args(url: &str) -> CommonArgs {
    CommonArgs {
        database_url: url.to_string(),
        master_key: Some(MASTER_KEY.to_string()),
        log: "warn".into(),
        log_format: LogFormat::Text,
    }
}

/// A configuration with exactly these serve flags (and [`common_args`]).
pub fn config_from(url: &str, args: impl IntoIterator<Item = &'static str>) -> Config {
    Config::from_args(&common_args(url), ServeArgs::parse_args(args).expect("serve args")).expect("config")
}

/// The flags every test hub has: the first admin's email, and retry delays shrunk a thousandfold. By these alone
/// no private target is allowed (not even the test receiver on 127.0.0.1).
pub const PLAIN_ARGS: [&str; 4] = ["--admin-email", "admin@example.com", "--retry-time-scale", "0.001"];

/// [`PLAIN_ARGS`] with deliveries to the test receiver on 127.0.0.1 allowed.
pub const LOCAL_ARGS: [&str; 6] =
    ["--admin-email", "admin@example.com", "--retry-time-scale", "0.001", "--allow-private-targets", "127.0.0.1/32"];

/// [`LOCAL_ARGS`] and these `extra` flags.
pub fn local_config_with(url: &str, extra: &[&'static str]) -> Config {
    config_from(url, LOCAL_ARGS.into_iter().chain(extra.iter().copied()))
}

pub fn config(url: &str) -> Config {
    config_with_lease(url, "3")
}

/// The crash test wants leases that expire fast; the scale test wants them longer than a busy batch takes.
pub fn config_with_lease(url: &str, lease_seconds: &'static str) -> Config {
    // Every endpoint points at the one local receiver.
    local_config_with(url, &["--max-endpoints-per-host", "0", "--lease-seconds", lease_seconds])
}

pub async fn hub(b: &Backend) -> AppState {
    open(b, config(&b.url)).await
}

/// Opens a hub on `b` with [`config`] as `change` leaves it.
pub async fn hub_configured(b: &Backend, change: impl FnOnce(&mut Config)) -> AppState {
    let mut config = config(&b.url);
    change(&mut config);
    open(b, config).await
}

/// Opens a hub on `b` with this configuration; a failure names the backend.
pub async fn open(b: &Backend, config: Config) -> AppState {
    Hub::open(config).await.unwrap_or_else(|e| panic!("[{}] open: {e}", b.name))
}

/// A delivery worker running beside a test; [`Worker::stop`] shuts it down as SIGTERM would and waits for it.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    pub fn start(hub: &AppState) -> Worker {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        Worker { stop, task: integration_hub::server::delivery::worker::spawn(hub.worker_context(), stop_rx) }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(std::time::Duration::from_secs(15), self.task).await.unwrap().unwrap();
    }
}

/// Serves the real router on an ephemeral loopback port; returns its base URL.
pub async fn serve(hub: AppState) -> String {
    let options = leptos::config::LeptosOptions::builder().output_name("integration-hub").build();
    serve_router(integration_hub::server::app::router(hub, options)).await
}

/// Serves `app` on an ephemeral loopback port (with the peer address, as the binary does); returns its base URL.
pub async fn serve_router(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
    });
    format!("http://{addr}")
}
