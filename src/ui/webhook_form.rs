//! The endpoint create/edit form: the destination picker (webhook, Slack, Discord, Teams, email), then
//! collapsible sections for what that kind has (Basic, Events, Filters, and Headers, Delivery and Advanced for a
//! webhook; Message with its live preview and Delivery settings for chat and email), live filter and recipient
//! validation with the same rules as the server, a template preview rendered with the event type's example,
//! the server's field errors next to the fields, and the user's input kept on error.

use super::destinations::{
    parse_recipients, recipients_problem, DestinationIcon, DestinationPicker, MessageDraft, MessageEditor,
};
use super::event_types::Catalog;
use super::layout::use_tenant_id;
use super::modal::DialogActions;
use super::style::*;
use super::toast::{on_success, use_toasts};
use super::widgets::TextField;
use crate::model::filter::{validate_filter, Filter, FilterOp};
use crate::model::webhook::limits;
use crate::model::{
    AppError, ContentType, CreateWebhook, DestinationKind, EventType, ShellContext, Webhook, HEADER_MASK,
};
use crate::server_fns::tools::render_template_preview;
use crate::server_fns::webhooks::{message_defaults, reveal_webhook_headers, reveal_webhook_secret};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// A filter row as typed: the value is JSON when it parses (numbers, lists), a string otherwise.
#[derive(Clone, Copy)]
struct FilterRow {
    key: u32,
    field: RwSignal<String>,
    op: RwSignal<String>,
    value: RwSignal<String>,
}

impl FilterRow {
    fn filter(&self) -> Filter {
        let raw = self.value.get();
        let value = serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw));
        let operator = FilterOp::from_name(&self.op.get()).unwrap_or(FilterOp::Equals);
        Filter { field: self.field.get(), operator, value }
    }
}

