//! Webhook payload signing per the Standard Webhooks spec
//! (<https://www.standardwebhooks.com/>), plus a legacy `v1=<hex>` form. (Much of this file is its tests and
//! the spec's published vectors.)
//!
//! Receivers verify `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`. During secret rotation we send one
//! signature per active secret (space separated), so receivers configured with
//! either the old or the new secret keep working.
//!
//! [`verify`] is the receiving side (used for our own tests, the "verify a
//! delivery" tool in the UI and inbound webhooks). It is constant-time in the
//! signature comparison and enforces a timestamp tolerance against replays.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of serialized secrets (same as Svix / Standard Webhooks libraries).
pub const SECRET_PREFIX: &str = "whsec_";
/// Accepted decoded key sizes: the spec recommends 24..=64 bytes.
pub const MIN_SECRET_BYTES: usize = 24;
pub const MAX_SECRET_BYTES: usize = 64;
/// Size of secrets we generate.
pub const GENERATED_SECRET_BYTES: usize = 32;
/// Default replay window recommended by the spec (5 minutes).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Secrets pasted by users may or may not carry `=` padding; accept both.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a `whsec_...` string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("signing secret must start with \"whsec_\"")]
    MissingPrefix,
    #[error("signing secret is not valid base64 after \"whsec_\"")]
    InvalidBase64,
    #[error("signing secret must decode to {MIN_SECRET_BYTES}..={MAX_SECRET_BYTES} bytes, got {len}")]
    InvalidLength { len: usize },
    #[error("the operating system random number generator failed")]
    Rng,
}

/// An HMAC key for signing webhook payloads. `Debug` never shows the key, and
/// there is deliberately no `Display`: exposing it must be explicit.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl SigningSecret {
    /// Parse a `whsec_<base64>` secret (surrounding whitespace is ignored,
    /// padding optional).
    pub fn parse(s: &str) -> Result<Self, SignError> {
        let b64 = s.trim().strip_prefix(SECRET_PREFIX).ok_or(SignError::MissingPrefix)?;
        let key = LENIENT_STANDARD.decode(b64).map_err(|_| SignError::InvalidBase64)?;
        Self::from_bytes(key)
    }

    /// Wrap raw key bytes (e.g. decrypted from the database).
    pub fn from_bytes(key: Vec<u8>) -> Result<Self, SignError> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(SignError::InvalidLength { len: key.len() });
        }
        Ok(SigningSecret { key })
    }

    /// 32 fresh bytes from the OS CSPRNG.
    ///
    /// # Panics
    /// Only if the operating system RNG is unavailable, which is not
    /// recoverable for a service that issues secrets. Use [`Self::try_generate`]
    /// to handle that case explicitly.
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        SigningSecret { key }
    }

    /// Like [`Self::generate`] but reports OS RNG failure instead of panicking.
    pub fn try_generate() -> Result<Self, SignError> {
        let mut key = vec![0u8; GENERATED_SECRET_BYTES];
        rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|_| SignError::Rng)?;
        Ok(SigningSecret { key })
    }

    /// The `whsec_<base64>` form, to show once to the user or to store.
    pub fn to_string_exposed(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// Alias of [`Self::to_string_exposed`].
    pub fn expose(&self) -> String {
        self.to_string_exposed()
    }

    /// Raw key bytes (e.g. for encrypting at rest).
    pub fn expose_bytes(&self) -> &[u8] {
        &self.key
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC is defined for keys of any length (long keys are hashed), so
        // `new_from_slice` cannot fail; the key length is validated anyway.
        <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(**redacted**)")
    }
}

fn v1_mac(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut mac = secret.mac();
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// `v1,<base64(HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}"))>`.
pub fn sign_v1(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(v1_mac(secret, msg_id, timestamp, body)))
}

