//! Server-Sent Events for the live Deliveries view: the signed-in browser subscribes for one tenant and hears
//! "something changed" (coalesced), then refetches with its own filters. Keeping the payload a notice rather
//! than rows means the stream never carries data the page's own (tenant-checked) queries would not return.

use super::auth::session;
use super::rest::error::ApiQuery;
use super::service::streams::StreamSlot;
use super::service::AppState;
use crate::model::AppError;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Changes closer together than this become one event.
const COALESCE: Duration = Duration::from_millis(250);

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
