//! A real OAuth 2.0 authorisation server for the connected-apps tests: `tests/oauth/server.mjs` runs
//! oidc-provider (npm, pinned in package.json; `make node` installs it) on 127.0.0.1 on a free port, one per
//! test, killed when the [`OAuthServer`] is dropped.
//!
//! What it enforces is the library's own code, not a mock's: the authorization-code grant with PKCE (S256,
//! required of every client), codes single-use and bound to client and redirect URI, client authentication at
//! the token endpoint (Basic or in the body, as registered), refresh tokens, revocation (RFC 7009: revoking a
//! refresh token ends its whole grant) and introspection (RFC 7662), which the provider stand-ins
//! (`providers.rs`) use to check the bearer tokens the hub sends them.
//!
//! The user's side is a fixed test user whose sign-in and consent finish by themselves, so
//! [`OAuthServer::follow_authorize`] can play the browser with plain redirects; [`OAuthServer::set_consent_page`]
//! shows an Allow/Deny page instead (for a browser test), [`OAuthServer::deny_next`] makes the next attempt end
//! with `error=access_denied`.
//!
//! ```ignore
//! let oauth = OAuthServer::start(&[ClientReg::new("hub-google", "secret", &format!("{hub}/oauth/callback"))]).await;
//! // the hub is configured with HUB_OAUTH_GOOGLE_CALENDAR_AUTH_URL = oauth.authorize_url(), …
//! let (code, state) = oauth.follow_authorize(&authorize_url_the_hub_made).await;
//! ```

use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The client id and secret the stand-ins introspect with (registered by the server script itself).
const RESOURCE_SERVER: (&str, &str) = ("standin-resource-server", "standin-resource-server-secret");

/// How a client authenticates at the token endpoint (RFC 6749 §2.3.1): each provider wants one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (Google, Zoom, Salesforce accept it; oauth2's default).
    Basic,
    /// `client_id` and `client_secret` in the form body (HubSpot, Microsoft, Mailchimp).
    Post,
}

/// One OAuth client registered at the server: what a deployment registers at a provider for the hub.
#[derive(Clone, Debug)]
pub struct ClientReg {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub auth: ClientAuth,
    /// The scopes the client may ask for; `None`: any.
    pub scope: Option<String>,
    /// A new refresh token with every refresh (Microsoft's way); otherwise the same one stays valid (Google's).
    pub rotate_refresh_tokens: bool,
    /// Fields added to every token answer, e.g. Salesforce's `instance_url`.
    pub token_extras: Value,
}

impl ClientReg {
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> ClientReg {
        ClientReg {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            auth: ClientAuth::Basic,
            scope: None,
            rotate_refresh_tokens: false,
            token_extras: json!({}),
        }
    }

    pub fn auth(mut self, auth: ClientAuth) -> ClientReg {
        self.auth = auth;
        self
    }

    pub fn scope(mut self, scope: &str) -> ClientReg {
        self.scope = Some(scope.into());
        self
    }

    pub fn rotating(mut self) -> ClientReg {
        self.rotate_refresh_tokens = true;
        self
    }

    pub fn token_extras(mut self, extras: Value) -> ClientReg {
        self.token_extras = extras;
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": self.redirect_uris,
            "token_endpoint_auth_method": match self.auth {
                ClientAuth::Basic => "client_secret_basic",
                ClientAuth::Post => "client_secret_post",
            },
            "scope": self.scope,
            "rotate_refresh_tokens": self.rotate_refresh_tokens,
            "token_extras": self.token_extras,
        })
    }
}

/// What introspection says of an active token.
#[derive(Clone, Debug, Deserialize)]
pub struct Introspection {
    pub active: bool,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    pub scope: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    #[serde(default)]
    pub token_type: Option<String>,
}

/// A successful token answer (RFC 6749 §5.1) with whatever else the server put in it (`extra`).
#[derive(Clone, Debug, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    #[serde(flatten)]
    pub extra: HashMap<String, Value>,
}

/// A refused token request (RFC 6749 §5.2).
#[derive(Clone, Debug, Deserialize)]
pub struct OAuthError {
    #[serde(skip)]
    pub status: u16,
    pub error: String,
    pub error_description: Option<String>,
}

/// A PKCE pair (RFC 7636, S256).
#[derive(Clone, Debug)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        use base64::Engine as _;
        use rand::RngCore as _;
        use sha2::Digest as _;
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
        Pkce { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Pkce {
        Pkce::new()
    }
}

/// Checks tokens at the server's introspection endpoint as the registered resource server.
#[derive(Clone)]
pub struct Introspector {
    url: String,
    http: reqwest::Client,
}

