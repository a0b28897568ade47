//! The providers, as data: where each one authorises and answers, what the hub asks for, the settings a
//! connection takes (a JSON Schema the settings form is drawn from and updates are validated against) and the
//! actions it runs. Adding a provider is one more [`ProviderDef`] (plus its requests in `apps::actions`).
//!
//! A deployment overrides any URL with `HUB_OAUTH_<PROVIDER>_AUTH_URL`, `_TOKEN_URL`, `_REVOKE_URL` and
//! `_API_BASE` (a sandbox, or a test's local servers) and gives its credentials with `_CLIENT_ID` and
//! `_CLIENT_SECRET`; a provider without both is "not configured" and says which variables to set. The variables
//! are read once, into [`Providers`] (`Config::apps`), so a test can hand a hub its own set without touching the
//! process environment.

use super::templates as T;
use crate::model::{ActionSummary, AppError, FieldError, ProviderId, ProviderInfo};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// How the hub authenticates at a provider's token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (Google, Zoom, Salesforce).
    Basic,
    /// `client_id` and `client_secret` in the form body (Microsoft, HubSpot, Mailchimp).
    Post,
}

/// One provider's built-in definition (production URLs).
pub struct ProviderDef {
    pub id: ProviderId,
    pub auth_url: &'static str,
    pub token_url: &'static str,
    /// RFC 7009 revocation; None where the provider has none (its tokens are only deleted here).
    pub revoke_url: Option<&'static str>,
    /// Where its API answers; empty when the token answer says (Salesforce's `instance_url`, Mailchimp's data
    /// centre), see [`Provider::api_base_for`].
    pub api_base: &'static str,
    pub scopes: &'static [&'static str],
    /// Added to the authorize URL (Google's `access_type=offline` and `prompt=consent`, for a refresh token).
    pub extra_auth_params: &'static [(&'static str, &'static str)],
    pub client_auth: ClientAuth,
    /// `(trigger event type, what it does)`.
    pub actions: &'static [(&'static str, &'static str)],
    /// `(action, shipped request template)` (see [`super::templates`]); a connection may replace each one.
    pub templates: &'static [(&'static str, &'static str)],
    /// The provider's own settings; [`ProviderDef::schema`] adds `templates`.
    pub settings_schema: fn() -> Value,
}

/// The longest request template a connection may set (the shipped ones are under 1 KiB).
pub const MAX_ACTION_TEMPLATE_LEN: usize = 20_000;

impl ProviderDef {
    /// The JSON Schema of a connection's settings: the provider's own, plus `templates` ({action: template},
    /// only this provider's actions, the shipped ones as its default), which the tab edits beside a preview.
    pub fn schema(&self) -> Value {
        let mut schema = (self.settings_schema)();
        let actions: Vec<&str> = self.templates.iter().map(|(a, _)| *a).collect();
        let shipped: serde_json::Map<String, Value> =
            self.templates.iter().map(|(a, t)| (a.to_string(), Value::from(*t))).collect();
        schema["properties"]["templates"] = json!({
            "type": "object", "title": "Request templates", "x-hub-editor": "templates",
            "description": "The body each action sends, rendered from the event; an action left out sends the shipped one (the default)",
            "propertyNames": {"enum": actions},
            "default": shipped,
            "additionalProperties": {"type": "string", "minLength": 1, "maxLength": MAX_ACTION_TEMPLATE_LEN}
        });
        schema
    }
}

const CALENDAR_ACTIONS: &[(&str, &str)] = &[
    ("event.created", "creates the calendar event, with its attendees"),
    ("event.updated", "updates the calendar event it created"),
    ("event.cancelled", "cancels the calendar event it created"),
];

const CRM_ACTIONS: &[(&str, &str)] = &[
    ("contact.created", "creates or updates the contact (matched by email)"),
    ("registration.confirmed", "creates or updates the contact; a paid registration can also create a deal"),
];

