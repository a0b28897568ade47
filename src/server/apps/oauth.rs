//! The OAuth 2.0 authorisation-code flow with PKCE, through the `oauth2` crate: the authorize URL (S256
//! challenge, random `state`, the provider's extra parameters), the code exchange, the refresh and the
//! revocation (RFC 7009, where the provider has it). Every request goes through the hub's SSRF-guarded reqwest
//! client (`delivery::sender::client`), which follows no redirects: a token endpoint on a private address is
//! refused unless `HUB_ALLOW_PRIVATE_TARGETS` allows it, as for any endpoint.
//!
//! Nothing here stores anything or logs a token: the service and `tokens` seal what comes back.

use super::providers::{ClientAuth, Provider};
use crate::model::ProviderId;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    RevocationUrl, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What some providers add to the token answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderTokenFields {
    /// Salesforce: where this org's API answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
}

impl ExtraTokenFields for ProviderTokenFields {}

type TokenAnswer = StandardTokenResponse<ProviderTokenFields, BasicTokenType>;

type AppClient = Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

/// How long the hub waits for a provider's token or revocation endpoint.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a token request did not give tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// The provider is not configured (no client id or secret) or a configured URL is not one.
    Config(String),
    /// The provider refused the grant for good (`invalid_grant`, `invalid_client`, `unauthorized_client`, …):
    /// its message, to show the tenant. A refresh refused this way puts the connection in `error`.
    Rejected(String),
    /// The provider could not be reached or answered something else (5xx, not JSON): worth trying again later.
    Unavailable(String),
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OAuthError::Config(m) | OAuthError::Rejected(m) | OAuthError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// Tokens from a code exchange or a refresh, in clear (sealed before they are stored).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    /// None when the answer had none (a refresh that does not rotate it).
    pub refresh_token: Option<String>,
    /// Unix milliseconds; None when the provider did not say.
    pub expires_at: Option<i64>,
    /// Granted scopes when the answer listed them.
    pub scopes: Option<Vec<String>>,
    /// Salesforce's `instance_url`.
    pub instance_url: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens never reach a log, not even through a debug print.
        f.debug_struct("TokenSet")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

/// An authorize URL with what must be kept to finish it: the `state` (its hash is stored, bound to the session)
/// and the PKCE verifier (sealed).
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub verifier: String,
}

