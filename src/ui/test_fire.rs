//! Test-fire: send one event (the type's example, editable) to one endpoint now and show what it answered.

use super::event_types::Catalog;
use super::json::{parse_json, Body};
use super::layout::use_tenant_id;
use super::modal::{DialogActions, Modal};
use super::style::*;
use super::toast::{on_success, use_toasts};
use crate::model::filter::subscribed;
use crate::model::{EventType, TestFire, TestFireResult, Webhook};
use crate::server_fns::deliveries::send_test_event;
use leptos::prelude::*;

/// An event to send: a type from the catalog and the payload typed for it, which picking a type fills with the
/// type's example.
#[derive(Clone, Copy)]
pub struct EventDraft {
    pub event_type: RwSignal<String>,
    pub payload: RwSignal<String>,
    /// Why the payload is not JSON (None while it is).
    pub json_error: Memo<Option<String>>,
    types: Catalog,
}

impl EventDraft {
    pub fn new(types: Catalog) -> EventDraft {
        let payload = RwSignal::new(String::new());
        let json_error = Memo::new(move |_| parse_json(&payload.get()).err());
        EventDraft { event_type: RwSignal::new(String::new()), payload, json_error, types }
    }

    /// Picks the type `name` and puts its example in the payload (`{}` for a type not in the catalog).
    pub fn pick(&self, name: String) {
        let example = self
            .types
            .get_untracked()
            .and_then(|r| r.ok())
            .and_then(|l| l.into_iter().find(|t| t.name == name))
            .map(|t| serde_json::to_string_pretty(&t.example).unwrap_or_default())
            .unwrap_or_else(|| "{}".into());
        self.event_type.set(name);
        self.payload.set(example);
    }
}

/// The type and payload fields of an [`EventDraft`], offering `choices`; their ids start with `id`.
#[component]
pub fn EventDraftFields(
    draft: EventDraft,
    id: &'static str,
    #[prop(into)] choices: Signal<Vec<EventType>>,
) -> impl IntoView {
    let error_id = format!("{id}-payload-error");
    view! {
        <div>
            <label for=format!("{id}-type") class=LABEL>"Event type"</label>
            <select id=format!("{id}-type") class=INPUT_CLASS prop:value=move || draft.event_type.get()
                on:change=move |ev| draft.pick(event_target_value(&ev))>
                <Transition>
                    {move || choices.get().into_iter().map(|t| view! { <option value=t.name.clone()>{t.name.clone()}</option> }).collect_view()}
                </Transition>
            </select>
        </div>
        <div>
            <label for=format!("{id}-payload") class=LABEL>"Payload (" <code>"data"</code> ")"</label>
            <textarea id=format!("{id}-payload") rows="10" spellcheck="false" class=format!("{INPUT_CLASS} font-mono text-xs")
                aria-invalid=move || draft.json_error.get().is_some().to_string() aria-describedby=error_id.clone()
                prop:value=move || draft.payload.get() on:input=move |ev| draft.payload.set(event_target_value(&ev))></textarea>
            <p id=error_id class=FIELD_ERROR>{move || draft.json_error.get()}</p>
        </div>
    }
}

#[component]
pub fn TestFireDialog(open: RwSignal<bool>, webhook: RwSignal<Option<Webhook>>, types: Catalog) -> impl IntoView {
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let draft = EventDraft::new(types);
    let send = Action::new(move |(id, input): &(String, TestFire)| {
        send_test_event(tenant.get_value(), id.clone(), input.clone())
    });
    on_success(send, move |r| {
        if r.success {
            toasts.success("Test event delivered")
        } else {
            toasts.error("The endpoint did not accept the test event")
        }
    });
    // Choices: the catalog types this endpoint is subscribed to.
    let choices = move || -> Vec<EventType> {
        let patterns = webhook.get().map(|w| w.events).unwrap_or_default();
        let all = types.get().and_then(|r| r.ok()).unwrap_or_default();
        all.into_iter().filter(|t| !t.archived && subscribed(&patterns, &t.name)).collect()
    };
    // Each time the dialog opens: the first subscribed type, its example, no old result.
    Effect::new(move |_| {
        if open.get() {
            send.value().set(None);
            if let Some(t) = choices().first() {
                draft.pick(t.name.clone());
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(w), Ok(data)) = (webhook.get_untracked(), parse_json(&draft.payload.get_untracked())) else { return };
        let t = draft.event_type.get_untracked();
        send.dispatch((w.id, TestFire { event_type: (!t.is_empty()).then_some(t), data: Some(data) }));
    };
    view! {
        <Modal open=open id="test-fire" wide=true title=Signal::derive(move || format!("Test “{}”", webhook.get().map(|w| w.name).unwrap_or_default()))>
            <form class="space-y-4" on:submit=submit>
                <EventDraftFields draft=draft id="test" choices=Signal::derive(choices)/>
                <DialogActions dismiss="Close" on_dismiss=move |_| open.set(false) label="Send test event" pending_label="Sending…"
                    spinner=true pending=send.pending() blocked=Signal::derive(move || draft.json_error.get().is_some())/>
            </form>
            {move || send.value().get().and_then(|r| r.ok()).map(|r| view! { <TestResult r=r/> })}
        </Modal>
    }
}

#[component]
fn TestResult(r: TestFireResult) -> impl IntoView {
    let a = r.attempt;
    let status = match (a.response_status, a.error_kind) {
        (Some(c), _) => format!("HTTP {c}"),
        (None, Some(k)) => k.as_str().replace('_', " "),
        (None, None) => "no answer".into(),
    };
    view! {
        <section aria-label="Test result" data-testid="test-result" class="mt-6 space-y-3 border-t border-slate-200 pt-4 dark:border-slate-800">
            <div class="flex flex-wrap items-center gap-3 text-sm">
                <span class=badge(if r.success { "green" } else { "red" }) data-testid="test-status">{status}</span>
                <span>{format!("{} ms", a.duration_ms)}</span>
                <span class="font-mono text-xs text-slate-600 dark:text-slate-400">{r.event_type}</span>
            </div>
            {a.error.map(|e| view! { <p class="text-sm text-rose-700 dark:text-rose-400">{e}</p> })}
            <details>
                <summary class="cursor-pointer text-sm font-medium">{format!("Response headers ({})", a.response_headers.len())}</summary>
                <table class="mt-2 w-full text-xs">
                    <tbody>
                        {a.response_headers.into_iter().map(|(k, v)| view! {
                            <tr><th scope="row" class="whitespace-nowrap pr-3 text-left font-mono font-medium">{k}</th><td class="break-all font-mono">{v}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
            <h3 class="text-sm font-medium">"Response body"</h3>
            <Body text=a.response_body.unwrap_or_default() truncated=a.response_truncated/>
        </section>
    }
}
