//! Server-Sent Events for the live Deliveries view: the signed-in browser subscribes for one tenant and hears
//! "something changed" (coalesced), then refetches with its own filters. Keeping the payload a notice rather
//! than rows means the stream never carries data the page's own (tenant-checked) queries would not return.

use super::auth::session;
use super::rest::error::ApiQuery;
use super::service::AppState;
use crate::model::{AppError, ErrorCode};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Changes closer together than this become one event.
const COALESCE: Duration = Duration::from_millis(250);

/// Open streams per session (by the SHA-256 of its token), so one session cannot hold an unbounded number of
/// connections and subscriptions (`HUB_MAX_STREAMS_PER_SESSION`).
#[derive(Default)]
pub struct StreamCounts(Arc<Mutex<HashMap<String, u32>>>);

/// One open stream's place in [`StreamCounts`], given back when the stream is dropped.
struct StreamSlot {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    key: String,
}

impl StreamCounts {
    fn take(&self, token: &str, max: u32) -> Result<StreamSlot, AppError> {
        use sha2::{Digest, Sha256};
        let key = hex::encode(Sha256::digest(token.as_bytes()));
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if max > 0 && *n >= max {
            return Err(AppError::new(
                ErrorCode::RateLimited,
                format!("this session already has {max} live streams open: close another tab first"),
            ));
        }
        *n += 1;
        Ok(StreamSlot { counts: self.0.clone(), key })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct StreamQuery {
    tenant_id: String,
}

pub async fn deliveries_stream(
    State(hub): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let token = cookie.and_then(|c| session::token_from(c, session::Https::of(&extensions))).map(str::to_string);
    let user = hub.session_user(token.as_deref()).await?;
    hub.authorize_tenant(&user, &q.tenant_id).await?;
    let token = token.unwrap_or_default();
    let slot = hub.streams.take(&token, hub.config.serve.max_streams_per_session)?;
    let recheck = Duration::from_secs(hub.config.serve.stream_recheck_seconds);
    let watch = Watch {
        rx: hub.live.subscribe(),
        next_check: tokio::time::Instant::now() + recheck,
        recheck,
        hub: hub.clone(),
        token,
        tenant: q.tenant_id,
        _slot: slot,
    };
    let mut stopping = hub.stopping.subscribe();
    let changes = futures::stream::unfold(watch, |mut w| async move {
        loop {
            tokio::select! {
                change = w.rx.recv() => match change {
                    Ok(t) if t == w.tenant => break,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep_until(w.next_check) => {
                    if !w.still_allowed().await {
                        return None;
                    }
                    w.next_check = tokio::time::Instant::now() + w.recheck;
                }
            }
        }
        tokio::time::sleep(COALESCE).await;
        while !matches!(w.rx.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
        if !w.still_allowed().await {
            return None;
        }
        let data = serde_json::json!({ "tenant_id": w.tenant, "at": crate::server::store::now_ms() });
        Some((Ok(Event::default().event("deliveries").data(data.to_string())), w))
    });
    // Ends when the server stops, so graceful shutdown is not held up by open browser tabs.
    let stream = changes.take_until(async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream's subscription and the session it was opened with. The session is checked again before every event
/// and every `HUB_STREAM_RECHECK_SECONDS` between them, so signing out, a revoked or expired session or a lost
/// tenant right ends the stream (the browser's EventSource then reconnects and gets the 401/403) instead of it
/// announcing changes for as long as the tab stays open.
struct Watch {
    hub: AppState,
    token: String,
    tenant: String,
    rx: tokio::sync::broadcast::Receiver<String>,
    recheck: Duration,
    next_check: tokio::time::Instant,
    _slot: StreamSlot,
}

impl Watch {
    /// Any failure ends the stream, a database error too: the reconnect that follows checks afresh.
    async fn still_allowed(&self) -> bool {
        match self.hub.session_user(Some(&self.token)).await {
            Ok(user) => self.hub.authorize_tenant(&user, &self.tenant).await.is_ok(),
            Err(_) => false,
        }
    }
}
