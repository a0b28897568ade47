//! Two-factor sign-in: TOTP codes (RFC 6238: SHA-1, 6 digits, 30-second steps, what every authenticator app
//! reads from an `otpauth://` link) and single-use recovery codes.
//!
//! A code is accepted in the step it was made for and the steps either side (a phone's clock a little off). The
//! step a code matched is returned, so the caller can refuse it, and any earlier step, once one was used
//! (replay). Recovery codes are random enough (50 bits) for a plain SHA-256, like API keys; only the hash is kept.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Integration Hub";
/// Seconds per code.
pub const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;
/// Letters of a recovery code (without the dash), from an alphabet without look-alikes.
const RECOVERY_LEN: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A user's second factor as the store keeps it: the sealed secret (pending until `enabled_at`), the last step accepted.
#[derive(Debug, Clone, Default)]
pub struct StoredTotp {
    pub sealed_secret: Option<String>,
    pub enabled_at: Option<i64>,
    pub last_step: Option<i64>,
    /// Whether the user's tenant requires a second factor.
    pub required: bool,
    pub recovery_codes_left: i64,
}

/// A secret made for one account: what the enrolment page shows.
pub struct NewSecret {
    /// Base32, for typing into an app by hand (and for sealing).
    pub base32: String,
    /// The `otpauth://totp/Integration%20Hub:<email>?secret=…&issuer=…` link the QR code holds.
    pub url: String,
}

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP, String> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECONDS, secret, Some(ISSUER.to_string()), account.to_string())
        .map_err(|e| format!("invalid TOTP secret: {e}"))
}

/// A new random 160-bit secret (RFC 4226's recommendation) for `account` (the email).
pub fn new_secret(account: &str) -> Result<NewSecret, String> {
    let bytes = Secret::generate_secret().to_bytes().map_err(|e| format!("{e:?}"))?;
    // The crate refuses a ':' in the label: an email has none, but a label is only a label.
    let account = account.replace(':', "");
    let t = totp(bytes, &account)?;
    Ok(NewSecret { base32: t.get_secret_base32(), url: t.get_url() })
}

/// The otpauth URL of a stored secret.
pub fn url_of(base32: &str, account: &str) -> Result<String, String> {
    let bytes = Secret::Encoded(base32.to_string()).to_bytes().map_err(|e| format!("{e:?}"))?;
    Ok(totp(bytes, &account.replace(':', ""))?.get_url())
}

/// The time step a code made `at_seconds` belongs to.
pub fn step_of(at_seconds: u64) -> u64 {
    at_seconds / STEP_SECONDS
}

/// The step (current, one before or one after) whose code `code` is, or None. Every candidate is computed and
/// compared in constant time, so the time taken does not say which step came close.
pub fn check(base32: &str, code: &str, at_seconds: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bytes = Secret::Encoded(base32.to_string()).to_bytes().ok()?;
    let t = totp(bytes, "x").ok()?;
    let now = step_of(at_seconds);
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let made = t.generate(step * STEP_SECONDS);
        if bool::from(made.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The code for a step (tests, and the CLI's checks).
pub fn code_at(base32: &str, at_seconds: u64) -> Option<String> {
    let bytes = Secret::Encoded(base32.to_string()).to_bytes().ok()?;
    Some(totp(bytes, "x").ok()?.generate(at_seconds))
}

/// The QR code of `url` as an SVG document: dark modules on white whatever the page's theme (scanners need the
/// contrast), drawn with attributes only (the page's CSP refuses `style`).
pub fn qr_svg(url: &str) -> Result<String, String> {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| format!("cannot draw the QR code: {e}"))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // The XML declaration means nothing inside an HTML page.
    let svg = svg.find("<svg").map(|i| svg[i..].to_string()).unwrap_or(svg);
    Ok(svg.replacen("<svg ", "<svg aria-hidden=\"true\" focusable=\"false\" ", 1))
}

/// Ten fresh recovery codes, as shown to the person (`abcde-fghjk`).
pub fn new_recovery_codes() -> Vec<String> {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..RECOVERY_LEN)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &s[..RECOVERY_LEN / 2], &s[RECOVERY_LEN / 2..])
        })
        .collect()
}

/// What a typed recovery code is compared as: lower case, without dashes and spaces; None when it cannot be one.
pub fn normalize_recovery_code(code: &str) -> Option<String> {
    let s: String = code.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).flat_map(char::to_lowercase).collect();
    (s.len() == RECOVERY_LEN && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(s)
}

/// The stored form of a recovery code: SHA-256 of the user and the normalized code, so equal codes of two
/// people differ.
pub fn recovery_code_hash(user_id: &str, normalized: &str) -> String {
    let digest = Sha256::new().chain_update(user_id.as_bytes()).chain_update(b":").chain_update(normalized).finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Whether what was typed looks like a TOTP code (six digits) rather than a recovery code or a password.
pub fn looks_like_code(input: &str) -> bool {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    s.len() == DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_step_and_its_neighbours_are_accepted() {
        let s = new_secret("a@b.test").unwrap();
        assert!(s.url.starts_with("otpauth://totp/Integration%20Hub:a%40b.test?secret="), "{}", s.url);
        assert!(s.url.contains("issuer=Integration%20Hub"));
        assert_eq!(s.base32.len(), 32, "160 bits");
        let t = 1_700_000_000u64;
        let now = code_at(&s.base32, t).unwrap();
        assert_eq!(check(&s.base32, &now, t), Some(step_of(t)));
        assert_eq!(check(&s.base32, &code_at(&s.base32, t - 30).unwrap(), t), Some(step_of(t) - 1));
        assert_eq!(check(&s.base32, &code_at(&s.base32, t + 30).unwrap(), t), Some(step_of(t) + 1));
        assert_eq!(check(&s.base32, &code_at(&s.base32, t - 60).unwrap(), t), None, "two steps off");
        assert_eq!(check(&s.base32, "12345", t), None);
        assert_eq!(check(&s.base32, "abcdef", t), None);
        assert_eq!(check(&s.base32, &format!(" {now} "), t), Some(step_of(t)), "spaces are ignored");
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59: 94287082 (8 digits) → 287082.
        let base32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(code_at(base32, 59).unwrap(), "287082");
        assert_eq!(check(base32, "287082", 59), Some(1));
    }

    #[test]
    fn recovery_codes_are_random_and_normalized() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
        let n = normalize_recovery_code(&codes[0].to_uppercase()).unwrap();
        assert_eq!(n, codes[0].replace('-', ""));
        assert_ne!(recovery_code_hash("usr_1", &n), recovery_code_hash("usr_2", &n));
        assert!(normalize_recovery_code("123456").is_none());
        assert!(looks_like_code("123 456") && !looks_like_code(&codes[0]));
    }

    #[test]
    fn the_qr_code_is_an_svg_without_styles() {
        let svg = qr_svg("otpauth://totp/x?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg aria-hidden=\"true\""), "{svg}");
        assert!(!svg.contains("style"), "{svg}");
    }
}
