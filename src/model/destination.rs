//! Destinations: what kind of place an endpoint delivers to (a signed webhook, a chat platform's incoming
//! webhook, email, a connected app's API), how its message reads, and each platform's documented limits. Shared
//! by the form, the preview, the REST API and the sender.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    /// The event's envelope (or the endpoint's body template), signed (Standard Webhooks).
    #[default]
    Webhook,
    /// A Slack incoming webhook: `text` plus Block Kit `blocks`.
    Slack,
    /// A Discord channel webhook: `content` plus `embeds`, mentions switched off.
    Discord,
    /// A Microsoft Teams Workflows webhook: an Adaptive Card.
    Teams,
    /// Email over the hub's SMTP server (`HUB_SMTP_URL`), one message per recipient.
    Email,
    /// A connected app's actions (Google Calendar, HubSpot, …): the hidden endpoint a connection carries its
    /// event-driven calls through, made and changed only with the connection (never picked in the form).
    App,
}

impl DestinationKind {
    /// The kinds a person picks for an endpoint (every kind but [`DestinationKind::App`]).
    pub const ALL: [DestinationKind; 5] = [
        DestinationKind::Webhook,
        DestinationKind::Slack,
        DestinationKind::Discord,
        DestinationKind::Teams,
        DestinationKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "webhook",
            DestinationKind::Slack => "slack",
            DestinationKind::Discord => "discord",
            DestinationKind::Teams => "teams",
            DestinationKind::Email => "email",
            DestinationKind::App => "app",
        }
    }

    pub fn parse(s: &str) -> Option<DestinationKind> {
        DestinationKind::ALL.into_iter().chain([DestinationKind::App]).find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "Webhook",
            DestinationKind::Slack => "Slack",
            DestinationKind::Discord => "Discord",
            DestinationKind::Teams => "Microsoft Teams",
            DestinationKind::Email => "Email",
            DestinationKind::App => "Connected app",
        }
    }

    /// Whether deliveries are HTTP requests to the endpoint's URL (every kind but email; an app's go to its
    /// API under the endpoint's URL).
    pub fn is_http(self) -> bool {
        self != DestinationKind::Email
    }

    /// Whether the endpoint sends a message rendered from [`MessageTemplate`] (chat and email).
    pub fn is_message(self) -> bool {
        !matches!(self, DestinationKind::Webhook | DestinationKind::App)
    }

    /// Whether the platform itself can hold the endpoint's sends back (a chat platform's spent bucket, a
    /// connected app's 429), so its sends pass the rate limiter even without a limit of its own.
    pub fn obeys_holds(self) -> bool {
        self.is_message() || self == DestinationKind::App
    }

    /// What a new endpoint of this kind is limited to unless the form says otherwise: the platform's own
    /// documented rate (Slack: about one message a second per incoming webhook; Discord: 30 a minute per
    /// channel webhook; Teams Workflows: 4 a second), none for webhooks and email.
    pub fn default_rate_limit_per_minute(self) -> u32 {
        match self {
            DestinationKind::Slack => 60,
            DestinationKind::Discord => 30,
            DestinationKind::Teams => 240,
            DestinationKind::Webhook | DestinationKind::Email => 0,
            // Each provider's own (`apps::actions::default_rate_limit_per_minute`), set with the endpoint.
            DestinationKind::App => 60,
        }
    }

    /// What the URL field asks for.
    pub fn url_hint(self) -> &'static str {
        match self {
            DestinationKind::Webhook => "https://example.com/webhooks",
            DestinationKind::Slack => "https://hooks.slack.com/services/T000/B000/XXXX",
            DestinationKind::Discord => "https://discord.com/api/webhooks/123/abc",
            DestinationKind::Teams => "https://prod-00.westeurope.logic.azure.com/workflows/…",
            DestinationKind::Email | DestinationKind::App => "",
        }
    }
}

/// How a chat message or an email reads: minijinja templates rendered against the event (its `data` fields at
/// the top level, plus `data`, `type`, `event_id` and `timestamp`). Empty parts fall back to the default for
/// the event's category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageTemplate {
    /// The headline (the email's subject).
    #[serde(default)]
    pub title: String,
    /// The body text.
    #[serde(default)]
    pub text: String,
    /// Label/value pairs shown as fields (Slack fields, Discord embed fields, a Teams fact set, an email table).
    #[serde(default)]
    pub fields: Vec<MessageField>,
    /// A link button's target, e.g. `{{ ticket.url }}`; empty: no button.
    #[serde(default)]
    pub link: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageField {
    pub name: String,
    /// A template.
    pub value: String,
}

/// How an event's outcome colours a message (Discord's embed colour, Teams' accent, the email's bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    #[default]
    Info,
    Good,
    Warning,
    Bad,
}

