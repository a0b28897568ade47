//! The shipped request templates: what each provider's action sends, rendered from the event. They are part of
//! the provider definitions (`ProviderDef::templates`); a connection replaces any of them in its settings
//! (`templates`: {action: template}), and the Connected apps tab previews the result for a trigger's catalog example.
//!
//! A template is JSON text rendered from the event (its `data` fields at the top level, plus `data`, `type`,
//! `event_id`, `timestamp`, the connection's `settings` and the values in `hub` computed for providers:
//! `hub.start_utc`, `hub.end_utc`, `hub.start_naive`, `hub.end_naive`, `hub.duration_minutes`, `hub.today`,
//! `hub.amount`, `hub.amount_number`). Keys whose value renders as `null` are left out, so an optional field the
//! event does not have is not sent (and an update does not clear it).

pub const GOOGLE_CALENDAR_EVENT: &str = r#"{
  "summary": {{ title | tojson }},
  "description": {% if description %}{{ description | tojson }}{% else %}null{% endif %},
  "location": {% if location %}{{ location | tojson }}{% else %}null{% endif %},
  "start": {"dateTime": {{ hub.start_utc | tojson }}},
  "end": {"dateTime": {{ hub.end_utc | tojson }}},
  "attendees": {% if attendees is defined %}[{% for a in attendees %}{"email": {{ a.email | tojson }}{% if a.name %}, "displayName": {{ a.name | tojson }}{% endif %}}{% if not loop.last %}, {% endif %}{% endfor %}]{% else %}null{% endif %}
}"#;

pub const OUTLOOK_EVENT: &str = r#"{
  "subject": {{ title | tojson }},
  "body": {% if description %}{"contentType": "Text", "content": {{ description | tojson }}}{% else %}null{% endif %},
  "start": {"dateTime": {{ hub.start_naive | tojson }}, "timeZone": "UTC"},
  "end": {"dateTime": {{ hub.end_naive | tojson }}, "timeZone": "UTC"},
  "location": {% if location %}{"displayName": {{ location | tojson }}}{% else %}null{% endif %},
  "attendees": {% if attendees is defined %}[{% for a in attendees %}{"emailAddress": {"address": {{ a.email | tojson }}{% if a.name %}, "name": {{ a.name | tojson }}{% endif %}}, "type": "required"}{% if not loop.last %}, {% endif %}{% endfor %}]{% else %}null{% endif %}
}"#;

pub const OUTLOOK_CANCEL: &str = r#"{"comment": {% if message %}{{ message | tojson }}{% else %}null{% endif %}}"#;

pub const ZOOM_MEETING: &str = r#"{
  "topic": {{ title | tojson }},
  "type": 2,
  "start_time": {{ hub.start_utc | tojson }},
  "duration": {{ hub.duration_minutes }},
  "timezone": {{ (settings.timezone or "UTC") | tojson }},
  "agenda": {% if description %}{{ description | tojson }}{% else %}null{% endif %}
}"#;

pub const HUBSPOT_CONTACT: &str = r#"{"inputs": [{"idProperty": "email", "id": {{ email | lower | tojson }}, "properties": {
  "email": {{ email | lower | tojson }},
  "firstname": {% if first_name %}{{ first_name | tojson }}{% else %}null{% endif %},
  "lastname": {% if last_name %}{{ last_name | tojson }}{% else %}null{% endif %},
  "company": {% if company %}{{ company | tojson }}{% else %}null{% endif %}
}}]}"#;

pub const HUBSPOT_DEAL: &str = r#"{"properties": {
  "dealname": {{ (event_title ~ " – " ~ (email | lower)) | tojson }},
  "amount": {{ hub.amount | tojson }},
  "pipeline": {{ (settings.deal_pipeline or "default") | tojson }},
  "dealstage": {{ (settings.deal_stage or "closedwon") | tojson }}
}}"#;

pub const SALESFORCE_CONTACT: &str = r#"{
  "LastName": {{ (last_name or email) | tojson }},
  "FirstName": {% if first_name %}{{ first_name | tojson }}{% else %}null{% endif %},
  "Email": {{ email | lower | tojson }}
}"#;

pub const SALESFORCE_OPPORTUNITY: &str = r#"{
  "Name": {{ (event_title ~ " – " ~ (email | lower)) | tojson }},
  "StageName": {{ (settings.opportunity_stage or "Closed Won") | tojson }},
  "CloseDate": {{ hub.today | tojson }},
  "Amount": {{ hub.amount_number }}
}"#;

pub const MAILCHIMP_MEMBER: &str = r#"{
  "email_address": {{ email | lower | tojson }},
  "status_if_new": {{ (settings.status_if_new or "pending") | tojson }},
  "merge_fields": {% if first_name or last_name %}{"FNAME": {{ (first_name or "") | tojson }}, "LNAME": {{ (last_name or "") | tojson }}}{% else %}null{% endif %}
}"#;
