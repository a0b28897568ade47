//! Developer tools: the routing preview (which of this tenant's endpoints would receive an event, and which
//! filter rejected the others) and the signature playground (does a received request verify, and why not).

use super::json::parse_json;
use super::layout::use_tenant_id;
use super::style::*;
use super::test_fire::{EventDraft, EventDraftFields};
use crate::model::{EventType, RouteOutcome, RoutingPreviewInput, SignatureCheck};
use crate::server_fns::tools::check_signature;
use crate::server_fns::webhooks::{list_event_types, preview_routing};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ToolsPage() -> impl IntoView {
    view! {
        <Title text="Developer tools"/>
        <div class="mx-auto max-w-6xl space-y-10">
            <div>
                <h1 class="text-2xl font-semibold">"Developer tools"</h1>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Try routing and signatures without publishing anything."</p>
            </div>
            <RoutingPreview/>
            <SignaturePlayground/>
        </div>
    }
}

fn outcome_label(o: RouteOutcome) -> (&'static str, &'static str) {
    match o {
        RouteOutcome::Delivered => ("Would receive it", badge("green")),
        RouteOutcome::NotSubscribed => ("Not subscribed", badge("gray")),
        RouteOutcome::Filtered => ("Filtered out", badge("amber")),
        RouteOutcome::Disabled => ("Disabled", badge("red")),
    }
}

/// A tool's card: its heading (`{id}-title`, which names the section), what it does, then the tool.
#[component]
fn ToolCard(id: &'static str, title: &'static str, intro: &'static str, children: Children) -> impl IntoView {
    view! {
        <section aria-labelledby=format!("{id}-title") class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <h2 id=format!("{id}-title") class="text-lg font-semibold">{title}</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{intro}</p>
            {children()}
        </section>
    }
}

