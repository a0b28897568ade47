//! Connected apps: connections (with their tokens, sealed by `server/apps/tokens.rs` before they get here),
//! authorisation attempts in flight (`state`), the links from a hub record to what an action created at the
//! provider, and the sync logs.
//!
//! Reads by id are not confined to a tenant here: the worker and the sync engine act for the hub, and the
//! service checks the tenant of what it reads before it answers (`service/apps.rs`). Lists take the tenant.

use super::{new_id, now_ms, DbResult, Store};
use crate::model::{Connection, ConnectionStatus, ProviderId, RecordError, SyncKind, SyncLog, SyncStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A connection with what never leaves the server: its sealed tokens, where its API answers, its hidden endpoint.
#[derive(Debug, Clone)]
pub struct StoredConnection {
    pub connection: Connection,
    /// Sealed for `app:<id>:access` (see `apps::tokens`).
    pub access_token: Option<String>,
    /// Sealed for `app:<id>:refresh`.
    pub refresh_token: Option<String>,
    /// The API base the token answer named (Salesforce's `instance_url`, Mailchimp's data centre), when it did.
    pub api_base: Option<String>,
    /// The hidden `app` endpoint carrying the connection's event-driven actions through the delivery queue.
    pub endpoint_id: Option<String>,
}

/// Tokens as stored after an authorisation or a refresh (already sealed).
#[derive(Debug, Clone, Default)]
pub struct SealedTokens {
    pub access_token: String,
    /// None keeps the stored refresh token (providers that do not rotate it answer a refresh without one).
    pub refresh_token: Option<String>,
    pub expires_at: Option<i64>,
}

/// An authorisation in flight. Only the SHA-256 of the `state` sent to the provider is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthState {
    pub state_hash: String,
    pub tenant_id: String,
    /// The person who started it; None when an API key did (then any person who may manage the tenant finishes it).
    pub user_id: Option<String>,
    /// The SHA-256 of the session it was started in (None when an API key started it).
    pub session_hash: Option<String>,
    pub provider: ProviderId,
    /// The PKCE verifier, sealed for `app_state:<state_hash>:verifier`.
    pub verifier: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// What [`Store::claim_oauth_state`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum StateClaim {
    /// Unused and unexpired: now marked used, this caller's alone.
    Claimed(OAuthState),
    /// Used before (a replayed callback).
    Used,
    Expired,
    Unknown,
}

/// What an action created at the provider for a hub record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLink {
    pub connection_id: String,
    /// The hub record: `event:<data.id>`, `contact:<email>`, `deal:<registration id>`.
    pub source_key: String,
    /// The provider's id of what was created (a calendar event id, a Zoom meeting id, a HubSpot contact id).
    pub remote_id: String,
    /// Where people see it at the provider, when it says (an `htmlLink`, a `join_url`).
    pub remote_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What to add to a sync log's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
}

const CONNECTION_COLS: &str = "id, tenant_id, provider, user_id, status, account_label, access_token, refresh_token, \
     token_expires_at, scopes, settings, api_base, endpoint_id, last_error, last_sync_at, created_at, updated_at";

const STATE_COLS: &str =
    "state_hash, tenant_id, user_id, session_hash, provider, verifier, created_at, expires_at, used_at";

const LINK_COLS: &str = "connection_id, source_key, remote_id, remote_url, created_at, updated_at";

const SYNC_COLS: &str = "id, connection_id, tenant_id, kind, direction, status, processed, created, updated, failed, \
     started_at, completed_at, duration_ms, cursor, delivery_id, errors, details";

fn decode_err(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} {value:?}").into())
}

