//! The real binary as operators run it: API-only and worker instances on one database.

mod common;

use common::fixtures::{numbered_ticket, ticket};
use common::receiver::Receiver;
use common::Backend;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_integration-hub");

fn cli(db: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("HUB_DATABASE_URL", db)
        .env("HUB_MASTER_KEY", common::MASTER_KEY)
        .output()
        .expect("run binary");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A `serve` process, killed (SIGKILL) when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(db: &str, extra: &[(&str, &str)]) -> Instance {
    start_at(db, free_port(), extra).await
}

async fn start_at(db: &str, port: u16, extra: &[(&str, &str)]) -> Instance {
    start_logged(db, port, extra, None).await
}

/// Like [`start_at`], with stdout and stderr (the log) going to `log` when given.
async fn start_logged(db: &str, port: u16, extra: &[(&str, &str)], log: Option<&std::path::Path>) -> Instance {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("HUB_DATABASE_URL", db)
        .env("HUB_MASTER_KEY", common::MASTER_KEY)
        .env("HUB_ADDR", format!("127.0.0.1:{port}"))
        .env("HUB_ALLOW_PRIVATE_TARGETS", "127.0.0.1/32")
        .env("HUB_ADMIN_PASSWORD", "binary-test-password")
        .env("HUB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(path) = log {
        let f = std::fs::File::create(path).expect("log file");
        cmd.stdout(f.try_clone().expect("log file")).stderr(f);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let inst = Instance { child: cmd.spawn().expect("spawn serve"), base: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::get(format!("{}/healthz", inst.base)).await.is_ok_and(|r| r.status().is_success()) {
            return inst;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("serve did not come up");
}

async fn api(base: &str, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new().request(method, format!("{base}/api/v1{path}")).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

#[test]
fn an_api_only_instance_queues_and_a_worker_instance_delivers() {
    common::run(async {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("hub.db").display());
        let tenant = cli(&db, &["tenant", "create", "--name", "Acme"]);
        let key = cli(
            &db,
            &[
                "key",
                "create",
                "--tenant",
                &tenant,
                "--name",
                "ci",
                "--scopes",
                "events:write,webhooks:write,deliveries:read",
            ],
        );
        let rx = Receiver::start().await;

        let api_only = start(&db, &[("HUB_WORKER", "false")]).await;
        let post = reqwest::Method::POST;
        let hook = json!({"url": rx.url("/ok"), "events": ["ticket.*"]});
        api(&api_only.base, &key, post.clone(), "/webhooks", Some(hook)).await;
        let ev = json!({"type": "ticket.created", "data": ticket()});
        let published = api(&api_only.base, &key, post, "/events", Some(ev)).await;
        assert_eq!(published["matched"], 1);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(rx.received("/ok").is_empty(), "HUB_WORKER=false must not deliver");
        let list = api(&api_only.base, &key, reqwest::Method::GET, "/deliveries", None).await;
        assert_eq!(list["data"][0]["status"], "pending");

        // A worker instance on the same database picks the queued delivery up.
        let _worker = start(&db, &[]).await;
        let got = rx.wait_received("/ok", 1, Duration::from_secs(15)).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].headers["webhook-id"], published["id"].as_str().unwrap());
    });
}

/// A crude random source (no extra dependency): nanoseconds of the clock.
fn jitter(max_ms: u64) -> Duration {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    Duration::from_millis(n % max_ms.max(1))
}

/// Publishes `count` events at about `per_sec`, each with its own idempotency key, retrying through outages
/// (a retried publish returns the first event's id). Returns the accepted event ids.
async fn publish_steadily(bases: Vec<String>, key: String, count: usize, per_sec: u64) -> Vec<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let gap = Duration::from_micros(1_000_000 / per_sec.max(1));
    let mut accepted = Vec::with_capacity(count);
    for i in 0..count {
        let body =
            json!({"type": "ticket.created", "idempotency_key": format!("crash-{i}"), "data": numbered_ticket(i)});
        let mut tries = 0usize;
        loop {
            let base = &bases[(i + tries) % bases.len()];
            let res = http.post(format!("{base}/api/v1/events")).bearer_auth(&key).json(&body).send().await;
            if let Ok(r) = res {
                if r.status().as_u16() == 202 {
                    let v: Value = r.json().await.unwrap();
                    accepted.push(v["id"].as_str().unwrap().to_string());
                    break;
                }
            }
            tries += 1;
            assert!(tries < 600, "publishing never recovered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(gap).await;
    }
    accepted
}

/// Waits until every accepted event reached the receiver; returns (distinct, duplicates).
async fn await_all(rx: &Receiver, accepted: &[String], secs: u64) -> (usize, usize) {
    let want: std::collections::HashSet<&str> = accepted.iter().map(String::as_str).collect();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = rx.received("/ok");
        let ids: Vec<String> = got.iter().map(|r| r.headers["webhook-id"].clone()).collect();
        let distinct: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        if want.is_subset(&distinct) || Instant::now() > deadline {
            let missing = want.difference(&distinct).count();
            assert_eq!(missing, 0, "{missing} accepted events never arrived");
            assert!(distinct.is_subset(&want), "a delivery arrived for an event nobody published");
            return (distinct.len(), ids.len() - distinct.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn crash_setup(db: &str, rx: &Receiver) -> String {
    let tenant = cli(db, &["tenant", "create", "--name", "Acme"]);
    let key = cli(
        db,
        &[
            "key",
            "create",
            "--tenant",
            &tenant,
            "--name",
            "load",
            "--scopes",
            "events:write,webhooks:write",
            "--tier",
            "enterprise",
        ],
    );
    let migrated = start(db, &[("HUB_WORKER", "false")]).await;
    let hook = json!({"url": rx.url("/ok"), "events": ["ticket.*"]});
    api(&migrated.base, &key, reqwest::Method::POST, "/webhooks", Some(hook)).await;
    key
}

fn crash_events() -> usize {
    std::env::var("CRASH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
}

const FAST_RECOVERY: [(&str, &str); 2] = [("HUB_LEASE_SECONDS", "2"), ("HUB_ENDPOINT_RATE_LIMITS", "false")];

backend_tests!(kill_9_and_restart_loses_no_accepted_event);
/// kill -9 at random moments (three times), restart each time on the same port: every accepted event arrives,
/// duplicates only as repeats of the same webhook-id.
async fn kill_9_and_restart_loses_no_accepted_event(b: Backend) {
    let rx = Receiver::start().await;
    let key = crash_setup(&b.url, &rx).await;
    let port = free_port();
    let env = FAST_RECOVERY;
    let mut hub = start_at(&b.url, port, &env).await;
    let count = crash_events();
    let publisher = tokio::spawn(publish_steadily(vec![hub.base.clone()], key.clone(), count, 400));
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(700) + jitter(1_500)).await;
        drop(hub); // SIGKILL: no graceful anything
        tokio::time::sleep(jitter(300)).await;
        hub = start_at(&b.url, port, &env).await;
    }
    let accepted = publisher.await.unwrap();
    assert_eq!(accepted.len(), count);
    let (distinct, dups) = await_all(&rx, &accepted, 60).await;
    eprintln!("[{}] crash test: {distinct} events delivered after 3 × kill -9, {dups} duplicate deliveries", b.name);
    drop(hub);
}

backend_tests!(postgres: two_instances_on_postgres_survive_losing_one);
/// Two instances on one PostgreSQL database share the publish stream; one is killed mid-run. Nothing is lost
/// and no delivery attempt was made by both (an attempt number is never recorded twice).
async fn two_instances_on_postgres_survive_losing_one(b: Backend) {
    let rx = Receiver::start().await;
    let key = crash_setup(&b.url, &rx).await;
    let a = start(&b.url, &FAST_RECOVERY).await;
    let other = start(&b.url, &FAST_RECOVERY).await;
    let count = crash_events();
    let publisher = tokio::spawn(publish_steadily(vec![a.base.clone(), other.base.clone()], key, count, 400));
    tokio::time::sleep(Duration::from_millis(1_500) + jitter(1_000)).await;
    drop(a);
    let accepted = publisher.await.unwrap();
    let (distinct, dups) = await_all(&rx, &accepted, 60).await;
    eprintln!("[postgres] scale-out: {distinct} events delivered by two instances (one killed), {dups} duplicates");
    let hub = common::hub(&b).await;
    assert_eq!(
        integration_hub::server::store::testing::repeated_attempts(&hub.store).await.unwrap(),
        0,
        "an attempt was made twice"
    );
    drop(other);
}

/// At the most verbose log level, through sign-in, key use, endpoint secrets (set, read, rotated) and deliveries,
/// no secret ever reaches the log.
#[test]
fn no_secret_reaches_the_log_at_any_level() {
    common::run(async {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("hub.db").display());
        let tenant = cli(&db, &["tenant", "create", "--name", "Acme"]);
        let scopes = "events:write,webhooks:read,webhooks:write,keys:read,keys:write";
        let key = cli(&db, &["key", "create", "--tenant", &tenant, "--name", "ci", "--scopes", scopes]);
        let rx = Receiver::start().await;
        let log = dir.path().join("hub.log");
        let env = [("HUB_LOG", "trace"), ("HUB_ADMIN_PASSWORD", "admin-password-in-env-1")];
        let hub = start_logged(&db, free_port(), &env, Some(&log)).await;
        let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);

        let signing = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ=";
        let hook = json!({"url": rx.url("/ok"), "events": ["*"], "secret": signing});
        let w = api(&hub.base, &key, post.clone(), "/webhooks", Some(hook)).await;
        let id = w["id"].as_str().unwrap();
        api(&hub.base, &key, get.clone(), &format!("/webhooks/{id}/secret"), None).await;
        let rotated =
            api(&hub.base, &key, post.clone(), &format!("/webhooks/{id}/secret/rotate"), Some(json!({}))).await;
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        let issued =
            api(&hub.base, &key, post.clone(), "/keys", Some(json!({"name": "n", "scopes": ["events:write"]}))).await;
        let minted = issued["secret"].as_str().unwrap().to_string();
        let ev = json!({"type": "ticket.created", "data": ticket()});
        api(&hub.base, &minted, post.clone(), "/events", Some(ev)).await;
        // A wrong key and a wrong password are logged as failures, without what was presented.
        let wrong = format!("{}x", &key[..key.len() - 1]);
        let res =
            reqwest::Client::new().get(format!("{}/api/v1/me", hub.base)).bearer_auth(&wrong).send().await.unwrap();
        assert_eq!(res.status(), 401);
        let http = reqwest::Client::new();
        for pw in ["admin-password-in-env-1", "not-the-password-9"] {
            http.post(format!("{}/api/login", hub.base))
                .header("origin", hub.base.as_str())
                .form(&[("email", "admin@localhost"), ("password", pw)])
                .send()
                .await
                .unwrap();
        }
        rx.wait_received("/ok", 1, Duration::from_secs(10)).await;
        assert_eq!(rx.received("/ok").len(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(hub);

        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.lines().count() > 50, "trace logging was on: {} lines", text.lines().count());
        let secret_part = |k: &str| k.rsplit('_').next().unwrap().to_string();
        for (what, s) in [
            ("API key", secret_part(&key)),
            ("wrong API key", secret_part(&wrong)),
            ("minted API key", secret_part(&minted)),
            ("admin password", "admin-password-in-env-1".to_string()),
            ("wrong password", "not-the-password-9".to_string()),
            ("signing secret", secret_part(signing)),
            ("rotated signing secret", secret_part(&new_secret)),
        ] {
            assert!(!text.contains(&s), "the {what} appears in the log");
        }
    });
}

/// The first admin's generated password is printed once on stderr for the operator, outside the log: with JSON
/// logs, no log line carries it (logs are shipped and kept), and it signs in.
#[test]
fn the_generated_admin_password_is_printed_on_stderr_and_never_logged() {
    common::run(async {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("hub.db").display());
        let err_path = dir.path().join("stderr.log");
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env("HUB_DATABASE_URL", &db)
            .env("HUB_MASTER_KEY", common::MASTER_KEY)
            .env("HUB_ADDR", format!("127.0.0.1:{port}"))
            .env("HUB_LOG", "trace")
            .env("HUB_LOG_FORMAT", "json")
            .env_remove("HUB_ADMIN_PASSWORD")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap());
        let hub = Instance { child: cmd.spawn().expect("spawn serve"), base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(format!("{}/healthz", hub.base)).await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let stderr = std::fs::read_to_string(&err_path).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("generated password") && !l.trim_start().starts_with('{'))
            .expect("the password announced on stderr, outside the log");
        let password = lines[at + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty()).expect("the password line");
        assert_eq!(password.len(), 20, "{password:?}");
        let logged: Vec<&str> = lines.iter().copied().filter(|l| l.trim_start().starts_with('{')).collect();
        assert!(logged.len() > 5, "JSON logging was on: {logged:?}");
        for line in &logged {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            assert!(!line.contains(password), "the password reached the log: {line}");
        }
        assert!(logged.iter().any(|l| l.contains("printed once on stderr")), "the log says where to look");

        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}/api/login", hub.base))
            .header("origin", hub.base.as_str())
            .form(&[("email", "admin@localhost"), ("password", password)])
            .send()
            .await
            .unwrap();
        let cookie = res.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let signed_in = cookie.contains("HttpOnly") && !cookie.contains("Max-Age=0");
        assert!(signed_in && res.status().as_u16() < 400, "the printed password signs in: {} {cookie}", res.status());
    });
}
