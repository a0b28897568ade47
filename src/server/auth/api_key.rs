//! API key format: `ihk_live_<8-char id>_<43-char secret>`.
//!
//! * The recognisable `ihk_live_` prefix lets secret scanners (GitHub, gitleaks)
//!   and humans spot leaked keys.
//! * The public key id lets us look up the key row without scanning, and is
//!   shown in the UI/logs as `ihk_live_<id>` (the [`GeneratedKey::prefix`]).
//! * Only the SHA-256 of the full key is stored; the secret has 256 bits of
//!   entropy, so a fast unsalted hash is appropriate (no password stretching
//!   needed) and comparison is constant-time.
//!
//! [`parse`] is strict and runs on untrusted `Authorization` headers, so it
//! must never panic and never echo the key back in errors.

use std::fmt;

use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const KEY_PREFIX: &str = "ihk_live_";
pub const KEY_ID_LEN: usize = 8;
pub const SECRET_LEN: usize = 43;
/// `ihk_live_` + id + `_` + secret.
pub const KEY_LEN: usize = KEY_PREFIX.len() + KEY_ID_LEN + 1 + SECRET_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly minted key. `plaintext` is shown to the user exactly once.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    pub key_id: String,
    pub plaintext: String,
    /// `ihk_live_<id>`: safe to display and log.
    pub prefix: String,
    /// Lowercase hex SHA-256 of `plaintext`; what the database stores.
    pub hash: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key_id", &self.key_id)
            .field("plaintext", &"**redacted**")
            .field("prefix", &self.prefix)
            .field("hash", &self.hash)
            .finish()
    }
}

/// A syntactically valid presented key, reduced to what lookup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    pub key_id: String,
    /// Hex SHA-256 of the presented key, to compare with the stored hash.
    pub hash: String,
}

/// Why a presented key is malformed. Messages never include the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("API key has the wrong length")]
    WrongLength,
    #[error("API key must start with \"ihk_live_\"")]
    BadPrefix,
    #[error("API key id is malformed")]
    BadKeyId,
    #[error("API key is malformed (missing '_' after the key id)")]
    BadSeparator,
    #[error("API key secret is malformed")]
    BadSecret,
}

fn is_base62(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_alphanumeric)
}

/// Is `s` a well-formed key id (8 base62 chars)?
pub fn is_valid_key_id(s: &str) -> bool {
    s.len() == KEY_ID_LEN && is_base62(s.as_bytes())
}

fn random_key_id() -> String {
    // gen_range is unbiased (rejection sampling), unlike `byte % 62`.
    (0..KEY_ID_LEN).map(|_| char::from(BASE62[OsRng.gen_range(0..BASE62.len())])).collect()
}

/// Base62-encode a 256-bit big-endian number as exactly 43 digits
/// (62^43 > 2^256 > 62^42), left-padded with '0'.
fn base62_fixed(bytes: [u8; 32]) -> String {
    let mut num = bytes;
    let mut digits = [b'0'; SECRET_LEN];
    for slot in digits.iter_mut().rev() {
        // Long division of `num` by 62; the remainder is the next digit.
        let mut rem: u32 = 0;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        *slot = BASE62[rem as usize];
    }
    digits.iter().map(|&d| char::from(d)).collect()
}

fn build(key_id: String) -> GeneratedKey {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let plaintext = format!("{KEY_PREFIX}{key_id}_{}", base62_fixed(secret));
    GeneratedKey { hash: hash_key(&plaintext), prefix: format!("{KEY_PREFIX}{key_id}"), key_id, plaintext }
}

/// Mint a new key with a random id and secret (OS CSPRNG).
///
/// The id is random, not guaranteed unique: the caller's `UNIQUE(key_id)`
/// constraint should trigger a retry on the (62^8 ≈ 2·10^14) rare collision.
pub fn generate() -> GeneratedKey {
    build(random_key_id())
}

/// Rotate: same id, fresh secret. Fails if `key_id` is not a valid id (which
/// would otherwise produce a key that [`parse`] rejects).
pub fn generate_secret_for(key_id: &str) -> Result<GeneratedKey, KeyParseError> {
    if !is_valid_key_id(key_id) {
        return Err(KeyParseError::BadKeyId);
    }
    Ok(build(key_id.to_string()))
}

