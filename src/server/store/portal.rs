//! Tenant portal links and the sessions they open. Secrets are stored as SHA-256 hashes only.

use super::{DbResult, Store};
use crate::model::PortalLink;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Most links a tenant's list shows (newest first); links expire within 30 days, so this is rarely reached.
const LIST_LIMIT: i64 = 200;

const COLS: &str = "p.id, p.tenant_id, p.label, p.created_by, u.email AS created_by_email, p.created_at, \
                    p.expires_at, p.revoked_at, p.last_used_at";

/// `created_by` is a user id or `system`; the email is read beside it so a list says who made each link.
const FROM: &str = "portal_links p LEFT JOIN users u ON u.id = p.created_by";

fn link_from(r: &AnyRow) -> DbResult<PortalLink> {
    Ok(PortalLink {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        label: r.try_get("label")?,
        created_by: r.try_get("created_by")?,
        created_by_email: r.try_get("created_by_email")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

impl Store {
    pub async fn insert_portal_link(&self, l: &PortalLink, secret_hash: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO portal_links (id, tenant_id, secret_hash, label, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&l.id)
        .bind(&l.tenant_id)
        .bind(secret_hash)
        .bind(l.label.clone())
        .bind(&l.created_by)
        .bind(l.created_at)
        .bind(l.expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A link and its secret's hash, by id (one primary-key read).
    pub async fn get_portal_link(&self, id: &str) -> DbResult<Option<(PortalLink, String)>> {
        let row = sqlx::query(&format!("SELECT {COLS}, p.secret_hash FROM {FROM} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((link_from(&r)?, r.try_get("secret_hash")?))).transpose()
    }

    /// How many of a tenant's links still open (neither revoked nor expired at `now`).
    pub async fn count_live_portal_links(&self, tenant_id: &str, now: i64) -> DbResult<i64> {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM portal_links WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(tenant_id)
        .bind(now)
        .fetch_one(&self.read)
        .await?
        .try_get("n")
    }

    /// A tenant's links, newest first.
    pub async fn list_portal_links(&self, tenant_id: &str) -> DbResult<Vec<PortalLink>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE p.tenant_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
        ))
        .bind(tenant_id)
        .bind(LIST_LIMIT)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(link_from).collect()
    }

    /// Revokes a link of `tenant_id` and ends the sessions it opened, in one transaction. False when the tenant
    /// has no such unrevoked link.
    pub async fn revoke_portal_link(&self, id: &str, tenant_id: &str, at: i64) -> DbResult<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE portal_links SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
        // The session lookup refuses them anyway (it reads the link); deleting them frees the rows at once.
        sqlx::query("DELETE FROM sessions WHERE portal_link_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn touch_portal_link(&self, id: &str, at: i64) -> DbResult<()> {
        sqlx::query("UPDATE portal_links SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A session opened from portal link `link_id`; `session_user` reads it as a portal session.
    pub async fn insert_portal_session(
        &self,
        id_hash: &str,
        user_id: &str,
        link_id: &str,
        created_at: i64,
        expires_at: i64,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, portal_link_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(created_at)
        .bind(expires_at)
        .bind(link_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
