//! The "Connected apps" tab: a card per provider (logo drawn inline, status, account, last sync) with Connect,
//! Reconnect and Disconnect; a drawer per connection with its settings form (drawn from the provider's JSON
//! Schema), "Sync now" with its progress, and the sync log. Viewers and portal sessions see everything and change
//! nothing. The OAuth callback comes back here with `connected=` or `error=` for a toast.
//!
//! Every Resource is made at the top of [`AppsPanel`]: one made inside a resolved Transition or inside a card does
//! not hydrate in step with the server's markup.

use super::layout::use_tenant_id;
use super::modal::{ConfirmDialog, Modal};
use super::style::*;
use super::time::{Ago, At};
use super::toast::{on_success, use_toasts};
use super::widgets::{CardTable, Column, LoadMore};
use crate::model::{
    AppError, AppPreview, AuthorizeUrl, Connection, ConnectionSettingsUpdate, ConnectionStatus, FieldError, Page,
    ProviderId, ProviderInfo, Role, ShellContext, SyncKind, SyncLog, SyncLogQuery, SyncRequest, SyncStatus,
};
use crate::server_fns::apps::{
    begin_app_connect, disconnect_app, list_app_sync_logs, load_connected_apps, preview_app_action, save_app_settings,
    sync_app_now,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use serde_json::{Map, Value};

/// Sync-log rows per page ("Load more" fetches the next).
const LOG_PAGE: u32 = 20;

/// How often a running sync's row is read again for its progress.
const POLL_MS: u64 = 1000;

// ---------------------------------------------------------------------------------------------------------------
// The settings form, from the provider's JSON Schema (pure: unit-tested below)
// ---------------------------------------------------------------------------------------------------------------

/// How one setting is edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A string: a text input.
    Text,
    /// A string with an `enum`: a select of these values.
    Choice(Vec<String>),
    /// A boolean: a checkbox.
    Flag,
    /// An integer: a number input (within `minimum`/`maximum` when the schema says).
    Whole { min: Option<i64>, max: Option<i64> },
    /// An array of strings: a textarea, one per line.
    List,
    /// An object of string values (a property → template mapping): rows of name and value.
    Mapping,
    /// Request templates by action (`x-hub-editor: templates`, the shipped ones as the default): a text area
    /// per action, beside a preview of what they send.
    Templates,
}

/// One setting of a provider as its form shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingField {
    pub name: String,
    pub label: String,
    pub help: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    pub default: Option<Value>,
}

impl SettingField {
    /// The field's key in a validation error (`settings.calendar_id`), as the server names it.
    pub fn error_key(&self) -> String {
        format!("settings.{}", self.name)
    }
}

/// The form's fields for a settings schema: its required properties first, then the others; a property of a
/// type the form cannot edit (nested objects, numbers with fractions) is left out and keeps its stored value.
pub fn settings_fields(schema: &Value) -> Vec<SettingField> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let mut fields: Vec<SettingField> = props
        .iter()
        .filter_map(|(name, p)| {
            let kind = field_kind(p)?;
            Some(SettingField {
                name: name.clone(),
                label: p.get("title").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| humanize(name)),
                help: p.get("description").and_then(Value::as_str).map(str::to_string),
                kind,
                required: required.contains(&name.as_str()),
                default: p.get("default").cloned(),
            })
        })
        .collect();
    // Stable: within each group the schema's own order stays.
    fields.sort_by_key(|f| !f.required);
    fields
}

fn field_kind(p: &Value) -> Option<FieldKind> {
    if p.get("x-hub-editor").and_then(Value::as_str) == Some("templates") {
        return Some(FieldKind::Templates);
    }
    if let Some(values) = p.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().filter_map(Value::as_str).map(str::to_string).collect();
        return (!values.is_empty()).then_some(FieldKind::Choice(values));
    }
    match p.get("type").and_then(Value::as_str)? {
        "string" => Some(FieldKind::Text),
        "boolean" => Some(FieldKind::Flag),
        "integer" => Some(FieldKind::Whole {
            min: p.get("minimum").and_then(Value::as_i64),
            max: p.get("maximum").and_then(Value::as_i64),
        }),
        "array" if p.pointer("/items/type").and_then(Value::as_str) == Some("string") => Some(FieldKind::List),
        "object"
            if p.pointer("/additionalProperties/type").and_then(Value::as_str) == Some("string")
                && p.get("properties").is_none() =>
        {
            Some(FieldKind::Mapping)
        }
        _ => None,
    }
}

/// `calendar_id` → "Calendar id", for a property without a title.
fn humanize(name: &str) -> String {
    let text = name.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// What a field holds while it is edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Draft {
    /// Text, a choice, a whole number as typed, or a list one item per line.
    Text(String),
    Flag(bool),
    /// A mapping's rows, (name, value), in the order shown.
    Rows(Vec<(String, String)>),
}

/// The field's value in the form: the stored setting, else the schema's default, else empty.
pub fn draft_of(field: &SettingField, settings: &Value) -> Draft {
    let value = settings.get(&field.name).filter(|v| !v.is_null()).or(field.default.as_ref());
    match &field.kind {
        FieldKind::Flag => Draft::Flag(value.and_then(Value::as_bool).unwrap_or(false)),
        // Every action, with the connection's own template where it has one, else the shipped one.
        FieldKind::Templates => Draft::Rows(
            shipped(field)
                .into_iter()
                .map(|(action, t)| {
                    let own = settings.pointer(&format!("/templates/{action}")).and_then(Value::as_str);
                    let text = own.map(str::to_string).unwrap_or(t);
                    (action, text)
                })
                .collect(),
        ),
        FieldKind::Mapping => Draft::Rows(
            value
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default(),
        ),
        FieldKind::List => Draft::Text(
            value
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default(),
        ),
        FieldKind::Text | FieldKind::Choice(_) | FieldKind::Whole { .. } => Draft::Text(match value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }),
    }
}

/// The shipped templates of a templates field, by action (the schema's default).
fn shipped(field: &SettingField) -> Vec<(String, String)> {
    let default = field.default.as_ref().and_then(Value::as_object);
    default.into_iter().flatten().map(|(a, t)| (a.clone(), t.as_str().unwrap_or_default().to_string())).collect()
}

