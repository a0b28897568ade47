//! API key parsing: any presented string is parsed or refused without panicking; what parses round-trips.
#![no_main]
use integration_hub::server::auth::api_key::{is_valid_key_id, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = parse(text) {
        assert!(is_valid_key_id(&p.key_id), "parsed a key with an invalid id: {text:?}");
    }
});
