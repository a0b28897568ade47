//! The code samples (`model/samples.rs`) do what they say, run as a reader would run them: the curl, Node and
//! Python publish samples each publish an event to a real hub, and the Node and Python receivers, verifying
//! with the stock Standard Webhooks library of their language, accept every real delivery of those events and
//! refuse a tampered one. Needs `curl`, `node` and `python3`; `scripts/samples-deps.sh` installs the libraries.

mod common;

use common::api::Api;
use common::fixtures::{add_event_type, hook_to, issue_unlimited_key};
use common::{Backend, Worker};
use integration_hub::model::samples::{sample, SampleInput, SampleKind, SampleLang};
use integration_hub::model::{CreateWebhook, Scope};
use integration_hub::server::delivery::sign::{signature_header, SigningSecret};
use integration_hub::server::service::Actor;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn program(lang: SampleLang) -> &'static str {
    match lang {
        SampleLang::Curl => "sh",
        SampleLang::Node => "node",
        SampleLang::Python => "python3",
        SampleLang::Go | SampleLang::Rust => unreachable!("not run here"),
    }
}

/// A sample receiver running in `dir`, and every line it has printed.
struct Receiver {
    lang: SampleLang,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    child: Child,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `program file` in `dir` with `env`, off the runtime's threads (the hub answering it runs on them).
async fn run(program: &'static str, file: &'static str, dir: &Path, env: (&'static str, String)) -> Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || Command::new(program).arg(file).current_dir(dir).env(env.0, env.1).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{program} cannot run: {e}"))
}

impl Receiver {
    async fn start(lang: SampleLang, dir: &Path, input: &SampleInput<'_>) -> Receiver {
        let s = sample(SampleKind::Verify, lang, input).unwrap();
        std::fs::write(dir.join(s.file_name), &s.text).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(program(lang))
            .arg(s.file_name)
            .current_dir(dir)
            .env("WEBHOOK_SECRET", SECRET)
            .env("PORT", port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} cannot start: {e}", program(lang)));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let r = Receiver { lang, port, lines, child };
        r.wait_for(|l| l.iter().any(|x| x.starts_with("listening on")), "to listen").await;
        r
    }

    async fn wait_for(&self, done: impl Fn(&[String]) -> bool, what: &str) {
        for _ in 0..300 {
            if done(&self.lines.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the {:?} receiver did not come {what}: {:?}", self.lang, self.lines.lock().unwrap());
    }

    fn count(&self, prefix: &str) -> usize {
        self.lines.lock().unwrap().iter().filter(|l| l.starts_with(prefix)).count()
    }

    /// Posts `body` with `headers` straight to the receiver and returns the status.
    async fn post(&self, headers: &[(&str, String)], body: &str) -> u16 {
        let mut req = reqwest::Client::new().post(format!("http://127.0.0.1:{}/", self.port)).body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

backend_tests!(the_published_samples_publish_and_the_receivers_verify_real_deliveries);
async fn the_published_samples_publish_and_the_receivers_verify_real_deliveries(b: Backend) {
    let n = b.name;
    let deps = std::process::Command::new("bash").arg("scripts/samples-deps.sh").status().unwrap();
    assert!(deps.success(), "scripts/samples-deps.sh failed");
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let api = Api::serve(&hub).await;
    let tenant = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let example = serde_json::json!({"ticket": {"id": "T-1", "title": "It's \"broken\"", "urgent": true, "tags": []}});
    add_event_type(&hub, "ticket.sampled", "A sample event", example.clone()).await;
    let key = issue_unlimited_key(&hub, Some(&tenant.id), &[Scope::EventsWrite]).await.secret;
    let input = SampleInput { base_url: &api.base, event_type: "ticket.sampled", data: &example };

    // Under target/, so `import "standardwebhooks"` finds the project's node_modules as a reader's project would.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    let dir = tempfile::Builder::new().prefix("samples-").tempdir_in(&target).unwrap();

    let mut receivers = Vec::new();
    for lang in [SampleLang::Node, SampleLang::Python] {
        let r = Receiver::start(lang, dir.path(), &input).await;
        let hook = CreateWebhook {
            secret: Some(SECRET.into()),
            events: vec!["ticket.sampled".into()],
            ..hook_to(&format!("http://127.0.0.1:{}/hook", r.port), &tenant.id)
        };
        hub.create_webhook(Actor::System, hook).await.unwrap();
        receivers.push(r);
    }

    // Each publish sample, run as its comment says, is answered 202 with the event.
    let publishers = [SampleLang::Curl, SampleLang::Node, SampleLang::Python];
    for lang in publishers {
        let s = sample(SampleKind::Publish, lang, &input).unwrap();
        std::fs::write(dir.path().join(s.file_name), &s.text).unwrap();
        let out = run(program(lang), s.file_name, dir.path(), ("HUB_API_KEY", key.clone())).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "[{n}] {lang:?}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("\"id\""), "[{n}] {lang:?} printed no event: {stdout}");
    }
    // The same sample with a wrong key fails loudly (the reader sees why), and publishes nothing.
    let s = sample(SampleKind::Publish, SampleLang::Python, &input).unwrap();
    let out = run("python3", s.file_name, dir.path(), ("HUB_API_KEY", "ihk_live_wrong".into())).await;
    assert!(!out.status.success(), "[{n}] a refused publish exited 0");

    // Every receiver verifies all three real deliveries (signed by the hub's worker) and answers 204.
    for r in &receivers {
        r.wait_for(|l| l.iter().filter(|x| x.starts_with("verified")).count() >= publishers.len(), "to verify 3").await;
        assert!(r.lines.lock().unwrap().iter().any(|l| l.ends_with("ticket.sampled")), "[{n}] {:?}", r.lang);
        assert_eq!(r.count("refused"), 0, "[{n}] {:?}: {:?}", r.lang, r.lines.lock().unwrap());
    }
    // The worker records each answer as a success (it may still be recording the last ones).
    let mut done = 0;
    for _ in 0..200 {
        let list = hub.list_deliveries(Actor::System, Default::default()).await.unwrap();
        done = list.iter().filter(|d| d.status == integration_hub::model::DeliveryStatus::Success).count();
        if done == 2 * publishers.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done, 2 * publishers.len(), "[{n}] not every delivery succeeded");

    // A request signed with the secret verifies; the same request with its body changed is refused with 400.
    let secret = SigningSecret::parse(SECRET).unwrap();
    let body = r#"{"type":"ticket.sampled","timestamp":"2026-01-01T00:00:00Z","data":{"ticket":{"id":"T-1"}}}"#;
    let ts = chrono::Utc::now().timestamp();
    let headers = [
        ("webhook-id", "msg_tampered".to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", signature_header(&[&secret], "msg_tampered", ts, body.as_bytes())),
        ("content-type", "application/json".to_string()),
    ];
    for r in &receivers {
        assert_eq!(r.post(&headers, body).await, 204, "[{n}] {:?}", r.lang);
        assert_eq!(r.post(&headers, &body.replace("T-1", "T-2")).await, 400, "[{n}] {:?} took a tampered body", r.lang);
        r.wait_for(|l| l.iter().any(|x| x.starts_with("refused")), "to refuse").await;
    }
    worker.stop().await;
}