/// The six shipped providers.
pub static DEFINITIONS: [ProviderDef; 6] = [
    ProviderDef {
        id: ProviderId::GoogleCalendar,
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        revoke_url: Some("https://oauth2.googleapis.com/revoke"),
        api_base: "https://www.googleapis.com",
        scopes: &["https://www.googleapis.com/auth/calendar.events"],
        extra_auth_params: &[("access_type", "offline"), ("prompt", "consent")],
        client_auth: ClientAuth::Basic,
        actions: CALENDAR_ACTIONS,
        templates: &[("event", T::GOOGLE_CALENDAR_EVENT)],
        settings_schema: || {
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "calendar_id": {"type": "string", "minLength": 1, "maxLength": 1024, "default": "primary",
                                    "title": "Calendar ID", "description": "\"primary\", or a calendar's ID from its settings"},
                    "send_updates": {"type": "string", "enum": ["none", "all"], "default": "none",
                                     "title": "Email attendees", "description": "Whether Google emails invitations and changes"}
                }
            })
        },
    },
    ProviderDef {
        id: ProviderId::Outlook,
        auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        revoke_url: None,
        api_base: "https://graph.microsoft.com",
        scopes: &["offline_access", "Calendars.ReadWrite"],
        extra_auth_params: &[],
        client_auth: ClientAuth::Post,
        actions: CALENDAR_ACTIONS,
        templates: &[("event", T::OUTLOOK_EVENT), ("cancel", T::OUTLOOK_CANCEL)],
        settings_schema: || {
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "calendar_id": {"type": "string", "minLength": 1, "maxLength": 1024, "title": "Calendar ID",
                                    "description": "Empty: the default calendar"}
                }
            })
        },
    },
    ProviderDef {
        id: ProviderId::Zoom,
        auth_url: "https://zoom.us/oauth/authorize",
        token_url: "https://zoom.us/oauth/token",
        revoke_url: Some("https://zoom.us/oauth/revoke"),
        api_base: "https://api.zoom.us",
        scopes: &["meeting:write:meeting"],
        extra_auth_params: &[],
        client_auth: ClientAuth::Basic,
        actions: &[
            ("event.created", "creates a meeting for a virtual event and records its join URL"),
            ("event.updated", "updates the meeting"),
            ("event.cancelled", "deletes the meeting"),
        ],
        templates: &[("meeting", T::ZOOM_MEETING)],
        settings_schema: || {
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "timezone": {"type": "string", "minLength": 1, "maxLength": 64, "default": "UTC", "title": "Time zone"}
                }
            })
        },
    },
    ProviderDef {
        id: ProviderId::Hubspot,
        auth_url: "https://app.hubspot.com/oauth/authorize",
        token_url: "https://api.hubapi.com/oauth/v1/token",
        revoke_url: None,
        api_base: "https://api.hubapi.com",
        scopes: &["crm.objects.contacts.write", "crm.objects.deals.write"],
        extra_auth_params: &[],
        client_auth: ClientAuth::Post,
        actions: CRM_ACTIONS,
        templates: &[("contact", T::HUBSPOT_CONTACT), ("deal", T::HUBSPOT_DEAL)],
        settings_schema: || {
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "contact_property_mapping": {"type": "object", "title": "Contact properties",
                        "description": "HubSpot property → template over the event's data, e.g. company → {{ data.company }}",
                        "propertyNames": {"pattern": "^[a-z0-9_]{1,100}$"},
                        "additionalProperties": {"type": "string", "maxLength": 2000}},
                    "create_deals": {"type": "boolean", "default": false, "title": "Create a deal for a paid registration"},
                    "deal_pipeline": {"type": "string", "minLength": 1, "maxLength": 100, "default": "default", "title": "Deal pipeline"},
                    "deal_stage": {"type": "string", "minLength": 1, "maxLength": 100, "default": "closedwon", "title": "Deal stage"}
                }
            })
        },
    },
    ProviderDef {
        id: ProviderId::Salesforce,
        auth_url: "https://login.salesforce.com/services/oauth2/authorize",
        token_url: "https://login.salesforce.com/services/oauth2/token",
        revoke_url: Some("https://login.salesforce.com/services/oauth2/revoke"),
        api_base: "",
        scopes: &["api", "refresh_token"],
        extra_auth_params: &[],
        client_auth: ClientAuth::Basic,
        actions: CRM_ACTIONS,
        templates: &[("contact", T::SALESFORCE_CONTACT), ("opportunity", T::SALESFORCE_OPPORTUNITY)],
        settings_schema: || {
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "external_id_field": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,79}$", "default": "Email",
                                          "title": "Contact key field", "description": "The Contact field contacts are upserted by"},
                    "api_version": {"type": "string", "pattern": "^v[0-9]{2}\\.[0-9]$", "default": "v60.0", "title": "API version"},
                    "contact_property_mapping": {"type": "object", "title": "Contact fields",
                        "description": "Salesforce field → template over the event's data",
                        "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]{0,79}$"},
                        "additionalProperties": {"type": "string", "maxLength": 2000}},
                    "create_opportunities": {"type": "boolean", "default": false, "title": "Create an opportunity for a paid registration"},
                    "opportunity_stage": {"type": "string", "minLength": 1, "maxLength": 100, "default": "Closed Won", "title": "Opportunity stage"},
                    "api_base": {"type": "string", "format": "uri", "pattern": "^https?://", "title": "Instance URL",
                                 "description": "Used when the token answer names no instance_url"}
                }
            })
        },
    },
    ProviderDef {
        id: ProviderId::Mailchimp,
        auth_url: "https://login.mailchimp.com/oauth2/authorize",
        token_url: "https://login.mailchimp.com/oauth2/token",
        revoke_url: None,
        api_base: "",
        scopes: &[],
        extra_auth_params: &[],
        client_auth: ClientAuth::Post,
        actions: &[("registration.confirmed", "adds or updates the list member, with the tags")],
        templates: &[("member", T::MAILCHIMP_MEMBER)],
        settings_schema: || {
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["list_id"],
                "properties": {
                    "list_id": {"type": "string", "pattern": "^[A-Za-z0-9]{1,64}$", "title": "Audience (list) ID"},
                    "tags": {"type": "array", "maxItems": 50, "items": {"type": "string", "minLength": 1, "maxLength": 100},
                             "title": "Tags"},
                    "status_if_new": {"type": "string", "enum": ["subscribed", "pending"], "default": "pending",
                                      "title": "New members are", "description": "pending: Mailchimp asks them to confirm"}
                }
            })
        },
    },
];

