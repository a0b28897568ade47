//! API key records. Secrets are stored as SHA-256 hashes only.

use super::{now_ms, DbResult, Store};
use crate::model::{ApiKey, KeyListQuery, Scope};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A key's usage since the last flush (see `service/key_usage.rs`).
#[derive(Debug, Clone, Default)]
pub struct UsageDelta {
    /// The key's record id.
    pub key: String,
    /// Verified requests, added to the key's counter.
    pub used: i64,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// (UTC day number, requests, rate_limited, ip_refused).
    pub days: Vec<(i64, i64, i64, i64)>,
}

/// A key with the hashes needed to verify a presented secret (never leaves the server).
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub key: ApiKey,
    pub key_id: String,
    pub secret_hash: String,
    pub previous_hash: Option<String>,
}

const COLS: &str =
    "id, key_id, tenant_id, name, description, prefix, secret_hash, previous_hash, previous_expires_at, \
     scopes, allowed_ips, rate_per_minute, rate_per_hour, expires_at, is_active, revoked_at, created_by, created_at, \
     updated_at, last_used_at, usage_count";

fn stored_from(r: &AnyRow) -> DbResult<StoredKey> {
    let scopes: String = r.try_get("scopes")?;
    let ips: String = r.try_get("allowed_ips")?;
    let scopes: Vec<String> = serde_json::from_str(&scopes).unwrap_or_default();
    Ok(StoredKey {
        key_id: r.try_get("key_id")?,
        secret_hash: r.try_get("secret_hash")?,
        previous_hash: r.try_get("previous_hash")?,
        key: ApiKey {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            prefix: r.try_get("prefix")?,
            scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            allowed_ips: serde_json::from_str(&ips).unwrap_or_default(),
            rate_limit_per_minute: r.try_get::<i64, _>("rate_per_minute")?.try_into().unwrap_or(u32::MAX),
            rate_limit_per_hour: r.try_get::<i64, _>("rate_per_hour")?.try_into().unwrap_or(u32::MAX),
            expires_at: r.try_get("expires_at")?,
            is_active: r.try_get::<i64, _>("is_active")? != 0,
            revoked_at: r.try_get("revoked_at")?,
            previous_secret_expires_at: r.try_get("previous_expires_at")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            last_used_at: r.try_get("last_used_at")?,
            usage_count: r.try_get("usage_count")?,
        },
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// The columns a key's owner edits, in the order [`bind_editable`] binds them.
const EDITABLE: [&str; 8] =
    ["name", "description", "scopes", "allowed_ips", "rate_per_minute", "rate_per_hour", "expires_at", "is_active"];

fn bind_editable<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    k: &'q ApiKey,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&k.name)
        .bind(&k.description)
        .bind(json(&k.scopes))
        .bind(json(&k.allowed_ips))
        .bind(i64::from(k.rate_limit_per_minute))
        .bind(i64::from(k.rate_limit_per_hour))
        .bind(k.expires_at)
        .bind(i64::from(k.is_active))
}

impl Store {
    pub async fn insert_api_key(&self, k: &ApiKey, key_id: &str, secret_hash: &str) -> DbResult<()> {
        let sql = format!(
            "INSERT INTO api_keys ({}, id, key_id, tenant_id, prefix, secret_hash, created_by, created_at, updated_at) \
             VALUES ({})",
            EDITABLE.join(", "),
            (1..=EDITABLE.len() + 8).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        );
        bind_editable(sqlx::query(&sql), k)
            .bind(&k.id)
            .bind(key_id)
            .bind(k.tenant_id.as_deref())
            .bind(&k.prefix)
            .bind(secret_hash)
            .bind(k.created_by.as_deref())
            .bind(k.created_at)
            .bind(k.updated_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The per-request lookup: one indexed read by the public id embedded in the key.
    pub async fn api_key_by_key_id(&self, key_id: &str) -> DbResult<Option<StoredKey>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM api_keys WHERE key_id = $1"))
            .bind(key_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(stored_from).transpose()
    }

    /// A key by record id, only within `tenant` when given (None: any tenant, for admins).
    pub async fn get_api_key(&self, id: &str, tenant: Option<&str>) -> DbResult<Option<ApiKey>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM api_keys WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)"))
            .bind(id)
            .bind(tenant.map(str::to_string))
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(stored_from).transpose()?.map(|s| s.key))
    }

    /// Newest first. `tenant = None` lists every key (admins); status is filtered by the caller.
    pub async fn list_api_keys(&self, tenant: Option<&str>, q: &KeyListQuery) -> DbResult<Vec<ApiKey>> {
        let search =
            q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| format!("%{}%", s.to_lowercase()));
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM api_keys WHERE ($1 IS NULL OR tenant_id = $1) \
             AND ($2 IS NULL OR LOWER(name) LIKE $2 OR LOWER(prefix) LIKE $2 OR LOWER(description) LIKE $2) \
             ORDER BY created_at DESC, id DESC LIMIT 500"
        ))
        .bind(tenant.map(str::to_string))
        .bind(search)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| stored_from(r).map(|s| s.key)).collect()
    }

    /// Saves the editable fields of a key.
    pub async fn update_api_key(&self, k: &ApiKey) -> DbResult<()> {
        let set: Vec<String> = EDITABLE.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        let n = EDITABLE.len();
        let sql = format!("UPDATE api_keys SET {}, updated_at = ${} WHERE id = ${}", set.join(", "), n + 1, n + 2);
        bind_editable(sqlx::query(&sql), k).bind(k.updated_at).bind(&k.id).execute(&self.write).await?;
        Ok(())
    }

    /// New secret; the current one becomes the previous, accepted until `previous_expires_at`.
    pub async fn rotate_api_key_secret(&self, id: &str, new_hash: &str, previous_expires_at: i64) -> DbResult<()> {
        sqlx::query(
            "UPDATE api_keys SET previous_hash = secret_hash, previous_expires_at = $3, secret_hash = $2, \
             updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(new_hash)
        .bind(previous_expires_at)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn revoke_api_key(&self, id: &str) -> DbResult<()> {
        let now = now_ms();
        sqlx::query("UPDATE api_keys SET revoked_at = $2, updated_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn delete_api_key(&self, id: &str) -> DbResult<bool> {
        let r = sqlx::query("DELETE FROM api_keys WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(r.rows_affected() > 0)
    }

    /// Applies batched usage counters in one transaction: each key's counter, last use and address, and its
    /// daily rollups. The rollup row takes its tenant from the key, so a key deleted meanwhile adds nothing.
    pub async fn add_api_key_usage(&self, usage: &[UsageDelta]) -> DbResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for u in usage {
            if let Some(last_used) = u.last_used_at {
                sqlx::query(
                    "UPDATE api_keys SET usage_count = usage_count + $2, \
                     last_used_ip = CASE WHEN last_used_at IS NULL OR last_used_at <= $3 THEN $4 ELSE last_used_ip END, \
                     last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 ELSE last_used_at END \
                     WHERE id = $1",
                )
                .bind(&u.key)
                .bind(u.used)
                .bind(last_used)
                .bind(u.last_used_ip.as_deref())
                .execute(&mut *tx)
                .await?;
            }
            for (day, requests, rate_limited, ip_refused) in &u.days {
                sqlx::query(
                    "INSERT INTO api_key_usage_daily (key_id, tenant_id, day, requests, rate_limited, ip_refused) \
                     SELECT id, tenant_id, $2, $3, $4, $5 FROM api_keys WHERE id = $1 \
                     ON CONFLICT (key_id, day) DO UPDATE SET \
                     requests = api_key_usage_daily.requests + excluded.requests, \
                     rate_limited = api_key_usage_daily.rate_limited + excluded.rate_limited, \
                     ip_refused = api_key_usage_daily.ip_refused + excluded.ip_refused",
                )
                .bind(&u.key)
                .bind(*day)
                .bind(*requests)
                .bind(*rate_limited)
                .bind(*ip_refused)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await
    }

    /// Usage per UTC day in `[first, last]` (day numbers): one key's, or summed over a tenant's keys (both
    /// None: every key). Rows are `(day, requests, rate_limited, ip_refused)`, days without use absent.
    pub async fn key_usage_days(
        &self,
        key: Option<&str>,
        tenant: Option<&str>,
        first: i64,
        last: i64,
    ) -> DbResult<Vec<(i64, i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT day, CAST(SUM(requests) AS BIGINT) AS requests, CAST(SUM(rate_limited) AS BIGINT) AS rate_limited, \
             CAST(SUM(ip_refused) AS BIGINT) AS ip_refused FROM api_key_usage_daily \
             WHERE ($1 IS NULL OR key_id = $1) AND ($2 IS NULL OR tenant_id = $2) AND day >= $3 AND day <= $4 \
             GROUP BY day ORDER BY day",
        )
        .bind(key.map(str::to_string))
        .bind(tenant.map(str::to_string))
        .bind(first)
        .bind(last)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((r.try_get("day")?, r.try_get("requests")?, r.try_get("rate_limited")?, r.try_get("ip_refused")?))
            })
            .collect()
    }

    /// The client address of the key's last accepted request.
    pub async fn api_key_last_used_ip(&self, id: &str) -> DbResult<Option<String>> {
        let row =
            sqlx::query("SELECT last_used_ip FROM api_keys WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        Ok(row.map(|r| r.try_get("last_used_ip")).transpose()?.flatten())
    }

    /// Live keys whose expiry falls in `(now, before]` and has not been noticed yet (see
    /// [`Store::claim_expiry_notice`]).
    pub async fn keys_expiring(&self, now: i64, before: i64) -> DbResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {COLS} FROM api_keys WHERE expires_at > $1 AND expires_at <= $2 AND revoked_at IS NULL \
             AND is_active = 1 AND (expiry_notice_for IS NULL OR expiry_notice_for <> expires_at) ORDER BY id LIMIT 500"
        );
        let rows = sqlx::query(&sql).bind(now).bind(before).fetch_all(&self.read).await?;
        rows.iter().map(|r| stored_from(r).map(|s| s.key)).collect()
    }

    /// Claims the notice for this key's expiry: false when another instance claimed it first, or the expiry
    /// changed meanwhile. `release` gives it back (the notice could not be published).
    pub async fn claim_expiry_notice(&self, id: &str, expires_at: i64, release: bool) -> DbResult<bool> {
        let sql = if release {
            "UPDATE api_keys SET expiry_notice_for = NULL WHERE id = $1 AND expiry_notice_for = $2"
        } else {
            "UPDATE api_keys SET expiry_notice_for = $2 WHERE id = $1 AND expires_at = $2 \
             AND (expiry_notice_for IS NULL OR expiry_notice_for <> $2)"
        };
        let r = sqlx::query(sql).bind(id).bind(expires_at).execute(&self.write).await?;
        Ok(r.rows_affected() > 0)
    }
}
