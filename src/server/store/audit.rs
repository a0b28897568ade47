//! The audit log: who did what, when, to which tenant. Written by every admin mutation.

use super::{new_id, now_ms, DbResult, Store};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    /// `usr_…` for people, `key_…` for API keys, `system` for the hub itself.
    pub actor: String,
    pub tenant_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    pub async fn insert_audit(
        &self,
        actor: &str,
        tenant_id: Option<&str>,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, tenant_id, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id("aud"))
        .bind(now_ms())
        .bind(actor)
        .bind(tenant_id.map(str::to_string))
        .bind(action)
        .bind(target.map(str::to_string))
        .bind(detail.map(str::to_string))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Newest first; `tenant_id = None` lists every tenant's entries (admins).
    pub async fn list_audit(&self, tenant_id: Option<&str>, limit: i64) -> DbResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, tenant_id, action, target, detail FROM audit_log \
             WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(tenant_id.map(str::to_string))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    tenant_id: r.try_get("tenant_id")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
