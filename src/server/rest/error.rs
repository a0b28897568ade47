//! How the REST API speaks errors and reads bodies: every failure is `{"error": {"code", "message", "fields"?}}`
//! with the matching status; bodies over 1 MB are 413, malformed JSON is 400 with the position, JSON of the wrong
//! shape is 422.

use crate::model::{AppError, ErrorCode};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(serde_json::json!({ "error": self }))).into_response()
    }
}

/// A JSON body with the API's error shape (axum's own rejections are plain text).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(ErrorCode::PayloadTooLarge, format!("request body is larger than {MAX_BODY_BYTES} bytes"))
            } else {
                AppError::bad_request(format!("cannot read request body: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A resource id from the path. Ids are `prefix_ULID`; anything else (NUL bytes, traversal, very long strings)
/// cannot name a resource, so it is a 404 before any query runs.
pub struct ApiId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(id) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::bad_request(format!("invalid path: {e}")))?;
        let plausible = !id.is_empty()
            && id.len() <= 100
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if plausible {
            Ok(ApiId(id))
        } else {
            Err(AppError::not_found("resource"))
        }
    }
}

/// PostgreSQL cannot store NUL in text, and no field of ours has a use for it: refused up front as a 400
/// rather than failing deep in the store.
fn refuse_nul(v: &serde_json::Value) -> Result<(), AppError> {
    let bad = || AppError::bad_request("text must not contain NUL (\\u0000) characters");
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Err(bad()),
        serde_json::Value::Array(items) => items.iter().try_for_each(refuse_nul),
        serde_json::Value::Object(map) => {
            map.iter().try_for_each(|(k, v)| if k.contains('\0') { Err(bad()) } else { refuse_nul(v) })
        }
        _ => Ok(()),
    }
}

/// A query string with the API's error shape: a bad parameter is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, AppError> {
        let q = parts.uri.query().unwrap_or_default();
        if q.contains("%00") {
            return Err(AppError::bad_request("query parameters must not contain NUL characters"));
        }
        serde_urlencoded::from_str(q)
            .map(ApiQuery)
            .map_err(|e| AppError::bad_request(format!("invalid query parameter: {e}")))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request(format!("malformed JSON at line {} column {}: {e}", e.line(), e.column()))
    })?;
    refuse_nul(&value)?;
    serde_json::from_value(value)
        .map_err(|e| AppError::new(ErrorCode::ValidationFailed, format!("invalid request body: {e}")))
}

/// A body that may be left empty: empty (or whitespace) means the type's defaults.
pub fn optional_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

/// A keyset page: a full page means there may be more, and its last id is the next cursor.
pub fn page<T: serde::Serialize>(list: Vec<T>, limit: usize, id: impl Fn(&T) -> &str) -> axum::Json<serde_json::Value> {
    let next = if list.len() == limit { list.last().map(|x| id(x).to_string()) } else { None };
    axum::Json(serde_json::json!({ "data": list, "next_cursor": next }))
}

pub type ApiResult<T> = Result<T, AppError>;