impl Introspector {
    /// The token's claims when it is active; `None` when it is unknown, expired or revoked.
    pub async fn introspect(&self, token: &str) -> Option<Introspection> {
        let answer = self
            .http
            .post(&self.url)
            .form(&[("token", token), ("client_id", RESOURCE_SERVER.0), ("client_secret", RESOURCE_SERVER.1)])
            .send()
            .await
            .expect("introspection request");
        assert!(answer.status().is_success(), "introspection answered {}", answer.status());
        let claims: Introspection = answer.json().await.expect("introspection JSON");
        claims.active.then_some(claims)
    }
}

pub struct OAuthServer {
    child: Child,
    issuer: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl OAuthServer {
    /// Starts a server with these clients registered (more with [`OAuthServer::register`]) and waits until it
    /// answers. Access tokens live an hour until [`OAuthServer::set_access_ttl`] says otherwise.
    pub async fn start(clients: &[ClientReg]) -> OAuthServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("oauth.json");
        let clients: Vec<Value> = clients.iter().map(ClientReg::to_json).collect();
        std::fs::write(&config, json!({ "clients": clients }).to_string()).expect("write the OAuth config");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("node_modules/oidc-provider/package.json").exists(),
            "oidc-provider is not installed: run `make node` (npm install) first"
        );
        // stdin is the server's lifeline: it exits when the pipe closes, even if this process dies unannounced.
        let mut child = Command::new("node")
            .arg(root.join("tests/oauth/server.mjs"))
            .arg(&config)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed to run the connected-apps tests");
        forward_stderr(child.stderr.take().expect("stderr"));
        let stdout = child.stdout.take().expect("stdout");
        // The first line is the port; whatever follows (oidc-provider's notices) is read and dropped, so the
        // server never writes into a closed or full pipe (that killed it at its first revocation).
        let line = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            line
        })
        .await
        .expect("read the port");
        let port: u16 = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the OAuth server did not start (it printed {line:?}; its errors are above)");
            }
        };
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let server = OAuthServer { child, issuer: format!("http://127.0.0.1:{port}"), http, _dir: dir };
        let discovery = format!("{}/.well-known/openid-configuration", server.issuer);
        let ready = server.http.get(&discovery).send().await.map(|r| r.status().is_success());
        assert!(matches!(ready, Ok(true)), "the OAuth server on port {port} does not answer: {ready:?}");
        server
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/auth", self.issuer)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    pub fn revoke_url(&self) -> String {
        format!("{}/token/revocation", self.issuer)
    }

    pub fn introspect_url(&self) -> String {
        format!("{}/token/introspection", self.issuer)
    }

    /// The environment that points the hub's `provider` (an id such as `google_calendar`) at this server with
    /// `client`'s credentials (`HUB_OAUTH_<PROVIDER>_*`; the API base is the stand-in's, set apart).
    pub fn env_for(&self, provider: &str, client: &ClientReg) -> Vec<(String, String)> {
        let p = provider.to_uppercase();
        vec![
            (format!("HUB_OAUTH_{p}_AUTH_URL"), self.authorize_url()),
            (format!("HUB_OAUTH_{p}_TOKEN_URL"), self.token_url()),
            (format!("HUB_OAUTH_{p}_REVOKE_URL"), self.revoke_url()),
            (format!("HUB_OAUTH_{p}_CLIENT_ID"), client.client_id.clone()),
            (format!("HUB_OAUTH_{p}_CLIENT_SECRET"), client.client_secret.clone()),
        ]
    }

    /// What the server says of `token` (an access or refresh token), as a resource server asks it; `None` when
    /// the token is not active (unknown, expired, revoked).
    pub async fn introspect(&self, token: &str) -> Option<Introspection> {
        self.introspector().introspect(token).await
    }

    /// A handle a resource server (a provider stand-in) keeps to check bearer tokens at this server.
    pub fn introspector(&self) -> Introspector {
        Introspector { url: self.introspect_url(), http: self.http.clone() }
    }

    /// Ends the grant `token` (an access or refresh token) belongs to, as a user removing the app at the
    /// provider does: its refresh token is refused with `invalid_grant` from now on and its access tokens are
    /// no longer active. False when the server does not know the token.
    pub async fn revoke_grant(&self, token: &str) -> bool {
        self.control("revoke", json!({ "token": token })).await.is_success()
    }

    /// [`OAuthServer::revoke_grant`] by its refresh token.
    pub async fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        self.revoke_grant(refresh_token).await
    }

    /// How long access tokens issued from now on live (e.g. 2 s for a refresh test).
    pub async fn set_access_ttl(&self, seconds: u64) {
        assert!(self.control("settings", json!({ "access_ttl_seconds": seconds })).await.is_success());
    }

    /// The next authorisation attempt ends with `error=access_denied` at the redirect URI, as when the user
    /// clicks "Cancel" at the provider.
    pub async fn deny_next(&self) {
        assert!(self.control("settings", json!({ "deny_next": true })).await.is_success());
    }

    /// Sign-in and consent show a page with "Allow" and "Deny" buttons (for a browser test) instead of finishing
    /// by themselves.
    pub async fn set_consent_page(&self, page: bool) {
        let consent = if page { "page" } else { "auto" };
        assert!(self.control("settings", json!({ "consent": consent })).await.is_success());
    }

    /// Registers one more client.
    pub async fn register(&self, client: &ClientReg) {
        assert!(self.control("clients", client.to_json()).await.is_success());
    }

    async fn control(&self, what: &str, body: Value) -> reqwest::StatusCode {
        let url = format!("{}/__test/{what}", self.issuer);
        self.http.post(url).json(&body).send().await.expect("OAuth server test control").status()
    }

    /// Plays the user's browser: follows `authorize_url` (one the hub made, or [`OAuthServer::authorize_url_for`])
    /// through sign-in and consent, keeping cookies, and stops at the first redirect away from this server —
    /// to the client's redirect URI — without following it. Returns that URL.
    pub async fn follow_to_redirect(&self, authorize_url: &str) -> url::Url {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        let mut url = url::Url::parse(authorize_url).expect("an absolute authorize URL");
        for _ in 0..10 {
            let answer = browser.get(url.clone()).send().await.expect("the authorize request");
            let status = answer.status();
            let Some(location) = answer.headers().get(reqwest::header::LOCATION) else {
                let body = answer.text().await.unwrap_or_default();
                panic!("{url} answered {status} without a redirect: {body}");
            };
            let next = url.join(location.to_str().expect("location")).expect("a redirect URL");
            if !next.as_str().starts_with(&format!("{}/", self.issuer)) {
                return next;
            }
            url = next;
        }
        panic!("no redirect to the client after ten steps from {authorize_url}");
    }

    /// [`OAuthServer::follow_to_redirect`], and the `code` and `state` of the redirect (panics on an error
    /// redirect such as `error=access_denied`).
    pub async fn follow_authorize(&self, authorize_url: &str) -> (String, String) {
        let redirect = self.follow_to_redirect(authorize_url).await;
        let query: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
        match (query.get("code"), query.get("state")) {
            (Some(code), Some(state)) => (code.clone(), state.clone()),
            _ => panic!("the authorisation ended without a code: {redirect}"),
        }
    }

    /// An authorize URL for `client` as the hub would make it (its first redirect URI, PKCE S256).
    pub fn authorize_url_for(&self, client: &ClientReg, scope: &str, state: &str, pkce: &Pkce) -> String {
        let mut url = url::Url::parse(&self.authorize_url()).expect("authorize URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", &client.redirect_uris[0])
            .append_pair("scope", scope)
            .append_pair("state", state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Exchanges `code` at the token endpoint as `client` with this PKCE `verifier`.
    pub async fn exchange_code(&self, client: &ClientReg, code: &str, verifier: &str) -> Result<Tokens, OAuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uris[0].as_str()),
            ("code_verifier", verifier),
        ];
        self.token_request(client, &form).await
    }

    /// A refresh-token grant as `client`.
    pub async fn refresh(&self, client: &ClientReg, refresh_token: &str) -> Result<Tokens, OAuthError> {
        self.token_request(client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    /// The whole authorisation as a client app does it: tokens for `client` and `scope` (a refresh token too).
    pub async fn connect(&self, client: &ClientReg, scope: &str) -> Tokens {
        let pkce = Pkce::new();
        let url = self.authorize_url_for(client, scope, "s", &pkce);
        let (code, _) = self.follow_authorize(&url).await;
        self.exchange_code(client, &code, &pkce.verifier).await.expect("the code exchange")
    }

    async fn token_request(&self, client: &ClientReg, form: &[(&str, &str)]) -> Result<Tokens, OAuthError> {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(self.token_url());
        match client.auth {
            ClientAuth::Basic => request = request.basic_auth(&client.client_id, Some(&client.client_secret)),
            ClientAuth::Post => {
                form.push(("client_id", &client.client_id));
                form.push(("client_secret", &client.client_secret));
            }
        }
        let answer = request.form(&form).send().await.expect("the token request");
        let status = answer.status().as_u16();
        let body = answer.text().await.expect("the token answer");
        if status == 200 {
            Ok(serde_json::from_str(&body).unwrap_or_else(|e| panic!("token answer {body}: {e}")))
        } else {
            let mut error: OAuthError =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("token error {status} {body}: {e}"));
            error.status = status;
            Err(error)
        }
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's errors reach the test's output; oidc-provider's notes about its development defaults (in-memory
/// storage, generated keys, the runtime's version) do not.
fn forward_stderr(stderr: std::process::ChildStderr) {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !line.starts_with("oidc-provider WARNING") && !line.starts_with("oidc-provider NOTICE") {
                eprintln!("oauth server: {line}");
            }
        }
    });
}