/// The built-in definition of `id`.
pub fn definition(id: ProviderId) -> &'static ProviderDef {
    DEFINITIONS.iter().find(|d| d.id == id).expect("every ProviderId has a definition")
}

/// One provider as this deployment uses it: the definition with the deployment's URLs and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub id: ProviderId,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    /// The configured API base (an override, or the definition's); may be empty when the token answer names it.
    pub api_base: String,
    /// Whether `HUB_OAUTH_<P>_API_BASE` set it: an override wins over what the token answer says, so a test or a
    /// sandbox gets every call.
    pub api_base_overridden: bool,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub extra_auth_params: Vec<(String, String)>,
    pub client_auth: ClientAuth,
}

impl Provider {
    fn from_vars(def: &ProviderDef, vars: &HashMap<String, String>) -> Provider {
        let prefix = def.id.env_prefix();
        let var =
            |name: &str| vars.get(&format!("{prefix}{name}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let api_base = var("API_BASE");
        Provider {
            id: def.id,
            auth_url: var("AUTH_URL").unwrap_or_else(|| def.auth_url.into()),
            token_url: var("TOKEN_URL").unwrap_or_else(|| def.token_url.into()),
            revoke_url: var("REVOKE_URL").or(def.revoke_url.map(str::to_string)),
            api_base_overridden: api_base.is_some(),
            api_base: api_base.unwrap_or_else(|| def.api_base.into()).trim_end_matches('/').to_string(),
            client_id: var("CLIENT_ID"),
            client_secret: var("CLIENT_SECRET"),
            scopes: def.scopes.iter().map(|s| s.to_string()).collect(),
            extra_auth_params: def.extra_auth_params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            client_auth: def.client_auth,
        }
    }

    pub fn definition(&self) -> &'static ProviderDef {
        definition(self.id)
    }

    /// The variables still to set before the provider can be connected.
    pub fn missing_env(&self) -> Vec<String> {
        let prefix = self.id.env_prefix();
        let mut missing = vec![];
        if self.client_id.is_none() {
            missing.push(format!("{prefix}CLIENT_ID"));
        }
        if self.client_secret.is_none() {
            missing.push(format!("{prefix}CLIENT_SECRET"));
        }
        missing
    }

    pub fn configured(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    /// Where a connection's API calls go: the deployment's override, else what the token answer said (stored
    /// on the connection), else the connection's `api_base` setting, else the definition's. None when nothing
    /// names one (a Salesforce connection whose token answer had no `instance_url`).
    pub fn api_base_for(&self, stored: Option<&str>, settings: &Value) -> Option<String> {
        let clean = |s: &str| Some(s.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty());
        if self.api_base_overridden {
            return clean(&self.api_base);
        }
        stored
            .and_then(clean)
            .or_else(|| settings["api_base"].as_str().and_then(clean))
            .or_else(|| clean(&self.api_base))
    }

    /// What the "Connected apps" tab shows of it.
    pub fn info(&self, redirect_uri: &str) -> ProviderInfo {
        let def = self.definition();
        ProviderInfo {
            id: self.id,
            label: self.id.label().to_string(),
            configured: self.configured(),
            missing_env: self.missing_env(),
            scopes: self.scopes.clone(),
            actions: def
                .actions
                .iter()
                .map(|(t, d)| ActionSummary { trigger: t.to_string(), description: d.to_string() })
                .collect(),
            settings_schema: def.schema(),
            redirect_uri: redirect_uri.to_string(),
        }
    }

    /// Checks a connection's settings against the provider's schema: a 422 naming each offending field
    /// (`settings.list_id`), so the form marks it.
    pub fn validate_settings(&self, settings: &Value) -> Result<(), AppError> {
        validate_settings(self.id, settings)
    }
}

/// Checks `settings` against `id`'s settings schema; the error names each offending field as `settings.<path>`.
pub fn validate_settings(id: ProviderId, settings: &Value) -> Result<(), AppError> {
    let schema = definition(id).schema();
    let validator = crate::model::schema::compile(&schema).map_err(|e| {
        tracing::error!(provider = %id, error = %e, "a provider's settings schema does not compile");
        AppError::internal()
    })?;
    let mut fields: Vec<FieldError> = vec![];
    for e in validator.iter_errors(settings) {
        let mut path = String::from("settings");
        for segment in e.instance_path().iter() {
            path.push('.');
            path.push_str(&segment.to_string());
        }
        let (field, message) = match e.kind() {
            jsonschema::error::ValidationErrorKind::Required { property: Value::String(p) } => {
                (format!("{path}.{p}"), "is required".to_string())
            }
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                (path.clone(), format!("unknown setting {}", unexpected.join(", ")))
            }
            _ => (path, e.to_string()),
        };
        if !fields.iter().any(|f| f.field == field) {
            fields.push(FieldError { field, message });
        }
        if fields.len() >= 20 {
            break;
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(fields))
    }
}

/// Every provider as this deployment configures it (`Config::apps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Providers(Arc<Vec<Provider>>);

impl Default for Providers {
    /// The built-in definitions, none configured.
    fn default() -> Self {
        Providers::from_vars(std::iter::empty::<(String, String)>())
    }
}

impl Providers {
    /// From the process environment (`HUB_OAUTH_*`).
    pub fn from_env() -> Providers {
        Providers::from_vars(std::env::vars().filter(|(k, _)| k.starts_with("HUB_OAUTH_")))
    }

