//! Secrets at rest (webhook signing secrets, custom header values) are sealed with AES-256-GCM under the master
//! key. Format: `v2:<base64(nonce || ciphertext)>`, with associated data naming the row and column the value
//! belongs to (`webhook:<id>:secret`, `webhook:<id>:header:<name>`), so a sealed value copied into another row
//! (by someone with write access to the database but not the key) does not open there.
//! The first format, `v1:` (no associated data), is only opened at start, to re-seal it as `v2:`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::Path;

/// The AES key for secrets at rest, and an HMAC key derived from it for signed links (portal), so one
/// configured secret covers both and rotating it invalidates both.
#[derive(Clone)]
pub struct MasterKey(Aes256Gcm, [u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(**redacted**)")
    }
}

impl MasterKey {
    pub fn new(key: &[u8; 32]) -> Self {
        use sha2::{Digest, Sha256};
        let mac_key = Sha256::new().chain_update(b"integration-hub link signing v1").chain_update(key).finalize();
        MasterKey(Aes256Gcm::new(key.into()), mac_key.into())
    }

    /// HMAC-SHA256 of a link's contents (base64url).
    pub fn sign_link(&self, msg: &str) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.1).expect("any key length");
        mac.update(msg.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `sig` is this key's signature of `msg`, compared in constant time.
    pub fn verify_link(&self, msg: &str, sig: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.sign_link(msg).as_bytes().ct_eq(sig.as_bytes()).into()
    }

    /// Reads `master.key` beside the SQLite file, creating it (mode 0600) on first start.
    pub fn load_or_create(path: &Path) -> Result<[u8; 32], String> {
        if path.exists() {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read master key {}: {e}", path.display()))?;
            return crate::server::config::parse_master_key(&text)
                .map_err(|e| format!("{} is corrupt: {e}", path.display()));
        }
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        write_private(path, &hex::encode(key))
            .map_err(|e| format!("cannot write master key {}: {e}", path.display()))?;
        Ok(key)
    }

    /// Seals `plaintext` bound to `aad` (see the module comment for the names used).
    pub fn seal_for(&self, aad: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() };
        // Encryption with a valid key and a 12-byte nonce cannot fail.
        let ct = self.0.encrypt(Nonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{SEALED_PREFIX}{}", B64.encode(out))
    }

    /// Opens a `v2:` value sealed for `aad`. A `v1:` value is refused: it is not bound to any row, so it could
    /// have been copied from another one.
    pub fn open_for(&self, aad: &str, sealed: &str) -> Result<String, String> {
        let (nonce, ct) = split(sealed, SEALED_PREFIX)?;
        let payload = Payload { msg: &ct, aad: aad.as_bytes() };
        let pt = self
            .0
            .decrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| "cannot decrypt secret: wrong HUB_MASTER_KEY, or a value copied from another row?")?;
        String::from_utf8(pt).map_err(|_| "decrypted secret is not UTF-8".to_string())
    }

    /// Opens a `v1:` value (no associated data). Only for re-sealing at start ([`crate::server::service::secrets`]).
    pub fn open_legacy_v1(&self, sealed: &str) -> Result<String, String> {
        let (nonce, ct) = split(sealed, LEGACY_PREFIX)?;
        let pt = self
            .0
            .decrypt(Nonce::from_slice(&nonce), ct.as_slice())
            .map_err(|_| "cannot decrypt secret: wrong HUB_MASTER_KEY?")?;
        String::from_utf8(pt).map_err(|_| "decrypted secret is not UTF-8".to_string())
    }
}

/// The current sealed format's prefix: a stored value that starts with it is sealed.
pub const SEALED_PREFIX: &str = "v2:";
/// The first format (no associated data), re-sealed at start.
pub const LEGACY_PREFIX: &str = "v1:";

fn split(sealed: &str, prefix: &str) -> Result<([u8; 12], Vec<u8>), String> {
    let data = sealed
        .strip_prefix(prefix)
        .and_then(|b| B64.decode(b).ok())
        .filter(|d| d.len() > 12)
        .ok_or("sealed secret is malformed")?;
    let (nonce, ct) = data.split_at(12);
    Ok((nonce.try_into().unwrap_or_default(), ct.to_vec()))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_wrong_key() {
        let k = MasterKey::new(&[7; 32]);
        let sealed = k.seal_for("webhook:wh_1:secret", "whsec_abc");
        assert!(sealed.starts_with("v2:"));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(k.open_for("webhook:wh_1:secret", &sealed).unwrap(), "whsec_abc");
        assert!(MasterKey::new(&[8; 32]).open_for("webhook:wh_1:secret", &sealed).unwrap_err().contains("wrong"));
        assert!(k.open_for("webhook:wh_1:secret", "garbage").is_err());
    }

    #[test]
    fn sealed_value_opens_only_for_its_own_row() {
        let k = MasterKey::new(&[7; 32]);
        let sealed = k.seal_for("webhook:wh_1:secret", "whsec_abc");
        assert!(k.open_for("webhook:wh_2:secret", &sealed).is_err());
        assert!(k.open_for("webhook:wh_1:header:x-api-key", &sealed).is_err());
        // v1 values (no associated data) never open as rows' values, only for re-sealing.
        let mut nonce = [0u8; 12];
        nonce[0] = 1;
        let ct = k.0.encrypt(Nonce::from_slice(&nonce), b"whsec_abc".as_slice()).unwrap();
        let v1 = format!("v1:{}", B64.encode([nonce.as_slice(), &ct].concat()));
        assert!(k.open_for("webhook:wh_1:secret", &v1).is_err());
        assert_eq!(k.open_legacy_v1(&v1).unwrap(), "whsec_abc");
        assert!(k.open_legacy_v1(&sealed).is_err());
    }

    #[test]
    fn link_signatures() {
        let k = MasterKey::new(&[7; 32]);
        let sig = k.sign_link("ten_1.1700000000000");
        assert!(k.verify_link("ten_1.1700000000000", &sig));
        assert!(!k.verify_link("ten_2.1700000000000", &sig));
        assert!(!MasterKey::new(&[8; 32]).verify_link("ten_1.1700000000000", &sig));
    }

    #[test]
    fn key_file_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&p).unwrap();
        let b = MasterKey::load_or_create(&p).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