#[derive(Clone, Copy)]
struct HeaderRow {
    key: u32,
    name: RwSignal<String>,
    value: RwSignal<String>,
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
pub fn WebhookForm(
    initial: Option<Webhook>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<AppError>>,
    on_submit: Callback<CreateWebhook>,
    on_cancel: Callback<()>,
    catalog: Catalog,
) -> impl IntoView {
    let editing = initial.is_some();
    let id = initial.as_ref().map(|w| w.id.clone());
    let w = initial.as_ref();
    let kind = RwSignal::new(w.map(|w| w.kind).unwrap_or_default());
    let (d_retries, d_delay, d_factor, d_timeout, d_rate) = (
        limits::MAX_RETRIES.2,
        limits::RETRY_DELAY_SECONDS.2,
        limits::BACKOFF_FACTOR.2,
        limits::TIMEOUT_MS.2,
        kind.get_untracked().default_rate_limit_per_minute(),
    );
    let name = RwSignal::new(w.map(|w| w.name.clone()).unwrap_or_default());
    let url = RwSignal::new(w.map(|w| w.url.clone()).unwrap_or_default());
    let recipients = RwSignal::new(w.map(|w| w.recipients.join("\n")).unwrap_or_default());
    // The recipients' own errors show once the box is left (or on submit), not while the first one is typed.
    let recipients_checked = RwSignal::new(false);
    let draft = MessageDraft::new(w.and_then(|w| w.message.as_ref()));
    let description = RwSignal::new(w.map(|w| w.description.clone()).unwrap_or_default());
    let events = RwSignal::new(w.map(|w| w.events.clone()).unwrap_or_default());
    let next = StoredValue::new(0u32);
    let new_key = move || {
        let k = next.get_value();
        next.set_value(k + 1);
        k
    };
    let filter_row = move |f: Option<&Filter>| FilterRow {
        key: new_key(),
        field: RwSignal::new(f.map(|f| f.field.clone()).unwrap_or_default()),
        op: RwSignal::new(f.map(|f| f.operator.as_str()).unwrap_or("equals").to_string()),
        value: RwSignal::new(f.map(|f| value_text(&f.value)).unwrap_or_default()),
    };
    let header_row = move |(n, v): (&str, &str)| HeaderRow {
        key: new_key(),
        name: RwSignal::new(n.to_string()),
        value: RwSignal::new(v.to_string()),
    };
    let filters =
        RwSignal::new(w.map(|w| w.filters.iter().map(|f| filter_row(Some(f))).collect::<Vec<_>>()).unwrap_or_default());
    let headers = RwSignal::new(
        w.map(|w| w.headers.iter().map(|(n, v)| header_row((n, v))).collect::<Vec<_>>()).unwrap_or_default(),
    );
    // An endpoint's header values come masked; sent back unchanged, the server keeps them. Revealing fills the
    // rows still showing the mask with the real values (an audited call).
    let reveal_headers = id.clone().map(|wid| {
        let tenant = use_context::<ShellContext>().map(|c| c.tenant.id.clone()).unwrap_or_default();
        let (tenant, wid) = (StoredValue::new(tenant), StoredValue::new(wid));
        Action::new(move |_: &()| reveal_webhook_headers(tenant.get_value(), wid.get_value()))
    });
    if let Some(reveal) = reveal_headers {
        on_success(reveal, move |real| {
            for row in headers.get_untracked() {
                let real = real.headers.get(&row.name.get_untracked());
                if let Some(v) = real.filter(|_| row.value.get_untracked() == HEADER_MASK) {
                    row.value.set(v.clone());
                }
            }
        });
    }
    let content_type = RwSignal::new(w.map(|w| w.content_type).unwrap_or_default());
    let template = RwSignal::new(w.and_then(|w| w.template.clone()).unwrap_or_default());
    let retries = RwSignal::new(w.map(|w| w.max_retries).unwrap_or(d_retries).to_string());
    let delay = RwSignal::new(w.map(|w| w.retry_delay_seconds).unwrap_or(d_delay).to_string());
    let factor = RwSignal::new(w.map(|w| w.backoff_factor).unwrap_or(d_factor).to_string());
    let timeout = RwSignal::new(w.map(|w| w.timeout_ms).unwrap_or(d_timeout).to_string());
    let rate = RwSignal::new(w.map(|w| w.rate_limit_per_minute).unwrap_or(d_rate).to_string());

    // Picking another kind: the rate limit follows the kind's default unless it was changed by hand.
    let pick = Callback::new(move |k: DestinationKind| {
        let old = kind.get_untracked();
        if old != k {
            if rate.get_untracked().trim() == old.default_rate_limit_per_minute().to_string() {
                rate.set(k.default_rate_limit_per_minute().to_string());
            }
            kind.set(k);
        }
    });
    // Editing shows the kind; the picker opens on request.
    let choosing = RwSignal::new(!editing);
    // Whether this hub can send email (it says so on the Email choice when it cannot).
    let email_ready = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok((_, from)) = message_defaults(String::new()).await {
                email_ready.try_set(Some(from.is_some()));
            }
        });
    });
    let is = move |k: DestinationKind| kind.get() == k;
    let typed_recipients = Signal::derive(move || parse_recipients(&recipients.get()));
    let recipients_error = move || {
        let mine = recipients_checked.get().then(|| recipients_problem(&typed_recipients.get())).flatten();
        mine.or_else(|| error.get().and_then(|e| e.field_message("recipients").map(str::to_string)))
    };
    // What the browser found wrong before sending (the server's errors come with `error`).
    let local_problem = move || {
        let k = kind.get();
        (k == DestinationKind::Email
            && recipients_checked.get()
            && recipients_problem(&typed_recipients.get()).is_some())
            || (k.is_message()
                && draft.checked.get()
                && super::destinations::parse_fields(&draft.fields.get()).is_err())
    };

    let field = move |f: &'static str| move || error.get().and_then(|e| e.field_message(f).map(str::to_string));
    let filter_errors =
        Memo::new(move |_| filters.get().iter().map(|r| validate_filter(&r.filter()).err()).collect::<Vec<_>>());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let num = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().unwrap_or(u32::MAX);
        let k = kind.get_untracked();
        let webhook = k == DestinationKind::Webhook;
        // What the browser can tell is wrong shows next to its field, and nothing is sent.
        draft.checked.set(k.is_message());
        recipients_checked.set(k == DestinationKind::Email);
        let message = if k.is_message() { draft.template() } else { Ok(None) };
        let to = if k == DestinationKind::Email { parse_recipients(&recipients.get_untracked()) } else { Vec::new() };
        let Ok(message) = message else { return };
        if k == DestinationKind::Email && recipients_problem(&to).is_some() {
            return;
        }
        let tpl = template.get_untracked();
        on_submit.run(CreateWebhook {
            name: Some(name.get_untracked()),
            kind: Some(k),
            url: if k.is_http() { url.get_untracked().trim().to_string() } else { String::new() },
            recipients: to,
            message,
            description: Some(description.get_untracked()),
            events: events.get_untracked(),
            filters: filters.get_untracked().iter().map(FilterRow::filter).collect(),
            headers: headers
                .get_untracked()
                .iter()
                .filter(|h| webhook && !h.name.get_untracked().trim().is_empty())
                .map(|h| (h.name.get_untracked().trim().to_string(), h.value.get_untracked()))
                .collect::<BTreeMap<_, _>>(),
            content_type: Some(if webhook { content_type.get_untracked() } else { ContentType::Json }),
            template: (webhook && !tpl.trim().is_empty()).then_some(tpl),
            max_retries: Some(num(retries)),
            retry_delay_seconds: Some(num(delay)),
            backoff_factor: Some(factor.get_untracked().trim().parse().unwrap_or(f64::NAN)),
            timeout_ms: Some(num(timeout)),
            rate_limit_per_minute: Some(num(rate)),
            ..Default::default()
        });
    };

    view! {
        <form on:submit=submit class="space-y-3" novalidate=true>
            {move || if choosing.get() {
                view! { <DestinationPicker value=kind on_pick=pick email_ready=email_ready error=Signal::derive(field("kind"))/> }.into_any()
            } else {
                view! {
                    <div class="flex items-center gap-3 rounded-lg px-4 py-3 ring-1 ring-slate-200 dark:ring-slate-700" data-testid="destination-kind">
                        <DestinationIcon kind=kind.get() class="h-7 w-7"/>
                        <p class="text-sm">"Destination: " <strong>{kind.get().label()}</strong></p>
                        <button type="button" class=format!("{LINK_BUTTON} ml-auto") on:click=move |_| choosing.set(true)>"Change"</button>
                    </div>
                    <p class=FIELD_ERROR>{field("kind")}</p>
                }.into_any()
            }}
            <Section summary="Basic" open=true body="grid gap-4 px-4 pb-4 sm:grid-cols-2">
                <TextField id="wh-name" label="Name" value=name error=Signal::derive(field("name")) autofocus=true/>
                {move || {
                    let k = kind.get();
                    k.is_http().then(|| {
                        let label = if k == DestinationKind::Webhook { "URL" } else { "Incoming webhook URL" };
                        view! {
                            <TextField id="wh-url" label=label value=url error=Signal::derive(field("url")) kind="url" mono=true
                                placeholder=k.url_hint()/>
                        }
                    })
                }}
                <Show when=move || is(DestinationKind::Email)>
                    <div class="sm:col-span-2">
                        <label for="wh-recipients" class=LABEL>"Recipients"</label>
                        <textarea id="wh-recipients" rows="3" class=format!("{INPUT_CLASS} font-mono") spellcheck="false"
                            placeholder="ops@example.com\noncall@example.com" aria-describedby="wh-recipients-hint wh-recipients-error"
                            aria-invalid=move || recipients_error().is_some().to_string()
                            prop:value=move || recipients.get() on:input=move |ev| recipients.set(event_target_value(&ev))
                            on:blur=move |_| recipients_checked.set(true)></textarea>
                        <p id="wh-recipients-hint" class="mt-1 text-xs text-slate-600 dark:text-slate-400">
                            {move || format!("One address per line, or separated by commas; each gets their own message with its own unsubscribe link. {} listed.", typed_recipients.get().len())}
                        </p>
                        <p id="wh-recipients-error" class=FIELD_ERROR>{recipients_error}</p>
                    </div>
                </Show>
                <div class="sm:col-span-2">
                    <label for="wh-description" class=LABEL>"Description"</label>
                    <input id="wh-description" class=INPUT_CLASS prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))/>
                    <p class=FIELD_ERROR>{field("description")}</p>
                </div>
                {id.clone().map(|id| view! {
                    <Show when=move || is(DestinationKind::Webhook)>
                        <SecretField id=id.clone()/>
                    </Show>
                })}
            </Section>

            <Section summary=move || format!("Events ({} selected)", events.read().len()) open=true body="px-4 pb-4">
                <EventPicker events=events types=catalog/>
                <p class=FIELD_ERROR>{field("events")}</p>
            </Section>

            <Section summary=move || format!("Filters ({})", filters.read().len())
                open={editing && !filters.read_untracked().is_empty()} body="space-y-2 px-4 pb-4">
                <p class="text-xs text-slate-600 dark:text-slate-400">"Every filter must pass. Fields are paths into the event, e.g. " <code>"data.ticket.priority"</code> "; values are JSON when they parse (numbers, " <code>"[\"a\",\"b\"]"</code> "), text otherwise."</p>
                <For each=move || filters.get().into_iter().enumerate() key=|(_, r)| r.key children=move |(i, row): (usize, FilterRow)| view! {
                    <div class="grid grid-cols-12 gap-2" data-testid="filter-row">
                        <input aria-label=format!("Filter {} field", i + 1) class=format!("{INPUT_CLASS} col-span-4 font-mono") placeholder="data.priority"
                            prop:value=move || row.field.get() on:input=move |ev| row.field.set(event_target_value(&ev))/>
                        <select aria-label=format!("Filter {} operator", i + 1) class=format!("{INPUT_CLASS} col-span-3") prop:value=move || row.op.get()
                            on:change=move |ev| row.op.set(event_target_value(&ev))>
                            {FilterOp::ALL.iter().map(|op| view! { <option value=op.as_str()>{op.as_str().replace('_', " ")}</option> }).collect_view()}
                        </select>
                        <input aria-label=format!("Filter {} value", i + 1) class=format!("{INPUT_CLASS} col-span-4 font-mono") placeholder="high"
                            prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))/>
                        <button type="button" class=format!("{LINK_BUTTON} col-span-1") aria-label=format!("Remove filter {}", i + 1)
                            on:click=move |_| filters.update(|f| f.retain(|r| r.key != row.key))>"×"</button>
                        <p class=format!("{FIELD_ERROR} col-span-12") role="status">
                            {move || filter_errors.get().get(i).cloned().flatten()}
                            {move || error.get().and_then(|e| e.field_message(&format!("filters.{i}")).map(str::to_string))}
                        </p>
                    </div>
                }/>
                <button type="button" class=SECONDARY_BUTTON on:click=move |_| filters.update(|f| f.push(filter_row(None)))>"Add filter"</button>
                <p class=FIELD_ERROR>{field("filters")}</p>
            </Section>

            <Show when=move || is(DestinationKind::Webhook)>
            <Section summary=move || format!("Headers ({})", headers.read().len())
                open={editing && !headers.read_untracked().is_empty()} body="space-y-2 px-4 pb-4">
                <For each=move || headers.get().into_iter().enumerate() key=|(_, r)| r.key children=move |(i, row): (usize, HeaderRow)| view! {
                    <div class="grid grid-cols-12 gap-2" data-testid="header-row">
                        <input aria-label=format!("Header {} name", i + 1) class=format!("{INPUT_CLASS} col-span-5 font-mono") placeholder="X-Team"
                            prop:value=move || row.name.get() on:input=move |ev| row.name.set(event_target_value(&ev))/>
                        <input aria-label=format!("Header {} value", i + 1) class=format!("{INPUT_CLASS} col-span-6 font-mono")
                            prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))/>
                        <button type="button" class=format!("{LINK_BUTTON} col-span-1") aria-label=format!("Remove header {}", i + 1)
                            on:click=move |_| headers.update(|h| h.retain(|r| r.key != row.key))>"×"</button>
                    </div>
                }/>
                <div class="flex gap-2">
                    <button type="button" class=SECONDARY_BUTTON on:click=move |_| headers.update(|h| h.push(header_row(("", ""))))>"Add header"</button>
                    {reveal_headers.map(|reveal| view! {
                        <button type="button" class=SECONDARY_BUTTON on:click=move |_| { reveal.dispatch(()); }>"Reveal values"</button>
                    })}
                </div>
                {editing.then(|| view! {
                    <p class="text-xs text-slate-500 dark:text-slate-400">{format!("Stored values show as {HEADER_MASK}: left as they are, they are kept.")}</p>
                })}
                <p class=FIELD_ERROR>{field("headers")}</p>
            </Section>

            <Section summary="Delivery" body="space-y-3 px-4 pb-4">
                <div>
                    <label for="wh-content-type" class=LABEL>"Content type"</label>
                    <select id="wh-content-type" class=INPUT_CLASS prop:value=move || content_type.get().as_str().to_string()
                        on:change=move |ev| content_type.set(ContentType::parse(&event_target_value(&ev)).unwrap_or_default())>
                        <option value="application/json">"application/json"</option>
                        <option value="application/x-www-form-urlencoded">"application/x-www-form-urlencoded (payload=…)"</option>
                    </select>
                </div>
                <TemplateEditor template=template events=events.into()/>
                <p class=FIELD_ERROR>{field("template")}</p>
            </Section>
            </Show>

            <Show when=move || kind.get().is_message()>
                <Section summary="Message" open=true body="space-y-3 px-4 pb-4">
                    <MessageEditor kind=kind draft=draft events=events catalog=catalog recipients=typed_recipients error=error/>
                </Section>
            </Show>

            <Section summary=move || if is(DestinationKind::Webhook) { "Advanced".to_string() } else { "Delivery settings".to_string() }
                body="grid gap-4 px-4 pb-4 sm:grid-cols-3">
                {move || {
                    let k = kind.get();
                    let per_minute = k.default_rate_limit_per_minute();
                    (per_minute > 0).then(|| view! {
                        <p class="text-xs text-slate-600 dark:text-slate-400 sm:col-span-3">
                            {format!("The rate limit starts at {per_minute} a minute, what {} documents for one webhook; retries wait at least as long as the platform asks.", k.label())}
                        </p>
                    })
                }}
                <NumberField id="wh-retries" label="Max retries" value=retries range=format!("{}–{}", limits::MAX_RETRIES.0, limits::MAX_RETRIES.1) error=Signal::derive(field("max_retries"))/>
                <NumberField id="wh-delay" label="Base delay (s)" value=delay range=format!("{}–{}", limits::RETRY_DELAY_SECONDS.0, limits::RETRY_DELAY_SECONDS.1) error=Signal::derive(field("retry_delay_seconds"))/>
                <NumberField id="wh-factor" label="Backoff factor" value=factor range=format!("{}–{}", limits::BACKOFF_FACTOR.0, limits::BACKOFF_FACTOR.1) error=Signal::derive(field("backoff_factor"))/>
                <NumberField id="wh-timeout" label="Timeout (ms)" value=timeout range=format!("{}–{}", limits::TIMEOUT_MS.0, limits::TIMEOUT_MS.1) error=Signal::derive(field("timeout_ms"))/>
                <NumberField id="wh-rate" label="Rate limit (per minute; 0 = none)" value=rate range=format!("{}–{}", limits::RATE_LIMIT_PER_MINUTE.0, limits::RATE_LIMIT_PER_MINUTE.1) error=Signal::derive(field("rate_limit_per_minute"))/>
            </Section>

            <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{move || {
                let fix = "Please correct the highlighted fields.".to_string();
                error.get().map(|e| if e.fields.is_empty() { e.message } else { fix.clone() }).or_else(|| local_problem().then_some(fix))
            }}</p>
            <DialogActions on_dismiss=on_cancel label=if editing { "Save changes" } else { "Create endpoint" } pending_label="Saving…" pending=pending/>
        </form>
    }
}

