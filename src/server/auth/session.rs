//! Browser sessions: a random token in an HttpOnly cookie; the database keeps only its SHA-256.

use crate::server::config::Config;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The session cookie over plain http.
pub const COOKIE: &str = "hub_session";
/// The session cookie over https. Browsers take a `__Host-` cookie only with `Secure`, `Path=/` and no
/// `Domain`, so neither a plain-http page nor a sibling subdomain can plant or overwrite it (session fixation).
pub const SECURE_COOKIE: &str = "__Host-hub_session";
pub const TTL_MS: i64 = 7 * 24 * 3600 * 1000;

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    B64URL.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session cookie's name for a request that came over https (`secure`) or not.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// Every session cookie the hub sets is built here (sign-in, portal links), so all follow the request's scheme:
/// over https `Secure` and the `__Host-` name. Pass [`Https::of`] of the request.
pub fn set_cookie(token: &str, secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{flag}", cookie_name(secure), TTL_MS / 1000)
}

pub fn clear_cookie(secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{flag}", cookie_name(secure))
}

/// The session token of a `Cookie:` header, under the name the request's scheme uses only: over https a plain
/// `hub_session` is not taken, since a plain-http page or a subdomain could have planted it.
pub fn token_from(cookie_header: &str, secure: bool) -> Option<&str> {
    cookie_value(cookie_header, cookie_name(secure))
}

/// The value of cookie `name` in a `Cookie:` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The cookie that carries a sign-in between the password and the second factor (over http; over https with
/// the `__Host-` prefix, like the session's).
pub const PENDING_COOKIE: &str = "hub_2fa";
pub const SECURE_PENDING_COOKIE: &str = "__Host-hub_2fa";
/// How long a password stays good for its second step.
pub const PENDING_TTL_MS: i64 = 5 * 60 * 1000;

/// What a sign-in whose password was right still needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingStep {
    /// A code from the authenticator app, or a recovery code.
    Code,
    /// Enrolment first: the tenant requires a second factor and the person has none.
    Enrol,
}

impl PendingStep {
    fn as_str(self) -> &'static str {
        match self {
            PendingStep::Code => "code",
            PendingStep::Enrol => "enrol",
        }
    }
}

/// A sign-in waiting for its second factor: `<user>.<step>.<expires ms>.<HMAC>` under the master key's link key.
/// It names the user and expires; it opens no session by itself (the second step does, with a correct code).
pub fn pending_token(key: &super::crypto::MasterKey, user_id: &str, step: PendingStep, now_ms: i64) -> String {
    let body = format!("{user_id}.{}.{}", step.as_str(), now_ms + PENDING_TTL_MS);
    let sig = key.sign_link(&format!("2fa.{body}"));
    format!("{body}.{sig}")
}

/// The user and step of a pending token whose signature holds and which has not expired.
pub fn open_pending(key: &super::crypto::MasterKey, token: &str, now_ms: i64) -> Option<(String, PendingStep)> {
    if token.len() > 300 {
        return None;
    }
    let (body, sig) = token.rsplit_once('.')?;
    if !key.verify_link(&format!("2fa.{body}"), sig) {
        return None;
    }
    let mut parts = body.splitn(3, '.');
    let (user, step, expires) = (parts.next()?, parts.next()?, parts.next()?);
    let step = match step {
        "code" => PendingStep::Code,
        "enrol" => PendingStep::Enrol,
        _ => return None,
    };
    (expires.parse::<i64>().ok()? > now_ms).then(|| (user.to_string(), step))
}

/// The pending cookie's name for the request's scheme.
pub fn pending_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_PENDING_COOKIE
    } else {
        PENDING_COOKIE
    }
}

/// The pending cookie: HttpOnly, `SameSite=Strict` (only this site's own pages continue a sign-in), five minutes.
pub fn set_pending_cookie(token: &str, secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    let name = pending_cookie_name(secure);
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{flag}", PENDING_TTL_MS / 1000)
}

pub fn clear_pending_cookie(secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{flag}", pending_cookie_name(secure))
}

/// Whether a request reached the hub over https, decided once per request by the router's outermost layer
/// (`app.rs`) and kept in the request's extensions, where handlers and server functions read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Https(pub bool);

impl Https {
    /// https when the public base URL is https (TLS ends before the hub, which never serves TLS itself), or when
    /// a trusted proxy (`HUB_TRUSTED_PROXIES`) says so in `X-Forwarded-Proto`; from anyone else that header is
    /// ignored.
    pub fn decide(config: &Config, peer: Option<IpAddr>, forwarded_proto: Option<&str>) -> Https {
        if config.base_url.scheme() == "https" {
            return Https(true);
        }
        let trusted = peer.is_some_and(|ip| config.trusted_proxies.iter().any(|n| n.contains(&ip)));
        // The first value is the scheme the client used with the outermost proxy.
        let proto = forwarded_proto.and_then(|v| v.split(',').next()).map(str::trim);
        Https(trusted && proto.is_some_and(|p| p.eq_ignore_ascii_case("https")))
    }

    /// The decision stored in a request's extensions; a request that did not pass the router counts as http.
    pub fn of(extensions: &http::Extensions) -> bool {
        extensions.get::<Https>().is_some_and(|h| h.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        assert_eq!(cookie_value("a=1; hub_session=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie_value("a=1", COOKIE), None);
        let c = set_cookie("t", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!set_cookie("t", false).contains("Secure"));
        assert_ne!(new_token(), new_token());
        assert_eq!(token_hash("a").len(), 64);
    }

    #[test]
    fn pending_tokens_name_their_user_and_expire() {
        let key = super::super::crypto::MasterKey::new(&[7; 32]);
        let t = pending_token(&key, "usr_1", PendingStep::Code, 1_000);
        assert_eq!(open_pending(&key, &t, 1_000), Some(("usr_1".into(), PendingStep::Code)));
        assert_eq!(open_pending(&key, &t, 1_000 + PENDING_TTL_MS), None, "expired");
        assert_eq!(open_pending(&super::super::crypto::MasterKey::new(&[8; 32]), &t, 1_000), None);
        let forged = t.replacen("usr_1", "usr_2", 1);
        assert_eq!(open_pending(&key, &forged, 1_000), None, "another user's name breaks the signature");
        let enrol = pending_token(&key, "usr_1", PendingStep::Enrol, 1_000);
        assert_eq!(open_pending(&key, &enrol, 1_000).map(|p| p.1), Some(PendingStep::Enrol));
        let c = set_pending_cookie(&t, true);
        assert!(c.starts_with("__Host-hub_2fa=") && c.contains("HttpOnly") && c.contains("Max-Age=300"));
    }

    #[test]
    fn https_cookies_carry_the_host_prefix_and_http_ones_do_not() {
        let c = set_cookie("t", true);
        assert!(c.starts_with("__Host-hub_session=t; Path=/;") && c.ends_with("; Secure") && !c.contains("Domain"));
        assert!(set_cookie("t", false).starts_with("hub_session=t;"));
        assert!(clear_cookie(true).starts_with("__Host-hub_session=;") && clear_cookie(true).contains("Secure"));
        // Each scheme reads only its own name: a planted plain cookie does not count over https.
        assert_eq!(token_from("hub_session=planted", true), None);
        assert_eq!(token_from("hub_session=planted; __Host-hub_session=real", true), Some("real"));
        assert_eq!(token_from("__Host-hub_session=real", false), None);
    }
}
