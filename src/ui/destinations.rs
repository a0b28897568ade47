//! Destinations in the endpoint form: the picker (five kinds, each with its inline icon), the message editor of
//! chat and email destinations, and its live preview, drawn the way each platform shows a message (a Slack
//! block, a Discord embed, a Teams Adaptive Card, an email) from the rendered message, with the exact payload
//! beside it. No external assets: icons and previews are our own markup, in light and dark.

use super::event_types::Catalog;
use super::json::Body;
use super::style::*;
use crate::model::destination::valid_email;
use crate::model::filter::subscribed;
use crate::model::{AppError, DestinationKind, DestinationPreview, EventType, MessageField, MessageTemplate, Tone};
use crate::server_fns::webhooks::{message_defaults, preview_destination};
use leptos::prelude::*;

/// How long the preview waits after the last edit before it asks the server again.
const PREVIEW_DEBOUNCE_MS: u64 = 300;

/// The kind's own drawing: the platforms' marks simplified, in their colours; webhook and email as outlines in
/// the text colour.
#[component]
pub fn DestinationIcon(kind: DestinationKind, #[prop(default = "h-6 w-6")] class: &'static str) -> impl IntoView {
    let svg = |body: AnyView| {
        view! {
            <svg class=class xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" aria-hidden="true" focusable="false">{body}</svg>
        }
    };
    match kind {
        DestinationKind::Webhook => svg(view! {
            <g fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" class="text-indigo-600 dark:text-indigo-400">
                <circle cx="12" cy="6" r="2.6"/>
                <circle cx="5.5" cy="17.5" r="2.6"/>
                <circle cx="18.5" cy="17.5" r="2.6"/>
                <path d="M10.6 8.3 7 15.1M8.2 17.5h7.6M13.4 8.3l3.7 6.8"/>
            </g>
        }
        .into_any()),
        DestinationKind::Slack => svg(view! {
            <g>
                <rect x="13" y="2" width="3.6" height="9" rx="1.8" fill="#2EB67D"/>
                <circle cx="20.2" cy="9.2" r="1.8" fill="#2EB67D"/>
                <rect x="2" y="7.4" width="9" height="3.6" rx="1.8" fill="#36C5F0"/>
                <circle cx="9.2" cy="3.8" r="1.8" fill="#36C5F0"/>
                <rect x="7.4" y="13" width="3.6" height="9" rx="1.8" fill="#E01E5A"/>
                <circle cx="3.8" cy="14.8" r="1.8" fill="#E01E5A"/>
                <rect x="13" y="13" width="9" height="3.6" rx="1.8" fill="#ECB22E"/>
                <circle cx="14.8" cy="20.2" r="1.8" fill="#ECB22E"/>
            </g>
        }
        .into_any()),
        DestinationKind::Discord => svg(view! {
            <g>
                <path fill="#5865F2" d="M19.6 5.4a17.4 17.4 0 0 0-4.3-1.3l-.6 1.1a16 16 0 0 0-5.4 0l-.6-1.1a17.4 17.4 0 0 0-4.3 1.3C1.7 9.6 1 13.6 1.3 17.5a17.6 17.6 0 0 0 5.3 2.7l1.1-1.8a11.4 11.4 0 0 1-1.8-.9l.4-.3a12.5 12.5 0 0 0 11.4 0l.4.3a11.4 11.4 0 0 1-1.8.9l1.1 1.8a17.6 17.6 0 0 0 5.3-2.7c.4-4.5-.7-8.5-3-12.1Z"/>
                <ellipse cx="8.6" cy="13.4" rx="1.7" ry="1.9" fill="#fff"/>
                <ellipse cx="15.4" cy="13.4" rx="1.7" ry="1.9" fill="#fff"/>
            </g>
        }
        .into_any()),
        DestinationKind::Teams => svg(view! {
            <g>
                <circle cx="18.6" cy="6.6" r="2.4" fill="#7B83EB"/>
                <rect x="14.2" y="10" width="8.3" height="8" rx="2.6" fill="#7B83EB"/>
                <circle cx="12.4" cy="4.6" r="2.6" fill="#5059C9"/>
                <rect x="1.5" y="6.5" width="13" height="13" rx="2" fill="#4B53BC"/>
                <path d="M4.8 9.9h6.4M8 9.9v6.6" stroke="#fff" stroke-width="1.9" stroke-linecap="round" fill="none"/>
            </g>
        }
        .into_any()),
        DestinationKind::Email => svg(view! {
            <g fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" class="text-sky-700 dark:text-sky-400">
                <rect x="2.5" y="5" width="19" height="14" rx="2.2"/>
                <path d="m3.2 6.4 7.6 6a2 2 0 0 0 2.4 0l7.6-6"/>
            </g>
        }
        .into_any()),
        // A connected app's endpoint (never in the picker): a plug.
        DestinationKind::App => svg(view! {
            <g fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" class="text-emerald-700 dark:text-emerald-400">
                <path d="M9 3v4M15 3v4M6.5 7h11v4a5.5 5.5 0 0 1-11 0V7ZM12 16.5V21"/>
            </g>
        }
        .into_any()),
    }
}

