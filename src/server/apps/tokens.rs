//! A connection's tokens: sealed at rest under the master key (AES-256-GCM, each value bound to its connection
//! and column, as endpoints' signing secrets are), and a fresh access token on demand.
//!
//! [`fresh_token`] refreshes when the access token expires within [`REFRESH_MARGIN_MS`]; [`after_unauthorized`]
//! refreshes once after a provider answered 401. Both are single-flight per connection: callers at the same time
//! wait for one refresh and share its result (in this process by a lock per connection; across instances the
//! store writes a refresh only over the token it replaced, and a loser reads the winner's). A refresh the
//! provider refuses puts the connection in `error` with the provider's message; the caller (the service, see
//! `Hub::app_access_token`) tells the tenant with a `hub.app.connection_error` notice.

use super::oauth::{self, OAuthError, TokenSet};
use super::providers::Providers;
use crate::model::{Connection, ConnectionStatus};
use crate::server::auth::crypto::MasterKey;
use crate::server::store::{SealedTokens, Store, StoredConnection};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

/// An access token this close to its expiry is refreshed before use.
pub const REFRESH_MARGIN_MS: i64 = 60_000;

/// What an access token is sealed for.
pub fn access_aad(connection_id: &str) -> String {
    format!("app:{connection_id}:access")
}

/// What a refresh token is sealed for.
pub fn refresh_aad(connection_id: &str) -> String {
    format!("app:{connection_id}:refresh")
}

/// What an authorisation attempt's PKCE verifier is sealed for.
pub fn verifier_aad(state_hash: &str) -> String {
    format!("app_state:{state_hash}:verifier")
}

/// Seals tokens for connection `id`; a missing refresh token stays None (the stored one is kept).
pub fn seal(key: &MasterKey, id: &str, t: &TokenSet) -> SealedTokens {
    SealedTokens {
        access_token: key.seal_for(&access_aad(id), &t.access_token),
        refresh_token: t.refresh_token.as_deref().map(|r| key.seal_for(&refresh_aad(id), r)),
        expires_at: t.expires_at,
    }
}

/// The connection's tokens in clear: (access, refresh).
pub fn open(key: &MasterKey, c: &StoredConnection) -> Result<(Option<String>, Option<String>), String> {
    let id = &c.connection.id;
    let access = c.access_token.as_deref().map(|s| key.open_for(&access_aad(id), s)).transpose();
    let refresh = c.refresh_token.as_deref().map(|s| key.open_for(&refresh_aad(id), s)).transpose();
    Ok((
        access.map_err(|e| format!("the access token of {id} does not open: {e}"))?,
        refresh.map_err(|e| format!("the refresh token of {id} does not open: {e}"))?,
    ))
}

/// What token work needs from the hub.
#[derive(Clone, Copy)]
pub struct TokenDeps<'a> {
    pub store: &'a Store,
    pub key: &'a MasterKey,
    /// The SSRF-guarded client.
    pub http: &'a reqwest::Client,
    pub providers: &'a Providers,
    /// `<HUB_BASE_URL>/oauth/callback` (the token endpoint checks it on a code exchange; sent on refresh too).
    pub redirect_uri: &'a str,
}

/// A usable access token and where to call with it.
#[derive(Clone)]
pub struct AppToken {
    pub connection: Connection,
    pub access_token: String,
    /// The API base for this connection ([`super::providers::Provider::api_base_for`]); None when nothing names
    /// one (the action fails with a message asking for the `api_base` setting).
    pub api_base: Option<String>,
}

impl std::fmt::Debug for AppToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppToken").field("connection", &self.connection.id).field("api_base", &self.api_base).finish()
    }
}

/// Why there is no token to call with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The connection no longer exists (disconnected).
    Gone,
    /// Switched off, or in `error` since earlier: nothing is sent until a person acts.
    NotActive(ConnectionStatus),
    /// The provider refused the refresh just now: the connection is in `error` with this message.
    /// `newly` is true for the one caller that moved it there (it publishes the notice).
    Rejected { message: String, newly: bool },
    /// The provider or the database could not be reached; try again later.
    Unavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Gone => f.write_str("the connection was removed"),
            TokenError::NotActive(ConnectionStatus::Disabled) => f.write_str("the connection is switched off"),
            TokenError::NotActive(_) => f.write_str("the connection needs to be reconnected"),
            TokenError::Rejected { message, .. } => write!(f, "the provider refused the connection: {message}"),
            TokenError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// One lock per connection while it refreshes (entries go when nobody holds them).
static REFRESHING: LazyLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

fn refresh_lock(connection_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = REFRESHING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(l) = map.get(connection_id).and_then(Weak::upgrade) {
        return l;
    }
    map.retain(|_, w| w.strong_count() > 0);
    let l = Arc::new(tokio::sync::Mutex::new(()));
    map.insert(connection_id.to_string(), Arc::downgrade(&l));
    l
}

fn db(e: sqlx::Error) -> TokenError {
    tracing::warn!(error = %e, "a connection's tokens could not be read or written");
    TokenError::Unavailable("the hub's database is not reachable".into())
}

