//! A webhook receiver in a process of its own for `make bench`'s external runs (scripts/bench.sh): answers every
//! POST with 204 at once and counts it; `GET /count` tells how many came. Listens on `RECEIVER_ADDR`
//! (default 127.0.0.1:3197) until killed. Not a benchmark itself: cargo builds it like one (`--bench receiver`).

use axum::routing::{get, post};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let addr = std::env::var("RECEIVER_ADDR").unwrap_or_else(|_| "127.0.0.1:3197".into());
    let count = Arc::new(AtomicU64::new(0));
    let (posted, read) = (count.clone(), count);
    let app = axum::Router::new()
        .route("/count", get(move || async move { read.load(Ordering::Relaxed).to_string() }))
        .route(
            "/{*path}",
            post(move |_body: axum::body::Bytes| async move {
                posted.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }),
        );
    let listener =
        tokio::net::TcpListener::bind(&addr).await.unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    axum::serve(listener, app).await.expect("the receiver stopped");
}