/// What the picker says under each kind's name.
fn blurb(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Webhook => "Signed JSON to your URL",
        DestinationKind::Slack => "A channel's incoming webhook",
        DestinationKind::Discord => "A channel webhook",
        DestinationKind::Teams => "A Workflows webhook",
        DestinationKind::Email => "Messages to addresses",
        DestinationKind::App => "A connected app's actions",
    }
}

/// The five kinds as large radio buttons (`role="radiogroup"`, arrow keys move the choice). `email_ready`:
/// whether this hub can send email (None while unknown); when it cannot, Email says so.
#[component]
pub fn DestinationPicker(
    #[prop(into)] value: Signal<DestinationKind>,
    on_pick: Callback<DestinationKind>,
    #[prop(into)] email_ready: Signal<Option<bool>>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let all = DestinationKind::ALL;
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let i = all.iter().position(|k| *k == value.get_untracked()).unwrap_or(0);
        let n = all.len();
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => (i + 1) % n,
            "ArrowLeft" | "ArrowUp" => (i + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        ev.prevent_default();
        on_pick.run(all[next]);
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let el = document().get_element_by_id(&format!("dest-{}", all[next].as_str()));
            if let Some(el) = el.and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        }
    };
    view! {
        <div>
            <p id="dest-label" class=LABEL>"Destination"</p>
            <div role="radiogroup" aria-labelledby="dest-label" aria-describedby="dest-error" on:keydown=on_keydown
                class="grid grid-cols-2 gap-2 sm:grid-cols-5">
                {all.into_iter().map(|k| {
                    let on = move || value.get() == k;
                    let desc = format!("dest-{}-desc", k.as_str());
                    let desc_id = desc.clone();
                    let note = move || match (k, email_ready.get()) {
                        (DestinationKind::Email, Some(false)) => "Not set up on this hub",
                        _ => blurb(k),
                    };
                    view! {
                        <button type="button" role="radio" id=format!("dest-{}", k.as_str())
                            aria-checked=move || on().to_string() tabindex=move || if on() { "0" } else { "-1" }
                            aria-describedby=desc on:click=move |_| on_pick.run(k)
                            class=move || format!(
                                "flex flex-col items-center gap-1 rounded-lg px-2 py-3 text-center ring-1 transition-colors focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 {}",
                                if on() {
                                    "bg-indigo-50 ring-2 ring-indigo-600 dark:bg-indigo-500/15 dark:ring-indigo-400"
                                } else {
                                    "bg-white ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:ring-slate-700 dark:hover:bg-slate-700"
                                }
                            )>
                            <DestinationIcon kind=k class="h-8 w-8"/>
                            <span class="text-sm font-semibold">{k.label()}</span>
                            <span id=desc_id aria-hidden="true" class="text-xs text-slate-600 dark:text-slate-300">{note}</span>
                        </button>
                    }
                }).collect_view()}
            </div>
            <p id="dest-error" class=FIELD_ERROR>{move || error.get()}</p>
        </div>
    }
}

/// Addresses as typed: one per line, or separated by commas or semicolons.
pub fn parse_recipients(text: &str) -> Vec<String> {
    text.split(['\n', ',', ';']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect()
}

/// What is wrong with the typed recipients (None: nothing the browser can tell).
pub fn recipients_problem(list: &[String]) -> Option<String> {
    use crate::model::destination::platform_limits::MAX_RECIPIENTS;
    let bad: Vec<String> =
        list.iter().filter(|r| !valid_email(r)).map(|r| format!("{r:?} is not an email address")).collect();
    if !bad.is_empty() {
        Some(bad.join("\n"))
    } else if list.is_empty() {
        Some("add at least one recipient".into())
    } else if list.len() > MAX_RECIPIENTS {
        Some(format!("at most {MAX_RECIPIENTS} recipients"))
    } else {
        None
    }
}

/// Fields as typed: one `Label: {{ template }}` per line (the label ends at the first colon); blank lines
/// are skipped. The error names each line that has no label.
pub fn parse_fields(text: &str) -> Result<Vec<MessageField>, String> {
    let mut fields = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match line.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                fields.push(MessageField { name: name.trim().to_string(), value: value.trim().to_string() })
            }
            _ => bad.push(format!("Line {}: write it as Label: {{{{ template }}}}", i + 1)),
        }
    }
    if bad.is_empty() {
        Ok(fields)
    } else {
        Err(bad.join("\n"))
    }
}

