//! The audit trail as the Audit tab, `GET /api/v1/audit` and the CSV export read it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One change: who (id and a readable label), what, to which object, when, from where, and the changed fields'
/// values before and after (secrets redacted before they are written, see `service::audit::diff`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// `usr_…` for people, `key_…` for API keys, `system` for the hub itself.
    pub actor: String,
    /// The person's email or the key's name when the entry was written (ids outlive renames; labels are read).
    pub actor_label: Option<String>,
    pub tenant_id: Option<String>,
    pub action: String,
    /// What kind of object (`webhook`, `api_key`, `event`, …).
    pub object_type: Option<String>,
    /// The object's id.
    pub target: Option<String>,
    /// The object's name or URL when the entry was written.
    pub object_name: Option<String>,
    /// The client's address (HTTP requests; None for the worker and the CLI).
    pub ip: Option<String>,
    pub detail: Option<String>,
    /// The changed fields' earlier values (`{field: value}`), secrets shown as [`REDACTED`].
    pub before: Option<Value>,
    /// The changed fields' new values.
    pub after: Option<Value>,
}

/// What a secret's value is replaced with in the audit trail.
pub const REDACTED: &str = "[redacted]";

impl AuditEntry {
    /// The keyset cursor after this entry: the log is read newest first by (at, id).
    pub fn cursor(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }
}

/// `(at, id)` of a cursor made by [`AuditEntry::cursor`]; None when it is not one.
pub fn parse_audit_cursor(c: &str) -> Option<(i64, String)> {
    let (at, id) = c.split_once('.')?;
    let plausible = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    plausible.then_some((at.parse().ok()?, id.to_string()))
}

/// Filters of the audit trail; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// An actor's id (`usr_…`, `key_…`, `system`) or label (an email, a key's name).
    #[serde(default)]
    pub actor: Option<String>,
    /// An action (`webhook.updated`), or its object kind alone (`webhook`) for all of that kind's actions.
    #[serde(default)]
    pub action: Option<String>,
    /// An object's id, or an object kind (`webhook`, `api_key`, …).
    #[serde(default)]
    pub object: Option<String>,
    /// Unix milliseconds, inclusive.
    #[serde(default)]
    pub since: Option<i64>,
    /// Unix milliseconds, inclusive.
    #[serde(default)]
    pub until: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    /// Admins and admin-wide keys: one tenant's entries (none: every tenant's).
    #[serde(default)]
    pub tenant_id: Option<String>,
}

impl super::Paged for AuditQuery {
    const DEFAULT_LIMIT: u32 = 50;
    fn requested_limit(&self) -> Option<u32> {
        self.limit
    }
}

/// One page of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub data: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let e = AuditEntry {
            id: "aud_01J".into(),
            at: 17,
            actor: "system".into(),
            actor_label: None,
            tenant_id: None,
            action: "x".into(),
            object_type: None,
            target: None,
            object_name: None,
            ip: None,
            detail: None,
            before: None,
            after: None,
        };
        assert_eq!(parse_audit_cursor(&e.cursor()), Some((17, "aud_01J".into())));
        for bad in ["", "17", "x.aud_1", "17.", "17.a'b", "17.a b"] {
            assert_eq!(parse_audit_cursor(bad), None, "{bad}");
        }
    }
}