fn connection_from(r: &AnyRow) -> DbResult<StoredConnection> {
    let provider: String = r.try_get("provider")?;
    let status: String = r.try_get("status")?;
    let scopes: String = r.try_get("scopes")?;
    let settings: String = r.try_get("settings")?;
    Ok(StoredConnection {
        connection: Connection {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            provider: ProviderId::parse(&provider).ok_or_else(|| decode_err("provider", &provider))?,
            user_id: r.try_get("user_id")?,
            // A status this build does not know reads as switched off, never as working.
            status: ConnectionStatus::parse(&status).unwrap_or(ConnectionStatus::Disabled),
            account_label: r.try_get("account_label")?,
            token_expires_at: r.try_get("token_expires_at")?,
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
            settings: serde_json::from_str(&settings).unwrap_or_else(|_| serde_json::json!({})),
            last_error: r.try_get("last_error")?,
            last_sync_at: r.try_get("last_sync_at")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        },
        access_token: r.try_get("access_token")?,
        refresh_token: r.try_get("refresh_token")?,
        api_base: r.try_get("api_base")?,
        endpoint_id: r.try_get("endpoint_id")?,
    })
}

fn state_from(r: &AnyRow) -> DbResult<OAuthState> {
    let provider: String = r.try_get("provider")?;
    Ok(OAuthState {
        state_hash: r.try_get("state_hash")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        session_hash: r.try_get("session_hash")?,
        provider: ProviderId::parse(&provider).ok_or_else(|| decode_err("provider", &provider))?,
        verifier: r.try_get("verifier")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
    })
}