/// Fields as the textarea shows them.
pub fn fields_text(fields: &[MessageField]) -> String {
    fields.iter().map(|f| format!("{}: {}", f.name, f.value)).collect::<Vec<_>>().join("\n")
}

/// The message being edited: each part as typed.
#[derive(Clone, Copy)]
pub struct MessageDraft {
    pub title: RwSignal<String>,
    pub text: RwSignal<String>,
    pub link: RwSignal<String>,
    pub fields: RwSignal<String>,
    /// Whether the fields' own errors show yet (after leaving the box, or on submit).
    pub checked: RwSignal<bool>,
}

impl MessageDraft {
    pub fn new(m: Option<&MessageTemplate>) -> MessageDraft {
        MessageDraft {
            title: RwSignal::new(m.map(|m| m.title.clone()).unwrap_or_default()),
            text: RwSignal::new(m.map(|m| m.text.clone()).unwrap_or_default()),
            link: RwSignal::new(m.map(|m| m.link.clone()).unwrap_or_default()),
            fields: RwSignal::new(m.map(|m| fields_text(&m.fields)).unwrap_or_default()),
            checked: RwSignal::new(false),
        }
    }

    /// The template to save: None when every part is empty (each event's category default), an error when a
    /// field line has no label.
    pub fn template(&self) -> Result<Option<MessageTemplate>, String> {
        let fields = parse_fields(&self.fields.get_untracked())?;
        let t = MessageTemplate {
            title: self.title.get_untracked(),
            text: self.text.get_untracked(),
            fields,
            link: self.link.get_untracked(),
        };
        let empty =
            t.title.trim().is_empty() && t.text.trim().is_empty() && t.link.trim().is_empty() && t.fields.is_empty();
        Ok((!empty).then_some(t))
    }

    /// What the preview renders (tracked): lines without a label are left out.
    fn current(&self) -> MessageTemplate {
        let fields = self
            .fields
            .get()
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| !n.trim().is_empty())
            .map(|(n, v)| MessageField { name: n.trim().to_string(), value: v.trim().to_string() })
            .collect();
        MessageTemplate { title: self.title.get(), text: self.text.get(), fields, link: self.link.get() }
    }
}

/// Whether a default part reads well as a placeholder (no statements, short).
fn simple(template: &str) -> bool {
    !template.contains("{%") && template.lines().all(|l| l.chars().count() <= 120)
}

