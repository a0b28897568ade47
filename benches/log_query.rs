//! Delivery-log queries at scale (run by `make bench`): seeds LOG_ROWS deliveries (default 1,000,000: 1,000
//! events × 1,000 endpoints, delivered by the real worker to a local receiver that fails one endpoint in ten,
//! so the log holds successes, dead letters and their attempts), then times the queries the UI and the REST API
//! make. Prints Markdown rows with p50/p95 over many runs.

#[path = "../tests/common/mod.rs"]
mod common;

use integration_hub::model::{CreateWebhook, DeliveryListQuery, DeliveryStatus, PublishEvent, StatsQuery, StatsWindow};
use integration_hub::server::config::{CommonArgs, Config, LogFormat, ServeArgs};
use integration_hub::server::service::{Actor, AppState, Hub};
use std::time::{Duration, Instant};

const ENDPOINTS: usize = 1_000;
const SAMPLES: usize = 50;
/// Events published with the worker stopped, after the timed queries: the queue the last query reads beside.
const BACKLOG_EVENTS: usize = 20;

fn config(url: &str) -> Config {
    let common = CommonArgs {
        database_url: url.into(),
        master_key: Some(common::MASTER_KEY.into()),
        log: "warn".into(),
        log_format: LogFormat::Text,
    };
    let serve = ServeArgs::parse_args([
        "--allow-private-targets",
        "127.0.0.1/32",
        "--max-endpoints-per-host",
        "0",
        "--endpoint-rate-limits",
        "false",
        "--breaker-failures",
        "0",
    ])
    .unwrap();
    Config::from_args(&common, serve).unwrap()
}

async fn receiver() -> String {
    let app = axum::Router::new()
        .route("/ok/{n}", axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }))
        .route("/fail/{n}", axum::routing::post(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    base
}

/// p50 and p95 (ms) of `SAMPLES` runs of `f`.
async fn time<F, Fut, T>(mut f: F) -> (f64, f64)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut v = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let t = Instant::now();
        std::hint::black_box(f(i).await);
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    v.sort_by(f64::total_cmp);
    (v[SAMPLES / 2], v[(SAMPLES * 95) / 100])
}

async fn seed(hub: &AppState, rx: &str, rows: usize) -> (String, Vec<String>, String) {
    let t = hub.create_tenant(Actor::System, "Big").await.unwrap();
    let mut hooks = Vec::new();
    for i in 0..ENDPOINTS {
        let path = if i % 10 == 0 { "fail" } else { "ok" };
        let h = CreateWebhook {
            url: format!("{rx}/{path}/{i}"),
            events: vec!["*".into()],
            tenant_id: Some(t.id.clone()),
            max_retries: Some(0),
            ..Default::default()
        };
        hooks.push(hub.create_webhook(Actor::System, h).await.unwrap().id);
    }
    let w = common::Worker::start(hub);
    // Four event types of the catalog, each with its example payload (they satisfy the types' schemas).
    let catalog = hub.list_event_types().await.unwrap();
    let types: Vec<_> = catalog.iter().filter(|t| !t.archived).step_by(7).take(4).collect();
    for i in 0..rows / ENDPOINTS {
        let ty = types[i % types.len()];
        let e = PublishEvent {
            event_type: ty.name.clone(),
            data: ty.example.clone(),
            tenant_id: Some(t.id.clone()),
            ..Default::default()
        };
        hub.publish(Actor::System, e).await.unwrap();
    }
    let q = StatsQuery { tenant_id: Some(t.id.clone()), ..Default::default() };
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let s = hub.delivery_stats(Actor::System, q.clone()).await.unwrap();
        if s.counts.pending + s.counts.retrying == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    w.stop().await;
    let some_type = types[types.len() - 1].name.clone();
    (t.id, hooks, some_type)
}

