//! The audit trail: what every mutation writes (who with a readable label, the client's address, the object,
//! the changed fields with secrets redacted) and who may read it.
//!
//! The client's address reaches the service without a parameter on every method: the HTTP layer runs each
//! request inside [`with_client_ip`] (a task-local), and [`Hub::audit_entry`] reads it. Work that is not a request
//! (the worker, the CLI, background notices) has none and records none.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, AuditEntry, AuditPage, AuditQuery, Paged, REDACTED};
use crate::server::store::NewAudit;
use serde_json::{Map, Value};

tokio::task_local! {
    static CLIENT_IP: String;
}

/// Runs `f` (one HTTP request's handling) with the client's address known to the audit trail.
pub async fn with_client_ip<F: std::future::Future>(ip: String, f: F) -> F::Output {
    CLIENT_IP.scope(ip, f).await
}

/// The address of the request being handled, if this runs inside one.
pub fn client_ip() -> Option<String> {
    CLIENT_IP.try_with(Clone::clone).ok()
}

/// Field names whose values are credentials: never written to the audit trail, only that they changed.
fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["secret", "password", "hash", "token", "plaintext", "private"].iter().any(|s| n.contains(s))
        || ["key", "api_key", "authorization", "cookie", "credentials"].contains(&n.as_str())
}

/// `v` with every credential replaced by [`REDACTED`]: secret-named fields at any depth, and every value of a
/// `headers` map (custom headers carry receivers' tokens).
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let redacted = if is_secret_field(k) {
                        Value::String(REDACTED.into())
                    } else if k.eq_ignore_ascii_case("headers") {
                        redact_all_values(v)
                    } else {
                        redact(v)
                    };
                    (k.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

fn redact_all_values(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, _)| (k.clone(), Value::String(REDACTED.into()))).collect())
        }
        Value::Null => Value::Null,
        _ => Value::String(REDACTED.into()),
    }
}

/// The top-level fields that differ between two JSON objects, as `(before, after)` maps of those fields only,
/// redacted ([`redact`]): a changed secret shows as changed, never its value. `updated_at` is left out (it always
/// changes and says nothing the entry's own time does not).
pub fn diff(before: &Value, after: &Value) -> (Value, Value) {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let (mut was, mut now) = (Map::new(), Map::new());
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for k in keys.into_iter().filter(|k| k.as_str() != "updated_at") {
        let (old, new) = (b.get(k).unwrap_or(&Value::Null), a.get(k).unwrap_or(&Value::Null));
        if old != new {
            was.insert(k.clone(), old.clone());
            now.insert(k.clone(), new.clone());
        }
    }
    (redact(&Value::Object(was)), redact(&Value::Object(now)))
}

/// Where a page of the trail starts: after this `(at, id)`, or at the newest entry.
type Cursor = Option<(i64, String)>;

/// What one audit entry says beyond its actor, which [`Hub::audit_entry`] adds.
#[derive(Default)]
pub struct Audited<'a> {
    pub tenant: Option<&'a str>,
    pub action: &'a str,
    pub target: &'a str,
    /// The object's name (or URL) as it reads now.
    pub name: Option<&'a str>,
    pub detail: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Actor<'_> {
    /// Who, readably: the person's email, the key's name; None for the hub itself.
    pub fn label(&self) -> Option<&str> {
        match self {
            Actor::User(u) => Some(&u.email),
            Actor::Key(k) => Some(&k.name),
            Actor::System => None,
        }
    }
}

impl Hub {
    /// Writes one entry with the actor's id and label and the request's client address. `before`/`after` are
    /// redacted again here, so no caller can write a secret by forgetting to.
    pub async fn audit_entry(&self, actor: &Actor<'_>, e: Audited<'_>) -> AppResult<()> {
        let ip = client_ip();
        let (before, after) = (e.before.as_ref().map(redact), e.after.as_ref().map(redact));
        let entry = NewAudit {
            actor: actor.id(),
            actor_label: actor.label(),
            tenant_id: e.tenant,
            action: e.action,
            object_type: e.action.split_once('.').map(|(kind, _)| kind),
            target: Some(e.target),
            object_name: e.name.filter(|n| !n.is_empty()),
            ip: ip.as_deref(),
            detail: Some(e.detail).filter(|d| !d.is_empty()),
            before: before.as_ref(),
            after: after.as_ref(),
        };
        self.store.insert_audit_entry(&entry).await?;
        Ok(())
    }