/// The message section of a chat or email destination: title (the subject), text, link and fields templates,
/// and the live preview. `recipients` and the email's sender show in the email preview.
#[component]
pub fn MessageEditor(
    #[prop(into)] kind: Signal<DestinationKind>,
    draft: MessageDraft,
    #[prop(into)] events: Signal<Vec<String>>,
    catalog: Catalog,
    #[prop(into)] recipients: Signal<Vec<String>>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    // The preview's event type: the reader's choice while it is one of the choices, else the first.
    let chosen = RwSignal::new(String::new());
    let choices = Memo::new(move |_| {
        let all: Vec<EventType> =
            catalog.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().filter(|t| !t.archived).collect();
        let patterns = events.get();
        let mine: Vec<String> = all.iter().filter(|t| subscribed(&patterns, &t.name)).map(|t| t.name.clone()).collect();
        if mine.is_empty() {
            all.into_iter().map(|t| t.name).collect()
        } else {
            mine
        }
    });
    let sample = Memo::new(move |_| {
        let c = chosen.get();
        let list = choices.get();
        if list.contains(&c) {
            c
        } else {
            list.first().cloned().unwrap_or_default()
        }
    });

    // The category default (placeholders) and who email comes from, per sample type.
    let defaults = RwSignal::new(None::<(MessageTemplate, Option<String>)>);
    Effect::new(move |_| {
        let t = sample.get();
        if t.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(d) = message_defaults(t).await {
                defaults.try_set(Some(d));
            }
        });
    });
    // A default part shows as typed when it reads simply; otherwise the placeholder points at the preview.
    let placeholder = move |part: fn(&MessageTemplate) -> String| {
        move || {
            let p = defaults.get().map(|(d, _)| part(&d)).unwrap_or_default();
            if simple(&p) {
                p
            } else {
                let category = sample.get().split('.').next().unwrap_or_default().to_string();
                format!("The default for {category} events (as in the preview)")
            }
        }
    };

    // The preview: asked for again 300 ms after the last change; only the newest answer shows.
    let preview = RwSignal::new(None::<Result<DestinationPreview, AppError>>);
    let loading = RwSignal::new(false);
    let asked = StoredValue::new(0u64);
    let request = Memo::new(move |_| (kind.get(), draft.current(), sample.get()));
    Effect::new(move |first: Option<()>| {
        let (k, message, event_type) = request.get();
        if event_type.is_empty() || !k.is_message() {
            return;
        }
        let n = asked.get_value() + 1;
        asked.set_value(n);
        let delay = if first.is_none() { 0 } else { PREVIEW_DEBOUNCE_MS };
        set_timeout(
            move || {
                if asked.try_get_value() != Some(n) {
                    return;
                }
                loading.try_set(true);
                leptos::task::spawn_local(async move {
                    let r = preview_destination(k, Some(message), event_type).await;
                    if asked.try_get_value() == Some(n) {
                        preview.try_set(Some(r));
                        loading.try_set(false);
                    }
                });
            },
            std::time::Duration::from_millis(delay),
        );
    });

    let server = move |f: &'static str| move || error.get().and_then(|e| e.field_message(f).map(str::to_string));
    let fields_errors = move || {
        let mut out: Vec<String> = Vec::new();
        if draft.checked.get() {
            if let Err(e) = parse_fields(&draft.fields.get()) {
                out.push(e);
            }
        }
        if let Some(e) = error.get() {
            let names: Vec<String> =
                parse_fields(&draft.fields.get_untracked()).unwrap_or_default().into_iter().map(|f| f.name).collect();
            for fe in e.fields.iter().filter(|f| f.field.starts_with("message.fields")) {
                let which = fe.field.split('.').nth(2).and_then(|i| i.parse::<usize>().ok());
                out.push(match which {
                    Some(i) => {
                        format!("{} (field {}): {}", names.get(i).cloned().unwrap_or_default(), i + 1, fe.message)
                    }
                    None => fe.message.clone(),
                });
            }
        }
        (!out.is_empty()).then(|| out.join("\n"))
    };
    let is_email = move || kind.get() == DestinationKind::Email;
    let input = move |s: RwSignal<String>| move |ev: leptos::ev::Event| s.set(event_target_value(&ev));

    view! {
        <p class="text-xs text-slate-600 dark:text-slate-400">
            "Templates use Jinja syntax against the event: its " <code>"data"</code> " fields at the top level ("
            <code>"{{ ticket.subject }}"</code> "), plus " <code>"type"</code> ", " <code>"event_id"</code> " and "
            <code>"timestamp"</code> ". Leave a part empty to use the default message for the event's category (shown greyed out)."
        </p>
        <div class="grid gap-4 sm:grid-cols-2">
            <div class="sm:col-span-2">
                <label for="msg-title" class=LABEL>{move || if is_email() { "Subject" } else { "Title" }}</label>
                <input id="msg-title" class=format!("{INPUT_CLASS} font-mono") spellcheck="false" aria-describedby="msg-title-error"
                    aria-invalid=move || server("message.title")().is_some().to_string()
                    placeholder=placeholder(|d| d.title.clone()) prop:value=move || draft.title.get() on:input=input(draft.title)/>
                <p id="msg-title-error" class=FIELD_ERROR>{server("message.title")}</p>
            </div>
            <div class="sm:col-span-2">
                <label for="msg-text" class=LABEL>"Text"</label>
                <textarea id="msg-text" rows="3" class=format!("{INPUT_CLASS} font-mono text-xs") spellcheck="false" aria-describedby="msg-text-error"
                    aria-invalid=move || server("message.text")().is_some().to_string()
                    placeholder=placeholder(|d| d.text.clone()) prop:value=move || draft.text.get() on:input=input(draft.text)></textarea>
                <p id="msg-text-error" class=FIELD_ERROR>{server("message.text")}</p>
            </div>
            <div class="sm:col-span-2">
                <label for="msg-fields" class=LABEL>"Fields " <span class="font-normal text-slate-600 dark:text-slate-400">"(one per line: " <code>"Label: {{ template }}"</code> ")"</span></label>
                <textarea id="msg-fields" rows="4" class=format!("{INPUT_CLASS} font-mono text-xs") spellcheck="false" aria-describedby="msg-fields-error"
                    aria-invalid=move || fields_errors().is_some().to_string()
                    placeholder=placeholder(|d| fields_text(&d.fields))
                    prop:value=move || draft.fields.get() on:input=input(draft.fields) on:blur=move |_| draft.checked.set(true)></textarea>
                <p id="msg-fields-error" class=FIELD_ERROR>{fields_errors}</p>
            </div>
            <div class="sm:col-span-2">
                <label for="msg-link" class=LABEL>"Link " <span class="font-normal text-slate-600 dark:text-slate-400">"(the “Open” button; http or https)"</span></label>
                <input id="msg-link" class=format!("{INPUT_CLASS} font-mono") spellcheck="false" aria-describedby="msg-link-error"
                    aria-invalid=move || server("message.link")().is_some().to_string()
                    placeholder=placeholder(|d| d.link.clone()) prop:value=move || draft.link.get() on:input=input(draft.link)/>
                <p id="msg-link-error" class=FIELD_ERROR>{server("message.link")}</p>
            </div>
            <p class=format!("{FIELD_ERROR} sm:col-span-2")>{server("message")}</p>
        </div>

        <section aria-labelledby="msg-preview-title" data-testid="message-preview"
            class="mt-2 rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200 dark:bg-slate-950/40 dark:ring-slate-700">
            <div class="flex flex-wrap items-end justify-between gap-2">
                <h3 id="msg-preview-title" class="text-sm font-semibold">{move || format!("Preview in {}", kind.get().label())}</h3>
                <div class="flex items-center gap-2">
                    <span class="text-xs text-slate-600 dark:text-slate-400" data-testid="preview-loading">{move || loading.get().then_some("Updating…")}</span>
                    <label for="msg-preview-type" class="whitespace-nowrap text-xs font-medium text-slate-700 dark:text-slate-300">"Example event"</label>
                    <select id="msg-preview-type" class=format!("{INPUT_CLASS} w-auto py-1 text-xs") prop:value=move || sample.get()
                        on:change=move |ev| chosen.set(event_target_value(&ev))>
                        {move || {
                            let current = sample.get_untracked();
                            choices.get().into_iter().map(|t| view! { <option value=t.clone() selected=t == current>{t.clone()}</option> }).collect_view()
                        }}
                    </select>
                </div>
            </div>
            <div class="mt-3">
                {move || match preview.get() {
                    None => view! { <p class="text-sm text-slate-600 dark:text-slate-400">{move || if choices.get().is_empty() { "Loading event types…" } else { "Rendering the preview…" }}</p> }.into_any(),
                    Some(Err(e)) => view! {
                        <p role="status" data-testid="preview-error" class="text-sm text-rose-700 dark:text-rose-400">
                            {format!("The preview is not available: {}", e.fields.first().map(|f| f.message.clone()).unwrap_or(e.message))}
                        </p>
                    }.into_any(),
                    Some(Ok(p)) => {
                        let from = defaults.get().and_then(|(_, from)| from);
                        view! { <PreviewPane p=p from=from to=recipients.get()/> }.into_any()
                    }
                }}
            </div>
        </section>
    }
}

