//! Tenants, users and sessions.

use super::{new_id, now_ms, DbResult, Store};
use crate::model::{Role, Tenant, User};
use sqlx::any::AnyRow;
use sqlx::Row;

fn tenant_from(row: &AnyRow) -> DbResult<Tenant> {
    Ok(Tenant { id: row.try_get("id")?, name: row.try_get("name")?, created_at: row.try_get("created_at")? })
}

fn user_from(row: &AnyRow) -> DbResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).unwrap_or(Role::Tenant),
        tenant_id: row.try_get("tenant_id")?,
        created_at: row.try_get("created_at")?,
    })
}

const USER_COLS: &str = "id, email, role, tenant_id, created_at";

impl Store {
    pub async fn insert_tenant(&self, name: &str) -> DbResult<Tenant> {
        let t = Tenant { id: new_id("ten"), name: name.to_string(), created_at: now_ms() };
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(t.created_at)
            .execute(&self.write)
            .await?;
        Ok(t)
    }

    pub async fn list_tenants(&self) -> DbResult<Vec<Tenant>> {
        let rows =
            sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY name, id").fetch_all(&self.read).await?;
        rows.iter().map(tenant_from).collect()
    }

    pub async fn get_tenant(&self, id: &str) -> DbResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    pub async fn insert_user(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
        tenant_id: Option<&str>,
    ) -> DbResult<User> {
        let u = User {
            id: new_id("usr"),
            email: email.to_string(),
            role,
            tenant_id: tenant_id.map(str::to_string),
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, tenant_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(u.tenant_id.clone())
        .bind(u.created_at)
        .execute(&self.write)
        .await?;
        Ok(u)
    }

    pub async fn count_admins(&self) -> DbResult<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").fetch_one(&self.read).await?.try_get("n")
    }

    /// The user and their password hash, for sign-in.
    pub async fn user_with_hash_by_email(&self, email: &str) -> DbResult<Option<(User, String)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS}, password_hash FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((user_from(&r)?, r.try_get("password_hash")?))).transpose()
    }

    pub async fn insert_session(&self, id_hash: &str, user_id: &str, expires_at: i64) -> DbResult<()> {
        sqlx::query("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(id_hash)
            .bind(user_id)
            .bind(now_ms())
            .bind(expires_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The user behind an unexpired session. A session opened from a portal link is a [`Role::Portal`] user,
    /// and only while its link is neither revoked nor expired: read here, so every request sees a revocation.
    pub async fn session_user(&self, id_hash: &str) -> DbResult<Option<User>> {
        let now = now_ms();
        let row = sqlx::query(
            "SELECT u.id, u.email, u.role, u.tenant_id, u.created_at, s.portal_link_id FROM sessions s \
             JOIN users u ON u.id = s.user_id LEFT JOIN portal_links p ON p.id = s.portal_link_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 \
             AND (s.portal_link_id IS NULL OR (p.revoked_at IS NULL AND p.expires_at > $3))",
        )
        .bind(id_hash)
        .bind(now)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut user = user_from(&row)?;
        if row.try_get::<Option<String>, _>("portal_link_id")?.is_some() {
            user.role = Role::Portal;
        }
        Ok(Some(user))
    }

    pub async fn delete_session(&self, id_hash: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.write).await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> DbResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_ms()).execute(&self.write).await?;
        Ok(r.rows_affected())
    }
}
