//! Unsubscribing an email recipient through the link each message carries (made and checked by
//! [`crate::server::auth::unsubscribe_link`]).
//!
//! Opening the link (GET) only shows what would happen; the POST removes the address from the endpoint's
//! recipients. When the last one goes, the endpoint is switched off, as the hub switches off an endpoint whose
//! destination is gone.

use super::{Actor, Hub};
use crate::model::AppResult;
use crate::server::auth::unsubscribe_link::LinkKey;
use crate::server::delivery::worker::WorkerEvents;
use crate::server::store::AutoDisabled;

/// Why an endpoint is switched off when its last recipient leaves (shown in the UI, and in the audit log).
pub const ALL_UNSUBSCRIBED: &str = "every recipient unsubscribed";
/// Where a link stands, for the page that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsubscription {
    /// Not a link this hub signed (forged, cut short, or signed under another master key).
    Invalid,
    /// The address still receives the endpoint's messages (the page asks to confirm).
    Subscribed { address: String, endpoint: String },
    /// The address is not among the endpoint's recipients (any more), or the endpoint was deleted (None).
    Already { address: String, endpoint: Option<String> },
    /// Removed by this request; `disabled` when it was the last recipient and the endpoint was switched off.
    Removed { address: String, endpoint: String, disabled: bool },
}

impl Hub {
    /// What the link would do, changing nothing (links are opened by scanners and prefetchers too).
    pub async fn unsubscribe_status(&self, token: &str) -> AppResult<Unsubscription> {
        let Some((webhook_id, address)) = LinkKey::new(&self.master_key).open(token) else {
            return Ok(Unsubscription::Invalid);
        };
        let Some(w) = self.store.get_webhook(&webhook_id, None).await? else {
            return Ok(Unsubscription::Already { address, endpoint: None });
        };
        Ok(if w.recipients.iter().any(|r| r.eq_ignore_ascii_case(&address)) {
            Unsubscription::Subscribed { address, endpoint: w.name }
        } else {
            Unsubscription::Already { address, endpoint: Some(w.name) }
        })
    }

    /// Removes the link's address from its endpoint (the confirmation button, or a mail client's one-click
    /// POST). Only the first of several requests removes it; the others find it already gone.
    pub async fn unsubscribe(&self, token: &str) -> AppResult<Unsubscription> {
        let Some((webhook_id, address)) = LinkKey::new(&self.master_key).open(token) else {
            return Ok(Unsubscription::Invalid);
        };
        let Some(r) = self.store.remove_recipient(&webhook_id, &address, ALL_UNSUBSCRIBED).await? else {
            return Ok(Unsubscription::Already { address, endpoint: None });
        };
        if !r.removed {
            return Ok(Unsubscription::Already { address, endpoint: Some(r.name) });
        }
        // The recipient acts without an account: the hub records it on their behalf.
        self.audit(&Actor::System, Some(&r.tenant_id), "unsubscribe.recipient_removed", &webhook_id, &address).await?;
        if r.disabled {
            // The same path as an endpoint the worker switches off: routes dropped here and on every instance,
            // and the audit log says why.
            let off = AutoDisabled {
                webhook_id: webhook_id.clone(),
                tenant_id: r.tenant_id.clone(),
                reason: ALL_UNSUBSCRIBED.to_string(),
            };
            WorkerEvents::endpoint_disabled(self, off).await;
        }
        Ok(Unsubscription::Removed { address, endpoint: r.name, disabled: r.disabled })
    }
}