/// One preview: the platform's look, or why the message does not render; then the exact payload.
#[component]
fn PreviewPane(p: DestinationPreview, from: Option<String>, to: Vec<String>) -> impl IntoView {
    let body = match &p.error {
        Some(e) => view! {
            <div role="status" data-testid="preview-error" class="rounded-md bg-rose-50 p-3 text-sm text-rose-800 ring-1 ring-rose-200 dark:bg-rose-500/10 dark:text-rose-300 dark:ring-rose-500/30">
                <p class="font-semibold">"This message does not render, so a delivery would fail:"</p>
                <p class="mt-1 whitespace-pre-line font-mono text-xs">{e.clone()}</p>
            </div>
        }
        .into_any(),
        None => match p.kind {
            DestinationKind::Slack => view! { <SlackPreview p=p.clone()/> }.into_any(),
            DestinationKind::Discord => view! { <DiscordPreview p=p.clone()/> }.into_any(),
            DestinationKind::Teams => view! { <TeamsPreview p=p.clone()/> }.into_any(),
            DestinationKind::Email => view! { <EmailPreview p=p.clone() from=from to=to/> }.into_any(),
            DestinationKind::Webhook | DestinationKind::App => ().into_any(),
        },
    };
    let what = if p.kind == DestinationKind::Email { "Show payload (the email's text part)" } else { "Show payload" };
    view! {
        {body}
        {(p.error.is_none()).then(|| view! {
            <details class="mt-3">
                <summary class="cursor-pointer text-sm font-medium text-indigo-700 dark:text-indigo-300">{what}</summary>
                <div class="mt-2" data-testid="preview-payload">
                    <Body text=p.payload.clone() label=format!("{} payload", p.kind.label())/>
                </div>
            </details>
        })}
    }
}

