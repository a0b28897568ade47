//! Connected apps: a tenant's OAuth connections to the tools it already uses (calendars, video, CRM, marketing),
//! what each provider offers, and the sync logs of what the hub sent them. Shared by the "Connected apps" tab,
//! the server functions, the REST API (`/api/v1/integrations`) and the sync engine.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The providers the hub ships a definition for (`server/apps/providers.rs`). The id is the one in URLs, in the
/// `HUB_OAUTH_<ID>_*` variables (upper-cased) and in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProviderId {
    GoogleCalendar,
    Outlook,
    Zoom,
    Hubspot,
    Salesforce,
    Mailchimp,
}

impl ProviderId {
    pub const ALL: [ProviderId; 6] = [
        ProviderId::GoogleCalendar,
        ProviderId::Outlook,
        ProviderId::Zoom,
        ProviderId::Hubspot,
        ProviderId::Salesforce,
        ProviderId::Mailchimp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderId::GoogleCalendar => "google_calendar",
            ProviderId::Outlook => "outlook",
            ProviderId::Zoom => "zoom",
            ProviderId::Hubspot => "hubspot",
            ProviderId::Salesforce => "salesforce",
            ProviderId::Mailchimp => "mailchimp",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderId> {
        ProviderId::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The name people know the product by.
    pub fn label(self) -> &'static str {
        match self {
            ProviderId::GoogleCalendar => "Google Calendar",
            ProviderId::Outlook => "Outlook Calendar",
            ProviderId::Zoom => "Zoom",
            ProviderId::Hubspot => "HubSpot",
            ProviderId::Salesforce => "Salesforce",
            ProviderId::Mailchimp => "Mailchimp",
        }
    }

    /// The prefix of this provider's configuration variables: `HUB_OAUTH_GOOGLE_CALENDAR_` and so on.
    pub fn env_prefix(self) -> String {
        format!("HUB_OAUTH_{}_", self.as_str().to_ascii_uppercase())
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a provider does when an event of the tenant arrives (export direction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActionSummary {
    /// The event type that triggers it (`event.created`, `registration.confirmed`, …).
    pub trigger: String,
    /// What it does at the provider, in a sentence.
    pub description: String,
}

/// A provider as the "Connected apps" tab shows it: whether this deployment can connect to it and, when not,
/// which variables the operator has to set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderInfo {
    pub id: ProviderId,
    pub label: String,
    /// Whether a client id (and secret) is configured: without one the provider cannot be connected.
    pub configured: bool,
    /// The variables still to set when it is not configured (`HUB_OAUTH_ZOOM_CLIENT_ID`, …).
    pub missing_env: Vec<String>,
    /// The scopes the hub asks for.
    pub scopes: Vec<String>,
    pub actions: Vec<ActionSummary>,
    /// The JSON Schema of a connection's settings, from which the settings form is drawn.
    pub settings_schema: Value,
    /// The redirect URL to register at the provider (one for every provider).
    pub redirect_uri: String,
}

/// What a connection with these settings would send for the catalog example of one trigger event: its requests
/// in order, why there are none, or why the templates cannot make them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppPreview {
    pub event_type: String,
    pub calls: Vec<PreviewCall>,
    /// Set when the event makes no request (a Zoom action for an event that is not virtual, …).
    pub skipped: Option<String>,
    /// A template that does not render, or an example the action cannot use, said as the sync log would.
    pub error: Option<String>,
}

/// One request of a preview, as it would go to the provider (under its API base).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewCall {
    /// The template it was rendered with; empty for a request the hub builds itself (Mailchimp's tags).
    pub action: String,
    pub method: String,
    pub path: String,
    /// The JSON body, pretty-printed.
    pub body: Option<String>,
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Tokens work: actions run.
    #[default]
    Active,
    /// The provider refused the tokens (a rejected refresh): `last_error` says why; Reconnect fixes it.
    Error,
    /// Switched off by a person: nothing is sent.
    Disabled,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 3] =
        [ConnectionStatus::Active, ConnectionStatus::Error, ConnectionStatus::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Active => "active",
            ConnectionStatus::Error => "error",
            ConnectionStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectionStatus> {
        ConnectionStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A tenant's connection to one provider. Tokens never leave the server: this is everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Connection {
    /// `app_…`
    pub id: String,
    pub tenant_id: String,
    pub provider: ProviderId,
    /// None: the tenant's connection (the default); a user id: that person's own.
    pub user_id: Option<String>,
    pub status: ConnectionStatus,
    /// Which account at the provider, when it says (an email, an instance URL, a Mailchimp account name).
    pub account_label: Option<String>,
    /// When the access token expires (unix milliseconds), when the provider says.
    pub token_expires_at: Option<i64>,
    /// The scopes the provider granted.
    pub scopes: Vec<String>,
    /// The connection's settings (validated against the provider's settings schema).
    pub settings: Value,
    /// The provider's message when the connection went to `error`.
    pub last_error: Option<String>,
    pub last_sync_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a manual or event-driven sync run was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    /// One event's actions, sent through the delivery queue (one row per delivery).
    Event,
    /// "Sync now" from the beginning.
    Full,
    /// "Sync now" from the stored cursor.
    #[default]
    Incremental,
    /// Started by a person for something other than a full or incremental run.
    Manual,
}

impl SyncKind {
    pub const ALL: [SyncKind; 4] = [SyncKind::Event, SyncKind::Full, SyncKind::Incremental, SyncKind::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Event => "event",
            SyncKind::Full => "full",
            SyncKind::Incremental => "incremental",
            SyncKind::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<SyncKind> {
        SyncKind::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// How a sync run ended (or that it still runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    #[default]
    Running,
    /// Every record went through.
    Succeeded,
    /// Some records failed (see `errors`), others went through.
    Partial,
    /// Nothing went through.
    Failed,
    /// The instance running it stopped before it finished.
    Interrupted,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 5] =
        [SyncStatus::Running, SyncStatus::Succeeded, SyncStatus::Partial, SyncStatus::Failed, SyncStatus::Interrupted];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Running => "running",
            SyncStatus::Succeeded => "succeeded",
            SyncStatus::Partial => "partial",
            SyncStatus::Failed => "failed",
            SyncStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<SyncStatus> {
        SyncStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The status a finished run gets from its counts.
    pub fn from_counts(processed: i64, failed: i64) -> SyncStatus {
        match (processed, failed) {
            (_, 0) => SyncStatus::Succeeded,
            (p, f) if f >= p => SyncStatus::Failed,
            _ => SyncStatus::Partial,
        }
    }
}

/// One record that did not go through, with the provider's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecordError {
    /// Which record (`event:evt_…`, `contact:ada@example.com`).
    pub record: String,
    /// The provider's message (or the hub's, when the request could not be made).
    pub message: String,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
}

/// One sync run (or one event's actions) of a connection: what was processed, created, updated and failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncLog {
    /// `syn_…`
    pub id: String,
    pub connection_id: String,
    pub tenant_id: String,
    pub kind: SyncKind,
    /// `export` (the hub sends to the provider).
    pub direction: String,
    pub status: SyncStatus,
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    pub started_at: i64,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Where an incremental run continues from (the last record it processed).
    pub cursor: Option<String>,
    /// The delivery an `event` row belongs to.
    pub delivery_id: Option<String>,
    /// Per record, why it failed.
    pub errors: Vec<RecordError>,
    /// What the provider gave back worth showing: remote ids, a Zoom meeting's `join_url`, …
    pub details: Value,
}

impl SyncLog {
    /// The keyset cursor after this row: logs are read newest first by (started_at, id).
    pub fn cursor_after(&self) -> String {
        format!("{}.{}", self.started_at, self.id)
    }
}

/// `(started_at, id)` of a cursor made by [`SyncLog::cursor_after`]; None when it is not one.
pub fn parse_sync_log_cursor(c: &str) -> Option<(i64, String)> {
    let (at, id) = c.split_once('.')?;
    let plausible = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    plausible.then_some((at.parse().ok()?, id.to_string()))
}

/// A page of a connection's sync logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct SyncLogQuery {
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Rows per page (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

impl super::Paged for SyncLogQuery {
    const DEFAULT_LIMIT: u32 = 50;
    fn requested_limit(&self) -> Option<u32> {
        self.limit
    }
}

/// A change to a connection: its settings (replaced whole, validated against the provider's schema) and/or
/// whether it is switched off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionSettingsUpdate {
    #[serde(default)]
    pub settings: Option<Value>,
    /// false switches the connection off (`disabled`), true on again (`active`); a connection in `error` is
    /// fixed by reconnecting, not by this.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Where to send the person to authorise the hub at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuthorizeUrl {
    pub url: String,
}

/// A "Sync now" request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncRequest {
    /// `full` or `incremental` (the default).
    #[serde(default)]
    pub kind: SyncKind,
}

/// Which tenant's connections (admin-wide keys and admins name one; a tenant's key is confined to its own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct IntegrationsQuery {
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// `POST /integrations/{provider}/authorize` body (optional): the tenant, for admin-wide keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuthorizeRequest {
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// The providers and the tenant's connections, as the "Connected apps" tab loads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppsOverview {
    pub providers: Vec<ProviderInfo>,
    pub connections: Vec<Connection>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_states_round_trip_through_their_names() {
        for p in ProviderId::ALL {
            assert_eq!(ProviderId::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), Value::String(p.as_str().into()));
        }
        assert_eq!(ProviderId::GoogleCalendar.env_prefix(), "HUB_OAUTH_GOOGLE_CALENDAR_");
        for s in SyncStatus::ALL {
            assert_eq!(SyncStatus::parse(s.as_str()), Some(s));
        }
        for k in SyncKind::ALL {
            assert_eq!(SyncKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn a_run_is_partial_when_some_records_fail() {
        assert_eq!(SyncStatus::from_counts(3, 0), SyncStatus::Succeeded);
        assert_eq!(SyncStatus::from_counts(3, 1), SyncStatus::Partial);
        assert_eq!(SyncStatus::from_counts(3, 3), SyncStatus::Failed);
        assert_eq!(SyncStatus::from_counts(0, 0), SyncStatus::Succeeded);
    }
}