#[component]
pub fn RoutingPreview() -> impl IntoView {
    let tenant = use_tenant_id();
    let types = Resource::new(|| (), |_| list_event_types());
    let draft = EventDraft::new(types);
    let run = Action::new(move |input: &RoutingPreviewInput| preview_routing(tenant.get_value(), input.clone()));
    Effect::new(move |_| {
        if let Some(Ok(list)) = types.get() {
            if draft.event_type.get_untracked().is_empty() {
                if let Some(t) = list.first() {
                    draft.pick(t.name.clone());
                }
            }
        }
    });
    let choices = move || -> Vec<EventType> {
        types.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().filter(|t| !t.archived).collect()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Ok(data) = parse_json(&draft.payload.get_untracked()) {
            run.dispatch(RoutingPreviewInput { event_type: draft.event_type.get_untracked(), data });
        }
    };
    view! {
        <ToolCard id="routing" title="Routing preview" intro="Pick an event type, edit its example payload, and see which endpoints would receive it.">
            <form class="mt-4 grid gap-4 lg:grid-cols-2" on:submit=submit>
                <div class="space-y-3">
                    <EventDraftFields draft=draft id="route" choices=Signal::derive(choices)/>
                    <button type="submit" class=PRIMARY_BUTTON disabled=move || run.pending().get() || draft.json_error.get().is_some()>
                        {move || if run.pending().get() { "Checking…" } else { "Preview routing" }}
                    </button>
                </div>
                <div aria-live="polite">
                    {move || run.value().get().map(|r| match r {
                        Err(e) => view! {
                            <div role="alert" class="text-sm text-rose-700 dark:text-rose-400">
                                <p>{e.message.clone()}</p>
                                {e.fields.into_iter().map(|f| view! { <p>{format!("{}: {}", f.field, f.message)}</p> }).collect_view()}
                            </div>
                        }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="text-sm">"This tenant has no endpoints yet."</p> }.into_any(),
                        Ok(list) => {
                            let n = list.iter().filter(|c| c.outcome == RouteOutcome::Delivered).count();
                            view! {
                                <p class="text-sm font-medium" data-testid="route-summary">{format!("{n} of {} endpoints would receive it", list.len())}</p>
                                <ul class="mt-2 space-y-2" aria-label="Routing verdicts">
                                    {list.into_iter().map(|c| {
                                        let (label, class) = outcome_label(c.outcome);
                                        view! {
                                            <li data-testid="route-verdict" class="rounded-lg p-3 ring-1 ring-slate-200 dark:ring-slate-700">
                                                <div class="flex items-center justify-between gap-2">
                                                    <span class="truncate font-medium">{c.name}</span>
                                                    <span class=class data-testid="route-outcome">{label}</span>
                                                </div>
                                                <p class="truncate font-mono text-xs text-slate-600 dark:text-slate-400">{c.url}</p>
                                                {c.reason.map(|r| view! { <p class="mt-1 text-sm text-amber-900 dark:text-amber-300">{r}</p> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    })}
                </div>
            </form>
        </ToolCard>
    }
}

#[component]
pub fn SignaturePlayground() -> impl IntoView {
    let secret = RwSignal::new(String::new());
    let headers = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let tolerance = RwSignal::new("300".to_string());
    let check = Action::new(move |c: &SignatureCheck| check_signature(c.clone()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        check.dispatch(SignatureCheck {
            secret: secret.get_untracked(),
            headers: headers.get_untracked(),
            body: body.get_untracked(),
            tolerance_seconds: tolerance.get_untracked().trim().parse().ok(),
        });
    };
    view! {
        <ToolCard id="playground" title="Signature playground"
            intro="Paste what your receiver got: the endpoint's secret, the request headers and the raw body. Nothing is stored.">
            <form class="mt-4 grid gap-4 lg:grid-cols-2" on:submit=submit>
                <div class="space-y-3">
                    <div>
                        <label for="sig-secret" class=LABEL>"Signing secret"</label>
                        <input id="sig-secret" class=format!("{INPUT_CLASS} font-mono") placeholder="whsec_…" autocomplete="off"
                            prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev))/>
                    </div>
                    <div>
                        <label for="sig-headers" class=LABEL>"Headers " <span class="font-normal text-slate-500 dark:text-slate-400">"(one " <code>"Name: value"</code> " per line)"</span></label>
                        <textarea id="sig-headers" rows="4" spellcheck="false" class=format!("{INPUT_CLASS} font-mono text-xs")
                            placeholder="webhook-id: evt_…\nwebhook-timestamp: 1700000000\nwebhook-signature: v1,…"
                            prop:value=move || headers.get() on:input=move |ev| headers.set(event_target_value(&ev))></textarea>
                    </div>
                    <div>
                        <label for="sig-body" class=LABEL>"Raw body"</label>
                        <textarea id="sig-body" rows="6" spellcheck="false" class=format!("{INPUT_CLASS} font-mono text-xs")
                            prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    </div>
                    <div class="flex items-end gap-3">
                        <div>
                            <label for="sig-tolerance" class=LABEL>"Tolerance (s)"</label>
                            <input id="sig-tolerance" inputmode="numeric" class=INPUT_CLASS prop:value=move || tolerance.get() on:input=move |ev| tolerance.set(event_target_value(&ev))/>
                        </div>
                        <button type="submit" class=PRIMARY_BUTTON disabled=move || check.pending().get()>"Verify"</button>
                    </div>
                </div>
                <div aria-live="polite">
                    {move || check.value().get().map(|r| match r {
                        Err(e) => view! { <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                        Ok(v) => view! {
                            <div data-testid="signature-verdict" class=if v.valid { "rounded-lg bg-emerald-50 p-4 ring-1 ring-emerald-200 dark:bg-emerald-500/10 dark:ring-emerald-500/30" } else { "rounded-lg bg-rose-50 p-4 ring-1 ring-rose-200 dark:bg-rose-500/10 dark:ring-rose-500/30" }>
                                <p class="font-semibold" data-testid="signature-result">{if v.valid { "Valid signature" } else { "Invalid signature" }}</p>
                                {v.reason.map(|r| view! { <p class="mt-1 text-sm" data-testid="signature-reason">{r}</p> })}
                                <ul class="mt-2 list-disc pl-5 text-sm">{v.hints.into_iter().map(|h| view! { <li>{h}</li> }).collect_view()}</ul>
                                {v.expected_signature.map(|s| view! {
                                    <p class="mt-3 text-xs">"Expected with this secret: " <code class="break-all font-mono">{s}</code></p>
                                })}
                            </div>
                        }.into_any(),
                    })}
                </div>
            </form>
        </ToolCard>
    }
}
