//! An endpoint's secrets as sending needs them: the signing secrets and custom header values, sealed under
//! the master key and each bound to its row and column ([`crate::server::auth::crypto`]), opened here for the
//! worker and test-fire; header values masked again before an attempt is stored (they are receivers'
//! credentials, and the delivery log is readable with `deliveries:read`). Sealing is the service's
//! (`service::secrets`), with the same bindings.

use super::sign::SigningSecret;
use crate::model::{DeliveryAttempt, Webhook, WebhookSecret, HEADER_MASK};
use crate::server::auth::crypto::MasterKey;
use crate::server::store::{now_ms, SealedSecrets};

/// What a signing secret (current or previous) is sealed for.
pub fn secret_aad(webhook_id: &str) -> String {
    format!("webhook:{webhook_id}:secret")
}

/// What a header value is sealed for; the name is lowercased, as header names compare without case.
pub fn header_aad(webhook_id: &str, name: &str) -> String {
    format!("webhook:{webhook_id}:header:{}", name.to_ascii_lowercase())
}

/// What the hub signs with: the current secret and, during a rotation, the previous one.
pub struct Secrets {
    pub current: SigningSecret,
    pub previous: Option<SigningSecret>,
}

/// The endpoint's signing secrets in clear (the previous one only while its grace period lasts).
pub fn open_secrets(key: &MasterKey, s: &SealedSecrets) -> Result<WebhookSecret, String> {
    let open = |x: &str| key.open_for(&secret_aad(&s.webhook_id), x);
    let live_previous = s.previous_expires_at.is_some_and(|e| e > now_ms());
    Ok(WebhookSecret {
        secret: open(&s.current)?,
        previous_secret: match (&s.previous, live_previous) {
            (Some(p), true) => Some(open(p)?),
            _ => None,
        },
        previous_expires_at: s.previous_expires_at.filter(|_| live_previous),
    })
}

/// The secrets the sender signs with.
pub fn signing_secrets(key: &MasterKey, s: &SealedSecrets) -> Result<Secrets, String> {
    let open = open_secrets(key, s)?;
    let parse = |x: &str| SigningSecret::parse(x).map_err(|e| format!("a stored signing secret does not parse: {e}"));
    Ok(Secrets { current: parse(&open.secret)?, previous: open.previous_secret.as_deref().map(parse).transpose()? })
}

/// Opens the endpoint's sealed header values in place, for sending. One that does not open is an error (the
/// delivery waits) rather than a header left out or sent sealed.
pub fn open_headers(key: &MasterKey, hook: &mut Webhook) -> Result<(), String> {
    for (name, value) in hook.headers.iter_mut() {
        *value = key
            .open_for(&header_aad(&hook.id, name), value)
            .map_err(|e| format!("custom header {name} of {} does not open: {e}", hook.id))?;
    }
    Ok(())
}

/// Replaces the endpoint's custom header values in an attempt's request headers with the mask, before the
/// attempt is stored. `hook.headers` names the custom headers (sealed or opened, the values do not matter).
pub fn mask_attempt_headers(hook: &Webhook, attempt: &mut DeliveryAttempt) {
    if hook.headers.is_empty() {
        return;
    }
    let custom: Vec<String> = hook.headers.keys().map(|k| k.to_ascii_lowercase()).collect();
    for (name, value) in &mut attempt.request_headers {
        if custom.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            *value = HEADER_MASK.to_string();
        }
    }
}
