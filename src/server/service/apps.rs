//! Connected apps, the rules: who may see and change a tenant's connections, the OAuth authorisation bound to
//! the person's session and tenant, settings validated against the provider's schema, disconnecting (revoke,
//! then delete the tokens), "Sync now" and the sync logs. The UI's server functions, REST and the callback route
//! all call these.
//!
//! Isolation: every connection is read by id and then checked against the actor's tenant (another tenant's id
//! is a 404, as if it did not exist); lists take the actor's tenant. Writes are refused to viewers and portal
//! sessions (portal links show connections read-only). Every change is audited, never with a token.

use super::audit::Audited;
use super::{Actor, AppState, Hub};
use crate::model::{
    AppError, AppResult, AppsOverview, AuthorizeUrl, Connection, ConnectionSettingsUpdate, ConnectionStatus, Page,
    Paged, ProviderId, ProviderInfo, Role, SyncLog, SyncLogQuery, SyncRequest, User,
};
use crate::server::apps::oauth::{self, OAuthError};
use crate::server::apps::tokens::{self, AppToken, TokenDeps, TokenError};
use crate::server::store::{new_id, now_ms, OAuthState, StateClaim, StoredConnection};
use serde_json::json;

/// How long an authorisation may take from the authorize URL to the callback.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// The operational notice a connection whose tokens the provider refused sends its tenant.
pub use super::notices::APP_CONNECTION_ERROR as CONNECTION_ERROR;

/// Why a callback did not connect anything, with the tenant to send the person back to when it is known and
/// theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackFailure {
    pub tenant_id: Option<String>,
    pub provider: Option<ProviderId>,
    pub message: String,
}

/// What a callback connected.
#[derive(Debug, Clone, PartialEq)]
pub struct Connected {
    pub tenant_id: String,
    pub connection: Connection,
    /// Whether it replaced the tokens of an existing connection (a reconnect).
    pub reconnected: bool,
}

fn state_hash(state: &str) -> String {
    crate::server::auth::session::token_hash(state)
}

/// Viewers and portal sessions read connections; they change nothing.
fn refuse_readers(actor: &Actor<'_>) -> AppResult<()> {
    match actor {
        Actor::User(u) if u.role == Role::Portal => {
            Err(AppError::forbidden("A portal link shows connected apps; it does not change them."))
        }
        Actor::User(u) if u.role == Role::Viewer => {
            Err(AppError::forbidden("Viewers can look but not change anything: ask a manager of this tenant."))
        }
        _ => Ok(()),
    }
}

fn provider_id(s: &str) -> AppResult<ProviderId> {
    ProviderId::parse(s).ok_or_else(|| AppError::not_found("provider"))
}

fn oauth_failure(e: OAuthError) -> String {
    e.to_string()
}

impl Hub {
    /// `<HUB_BASE_URL>/oauth/callback`.
    pub fn oauth_redirect_uri(&self) -> String {
        self.config.oauth_redirect_uri()
    }

    /// What token work needs from the hub.
    pub fn token_deps<'a>(&'a self, redirect_uri: &'a str) -> TokenDeps<'a> {
        TokenDeps {
            store: &self.store,
            key: &self.master_key,
            http: &self.client,
            providers: &self.config.apps,
            redirect_uri,
        }
    }

    /// Every provider as this deployment configures it (configured or not, and what to set).
    pub fn app_providers(&self) -> Vec<ProviderInfo> {
        let redirect = self.oauth_redirect_uri();
        self.config.apps.all().map(|p| p.info(&redirect)).collect()
    }

    /// The connection `id` if the actor may see its tenant; a 404 otherwise (another tenant's id included).
    async fn visible_connection(&self, actor: &Actor<'_>, id: &str) -> AppResult<StoredConnection> {
        let c = self.store.get_connection(id).await?.ok_or_else(|| AppError::not_found("connection"))?;
        if !actor.sees_tenant(Some(&c.connection.tenant_id)) {
            return Err(AppError::not_found("connection"));
        }
        Ok(c)
    }

    /// The providers and the tenant's connections (the "Connected apps" tab).
    pub async fn apps_overview(&self, actor: Actor<'_>, tenant: Option<&str>) -> AppResult<AppsOverview> {
        let connections = self.list_app_connections(actor, tenant).await?;
        Ok(AppsOverview { providers: self.app_providers(), connections })
    }

