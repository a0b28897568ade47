//! Unsubscribe links: every email carries one of its own (`List-Unsubscribe`, RFC 8058) naming the endpoint and
//! the address, signed by the hub. The link is self-contained (nothing is stored per message): its signature is an
//! HMAC-SHA256 under a key derived from the master key for this purpose only, so it cannot be forged or moved to
//! another address, and rotating the master key retires every link sent. The sender makes them
//! (`delivery/email.rs`); the service opens them (`service/unsubscribe.rs`).

use super::crypto::MasterKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the unsubscribe key is derived for; another purpose (another version of the link) takes another label.
const PURPOSE: &str = "integration-hub unsubscribe link key v1";
/// Longer than any link the hub makes (an id and an address of at most 254 bytes, in base64, and a MAC):
/// anything longer is refused before it is decoded.
const MAX_TOKEN_LEN: usize = 1024;

/// The key unsubscribe links are signed with.
#[derive(Clone)]
pub struct LinkKey(Hmac<Sha256>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(**redacted**)")
    }
}

impl LinkKey {
    /// Derived from the master key's link-signing key by HMAC over [`PURPOSE`]: portal links and unsubscribe
    /// links never share a key, and no signature made for one purpose checks for the other.
    pub fn new(master: &MasterKey) -> LinkKey {
        let derived = master.sign_link(PURPOSE);
        LinkKey(Hmac::new_from_slice(derived.as_bytes()).expect("HMAC takes a key of any length"))
    }

    /// The token of `address` on endpoint `webhook_id`: `base64url(id "\n" address) "." base64url(mac)`.
    pub fn token(&self, webhook_id: &str, address: &str) -> String {
        let payload = format!("{webhook_id}\n{address}");
        let mut mac = self.0.clone();
        mac.update(payload.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload))
    }

    /// The endpoint id and address a token names, if this key signed it (checked in constant time).
    pub fn open(&self, token: &str) -> Option<(String, String)> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (payload, sig) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let mut mac = self.0.clone();
        mac.update(&payload);
        mac.verify_slice(&sig).ok()?;
        let payload = String::from_utf8(payload).ok()?;
        let (id, address) = payload.split_once('\n')?;
        (!id.is_empty() && !address.is_empty()).then(|| (id.to_string(), address.to_string()))
    }
}

/// The unsubscribe page's URL for a token, under the hub's public address (`HUB_BASE_URL`).
pub fn link(base_url: &url::Url, token: &str) -> String {
    format!("{}/unsubscribe/{token}", base_url.as_str().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> LinkKey {
        LinkKey::new(&MasterKey::new(&[byte; 32]))
    }

    #[test]
    fn unsubscribe_token_names_its_endpoint_and_address() {
        let k = key(7);
        let t = k.token("wh_1", "ops+alerts@example.com");
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')), "url-safe: {t}");
        assert_eq!(k.open(&t), Some(("wh_1".into(), "ops+alerts@example.com".into())));
        assert_eq!(k.token("wh_1", "ops+alerts@example.com"), t, "the same link every time");
    }

    #[test]
    fn unsubscribe_token_forgeries_are_refused() {
        let k = key(7);
        let t = k.token("wh_1", "a@example.com");
        assert_eq!(key(8).open(&t), None, "another master key");
        let (payload, sig) = t.split_once('.').unwrap();
        let other = URL_SAFE_NO_PAD.encode("wh_1\nb@example.com");
        assert_eq!(k.open(&format!("{other}.{sig}")), None, "another address under the same signature");
        assert_eq!(k.open(payload), None);
        assert_eq!(k.open(&format!("{payload}.")), None);
        assert_eq!(k.open(&format!("{payload}.{}", &sig[1..])), None);
        for junk in ["", ".", "..", "a.b", "%%%.%%%", "wh_1", &"A".repeat(5000)] {
            assert_eq!(k.open(junk), None, "{junk:?}");
        }
        // A portal link's signature (the master key's own link key) is not an unsubscribe signature.
        let master = MasterKey::new(&[7; 32]);
        let payload_text = "wh_1\na@example.com";
        let portal_sig = master.sign_link(payload_text);
        assert_eq!(k.open(&format!("{}.{portal_sig}", URL_SAFE_NO_PAD.encode(payload_text))), None);
        // Signed, but naming nothing.
        let mut mac = k.0.clone();
        mac.update(b"\n");
        let empty = format!("{}.{}", URL_SAFE_NO_PAD.encode("\n"), URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        assert_eq!(k.open(&empty), None);
    }

    #[test]
    fn unsubscribe_links_sit_under_the_base_url() {
        let base = url::Url::parse("https://hub.example.com/").unwrap();
        assert_eq!(link(&base, "abc.def"), "https://hub.example.com/unsubscribe/abc.def");
    }
}
