//! The real binary as operators run it: API-only and worker instances on one database.

mod common;

use common::receiver::Receiver;
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
    let port = free_port();
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
        let ev = json!({"type": "ticket.created", "data": {"id": "t1", "ticket": {"id": "t1", "subject": "s", "status": "open", "priority": "low"}}});
        let published = api(&api_only.base, &key, post, "/events", Some(ev)).await;
        assert_eq!(published["matched"], 1);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(rx.received("/ok").is_empty(), "HUB_WORKER=false must not deliver");
        let list = api(&api_only.base, &key, reqwest::Method::GET, "/deliveries", None).await;
        assert_eq!(list["data"][0]["status"], "pending");

        // A worker instance on the same database picks the queued delivery up.
        let _worker = start(&db, &[]).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while rx.received("/ok").is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = rx.received("/ok");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].headers["webhook-id"], published["id"].as_str().unwrap());
    });
}