/// Strictly parse a presented key and hash it for lookup.
pub fn parse(s: &str) -> Result<ParsedKey, KeyParseError> {
    // Work on bytes: after the length check, non-ASCII input is rejected by
    // the per-section checks, so we never slice inside a UTF-8 character.
    let b = s.as_bytes();
    if b.len() != KEY_LEN {
        return Err(KeyParseError::WrongLength);
    }
    let (prefix, rest) = b.split_at(KEY_PREFIX.len());
    if prefix != KEY_PREFIX.as_bytes() {
        return Err(KeyParseError::BadPrefix);
    }
    let (id, rest) = rest.split_at(KEY_ID_LEN);
    if !is_base62(id) {
        return Err(KeyParseError::BadKeyId);
    }
    let (sep, secret) = rest.split_at(1);
    if sep != b"_" {
        return Err(KeyParseError::BadSeparator);
    }
    if !is_base62(secret) {
        return Err(KeyParseError::BadSecret);
    }
    // All checked bytes are ASCII, so this conversion cannot fail.
    let key_id = std::str::from_utf8(id).map_err(|_| KeyParseError::BadKeyId)?.to_string();
    Ok(ParsedKey { key_id, hash: hash_key(s) })
}

/// Lowercase hex SHA-256 of the full plaintext key.
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// Constant-time comparison of two hashes (length is not secret).
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    // Explicit: proptest's prelude re-exports its own `Rng`.
    use rand::Rng;

    #[test]
    fn generated_shape() {
        let k = generate();
        assert_eq!(KEY_LEN, 61);
        assert_eq!(k.plaintext.len(), KEY_LEN);
        assert!(k.plaintext.starts_with("ihk_live_"));
        assert_eq!(k.key_id.len(), 8);
        assert!(is_valid_key_id(&k.key_id));
        assert_eq!(k.prefix, format!("ihk_live_{}", k.key_id));
        assert!(k.plaintext.starts_with(&format!("{}_", k.prefix)));
        assert_eq!(k.hash.len(), 64);
        assert_eq!(k.hash, hash_key(&k.plaintext));
        let p = parse(&k.plaintext).unwrap();
        assert_eq!(p.key_id, k.key_id);
        assert_eq!(p.hash, k.hash);
        assert!(hashes_equal(&p.hash, &k.hash));
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.plaintext, b.plaintext);
        assert_ne!(a.key_id, b.key_id);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn rotation_keeps_id() {
        let a = generate();
        let b = generate_secret_for(&a.key_id).unwrap();
        assert_eq!(a.key_id, b.key_id);
        assert_eq!(a.prefix, b.prefix);
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(parse(&b.plaintext).unwrap().key_id, a.key_id);
        assert_eq!(generate_secret_for("short"), Err(KeyParseError::BadKeyId));
        assert_eq!(generate_secret_for("abc_defg"), Err(KeyParseError::BadKeyId));
        assert_eq!(generate_secret_for("abcdéfg"), Err(KeyParseError::BadKeyId));
    }

    #[test]
    fn debug_redacts_plaintext() {
        let k = generate();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&k.plaintext));
        let secret_part = &k.plaintext[KEY_PREFIX.len() + KEY_ID_LEN + 1..];
        assert!(!dbg.contains(secret_part));
        assert!(dbg.contains("**redacted**"));
        assert!(dbg.contains(&k.key_id));
    }

    #[test]
    fn base62_encoding() {
        assert_eq!(base62_fixed([0; 32]), "0".repeat(43));
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(base62_fixed(one), format!("{}1", "0".repeat(42)));
        one[31] = 62;
        assert_eq!(base62_fixed(one), format!("{}10", "0".repeat(41)));
        // 2^256 - 1 in base62 (cross-checked with Python).
        assert_eq!(base62_fixed([0xff; 32]), "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1");
        // Every secret is exactly 43 chars, so the max must fit.
        assert_eq!(base62_fixed([0xff; 32]).len(), 43);
    }

    #[test]
    fn parse_rejections() {
        let good = generate().plaintext;
        assert!(parse(&good).is_ok());
        assert_eq!(parse(""), Err(KeyParseError::WrongLength));
        assert_eq!(parse(&good[..60]), Err(KeyParseError::WrongLength));
        assert_eq!(parse(&format!("{good}x")), Err(KeyParseError::WrongLength));
        assert_eq!(parse(&format!(" {}", &good[1..])), Err(KeyParseError::BadPrefix));
        assert_eq!(parse(&good.replacen("ihk_live_", "ihk_test_", 1)), Err(KeyParseError::BadPrefix));
        assert_eq!(parse(&good.replacen("ihk_live_", "IHK_LIVE_", 1)), Err(KeyParseError::BadPrefix));
        let mut b = good.clone().into_bytes();
        b[10] = b'-';
        assert_eq!(parse(std::str::from_utf8(&b).unwrap()), Err(KeyParseError::BadKeyId));
        let mut b = good.clone().into_bytes();
        b[17] = b'x';
        assert_eq!(parse(std::str::from_utf8(&b).unwrap()), Err(KeyParseError::BadSeparator));
        let mut b = good.clone().into_bytes();
        b[40] = b' ';
        assert_eq!(parse(std::str::from_utf8(&b).unwrap()), Err(KeyParseError::BadSecret));
        let mut b = good.clone().into_bytes();
        b[60] = b'\n';
        assert_eq!(parse(std::str::from_utf8(&b).unwrap()), Err(KeyParseError::BadSecret));
        // Multi-byte chars at section boundaries must not panic.
        let tricky = format!("ihk_live_é{}", "a".repeat(50));
        assert_eq!(tricky.len(), KEY_LEN);
        assert_eq!(parse(&tricky), Err(KeyParseError::BadKeyId));
        let tricky = format!("ihk_live_abcdefgh_{}é", "a".repeat(41));
        assert_eq!(tricky.len(), KEY_LEN);
        assert_eq!(parse(&tricky), Err(KeyParseError::BadSecret));
        // Error messages never contain key material.
        for e in [
            KeyParseError::WrongLength,
            KeyParseError::BadPrefix,
            KeyParseError::BadKeyId,
            KeyParseError::BadSeparator,
            KeyParseError::BadSecret,
        ] {
            assert!(!e.to_string().contains(&good[18..]));
        }
    }

    #[test]
    fn hash_helpers() {
        assert_eq!(hash_key(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(hashes_equal("abc", "abc"));
        assert!(!hashes_equal("abc", "abd"));
        assert!(!hashes_equal("abc", "abcd"));
        assert!(hashes_equal("", ""));
    }

    #[test]
    fn quick_fuzz_loop_random_bytes() {
        // Random byte strings around the key length, lossily made UTF-8.
        let good = generate().plaintext.into_bytes();
        for i in 0..20_000usize {
            let len = OsRng.gen_range(0..80);
            let mut buf: Vec<u8> = if i % 2 == 0 {
                (0..len).map(|_| OsRng.gen()).collect()
            } else {
                // Mutate a valid key in a few positions.
                let mut g = good.clone();
                for _ in 0..OsRng.gen_range(1..4) {
                    let pos = OsRng.gen_range(0..g.len());
                    g[pos] = OsRng.gen();
                }
                g
            };
            if i % 7 == 0 {
                buf.truncate(len.min(buf.len()));
            }
            let s = String::from_utf8_lossy(&buf);
            if let Ok(p) = parse(&s) {
                assert_eq!(s.len(), KEY_LEN);
                assert!(is_valid_key_id(&p.key_id));
            }
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn parse_accepts_exactly_the_format(
            id in "[0-9A-Za-z]{8}",
            secret in "[0-9A-Za-z]{43}",
        ) {
            let key = format!("ihk_live_{id}_{secret}");
            let p = parse(&key).unwrap();
            prop_assert_eq!(p.key_id, id);
            prop_assert_eq!(p.hash, hash_key(&key));
        }

        #[test]
        fn near_miss_lengths_rejected(id in "[0-9A-Za-z]{8}", n in 0usize..60) {
            prop_assume!(n != 43);
            let key = format!("ihk_live_{id}_{}", "a".repeat(n));
            prop_assert!(parse(&key).is_err());
        }
    }
}
