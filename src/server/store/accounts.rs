//! Tenants, users, sessions and the one-time links (invite, password reset) that set a password.

use super::{new_id, now_ms, DbResult, Store};
use crate::model::{Person, Role, SessionInfo, Tenant, TenantSummary, User};
use crate::server::auth::totp::StoredTotp;
use sqlx::any::AnyRow;
use sqlx::Row;

fn tenant_from(row: &AnyRow) -> DbResult<Tenant> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        suspended_at: row.try_get("suspended_at")?,
        require_two_factor: row.try_get::<i64, _>("require_two_factor")? != 0,
    })
}

fn user_from(row: &AnyRow) -> DbResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        // A role this build does not know reads as the least it could be, never as more.
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        tenant_id: row.try_get("tenant_id")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A person with their unexpired sessions counted: `$1` now, `$2` the portal marker, then the caller's filter.
const PERSON_SELECT: &str = "SELECT u.id, u.email, u.role, u.tenant_id, u.created_at, u.deactivated_at, \
     u.password_hash, (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $1) AS sessions \
     FROM users u WHERE u.password_hash <> $2";

fn person_from(r: &AnyRow) -> DbResult<Person> {
    Ok(Person {
        user: user_from(r)?,
        deactivated_at: r.try_get("deactivated_at")?,
        invited: r.try_get::<String, _>("password_hash")? == INVITED_PASSWORD,
        sessions: r.try_get("sessions")?,
    })
}

const TENANT_COLS: &str = "id, name, created_at, suspended_at, require_two_factor";
const USER_COLS: &str = "id, email, role, tenant_id, created_at";

/// The password hash of a user who was invited and has not chosen a password yet: no argon2 hash, so no
/// password signs in with it.
pub const INVITED_PASSWORD: &str = "!invited";
/// Portal sessions belong to a per-tenant user with this password marker (`service/portal.rs`); it is nobody a
/// person manages, so Users lists leave it out.
const PORTAL_PASSWORD: &str = "!portal";

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invite,
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// A stored one-time link, with its secret's hash for the constant-time check.
#[derive(Debug, Clone)]
pub struct StoredUserLink {
    pub id: String,
    pub secret_hash: String,
    pub user: User,
    pub purpose: LinkPurpose,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub deactivated: bool,
}

impl Store {
    pub async fn insert_tenant(&self, name: &str) -> DbResult<Tenant> {
        let t = Tenant {
            id: new_id("ten"),
            name: name.to_string(),
            created_at: now_ms(),
            suspended_at: None,
            require_two_factor: false,
        };
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
            sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY name, id")).fetch_all(&self.read).await?;
        rows.iter().map(tenant_from).collect()
    }