/// `09:12` from an RFC 3339 timestamp (UTC as the event carries it); empty when it is not one.
fn clock(ts: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(ts).map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
}

/// A link the preview may open (the renderer only keeps http(s) links).
fn open_link(link: Option<String>, class: &'static str, testid: &'static str) -> impl IntoView {
    link.map(|href| {
        view! { <a href=href target="_blank" rel="noopener noreferrer" class=class data-testid=testid>"Open"</a> }
    })
}

/// The sender's name and avatar, as the chat platforms show an app's message.
fn sender_line(name_class: &'static str, badge_class: &'static str, time: String) -> impl IntoView {
    view! {
        <div class="flex items-baseline gap-1.5">
            <span class=name_class>"Integration Hub"</span>
            <span class=badge_class>"APP"</span>
            <span class="text-xs opacity-80">{time}</span>
        </div>
    }
}

fn avatar(class: &'static str) -> impl IntoView {
    view! { <div aria-hidden="true" class=format!("grid h-9 w-9 shrink-0 place-items-center text-sm font-bold text-white {class}")>"IH"</div> }
}

/// A Slack message of Block Kit blocks: header, section, fields in two columns, the Open button, context.
#[component]
fn SlackPreview(p: DestinationPreview) -> impl IntoView {
    let m = p.message;
    view! {
        <div data-testid="slack-preview" aria-label="Slack message" role="group"
            class="rounded-lg bg-white p-3 text-[15px] leading-snug text-[#1d1c1d] ring-1 ring-slate-200 dark:bg-[#1a1d21] dark:text-[#d1d2d3] dark:ring-[#35373b]">
            <div class="flex gap-2">
                {avatar("rounded-md bg-indigo-700")}
                <div class="min-w-0 flex-1">
                    {sender_line("font-bold", "rounded bg-[#e8e8e8] px-1 text-[10px] font-semibold text-[#454245] dark:bg-[#35373b] dark:text-[#d1d2d3]", clock(&m.timestamp))}
                    <p data-testid="preview-title" class="mt-1 text-lg font-bold">{m.title.clone()}</p>
                    {(!m.text.is_empty()).then(|| view! { <p class="mt-1 whitespace-pre-line break-words">{m.text.clone()}</p> })}
                    {(!m.fields.is_empty()).then(|| view! {
                        <dl class="mt-2 grid grid-cols-2 gap-x-4 gap-y-2">
                            {m.fields.iter().map(|(n, v)| view! {
                                <div class="min-w-0"><dt class="font-bold">{n.clone()}</dt><dd class="break-words">{v.clone()}</dd></div>
                            }).collect_view()}
                        </dl>
                    })}
                    <p class="mt-2 text-xs text-[#616061] dark:text-[#ababad]">{format!("{} · {}", m.footer, m.timestamp)}</p>
                    <div>{open_link(m.link.clone(), "mt-2 inline-block rounded border border-[#bbbabb] px-3 py-1 text-sm font-bold hover:bg-[#f8f8f8] dark:border-[#565856] dark:hover:bg-[#222529]", "preview-open")}</div>
                </div>
            </div>
        </div>
    }
}

fn tone_border(t: Tone) -> &'static str {
    match t {
        Tone::Info => "border-blue-500",
        Tone::Good => "border-green-600",
        Tone::Warning => "border-amber-600",
        Tone::Bad => "border-red-600",
    }
}

fn tone_bar(t: Tone) -> &'static str {
    match t {
        Tone::Info => "bg-blue-500",
        Tone::Good => "bg-green-600",
        Tone::Warning => "bg-amber-600",
        Tone::Bad => "bg-red-600",
    }
}

/// The email's button (the tone, dark enough for white text).
fn tone_button(t: Tone) -> &'static str {
    match t {
        Tone::Info => "bg-blue-600",
        Tone::Good => "bg-green-700",
        Tone::Warning => "bg-amber-700",
        Tone::Bad => "bg-red-700",
    }
}

