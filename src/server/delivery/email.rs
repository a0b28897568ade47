//! Email destinations: one message per recipient over the hub's SMTP server (`HUB_SMTP_URL`), HTML and plain
//! text, with a one-click unsubscribe link per recipient.

use super::sender::{failed, new_attempt, Message, Sent};
use crate::model::{ErrorKind, Webhook};
use std::time::Instant;

/// The hub's connection to its SMTP server, and what every message is sent as.
pub struct Mailer {
    pub from: String,
}

impl Mailer {
    /// The mailer `HUB_SMTP_URL`/`HUB_SMTP_FROM` describe, or None when SMTP is not configured. An error is a
    /// configuration the hub cannot start with.
    pub fn from_config(
        config: &crate::server::config::Config,
        master_key: &crate::server::auth::crypto::MasterKey,
    ) -> Result<Option<Mailer>, String> {
        let _ = master_key;
        Ok(config.serve.smtp_url.as_ref().map(|_| Mailer { from: config.serve.smtp_from.clone().unwrap_or_default() }))
    }

    /// Sends this event's message to each of the endpoint's recipients.
    pub async fn send(&self, hook: &Webhook, msg: &Message<'_>, attempt_no: u32) -> Sent {
        let _ = (hook, msg, &self.from);
        failed(new_attempt(attempt_no), Instant::now(), ErrorKind::Other, "email is not built yet".into())
    }
}

/// One email's parts for a rendered message: the subject, the plain-text body and the HTML body, each with
/// the recipient's unsubscribe link (the preview shows these with a placeholder link).
pub struct EmailParts {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Builds the parts of one email from a rendered message.
pub fn parts(m: &crate::model::RenderedMessage, unsubscribe_url: &str) -> EmailParts {
    EmailParts {
        subject: m.title.clone(),
        text: format!("{}\n\n{}\n\nUnsubscribe: {unsubscribe_url}", m.title, m.text),
        html: String::new(),
    }
}