fn client(p: &Provider, redirect_uri: &str) -> Result<AppClient, OAuthError> {
    let (Some(id), Some(secret)) = (&p.client_id, &p.client_secret) else {
        return Err(OAuthError::Config(format!(
            "{} is not configured: set {}",
            p.id.label(),
            p.missing_env().join(" and ")
        )));
    };
    let bad =
        |what: &str, e: url::ParseError| OAuthError::Config(format!("{}{what} is not a URL: {e}", p.id.env_prefix()));
    Ok(Client::new(ClientId::new(id.clone()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_auth_uri(AuthUrl::new(p.auth_url.clone()).map_err(|e| bad("AUTH_URL", e))?)
        .set_token_uri(TokenUrl::new(p.token_url.clone()).map_err(|e| bad("TOKEN_URL", e))?)
        .set_revocation_url_option(
            p.revoke_url.clone().map(RevocationUrl::new).transpose().map_err(|e| bad("REVOKE_URL", e))?,
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(|e| bad(" redirect URI", e))?)
        .set_auth_type(match p.client_auth {
            ClientAuth::Basic => AuthType::BasicAuth,
            ClientAuth::Post => AuthType::RequestBody,
        }))
}

/// The URL to send the person to, with a fresh `state` and PKCE S256 challenge.
pub fn authorize_url(p: &Provider, redirect_uri: &str) -> Result<Authorization, OAuthError> {
    let c = client(p, redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = c.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
    for s in &p.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    for (k, v) in &p.extra_auth_params {
        req = req.add_extra_param(k.clone(), v.clone());
    }
    let (url, state) = req.url();
    Ok(Authorization { url: url.into(), state: state.secret().clone(), verifier: verifier.secret().clone() })
}

/// Exchanges the callback's `code` with the PKCE `verifier` kept since the authorize URL was made.
pub async fn exchange_code(
    http: &reqwest::Client,
    p: &Provider,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<TokenSet, OAuthError> {
    let c = client(p, redirect_uri)?;
    let req = c
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
    let answer = timed(p.id, req.request_async(http)).await?;
    Ok(token_set(&answer))
}

/// A refresh-token grant. `Rejected` means the refresh token is no good any more (revoked, expired): the
/// connection needs a reconnect.
pub async fn refresh(
    http: &reqwest::Client,
    p: &Provider,
    redirect_uri: &str,
    refresh_token: &str,
) -> Result<TokenSet, OAuthError> {
    let c = client(p, redirect_uri)?;
    let rt = RefreshToken::new(refresh_token.to_string());
    let answer = timed(p.id, c.exchange_refresh_token(&rt).request_async(http)).await?;
    Ok(token_set(&answer))
}

/// Revokes `token` at the provider (the refresh token when there is one: that ends the whole grant). Ok(false)
/// when the provider has no revocation endpoint.
pub async fn revoke(
    http: &reqwest::Client,
    p: &Provider,
    redirect_uri: &str,
    token: &str,
    is_refresh: bool,
) -> Result<bool, OAuthError> {
    if p.revoke_url.is_none() {
        return Ok(false);
    }
    let c = client(p, redirect_uri)?;
    if p.revoke_url.as_deref().is_some_and(|u| u.starts_with("http://")) {
        return revoke_plain(http, p, token, is_refresh).await;
    }
    let token = if is_refresh {
        StandardRevocableToken::RefreshToken(RefreshToken::new(token.to_string()))
    } else {
        StandardRevocableToken::AccessToken(oauth2::AccessToken::new(token.to_string()))
    };
    let req = c.revoke_token(token).map_err(|e| OAuthError::Config(e.to_string()))?;
    match tokio::time::timeout(TOKEN_TIMEOUT, req.request_async(http)).await {
        Err(_) => Err(OAuthError::Unavailable(format!("{} did not answer the revocation in time", p.id.label()))),
        Ok(Ok(())) => Ok(true),
        Ok(Err(e)) => Err(classify(p.id, e)),
    }
}

/// RFC 7009 over plain http, which the `oauth2` crate refuses (the RFC wants TLS): only a deployment that points
/// `HUB_OAUTH_<P>_REVOKE_URL` at a sandbox or a local server on http gets here; the request is the same (form
/// `token` and `token_type_hint`, the client authenticated as at the token endpoint), through the guarded client.
async fn revoke_plain(http: &reqwest::Client, p: &Provider, token: &str, is_refresh: bool) -> Result<bool, OAuthError> {
    let (Some(url), Some(id), Some(secret)) = (&p.revoke_url, &p.client_id, &p.client_secret) else {
        return Ok(false);
    };
    let hint = if is_refresh { "refresh_token" } else { "access_token" };
    let mut form = vec![("token", token), ("token_type_hint", hint)];
    let mut req = http.post(url);
    match p.client_auth {
        ClientAuth::Basic => req = req.basic_auth(id, Some(secret)),
        ClientAuth::Post => form.extend([("client_id", id.as_str()), ("client_secret", secret.as_str())]),
    }
    let answer = tokio::time::timeout(TOKEN_TIMEOUT, req.form(&form).send())
        .await
        .map_err(|_| OAuthError::Unavailable(format!("{} did not answer the revocation in time", p.id.label())))?
        .map_err(|e| OAuthError::Unavailable(format!("{} could not be reached: {e}", p.id.label())))?;
    let status = answer.status();
    if status.is_success() {
        return Ok(true);
    }
    let body = answer.text().await.unwrap_or_default();
    Err(OAuthError::Rejected(format!(
        "{}: revocation answered {status}: {}",
        p.id.label(),
        &body[..body.len().min(300)]
    )))
}

/// Mailchimp's metadata (`GET <login>/oauth2/metadata` with `Authorization: OAuth <token>`): the account's data
/// centre and name. `token_url` is the provider's token URL (the metadata sits beside it).
pub async fn mailchimp_metadata(
    http: &reqwest::Client,
    token_url: &str,
    access_token: &str,
) -> Result<(String, Option<String>), OAuthError> {
    let url = format!("{}/metadata", token_url.trim_end_matches('/').trim_end_matches("/token"));
    let answer = tokio::time::timeout(
        TOKEN_TIMEOUT,
        http.get(&url).header("Authorization", format!("OAuth {access_token}")).send(),
    )
    .await
    .map_err(|_| OAuthError::Unavailable("Mailchimp's metadata did not answer in time".into()))?
    .map_err(|e| OAuthError::Unavailable(format!("Mailchimp's metadata could not be read: {e}")))?;
    if !answer.status().is_success() {
        return Err(OAuthError::Unavailable(format!("Mailchimp's metadata answered {}", answer.status())));
    }
    let meta: serde_json::Value =
        answer.json().await.map_err(|e| OAuthError::Unavailable(format!("Mailchimp's metadata: {e}")))?;
    let api = meta["api_endpoint"]
        .as_str()
        .map(str::to_string)
        .or_else(|| meta["dc"].as_str().map(|dc| format!("https://{dc}.api.mailchimp.com")))
        .ok_or_else(|| OAuthError::Unavailable("Mailchimp's metadata named no data centre".into()))?;
    Ok((api, meta["accountname"].as_str().map(str::to_string)))
}

async fn timed<F, RE>(id: ProviderId, f: F) -> Result<TokenAnswer, OAuthError>
where
    F: std::future::Future<Output = Result<TokenAnswer, RequestTokenError<RE, BasicErrorResponse>>>,
    RE: std::error::Error + 'static,
{
    match tokio::time::timeout(TOKEN_TIMEOUT, f).await {
        Err(_) => Err(OAuthError::Unavailable(format!("{}'s token endpoint did not answer in time", id.label()))),
        Ok(r) => r.map_err(|e| classify(id, e)),
    }
}

fn classify<RE, T>(id: ProviderId, e: RequestTokenError<RE, T>) -> OAuthError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + 'static + std::fmt::Display,
{
    match e {
        RequestTokenError::ServerResponse(r) => OAuthError::Rejected(format!("{}: {r}", id.label())),
        RequestTokenError::Request(e) => {
            // The guarded client's refusal (a private address) reads as the cause, not "request failed".
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                cause = format!("{cause}: {s}");
                source = s.source();
            }
            OAuthError::Unavailable(format!("{} could not be reached: {cause}", id.label()))
        }
        RequestTokenError::Parse(_, body) => OAuthError::Unavailable(format!(
            "{} answered something that is not a token: {}",
            id.label(),
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )),
        RequestTokenError::Other(m) => OAuthError::Unavailable(format!("{}: {m}", id.label())),
    }
}

fn token_set(t: &TokenAnswer) -> TokenSet {
    let now = chrono::Utc::now().timestamp_millis();
    TokenSet {
        access_token: t.access_token().secret().clone(),
        refresh_token: t.refresh_token().map(|r| r.secret().clone()),
        // `expires_in: 0` is Mailchimp's "never".
        expires_at: t.expires_in().filter(|d| !d.is_zero()).map(|d| now + d.as_millis() as i64),
        scopes: t.scopes().map(|s| s.iter().map(|x| x.to_string()).collect()),
        instance_url: t.extra_fields().instance_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::apps::providers::Providers;

    #[test]
    fn the_authorize_url_carries_pkce_s256_state_scopes_and_extra_parameters() {
        let p = Providers::default().with_vars([
            ("HUB_OAUTH_GOOGLE_CALENDAR_CLIENT_ID", "cid"),
            ("HUB_OAUTH_GOOGLE_CALENDAR_CLIENT_SECRET", "s"),
        ]);
        let a = authorize_url(p.get(ProviderId::GoogleCalendar), "https://hub.example.com/oauth/callback").unwrap();
        let url = url::Url::parse(&a.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["redirect_uri"], "https://hub.example.com/oauth/callback");
        assert_eq!(q["scope"], "https://www.googleapis.com/auth/calendar.events");
        assert_eq!((q["access_type"].as_str(), q["prompt"].as_str()), ("offline", "consent"));
        use base64::Engine;
        use sha2::Digest;
        let expected =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(a.verifier.as_bytes()));
        assert_eq!(q["code_challenge"], expected);
        assert!(!a.url.contains("client_secret") && !a.url.contains(&a.verifier));
        assert!(a.state.len() >= 16);
    }

    #[test]
    fn an_unconfigured_provider_says_what_to_set() {
        let p = Providers::default();
        let Err(OAuthError::Config(m)) = authorize_url(p.get(ProviderId::Zoom), "https://h/oauth/callback") else {
            panic!("expected a configuration error")
        };
        assert!(m.contains("HUB_OAUTH_ZOOM_CLIENT_ID"), "{m}");
    }
}
