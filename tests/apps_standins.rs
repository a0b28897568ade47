//! The connected-apps test infrastructure checked on its own (no hub): the OAuth server really enforces PKCE,
//! issues and honours refresh tokens and refuses a revoked one; the provider stand-ins refuse what the real APIs
//! refuse (a malformed body, an expired or unknown token) and accept what they accept. The hub's tests
//! (tests/apps_*.rs) rely on both: a stand-in that accepted anything would let a wrong request pass.

mod common;

use common::oauth::{ClientAuth, ClientReg, OAuthServer, Pkce};
use std::time::Duration;

const CALLBACK: &str = "http://127.0.0.1:9/oauth/callback";

fn client() -> ClientReg {
    ClientReg::new("hub-test-client", "hub-test-secret", CALLBACK)
}

/// A code is only exchanged with the verifier its challenge was made from, and only once; an authorisation
/// request without a challenge is refused at the redirect.
#[test]
fn pkce_is_enforced() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        let pkce = Pkce::new();
        let (code, state) = oauth.follow_authorize(&oauth.authorize_url_for(&c, "calendar", "st-1", &pkce)).await;
        assert_eq!(state, "st-1");

        let wrong = oauth.exchange_code(&c, &code, &Pkce::new().verifier).await.unwrap_err();
        assert_eq!((wrong.status, wrong.error.as_str()), (400, "invalid_grant"), "{wrong:?}");

        let tokens = oauth.exchange_code(&c, &code, &pkce.verifier).await.expect("the right verifier");
        assert_eq!(tokens.scope.as_deref(), Some("calendar"));
        assert!(tokens.refresh_token.is_some(), "a refresh token with the authorization code");
        let claims = oauth.introspect(&tokens.access_token).await.expect("the access token is active");
        assert_eq!(claims.client_id.as_deref(), Some("hub-test-client"));
        assert_eq!(claims.sub.as_deref(), Some("test-user"));

        let again = oauth.exchange_code(&c, &code, &pkce.verifier).await.unwrap_err();
        assert_eq!(again.error, "invalid_grant", "a code is single-use: {again:?}");

        let mut no_challenge = url::Url::parse(&oauth.authorize_url_for(&c, "calendar", "st-2", &pkce)).unwrap();
        let kept: Vec<(String, String)> =
            no_challenge.query_pairs().into_owned().filter(|(k, _)| !k.starts_with("code_challenge")).collect();
        no_challenge.query_pairs_mut().clear().extend_pairs(kept);
        let redirect = oauth.follow_to_redirect(no_challenge.as_str()).await;
        assert!(redirect.as_str().starts_with(CALLBACK), "{redirect}");
        assert!(redirect.query_pairs().any(|(k, v)| k == "error" && v == "invalid_request"), "{redirect}");
    });
}

/// An access token expires after the TTL set; the refresh token then gets a fresh one (and stays valid, as
/// Google's do); a client registered to rotate gets a new refresh token and the used one is refused.
#[test]
fn refresh_renews_an_expired_access_token() {
    common::run(async {
        let c = client();
        let rotating = ClientReg::new("rotating", "rotating-secret", CALLBACK).auth(ClientAuth::Post).rotating();
        let oauth = OAuthServer::start(&[c.clone(), rotating.clone()]).await;
        oauth.set_access_ttl(1).await;
        let first = oauth.connect(&c, "calendar").await;
        assert_eq!(first.expires_in, Some(1));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(oauth.introspect(&first.access_token).await.is_none(), "expired after its TTL");

        let refresh = first.refresh_token.clone().unwrap();
        let second = oauth.refresh(&c, &refresh).await.expect("refresh");
        assert_ne!(second.access_token, first.access_token);
        assert!(oauth.introspect(&second.access_token).await.is_some());
        oauth.refresh(&c, &refresh).await.expect("a refresh token that does not rotate stays valid");

        let r1 = oauth.connect(&rotating, "contacts").await.refresh_token.unwrap();
        let r2 = oauth.refresh(&rotating, &r1).await.expect("refresh").refresh_token.unwrap();
        assert_ne!(r1, r2, "a rotating client gets a new refresh token");
        assert_eq!(oauth.refresh(&rotating, &r1).await.unwrap_err().error, "invalid_grant");

        let wrong_secret = ClientReg { client_secret: "nope".into(), ..c.clone() };
        assert_eq!(oauth.refresh(&wrong_secret, &refresh).await.unwrap_err().error, "invalid_client");
    });
}

/// A grant the user ended at the provider (or the client revoked, RFC 7009) refuses its refresh token with
/// invalid_grant, and its access tokens are no longer active.
#[test]
fn revoked_refresh_token_is_refused() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        let tokens = oauth.connect(&c, "calendar").await;
        let refresh = tokens.refresh_token.clone().unwrap();
        assert!(oauth.revoke_refresh_token(&refresh).await);
        let refused = oauth.refresh(&c, &refresh).await.unwrap_err();
        assert_eq!((refused.status, refused.error.as_str()), (400, "invalid_grant"), "{refused:?}");
        assert!(oauth.introspect(&tokens.access_token).await.is_none(), "the grant's access token ended too");

        // The client's own revocation at the RFC 7009 endpoint.
        let other = oauth.connect(&c, "calendar").await;
        let answer = reqwest::Client::new()
            .post(oauth.revoke_url())
            .basic_auth(&c.client_id, Some(&c.client_secret))
            .form(&[("token", other.refresh_token.as_deref().unwrap()), ("token_type_hint", "refresh_token")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(
            oauth.refresh(&c, other.refresh_token.as_deref().unwrap()).await.unwrap_err().error,
            "invalid_grant"
        );
        assert!(oauth.introspect(&other.access_token).await.is_none());
    });
}

/// A user who clicks "Cancel" sends the browser back with error=access_denied and the state.
#[test]
fn denied_consent_redirects_with_access_denied() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        oauth.deny_next().await;
        let redirect = oauth.follow_to_redirect(&oauth.authorize_url_for(&c, "calendar", "st-9", &Pkce::new())).await;
        let q: std::collections::HashMap<String, String> = redirect.query_pairs().into_owned().collect();
        assert_eq!(q.get("error").map(String::as_str), Some("access_denied"), "{redirect}");
        assert_eq!(q.get("state").map(String::as_str), Some("st-9"));
        // Only the next one.
        oauth.connect(&c, "calendar").await;
    });
}