/// The `webhook-signature` header value: one `v1,...` entry per secret,
/// space-separated (current secret first, then previous ones during rotation).
pub fn signature_header(secrets: &[&SigningSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| sign_v1(s, msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Legacy form for older receivers: `v1=<hex(HMAC-SHA256(key, "{timestamp}.{body}"))>`.
pub fn legacy_signature(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a signed webhook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing or empty {0} header")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not a Unix timestamp in seconds")]
    InvalidTimestamp,
    #[error("webhook-timestamp is {skew}s in the past, outside the allowed tolerance (possible replay)")]
    TimestampTooOld { skew: i64 },
    #[error("webhook-timestamp is {skew}s in the future, outside the allowed tolerance (check clock sync)")]
    TimestampTooNew { skew: i64 },
    #[error("webhook-signature contains no v1 signature")]
    NoV1Signature,
    #[error("signature mismatch: the body was modified or the wrong signing secret was used")]
    SignatureMismatch,
}

/// Verify a Standard Webhooks signature.
///
/// * `timestamp_header` — value of `webhook-timestamp` (Unix seconds).
/// * `signature_header` — value of `webhook-signature`, a space-separated list
///   of `version,signature` entries; non-`v1` entries are ignored.
/// * `tolerance_secs` — allowed clock skew in both directions.
///
/// ```
/// use integration_hub::server::delivery::sign::{sign_v1, verify, SigningSecret};
/// // What a receiver does with the three headers and the raw body of a request.
/// let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
/// let (id, ts, body) = ("evt_01J9", 1_700_000_000, br#"{"type":"ticket.created"}"#);
/// let header = sign_v1(&secret, id, ts, body);
/// assert!(verify(&secret, id, &ts.to_string(), &header, body, ts + 10, 300).is_ok());
/// // A changed body, or a request replayed ten minutes later, is refused.
/// assert!(verify(&secret, id, &ts.to_string(), &header, b"{}", ts, 300).is_err());
/// assert!(verify(&secret, id, &ts.to_string(), &header, body, ts + 600, 300).is_err());
/// ```
pub fn verify(
    secret: &SigningSecret,
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    if msg_id.trim().is_empty() {
        return Err(VerifyError::MissingHeader("webhook-id"));
    }
    let ts_str = timestamp_header.trim();
    if ts_str.is_empty() {
        return Err(VerifyError::MissingHeader("webhook-timestamp"));
    }
    if signature_header.trim().is_empty() {
        return Err(VerifyError::MissingHeader("webhook-signature"));
    }
    // Digits only (optionally negative): `i64::from_str` would also take "+1".
    let digits = ts_str.strip_prefix('-').unwrap_or(ts_str);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::InvalidTimestamp);
    }
    let ts: i64 = ts_str.parse().map_err(|_| VerifyError::InvalidTimestamp)?;

    // Saturating: attacker-chosen timestamps near i64::MIN/MAX must not overflow.
    let tolerance = tolerance_secs.max(0);
    let age = now_unix.saturating_sub(ts);
    if age > tolerance {
        return Err(VerifyError::TimestampTooOld { skew: age });
    }
    let ahead = ts.saturating_sub(now_unix);
    if ahead > tolerance {
        return Err(VerifyError::TimestampTooNew { skew: ahead });
    }

    // Like the reference libraries, sign the *parsed* timestamp, so the MAC
    // input is identical to what `sign_v1` produces.
    let expected = v1_mac(secret, msg_id, ts, body);

    let mut saw_v1 = false;
    let mut matched = subtle::Choice::from(0u8);
    for entry in signature_header.split_whitespace() {
        let Some((version, sig)) = entry.split_once(',') else {
            continue;
        };
        if version != "v1" {
            continue;
        }
        saw_v1 = true;
        if let Ok(decoded) = STANDARD.decode(sig) {
            // ct_eq on slices of different length is simply false.
            matched |= decoded.as_slice().ct_eq(expected.as_slice());
        }
    }
    if !saw_v1 {
        return Err(VerifyError::NoV1Signature);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(VerifyError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VEC_TS: i64 = 1614265330;
    const VEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> SigningSecret {
        SigningSecret::parse(VEC_SECRET).unwrap()
    }

    fn verify_vec(ts: &str, sig: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        verify(&secret(), VEC_ID, ts, sig, body, now, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn official_test_vector() {
        assert_eq!(sign_v1(&secret(), VEC_ID, VEC_TS, VEC_BODY), VEC_SIG);
        assert_eq!(verify_vec("1614265330", VEC_SIG, VEC_BODY, VEC_TS), Ok(()));
    }

    #[test]
    fn parse_rules() {
        assert_eq!(secret().expose_bytes().len(), 24);
        assert_eq!(SigningSecret::parse(&format!("  {VEC_SECRET}\n")).unwrap(), secret());
        assert_eq!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SignError::MissingPrefix));
        assert_eq!(SigningSecret::parse("whsec_not*base64!"), Err(SignError::InvalidBase64));
        assert_eq!(SigningSecret::parse("whsec_"), Err(SignError::InvalidLength { len: 0 }));
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        assert_eq!(SigningSecret::parse(&short), Err(SignError::InvalidLength { len: 23 }));
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(SigningSecret::parse(&long), Err(SignError::InvalidLength { len: 65 }));
        let max = format!("whsec_{}", STANDARD.encode([7u8; 64]));
        assert!(SigningSecret::parse(&max).is_ok());
        // Padding optional: 32 bytes encode with one '='.
        let padded = format!("whsec_{}", STANDARD.encode([9u8; 32]));
        assert!(padded.ends_with('='));
        let a = SigningSecret::parse(&padded).unwrap();
        let b = SigningSecret::parse(padded.trim_end_matches('=')).unwrap();
        assert_eq!(a, b);
        assert!(SigningSecret::parse("whsec_\u{1F600}").is_err());
    }

    #[test]
    fn generate_and_roundtrip() {
        let a = SigningSecret::generate();
        let b = SigningSecret::try_generate().unwrap();
        assert_eq!(a.expose_bytes().len(), 32);
        assert_ne!(a, b);
        let s = a.to_string_exposed();
        assert!(s.starts_with("whsec_"));
        assert_eq!(s, a.expose());
        assert_eq!(SigningSecret::parse(&s).unwrap(), a);
    }

    #[test]
    fn debug_is_redacted() {
        let s = secret();
        let dbg = format!("{s:?}");
        assert_eq!(dbg, "SigningSecret(**redacted**)");
        assert!(!dbg.contains("MfKQ"));
        let dbg2 = format!("{:?}", Some(&s));
        assert!(!dbg2.contains("MfKQ"));
    }

    #[test]
    fn rotation_header_accepts_either_secret() {
        let old = secret();
        let new = SigningSecret::generate();
        let header = signature_header(&[&new, &old], VEC_ID, VEC_TS, VEC_BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], VEC_SIG);
        for s in [&old, &new] {
            assert_eq!(verify(s, VEC_ID, "1614265330", &header, VEC_BODY, VEC_TS, 300), Ok(()));
        }
        let third = SigningSecret::generate();
        assert_eq!(
            verify(&third, VEC_ID, "1614265330", &header, VEC_BODY, VEC_TS, 300),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(signature_header(&[], VEC_ID, VEC_TS, VEC_BODY), "");
    }

    #[test]
    fn tampered_body_and_wrong_secret() {
        assert_eq!(
            verify_vec("1614265330", VEC_SIG, br#"{"test": 2432232315}"#, VEC_TS),
            Err(VerifyError::SignatureMismatch)
        );
        let other = SigningSecret::generate();
        assert_eq!(
            verify(&other, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, VEC_TS, 300),
            Err(VerifyError::SignatureMismatch)
        );
        // Different message id or timestamp text changes the MAC.
        assert_eq!(
            verify(&secret(), "msg_other", "1614265330", VEC_SIG, VEC_BODY, VEC_TS, 300),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(verify_vec("1614265331", VEC_SIG, VEC_BODY, VEC_TS), Err(VerifyError::SignatureMismatch));
        // Truncated / garbage signatures are mismatches, not panics.
        assert_eq!(verify_vec("1614265330", "v1,g0hM9SsE", VEC_BODY, VEC_TS), Err(VerifyError::SignatureMismatch));
        assert_eq!(verify_vec("1614265330", "v1,!!!", VEC_BODY, VEC_TS), Err(VerifyError::SignatureMismatch));
        assert_eq!(verify_vec("1614265330", "v1,", VEC_BODY, VEC_TS), Err(VerifyError::SignatureMismatch));
    }

    #[test]
    fn header_list_parsing() {
        let h = format!("v2,abc v1a,xyz  {VEC_SIG}\tv1,zzz");
        assert_eq!(verify_vec("1614265330", &h, VEC_BODY, VEC_TS), Ok(()));
        assert_eq!(
            verify_vec("1614265330", "v2,abc v1a,xyz nocomma", VEC_BODY, VEC_TS),
            Err(VerifyError::NoV1Signature)
        );
        // The legacy "v1=" form is not a Standard Webhooks v1 entry.
        let legacy = legacy_signature(&secret(), VEC_TS, VEC_BODY);
        assert_eq!(verify_vec("1614265330", &legacy, VEC_BODY, VEC_TS), Err(VerifyError::NoV1Signature));
    }

    #[test]
    fn missing_headers() {
        let s = secret();
        assert_eq!(verify(&s, "", "1", VEC_SIG, VEC_BODY, 1, 300), Err(VerifyError::MissingHeader("webhook-id")));
        assert_eq!(
            verify(&s, VEC_ID, " ", VEC_SIG, VEC_BODY, 1, 300),
            Err(VerifyError::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(verify(&s, VEC_ID, "1", "", VEC_BODY, 1, 300), Err(VerifyError::MissingHeader("webhook-signature")));
        assert_eq!(VerifyError::MissingHeader("webhook-id").to_string(), "missing or empty webhook-id header");
    }

    #[test]
    fn timestamp_parsing_and_skew() {
        for bad in ["abc", "+1614265330", "1614265330.5", "1e9", "-", "99999999999999999999"] {
            assert_eq!(verify_vec(bad, VEC_SIG, VEC_BODY, VEC_TS), Err(VerifyError::InvalidTimestamp), "{bad}");
        }
        // Exactly at tolerance is fine (both directions).
        assert_eq!(verify_vec("1614265330", VEC_SIG, VEC_BODY, VEC_TS + 300), Ok(()));
        assert_eq!(verify_vec("1614265330", VEC_SIG, VEC_BODY, VEC_TS - 300), Ok(()));
        assert_eq!(
            verify_vec("1614265330", VEC_SIG, VEC_BODY, VEC_TS + 301),
            Err(VerifyError::TimestampTooOld { skew: 301 })
        );
        assert_eq!(
            verify_vec("1614265330", VEC_SIG, VEC_BODY, VEC_TS - 301),
            Err(VerifyError::TimestampTooNew { skew: 301 })
        );
        // Extreme values saturate instead of overflowing.
        assert!(matches!(
            verify_vec(&i64::MIN.to_string(), VEC_SIG, VEC_BODY, i64::MAX),
            Err(VerifyError::TimestampTooOld { skew: i64::MAX })
        ));
        assert!(matches!(
            verify_vec(&i64::MAX.to_string(), VEC_SIG, VEC_BODY, i64::MIN),
            Err(VerifyError::TimestampTooNew { skew: i64::MAX })
        ));
        // Negative tolerance behaves like zero.
        assert_eq!(verify(&secret(), VEC_ID, "1614265330", VEC_SIG, VEC_BODY, VEC_TS, -5), Ok(()));
        assert!(VerifyError::TimestampTooOld { skew: 301 }.to_string().contains("301s in the past"));
    }

    #[test]
    fn legacy_format() {
        let sig = legacy_signature(&secret(), VEC_TS, VEC_BODY);
        let hex_part = sig.strip_prefix("v1=").unwrap();
        assert_eq!(hex_part.len(), 64);
        assert!(hex_part.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // Independent computation of HMAC(key, "{ts}.{body}").
        let mut mac = HmacSha256::new_from_slice(secret().expose_bytes()).unwrap();
        mac.update(b"1614265330.");
        mac.update(VEC_BODY);
        assert_eq!(hex_part, hex::encode(mac.finalize().into_bytes()));
        assert_ne!(sig, legacy_signature(&secret(), VEC_TS + 1, VEC_BODY));
    }
}