fn tone_text(t: Tone) -> &'static str {
    match t {
        Tone::Info => "text-blue-700 dark:text-blue-300",
        Tone::Good => "text-green-700 dark:text-green-400",
        Tone::Warning => "text-amber-700 dark:text-amber-400",
        Tone::Bad => "text-red-700 dark:text-red-400",
    }
}

/// A Discord message with one embed: the tone's colour bar, title, description, inline fields, footer · time.
#[component]
fn DiscordPreview(p: DestinationPreview) -> impl IntoView {
    let m = p.message;
    let title_class =
        if m.link.is_some() { "font-semibold text-[#005fcc] dark:text-[#00a8fc]" } else { "font-semibold" };
    view! {
        <div data-testid="discord-preview" aria-label="Discord message" role="group"
            class="rounded-lg bg-white p-3 text-[15px] leading-snug text-[#313338] ring-1 ring-slate-200 dark:bg-[#313338] dark:text-[#dbdee1] dark:ring-[#3f4147]">
            <div class="flex gap-3">
                {avatar("rounded-full bg-[#4752c4]")}
                <div class="min-w-0 flex-1">
                    {sender_line("font-medium", "rounded bg-[#4752c4] px-1 text-[10px] font-semibold text-white", format!("Today at {}", clock(&m.timestamp)))}
                    <div class=format!("mt-1 max-w-lg rounded border-l-4 bg-[#f2f3f5] p-3 dark:bg-[#2b2d31] {}", tone_border(m.tone))>
                        {match m.link.clone() {
                            Some(href) => view! { <a href=href target="_blank" rel="noopener noreferrer" data-testid="preview-title" class=format!("{title_class} hover:underline")>{m.title.clone()}</a> }.into_any(),
                            None => view! { <p data-testid="preview-title" class=title_class>{m.title.clone()}</p> }.into_any(),
                        }}
                        {(!m.text.is_empty()).then(|| view! { <p class="mt-1 whitespace-pre-line break-words text-sm">{m.text.clone()}</p> })}
                        {(!m.fields.is_empty()).then(|| view! {
                            <dl class="mt-2 grid grid-cols-2 gap-2 sm:grid-cols-3">
                                {m.fields.iter().map(|(n, v)| view! {
                                    <div class="min-w-0"><dt class="text-xs font-semibold">{n.clone()}</dt><dd class="break-words text-sm">{v.clone()}</dd></div>
                                }).collect_view()}
                            </dl>
                        })}
                        <p class="mt-2 text-xs text-[#4e5058] dark:text-[#b5bac1]">{format!("{} • {}", m.footer, m.timestamp)}</p>
                    </div>
                </div>
            </div>
        </div>
    }
}