/// One of the form's collapsible sections; `body` lays out what is inside.
#[component]
fn Section(
    #[prop(into)] summary: TextProp,
    #[prop(optional)] open: bool,
    body: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <details open=open class="rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
            <summary class="cursor-pointer select-none px-4 py-3 text-sm font-semibold">{move || summary.get()}</summary>
            <div class=body>{children()}</div>
        </details>
    }
}

#[component]
fn NumberField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    range: String,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let hint = format!("{id}-hint");
    view! {
        <div>
            <label for=id class=LABEL>{label}</label>
            <input id=id inputmode="decimal" class=INPUT_CLASS prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string() aria-describedby=hint.clone()/>
            <p id=hint class="mt-1 text-xs text-slate-600 dark:text-slate-400">{format!("Allowed: {range}")}</p>
            <p class=FIELD_ERROR>{move || error.get()}</p>
        </div>
    }
}

/// Event types grouped by category, with a search box, select-all per group and the `*` option; patterns
/// not in the catalog (e.g. `ticket.*`) stay and show as removable chips.
#[component]
fn EventPicker(events: RwSignal<Vec<String>>, types: Catalog) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let has = move |n: &str| events.read().iter().any(|e| e == n);
    let set = move |n: &str, on: bool| {
        events.update(|e| {
            e.retain(|x| x != n);
            if on {
                e.push(n.to_string());
            }
        })
    };
    view! {
        <div class="flex flex-col gap-2 sm:flex-row sm:items-center">
            <input type="search" aria-label="Search event types" placeholder="Search event types" class=INPUT_CLASS
                prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            <label class="flex shrink-0 items-center gap-2 text-sm">
                <input type="checkbox" prop:checked=move || has("*") on:change=move |ev| set("*", event_target_checked(&ev))/>
                "All events (" <code>"*"</code> ")"
            </label>
        </div>
        <Transition fallback=|| view! { <p class="mt-2 text-sm">"Loading event types…"</p> }>
            {move || types.get().and_then(|r| r.ok()).map(|list| {
                let catalog: Vec<String> = list.iter().map(|t| t.name.clone()).collect();
                let q = search.get().to_lowercase();
                let mut groups: Vec<(String, Vec<EventType>)> = Vec::new();
                for t in list.into_iter().filter(|t| !t.archived && (q.is_empty() || t.name.contains(&q) || t.category.to_lowercase().contains(&q))) {
                    match groups.iter_mut().find(|(c, _)| *c == t.category) {
                        Some((_, v)) => v.push(t),
                        None => groups.push((t.category.clone(), vec![t])),
                    }
                }
                view! {
                    <div class="mt-2 flex flex-wrap gap-1">
                        {move || events.get().into_iter().filter(|e| !catalog.contains(e) && e != "*").map(|e| {
                            let remove = e.clone();
                            view! {
                                <span class=CHIP>{e.clone()}
                                    <button type="button" class="ml-1" aria-label=format!("Remove {e}") on:click=move |_| set(&remove, false)>"×"</button>
                                </span>
                            }
                        }).collect_view()}
                    </div>
                    <div class="mt-2 grid max-h-72 gap-3 overflow-y-auto sm:grid-cols-2">
                        {groups.into_iter().map(|(category, items)| {
                            let names: Vec<String> = items.iter().map(|t| t.name.clone()).collect();
                            let all = names.clone();
                            let all_on = move || all.iter().all(|n| events.read().contains(n));
                            view! {
                                <fieldset class="rounded-md p-2 ring-1 ring-slate-200 dark:ring-slate-700">
                                    <legend class="px-1 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">{category.clone()}</legend>
                                    <label class="flex items-center gap-2 text-sm font-medium">
                                        <input type="checkbox" prop:checked=all_on on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            for n in &names { set(n, on); }
                                        }/>
                                        {format!("Select all {category}")}
                                    </label>
                                    {items.into_iter().map(|t| {
                                        let n = t.name.clone();
                                        let n2 = t.name.clone();
                                        view! {
                                            <label class="flex items-center gap-2 text-sm" title=t.description.clone()>
                                                <input type="checkbox" prop:checked=move || has(&n) on:change=move |ev| set(&n2, event_target_checked(&ev))/>
                                                <code class="font-mono text-xs">{t.name.clone()}</code>
                                            </label>
                                        }
                                    }).collect_view()}
                                </fieldset>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
        </Transition>
    }
}

/// The body template, with a preview rendered on the server from a subscribed type's example.
#[component]
fn TemplateEditor(template: RwSignal<String>, events: Signal<Vec<String>>) -> impl IntoView {
    let preview = Action::new(move |(t, tpl): &(String, String)| render_template_preview(t.clone(), tpl.clone()));
    let sample_type =
        move || events.get().into_iter().find(|e| !e.contains('*')).unwrap_or_else(|| "ticket.created".into());
    view! {
        <div>
            <label for="wh-template" class=LABEL>"Body template " <span class="font-normal text-slate-500 dark:text-slate-400">"(optional; Jinja syntax, e.g. " <code>"{\"text\": \"{{ data.ticket.subject }}\"}"</code> ")"</span></label>
            <textarea id="wh-template" rows="5" class=format!("{INPUT_CLASS} font-mono text-xs") spellcheck="false"
                prop:value=move || template.get() on:input=move |ev| template.set(event_target_value(&ev))></textarea>
            <div class="mt-2 flex items-center gap-2">
                <button type="button" class=SECONDARY_BUTTON disabled=move || template.get().trim().is_empty() || preview.pending().get()
                    on:click=move |_| { preview.dispatch((sample_type(), template.get_untracked())); }>"Render with example"</button>
                <span class="text-xs text-slate-600 dark:text-slate-400">{move || format!("Uses the example of {}", sample_type())}</span>
            </div>
            {move || preview.value().get().map(|r| match r {
                Ok(out) => view! { <pre data-testid="template-preview" class="mt-2 max-h-48 overflow-auto rounded-md bg-slate-100 p-2 font-mono text-xs dark:bg-slate-800">{out}</pre> }.into_any(),
                Err(e) => view! { <p class=FIELD_ERROR>{e.field_message("template").map(str::to_string).unwrap_or(e.message)}</p> }.into_any(),
            })}
        </div>
    }
}

/// The signing secret, masked until revealed; copy puts it on the clipboard.
#[component]
fn SecretField(id: String) -> impl IntoView {
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let id = StoredValue::new(id);
    let shown = RwSignal::new(false);
    let secret = Action::new(move |_: &()| reveal_webhook_secret(tenant.get_value(), id.get_value()));
    let value = move || secret.value().get().and_then(|r| r.ok()).map(|s| s.secret);
    let copy = move |_| {
        if let Some(s) = value() {
            super::copy_text(s, toasts, "Signing secret copied");
        }
    };
    view! {
        <div class="sm:col-span-2">
            <label for="wh-secret" class=LABEL>"Signing secret"</label>
            <div class="flex gap-2">
                <input id="wh-secret" readonly=true class=format!("{INPUT_CLASS} font-mono")
                    prop:value=move || if shown.get() { value().unwrap_or_default() } else { "whsec_••••••••••••••••••••••••".to_string() }/>
                <button type="button" class=SECONDARY_BUTTON on:click=move |_| {
                    if value().is_none() { secret.dispatch(()); }
                    shown.update(|s| *s = !*s);
                }>{move || if shown.get() { "Hide" } else { "Reveal" }}</button>
                <button type="button" class=SECONDARY_BUTTON disabled=move || value().is_none() on:click=copy>"Copy"</button>
            </div>
        </div>
    }
}
