//! `GET/POST /portal/{token}`: opening a tenant portal link.
//!
//! The GET only shows a page naming the tenant with an "Open the … portal" button; that button's form POSTs back
//! here and only the POST sets the session cookie. A link (or an image, or a prefetch) therefore cannot push a
//! browser into someone else's session: that takes a person's click on our own page, and a POST from another
//! site is refused by the router's cross-site check (`app::same_origin_only`).

use super::auth::session;
use super::html::escape;
use super::service::portal::LinkRefused;
use super::service::AppState;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn show(State(hub): State<AppState>, Path(token): Path<String>) -> Response {
    match hub.check_portal_link(&token).await {
        Ok(Ok((_, tenant))) => {
            let name = escape(&tenant.name);
            let body = format!(
                "<h1>{name} portal</h1>\
                 <p>This link opens the {name} integration pages (webhook endpoints and their deliveries) in this \
                 browser, signing out whoever is signed in here.</p>\
                 <form method=\"post\" action=\"/portal/{}\"><button type=\"submit\">Open the {name} portal</button></form>",
                escape(&token)
            );
            page(StatusCode::OK, &format!("{name} portal"), &body)
        }
        Ok(Err(refused)) => refused_page(refused),
        Err(e) => error_page(e),
    }
}

pub async fn open(State(hub): State<AppState>, Path(token): Path<String>, req: Parts) -> Response {
    match hub.open_portal(&token).await {
        Ok(Ok(s)) => {
            // Named and flagged like a sign-in's cookie: after the request's scheme, as the router decided it.
            let https = session::Https::of(&req.extensions);
            // The cookie replaces this browser's session; the replaced one ends too rather than linger unused.
            let old = req.headers.get(header::COOKIE).and_then(|c| c.to_str().ok());
            if let Some(old) = old.and_then(|c| session::token_from(c, https)) {
                let _ = hub.logout(old).await;
            }
            let cookie = session::set_cookie(&s.token, https);
            let to = format!("/t/{}/integrations", s.tenant_id);
            let headers =
                [(header::SET_COOKIE, cookie), (header::LOCATION, to), (header::CACHE_CONTROL, "no-store".into())];
            (StatusCode::SEE_OTHER, headers).into_response()
        }
        Ok(Err(refused)) => refused_page(refused),
        Err(e) => error_page(e),
    }
}

fn refused_page(refused: LinkRefused) -> Response {
    let (status, text) = match refused {
        LinkRefused::Invalid => (StatusCode::NOT_FOUND, "This portal link is not valid. Ask for a new one."),
        LinkRefused::Ended => (StatusCode::GONE, "This portal link was revoked or has expired. Ask for a new one."),
    };
    page(status, "Portal link", &format!("<h1>Portal link</h1><p>{text}</p>"))
}

fn error_page(e: crate::model::AppError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    page(status, "Portal link", &format!("<h1>Portal link</h1><p>{}</p>", escape(&e.message)))
}

/// A page of its own (no WASM bundle): it must work before any session exists. Not cached, since its URL is a
/// credential. Its referrer policy is `strict-origin`: no request from it carries the path (the token), yet its
/// form's POST still carries `Origin` — under `no-referrer` browsers send `Origin: null`, which the cross-site
/// check refuses.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"strict-origin\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body><main style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem\">{body}</main></body></html>"
    );
    let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")];
    (status, headers, html).into_response()
}