/// A Teams Adaptive Card: the title in the tone's colour, text, a fact set, the Open action.
#[component]
fn TeamsPreview(p: DestinationPreview) -> impl IntoView {
    let m = p.message;
    view! {
        <div data-testid="teams-preview" aria-label="Microsoft Teams message" role="group"
            class="rounded-lg bg-[#f5f5f5] p-3 text-sm text-[#242424] ring-1 ring-slate-200 dark:bg-[#1f1f1f] dark:text-white dark:ring-[#3d3d3d]">
            <div class="flex gap-2">
                {avatar("rounded-full bg-[#4b53bc]")}
                <div class="min-w-0 flex-1">
                    <div class="flex items-baseline gap-1.5 text-xs">
                        <span class="font-semibold">"Integration Hub"</span>
                        <span class="text-[#616161] dark:text-[#adadad]">{format!("via Workflows · {}", clock(&m.timestamp))}</span>
                    </div>
                    <div class="mt-1 max-w-lg rounded-md bg-white p-4 shadow-sm ring-1 ring-[#e0e0e0] dark:bg-[#292929] dark:ring-[#3d3d3d]">
                        <p data-testid="preview-title" class=format!("text-base font-semibold {}", tone_text(m.tone))>{m.title.clone()}</p>
                        {(!m.text.is_empty()).then(|| view! { <p class="mt-2 whitespace-pre-line break-words">{m.text.clone()}</p> })}
                        {(!m.fields.is_empty()).then(|| view! {
                            <table class="mt-3 text-sm">
                                <tbody>
                                    {m.fields.iter().map(|(n, v)| view! {
                                        <tr><th scope="row" class="whitespace-nowrap py-0.5 pr-4 text-left align-top font-semibold">{n.clone()}</th><td class="break-words py-0.5">{v.clone()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                        <p class="mt-3 text-xs text-[#616161] dark:text-[#adadad]">{m.footer.clone()}</p>
                        {open_link(m.link.clone(), "mt-3 block rounded border border-[#d1d1d1] px-3 py-1.5 text-center font-semibold hover:bg-[#f5f5f5] dark:border-[#666666] dark:hover:bg-[#3d3d3d]", "preview-open")}
                    </div>
                </div>
            </div>
        </div>
    }
}

/// An email as a mail client shows it: From, To and Subject, then the HTML part (drawn here from the rendered
/// message, not from the HTML string) with its unsubscribe footer.
#[component]
fn EmailPreview(p: DestinationPreview, from: Option<String>, to: Vec<String>) -> impl IntoView {
    let m = p.message;
    let to = match to.len() {
        0 => "(no recipients yet)".to_string(),
        1 => to[0].clone(),
        n => format!("{} (each of the {n} recipients gets their own message)", to.join(", ")),
    };
    let row = |label: &'static str, value: String, testid: &'static str| {
        view! {
            <dt class="font-medium text-slate-600 dark:text-slate-400">{label}</dt>
            <dd class="min-w-0 break-words" data-testid=testid>{value}</dd>
        }
    };
    view! {
        <div data-testid="email-preview" aria-label="Email message" role="group"
            class="overflow-hidden rounded-lg bg-white text-sm text-slate-900 ring-1 ring-slate-200 dark:bg-slate-900 dark:text-slate-100 dark:ring-slate-700">
            <dl class="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 border-b border-slate-200 bg-slate-50 px-4 py-3 dark:border-slate-700 dark:bg-slate-800">
                {row("From", from.unwrap_or_else(|| "(this hub has no SMTP server set up)".into()), "email-from")}
                {row("To", to, "email-to")}
                {row("Subject", m.title.clone(), "preview-title")}
            </dl>
            <div class="p-4">
                <div class=format!("h-1 rounded {}", tone_bar(m.tone))></div>
                <p class="mt-3 text-xl font-semibold">{m.title.clone()}</p>
                {(!m.text.is_empty()).then(|| view! { <p class="mt-2 whitespace-pre-line break-words">{m.text.clone()}</p> })}
                {(!m.fields.is_empty()).then(|| view! {
                    <table class="mt-3 w-full text-sm">
                        <tbody class="divide-y divide-slate-200 dark:divide-slate-700">
                            {m.fields.iter().map(|(n, v)| view! {
                                <tr><th scope="row" class="w-1/3 py-1 pr-4 text-left align-top font-medium text-slate-600 dark:text-slate-400">{n.clone()}</th><td class="break-words py-1">{v.clone()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
                {m.link.clone().map(|href| view! {
                    <a href=href target="_blank" rel="noopener noreferrer" data-testid="preview-open"
                        class=format!("mt-4 inline-block rounded-md px-4 py-2 font-semibold text-white hover:opacity-90 {}", tone_button(m.tone))>"View details"</a>
                })}
                <div class="mt-5 border-t border-slate-200 pt-3 text-xs text-slate-600 dark:border-slate-700 dark:text-slate-400">
                    <p>{m.footer.clone()}</p>
                    <p class="mt-1">"You receive this as a recipient of these notifications. "
                        <span class="underline" title="Each recipient's own link">"Unsubscribe"</span>
                    </p>
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_split_on_lines_commas_and_semicolons() {
        assert_eq!(parse_recipients(" a@x.io,b@y.io\n\n c@z.io ; "), vec!["a@x.io", "b@y.io", "c@z.io"]);
        assert_eq!(recipients_problem(&parse_recipients("a@x.io")), None);
        assert_eq!(recipients_problem(&[]).as_deref(), Some("add at least one recipient"));
        assert_eq!(
            recipients_problem(&parse_recipients("a@x.io, nope")).as_deref(),
            Some("\"nope\" is not an email address")
        );
    }

    #[test]
    fn fields_are_label_colon_template_lines() {
        let f = parse_fields("Priority: {{ ticket.priority }}\n\nDue: {{ due }} at 10:00").unwrap();
        assert_eq!(f[0], MessageField { name: "Priority".into(), value: "{{ ticket.priority }}".into() });
        assert_eq!(f[1].value, "{{ due }} at 10:00");
        assert_eq!(parse_fields(&fields_text(&f)).unwrap(), f);
        assert_eq!(parse_fields("ok: 1\n{{ x }}").unwrap_err(), "Line 2: write it as Label: {{ template }}");
    }
}
