//! Downloads for signed-in browsers: the audit trail as CSV and a filtered delivery log as CSV or JSON lines.
//! Both are streamed: the store is read a page at a time as the client takes the body, so an export of any
//! length holds one page in memory. Authorised like the live stream (`live.rs`): the session cookie, then the
//! same service calls the pages make, confined the same way.

use super::auth::session;
use super::rest::error::ApiQuery;
use super::service::{Actor, AppState};
use crate::model::{
    AppError, AppResult, AuditEntry, AuditQuery, Delivery, DeliveryListQuery, ExportFormat, Role, User,
};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, TryStreamExt};
use std::borrow::Cow;

/// Rows one read of the delivery log returns while exporting.
const EXPORT_PAGE: u32 = 500;

/// A cell as a spreadsheet may safely open it: text starting with `=`, `+`, `-`, `@` (or a tab or carriage
/// return) would be read as a formula, so it is prefixed with `'` (OWASP's CSV injection advice).
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// One CSV record, quoted where needed (the `csv` crate) and guarded cell by cell ([`csv_cell`]).
fn csv_record<'a>(cells: impl IntoIterator<Item = Cow<'a, str>>) -> AppResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let guarded: Vec<String> = cells.into_iter().map(|c| csv_cell(&c).into_owned()).collect();
    w.write_record(&guarded).map_err(|_| AppError::internal())?;
    w.into_inner().map_err(|_| AppError::internal())
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn opt(s: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(s.as_deref().unwrap_or_default())
}

const AUDIT_HEADER: [&str; 13] = [
    "time",
    "id",
    "tenant_id",
    "actor",
    "actor_label",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_name",
    "detail",
    "before",
    "after",
];

fn audit_row(e: &AuditEntry) -> AppResult<Vec<u8>> {
    let json = |v: &Option<serde_json::Value>| Cow::Owned(v.as_ref().map(|v| v.to_string()).unwrap_or_default());
    csv_record([
        Cow::Owned(time(e.at)),
        Cow::Borrowed(e.id.as_str()),
        opt(&e.tenant_id),
        Cow::Borrowed(e.actor.as_str()),
        opt(&e.actor_label),
        opt(&e.ip),
        Cow::Borrowed(e.action.as_str()),
        opt(&e.object_type),
        opt(&e.target),
        opt(&e.object_name),
        opt(&e.detail),
        json(&e.before),
        json(&e.after),
    ])
}

const DELIVERY_HEADER: [&str; 12] = [
    "created_at",
    "id",
    "event_id",
    "event_type",
    "webhook_id",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "duration_ms",
    "next_attempt_at",
    "is_test",
];

fn delivery_row(d: &Delivery) -> AppResult<Vec<u8>> {
    let n = |v: Option<String>| Cow::Owned(v.unwrap_or_default());
    csv_record([
        Cow::Owned(time(d.created_at)),
        Cow::Borrowed(d.id.as_str()),
        Cow::Borrowed(d.event_id.as_str()),
        Cow::Borrowed(d.event_type.as_str()),
        Cow::Borrowed(d.webhook_id.as_str()),
        Cow::Borrowed(d.status.as_str()),
        Cow::Owned(d.attempts.to_string()),
        n(d.last_status_code.map(|c| c.to_string())),
        opt(&d.last_error),
        n(d.duration_ms.map(|c| c.to_string())),
        n(d.next_attempt_at.map(time)),
        Cow::Borrowed(if d.is_test { "true" } else { "false" }),
    ])
}

/// The signed-in user of a cookie-authenticated request (401 without a session).
async fn session_user(hub: &AppState, headers: &HeaderMap, extensions: &axum::http::Extensions) -> AppResult<User> {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let token = cookie.and_then(|c| session::token_from(c, session::Https::of(extensions)));
    hub.session_user(token).await
}

