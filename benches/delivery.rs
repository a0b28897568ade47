//! End-to-end delivery benchmark (run by `make bench`): publish → signed POST → attempt recorded, against a
//! fast local receiver, for 1 endpoint and for 100 endpoints per event, with the raw ceiling (a bare keep-alive
//! POST loop to the same receiver) measured in the same run. Prints Markdown rows.
//! Everything (hub, worker, receiver, load) shares this process and the machine's two cores.

#[path = "../tests/common/mod.rs"]
mod common;

use axum::routing::post;
use integration_hub::model::{CreateWebhook, PublishEvent, StatsQuery};
use integration_hub::server::config::{CommonArgs, Config, LogFormat, ServeArgs};
use integration_hub::server::delivery::worker;
use integration_hub::server::service::{Actor, Hub};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Sink {
    count: AtomicU64,
    latencies_ms: Mutex<Vec<f64>>,
}

/// A receiver that answers 204 at once and notes publish-to-receive latency. The `webhook-id` is the event id, a
/// ULID whose first 48 bits are the publish time in ms, so the receiver reads no body (a fast receiver).
async fn receiver() -> (String, Arc<Sink>) {
    let sink = Arc::new(Sink { count: AtomicU64::new(0), latencies_ms: Mutex::new(Vec::new()) });
    let s = sink.clone();
    let app = axum::Router::new().route(
        "/{*p}",
        post(move |headers: axum::http::HeaderMap, _body: axum::body::Bytes| {
            let s = s.clone();
            async move {
                s.count.fetch_add(1, Ordering::Relaxed);
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("evt_"));
                if let Some(at) = id.and_then(|u| ulid::Ulid::from_string(u).ok()).map(|u| u.timestamp_ms()) {
                    let now = chrono::Utc::now().timestamp_micros();
                    s.latencies_ms.lock().unwrap().push((now - at as i64 * 1000) as f64 / 1000.0);
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (base, sink)
}

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
        "--worker-concurrency",
        "256",
    ])
    .unwrap();
    Config::from_args(&common, serve).unwrap()
}

async fn raw_ceiling(url: &str, secs: u64) -> f64 {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let body = r#"{"type":"ticket.created","data":{"id":"x"}}"#;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (c, u) = (client.clone(), url.to_string());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += u64::from(c.post(&u).body(body).send().await.is_ok());
                }
                n
            })
        })
        .collect();
    let mut n = 0;
    for t in tasks {
        n += t.await.unwrap();
    }
    n as f64 / secs as f64
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

struct Run {
    rate: f64,
    p50: f64,
    p99: f64,
    /// How long a producer waited for `publish` to return (the event and its deliveries committed).
    publish_p50: f64,
    publish_p99: f64,
    received: u64,
}

/// One measured run: a fresh tenant with `endpoints` endpoints, `events` events from 64 producers, timed until
/// every delivery is received and recorded.
/// Shape of one measured configuration.
#[derive(Clone, Copy)]
struct Shape {
    endpoints: usize,
    events: usize,
    /// Hub instances (each with its worker) on the same database; producers alternate between them.
    instances: usize,
}

async fn one_run(url: &str, rx_base: &str, sink: &Arc<Sink>, shape: Shape, run: usize) -> Run {
    let Shape { endpoints, events, instances } = shape;
    let hub = Hub::open(config(url)).await.unwrap();
    let mut hubs = vec![hub.clone()];
    for _ in 1..instances {
        hubs.push(Hub::open(config(url)).await.unwrap());
    }
    let t = hub.create_tenant(Actor::System, &format!("t{endpoints}-{run}")).await.unwrap();
    for i in 0..endpoints {
        let h = CreateWebhook {
            url: format!("{rx_base}/e{endpoints}/{i}"),
            events: vec!["*".into()],
            tenant_id: Some(t.id.clone()),
            ..Default::default()
        };
        hub.create_webhook(Actor::System, h).await.unwrap();
    }
    sink.count.store(0, Ordering::Relaxed);
    sink.latencies_ms.lock().unwrap().clear();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = hubs.iter().map(|h| worker::spawn(h.worker_context(), stop_rx.clone())).collect();
    let total = (events * endpoints) as u64;
    let start = Instant::now();
    // Publish from 64 concurrent producers.
    let per = events.div_ceil(64);
    let producers: Vec<_> = (0..64)
            .map(|p| {
                let (hub, tenant) = (hubs[p % hubs.len()].clone(), t.id.clone());
                tokio::spawn(async move {
                    let mut waited = Vec::with_capacity(per);
                    for i in 0..per {
                        let e = PublishEvent {
                            event_type: "ticket.created".into(),
                            data: serde_json::json!({"id": format!("t{i}"), "ticket": {"id": "t", "subject": "Printer on fire", "status": "open", "priority": "high"}}),
                            tenant_id: Some(tenant.clone()),
                            ..Default::default()
                        };
                        let t0 = Instant::now();
                        hub.publish(Actor::System, e).await.unwrap();
                        waited.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    waited
                })
            })
            .collect();
    let mut publish_ms = Vec::new();
    for p in producers {
        publish_ms.extend(p.await.unwrap());
    }
    let total = total.max((per * 64 * endpoints) as u64);
    let deadline = Instant::now() + Duration::from_secs(300);
    while sink.count.load(Ordering::Relaxed) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = sink.count.load(Ordering::Relaxed);
    // Delivered means received *and* durably recorded: the clock stops when the log agrees.
    let q = StatsQuery { tenant_id: Some(t.id.clone()), ..Default::default() };
    while hub.delivery_stats(Actor::System, q.clone()).await.unwrap().counts.success < total as i64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut lat = sink.latencies_ms.lock().unwrap().clone();
    let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
    let _ = stop.send(true);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(15), w).await;
    }
    let (publish_p50, publish_p99) = (pct(&mut publish_ms, 0.5), pct(&mut publish_ms, 0.99));
    Run { rate: received as f64 / secs, p50, p99, publish_p50, publish_p99, received }
}

