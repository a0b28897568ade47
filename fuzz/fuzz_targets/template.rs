//! Body templates: any template against any envelope renders or fails with a message, within its fuel.
#![no_main]
use integration_hub::server::service::webhooks::render_template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, envelope) = text.split_once('\n').unwrap_or((text, "{}"));
    let envelope = serde_json::from_str(envelope).unwrap_or_default();
    let _ = render_template(template, &envelope);
});