/// The settings the form's drafts make (the server validates them against the schema again). An empty text,
/// list or mapping leaves the setting out, so the provider's default applies. Settings the form does not show
/// keep their `previous` value. Errors name the field as the server would (`settings.<name>`).
pub fn settings_value(fields: &[SettingField], drafts: &[Draft], previous: &Value) -> Result<Value, Vec<FieldError>> {
    let shown: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let mut out: Map<String, Value> = previous
        .as_object()
        .map(|m| m.iter().filter(|(k, _)| !shown.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut fail = |f: &SettingField, message: String| errors.push(FieldError { field: f.error_key(), message });
    for (f, d) in fields.iter().zip(drafts) {
        let value = match (&f.kind, d) {
            (FieldKind::Flag, Draft::Flag(b)) => Some(Value::Bool(*b)),
            (FieldKind::Text, Draft::Text(s)) | (FieldKind::Choice(_), Draft::Text(s)) => {
                let s = s.trim();
                (!s.is_empty()).then(|| Value::String(s.to_string()))
            }
            (FieldKind::Whole { min, max }, Draft::Text(s)) => match s.trim() {
                "" => None,
                s => match s.parse::<i64>() {
                    Ok(n) if min.is_some_and(|m| n < m) => {
                        fail(f, format!("must be at least {}", min.unwrap_or_default()));
                        None
                    }
                    Ok(n) if max.is_some_and(|m| n > m) => {
                        fail(f, format!("must be at most {}", max.unwrap_or_default()));
                        None
                    }
                    Ok(n) => Some(Value::from(n)),
                    Err(_) => {
                        fail(f, "must be a whole number".into());
                        None
                    }
                },
            },
            (FieldKind::List, Draft::Text(s)) => {
                let items: Vec<Value> =
                    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| Value::String(l.into())).collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            // Only templates that differ from the shipped ones are kept, so a later release's fixes reach the
            // others; an emptied one goes back to the shipped template.
            (FieldKind::Templates, Draft::Rows(rows)) => {
                let shipped = shipped(f);
                let own: Map<String, Value> = rows
                    .iter()
                    .filter(|(a, t)| {
                        !t.trim().is_empty() && !shipped.iter().any(|(sa, st)| sa == a && st.trim() == t.trim())
                    })
                    .map(|(a, t)| (a.clone(), Value::String(t.clone())))
                    .collect();
                (!own.is_empty()).then_some(Value::Object(own))
            }
            (FieldKind::Mapping, Draft::Rows(rows)) => {
                let mut map = Map::new();
                for (k, v) in rows {
                    let k = k.trim();
                    if k.is_empty() {
                        if !v.trim().is_empty() {
                            fail(f, format!("the row with “{}” has no name", v.trim()));
                        }
                        continue;
                    }
                    if map.insert(k.to_string(), Value::String(v.clone())).is_some() {
                        fail(f, format!("“{k}” appears twice"));
                    }
                }
                (!map.is_empty()).then_some(Value::Object(map))
            }
            _ => None,
        };
        match value {
            Some(v) => {
                out.insert(f.name.clone(), v);
            }
            None => {
                out.remove(&f.name);
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(errors)
    }
}

/// What a validation error says about `field` (the field itself or anything inside it, e.g. `settings.tags.0`),
/// one message a line.
pub fn field_message(e: &AppError, field: &SettingField) -> Option<String> {
    let key = field.error_key();
    let inside = format!("{key}.");
    let lines: Vec<&str> = e
        .fields
        .iter()
        .filter(|f| f.field == key || f.field.starts_with(&inside))
        .map(|f| f.message.as_str())
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// What an error says that no field of the form shows (an unknown setting, a refusal), or None.
pub fn form_message(e: &AppError, fields: &[SettingField]) -> Option<String> {
    if e.fields.is_empty() {
        return Some(e.message.clone());
    }
    let lines: Vec<String> = e
        .fields
        .iter()
        .filter(|fe| {
            !fields.iter().any(|f| fe.field == f.error_key() || fe.field.starts_with(&format!("{}.", f.error_key())))
        })
        .map(|fe| format!("{}: {}", fe.field, fe.message))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

// ---------------------------------------------------------------------------------------------------------------
// Small texts (pure)
// ---------------------------------------------------------------------------------------------------------------

/// A card's status badge: (text, tone).
pub fn status_badge(configured: bool, status: Option<ConnectionStatus>) -> (&'static str, &'static str) {
    match status {
        Some(ConnectionStatus::Active) => ("Active", "green"),
        Some(ConnectionStatus::Error) => ("Error", "red"),
        Some(ConnectionStatus::Disabled) => ("Disabled", "gray"),
        None if configured => ("Not connected", "gray"),
        None => ("Not configured", "amber"),
    }
}

/// What kind of tool the provider is.
fn category(id: ProviderId) -> &'static str {
    match id {
        ProviderId::GoogleCalendar | ProviderId::Outlook => "Calendar",
        ProviderId::Zoom => "Video meetings",
        ProviderId::Hubspot | ProviderId::Salesforce => "CRM",
        ProviderId::Mailchimp => "Email marketing",
    }
}

/// A run's length: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn duration_text(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// A run's counts in a line.
pub fn counts_text(l: &SyncLog) -> String {
    format!("{} processed · {} created · {} updated · {} failed", l.processed, l.created, l.updated, l.failed)
}

fn sync_badge(s: SyncStatus) -> (&'static str, &'static str) {
    match s {
        SyncStatus::Running => ("Running", "gray"),
        SyncStatus::Succeeded => ("Succeeded", "green"),
        SyncStatus::Partial => ("Partial", "amber"),
        SyncStatus::Failed => ("Failed", "red"),
        SyncStatus::Interrupted => ("Interrupted", "amber"),
    }
}

fn kind_text(k: SyncKind) -> &'static str {
    match k {
        SyncKind::Event => "Event",
        SyncKind::Full => "Full",
        SyncKind::Incremental => "Incremental",
        SyncKind::Manual => "Manual",
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The panel
// ---------------------------------------------------------------------------------------------------------------

type SaveAction = Action<(String, ConnectionSettingsUpdate), Result<Connection, AppError>>;

#[derive(Clone, Copy)]
struct CardActions {
    connect: Callback<ProviderId>,
    manage: Callback<String>,
    disconnect: Callback<(String, String)>,
    connecting: Signal<bool>,
}

#[component]
pub fn AppsPanel() -> impl IntoView {
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let ctx = expect_context::<ShellContext>();
    // Viewers and portal sessions read; the server refuses their writes regardless.
    let writable = ctx.can_write() && ctx.user.role != Role::Portal;

    let version = RwSignal::new(0u32);
    let overview = Resource::new(move || (tenant.get_value(), version.get()), |(t, _)| load_connected_apps(t));

    // The drawer of one connection and its sync log (first page here, later pages in `more_logs`).
    let manage_open = RwSignal::new(false);
    let selected = RwSignal::new(None::<String>);
    let logs_version = RwSignal::new(0u32);
    let logs = Resource::new(
        move || (tenant.get_value(), selected.get(), logs_version.get()),
        |(t, id, _)| async move {
            match id {
                None => Ok(Page { data: Vec::new(), next_cursor: None }),
                Some(id) => list_app_sync_logs(t, id, SyncLogQuery { cursor: None, limit: Some(LOG_PAGE) }).await,
            }
        },
    );
    let more_logs = RwSignal::new(Vec::<SyncLog>::new());
    let more_next = RwSignal::new(None::<String>);
    let reload_logs = move || {
        more_logs.set(Vec::new());
        more_next.set(None);
        logs_version.update(|v| *v += 1);
    };
    let load_more = Action::new(move |cursor: &String| {
        let (t, id, c) = (tenant.get_value(), selected.get_untracked().unwrap_or_default(), cursor.clone());
        list_app_sync_logs(t, id, SyncLogQuery { cursor: Some(c), limit: Some(LOG_PAGE) })
    });
    on_success(load_more, move |page: Page<SyncLog>| {
        more_logs.update(|m| m.extend(page.data));
        more_next.set(page.next_cursor);
    });

    // Back from the provider: say how it went, then take the one-time parameters out of the address.
    let query = use_query_map();
    let navigate = use_navigate();
    let location = use_location();
    Effect::new(move |_| {
        let (connected, error) = query.with(|q| (q.get("connected"), q.get("error")));
        if connected.is_none() && error.is_none() {
            return;
        }
        if let Some(p) = connected {
            let label = ProviderId::parse(&p).map(|p| p.label().to_string()).unwrap_or(p);
            toasts.success(format!("{label} connected"));
        }
        if let Some(e) = error {
            // The callback's message is written to be read as it is ("… was not connected: …").
            toasts.error(e);
        }
        let here = format!("{}?tab=apps", location.pathname.get_untracked());
        navigate(&here, NavigateOptions { replace: true, scroll: false, ..Default::default() });
    });

    let connect = Action::new(move |p: &ProviderId| begin_app_connect(tenant.get_value(), p.as_str().to_string()));
    on_success(connect, |a: AuthorizeUrl| {
        // The provider's sign-in and consent pages are a full navigation away; it comes back to /oauth/callback.
        #[cfg(feature = "hydrate")]
        let _ = window().location().assign(&a.url);
        #[cfg(not(feature = "hydrate"))]
        let _ = a;
    });

    let disconnect_open = RwSignal::new(false);
    let target = RwSignal::new(None::<(String, String)>);
    let disconnect = Action::new(move |id: &String| disconnect_app(tenant.get_value(), id.clone()));
    on_success(disconnect, move |()| {
        disconnect_open.set(false);
        manage_open.set(false);
        selected.set(None);
        let label = target.get_untracked().map(|(_, l)| l).unwrap_or_default();
        toasts.success(format!("{label} disconnected"));
        version.update(|v| *v += 1);
    });

    let save: SaveAction = Action::new(move |(id, u): &(String, ConnectionSettingsUpdate)| {
        save_app_settings(tenant.get_value(), id.clone(), u.clone())
    });
    // A refused save stays in the form beside its fields; a saved one is said in a toast.
    Effect::new(move |_| {
        if let Some(Ok(c)) = save.value().get() {
            toasts.success(format!("{} settings saved", c.provider.label()));
            version.update(|v| *v += 1);
        }
    });
    let toggle = Action::new(move |(id, on): &(String, bool)| {
        let u = ConnectionSettingsUpdate { settings: None, enabled: Some(*on) };
        save_app_settings(tenant.get_value(), id.clone(), u)
    });
    on_success(toggle, move |c: Connection| {
        let what = if c.status == ConnectionStatus::Disabled { "switched off" } else { "switched on" };
        toasts.success(format!("{} {what}", c.provider.label()));
        version.update(|v| *v += 1);
    });

    // "Sync now", then its row read again every second until it has finished.
    let sync_kind = RwSignal::new(SyncKind::Incremental);
    let progress = RwSignal::new(None::<SyncLog>);
    let sync = Action::new(move |(id, kind): &(String, SyncKind)| {
        sync_app_now(tenant.get_value(), id.clone(), SyncRequest { kind: *kind })
    });
    let poll = Action::new(move |(id, log_id): &(String, String)| {
        let (t, id, log_id) = (tenant.get_value(), id.clone(), log_id.clone());
        async move {
            let page = list_app_sync_logs(t, id.clone(), SyncLogQuery { cursor: None, limit: Some(LOG_PAGE) }).await;
            (id, log_id, page)
        }
    });
    let poll_later = move |id: String, log_id: String| {
        set_timeout(
            move || {
                // Closing the drawer or opening another connection stops following the run.
                if manage_open.get_untracked() && selected.get_untracked().as_deref() == Some(id.as_str()) {
                    poll.dispatch((id, log_id));
                }
            },
            std::time::Duration::from_millis(POLL_MS),
        );
    };
    on_success(sync, move |log: SyncLog| {
        progress.set(Some(log.clone()));
        reload_logs();
        poll_later(log.connection_id, log.id);
    });
    Effect::new(move |_| {
        let Some((id, log_id, page)) = poll.value().get() else { return };
        match page {
            Err(e) => toasts.error(e.message),
            Ok(page) => {
                let Some(row) = page.data.into_iter().find(|l| l.id == log_id) else { return };
                let running = row.status == SyncStatus::Running;
                progress.set(Some(row.clone()));
                if running {
                    poll_later(id, log_id);
                } else {
                    let (label, _) = sync_badge(row.status);
                    toasts.success(format!("Sync finished: {label} · {}", counts_text(&row)));
                    reload_logs();
                    version.update(|v| *v += 1);
                }
            }
        }
    });

    let actions = CardActions {
        connect: Callback::new(move |p: ProviderId| {
            connect.dispatch(p);
        }),
        manage: Callback::new(move |id: String| {
            if selected.get_untracked().as_deref() != Some(id.as_str()) {
                progress.set(None);
                selected.set(Some(id));
                reload_logs();
            }
            save.value().set(None);
            manage_open.set(true);
        }),
        disconnect: Callback::new(move |t: (String, String)| {
            target.set(Some(t));
            disconnect_open.set(true);
        }),
        connecting: Signal::derive(move || {
            connect.pending().get() || connect.value().with(|v| matches!(v, Some(Ok(_))))
        }),
    };

    // The connection the drawer shows, with its provider.
    let chosen = Memo::new(move |_| {
        let id = selected.get()?;
        let o = overview.get()?.ok()?;
        let c = o.connections.into_iter().find(|c| c.id == id)?;
        let p = o.providers.into_iter().find(|p| p.id == c.provider)?;
        Some((p, c))
    });
    // The form is drawn again only when its settings change, not when the status or last sync does.
    let form_key = Memo::new(move |_| chosen.get().map(|(p, c)| (p, c.id, c.settings)));

    view! {
        <p class="text-sm text-slate-600 dark:text-slate-400">
            "Connect the tools this tenant already uses: the events you publish are sent on to them, and each run is logged."
        </p>
        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading connected apps…"</p> }>
            {move || overview.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(o) => {
                    let cards = o.providers.into_iter().map(|p| {
                        let c = o.connections.iter().find(|c| c.provider == p.id).cloned();
                        view! { <AppCard provider=p connection=c actions=actions writable=writable/> }
                    }).collect_view();
                    view! { <ul class="mt-4 grid gap-3 md:grid-cols-2 xl:grid-cols-3" aria-label="Connected apps">{cards}</ul> }.into_any()
                }
            })}
        </Transition>

        <Modal open=manage_open id="manage-app" side=true
            title=Signal::derive(move || chosen.with(|c| c.as_ref().map(|(p, _)| p.label.clone())).unwrap_or_else(|| "Connected app".into()))>
            {move || chosen.get().map(|(p, c)| view! { <ConnectionSummary provider=p connection=c writable=writable toggle=toggle/> })}
            {move || form_key.get().map(|(p, id, settings)| view! {
                <SettingsForm provider=p connection_id=id settings=settings writable=writable save=save/>
            })}
            <section class="mt-8" aria-labelledby="app-sync-title">
                <h3 id="app-sync-title" class="text-base font-semibold">"Sync"</h3>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    "Sends this tenant's recorded events again: incremental continues where the last run stopped, full starts from the beginning."
                </p>
                {writable.then(|| view! {
                    <div class="mt-3 flex flex-wrap items-end gap-2">
                        <div>
                            <label for="app-sync-kind" class=LABEL>"Kind"</label>
                            <select id="app-sync-kind" class=INPUT_CLASS
                                on:change=move |ev| sync_kind.set(if event_target_value(&ev) == "full" { SyncKind::Full } else { SyncKind::Incremental })>
                                <option value="incremental" selected=move || sync_kind.get() == SyncKind::Incremental>"Incremental"</option>
                                <option value="full" selected=move || sync_kind.get() == SyncKind::Full>"Full"</option>
                            </select>
                        </div>
                        <button type="button" class=PRIMARY_BUTTON
                            disabled=move || {
                                sync.pending().get()
                                    || progress.with(|p| p.as_ref().is_some_and(|l| l.status == SyncStatus::Running))
                                    || chosen.with(|c| !c.as_ref().is_some_and(|(_, c)| c.status == ConnectionStatus::Active))
                            }
                            on:click=move |_| if let Some(id) = selected.get_untracked() { sync.dispatch((id, sync_kind.get_untracked())); }>
                            {move || if sync.pending().get() { "Starting…" } else { "Sync now" }}
                        </button>
                    </div>
                })}
                <div role="status" class="mt-3" data-testid="sync-progress">
                    {move || progress.get().map(|l| {
                        let running = l.status == SyncStatus::Running;
                        let (label, tone) = sync_badge(l.status);
                        view! {
                            <div class="rounded-lg bg-slate-50 p-3 text-sm ring-1 ring-slate-200 dark:bg-slate-800/50 dark:ring-slate-700">
                                <div class="flex flex-wrap items-center gap-2">
                                    {running.then(|| view! { <span class="h-4 w-4 animate-spin rounded-full border-2 border-indigo-300 border-t-indigo-700 dark:border-indigo-700 dark:border-t-indigo-300" aria-hidden="true"></span> })}
                                    <span class="font-medium">{if running { format!("{} sync running", kind_text(l.kind)) } else { format!("{} sync finished", kind_text(l.kind)) }}</span>
                                    <span class=badge(tone)>{label}</span>
                                </div>
                                <p class="mt-1 tabular-nums" data-testid="sync-counts">{counts_text(&l)}</p>
                            </div>
                        }
                    })}
                </div>
            </section>
            <section class="mt-8" aria-labelledby="app-log-title">
                <h3 id="app-log-title" class="text-base font-semibold">"Sync log"</h3>
                <Transition fallback=|| view! { <p class="mt-3 text-sm">"Loading the sync log…"</p> }>
                    {move || logs.get().map(|r| match r {
                        Err(e) => view! { <p role="alert" class="mt-3 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                        Ok(page) => {
                            let mut rows = page.data;
                            rows.extend(more_logs.get());
                            if rows.is_empty() {
                                return view! { <p class="mt-3 text-sm text-slate-600 dark:text-slate-400" data-testid="sync-log-empty">"No runs yet: events sent to this app and every Sync now are logged here."</p> }.into_any();
                            }
                            let first_next = page.next_cursor.clone();
                            let next = move || if more_logs.with(Vec::is_empty) { first_next.clone() } else { more_next.get() };
                            view! {
                                <SyncLogTable rows=rows/>
                                {move || next().map(|cursor| view! {
                                    <LoadMore cursor=cursor label="Load more runs" pending=load_more.pending().into()
                                        on_load=Callback::new(move |c| { load_more.dispatch(c); })/>
                                })}
                            }.into_any()
                        }
                    })}
                </Transition>
            </section>
        </Modal>

        <ConfirmDialog open=disconnect_open id="disconnect-app" title="Disconnect app" label="Disconnect"
            pending=disconnect.pending()
            on_confirm=move |_| if let Some((id, _)) = target.get_untracked() { disconnect.dispatch(id); }>
            {move || target.get().map(|(_, label)| view! {
                <p class="text-sm">"Disconnect " <strong>{label}</strong> "? The hub revokes its access at the provider where it can and deletes the tokens, the settings and the sync log. Nothing more is sent to it."</p>
            })}
        </ConfirmDialog>
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Cards
// ---------------------------------------------------------------------------------------------------------------

#[component]
fn AppCard(
    provider: ProviderInfo,
    connection: Option<Connection>,
    actions: CardActions,
    writable: bool,
) -> impl IntoView {
    let (status, tone) = status_badge(provider.configured, connection.as_ref().map(|c| c.status));
    let id = provider.id;
    let label = provider.label.clone();
    let account = connection.as_ref().and_then(|c| c.account_label.clone());
    let body = match &connection {
        Some(c) => {
            let last_sync = match c.last_sync_at {
                Some(ms) => view! { <Ago ms=ms/> }.into_any(),
                None => view! { <span>"never"</span> }.into_any(),
            };
            let error = (c.status == ConnectionStatus::Error).then(|| {
                let message = c.last_error.clone().unwrap_or_else(|| "the provider refused the hub's tokens".into());
                view! {
                    <p class="mt-3 rounded-md bg-rose-50 p-2 text-sm text-rose-800 ring-1 ring-rose-200 dark:bg-rose-500/10 dark:text-rose-300 dark:ring-rose-500/30" data-testid="app-error">
                        <span class="font-semibold">{format!("{label} refused the connection: ")}</span>{message}
                        " Reconnect to authorise the hub again."
                    </p>
                }
            });
            view! {
                <p class="mt-3 text-xs text-slate-600 dark:text-slate-400" data-testid="app-last-sync">"Last sync: " {last_sync}</p>
                {error}
            }
            .into_any()
        }
        None if provider.configured => view! {
            <p class="mt-3 text-sm text-slate-600 dark:text-slate-400">"Not connected."</p>
        }
        .into_any(),
        None => view! {
            <div class="mt-3 text-sm text-slate-700 dark:text-slate-300" data-testid="app-missing-env">
                <p>"Not configured on this hub. The operator sets:"</p>
                <ul class="mt-1 space-y-0.5">
                    {provider.missing_env.iter().map(|v| view! { <li><code class="break-all rounded bg-slate-100 px-1 font-mono text-xs dark:bg-slate-800">{v.clone()}</code></li> }).collect_view()}
                </ul>
                <p class="mt-2 text-xs text-slate-600 dark:text-slate-400">
                    "with the redirect URL " <code class="break-all font-mono">{provider.redirect_uri.clone()}</code> " registered at the provider."
                </p>
            </div>
        }
        .into_any(),
    };
    let what = view! {
        <details class="mt-3 text-sm">
            <summary class="cursor-pointer rounded font-medium text-indigo-700 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300">"What it does"</summary>
            <ul class="mt-2 space-y-1 text-slate-700 dark:text-slate-300">
                {provider.actions.iter().map(|a| view! {
                    <li><code class="break-all font-mono text-xs">{a.trigger.clone()}</code> " " {a.description.clone()}</li>
                }).collect_view()}
            </ul>
        </details>
    };
    let sr = |text: String| view! { <span class="sr-only">{text}</span> };
    let buttons = match &connection {
        None if provider.configured && writable => Some(
            view! {
                <button type="button" class=PRIMARY_BUTTON disabled=move || actions.connecting.get()
                    on:click=move |_| actions.connect.run(id)>
                    "Connect" {sr(format!(" {label}"))}
                </button>
            }
            .into_any(),
        ),
        None => None,
        Some(c) => {
            let (cid, cid2) = (c.id.clone(), c.id.clone());
            let label2 = label.clone();
            let reconnect = (c.status == ConnectionStatus::Error && provider.configured && writable).then(|| {
                let label = label.clone();
                view! {
                    <button type="button" class=PRIMARY_BUTTON disabled=move || actions.connecting.get()
                        on:click=move |_| actions.connect.run(id)>
                        "Reconnect" {sr(format!(" {label}"))}
                    </button>
                }
            });
            Some(
                view! {
                    {reconnect}
                    <button type="button" class=SECONDARY_BUTTON on:click=move |_| actions.manage.run(cid.clone())>
                        {if writable { "Manage" } else { "View" }} {sr(format!(" {label}"))}
                    </button>
                    {writable.then(|| view! {
                        <button type="button" class=LINK_BUTTON
                            on:click=move |_| actions.disconnect.run((cid2.clone(), label2.clone()))>
                            "Disconnect" {sr(format!(" {}", label2))}
                        </button>
                    })}
                }
                .into_any(),
            )
        }
    };
    view! {
        <li data-testid="app-card" data-provider=id.as_str() class="flex min-w-0 flex-col rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <div class="flex items-start justify-between gap-3">
                <div class="flex min-w-0 items-center gap-3">
                    <ProviderLogo id=id class="h-10 w-10 shrink-0"/>
                    <div class="min-w-0">
                        <h3 class="truncate font-semibold">{provider.label.clone()}</h3>
                        <p class="truncate text-xs text-slate-600 dark:text-slate-400" data-testid="app-account"
                            title=account.clone().unwrap_or_default()>
                            {account.clone().unwrap_or_else(|| category(id).to_string())}
                        </p>
                    </div>
                </div>
                <span class=format!("{} shrink-0", badge(tone)) data-testid="app-status">{status}</span>
            </div>
            {body}
            {what}
            {buttons.map(|b| view! { <div class="mt-auto flex flex-wrap items-center gap-2 pt-4">{b}</div> })}
        </li>
    }
}

/// A provider's mark: simple shapes in its colours (not its artwork), decorative beside its name.
#[component]
pub fn ProviderLogo(id: ProviderId, #[prop(default = "h-10 w-10")] class: &'static str) -> impl IntoView {
    let body = match id {
        ProviderId::GoogleCalendar => view! {
            <rect x="3" y="4" width="18" height="17" rx="2.5" fill="#fff" stroke="#4285F4" stroke-width="1.5"/>
            <rect x="3" y="4" width="18" height="5" rx="2" fill="#4285F4"/>
            <rect x="7" y="2" width="2" height="4" rx="1" fill="#1967D2"/>
            <rect x="15" y="2" width="2" height="4" rx="1" fill="#1967D2"/>
            <rect x="6.5" y="11.5" width="3" height="3" fill="#EA4335"/>
            <rect x="10.5" y="11.5" width="3" height="3" fill="#FBBC04"/>
            <rect x="14.5" y="11.5" width="3" height="3" fill="#34A853"/>
            <rect x="6.5" y="15.5" width="3" height="3" fill="#34A853"/>
            <rect x="10.5" y="15.5" width="3" height="3" fill="#4285F4"/>
        }
        .into_any(),
        ProviderId::Outlook => view! {
            <rect x="9" y="4" width="13" height="16" rx="1.5" fill="#28A8EA"/>
            <path d="M9 10l6.5 4L22 10v8.5a1.5 1.5 0 0 1-1.5 1.5H10.5A1.5 1.5 0 0 1 9 18.5Z" fill="#0078D4"/>
            <rect x="2" y="6.5" width="11" height="11" rx="1.5" fill="#0A5CB8"/>
            <ellipse cx="7.5" cy="12" rx="2.6" ry="3.2" fill="none" stroke="#fff" stroke-width="1.6"/>
        }
        .into_any(),
        ProviderId::Zoom => view! {
            <rect x="1" y="1" width="22" height="22" rx="6" fill="#2D8CFF"/>
            <rect x="5" y="8" width="9.5" height="8" rx="2" fill="#fff"/>
            <path d="M15.5 11l3.5-2.5v7L15.5 13Z" fill="#fff"/>
        }
        .into_any(),
        ProviderId::Hubspot => view! {
            <circle cx="14" cy="14" r="5" fill="none" stroke="#FF7A59" stroke-width="2.6"/>
            <path d="M14 9V4.5" stroke="#FF7A59" stroke-width="2.2" stroke-linecap="round"/>
            <circle cx="14" cy="3.6" r="2" fill="#FF7A59"/>
            <path d="M10.3 10.6 5 6.6" stroke="#FF7A59" stroke-width="1.8" stroke-linecap="round"/>
            <circle cx="4.2" cy="6" r="1.8" fill="#FF7A59"/>
            <path d="M10.6 17.6 7.4 20.4" stroke="#FF7A59" stroke-width="1.8" stroke-linecap="round"/>
        }
        .into_any(),
        ProviderId::Salesforce => view! {
            <g fill="#00A1E0">
                <circle cx="9" cy="10" r="4.5"/>
                <circle cx="14.5" cy="8.5" r="4.5"/>
                <circle cx="18.5" cy="12.5" r="4"/>
                <circle cx="6" cy="14" r="3.5"/>
                <circle cx="12" cy="15" r="4"/>
            </g>
        }
        .into_any(),
        ProviderId::Mailchimp => view! {
            <circle cx="12" cy="12" r="11" fill="#FFE01B"/>
            <rect x="5.5" y="8" width="13" height="9" rx="1.5" fill="#241C15"/>
            <path d="M6 8.8l6 4.6 6-4.6" fill="none" stroke="#FFE01B" stroke-width="1.4" stroke-linejoin="round"/>
        }
        .into_any(),
    };
    view! {
        <svg class=class xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" aria-hidden="true" focusable="false"
            data-testid="provider-logo">{body}</svg>
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The drawer: summary, settings form, sync log
// ---------------------------------------------------------------------------------------------------------------

#[component]
fn ConnectionSummary(
    provider: ProviderInfo,
    connection: Connection,
    writable: bool,
    toggle: Action<(String, bool), Result<Connection, AppError>>,
) -> impl IntoView {
    let (status, tone) = status_badge(provider.configured, Some(connection.status));
    let id = connection.id.clone();
    let switch = (writable && connection.status != ConnectionStatus::Error).then(|| {
        let on = connection.status == ConnectionStatus::Disabled;
        view! {
            <button type="button" class=SECONDARY_BUTTON disabled=move || toggle.pending().get()
                on:click=move |_| { toggle.dispatch((id.clone(), on)); }>
                {if on { "Switch on" } else { "Switch off" }}
            </button>
        }
    });
    view! {
        <div class="flex flex-wrap items-center gap-3">
            <ProviderLogo id=provider.id class="h-8 w-8 shrink-0"/>
            <span class=badge(tone) data-testid="manage-status">{status}</span>
            {switch}
        </div>
        <dl class="mt-4 grid grid-cols-1 gap-x-4 gap-y-2 text-sm sm:grid-cols-[auto_1fr]">
            <dt class="font-medium text-slate-700 dark:text-slate-300">"Account"</dt>
            <dd class="min-w-0 break-words">{connection.account_label.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt class="font-medium text-slate-700 dark:text-slate-300">"Connected"</dt>
            <dd><At ms=connection.created_at/></dd>
            <dt class="font-medium text-slate-700 dark:text-slate-300">"Scopes granted"</dt>
            <dd class="flex min-w-0 flex-wrap gap-1">
                {if connection.scopes.is_empty() {
                    view! { <span>"—"</span> }.into_any()
                } else {
                    connection.scopes.iter().map(|s| view! { <span class=format!("{CHIP} break-all")>{s.clone()}</span> }).collect_view().into_any()
                }}
            </dd>
            {connection.last_error.clone().filter(|_| connection.status == ConnectionStatus::Error).map(|e| view! {
                <dt class="font-medium text-rose-800 dark:text-rose-300">"Provider's message"</dt>
                <dd class="min-w-0 break-words text-rose-800 dark:text-rose-300">{e}</dd>
            })}
        </dl>
    }
}

/// The editing state of one field (signals, so the inputs keep their focus while typed in).
#[derive(Clone, Copy)]
enum FieldState {
    Text(RwSignal<String>),
    Flag(RwSignal<bool>),
    Rows(RwSignal<Vec<Row>>),
}

/// One row of a mapping: its own signals, keyed so adding or removing a row leaves the others' inputs alone.
#[derive(Clone, Copy)]
struct Row {
    key: u64,
    name: RwSignal<String>,
    value: RwSignal<String>,
}

impl FieldState {
    fn new(d: Draft) -> FieldState {
        match d {
            Draft::Text(s) => FieldState::Text(RwSignal::new(s)),
            Draft::Flag(b) => FieldState::Flag(RwSignal::new(b)),
            Draft::Rows(rows) => FieldState::Rows(RwSignal::new(
                rows.into_iter()
                    .enumerate()
                    .map(|(i, (n, v))| Row { key: i as u64, name: RwSignal::new(n), value: RwSignal::new(v) })
                    .collect(),
            )),
        }
    }

    fn draft(self) -> Draft {
        match self {
            FieldState::Text(s) => Draft::Text(s.get_untracked()),
            FieldState::Flag(b) => Draft::Flag(b.get_untracked()),
            FieldState::Rows(r) => Draft::Rows(
                r.get_untracked().iter().map(|r| (r.name.get_untracked(), r.value.get_untracked())).collect(),
            ),
        }
    }
}

#[component]
fn SettingsForm(
    provider: ProviderInfo,
    connection_id: String,
    settings: Value,
    writable: bool,
    save: SaveAction,
) -> impl IntoView {
    let fields = settings_fields(&provider.settings_schema);
    let states: Vec<FieldState> = fields.iter().map(|f| FieldState::new(draft_of(f, &settings))).collect();
    let local = RwSignal::new(None::<AppError>);
    let error = Signal::derive(move || local.get().or_else(|| save.value().get().and_then(|r| r.err())));
    let stored = StoredValue::new((fields.clone(), states.clone(), settings, connection_id));
    // The settings the form holds now, saved or previewed.
    let current = Callback::new(move |_: ()| {
        let (fields, states, previous, _) = stored.get_value();
        let drafts: Vec<Draft> = states.iter().map(|s| s.draft()).collect();
        settings_value(&fields, &drafts, &previous)
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match current.run(()) {
            Err(errors) => local.set(Some(AppError::validation(errors))),
            Ok(v) => {
                local.set(None);
                let id = stored.with_value(|(_, _, _, id)| id.clone());
                save.dispatch((id, ConnectionSettingsUpdate { settings: Some(v), enabled: None }));
            }
        }
    };
    let preview = fields.iter().any(|f| f.kind == FieldKind::Templates).then(|| {
        let triggers: Vec<String> = provider.actions.iter().map(|a| a.trigger.clone()).collect();
        view! { <TemplatePreview provider=provider.id triggers=triggers current=current/> }
    });
    let form_fields = StoredValue::new(fields.clone());
    let form_error = move || error.get().and_then(|e| form_message(&e, &form_fields.get_value()));
    let rows = fields
        .into_iter()
        .zip(states)
        .map(|(f, s)| view! { <SettingInput field=f state=s error=error/> })
        .collect_view();
    let empty = form_fields.with_value(Vec::is_empty);
    view! {
        <section class="mt-8" aria-labelledby="app-settings-title">
            <h3 id="app-settings-title" class="text-base font-semibold">"Settings"</h3>
            {if empty {
                view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"This app has no settings."</p> }.into_any()
            } else {
                view! {
                    <form class="mt-3" on:submit=on_submit novalidate=true>
                        <fieldset disabled=!writable class="space-y-4">
                            <legend class="sr-only">{format!("{} settings", provider.label)}</legend>
                            {rows}
                        </fieldset>
                        {preview}
                        <p role="alert" class=FIELD_ERROR data-testid="settings-error">{form_error}</p>
                        {writable.then(|| view! {
                            <div class="mt-4 flex justify-end">
                                <button type="submit" class=PRIMARY_BUTTON disabled=move || save.pending().get()>
                                    {move || if save.pending().get() { "Saving…" } else { "Save settings" }}
                                </button>
                            </div>
                        })}
                    </form>
                }.into_any()
            }}
        </section>
    }
}

/// What the form's settings (saved or not) would send for a trigger's catalog example, asked of the server,
/// which renders with the same code as the sender.
#[component]
fn TemplatePreview(
    provider: ProviderId,
    triggers: Vec<String>,
    current: Callback<(), Result<Value, Vec<FieldError>>>,
) -> impl IntoView {
    let trigger = RwSignal::new(triggers.first().cloned().unwrap_or_default());
    let run = Action::new(move |(settings, event_type): &(Value, String)| {
        let (settings, event_type) = (settings.clone(), event_type.clone());
        async move { preview_app_action(provider.as_str().to_string(), settings, event_type).await }
    });
    let local = RwSignal::new(None::<String>);
    let go = move || match current.run(()) {
        Ok(settings) => {
            local.set(None);
            run.dispatch((settings, trigger.get_untracked()));
        }
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
            local.set(Some(lines.join("\n")));
        }
    };
    let outcome = move || {
        if let Some(m) = local.get() {
            return preview_error(m).into_any();
        }
        match run.value().get() {
            None => ().into_any(),
            Some(Err(e)) => preview_error(e.message).into_any(),
            Some(Ok(p)) => preview_calls(p).into_any(),
        }
    };
    view! {
        <section class="mt-4 rounded-md p-4 ring-1 ring-inset ring-slate-200 dark:ring-slate-700" aria-labelledby="app-preview-title" data-testid="template-preview">
            <h4 id="app-preview-title" class="text-sm font-semibold">"Preview"</h4>
            <p class="mt-1 text-xs text-slate-600 dark:text-slate-400">
                "What these settings, saved or not, would send for the catalog example of an event new to this connection."
            </p>
            <div class="mt-3 flex flex-wrap items-end gap-3">
                <div>
                    <label for="app-preview-trigger" class=LABEL>"Example event"</label>
                    <select id="app-preview-trigger" class=INPUT_CLASS on:change=move |ev| trigger.set(event_target_value(&ev))>
                        {triggers.iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                    </select>
                </div>
                <button type="button" class=SECONDARY_BUTTON disabled=move || run.pending().get() on:click=move |_| go()>
                    {move || if run.pending().get() { "Previewing…" } else { "Preview" }}
                </button>
            </div>
            <div class="mt-3 space-y-3" aria-live="polite">{outcome}</div>
        </section>
    }
}

/// Why a preview shows no requests: settings the form or the server refuses, or a template that does not render.
fn preview_error(message: String) -> impl IntoView {
    view! { <p class=FIELD_ERROR data-testid="preview-error">{message}</p> }
}

/// The requests of a preview, or why there are none.
fn preview_calls(p: AppPreview) -> impl IntoView {
    if let Some(e) = p.error {
        return preview_error(e).into_any();
    }
    if let Some(why) = p.skipped {
        return view! { <p class="text-sm" data-testid="preview-skipped">{format!("No request: {why}.")}</p> }
            .into_any();
    }
    p.calls
        .into_iter()
        .map(|c| {
            view! {
                <div data-testid="preview-call">
                    <p class="break-all font-mono text-xs"><span class=CHIP>{c.method}</span>" "{c.path}</p>
                    {c.body.map(|b| view! {
                        <pre class="mt-1 max-h-60 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs dark:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
                            tabindex="0">{b}</pre>
                    })}
                </div>
            }
        })
        .collect_view()
        .into_any()
}

#[component]
fn SettingInput(field: SettingField, state: FieldState, error: Signal<Option<AppError>>) -> impl IntoView {
    let id = format!("app-setting-{}", field.name);
    let (help_id, error_id) = (format!("{id}-help"), format!("{id}-error"));
    let described = if field.help.is_some() { format!("{help_id} {error_id}") } else { error_id.clone() };
    let f = StoredValue::new(field.clone());
    let message = move || error.get().and_then(|e| f.with_value(|f| field_message(&e, f)));
    let invalid = move || message().is_some().to_string();
    let label = if field.required { format!("{} (required)", field.label) } else { field.label.clone() };
    let help = field
        .help
        .clone()
        .map(|h| view! { <p id=help_id.clone() class="mt-1 text-xs text-slate-600 dark:text-slate-400">{h}</p> });
    let placeholder = match &field.default {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let input = match (&field.kind, state) {
        (FieldKind::Flag, FieldState::Flag(on)) => {
            return view! {
                <div>
                    <div class="flex items-start gap-2">
                        <input id=id.clone() type="checkbox" class="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-600 dark:border-slate-600 dark:bg-slate-800"
                            prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))
                            aria-invalid=invalid aria-describedby=described/>
                        <label for=id class="text-sm font-medium text-slate-800 dark:text-slate-200">{label}</label>
                    </div>
                    {help}
                    <p id=error_id class=FIELD_ERROR>{message}</p>
                </div>
            }
            .into_any();
        }
        (FieldKind::Choice(values), FieldState::Text(v)) => {
            let blank = (!field.required && field.default.is_none()).then(|| view! { <option value="">"—"</option> });
            view! {
                <select id=id.clone() class=INPUT_CLASS on:change=move |ev| v.set(event_target_value(&ev))
                    aria-invalid=invalid aria-describedby=described.clone()>
                    {blank}
                    {values.iter().map(|o| {
                        let (o1, o2) = (o.clone(), o.clone());
                        view! { <option value=o.clone() selected=move || v.get() == o1>{o2}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        (FieldKind::Whole { min, max }, FieldState::Text(v)) => view! {
            <input id=id.clone() type="number" inputmode="numeric" step="1" min=min.map(|m| m.to_string()) max=max.map(|m| m.to_string())
                class=INPUT_CLASS placeholder=placeholder prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev))
                aria-invalid=invalid aria-describedby=described.clone()/>
        }
        .into_any(),
        (FieldKind::List, FieldState::Text(v)) => view! {
            <textarea id=id.clone() rows="3" class=format!("{INPUT_CLASS} font-mono") placeholder="One per line"
                prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev))
                aria-invalid=invalid aria-describedby=described.clone()></textarea>
        }
        .into_any(),
        (FieldKind::Templates, FieldState::Rows(rows)) => {
            let shipped = StoredValue::new(shipped(&field));
            view! {
                <div role="group" aria-labelledby=format!("{id}-label") aria-describedby=described.clone() class="space-y-3">
                    <For each=move || rows.get() key=|r| r.key let:row>
                        {
                            let action = row.name.get_untracked();
                            let area = format!("app-template-{action}");
                            let original = shipped.with_value(|s| s.iter().find(|(a, _)| *a == action).map(|(_, t)| t.clone()).unwrap_or_default());
                            let own = {
                                let original = original.clone();
                                Signal::derive(move || row.value.with(|v| v.trim() != original.trim()))
                            };
                            view! {
                                <div>
                                    <div class="flex flex-wrap items-baseline justify-between gap-2">
                                        <label for=area.clone() class="font-mono text-xs font-medium text-slate-700 dark:text-slate-300">
                                            {format!("{action} template")}
                                        </label>
                                        <span class="text-xs text-slate-600 dark:text-slate-400">
                                            {move || if own.get() { "Your own" } else { "Shipped" }}
                                        </span>
                                    </div>
                                    <textarea id=area rows="7" spellcheck="false" class=format!("{INPUT_CLASS} font-mono text-xs")
                                        prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))></textarea>
                                    <button type="button" class=LINK_BUTTON hidden=move || !own.get()
                                        on:click=move |_| row.value.set(original.clone())>
                                        {format!("Use the shipped {action} template")}
                                    </button>
                                </div>
                            }
                        }
                    </For>
                </div>
            }
            .into_any()
        }
        (FieldKind::Mapping, FieldState::Rows(rows)) => {
            let name = field.label.clone();
            let next_key = StoredValue::new(rows.with_untracked(|r| r.len() as u64));
            let add = move |_| {
                let key = next_key.get_value();
                next_key.set_value(key + 1);
                rows.update(|r| r.push(Row { key, name: RwSignal::new(String::new()), value: RwSignal::new(String::new()) }));
            };
            let (name2, name3) = (name.clone(), name.clone());
            view! {
                <div role="group" aria-labelledby=format!("{id}-label") aria-describedby=described.clone() class="space-y-2" data-testid="mapping-rows">
                    <For each=move || rows.get() key=|r| r.key let:row>
                        {
                            let (n1, n2) = (name2.clone(), name3.clone());
                            view! {
                                <div class="grid grid-cols-[minmax(0,2fr)_minmax(0,3fr)_auto] items-center gap-2">
                                    <input type="text" class=format!("{INPUT_CLASS} font-mono") placeholder="property" aria-label=format!("{n1}: name")
                                        prop:value=move || row.name.get() on:input=move |ev| row.name.set(event_target_value(&ev))/>
                                    <input type="text" class=format!("{INPUT_CLASS} font-mono") placeholder="{{ data.field }}" aria-label=format!("{n2}: template")
                                        prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))/>
                                    <button type="button" class=LINK_BUTTON aria-label=format!("Remove {}", if row.name.get_untracked().is_empty() { "this row".to_string() } else { row.name.get_untracked() })
                                        on:click=move |_| rows.update(|r| r.retain(|x| x.key != row.key))>"Remove"</button>
                                </div>
                            }
                        }
                    </For>
                    <button type="button" class=SECONDARY_BUTTON on:click=add>"Add a property"</button>
                </div>
            }
            .into_any()
        }
        (_, FieldState::Text(v)) => view! {
            <input id=id.clone() type="text" class=INPUT_CLASS placeholder=placeholder
                prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev))
                aria-invalid=invalid aria-describedby=described.clone()/>
        }
        .into_any(),
        _ => ().into_any(),
    };
    let mapping = matches!(field.kind, FieldKind::Mapping | FieldKind::Templates);
    view! {
        <div>
            {if mapping {
                view! { <p id=format!("{id}-label") class=LABEL>{label}</p> }.into_any()
            } else {
                view! { <label for=id class=LABEL>{label}</label> }.into_any()
            }}
            {input}
            {help}
            <p id=error_id class=FIELD_ERROR>{message}</p>
        </div>
    }
    .into_any()
}

#[component]
fn SyncLogTable(rows: Vec<SyncLog>) -> impl IntoView {
    use Column::*;
    const COLUMNS: &[Column] = &[
        Left("Started"),
        Left("Kind"),
        Left("Status"),
        Right("Processed"),
        Right("Created"),
        Right("Updated"),
        Right("Failed"),
        Right("Duration"),
        Left("Details"),
    ];
    view! {
        <CardTable columns=COLUMNS label="Sync log">
            {rows.into_iter().map(|l| {
                let (status, tone) = sync_badge(l.status);
                let duration = match (l.duration_ms, l.status) {
                    (Some(ms), _) => duration_text(ms),
                    (None, SyncStatus::Running) => "running".to_string(),
                    (None, _) => "—".to_string(),
                };
                let has_details = !l.details.is_null() && l.details != Value::Object(Map::new());
                let details = (!l.errors.is_empty() || has_details || l.cursor.is_some()).then(|| {
                    let summary = match l.errors.len() {
                        0 => "Details".to_string(),
                        1 => "1 error".to_string(),
                        n => format!("{n} errors"),
                    };
                    let json = has_details.then(|| serde_json::to_string_pretty(&l.details).unwrap_or_default());
                    view! {
                        <details data-testid="sync-log-details">
                            <summary class="cursor-pointer rounded text-sm font-medium text-indigo-700 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300">{summary}</summary>
                            <ul class="mt-2 space-y-1 text-xs">
                                {l.errors.iter().map(|e| view! {
                                    <li data-testid="sync-record-error">
                                        <code class="break-all font-mono">{e.record.clone()}</code>
                                        {e.status.map(|s| view! { <span class=format!("{} ml-1", badge("red"))>{s}</span> })}
                                        <p class="break-words text-rose-800 dark:text-rose-300">{e.message.clone()}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                            {l.cursor.clone().map(|c| view! { <p class="mt-1 text-xs">"Cursor: " <code class="break-all font-mono">{c}</code></p> })}
                            {json.map(|j| view! {
                                <pre class="mt-2 max-h-48 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs dark:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
                                    tabindex="0" role="region" aria-label="What the provider gave back">{j}</pre>
                            })}
                        </details>
                    }
                    .into_any()
                });
                view! {
                    <tr data-testid="sync-log-row" data-status=l.status.as_str() class="align-top">
                        <td class="whitespace-nowrap px-4 py-2"><At ms=l.started_at/></td>
                        <td class="px-4 py-2">{kind_text(l.kind)}</td>
                        <td class="px-4 py-2"><span class=badge(tone)>{status}</span></td>
                        <td class="px-4 py-2 text-right tabular-nums">{l.processed}</td>
                        <td class="px-4 py-2 text-right tabular-nums">{l.created}</td>
                        <td class="px-4 py-2 text-right tabular-nums">{l.updated}</td>
                        <td class="px-4 py-2 text-right tabular-nums">{l.failed}</td>
                        <td class="whitespace-nowrap px-4 py-2 text-right tabular-nums">{duration}</td>
                        <td class="min-w-[10rem] px-4 py-2">{details.unwrap_or_else(|| view! { <span class="text-slate-600 dark:text-slate-400">"—"</span> }.into_any())}</td>
                    </tr>
                }
            }).collect_view()}
        </CardTable>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["list_id"],
            "properties": {
                "calendar_id": {"type": "string", "default": "primary", "title": "Calendar ID", "description": "which"},
                "send_updates": {"type": "string", "enum": ["none", "all"], "default": "none"},
                "create_deals": {"type": "boolean", "default": false, "title": "Create deals"},
                "max_items": {"type": "integer", "minimum": 1, "maximum": 10},
                "tags": {"type": "array", "items": {"type": "string"}},
                "contact_property_mapping": {"type": "object", "additionalProperties": {"type": "string"}},
                "nested": {"type": "object", "properties": {"a": {"type": "string"}}},
                "list_id": {"type": "string", "title": "Audience"}
            }
        })
    }

    #[test]
    fn each_schema_type_gets_its_input_and_required_fields_come_first() {
        let fields = settings_fields(&schema());
        let kinds: Vec<(&str, &FieldKind)> = fields.iter().map(|f| (f.name.as_str(), &f.kind)).collect();
        assert_eq!(kinds[0], ("list_id", &FieldKind::Text));
        assert!(fields[0].required && !fields[1].required);
        let kind = |n: &str| fields.iter().find(|f| f.name == n).map(|f| f.kind.clone());
        assert_eq!(kind("calendar_id"), Some(FieldKind::Text));
        assert_eq!(kind("send_updates"), Some(FieldKind::Choice(vec!["none".into(), "all".into()])));
        assert_eq!(kind("create_deals"), Some(FieldKind::Flag));
        assert_eq!(kind("max_items"), Some(FieldKind::Whole { min: Some(1), max: Some(10) }));
        assert_eq!(kind("tags"), Some(FieldKind::List));
        assert_eq!(kind("contact_property_mapping"), Some(FieldKind::Mapping));
        assert_eq!(kind("nested"), None, "an object with properties of its own is not editable here");
        let cal = fields.iter().find(|f| f.name == "calendar_id").unwrap();
        assert_eq!((cal.label.as_str(), cal.help.as_deref()), ("Calendar ID", Some("which")));
        let mapping = fields.iter().find(|f| f.name == "contact_property_mapping").unwrap();
        assert_eq!(mapping.label, "Contact property mapping", "a property without a title is named from its key");
        assert!(settings_fields(&json!({"type": "object"})).is_empty());
    }

    #[test]
    fn drafts_start_from_the_stored_settings_then_the_defaults() {
        let fields = settings_fields(&schema());
        let stored = json!({"calendar_id": "team@example.com", "tags": ["vip", "2026"], "max_items": 3,
                            "contact_property_mapping": {"company": "{{ data.company }}"}});
        let draft = |n: &str| draft_of(fields.iter().find(|f| f.name == n).unwrap(), &stored);
        assert_eq!(draft("calendar_id"), Draft::Text("team@example.com".into()));
        assert_eq!(draft("send_updates"), Draft::Text("none".into()), "the schema's default");
        assert_eq!(draft("create_deals"), Draft::Flag(false));
        assert_eq!(draft("max_items"), Draft::Text("3".into()));
        assert_eq!(draft("tags"), Draft::Text("vip\n2026".into()));
        assert_eq!(
            draft("contact_property_mapping"),
            Draft::Rows(vec![("company".into(), "{{ data.company }}".into())])
        );
        assert_eq!(draft("list_id"), Draft::Text(String::new()));
    }

    #[test]
    fn the_form_makes_the_settings_the_schema_describes() {
        let fields = settings_fields(&schema());
        let previous = json!({"nested": {"a": "kept"}, "calendar_id": "old"});
        let drafts: Vec<Draft> = fields
            .iter()
            .map(|f| match f.name.as_str() {
                "list_id" => Draft::Text(" abc123 ".into()),
                "calendar_id" => Draft::Text("   ".into()),
                "send_updates" => Draft::Text("all".into()),
                "create_deals" => Draft::Flag(true),
                "max_items" => Draft::Text("7".into()),
                "tags" => Draft::Text("vip\n\n  early bird \n".into()),
                "contact_property_mapping" => {
                    Draft::Rows(vec![("company".into(), "{{ data.company }}".into()), ("  ".into(), "".into())])
                }
                _ => unreachable!(),
            })
            .collect();
        let v = settings_value(&fields, &drafts, &previous).unwrap();
        assert_eq!(
            v,
            json!({"list_id": "abc123", "send_updates": "all", "create_deals": true, "max_items": 7,
                   "tags": ["vip", "early bird"], "contact_property_mapping": {"company": "{{ data.company }}"},
                   "nested": {"a": "kept"}}),
            "an emptied field is left out (its default applies); what the form does not show is kept"
        );
    }

    #[test]
    fn bad_input_is_named_by_its_field_as_the_server_would() {
        let fields = settings_fields(&schema());
        let drafts: Vec<Draft> = fields
            .iter()
            .map(|f| match f.name.as_str() {
                "max_items" => Draft::Text("seven".into()),
                "create_deals" => Draft::Flag(false),
                "contact_property_mapping" => Draft::Rows(vec![
                    ("company".into(), "a".into()),
                    ("company".into(), "b".into()),
                    ("".into(), "{{ data.x }}".into()),
                ]),
                _ => Draft::Text(String::new()),
            })
            .collect();
        let errors = settings_value(&fields, &drafts, &Value::Null).unwrap_err();
        let mut fields_named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields_named.sort();
        assert_eq!(
            fields_named,
            ["settings.contact_property_mapping", "settings.contact_property_mapping", "settings.max_items"]
        );
        let whole = errors.iter().find(|e| e.field == "settings.max_items").unwrap();
        assert_eq!(whole.message, "must be a whole number");
        let big = fields
            .iter()
            .map(|f| match f.kind {
                FieldKind::Whole { .. } => Draft::Text("11".into()),
                FieldKind::Flag => Draft::Flag(false),
                FieldKind::Mapping => Draft::Rows(vec![]),
                _ => Draft::Text(String::new()),
            })
            .collect::<Vec<_>>();
        assert_eq!(settings_value(&fields, &big, &Value::Null).unwrap_err()[0].message, "must be at most 10");
    }

    #[test]
    fn server_errors_land_beside_their_field_or_above_the_form() {
        let fields = settings_fields(&schema());
        let e = AppError::validation(vec![
            FieldError { field: "settings.list_id".into(), message: "is required".into() },
            FieldError { field: "settings.tags.0".into(), message: "is too long".into() },
            FieldError { field: "settings".into(), message: "unknown setting colour".into() },
        ]);
        let of = |n: &str| field_message(&e, fields.iter().find(|f| f.name == n).unwrap());
        assert_eq!(of("list_id").as_deref(), Some("is required"));
        assert_eq!(of("tags").as_deref(), Some("is too long"));
        assert_eq!(of("calendar_id"), None);
        assert_eq!(form_message(&e, &fields).as_deref(), Some("settings: unknown setting colour"));
        let refused = AppError::forbidden("Viewers can look");
        assert_eq!(form_message(&refused, &fields).as_deref(), Some("Viewers can look"));
    }

    #[test]
    fn templates_start_from_the_shipped_ones_and_only_changed_ones_are_saved() {
        let schema = json!({"type": "object", "properties": {"templates": {
            "type": "object", "x-hub-editor": "templates",
            "default": {"event": "{\"summary\": {{ title | tojson }}}", "cancel": "{}"}}}});
        let fields = settings_fields(&schema);
        assert_eq!(fields[0].kind, FieldKind::Templates);
        let stored = json!({"calendar_id": "team", "templates": {"cancel": "{\"comment\": \"bye\"}"}});
        let Draft::Rows(mut rows) = draft_of(&fields[0], &stored) else { panic!("rows") };
        rows.sort();
        assert_eq!(
            rows,
            [
                ("cancel".to_string(), "{\"comment\": \"bye\"}".to_string()),
                ("event".into(), "{\"summary\": {{ title | tojson }}}".into())
            ]
        );
        // The shipped event template (even with spaces around it) is not stored; an emptied cancel goes back to
        // the shipped one; the other settings stay.
        let drafts = [Draft::Rows(vec![
            ("event".into(), "  {\"summary\": {{ title | tojson }}}\n".into()),
            ("cancel".into(), " ".into()),
        ])];
        assert_eq!(settings_value(&fields, &drafts, &stored).unwrap(), json!({"calendar_id": "team"}));
        let drafts =
            [Draft::Rows(vec![("event".into(), "{\"summary\": \"x\"}".into()), ("cancel".into(), "{}".into())])];
        assert_eq!(
            settings_value(&fields, &drafts, &stored).unwrap(),
            json!({"calendar_id": "team", "templates": {"event": "{\"summary\": \"x\"}"}})
        );
    }

    #[test]
    fn small_texts() {
        assert_eq!(status_badge(true, Some(ConnectionStatus::Active)), ("Active", "green"));
        assert_eq!(status_badge(true, Some(ConnectionStatus::Error)), ("Error", "red"));
        assert_eq!(status_badge(true, None), ("Not connected", "gray"));
        assert_eq!(status_badge(false, None), ("Not configured", "amber"));
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(12_340), "12.3 s");
        assert_eq!(duration_text(245_000), "4 min 05 s");
        assert_eq!(duration_text(7_380_000), "2 h 03 min");
        assert_eq!(duration_text(-5), "0 ms");
    }
}