    /// From these `(name, value)` variables, as if they were the environment.
    pub fn from_vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Providers {
        let vars: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Providers(Arc::new(DEFINITIONS.iter().map(|d| Provider::from_vars(d, &vars)).collect()))
    }

    /// These providers with `vars` applied over them (a test pointing one provider at its local servers).
    pub fn with_vars<K: Into<String>, V: Into<String>>(&self, vars: impl IntoIterator<Item = (K, V)>) -> Providers {
        let mut all: HashMap<String, String> = HashMap::new();
        for p in self.0.iter() {
            let prefix = p.id.env_prefix();
            let mut put = |name: &str, v: Option<&String>| {
                if let Some(v) = v {
                    all.insert(format!("{prefix}{name}"), v.clone());
                }
            };
            put("AUTH_URL", Some(&p.auth_url));
            put("TOKEN_URL", Some(&p.token_url));
            put("REVOKE_URL", p.revoke_url.as_ref());
            put("API_BASE", Some(&p.api_base).filter(|_| p.api_base_overridden));
            put("CLIENT_ID", p.client_id.as_ref());
            put("CLIENT_SECRET", p.client_secret.as_ref());
        }
        all.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        Providers::from_vars(all)
    }

    pub fn get(&self, id: ProviderId) -> &Provider {
        self.0.iter().find(|p| p.id == id).expect("every ProviderId has a provider")
    }

