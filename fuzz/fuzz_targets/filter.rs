//! Payload filters: any filter list (JSON) against any envelope (JSON) compiles or is refused, and evaluates
//! without panicking; the compiled and uncompiled evaluators agree.
#![no_main]
use integration_hub::model::filter::{evaluate, CompiledFilters, Filter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (filters, envelope) = text.split_once('\n').unwrap_or((text, "{}"));
    let Ok(filters) = serde_json::from_str::<Vec<Filter>>(filters) else { return };
    let Ok(envelope) = serde_json::from_str::<serde_json::Value>(envelope) else { return };
    let plain = evaluate(&filters, &envelope).is_ok();
    if let Ok(compiled) = CompiledFilters::new(filters) {
        assert_eq!(compiled.evaluate(&envelope).is_ok(), plain);
    }
});