    /// An update's entry: the fields that changed between the two versions, before and after (redacted).
    pub async fn audit_update<T: serde::Serialize>(
        &self,
        actor: &Actor<'_>,
        e: Audited<'_>,
        before: &T,
        after: &T,
    ) -> AppResult<()> {
        let as_json = |v: &T| serde_json::to_value(v).unwrap_or(Value::Null);
        let (was, now) = diff(&as_json(before), &as_json(after));
        self.audit_entry(actor, Audited { before: Some(was), after: Some(now), ..e }).await
    }

    /// A page of the audit trail, newest first. Admins (and admin-wide keys) read every tenant's entries or
    /// one's; tenant users and keys only their own tenant's; portal sessions none.
    pub async fn list_audit(&self, actor: &Actor<'_>, q: &AuditQuery) -> AppResult<AuditPage> {
        let (tenant, cursor) = self.audit_reader(actor, q)?;
        let limit = q.page_limit();
        let cursor = cursor.as_ref().map(|(at, id)| (*at, id.as_str()));
        let data = self.store.query_audit(tenant.as_deref(), q, cursor, i64::from(limit)).await?;
        let next_cursor = if data.len() == limit as usize { data.last().map(AuditEntry::cursor) } else { None };
        Ok(AuditPage { data, next_cursor })
    }

    /// The tenant an actor's reading is confined to, and the query's cursor, once the actor may read at all.
    fn audit_reader(&self, actor: &Actor<'_>, q: &AuditQuery) -> AppResult<(Option<String>, Cursor)> {
        actor.refuse_portal("the audit trail")?;
        let tenant = self.list_tenant(actor, q.tenant_id.as_deref())?;
        let cursor = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                crate::model::parse_audit_cursor(c)
                    .ok_or_else(|| AppError::field("cursor", "is not a cursor this list gave"))?,
            ),
        };
        Ok((tenant, cursor))
    }

    /// Every entry the query selects, newest first, read a page at a time as the stream is polled (the CSV
    /// export): nothing but the current page is held in memory.
    pub fn audit_stream(
        self: &std::sync::Arc<Self>,
        actor: &Actor<'_>,
        q: AuditQuery,
    ) -> AppResult<impl futures::Stream<Item = AppResult<Vec<AuditEntry>>> + Send + 'static> {
        const PAGE: i64 = 500;
        let (tenant, cursor) = self.audit_reader(actor, &q)?;
        let hub = self.clone();
        Ok(futures::stream::try_unfold(Some(cursor), move |state| {
            let (hub, q, tenant) = (hub.clone(), q.clone(), tenant.clone());
            async move {
                let Some(cursor) = state else { return Ok(None) };
                let c = cursor.as_ref().map(|(at, id)| (*at, id.as_str()));
                let page = hub.store.query_audit(tenant.as_deref(), &q, c, PAGE).await?;
                let next = match page.last() {
                    Some(last) if page.len() as i64 == PAGE => Some(Some((last.at, last.id.clone()))),
                    _ => None,
                };
                Ok(if page.is_empty() { None } else { Some((page, next)) })
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_name_changed_fields_and_never_secrets() {
        let before = json!({"name": "a", "url": "http://x", "secret": "whsec_1", "headers": {"X-Token": "t1"},
                            "updated_at": 1, "same": 5});
        let after = json!({"name": "b", "url": "http://x", "secret": "whsec_2", "headers": {"X-Token": "t2"},
                           "updated_at": 2, "same": 5, "new": true});
        let (was, now) = diff(&before, &after);
        assert_eq!(was, json!({"name": "a", "secret": REDACTED, "headers": {"X-Token": REDACTED}, "new": null}));
        assert_eq!(now, json!({"name": "b", "secret": REDACTED, "headers": {"X-Token": REDACTED}, "new": true}));
        let nested = redact(&json!({"auth": {"password_hash": "h", "user": "u"}, "list": [{"token": "t"}]}));
        assert_eq!(nested, json!({"auth": {"password_hash": REDACTED, "user": "u"}, "list": [{"token": REDACTED}]}));
    }
}