    pub async fn get_tenant(&self, id: &str) -> DbResult<Option<Tenant>> {
        let row = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    /// Renames a tenant; false when it does not exist.
    pub async fn rename_tenant(&self, id: &str, name: &str) -> DbResult<bool> {
        let r =
            sqlx::query("UPDATE tenants SET name = $2 WHERE id = $1").bind(id).bind(name).execute(&self.write).await?;
        Ok(r.rows_affected() == 1)
    }

    /// Suspends (`Some(at)`) or resumes (`None`) a tenant; true only when its state changed, so a repeated click
    /// is neither audited nor acted on twice.
    pub async fn set_tenant_suspended(&self, id: &str, at: Option<i64>) -> DbResult<bool> {
        let r = match at {
            Some(at) => sqlx::query("UPDATE tenants SET suspended_at = $2 WHERE id = $1 AND suspended_at IS NULL")
                .bind(id)
                .bind(at),
            None => sqlx::query("UPDATE tenants SET suspended_at = NULL WHERE id = $1 AND suspended_at IS NOT NULL")
                .bind(id),
        }
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Switches a tenant's two-factor requirement; true when it changed. Switching it on ends the sessions of
    /// the tenant's people who have no second factor, in the same transaction: they sign in again and enrol.
    pub async fn set_tenant_require_two_factor(&self, id: &str, on: bool) -> DbResult<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query("UPDATE tenants SET require_two_factor = $2 WHERE id = $1 AND require_two_factor <> $3")
            .bind(id)
            .bind(i64::from(on))
            .bind(i64::from(on))
            .execute(&mut *tx)
            .await?;
        if on && r.rows_affected() == 1 {
            sqlx::query(
                "DELETE FROM sessions WHERE portal_link_id IS NULL AND user_id IN \
                 (SELECT id FROM users WHERE tenant_id = $1 AND totp_enabled_at IS NULL)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    /// The ids of suspended tenants (few, if any: read whole into the service's cache).
    pub async fn suspended_tenants(&self) -> DbResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM tenants WHERE suspended_at IS NOT NULL").fetch_all(&self.read).await?;
        rows.iter().map(|r| r.try_get("id")).collect()
    }

    /// Every tenant with its live endpoints, unrevoked keys and the deliveries finished since `since` (from the
    /// hourly rollups, so the page costs a few hundred rows however long the log is).
    pub async fn tenant_summaries(&self, since: i64) -> DbResult<Vec<TenantSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {TENANT_COLS}, \
             (SELECT COUNT(*) FROM webhooks w WHERE w.tenant_id = t.id AND w.deleted_at IS NULL) AS endpoints, \
             (SELECT COUNT(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS NULL) AS keys, \
             CAST((SELECT COALESCE(SUM(r.n), 0) FROM delivery_rollups r WHERE r.tenant_id = t.id \
             AND r.hour >= $1) AS BIGINT) AS deliveries, \
             CAST((SELECT COALESCE(SUM(r.n), 0) FROM delivery_rollups r WHERE r.tenant_id = t.id \
             AND r.hour >= $2 AND r.status = 'success') AS BIGINT) AS succeeded \
             FROM tenants t ORDER BY t.name, t.id"
        ))
        .bind(since)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantSummary {
                    tenant: tenant_from(r)?,
                    endpoints: r.try_get("endpoints")?,
                    keys: r.try_get("keys")?,
                    deliveries_24h: r.try_get("deliveries")?,
                    succeeded_24h: r.try_get("succeeded")?,
                })
            })
            .collect()
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
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND deactivated_at IS NULL")
            .fetch_one(&self.read)
            .await?
            .try_get("n")
    }

    /// The user, their password hash and whether they are deactivated, for sign-in.
    pub async fn user_with_hash_by_email(&self, email: &str) -> DbResult<Option<(User, String)>> {
        Ok(self.user_for_sign_in(email).await?.map(|(u, h, _)| (u, h)))
    }

    /// The user, their password hash and whether they are deactivated.
    pub async fn user_for_sign_in(&self, email: &str) -> DbResult<Option<(User, String, bool)>> {
        let row =
            sqlx::query(&format!("SELECT {USER_COLS}, password_hash, deactivated_at FROM users WHERE email = $1"))
                .bind(email)
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| {
            let deactivated = r.try_get::<Option<i64>, _>("deactivated_at")?.is_some();
            Ok((user_from(&r)?, r.try_get("password_hash")?, deactivated))
        })
        .transpose()
    }

    /// A user and their password hash by id.
    pub async fn user_with_hash(&self, id: &str) -> DbResult<Option<(User, String)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS}, password_hash FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((user_from(&r)?, r.try_get("password_hash")?))).transpose()
    }

    /// The people of one tenant, or of every tenant and the admins (`None`), by email; portal users left out.
    pub async fn list_people(&self, tenant_id: Option<&str>) -> DbResult<Vec<Person>> {
        let which = if tenant_id.is_some() { "u.tenant_id = $3" } else { "$3 IS NULL" };
        let rows = sqlx::query(&format!("{PERSON_SELECT} AND {which} ORDER BY u.email"))
            .bind(now_ms())
            .bind(PORTAL_PASSWORD)
            .bind(tenant_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(person_from).collect()
    }

    /// One person (portal users are nobody's to manage: None).
    pub async fn get_person(&self, id: &str) -> DbResult<Option<Person>> {
        let row = sqlx::query(&format!("{PERSON_SELECT} AND u.id = $3"))
            .bind(now_ms())
            .bind(PORTAL_PASSWORD)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(person_from).transpose()
    }

    /// Changes a user's role (the tenant stays: the service allows only tenant ⇄ viewer).
    pub async fn set_user_role(&self, id: &str, role: Role) -> DbResult<bool> {
        let r = sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role.as_str())
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deactivates (`Some(at)`) or reactivates (`None`) a user. Deactivating ends every session of theirs and
    /// voids their unused links in the same transaction, so nothing they held still works afterwards. True when
    /// the state changed.
    pub async fn set_user_deactivated(&self, id: &str, at: Option<i64>) -> DbResult<bool> {
        let mut tx = self.write.begin().await?;
        let changed = match at {
            Some(at) => {
                let r = sqlx::query("UPDATE users SET deactivated_at = $2 WHERE id = $1 AND deactivated_at IS NULL")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                sqlx::query("UPDATE user_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                r.rows_affected()
            }
            None => sqlx::query("UPDATE users SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
        };
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Sets a password hash and ends the user's sessions, all but `keep` (the session that changed it).
    pub async fn set_password(&self, user_id: &str, hash: &str, keep: Option<&str>) -> DbResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_session(
        &self,
        id_hash: &str,
        user_id: &str,
        expires_at: i64,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> DbResult<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(now)
        .bind(ip)
        .bind(user_agent)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The user behind an unexpired session, and when the session was last seen. A session opened from a portal
    /// link is a [`Role::Portal`] user, and only while its link is neither revoked nor expired; a deactivated
    /// user's session does not count. Read here, so every request sees a revocation.
    pub async fn session_user(&self, id_hash: &str) -> DbResult<Option<(User, Option<i64>)>> {
        let now = now_ms();
        let row = sqlx::query(
            "SELECT u.id, u.email, u.role, u.tenant_id, u.created_at, s.portal_link_id, s.last_seen_at FROM sessions s \
             JOIN users u ON u.id = s.user_id LEFT JOIN portal_links p ON p.id = s.portal_link_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL \
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
        Ok(Some((user, row.try_get("last_seen_at")?)))
    }

    /// Notes that a session was used now.
    pub async fn touch_session(&self, id_hash: &str, at: i64) -> DbResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A user's unexpired sessions, newest first; `current` marks the one asking.
    pub async fn list_sessions(&self, user_id: &str, current: &str) -> DbResult<Vec<SessionInfo>> {
        let rows = sqlx::query(
            "SELECT id_hash, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC",
        )
        .bind(user_id)
        .bind(now_ms())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionInfo {
                    created_at: r.try_get("created_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                    expires_at: r.try_get("expires_at")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                    current: r.try_get::<String, _>("id_hash")? == current,
                })
            })
            .collect()
    }

    /// Ends a user's sessions, all but `keep`; returns how many ended.
    pub async fn delete_user_sessions(&self, user_id: &str, keep: Option<&str>) -> DbResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn delete_session(&self, id_hash: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.write).await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> DbResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_ms()).execute(&self.write).await?;
        Ok(r.rows_affected())
    }

    /// Stores a one-time link for `user_id`; earlier unused links of the same purpose stop working, so only the
    /// newest link a person was given opens.
    pub async fn insert_user_link(
        &self,
        user_id: &str,
        purpose: LinkPurpose,
        secret_hash: &str,
        created_by: &str,
        expires_at: i64,
    ) -> DbResult<String> {
        let id = new_id("ulk");
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE user_links SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO user_links (id, secret_hash, user_id, purpose, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(secret_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn get_user_link(&self, id: &str) -> DbResult<Option<StoredUserLink>> {
        let row = sqlx::query(
            "SELECT l.id AS link_id, l.secret_hash, l.purpose, l.expires_at, l.used_at, u.id, u.email, u.role, \
             u.tenant_id, u.created_at, u.deactivated_at FROM user_links l JOIN users u ON u.id = l.user_id \
             WHERE l.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            let purpose: String = r.try_get("purpose")?;
            Ok(StoredUserLink {
                id: r.try_get("link_id")?,
                secret_hash: r.try_get("secret_hash")?,
                user: user_from(&r)?,
                purpose: if purpose == "invite" { LinkPurpose::Invite } else { LinkPurpose::Reset },
                expires_at: r.try_get("expires_at")?,
                used_at: r.try_get("used_at")?,
                deactivated: r.try_get::<Option<i64>, _>("deactivated_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Uses a link: marks it used, sets the password and ends the user's sessions, in one transaction. False when
    /// the link was used (or had expired) meanwhile: a link opens once even when two requests race.
    pub async fn use_user_link(&self, id: &str, user_id: &str, hash: &str, at: i64) -> DbResult<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query("UPDATE user_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $3")
            .bind(id)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1 AND deactivated_at IS NULL")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A user's second factor and whether their tenant requires one.
    pub async fn user_totp(&self, user_id: &str) -> DbResult<StoredTotp> {
        let row = sqlx::query(
            "SELECT u.totp_secret, u.totp_enabled_at, u.totp_last_step, COALESCE(t.require_two_factor, 0) AS req, \
             (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS left_codes \
             FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        let Some(r) = row else { return Ok(StoredTotp::default()) };
        Ok(StoredTotp {
            sealed_secret: r.try_get("totp_secret")?,
            enabled_at: r.try_get("totp_enabled_at")?,
            last_step: r.try_get("totp_last_step")?,
            required: r.try_get::<i64, _>("req")? != 0,
            recovery_codes_left: r.try_get("left_codes")?,
        })
    }

    /// Stores a new pending secret, replacing an earlier pending one; false when a confirmed one is in place
    /// (it is switched off first, with proof).
    pub async fn begin_totp(&self, user_id: &str, sealed_secret: &str) -> DbResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_last_step = NULL WHERE id = $1 AND totp_enabled_at IS NULL",
        )
        .bind(user_id)
        .bind(sealed_secret)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Confirms the pending secret (`sealed_secret`, the one the code was checked against) and replaces the
    /// recovery codes; false when it changed meanwhile or was already confirmed.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        sealed_secret: &str,
        step: i64,
        code_hashes: &[String],
    ) -> DbResult<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE users SET totp_enabled_at = $3, totp_last_step = $4 \
             WHERE id = $1 AND totp_secret = $2 AND totp_enabled_at IS NULL",
        )
        .bind(user_id)
        .bind(sealed_secret)
        .bind(now_ms())
        .bind(step)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        replace_recovery_codes(&mut tx, user_id, code_hashes).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Notes that a code of `step` was accepted; false when a code of this step or a later one already was
    /// (a replayed code), decided in one statement so two requests with the same code cannot both pass.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> DbResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_enabled_at IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(user_id)
        .bind(step)
        .bind(step)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Uses a recovery code once; false when it is not one of the user's unused codes.
    pub async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> DbResult<bool> {
        let r = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(code_hash)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces a user's recovery codes with new ones.
    pub async fn set_recovery_codes(&self, user_id: &str, code_hashes: &[String]) -> DbResult<()> {
        let mut tx = self.write.begin().await?;
        replace_recovery_codes(&mut tx, user_id, code_hashes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switches a user's second factor off: secret, confirmation, last step and recovery codes go.
    pub async fn clear_totp(&self, user_id: &str) -> DbResult<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
             WHERE id = $1 AND totp_secret IS NOT NULL",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }
}

async fn replace_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    code_hashes: &[String],
) -> DbResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