impl Tone {
    /// From the event type's last word: `ticket.created` is good news, `payment.failed` bad.
    pub fn of_event_type(event_type: &str) -> Tone {
        let verb = event_type.rsplit('.').next().unwrap_or_default();
        match verb {
            "failed" | "breached" | "rejected" | "cancelled" | "deleted" | "declined" | "dead_lettered"
            | "disabled" => Tone::Bad,
            "warning" | "escalated" | "reopened" | "expiring" | "quota_reached" | "refunded" => Tone::Warning,
            "created" | "approved" | "completed" | "confirmed" | "resolved" | "accepted" | "published" | "joined" => {
                Tone::Good
            }
            _ => Tone::Info,
        }
    }

    /// Discord's embed colour (0xRRGGBB).
    pub fn rgb(self) -> u32 {
        match self {
            Tone::Info => 0x3B82F6,
            Tone::Good => 0x16A34A,
            Tone::Warning => 0xD97706,
            Tone::Bad => 0xDC2626,
        }
    }
}

/// A message rendered for one event, before a platform's format is applied: what the preview shows and what
/// each platform's payload is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RenderedMessage {
    pub title: String,
    pub text: String,
    pub fields: Vec<(String, String)>,
    /// An http(s) URL, or none (a rendered link that is not one is dropped).
    pub link: Option<String>,
    pub tone: Tone,
    /// `ticket.created · evt_…`
    pub footer: String,
    /// RFC 3339.
    pub timestamp: String,
}

/// What the endpoint form's preview shows for an example event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationPreview {
    pub kind: DestinationKind,
    pub event_type: String,
    pub message: RenderedMessage,
    /// Exactly what would be sent: the JSON body, or the email's text part with its subject.
    pub payload: String,
    /// A template that does not render, said as the sender would record it.
    pub error: Option<String>,
}

/// The platforms' documented limits, enforced when a message is built.
pub mod platform_limits {
    /// Slack: a section block's text.
    pub const SLACK_SECTION_TEXT: usize = 3_000;
    /// Slack: a header block's plain text.
    pub const SLACK_HEADER_TEXT: usize = 150;
    /// Slack: a section's fields, and each field's text.
    pub const SLACK_FIELDS: usize = 10;
    pub const SLACK_FIELD_TEXT: usize = 2_000;
    /// Slack: blocks in one message.
    pub const SLACK_BLOCKS: usize = 50;
    /// Discord: the message's `content`.
    pub const DISCORD_CONTENT: usize = 2_000;
    /// Discord: embeds per message, and an embed's parts.
    pub const DISCORD_EMBEDS: usize = 10;
    pub const DISCORD_TITLE: usize = 256;
    pub const DISCORD_DESCRIPTION: usize = 4_096;
    pub const DISCORD_FIELDS: usize = 25;
    pub const DISCORD_FIELD_NAME: usize = 256;
    pub const DISCORD_FIELD_VALUE: usize = 1_024;
    pub const DISCORD_FOOTER: usize = 2_048;
    /// Discord: all of an embed's text together.
    pub const DISCORD_EMBED_TOTAL: usize = 6_000;
    /// Teams: the whole request body.
    pub const TEAMS_BYTES: usize = 28 * 1024;
    /// Email: recipients per endpoint.
    pub const MAX_RECIPIENTS: usize = 50;
    /// Email: a subject line.
    pub const EMAIL_SUBJECT: usize = 200;
}

/// Cuts `s` to at most `max` characters, the last one an ellipsis when anything was cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A recipient address as a form checks it: one `local@domain`, no spaces, no display name, no list.
pub fn valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && address.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && address.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ',' | ';' | '"' | '(' | ')'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate_chars("héllo", 5), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 6), "héllo…");
        assert_eq!(truncate_chars("ab", 0), "…");
    }

    #[test]
    fn tones_follow_the_event_verb() {
        assert_eq!(Tone::of_event_type("payment.failed"), Tone::Bad);
        assert_eq!(Tone::of_event_type("ticket.created"), Tone::Good);
        assert_eq!(Tone::of_event_type("sla.warning"), Tone::Warning);
        assert_eq!(Tone::of_event_type("ticket.updated"), Tone::Info);
    }

    #[test]
    fn app_endpoints_are_stored_but_never_offered() {
        assert_eq!(DestinationKind::parse("app"), Some(DestinationKind::App));
        assert!(!DestinationKind::ALL.contains(&DestinationKind::App));
        assert!(DestinationKind::App.is_http() && !DestinationKind::App.is_message());
        assert!(DestinationKind::App.obeys_holds() && !DestinationKind::Webhook.obeys_holds());
    }

    #[test]
    fn recipient_addresses() {
        assert!(valid_email("ops@example.com"));
        for bad in ["", "ops", "@example.com", "ops@localhost", "a b@example.com", "x@y.com, z@w.com", "<a@b.co>"] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
