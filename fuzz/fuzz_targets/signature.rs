//! Signature verification: any webhook-id, timestamp and signature header and body are judged without panicking,
//! and never accepted unless they carry the right signature.
#![no_main]
use integration_hub::server::delivery::sign::{sign_v1, verify, SigningSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, '\n');
    let (id, ts, header, body) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now = 1_700_000_000;
    if verify(&secret, id, ts, header, body.as_bytes(), now, 300).is_ok() {
        let ts: i64 = ts.trim().parse().unwrap();
        let expected = sign_v1(&secret, id, ts, body.as_bytes());
        assert!(header.split(' ').any(|s| s == expected), "accepted a header without the right signature");
    }
});
