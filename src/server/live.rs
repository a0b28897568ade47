//! Server-Sent Events for the live Deliveries view: the signed-in browser subscribes for one tenant and hears
//! "something changed" (coalesced), then refetches with its own filters. Keeping the payload a notice rather
//! than rows means the stream never carries data the page's own (tenant-checked) queries would not return.

use super::auth::session;
use super::rest::error::ApiQuery;
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
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let user = hub.session_user(cookie.and_then(|c| session::cookie_value(c, session::COOKIE))).await?;
    hub.authorize_tenant(&user, &q.tenant_id).await?;
    let rx = hub.live.subscribe();
    let mut stopping = hub.stopping.subscribe();
    let changes = futures::stream::unfold((rx, q.tenant_id), |(mut rx, tenant)| async move {
        loop {
            match rx.recv().await {
                Ok(t) if t == tenant => break,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return None,
            }
        }
        tokio::time::sleep(COALESCE).await;
        while !matches!(rx.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
        let data = serde_json::json!({ "tenant_id": tenant, "at": crate::server::store::now_ms() });
        Some((Ok(Event::default().event("deliveries").data(data.to_string())), (rx, tenant)))
    });
    // Ends when the server stops, so graceful shutdown is not held up by open browser tabs.
    let stream = changes.take_until(async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