async fn load(deps: TokenDeps<'_>, id: &str) -> Result<(StoredConnection, Option<String>, Option<String>), TokenError> {
    let c = deps.store.get_connection(id).await.map_err(db)?.ok_or(TokenError::Gone)?;
    if c.connection.status != ConnectionStatus::Active {
        return Err(TokenError::NotActive(c.connection.status));
    }
    let (access, refresh) = open(deps.key, &c).map_err(|e| {
        tracing::error!(error = %e, "a connection's token does not open");
        TokenError::Unavailable("the connection's tokens cannot be opened with this hub's master key".into())
    })?;
    Ok((c, access, refresh))
}

fn app_token(deps: TokenDeps<'_>, c: StoredConnection, access_token: String) -> AppToken {
    let api_base =
        deps.providers.get(c.connection.provider).api_base_for(c.api_base.as_deref(), &c.connection.settings);
    AppToken { connection: c.connection, access_token, api_base }
}

fn expiring(c: &StoredConnection, now: i64) -> bool {
    c.connection.token_expires_at.is_some_and(|at| at - now <= REFRESH_MARGIN_MS)
}

/// A usable access token for the connection: the stored one, or a refreshed one when it expires within
/// [`REFRESH_MARGIN_MS`].
pub async fn fresh_token(deps: TokenDeps<'_>, connection_id: &str) -> Result<AppToken, TokenError> {
    let (c, access, _) = load(deps, connection_id).await?;
    match access {
        Some(a) if !expiring(&c, crate::server::store::now_ms()) => Ok(app_token(deps, c, a)),
        seen => refresh_now(deps, connection_id, seen.as_deref()).await,
    }
}

/// After the provider answered 401 to `rejected` (the access token the call carried): a refreshed token, unless
/// another caller already replaced that one (then the replacement).
pub async fn after_unauthorized(
    deps: TokenDeps<'_>,
    connection_id: &str,
    rejected: &str,
) -> Result<AppToken, TokenError> {
    refresh_now(deps, connection_id, Some(rejected)).await
}

/// Refreshes unless the stored access token is no longer `seen` (someone refreshed meanwhile).
async fn refresh_now(deps: TokenDeps<'_>, id: &str, seen: Option<&str>) -> Result<AppToken, TokenError> {
    let lock = refresh_lock(id);
    let _held = lock.lock().await;
    let (c, access, refresh) = load(deps, id).await?;
    let now = crate::server::store::now_ms();
    if let Some(a) = &access {
        if Some(a.as_str()) != seen && !expiring(&c, now) {
            return Ok(app_token(deps, c, a.clone()));
        }
    }
    let Some(refresh) = refresh else {
        let message = "the provider gave no refresh token and the access token is no longer valid".to_string();
        let newly = deps.store.set_connection_error(id, &message).await.map_err(db)?;
        return Err(TokenError::Rejected { message, newly });
    };
    let provider = deps.providers.get(c.connection.provider);
    match oauth::refresh(deps.http, provider, deps.redirect_uri, &refresh).await {
        Ok(t) => {
            let sealed = seal(deps.key, id, &t);
            let old = c.access_token.clone().unwrap_or_default();
            if !deps.store.store_refreshed_tokens(id, &old, &sealed).await.map_err(db)? {
                // Another instance refreshed (or a reconnect happened) first: use what it stored.
                let (c, access, _) = load(deps, id).await?;
                return access.map(|a| app_token(deps, c, a)).ok_or(TokenError::Gone);
            }
            let mut c = c;
            c.connection.token_expires_at = t.expires_at;
            Ok(app_token(deps, c, t.access_token))
        }
        Err(OAuthError::Rejected(message)) => {
            let newly = deps.store.set_connection_error(id, &message).await.map_err(db)?;
            tracing::warn!(connection = %id, provider = %c.connection.provider, "a connection's refresh was refused");
            Err(TokenError::Rejected { message, newly })
        }
        Err(OAuthError::Config(m)) | Err(OAuthError::Unavailable(m)) => Err(TokenError::Unavailable(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_sealed_for_their_connection_and_column() {
        let key = MasterKey::new(&[7u8; 32]);
        let t = TokenSet {
            access_token: "at-123".into(),
            refresh_token: Some("rt-456".into()),
            expires_at: Some(1),
            scopes: None,
            instance_url: None,
        };
        let s = seal(&key, "app_1", &t);
        assert!(!s.access_token.contains("at-123"));
        assert_eq!(key.open_for(&access_aad("app_1"), &s.access_token).unwrap(), "at-123");
        // Not under another connection's binding, nor as the other column.
        assert!(key.open_for(&access_aad("app_2"), &s.access_token).is_err());
        assert!(key.open_for(&refresh_aad("app_1"), &s.access_token).is_err());
    }

    #[tokio::test]
    async fn one_lock_per_connection() {
        let a = refresh_lock("app_a");
        let a2 = refresh_lock("app_a");
        assert!(Arc::ptr_eq(&a, &a2));
        let b = refresh_lock("app_b");
        assert!(!Arc::ptr_eq(&a, &b));
        let _held = a.lock().await;
        assert!(b.try_lock().is_ok() && a2.try_lock().is_err());
    }
}