fn main() {
    let rows: usize = std::env::var("LOG_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    common::run(async move {
        let rx = receiver().await;
        for b in common::backends().await {
            let hub = Hub::open(config(&b.url)).await.unwrap();
            let started = Instant::now();
            let (tenant, hooks, event_type) = seed(&hub, &rx, rows).await;
            // Planner statistics as a live database has them (autovacuum analyzes after bulk changes); timing
            // straight after a bulk load would measure plans made without any.
            hub.store.analyze().await.unwrap();
            let s = hub
                .delivery_stats(Actor::System, StatsQuery { tenant_id: Some(tenant.clone()), ..Default::default() })
                .await
                .unwrap();
            println!(
                "| {} | seeded {} deliveries ({} success, {} dead-lettered) with their attempts | {:.0} s |",
                b.name,
                s.total,
                s.counts.success,
                s.counts.failed,
                started.elapsed().as_secs_f64()
            );
            let list = |q: DeliveryListQuery| {
                let hub = hub.clone();
                async move { hub.list_deliveries(Actor::System, q).await.unwrap() }
            };
            let base = DeliveryListQuery { tenant_id: Some(tenant.clone()), limit: Some(50), ..Default::default() };
            let middle = list(DeliveryListQuery { webhook_id: Some(hooks[500].clone()), ..base.clone() }).await;
            let cursor = middle[middle.len() / 2].id.clone();
            let cases: Vec<(&str, DeliveryListQuery)> = vec![
                ("newest page (50) of the tenant's log", base.clone()),
                (
                    "dead letters (status=failed), newest page",
                    DeliveryListQuery { status: Some(DeliveryStatus::Failed), ..base.clone() },
                ),
                (
                    "one endpoint's log, newest page",
                    DeliveryListQuery { webhook_id: Some(hooks[7].clone()), ..base.clone() },
                ),
                (
                    "by event type, newest page",
                    DeliveryListQuery { event_type: Some(event_type.clone()), ..base.clone() },
                ),
                (
                    "a page deep in the log (keyset cursor)",
                    DeliveryListQuery { cursor: Some(cursor.clone()), ..base.clone() },
                ),
            ];
            for (what, q) in cases {
                let (p50, p95) = time(|_| list(q.clone())).await;
                println!("| {} | {what} | p50 {p50:.2} ms, p95 {p95:.2} ms |", b.name);
            }
            let ids: Vec<String> = middle.iter().map(|d| d.id.clone()).collect();
            let (p50, p95) = time(|i| {
                let (hub, id) = (hub.clone(), ids[i % ids.len()].clone());
                async move { hub.get_delivery(&Actor::System, &id).await.unwrap() }
            })
            .await;
            println!("| {} | one delivery with its attempts | p50 {p50:.2} ms, p95 {p95:.2} ms |", b.name);
            for (what, q) in [
                (
                    "stats of one endpoint, 24 h",
                    StatsQuery { webhook_id: Some(hooks[3].clone()), ..Default::default() },
                ),
                (
                    "stats of one endpoint, 30 d",
                    StatsQuery { webhook_id: Some(hooks[3].clone()), window: StatsWindow::Month, ..Default::default() },
                ),
                (
                    "stats of the whole tenant (every row), 24 h",
                    StatsQuery { tenant_id: Some(tenant.clone()), ..Default::default() },
                ),
            ] {
                let (p50, p95) = time(|_| {
                    let (hub, q) = (hub.clone(), q.clone());
                    async move { hub.delivery_stats(Actor::System, q).await.unwrap() }
                })
                .await;
                println!("| {} | {what} | p50 {p50:.2} ms, p95 {p95:.2} ms |", b.name);
            }
            // An endpoint's not-yet-attempted rows are read through the queue, so its log costs more while a
            // backlog waits (no worker runs now: each event stays queued for all endpoints).
            let catalog = hub.list_event_types().await.unwrap();
            let example = catalog.iter().find(|t| t.name == event_type).unwrap().example.clone();
            for _ in 0..BACKLOG_EVENTS {
                let e = PublishEvent {
                    event_type: event_type.clone(),
                    data: example.clone(),
                    tenant_id: Some(tenant.clone()),
                    ..Default::default()
                };
                hub.publish(Actor::System, e).await.unwrap();
            }
            let q = DeliveryListQuery { webhook_id: Some(hooks[7].clone()), ..base.clone() };
            let (p50, p95) = time(|_| list(q.clone())).await;
            let queued = BACKLOG_EVENTS * ENDPOINTS;
            println!("| {} | one endpoint's log, newest page, {queued} deliveries queued | p50 {p50:.2} ms, p95 {p95:.2} ms |", b.name);
        }
    });
}