/// Restarts the kernel's peak-RSS count (VmHWM) of this process.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb / 1024)
}

fn main() {
    let repeats: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let events_1: usize = std::env::var("EVENTS_1").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let events_10: usize = std::env::var("EVENTS_10").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);
    let events_100: usize = std::env::var("EVENTS_100").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    common::run(async move {
        let (rx_base, sink) = receiver().await;
        let ceiling = raw_ceiling(&format!("{rx_base}/raw"), 5).await;
        println!("| receiver | raw ceiling: bare keep-alive POST loop, 64 connections | {ceiling:.0} req/s |");
        // The RSS target is one hub's: the two-hub shape (two workers, twice the connections) is reported apart.
        let (mut single_mb, mut double_mb) = (0u64, 0u64);
        for b in common::backends().await {
            let mut shapes = vec![
                Shape { endpoints: 1, events: events_1, instances: 1 },
                Shape { endpoints: 10, events: events_10, instances: 1 },
                Shape { endpoints: 100, events: events_100, instances: 1 },
            ];
            if b.name == "postgres" {
                // The scale-out shape: two hubs on one database.
                shapes.push(Shape { endpoints: 1, events: events_1, instances: 2 });
                shapes.push(Shape { endpoints: 10, events: events_10, instances: 2 });
            }
            for shape in shapes {
                let Shape { endpoints, instances, .. } = shape;
                reset_peak_rss();
                let mut runs = Vec::new();
                for run in 0..repeats {
                    runs.push(one_run(&b.url, &rx_base, &sink, shape, run).await);
                }
                let shape_mb = peak_rss_mb();
                let peak = if instances > 1 { &mut double_mb } else { &mut single_mb };
                *peak = (*peak).max(shape_mb);
                let med = |f: fn(&Run) -> f64| {
                    let mut v: Vec<f64> = runs.iter().map(f).collect();
                    pct(&mut v, 0.5)
                };
                let rate = med(|r| r.rate);
                let raw: Vec<String> = runs.iter().map(|r| format!("{:.0}", r.rate)).collect();
                // For scripts/bench.sh, which checks the issue's targets.
                let name = if instances > 1 { format!("{}×{instances}", b.name) } else { b.name.to_string() };
                println!("#rate {name} {endpoints} {rate:.0} {:.1}", med(|r| r.p99));
                println!(
                    "| {} | {} endpoint(s) per event: {} deliveries × {} runs | {:.0} delivered/s ({:.1}% of the raw ceiling; runs {}); publish→receive p50 {:.1} ms, p99 {:.1} ms; publish call p50 {:.1} ms, p99 {:.1} ms; peak RSS {shape_mb} MB |",
                    name, endpoints, runs[0].received, repeats, rate, 100.0 * rate / ceiling, raw.join(", "), med(|r| r.p50), med(|r| r.p99), med(|r| r.publish_p50), med(|r| r.publish_p99)
                );
            }
        }
        println!(
            "| all | peak RSS of the benchmark process while one hub runs (hub + worker + receiver + load) | {single_mb} MB |"
        );
        if double_mb > 0 {
            println!("| all | peak RSS of the benchmark process while two hubs run side by side | {double_mb} MB |");
        }
        println!("#rss {single_mb}");
    });
}
