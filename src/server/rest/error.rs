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

/// A query string with the API's error shape: a bad parameter is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, AppError> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(q)
            .map(ApiQuery)
            .map_err(|e| AppError::bad_request(format!("invalid query parameter: {e}")))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request(format!("malformed JSON at line {} column {}: {e}", e.line(), e.column()))
    })?;
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
