//! A real HTTP receiver on 127.0.0.1 with programmable behaviour per path, recording every request.
//! Paths: `/ok`, `/fail` (always 500), `/flaky/N` (N × 500, then 200), `/gone` (410),
//! `/limited` (429 with Retry-After: 1 once, then 200), `/slow/MS` (waits, then 200), `/big` (100 KB body),
//! `/nul` (200 with a NUL byte in the body).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub requests: Arc<Mutex<Vec<Received>>>,
    counts: Arc<Mutex<HashMap<String, u32>>>,
    pub base: String,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut r = Receiver { base: format!("http://{}", listener.local_addr().unwrap()), ..Default::default() };
        let app = Router::new().route("/{*path}", post(handle)).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r.base = r.base.clone();
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.requests.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits until at least `n` requests to `path` have come or `within` has passed; returns them as they are then.
    pub async fn wait_received(&self, path: &str, n: usize, within: std::time::Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.received(path);
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// How many requests came for each key that `key` gives a request (requests it gives none are left out).
    pub fn count_by(&self, key: impl Fn(&Received) -> Option<String>) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for r in self.requests.lock().unwrap().iter() {
            if let Some(k) = key(r) {
                *m.entry(k).or_insert(0) += 1;
            }
        }
        m
    }

    /// Waits until every one of `keys` has come (see [`Receiver::count_by`]) or `within` has passed; returns the
    /// counts as they are then.
    pub async fn wait_for(
        &self,
        keys: &[String],
        within: std::time::Duration,
        key: impl Fn(&Received) -> Option<String> + Copy,
    ) -> HashMap<String, usize> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let s = self.count_by(key);
            if keys.iter().all(|k| s.contains_key(k)) || std::time::Instant::now() > deadline {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn handle(State(r): State<Receiver>, Path(path): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let path = format!("/{path}");
    let n = {
        let mut c = r.counts.lock().unwrap();
        let e = c.entry(path.clone()).or_insert(0);
        *e += 1;
        *e
    };
    let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    r.requests.lock().unwrap().push(Received {
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into(),
        at: std::time::Instant::now(),
    });
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["ok", ..] => (StatusCode::OK, "{\"received\": true}").into_response(),
        ["fail", ..] => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        ["flaky", k, ..] if n <= k.parse().unwrap_or(0) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "not yet").into_response()
        }
        ["flaky", ..] => (StatusCode::OK, "finally").into_response(),
        ["gone", ..] => (StatusCode::GONE, "gone").into_response(),
        ["limited", ..] if n == 1 => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response()
        }
        ["limited", ..] => StatusCode::NO_CONTENT.into_response(),
        ["slow", ms, ..] => {
            tokio::time::sleep(std::time::Duration::from_millis(ms.parse().unwrap_or(0))).await;
            StatusCode::OK.into_response()
        }
        ["big", ..] => (StatusCode::OK, "x".repeat(100 * 1024)).into_response(),
        ["nul", ..] => (StatusCode::OK, "ok\0done").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The event a request delivered (its `webhook-id`): a key for [`Receiver::count_by`] and [`Receiver::wait_for`].
pub fn webhook_id(r: &Received) -> Option<String> {
    r.headers.get("webhook-id").cloned()
}

/// One endpoint's copy of one event, "path webhook-id": a key for [`Receiver::count_by`] and
/// [`Receiver::wait_for`].
pub fn copy(r: &Received) -> Option<String> {
    Some(format!("{} {}", r.path, r.headers.get("webhook-id")?))
}

/// What [`copy`] names for each of the endpoints at `path/0`, `path/1`, … of each event.
pub fn copies(path: &str, endpoints: usize, events: &[String]) -> Vec<String> {
    events.iter().flat_map(|e| (0..endpoints).map(move |i| format!("{path}/{i} {e}"))).collect()
}