fn link_from(r: &AnyRow) -> DbResult<ObjectLink> {
    Ok(ObjectLink {
        connection_id: r.try_get("connection_id")?,
        source_key: r.try_get("source_key")?,
        remote_id: r.try_get("remote_id")?,
        remote_url: r.try_get("remote_url")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn sync_from(r: &AnyRow) -> DbResult<SyncLog> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let errors: String = r.try_get("errors")?;
    let details: String = r.try_get("details")?;
    Ok(SyncLog {
        id: r.try_get("id")?,
        connection_id: r.try_get("connection_id")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: SyncKind::parse(&kind).ok_or_else(|| decode_err("sync kind", &kind))?,
        direction: r.try_get("direction")?,
        status: SyncStatus::parse(&status).ok_or_else(|| decode_err("sync status", &status))?,
        processed: r.try_get("processed")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
        failed: r.try_get("failed")?,
        started_at: r.try_get("started_at")?,
        completed_at: r.try_get("completed_at")?,
        duration_ms: r.try_get("duration_ms")?,
        cursor: r.try_get("cursor")?,
        delivery_id: r.try_get("delivery_id")?,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
        details: serde_json::from_str(&details).unwrap_or_else(|_| serde_json::json!({})),
    })
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

impl Store {
    // ---- connections ----

    /// Inserts a new connection; its tokens were sealed for `c.connection.id`. A second tenant-wide connection
    /// to the same provider is a unique violation (the caller updates the existing one instead).
    pub async fn insert_connection(&self, c: &StoredConnection) -> DbResult<()> {
        let k = &c.connection;
        sqlx::query(&format!(
            "INSERT INTO app_connections ({CONNECTION_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&k.id)
        .bind(&k.tenant_id)
        .bind(k.provider.as_str())
        .bind(&k.user_id)
        .bind(k.status.as_str())
        .bind(&k.account_label)
        .bind(&c.access_token)
        .bind(&c.refresh_token)
        .bind(k.token_expires_at)
        .bind(k.scopes.join(" "))
        .bind(json(&k.settings))
        .bind(&c.api_base)
        .bind(&c.endpoint_id)
        .bind(&k.last_error)
        .bind(k.last_sync_at)
        .bind(k.created_at)
        .bind(k.updated_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// One connection by id, in any tenant (the caller checks the tenant).
    pub async fn get_connection(&self, id: &str) -> DbResult<Option<StoredConnection>> {
        let row = sqlx::query(&format!("SELECT {CONNECTION_COLS} FROM app_connections WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(connection_from).transpose()
    }

    /// The connection whose hidden endpoint is `endpoint_id` (the sender's way from a delivery to its connection).
    pub async fn connection_by_endpoint(&self, endpoint_id: &str) -> DbResult<Option<StoredConnection>> {
        let row = sqlx::query(&format!("SELECT {CONNECTION_COLS} FROM app_connections WHERE endpoint_id = $1"))
            .bind(endpoint_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(connection_from).transpose()
    }

    /// The tenant-wide connection to `provider`, if the tenant has one.
    pub async fn tenant_connection(&self, tenant_id: &str, provider: ProviderId) -> DbResult<Option<StoredConnection>> {
        let row = sqlx::query(&format!(
            "SELECT {CONNECTION_COLS} FROM app_connections WHERE tenant_id = $1 AND provider = $2 AND user_id IS NULL"
        ))
        .bind(tenant_id)
        .bind(provider.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(connection_from).transpose()
    }

    /// A tenant's connections, by provider.
    pub async fn list_connections(&self, tenant_id: &str) -> DbResult<Vec<StoredConnection>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONNECTION_COLS} FROM app_connections WHERE tenant_id = $1 ORDER BY provider, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(connection_from).collect()
    }

    /// After a (re)authorisation: new tokens, what the provider said about the account, and the connection is
    /// `active` again with its error cleared. False when the connection is gone.
    pub async fn reconnect_connection(
        &self,
        id: &str,
        tokens: &SealedTokens,
        account_label: Option<&str>,
        scopes: &[String],
        api_base: Option<&str>,
    ) -> DbResult<bool> {
        let r = sqlx::query(
            "UPDATE app_connections SET access_token = $2, refresh_token = COALESCE($3, refresh_token), \
             token_expires_at = $4, account_label = COALESCE($5, account_label), scopes = $6, \
             api_base = COALESCE($7, api_base), status = 'active', last_error = NULL, updated_at = $8 WHERE id = $1",
        )
        .bind(id)
        .bind(&tokens.access_token)
        .bind(&tokens.refresh_token)
        .bind(tokens.expires_at)
        .bind(account_label)
        .bind(scopes.join(" "))
        .bind(api_base)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// After a refresh: the new access token (and refresh token, when the provider rotated it). Only while the
    /// connection is not switched off and still holds `old_access` — a disconnect or a reconnect meanwhile
    /// wins. True when written.
    pub async fn store_refreshed_tokens(&self, id: &str, old_access: &str, tokens: &SealedTokens) -> DbResult<bool> {
        let r = sqlx::query(
            "UPDATE app_connections SET access_token = $2, refresh_token = COALESCE($3, refresh_token), \
             token_expires_at = $4, updated_at = $5 WHERE id = $1 AND access_token = $6",
        )
        .bind(id)
        .bind(&tokens.access_token)
        .bind(&tokens.refresh_token)
        .bind(tokens.expires_at)
        .bind(now_ms())
        .bind(old_access)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The provider refused the connection's tokens: status `error` with its message. True when it changed
    /// (so the tenant's notice is published once).
    pub async fn set_connection_error(&self, id: &str, message: &str) -> DbResult<bool> {
        let r = sqlx::query(
            "UPDATE app_connections SET status = 'error', last_error = $2, updated_at = $3 \
             WHERE id = $1 AND status <> 'error'",
        )
        .bind(id)
        .bind(message)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Switches a connection off (`disabled`) or on again (`active`); a connection in `error` stays there (only
    /// a reconnect fixes its tokens). True when it changed.
    pub async fn set_connection_enabled(&self, id: &str, enabled: bool) -> DbResult<bool> {
        let (to, from) = if enabled { ("active", "disabled") } else { ("disabled", "active") };
        let r = sqlx::query("UPDATE app_connections SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4")
            .bind(id)
            .bind(to)
            .bind(now_ms())
            .bind(from)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces a connection's settings (validated by the service).
    pub async fn set_connection_settings(&self, id: &str, settings: &serde_json::Value) -> DbResult<bool> {
        let r = sqlx::query("UPDATE app_connections SET settings = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(json(settings))
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records the hidden endpoint that carries the connection's actions.
    pub async fn set_connection_endpoint(&self, id: &str, endpoint_id: Option<&str>) -> DbResult<bool> {
        let r = sqlx::query("UPDATE app_connections SET endpoint_id = $2 WHERE id = $1")
            .bind(id)
            .bind(endpoint_id)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// When the connection last synced (an action or a run finished).
    pub async fn set_connection_synced(&self, id: &str, at: i64) -> DbResult<()> {
        sqlx::query("UPDATE app_connections SET last_sync_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Deletes a connection of `tenant_id` with its tokens, links and sync logs; true when it existed.
    pub async fn delete_connection(&self, tenant_id: &str, id: &str) -> DbResult<bool> {
        // Children first: SQLite enforces the cascade only with foreign keys on, which the pool sets, but the
        // order makes it independent of that.
        for sql in [
            "DELETE FROM app_object_links WHERE connection_id = $1",
            "DELETE FROM app_sync_logs WHERE connection_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&self.write).await?;
        }
        let r = sqlx::query("DELETE FROM app_connections WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    // ---- authorisation attempts ----

    pub async fn insert_oauth_state(&self, s: &OAuthState) -> DbResult<()> {
        sqlx::query(&format!(
            "INSERT INTO app_oauth_states ({STATE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&s.state_hash)
        .bind(&s.tenant_id)
        .bind(&s.user_id)
        .bind(&s.session_hash)
        .bind(s.provider.as_str())
        .bind(&s.verifier)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.used_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Marks the attempt used, once: of two callbacks with the same `state`, only one gets
    /// [`StateClaim::Claimed`]. The caller checks the session and tenant of what it claimed; a claimed state
    /// is spent even when that check fails, so a stolen `state` cannot be tried twice.
    pub async fn claim_oauth_state(&self, state_hash: &str, now: i64) -> DbResult<StateClaim> {
        let r = sqlx::query(
            "UPDATE app_oauth_states SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(state_hash)
        .bind(now)
        .bind(now)
        .execute(&self.write)
        .await?;
        let row = sqlx::query(&format!("SELECT {STATE_COLS} FROM app_oauth_states WHERE state_hash = $1"))
            .bind(state_hash)
            .fetch_optional(&self.write)
            .await?;
        let Some(s) = row.as_ref().map(state_from).transpose()? else { return Ok(StateClaim::Unknown) };
        Ok(if r.rows_affected() == 1 {
            StateClaim::Claimed(s)
        } else if s.used_at.is_some() {
            StateClaim::Used
        } else {
            StateClaim::Expired
        })
    }

    /// Forgets attempts that expired before `before`; returns how many.
    pub async fn prune_oauth_states(&self, before: i64) -> DbResult<u64> {
        let r =
            sqlx::query("DELETE FROM app_oauth_states WHERE expires_at < $1").bind(before).execute(&self.write).await?;
        Ok(r.rows_affected())
    }

    // ---- object links (what an action created at the provider) ----

    /// What the connection created at the provider for `source_key` (`event:<id>`), if anything: an update or a
    /// cancellation patches or deletes that remote object.
    pub async fn object_link(&self, connection_id: &str, source_key: &str) -> DbResult<Option<ObjectLink>> {
        let row = sqlx::query(&format!(
            "SELECT {LINK_COLS} FROM app_object_links WHERE connection_id = $1 AND source_key = $2"
        ))
        .bind(connection_id)
        .bind(source_key)
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(link_from).transpose()
    }

    /// Remembers (or replaces) the remote object made for `source_key` after a create succeeded.
    pub async fn put_object_link(
        &self,
        connection_id: &str,
        source_key: &str,
        remote_id: &str,
        remote_url: Option<&str>,
    ) -> DbResult<()> {
        let now = now_ms();
        sqlx::query(&format!(
            "INSERT INTO app_object_links ({LINK_COLS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (connection_id, source_key) DO UPDATE SET remote_id = excluded.remote_id, \
             remote_url = COALESCE(excluded.remote_url, app_object_links.remote_url), updated_at = excluded.updated_at"
        ))
        .bind(connection_id)
        .bind(source_key)
        .bind(remote_id)
        .bind(remote_url)
        .bind(now)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Forgets the remote object of `source_key` (after it was deleted or cancelled at the provider).
    pub async fn delete_object_link(&self, connection_id: &str, source_key: &str) -> DbResult<bool> {
        let r = sqlx::query("DELETE FROM app_object_links WHERE connection_id = $1 AND source_key = $2")
            .bind(connection_id)
            .bind(source_key)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    // ---- sync logs ----

    /// Starts a sync-log row (`running`, counters at zero) of `kind` for a connection; `cursor` is where an
    /// incremental run starts. For event actions use [`Store::event_sync_log`] (one row per delivery).
    pub async fn start_sync_log(
        &self,
        connection_id: &str,
        tenant_id: &str,
        kind: SyncKind,
        cursor: Option<&str>,
    ) -> DbResult<SyncLog> {
        let mut log = self.start_sync_log_value(connection_id, tenant_id, kind);
        log.cursor = cursor.map(str::to_string);
        self.insert_sync_log(&log).await?;
        Ok(log)
    }

    async fn insert_sync_log(&self, l: &SyncLog) -> DbResult<()> {
        sqlx::query(&format!(
            "INSERT INTO app_sync_logs ({SYNC_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&l.id)
        .bind(&l.connection_id)
        .bind(&l.tenant_id)
        .bind(l.kind.as_str())
        .bind(&l.direction)
        .bind(l.status.as_str())
        .bind(l.processed)
        .bind(l.created)
        .bind(l.updated)
        .bind(l.failed)
        .bind(l.started_at)
        .bind(l.completed_at)
        .bind(l.duration_ms)
        .bind(&l.cursor)
        .bind(&l.delivery_id)
        .bind(json(&l.errors))
        .bind(json(&l.details))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The `event` sync-log row of one delivery, made (`running`) the first time the delivery is attempted and
    /// found again on its retries, so a delivery is one row however many attempts it takes.
    pub async fn event_sync_log(&self, connection_id: &str, tenant_id: &str, delivery_id: &str) -> DbResult<SyncLog> {
        let find = || async {
            let row = sqlx::query(&format!(
                "SELECT {SYNC_COLS} FROM app_sync_logs WHERE connection_id = $1 AND delivery_id = $2"
            ))
            .bind(connection_id)
            .bind(delivery_id)
            .fetch_optional(&self.write)
            .await?;
            row.as_ref().map(sync_from).transpose()
        };
        if let Some(l) = find().await? {
            return Ok(l);
        }
        let mut l = self.start_sync_log_value(connection_id, tenant_id, SyncKind::Event);
        l.delivery_id = Some(delivery_id.to_string());
        match self.insert_sync_log(&l).await {
            Ok(()) => Ok(l),
            // Made meanwhile by another attempt of the same delivery.
            Err(e) if super::is_unique_violation(&e) => find().await?.ok_or(e),
            Err(e) => Err(e),
        }
    }

    fn start_sync_log_value(&self, connection_id: &str, tenant_id: &str, kind: SyncKind) -> SyncLog {
        SyncLog {
            id: new_id("syn"),
            connection_id: connection_id.to_string(),
            tenant_id: tenant_id.to_string(),
            kind,
            direction: "export".to_string(),
            status: SyncStatus::Running,
            processed: 0,
            created: 0,
            updated: 0,
            failed: 0,
            started_at: now_ms(),
            completed_at: None,
            duration_ms: None,
            cursor: None,
            delivery_id: None,
            errors: vec![],
            details: serde_json::json!({}),
        }
    }

    /// Adds to a running row's counters (progress of a "Sync now" job, read by the UI while it runs).
    pub async fn add_sync_counts(&self, id: &str, d: SyncCounts) -> DbResult<()> {
        sqlx::query(
            "UPDATE app_sync_logs SET processed = processed + $2, created = created + $3, updated = updated + $4, \
             failed = failed + $5 WHERE id = $1",
        )
        .bind(id)
        .bind(d.processed)
        .bind(d.created)
        .bind(d.updated)
        .bind(d.failed)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Writes a row's whole changing part as the caller has it: counters, status, cursor, per-record errors and
    /// details; `completed_at` set (with the duration from `started_at`) when the status is not `running`. The
    /// caller owns the row while it runs (one job, or the one worker attempting the delivery).
    pub async fn save_sync_log(&self, l: &SyncLog) -> DbResult<()> {
        let completed_at = (l.status != SyncStatus::Running).then(|| l.completed_at.unwrap_or_else(now_ms));
        let duration_ms = completed_at.map(|c| (c - l.started_at).max(0));
        sqlx::query(
            "UPDATE app_sync_logs SET status = $2, processed = $3, created = $4, updated = $5, failed = $6, \
             completed_at = $7, duration_ms = $8, cursor = $9, errors = $10, details = $11 WHERE id = $1",
        )
        .bind(&l.id)
        .bind(l.status.as_str())
        .bind(l.processed)
        .bind(l.created)
        .bind(l.updated)
        .bind(l.failed)
        .bind(completed_at)
        .bind(duration_ms)
        .bind(&l.cursor)
        .bind(json(&l.errors))
        .bind(json(&l.details))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Finishes a row from its stored counters: status from them ([`SyncStatus::from_counts`]) unless
    /// `status` is given, completion time, duration, the cursor reached, and `errors` appended.
    pub async fn finish_sync_log(
        &self,
        id: &str,
        status: Option<SyncStatus>,
        cursor: Option<&str>,
        errors: &[RecordError],
    ) -> DbResult<Option<SyncLog>> {
        let Some(mut l) = self.sync_log(id).await? else { return Ok(None) };
        l.status = status.unwrap_or_else(|| SyncStatus::from_counts(l.processed, l.failed));
        if let Some(c) = cursor {
            l.cursor = Some(c.to_string());
        }
        l.errors.extend_from_slice(errors);
        l.completed_at = Some(now_ms());
        self.save_sync_log(&l).await?;
        self.set_connection_synced(&l.connection_id, l.completed_at.unwrap_or_default()).await?;
        Ok(Some(l))
    }

    /// One sync-log row by id, in any tenant (the caller checks the tenant).
    pub async fn sync_log(&self, id: &str) -> DbResult<Option<SyncLog>> {
        let row = sqlx::query(&format!("SELECT {SYNC_COLS} FROM app_sync_logs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(sync_from).transpose()
    }

    /// The connection's "Sync now" run still `running`, if any (one at a time).
    pub async fn running_sync(&self, connection_id: &str) -> DbResult<Option<SyncLog>> {
        let row = sqlx::query(&format!(
            "SELECT {SYNC_COLS} FROM app_sync_logs WHERE connection_id = $1 AND status = 'running' \
             AND kind <> 'event' ORDER BY started_at DESC, id DESC LIMIT 1"
        ))
        .bind(connection_id)
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(sync_from).transpose()
    }

    /// Where the next incremental run starts: the cursor of the newest finished (succeeded or partial) run.
    pub async fn last_sync_cursor(&self, connection_id: &str) -> DbResult<Option<String>> {
        let row = sqlx::query(
            "SELECT cursor FROM app_sync_logs WHERE connection_id = $1 AND kind <> 'event' \
             AND status IN ('succeeded', 'partial') AND cursor IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(connection_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| r.try_get("cursor")).transpose()
    }

    /// Marks runs still `running` that started before `before` as `interrupted` (their instance stopped);
    /// returns how many.
    pub async fn interrupt_sync_logs(&self, before: i64) -> DbResult<u64> {
        let r = sqlx::query(
            "UPDATE app_sync_logs SET status = 'interrupted', completed_at = $1 \
             WHERE status = 'running' AND kind <> 'event' AND started_at < $2",
        )
        .bind(now_ms())
        .bind(before)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected())
    }

    /// A page of a connection's sync logs in `tenant_id`, newest first by `(started_at, id)`, after `cursor`.
    pub async fn list_sync_logs(
        &self,
        tenant_id: &str,
        connection_id: &str,
        cursor: Option<(i64, &str)>,
        limit: i64,
    ) -> DbResult<Vec<SyncLog>> {
        let rows = match cursor {
            Some((at, id)) => {
                sqlx::query(&format!(
                    "SELECT {SYNC_COLS} FROM app_sync_logs WHERE connection_id = $1 AND tenant_id = $2 \
                     AND (started_at < $3 OR (started_at = $4 AND id < $5)) \
                     ORDER BY started_at DESC, id DESC LIMIT $6"
                ))
                .bind(connection_id)
                .bind(tenant_id)
                .bind(at)
                .bind(at)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {SYNC_COLS} FROM app_sync_logs WHERE connection_id = $1 AND tenant_id = $2 \
                     ORDER BY started_at DESC, id DESC LIMIT $3"
                ))
                .bind(connection_id)
                .bind(tenant_id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.iter().map(sync_from).collect()
    }
}