    /// The tenant's connections (an admin names the tenant).
    pub async fn list_app_connections(&self, actor: Actor<'_>, tenant: Option<&str>) -> AppResult<Vec<Connection>> {
        let tenant = self
            .list_tenant(&actor, tenant)?
            .ok_or_else(|| AppError::field("tenant_id", "is required for admins and admin-wide keys"))?;
        Ok(self.store.list_connections(&tenant).await?.into_iter().map(|c| c.connection).collect())
    }

    pub async fn get_app_connection(&self, actor: Actor<'_>, id: &str) -> AppResult<Connection> {
        Ok(self.visible_connection(&actor, id).await?.connection)
    }

    /// Starts an authorisation: the provider's authorize URL with a fresh `state` and PKCE challenge. The
    /// `state` is kept (hashed) bound to the tenant, the person and — from the UI — the SHA-256 of their
    /// session (`session_hash`), for ten minutes and one use; the verifier is sealed. Started with an API key
    /// (no session), the callback must be opened by a person who may manage the tenant.
    pub async fn begin_app_authorize(
        &self,
        actor: Actor<'_>,
        tenant: Option<&str>,
        provider: &str,
        session_hash: Option<&str>,
    ) -> AppResult<AuthorizeUrl> {
        refuse_readers(&actor)?;
        let id = provider_id(provider)?;
        let tenant = self.require_target_tenant(&actor, tenant).await?;
        let p = self.config.apps.get(id);
        if !p.configured() {
            return Err(AppError::field(
                "provider",
                format!("{} is not configured on this hub: set {}", id.label(), p.missing_env().join(" and ")),
            ));
        }
        let a = oauth::authorize_url(p, &self.oauth_redirect_uri())
            .map_err(|e| AppError::field("provider", e.to_string()))?;
        let hash = state_hash(&a.state);
        let now = now_ms();
        let user_id = match &actor {
            Actor::User(u) => Some(u.id.clone()),
            _ => None,
        };
        let session_hash = session_hash.filter(|_| user_id.is_some()).map(str::to_string);
        self.store
            .insert_oauth_state(&OAuthState {
                verifier: self.master_key.seal_for(&tokens::verifier_aad(&hash), &a.verifier),
                state_hash: hash,
                tenant_id: tenant.clone(),
                user_id,
                session_hash,
                provider: id,
                created_at: now,
                expires_at: now + STATE_TTL_MS,
                used_at: None,
            })
            .await?;
        // Attempts never finished are forgotten an hour after they expired.
        if let Err(e) = self.store.prune_oauth_states(now - 3_600_000).await {
            tracing::debug!(error = %e, "expired authorisation attempts could not be pruned");
        }
        let e = Audited {
            tenant: Some(&tenant),
            action: "app_connection.authorize_started",
            target: id.as_str(),
            name: Some(id.label()),
            ..Default::default()
        };
        self.audit_entry(&actor, e).await?;
        Ok(AuthorizeUrl { url: a.url })
    }

