//! Endpoints' secrets at rest, the writing side: signing secrets and custom header values are sealed under the
//! master key, each bound to its row and column (the bindings and the opening for sending are in
//! [`crate::server::delivery::secrets`]). Header values are receivers' credentials: every answer shows them
//! masked ([`HEADER_MASK`]), the attempt log stores them masked, and only the sender (and
//! [`Hub::webhook_headers`], audited) sees them opened.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, Validator, Webhook, WebhookHeaders, WebhookSecret, HEADER_MASK};
use crate::server::auth::crypto::{MasterKey, LEGACY_PREFIX, SEALED_PREFIX};
use crate::server::delivery::secrets::{self as open, header_aad, secret_aad, Secrets};
use crate::server::store::{SealedSecrets, Store};
use std::collections::BTreeMap;

impl Hub {
    pub fn seal_secret(&self, webhook_id: &str, secret: &str) -> String {
        self.master_key.seal_for(&secret_aad(webhook_id), secret)
    }

    /// Seals clear header values for the endpoint `webhook_id`.
    pub fn seal_headers(&self, webhook_id: &str, clear: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        clear.iter().map(|(n, v)| (n.clone(), self.master_key.seal_for(&header_aad(webhook_id, n), v))).collect()
    }

    /// Opens the endpoint's sealed header values in place (test-fire, the owner's view).
    pub fn open_headers(&self, hook: &mut Webhook) -> AppResult<()> {
        open::open_headers(&self.master_key, hook).map_err(internal)
    }

    /// The endpoint's signing secrets in clear, for their owner.
    pub fn open_secrets(&self, s: &SealedSecrets) -> AppResult<WebhookSecret> {
        open::open_secrets(&self.master_key, s).map_err(internal)
    }

    /// The secrets test-fire signs with.
    pub fn signing_secrets(&self, s: &SealedSecrets) -> AppResult<Secrets> {
        open::signing_secrets(&self.master_key, s).map_err(internal)
    }

    /// An update's headers against the stored (sealed) ones: a value equal to the mask keeps the stored value
    /// of that name (any case), any other value replaces it. Returns the headers to store (sealed) and the same
    /// headers for validation (new values in clear, kept ones as a placeholder that validates).
    pub(super) fn merge_headers(
        &self,
        webhook_id: &str,
        stored: &BTreeMap<String, String>,
        sent: &BTreeMap<String, String>,
        v: &mut Validator,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let (mut sealed, mut check) = (BTreeMap::new(), BTreeMap::new());
        for (name, value) in sent {
            if value == HEADER_MASK {
                let kept = stored.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v);
                match kept {
                    Some(kept) => {
                        // Sealed for the lowercased name, so it opens under the name in any case.
                        sealed.insert(name.clone(), kept.clone());
                        check.insert(name.clone(), "kept".to_string());
                    }
                    None => v.push("headers", format!("{name} has no stored value to keep: send its value")),
                }
            } else {
                sealed.insert(name.clone(), self.master_key.seal_for(&header_aad(webhook_id, name), value));
                check.insert(name.clone(), value.clone());
            }
        }
        (sealed, check)
    }

    /// The custom headers with their real values, for their owner (REST needs `webhooks:write`); audited.
    pub async fn webhook_headers(&self, actor: Actor<'_>, id: &str) -> AppResult<WebhookHeaders> {
        let mut w = self.stored_webhook(&actor, id).await?;
        self.open_headers(&mut w)?;
        self.audit(&actor, Some(&w.tenant_id), "webhook.headers_viewed", &w.id, "").await?;
        Ok(WebhookHeaders { headers: w.headers })
    }
}

/// Whether `key` opens this sealed signing secret of endpoint `id`, in either format (checked at start, before
/// [`reseal_at_start`] has turned v1 values into v2).
pub fn key_opens(key: &MasterKey, id: &str, sealed: &str) -> bool {
    if sealed.starts_with(LEGACY_PREFIX) {
        key.open_legacy_v1(sealed).is_ok()
    } else {
        key.open_for(&secret_aad(id), sealed).is_ok()
    }
}

/// At start, after the migrations (SQL cannot encrypt): re-seals v1 signing secrets as v2 bound to their
/// endpoint, and seals header values still stored in clear (a value is sealed when it starts with `v2:`).
/// A v1 value that does not open stops the start: it would never be sent.
pub async fn reseal_at_start(store: &Store, key: &MasterKey) -> Result<usize, String> {
    let rows = store.sealed_rows().await.map_err(|e| format!("cannot read the endpoints' secrets: {e}"))?;
    let db = |e: sqlx::Error| format!("cannot re-seal the endpoints' secrets: {e}");
    let mut changed = 0;
    for row in rows {
        let reseal = |old: &str| -> Result<Option<String>, String> {
            if !old.starts_with(LEGACY_PREFIX) {
                return Ok(None);
            }
            let clear = key.open_legacy_v1(old).map_err(|e| format!("endpoint {}: {e}", row.id))?;
            Ok(Some(key.seal_for(&secret_aad(&row.id), &clear)))
        };
        if let Some(new) = reseal(&row.current)? {
            changed += usize::from(store.reseal_secret(&row.id, &row.current, &new).await.map_err(db)?);
        }
        if let Some(old) = &row.previous {
            if let Some(new) = reseal(old)? {
                changed += usize::from(store.reseal_previous_secret(&row.id, old, &new).await.map_err(db)?);
            }
        }
        let Ok(mut headers) = serde_json::from_str::<BTreeMap<String, String>>(&row.headers) else { continue };
        let mut sealed_any = false;
        for (name, value) in headers.iter_mut() {
            if !value.starts_with(SEALED_PREFIX) {
                *value = key.seal_for(&header_aad(&row.id, name), value);
                sealed_any = true;
            }
        }
        if sealed_any {
            let new = serde_json::to_string(&headers).map_err(|e| e.to_string())?;
            changed += usize::from(store.reseal_headers(&row.id, &row.headers, &new).await.map_err(db)?);
        }
    }
    if changed > 0 {
        tracing::info!(changed, "endpoint secrets re-sealed in the current format");
    }
    Ok(changed)
}

/// A secret that does not open is the hub's fault (its key or its data), never the caller's: logged, a 500.
fn internal(e: String) -> AppError {
    tracing::error!(error = %e, "cannot open an endpoint secret");
    AppError::internal()
}
