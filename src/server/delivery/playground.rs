//! The signature playground: verifies a pasted request the way a receiver would and, when it fails, finds out
//! why (wrong or malformed secret, missing header, clock skew, a body changed on the way) instead of only
//! saying "mismatch".

use super::sign::{sign_v1, verify, SignError, SigningSecret, VerifyError, DEFAULT_TOLERANCE_SECS};
use crate::model::{SignatureCheck, SignatureVerdict};

/// Standard Webhooks header names, with the Svix names receivers often still use.
const ID: [&str; 2] = ["webhook-id", "svix-id"];
const TIMESTAMP: [&str; 2] = ["webhook-timestamp", "svix-timestamp"];
const SIGNATURE: [&str; 2] = ["webhook-signature", "svix-signature"];

fn header<'a>(lines: &'a [(String, String)], names: [&str; 2]) -> &'a str {
    lines.iter().find(|(k, _)| names.contains(&k.as_str())).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// `Name: value` lines (as copied from a log or devtools), names lower-cased.
fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

fn invalid(reason: impl Into<String>) -> SignatureVerdict {
    SignatureVerdict { valid: false, reason: Some(reason.into()), ..Default::default() }
}

/// Bodies a proxy, framework or copy-paste commonly turns the original into, each with how it differs.
fn body_variants(body: &str) -> Vec<(String, &'static str)> {
    let mut v = vec![
        (body.trim_end().to_string(), "trailing whitespace or a newline was added to the body"),
        (format!("{body}\n"), "the body lost its trailing newline"),
        (body.replace("\r\n", "\n"), "line endings were changed to CRLF"),
    ];
    if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        v.push((compact_json(body), "the JSON body was re-formatted (pretty-printed or re-indented)"));
    }
    v.into_iter().filter(|(b, _)| b != body).collect()
}

/// JSON without the whitespace between tokens, keys in their original order (a parse and re-serialise would
/// sort them and so never give back the signed bytes).
fn compact_json(body: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::with_capacity(body.len()), false, false);
    for c in body.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

pub fn diagnose(c: &SignatureCheck, now_unix: i64) -> SignatureVerdict {
    let secret = match SigningSecret::parse(&c.secret) {
        Ok(s) => s,
        Err(SignError::MissingPrefix) if SigningSecret::parse(&format!("whsec_{}", c.secret.trim())).is_ok() => {
            return invalid("the secret must start with \"whsec_\" (paste it exactly as the hub shows it)")
        }
        Err(e) => return invalid(format!("the secret is not usable: {e}")),
    };
    let headers = parse_headers(&c.headers);
    let (id, ts, sig) = (header(&headers, ID), header(&headers, TIMESTAMP), header(&headers, SIGNATURE));
    let tolerance = c.tolerance_seconds.unwrap_or(DEFAULT_TOLERANCE_SECS);
    let body = c.body.as_bytes();
    let mut verdict = SignatureVerdict::default();
    if let Ok(t) = ts.trim().parse::<i64>() {
        if !id.is_empty() {
            verdict.expected_signature = Some(sign_v1(&secret, id, t, body));
        }
    }
    match verify(&secret, id, ts, sig, body, now_unix, tolerance) {
        Ok(()) => verdict.valid = true,
        Err(e @ (VerifyError::TimestampTooOld { .. } | VerifyError::TimestampTooNew { .. })) => {
            verdict.reason = Some(e.to_string());
            let t = ts.trim().parse::<i64>().unwrap_or_default();
            if verify(&secret, id, ts, sig, body, t, tolerance).is_ok() {
                verdict
                    .hints
                    .push("The signature itself is right: only the timestamp is outside the tolerance.".into());
            } else {
                verdict.hints.push("The signature does not match either, even ignoring the time.".into());
            }
        }
        Err(VerifyError::SignatureMismatch) => {
            let fixed = body_variants(&c.body)
                .into_iter()
                .find(|(b, _)| verify(&secret, id, ts, sig, b.as_bytes(), now_unix, tolerance).is_ok());
            verdict.reason = Some(match fixed {
                Some((_, how)) => format!("the body was changed after signing: {how}; verify the raw bytes received"),
                None => "signature mismatch: this is not the secret the request was signed with, or the body was \
                         changed"
                    .into(),
            });
            if fixed.is_none() {
                verdict.hints.push(
                    "During a secret rotation the request carries two signatures; either secret verifies it.".into(),
                );
            }
        }
        Err(e) => verdict.reason = Some(e.to_string()),
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_700_000_000;

    fn signed(body: &str, ts: i64) -> SignatureCheck {
        let s = SigningSecret::parse(SECRET).unwrap();
        let sig = sign_v1(&s, "msg_1", ts, body.as_bytes());
        SignatureCheck {
            secret: SECRET.into(),
            headers: format!("Content-Type: application/json\nWebhook-Id: msg_1\nwebhook-timestamp: {ts}\nwebhook-signature: {sig}\n"),
            body: body.into(),
            tolerance_seconds: None,
        }
    }

    #[test]
    fn a_true_request_verifies() {
        let v = diagnose(&signed(r#"{"a":1}"#, NOW), NOW + 5);
        assert!(v.valid, "{v:?}");
        assert!(v.expected_signature.is_some_and(|s| s.starts_with("v1,")));
    }

    #[test]
    fn says_why_not() {
        let old = diagnose(&signed("{}", NOW - 900), NOW);
        assert!(!old.valid && old.reason.as_deref().unwrap().contains("900s in the past"), "{old:?}");
        assert!(old.hints[0].contains("signature itself is right"));

        let mut pretty = signed(r#"{"z":1,"b":["x y"]}"#, NOW);
        pretty.body = "{\n  \"z\": 1,\n  \"b\": [\n    \"x y\"\n  ]\n}".into();
        let v = diagnose(&pretty, NOW);
        assert!(v.reason.unwrap().contains("re-formatted"));

        let mut newline = signed("{}", NOW);
        newline.body.push('\n');
        assert!(diagnose(&newline, NOW).reason.unwrap().contains("trailing whitespace"));

        let mut wrong = signed("{}", NOW);
        wrong.secret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
        assert!(diagnose(&wrong, NOW).reason.unwrap().contains("not the secret"));

        let mut bare = signed("{}", NOW);
        bare.secret = SECRET.trim_start_matches("whsec_").into();
        assert!(diagnose(&bare, NOW).reason.unwrap().contains("must start with"));

        let mut missing = signed("{}", NOW);
        missing.headers = "webhook-id: msg_1".into();
        assert!(diagnose(&missing, NOW).reason.unwrap().contains("webhook-timestamp"));
    }
}
