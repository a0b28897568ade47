//! The audit log: who did what, when, to which object, from where, with the changed fields. Written by every
//! mutation through the service ([`crate::server::service::Hub::audit`]); read newest first by `(at, id)`.

use super::sql::{Arg, Conditions};
use super::{new_id, now_ms, DbResult, Store};
pub use crate::model::AuditEntry;
use crate::model::AuditQuery;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

/// One entry to write; the id and time are the store's.
#[derive(Debug, Default)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub actor_label: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub action: &'a str,
    pub object_type: Option<&'a str>,
    pub target: Option<&'a str>,
    pub object_name: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

const AUDIT_COLS: &str =
    "id, at, actor, actor_label, tenant_id, action, object_type, target, object_name, ip, detail, \
                          before_data, after_data";

fn entry_from(r: &AnyRow) -> DbResult<AuditEntry> {
    let json = |col: &str| -> DbResult<Option<Value>> {
        Ok(r.try_get::<Option<String>, _>(col)?.and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        actor_label: r.try_get("actor_label")?,
        tenant_id: r.try_get("tenant_id")?,
        action: r.try_get("action")?,
        object_type: r.try_get("object_type")?,
        target: r.try_get("target")?,
        object_name: r.try_get("object_name")?,
        ip: r.try_get("ip")?,
        detail: r.try_get("detail")?,
        before: json("before_data")?,
        after: json("after_data")?,
    })
}

impl Store {
    pub async fn insert_audit_entry(&self, e: &NewAudit<'_>) -> DbResult<()> {
        sqlx::query(&format!(
            "INSERT INTO audit_log ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(new_id("aud"))
        .bind(now_ms())
        .bind(e.actor)
        .bind(e.actor_label)
        .bind(e.tenant_id)
        .bind(e.action)
        .bind(e.object_type)
        .bind(e.target)
        .bind(e.object_name)
        .bind(e.ip)
        .bind(e.detail)
        .bind(e.before.map(Value::to_string))
        .bind(e.after.map(Value::to_string))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Newest first; `tenant_id = None` lists every tenant's entries (admins).
    pub async fn list_audit(&self, tenant_id: Option<&str>, limit: i64) -> DbResult<Vec<AuditEntry>> {
        self.query_audit(tenant_id, &AuditQuery::default(), None, limit).await
    }

    /// One page, newest first by `(at, id)`, after `cursor`; only the filters given become conditions, so the
    /// `(tenant_id, at, id)` and `(at, id)` indexes serve the order.
    pub async fn query_audit(
        &self,
        tenant_id: Option<&str>,
        q: &AuditQuery,
        cursor: Option<(i64, &str)>,
        limit: i64,
    ) -> DbResult<Vec<AuditEntry>> {
        let owned = |s: &str| Arg::Owned(Some(s.to_string()));
        let given = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let mut c = Conditions::new(self.dialect);
        c.text("tenant_id", "=", tenant_id).int("at", ">=", q.since).int("at", "<=", q.until);
        if let Some(a) = given(&q.actor) {
            c.expr("(actor = ? OR actor_label = ?)", vec![owned(&a), owned(&a)]);
        }
        if let Some(a) = given(&q.action) {
            c.expr("(action = ? OR object_type = ?)", vec![owned(&a), owned(&a)]);
        }
        if let Some(o) = given(&q.object) {
            c.expr("(target = ? OR object_type = ?)", vec![owned(&o), owned(&o)]);
        }
        if let Some((at, id)) = cursor {
            c.expr("(at < ? OR (at = ? AND id < ?))", vec![Arg::Int(Some(at)), Arg::Int(Some(at)), owned(id)]);
        }
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_log {} ORDER BY at DESC, id DESC LIMIT {}",
            c.clause(),
            c.next_param()
        );
        let rows = c.bind(sqlx::query(&sql)).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(entry_from).collect()
    }
}