/// A download: the header line, then each page's rows as the client reads. A failure after the first byte
/// can no longer change the status, so it ends the body early (the client sees a broken download) and is logged.
fn download(
    content_type: &'static str,
    filename: String,
    head: Vec<u8>,
    rows: impl Stream<Item = AppResult<Vec<u8>>> + Send + 'static,
) -> Response {
    let body = futures::stream::once(async move { Ok(head) }).chain(rows).map_err(|e: AppError| {
        tracing::warn!(error = %e, "an export ended early");
        std::io::Error::other(e.message)
    });
    let mut res = Body::from_stream(body.map_ok(Bytes::from)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn today() -> String {
    chrono::Utc::now().format("%Y%m%d").to_string()
}

/// `GET /api/ui/audit.csv?…`: the Audit tab's filters (admins may leave `tenant_id` out for every tenant).
pub async fn audit_csv(
    State(hub): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Response> {
    let user = session_user(&hub, &headers, &extensions).await?;
    if let Some(t) = q.tenant_id.as_deref().filter(|t| !t.is_empty()) {
        hub.authorize_tenant(&user, t).await?;
    }
    let pages = hub.audit_stream(&Actor::User(&user), q)?;
    let rows = pages.map_ok(|page| futures::stream::iter(page.iter().map(audit_row).collect::<Vec<_>>())).try_flatten();
    let head = csv_record(AUDIT_HEADER.map(Cow::Borrowed))?;
    Ok(download("text/csv; charset=utf-8", format!("audit-{}.csv", today()), head, rows))
}

#[derive(serde::Deserialize)]
pub struct ExportAs {
    #[serde(default)]
    format: ExportFormat,
}

/// `GET /api/ui/deliveries/export?tenant_id=…&format=csv|jsonl&…`: the Deliveries tab's filters, the tenant's
/// deliveries only (an admin acts as that tenant's user, as on the tab).
pub async fn deliveries_export(
    State(hub): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiQuery(q): ApiQuery<DeliveryListQuery>,
    ApiQuery(ExportAs { format }): ApiQuery<ExportAs>,
) -> AppResult<Response> {
    let user = session_user(&hub, &headers, &extensions).await?;
    let tenant =
        q.tenant_id.clone().filter(|t| !t.is_empty()).ok_or_else(|| AppError::field("tenant_id", "is required"))?;
    hub.authorize_tenant(&user, &tenant).await?;
    let role = if user.role == Role::Admin { Role::Tenant } else { user.role };
    let user = User { role, tenant_id: Some(tenant.clone()), ..user };
    let q = DeliveryListQuery { limit: Some(EXPORT_PAGE), cursor: None, ..q };
    let pages = futures::stream::try_unfold(Some(q), move |state| {
        let (hub, user) = (hub.clone(), user.clone());
        async move {
            let Some(q) = state else { return Ok(None) };
            let page = hub.list_deliveries(Actor::User(&user), q.clone()).await?;
            let next = match page.last() {
                Some(last) if page.len() == EXPORT_PAGE as usize => {
                    Some(DeliveryListQuery { cursor: Some(last.id.clone()), ..q })
                }
                _ => None,
            };
            Ok::<_, AppError>(if page.is_empty() { None } else { Some((page, next)) })
        }
    });
    let line = move |d: &Delivery| match format {
        ExportFormat::Csv => delivery_row(d),
        ExportFormat::Jsonl => {
            let mut v = serde_json::to_vec(d).map_err(|_| AppError::internal())?;
            v.push(b'\n');
            Ok(v)
        }
    };
    let rows = pages.map_ok(move |page| futures::stream::iter(page.iter().map(line).collect::<Vec<_>>())).try_flatten();
    let name = format!("deliveries-{tenant}-{}", today());
    Ok(match format {
        ExportFormat::Csv => {
            let head = csv_record(DELIVERY_HEADER.map(Cow::Borrowed))?;
            download("text/csv; charset=utf-8", format!("{name}.csv"), head, rows)
        }
        ExportFormat::Jsonl => download("application/x-ndjson", format!("{name}.jsonl"), Vec::new(), rows),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused_and_quoting_is_proper() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for s in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(csv_cell("plain"), "plain");
        let row = csv_record([Cow::Borrowed("a,b"), Cow::Borrowed("say \"hi\""), Cow::Borrowed("=1+1")]).unwrap();
        assert_eq!(String::from_utf8(row).unwrap(), "\"a,b\",\"say \"\"hi\"\"\",'=1+1\r\n");
    }
}
