//! The event browser: searching events (by id, idempotency key or a payload field) and resending one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most segments a payload path may have (`data.ticket.id` has three).
pub const PAYLOAD_PATH_MAX_DEPTH: usize = 8;
/// Longest payload path, in bytes.
pub const PAYLOAD_PATH_MAX_LEN: usize = 200;
/// Longest search text, in bytes (a payload value included).
pub const SEARCH_MAX_LEN: usize = 1_000;

/// Filters of the event browser; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSearchQuery {
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    /// Unix milliseconds, inclusive.
    #[serde(default)]
    pub since: Option<i64>,
    /// Unix milliseconds, inclusive.
    #[serde(default)]
    pub until: Option<i64>,
    /// An event id, an idempotency key (kept 24 hours), or `path = json-literal` for a payload field
    /// (`data.ticket.id = "T-1"`); see [`Search::parse`].
    #[serde(default)]
    pub search: Option<String>,
    /// The last id of the previous page (newest first).
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

impl super::Paged for EventSearchQuery {
    const DEFAULT_LIMIT: u32 = 50;
    fn requested_limit(&self) -> Option<u32> {
        self.limit
    }
}

/// What a search text asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    /// An event id or an idempotency key (both are tried).
    Key(String),
    /// A field of the envelope equal to a JSON value.
    Payload(PayloadMatch),
}

/// `path = json-literal`: the envelope's field at `path` equals `value` (compared as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadMatch {
    /// Object keys; a segment of digits only is an array index.
    pub path: Vec<String>,
    /// A string, number, boolean or null.
    pub value: Value,
}

impl Search {
    /// Reads a search text: `path = literal` where the path is dot-separated segments of letters, digits, `_`
    /// and `-` (at most [`PAYLOAD_PATH_MAX_DEPTH`] of them, [`PAYLOAD_PATH_MAX_LEN`] bytes) and the literal is a
    /// JSON string, number, boolean or null; anything without ` = ` is an event id or idempotency key. The
    /// narrow path alphabet is what lets both engines take the path as one bound parameter.
    pub fn parse(text: &str) -> Result<Option<Search>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > SEARCH_MAX_LEN {
            return Err(format!("a search is at most {SEARCH_MAX_LEN} characters"));
        }
        let Some((path, literal)) = text.split_once('=') else { return Ok(Some(Search::Key(text.to_string()))) };
        let (path, literal) = (path.trim(), literal.trim());
        if path.len() > PAYLOAD_PATH_MAX_LEN {
            return Err(format!("a payload path is at most {PAYLOAD_PATH_MAX_LEN} characters"));
        }
        let segments: Vec<String> = path.split('.').map(str::to_string).collect();
        if segments.len() > PAYLOAD_PATH_MAX_DEPTH {
            return Err(format!("a payload path has at most {PAYLOAD_PATH_MAX_DEPTH} segments"));
        }
        let ok_segment =
            |s: &String| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !segments.iter().all(ok_segment) {
            return Err("a payload path is dot-separated names of letters, digits, _ and - (data.ticket.id)".into());
        }
        let value: Value = serde_json::from_str(literal)
            .map_err(|_| "the value must be JSON: a \"quoted string\", a number, true, false or null".to_string())?;
        if value.is_object() || value.is_array() {
            return Err("the value must be a string, a number, true, false or null".into());
        }
        Ok(Some(Search::Payload(PayloadMatch { path: segments, value })))
    }
}

/// `POST /api/v1/events/{id}/resend`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    /// One endpoint of the event's tenant, subscribed or not; without it, every endpoint subscribed now.
    #[serde(default)]
    pub endpoint_id: Option<String>,
}

/// The deliveries a resend queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Resent {
    pub event_id: String,
    /// The new deliveries' ids, one per endpoint.
    pub deliveries: Vec<String>,
    /// Their endpoints, in the same order.
    pub endpoints: Vec<String>,
}

/// The formats the delivery export writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Jsonl,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn searches_read_as_keys_or_payload_fields() {
        assert_eq!(Search::parse("  "), Ok(None));
        assert_eq!(Search::parse("evt_01J"), Ok(Some(Search::Key("evt_01J".into()))));
        let p = |path: &[&str], value| {
            Ok(Some(Search::Payload(PayloadMatch { path: path.iter().map(|s| s.to_string()).collect(), value })))
        };
        assert_eq!(Search::parse(r#"data.ticket.id = "T-1""#), p(&["data", "ticket", "id"], json!("T-1")));
        assert_eq!(Search::parse("data.n=5"), p(&["data", "n"], json!(5)));
        assert_eq!(Search::parse("data.items.0.ok = true"), p(&["data", "items", "0", "ok"], json!(true)));
        for bad in [
            r#"data.ticket.id = T-1"#,
            r#"data."x" = 1"#,
            r#"data.x' OR 1=1 -- = 1"#,
            "data..x = 1",
            "= 1",
            "data.x = {}",
            "a.b.c.d.e.f.g.h.i = 1",
        ] {
            assert!(Search::parse(bad).is_err(), "{bad}");
        }
        assert!(Search::parse(&format!("{} = 1", "a".repeat(PAYLOAD_PATH_MAX_LEN + 1))).is_err());
    }
}
