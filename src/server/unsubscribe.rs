//! `GET/POST /unsubscribe/{token}`: the link in every email a destination sends
//! ([`crate::server::service::unsubscribe`]).
//!
//! The GET only shows a page naming the address and the endpoint, with a button; the button's form POSTs back
//! here, and only the POST removes the address. Mail clients that offer one-click unsubscribing (RFC 8058) POST
//! `List-Unsubscribe=One-Click` to the same URL from their servers, with no `Origin`, which the router's
//! cross-site check lets through (it refuses only POSTs a browser says came from another site). The token is the
//! whole authority; it costs no database read to refuse one the hub did not sign.
//!
//! The pages are plain HTML without scripts. The router gives every page a CSP that allows only this origin's
//! stylesheets, so their look comes from a small stylesheet served here ([`STYLESHEET`]), not inline styles.

use super::html::escape;
use super::service::unsubscribe::Unsubscription;
use super::service::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The pages' stylesheet.
pub const STYLESHEET: &str = "/unsubscribe.css";

/// The routes, to merge into the hub's router.
pub fn router<S: Clone + Send + Sync + 'static>(hub: AppState) -> Router<S> {
    Router::new()
        .route("/unsubscribe/{token}", get(show).post(confirm))
        .route(STYLESHEET, get(stylesheet))
        .with_state(hub)
}

/// The page a link opens: what would be unsubscribed, and the button that does it.
pub async fn show(State(hub): State<AppState>, Path(token): Path<String>) -> Response {
    match hub.unsubscribe_status(&token).await {
        Ok(Unsubscription::Subscribed { address, endpoint }) => {
            let (address, endpoint) = (escape(&address), escape(&endpoint));
            // The action is relative (`/unsubscribe/` + token), so it holds behind a proxy that adds a path prefix.
            let body = format!(
                "<h1>Unsubscribe</h1>\
                 <p><strong>{address}</strong> receives the notifications of <strong>{endpoint}</strong>.</p>\
                 <p>Unsubscribe it? Nothing more is sent to it from there; whoever manages the notifications can add \
                 it again.</p>\
                 <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"List-Unsubscribe\" \
                 value=\"One-Click\"><button type=\"submit\">Unsubscribe {address}</button></form>",
                escape(&token)
            );
            page(StatusCode::OK, "Unsubscribe", &body)
        }
        Ok(other) => answer(other),
        Err(e) => error_page(e),
    }
}

/// The button's POST, or a mail client's one-click POST: removes the address (its body is not needed).
pub async fn confirm(State(hub): State<AppState>, Path(token): Path<String>) -> Response {
    match hub.unsubscribe(&token).await {
        Ok(u) => answer(u),
        Err(e) => error_page(e),
    }
}

/// The pages that need no button.
fn answer(u: Unsubscription) -> Response {
    match u {
        Unsubscription::Invalid => page(
            StatusCode::NOT_FOUND,
            "Unsubscribe",
            "<h1>Unsubscribe</h1><p>This unsubscribe link is not valid. Use the link of a more recent email, \
             or ask whoever manages the notifications to remove your address.</p>",
        ),
        Unsubscription::Already { address, endpoint } => {
            let from = endpoint.map(|e| format!(" from <strong>{}</strong>", escape(&e))).unwrap_or_default();
            let body = format!(
                "<h1>Already unsubscribed</h1><p><strong>{}</strong> is already unsubscribed{from}. \
                 Nothing more is sent to it from there.</p>",
                escape(&address)
            );
            page(StatusCode::OK, "Already unsubscribed", &body)
        }
        Unsubscription::Removed { address, endpoint, .. } | Unsubscription::Subscribed { address, endpoint } => {
            let body = format!(
                "<h1>Unsubscribed</h1><p><strong>{}</strong> no longer receives the notifications of \
                 <strong>{}</strong>.</p>",
                escape(&address),
                escape(&endpoint)
            );
            page(StatusCode::OK, "Unsubscribed", &body)
        }
    }
}

fn error_page(e: crate::model::AppError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    page(status, "Unsubscribe", &format!("<h1>Unsubscribe</h1><p>{}</p>", escape(&e.message)))
}

/// A page of its own (no WASM bundle: the person following the link has no account). Not cached and not
/// indexed: its URL is the recipient's own link.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"{STYLESHEET}\"></head><body><main>{body}</main></body></html>"
    );
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::HeaderName::from_static("x-robots-tag"), "noindex"),
    ];
    (status, headers, html).into_response()
}

const CSS: &str = "body{margin:0;background:#f4f4f5;color:#18181b;\
font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;line-height:1.5}\
main{max-width:32rem;margin:4rem auto;padding:1.5rem;background:#fff;border:1px solid #e4e4e7;border-radius:8px}\
h1{margin:0 0 .75rem;font-size:1.25rem}p{margin:0 0 1rem}strong{word-break:break-all}\
button{font:inherit;font-weight:600;padding:.6rem 1.1rem;border:0;border-radius:6px;background:#dc2626;color:#fff;\
cursor:pointer}button:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}\
@media (prefers-color-scheme:dark){body{background:#18181b;color:#f4f4f5}main{background:#27272a;border-color:#3f3f46}}";

async fn stylesheet() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")];
    (StatusCode::OK, headers, CSS).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(r: Response) -> (StatusCode, String) {
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn unsubscribe_pages_escape_what_they_show() {
        let (status, html) = text(answer(Unsubscription::Removed {
            address: "a<b>@example.com".into(),
            endpoint: "<script>x</script>".into(),
            disabled: false,
        }))
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("a&lt;b&gt;@example.com") && html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
        assert!(!html.contains("<script>") && !html.contains("style="), "{html}");
        let (status, html) = text(answer(Unsubscription::Invalid)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("This unsubscribe link is not valid"), "{html}");
        let (_, html) = text(answer(Unsubscription::Already { address: "a@x.com".into(), endpoint: None })).await;
        assert!(html.contains("already unsubscribed"), "{html}");
    }
}