    pub fn all(&self) -> impl Iterator<Item = &Provider> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_a_definition_and_a_schema_that_compiles() {
        for id in ProviderId::ALL {
            let def = definition(id);
            assert_eq!(def.id, id);
            crate::model::schema::compile(&def.schema()).unwrap();
            assert!(!def.actions.is_empty(), "{id}");
        }
    }

    #[test]
    fn variables_override_urls_and_make_a_provider_configured() {
        let p = Providers::default();
        let zoom = p.get(ProviderId::Zoom);
        assert!(!zoom.configured());
        assert_eq!(zoom.missing_env(), ["HUB_OAUTH_ZOOM_CLIENT_ID", "HUB_OAUTH_ZOOM_CLIENT_SECRET"]);
        assert_eq!(zoom.token_url, "https://zoom.us/oauth/token");

        let p = p.with_vars([
            ("HUB_OAUTH_ZOOM_CLIENT_ID", "id"),
            ("HUB_OAUTH_ZOOM_CLIENT_SECRET", "secret"),
            ("HUB_OAUTH_ZOOM_TOKEN_URL", "http://127.0.0.1:9/token"),
            ("HUB_OAUTH_ZOOM_API_BASE", "http://127.0.0.1:9/api/"),
        ]);
        let zoom = p.get(ProviderId::Zoom);
        assert!(zoom.configured() && zoom.missing_env().is_empty());
        assert_eq!(zoom.token_url, "http://127.0.0.1:9/token");
        assert_eq!(zoom.auth_url, "https://zoom.us/oauth/authorize");
        assert_eq!(zoom.api_base_for(Some("https://elsewhere"), &json!({})).as_deref(), Some("http://127.0.0.1:9/api"));
        // Applying more variables keeps the earlier ones.
        let p = p.with_vars([("HUB_OAUTH_HUBSPOT_CLIENT_ID", "h")]);
        assert!(p.get(ProviderId::Zoom).configured());
        assert!(p.get(ProviderId::Hubspot).missing_env() == ["HUB_OAUTH_HUBSPOT_CLIENT_SECRET"]);
    }

    #[test]
    fn salesforce_answers_at_the_instance_the_token_named() {
        let p = Providers::default();
        let sf = p.get(ProviderId::Salesforce);
        assert_eq!(
            sf.api_base_for(Some("https://acme.my.salesforce.com/"), &json!({})).as_deref(),
            Some("https://acme.my.salesforce.com")
        );
        assert_eq!(
            sf.api_base_for(None, &json!({"api_base": "https://x.my.salesforce.com"})).as_deref(),
            Some("https://x.my.salesforce.com")
        );
        assert_eq!(sf.api_base_for(None, &json!({})), None);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let e = validate_settings(ProviderId::Mailchimp, &json!({"tags": ["a"]})).unwrap_err();
        assert_eq!(e.code.http_status(), 422);
        assert_eq!(e.fields[0].field, "settings.list_id");
        let e = validate_settings(ProviderId::GoogleCalendar, &json!({"send_updates": "some"})).unwrap_err();
        assert_eq!(e.fields[0].field, "settings.send_updates", "{e:?}");
        let e = validate_settings(ProviderId::Zoom, &json!({"colour": "red"})).unwrap_err();
        assert!(e.fields[0].message.contains("colour"), "{e:?}");
        assert!(validate_settings(ProviderId::GoogleCalendar, &json!({"calendar_id": "team@example.com"})).is_ok());
        assert!(validate_settings(ProviderId::Mailchimp, &json!({"list_id": "abc123", "tags": ["vip"]})).is_ok());
    }
}