    /// The provider's redirect back (`GET /oauth/callback`), opened in the browser of `user` (signed in with the
    /// session whose hash is `session_hash`). The `state` is spent whatever happens next; it must belong to this
    /// session and person (or, when an API key started it, to a tenant this person may manage). Then the code
    /// is exchanged with the kept PKCE verifier and the tokens sealed onto the tenant's connection (made, or
    /// reconnected: status `active`, error cleared).
    pub async fn complete_app_authorize(
        self: &AppState,
        user: &User,
        session_hash: &str,
        state: &str,
        code: Option<&str>,
        provider_error: Option<&str>,
    ) -> Result<Connected, CallbackFailure> {
        let fail = |tenant: Option<&str>, provider: Option<ProviderId>, message: String| CallbackFailure {
            tenant_id: tenant.map(str::to_string),
            provider,
            message,
        };
        if state.is_empty() || state.len() > 512 {
            return Err(fail(None, None, "The provider sent no usable state: start the connection again.".into()));
        }
        let db = |e: sqlx::Error| {
            tracing::error!(error = %e, "the OAuth callback could not read or write the database");
            fail(None, None, "The hub could not finish the connection; try again.".into())
        };
        let s = match self.store.claim_oauth_state(&state_hash(state), now_ms()).await.map_err(db)? {
            StateClaim::Claimed(s) => s,
            StateClaim::Used => {
                return Err(fail(None, None, "This authorisation was already used: start the connection again.".into()))
            }
            StateClaim::Expired => {
                return Err(fail(
                    None,
                    None,
                    "This authorisation expired (10 minutes): start the connection again.".into(),
                ))
            }
            StateClaim::Unknown => {
                return Err(fail(None, None, "This authorisation is not one the hub started.".into()))
            }
        };
        let own = match (&s.user_id, &s.session_hash) {
            (Some(u), Some(h)) => *u == user.id && *h == session_hash,
            (Some(u), None) => *u == user.id,
            // Started with an API key: anyone who may manage the tenant finishes it.
            (None, _) => match user.role {
                Role::Admin => true,
                Role::Tenant => user.tenant_id.as_deref() == Some(s.tenant_id.as_str()),
                Role::Viewer | Role::Portal => false,
            },
        };
        if !own || matches!(user.role, Role::Viewer | Role::Portal) {
            tracing::warn!(user = %user.id, "an OAuth callback came with another session's state");
            return Err(fail(
                None,
                None,
                "This authorisation was started by someone else, or in another session.".into(),
            ));
        }
        let (tenant, provider) = (s.tenant_id.as_str(), s.provider);
        if let Some(e) = provider_error {
            let shown: String = e.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(200).collect();
            let message = if shown == "access_denied" {
                format!("{} was not connected: access was denied at {}.", provider.label(), provider.label())
            } else {
                format!("{} was not connected: {shown}", provider.label())
            };
            return Err(fail(Some(tenant), Some(provider), message));
        }
        let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 4096) else {
            return Err(fail(Some(tenant), Some(provider), "The provider sent no authorisation code.".into()));
        };
        let verifier = self.master_key.open_for(&tokens::verifier_aad(&s.state_hash), &s.verifier).map_err(|e| {
            tracing::error!(error = %e, "an authorisation attempt's verifier does not open");
            fail(Some(tenant), Some(provider), "The hub could not finish the connection; start it again.".into())
        })?;
        let p = self.config.apps.get(provider);
        let redirect = self.oauth_redirect_uri();
        let t = oauth::exchange_code(&self.client, p, &redirect, code, &verifier)
            .await
            .map_err(|e| fail(Some(tenant), Some(provider), oauth_failure(e)))?;
        let (mut api_base, mut label) = (t.instance_url.clone(), t.instance_url.clone());
        if provider == ProviderId::Mailchimp && !p.api_base_overridden {
            match oauth::mailchimp_metadata(&self.client, &p.token_url, &t.access_token).await {
                Ok((api, name)) => (api_base, label) = (Some(api), name),
                Err(e) => return Err(fail(Some(tenant), Some(provider), e.to_string())),
            }
        }
        let scopes = t.scopes.clone().unwrap_or_else(|| p.scopes.clone());
        let stored = self
            .store_connection(tenant, provider, &t, api_base.as_deref(), label.as_deref(), &scopes)
            .await
            .map_err(|e| fail(Some(tenant), Some(provider), e.message))?;
        let (stored, reconnected) = stored;
        let actor = Actor::User(user);
        let e = Audited {
            tenant: Some(tenant),
            action: if reconnected { "app_connection.reconnected" } else { "app_connection.connected" },
            target: &stored.connection.id,
            name: Some(provider.label()),
            detail: &format!("scopes: {}", scopes.join(" ")),
            ..Default::default()
        };
        if let Err(e) = self.audit_entry(&actor, e).await {
            tracing::warn!(error = %e, "a connection could not be written to the audit log");
        }
        Ok(Connected { tenant_id: tenant.to_string(), connection: stored.connection, reconnected })
    }

    /// Seals the tokens onto the tenant's connection to `provider` (a new one, or the existing one reconnected)
    /// and brings its hidden endpoint in line. Returns it and whether it existed.
    async fn store_connection(
        &self,
        tenant: &str,
        provider: ProviderId,
        t: &oauth::TokenSet,
        api_base: Option<&str>,
        label: Option<&str>,
        scopes: &[String],
    ) -> AppResult<(StoredConnection, bool)> {
        for _ in 0..2 {
            if let Some(existing) = self.store.tenant_connection(tenant, provider).await? {
                let id = existing.connection.id.clone();
                let sealed = tokens::seal(&self.master_key, &id, t);
                self.store.reconnect_connection(&id, &sealed, label, scopes, api_base).await?;
                let c = self.store.get_connection(&id).await?.ok_or_else(|| AppError::not_found("connection"))?;
                self.sync_app_endpoint(&c).await?;
                return Ok((c, true));
            }
            let id = new_id("app");
            let sealed = tokens::seal(&self.master_key, &id, t);
            let now = now_ms();
            let c = StoredConnection {
                connection: Connection {
                    id: id.clone(),
                    tenant_id: tenant.to_string(),
                    provider,
                    user_id: None,
                    status: ConnectionStatus::Active,
                    account_label: label.map(str::to_string),
                    token_expires_at: sealed.expires_at,
                    scopes: scopes.to_vec(),
                    settings: json!({}),
                    last_error: None,
                    last_sync_at: None,
                    created_at: now,
                    updated_at: now,
                },
                access_token: Some(sealed.access_token),
                refresh_token: sealed.refresh_token,
                api_base: api_base.map(str::to_string),
                endpoint_id: None,
            };
            match self.store.insert_connection(&c).await {
                Ok(()) => {
                    let c = self.store.get_connection(&id).await?.ok_or_else(|| AppError::not_found("connection"))?;
                    self.sync_app_endpoint(&c).await?;
                    return Ok((c, false));
                }
                // Made meanwhile by a second callback: reconnect that one instead.
                Err(e) if crate::server::store::is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::conflict("the connection changed meanwhile; try again"))
    }

    /// Brings the connection's hidden delivery endpoint in line with it (made, its URL, on while `active`).
    async fn sync_app_endpoint(&self, c: &StoredConnection) -> AppResult<()> {
        let base = self
            .config
            .apps
            .get(c.connection.provider)
            .api_base_for(c.api_base.as_deref(), &c.connection.settings)
            .unwrap_or_default();
        crate::server::apps::actions::sync_endpoint(self, c, &base).await?;
        Ok(())
    }

    /// Changes a connection's settings (validated against the provider's schema: a 422 names the field) and/or
    /// switches it off or on again.
    pub async fn update_app_connection(
        &self,
        actor: Actor<'_>,
        id: &str,
        u: ConnectionSettingsUpdate,
    ) -> AppResult<Connection> {
        refuse_readers(&actor)?;
        let before = self.visible_connection(&actor, id).await?;
        let c = &before.connection;
        // Everything is checked before anything is written: a refused part leaves the connection as it was.
        if let Some(settings) = &u.settings {
            crate::server::apps::providers::validate_settings(c.provider, settings)?;
            self.check_app_templates(c.provider, settings).await?;
        }
        if u.enabled == Some(true) && c.status == ConnectionStatus::Error {
            return Err(AppError::conflict("the connection needs reconnecting: its tokens were refused"));
        }
        if let Some(settings) = &u.settings {
            self.store.set_connection_settings(id, settings).await?;
        }
        if let Some(enabled) = u.enabled {
            self.store.set_connection_enabled(id, enabled).await?;
        }
        let after = self.store.get_connection(id).await?.ok_or_else(|| AppError::not_found("connection"))?;
        self.sync_app_endpoint(&after).await?;
        let shown = |c: &Connection| json!({"settings": c.settings, "status": c.status});
        let e = Audited {
            tenant: Some(&c.tenant_id),
            action: "app_connection.updated",
            target: id,
            name: Some(c.provider.label()),
            ..Default::default()
        };
        self.audit_update(&actor, e, &shown(c), &shown(&after.connection)).await?;
        Ok(after.connection)
    }

    /// Disconnects: revokes the grant at the provider where it has a revocation endpoint (the refresh token,
    /// which ends the whole grant; else the access token), then deletes the connection with its tokens, its
    /// hidden endpoint, links and logs. A revocation that fails is logged and noted in the audit entry; the
    /// tokens are deleted regardless.
    pub async fn disconnect_app(&self, actor: Actor<'_>, id: &str) -> AppResult<()> {
        refuse_readers(&actor)?;
        let stored = self.visible_connection(&actor, id).await?;
        let c = &stored.connection;
        let p = self.config.apps.get(c.provider);
        let revoked = match tokens::open(&self.master_key, &stored) {
            Err(e) => {
                tracing::error!(error = %e, "a connection's tokens do not open; deleting them unrevoked");
                "the tokens could not be opened; deleted without revoking".to_string()
            }
            Ok((access, refresh)) => {
                let token = refresh.as_deref().map(|r| (r, true)).or(access.as_deref().map(|a| (a, false)));
                match token {
                    None => "no tokens were stored".to_string(),
                    Some((token, is_refresh)) => {
                        match oauth::revoke(&self.client, p, &self.oauth_redirect_uri(), token, is_refresh).await {
                            Ok(true) => "revoked at the provider; tokens deleted".to_string(),
                            Ok(false) => "the provider has no revocation endpoint; tokens deleted".to_string(),
                            Err(e) => {
                                tracing::warn!(connection = %id, error = %e, "revoking a connection's grant failed");
                                format!("revocation failed ({e}); tokens deleted")
                            }
                        }
                    }
                }
            }
        };
        crate::server::apps::actions::remove_endpoint(self, &stored).await?;
        self.store.delete_connection(&c.tenant_id, id).await?;
        let e = Audited {
            tenant: Some(&c.tenant_id),
            action: "app_connection.disconnected",
            target: id,
            name: Some(c.provider.label()),
            detail: &revoked,
            ..Default::default()
        };
        self.audit_entry(&actor, e).await
    }

    /// "Sync now": starts a full or incremental run in the background and answers its sync-log row (`running`;
    /// the UI polls [`Hub::app_sync_logs`] for its progress). 409 while one runs or when the connection is not
    /// active.
    pub async fn request_app_sync(self: &AppState, actor: Actor<'_>, id: &str, r: SyncRequest) -> AppResult<SyncLog> {
        refuse_readers(&actor)?;
        let stored = self.visible_connection(&actor, id).await?;
        let log_id = crate::server::apps::sync::start(self, id, r.kind).await?;
        let e = Audited {
            tenant: Some(&stored.connection.tenant_id),
            action: "app_connection.sync_requested",
            target: id,
            name: Some(stored.connection.provider.label()),
            detail: r.kind.as_str(),
            ..Default::default()
        };
        self.audit_entry(&actor, e).await?;
        self.store.sync_log(&log_id).await?.ok_or_else(|| AppError::not_found("sync log"))
    }

    /// A page of the connection's sync logs, newest first.
    pub async fn app_sync_logs(&self, actor: Actor<'_>, id: &str, q: &SyncLogQuery) -> AppResult<Page<SyncLog>> {
        let stored = self.visible_connection(&actor, id).await?;
        let cursor = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                crate::model::parse_sync_log_cursor(c)
                    .ok_or_else(|| AppError::field("cursor", "is not a cursor this list gave"))?,
            ),
        };
        let limit = q.page_limit();
        let cursor = cursor.as_ref().map(|(at, id)| (*at, id.as_str()));
        let data = self.store.list_sync_logs(&stored.connection.tenant_id, id, cursor, i64::from(limit)).await?;
        let next_cursor = if data.len() == limit as usize { data.last().map(SyncLog::cursor_after) } else { None };
        Ok(Page { data, next_cursor })
    }

    /// A usable access token for the connection (what `apps::actions` and `apps::sync` call with): refreshed
    /// first when it expires within a minute, or — with `after_401` — because the provider just refused the
    /// one `conn` holds. A refused refresh puts the connection in `error` and tells the tenant once
    /// (`hub.app.connection_error`).
    pub async fn app_access_token(&self, conn: &StoredConnection, after_401: bool) -> Result<AppToken, TokenError> {
        let redirect = self.oauth_redirect_uri();
        let deps = self.token_deps(&redirect);
        let id = conn.connection.id.as_str();
        let got = if after_401 {
            let seen = tokens::open(&self.master_key, conn).ok().and_then(|(a, _)| a).unwrap_or_default();
            tokens::after_unauthorized(deps, id, &seen).await
        } else {
            tokens::fresh_token(deps, id).await
        };
        if let Err(TokenError::Rejected { message, newly: true }) = &got {
            self.notify_connection_error(&conn.connection, message).await;
        }
        got
    }

    /// Tells the tenant its connection's tokens were refused (and audits it as the hub's doing).
    pub async fn notify_connection_error(&self, c: &Connection, message: &str) {
        let e = Audited {
            tenant: Some(&c.tenant_id),
            action: "app_connection.error",
            target: &c.id,
            name: Some(c.provider.label()),
            detail: message,
            ..Default::default()
        };
        if let Err(e) = self.audit_entry(&Actor::System, e).await {
            tracing::warn!(error = %e, "a connection's error could not be written to the audit log");
        }
        let data = json!({
            "connection": {"id": c.id, "provider": c.provider.as_str(), "label": c.provider.label()},
            "message": message,
            "failed_at": chrono::DateTime::from_timestamp_millis(now_ms())
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        self.notify(Some(&c.tenant_id), CONNECTION_ERROR, data).await;
    }
}
