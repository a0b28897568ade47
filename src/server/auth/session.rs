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
