//! `GET /oauth/callback`: where every provider sends the person back after they allowed (or refused) the hub.
//! The signed-in session finishes the authorisation its own `state` started (`Hub::complete_app_authorize`),
//! then the browser goes back to the Integrations page's "Connected apps" tab with `connected=<provider>` or
//! `error=<message>` for its toast. No session: the sign-in page (the `state` stays unspent, so signing in and
//! starting again works).

use crate::server::auth::session;
use crate::server::service::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

fn see_other(location: &str) -> Response {
    // No-store: the URL carries a one-time code.
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string()), (header::CACHE_CONTROL, "no-store".into())])
        .into_response()
}

fn page(tenant: Option<&str>, param: &str, value: &str) -> String {
    let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    match tenant {
        Some(t) => {
            let t: String = url::form_urlencoded::byte_serialize(t.as_bytes()).collect();
            format!("/t/{t}/integrations?tab=apps&{param}={value}")
        }
        None => format!("/integrations?tab=apps&{param}={value}"),
    }
}

pub async fn callback(
    State(hub): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let token = cookie.and_then(|c| session::token_from(c, session::Https::of(&extensions)));
    let user = match hub.session_user(token).await {
        Ok(u) => u,
        Err(_) => return see_other("/login"),
    };
    let session_hash = session::token_hash(token.unwrap_or_default());
    let get = |k: &str| q.get(k).map(String::as_str);
    let error = get("error").map(|e| match get("error_description") {
        Some(d) if e != "access_denied" => format!("{e}: {d}"),
        _ => e.to_string(),
    });
    let state = get("state").unwrap_or_default();
    match hub.complete_app_authorize(&user, &session_hash, state, get("code"), error.as_deref()).await {
        Ok(c) => see_other(&page(Some(&c.tenant_id), "connected", c.connection.provider.as_str())),
        Err(f) => {
            // The person's own tenant when the attempt's is not theirs to see (or unknown).
            let tenant = f.tenant_id.as_deref().or(user.tenant_id.as_deref());
            see_other(&page(tenant, "error", &f.message))
        }
    }
}
