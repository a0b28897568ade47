//! The Events tab: the tenant's events by type, time, id, idempotency key or a payload field, a detail drawer
//! (the payload highlighted, its deliveries per endpoint with links to the Deliveries tab) and resending: to every
//! endpoint subscribed now, or to one chosen endpoint. `?event=<id>` opens an event (the Deliveries drawer links
//! here).

use super::deliveries::status_label;
use super::json::Body;
use super::layout::use_tenant_id;
use super::modal::Modal;
use super::style::*;
use super::time::{end_of_day_ms, At};
use super::toast::{on_success, use_toasts};
use super::widgets::{CardTable, Column, EmptyState, FilterField, LoadMore};
use crate::model::{Event, EventSearchQuery, EventWithDeliveries, Search, Webhook};
use crate::server_fns::events::{event_detail, resend_event, search_events};
use crate::server_fns::webhooks::list_webhooks;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use std::collections::HashMap;

const PAGE: u32 = 50;

/// What the filter form holds (applied on submit, so a half-typed search is not sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filters {
    event_type: String,
    from: String,
    to: String,
    search: String,
}

impl Filters {
    fn query(&self, cursor: Option<String>) -> EventSearchQuery {
        let some = |s: &String| (!s.trim().is_empty()).then(|| s.trim().to_string());
        EventSearchQuery {
            event_type: some(&self.event_type),
            // A day's first millisecond: its last, less a day.
            since: end_of_day_ms(&self.from).map(|ms| ms - 86_399_999),
            until: end_of_day_ms(&self.to),
            search: some(&self.search),
            cursor,
            limit: Some(PAGE),
            tenant_id: None,
        }
    }
}

#[component]
pub fn EventsPanel() -> impl IntoView {
    let tenant = use_tenant_id();
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    let draft = RwSignal::new(Filters::default());
    let applied = RwSignal::new(Filters::default());
    // Checked in the browser as the server will (same rules): the message shows before a round trip.
    let search_error = Memo::new(move |_| Search::parse(&draft.with(|d| d.search.clone())).err());
    let tick = RwSignal::new(0u32);
    let extra = RwSignal::new(Vec::<Event>::new());
    let more = RwSignal::new(false);
    let first = Resource::new(
        move || (tenant.get_value(), applied.get(), tick.get()),
        move |(t, f, _)| async move {
            let r = search_events(t, f.query(None)).await;
            if let Ok(rows) = &r {
                more.set(rows.len() as u32 == PAGE);
            }
            r
        },
    );
    let load_more = Action::new(move |cursor: &String| {
        let (t, q) = (tenant.get_value(), applied.get_untracked().query(Some(cursor.clone())));
        async move { search_events(t, q).await }
    });
    on_success(load_more, move |rows| {
        more.set(rows.len() as u32 == PAGE);
        extra.update(|e| e.extend(rows));
    });
    let hooks = Resource::new(move || tenant.get_value(), |t| list_webhooks(t, None, None));

    let selected = Memo::new(move |_| query.read().get("event").filter(|e| !e.is_empty()));
    let drawer = RwSignal::new(false);
    Effect::new(move |_| {
        if selected.get().is_some() {
            drawer.set(true);
        }
    });
    // Closing the drawer takes `event` out of the address, so reopening the same link works again.
    Effect::new(move |was_open: Option<bool>| {
        let open = drawer.get();
        if was_open == Some(true) && !open {
            navigate(
                &format!("{}?tab=events", location.pathname.get_untracked()),
                NavigateOptions { replace: true, scroll: false, ..Default::default() },
            );
        }
        open
    });

    let field = move |label: &'static str,
                      id: &'static str,
                      kind: &'static str,
                      get: fn(&Filters) -> String,
                      set: fn(&mut Filters, String)| {
        let value = Signal::derive(move || draft.with(get));
        view! { <FilterField label id kind value on_input=Callback::new(move |v| draft.update(|d| set(d, v)))/> }
    };

    view! {
        <form class="grid grid-cols-1 gap-3 md:grid-cols-6 md:items-end" role="search" aria-label="Find events"
            on:submit=move |ev| {
                ev.prevent_default();
                if search_error.get_untracked().is_none() {
                    extra.set(Vec::new());
                    applied.set(draft.get_untracked());
                }
            }>
            <div class="md:col-span-3">
                <label for="evt-search" class=LABEL>"Search"</label>
                <input id="evt-search" type="search" class=INPUT_CLASS autocomplete="off"
                    placeholder="evt_…, an idempotency key, or data.ticket.id = \"T-1\""
                    aria-describedby="evt-search-help" aria-invalid=move || search_error.get().is_some().to_string()
                    prop:value=move || draft.with(|d| d.search.clone())
                    on:input=move |ev| draft.update(|d| d.search = event_target_value(&ev))/>
                <p id="evt-search-help" class="mt-1 text-xs text-slate-600 dark:text-slate-400">
                    "An event id, an idempotency key (kept 24 hours), or a payload field: path = JSON value."
                </p>
                {move || search_error.get().map(|m| view! { <p class=FIELD_ERROR role="alert">{m}</p> })}
            </div>
            {field("Event type", "evt-type", "search", |d| d.event_type.clone(), |d, v| d.event_type = v)}
            {field("From (UTC)", "evt-from", "date", |d| d.from.clone(), |d, v| d.from = v)}
            {field("To (UTC)", "evt-to", "date", |d| d.to.clone(), |d, v| d.to = v)}
            <div class="md:col-span-6">
                <button type="submit" class=PRIMARY_BUTTON>"Find events"</button>
            </div>
        </form>

        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading events…"</p> }>
            {move || first.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(rows) => {
                    let mut all = rows;
                    all.extend(extra.get());
                    if all.is_empty() {
                        return view! {
                            <EmptyState title="No events match">"Published events show up here; test-fires are not events."</EmptyState>
                        }.into_any();
                    }
                    let last = all.last().map(|e| e.id.clone()).unwrap_or_default();
                    view! {
                        <EventTable rows=all path=location.pathname.get_untracked()/>
                        <Show when=move || more.get()>
                            <LoadMore cursor=last.clone() pending=load_more.pending().into()
                                on_load=Callback::new(move |c| { load_more.dispatch(c); })/>
                        </Show>
                    }.into_any()
                }
            })}
        </Transition>

        <Modal open=drawer id="event-drawer" side=true title="Event">
            {move || selected.get().map(|id| view! { <EventDrawer id=id hooks=hooks on_resent=Callback::new(move |_| tick.update(|t| *t += 1))/> })}
        </Modal>
    }
}

#[component]
fn EventTable(rows: Vec<Event>, path: String) -> impl IntoView {
    use Column::*;
    const COLUMNS: &[Column] = &[Left("Time"), Left("Event type"), Left("Event id")];
    view! {
        <CardTable columns=COLUMNS label="Events">
            {rows.into_iter().map(|e| view! {
                <tr data-testid="event-row" data-event-id=e.id.clone()>
                    <td class="whitespace-nowrap px-4 py-2"><At ms=e.created_at/></td>
                    <td class="px-4 py-2 font-mono text-xs">{e.event_type.clone()}</td>
                    <td class="px-4 py-2">
                        <a href=format!("{path}?tab=events&event={}", e.id) class="font-mono text-xs font-medium text-indigo-700 hover:underline dark:text-indigo-300"
                            aria-label=format!("Open event {} ({})", e.id, e.event_type)>
                            {e.id.clone()}
                        </a>
                    </td>
                </tr>
            }).collect_view()}
        </CardTable>
    }
}

type Hooks = Resource<Result<Vec<Webhook>, crate::model::AppError>>;

#[component]
fn EventDrawer(id: String, hooks: Hooks, on_resent: Callback<()>) -> impl IntoView {
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let location = use_location();
    let id = StoredValue::new(id);
    let tick = RwSignal::new(0u32);
    let detail =
        Resource::new(move || (id.get_value(), tick.get()), move |(id, _)| event_detail(tenant.get_value(), id));
    let resend = Action::new(move |endpoint: &Option<String>| {
        resend_event(tenant.get_value(), id.get_value(), endpoint.clone())
    });
    on_success(resend, move |r| {
        toasts.success(match r.deliveries.len() {
            1 => "Queued 1 new delivery".to_string(),
            n => format!("Queued {n} new deliveries"),
        });
        tick.update(|t| *t += 1);
        on_resent.run(());
    });
    let chosen = RwSignal::new(String::new());
    let names = move || -> HashMap<String, String> {
        hooks.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|w| (w.id, w.name)).collect()
    };
    let delivery_href = move |d: &str| format!("{}?tab=deliveries&delivery={d}", location.pathname.get_untracked());
    view! {
        <Transition fallback=|| view! { <p class="text-sm">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(EventWithDeliveries { event, deliveries }) => {
                    let names = names();
                    view! {
                        <div class="space-y-4" data-testid="event-detail">
                            <dl class="grid grid-cols-2 gap-x-4 gap-y-2 text-sm">
                                <dt class="text-slate-600 dark:text-slate-400">"Event type"</dt><dd class="font-mono">{event.event_type.clone()}</dd>
                                <dt class="text-slate-600 dark:text-slate-400">"Event id"</dt><dd class="break-all font-mono text-xs" data-testid="event-id">{event.id.clone()}</dd>
                                <dt class="text-slate-600 dark:text-slate-400">"Created"</dt><dd><At ms=event.created_at/></dd>
                            </dl>
                            <section aria-labelledby="resend-title" class="space-y-2 rounded-lg p-3 ring-1 ring-slate-200 dark:ring-slate-700">
                                <h3 id="resend-title" class="text-sm font-semibold">"Send again"</h3>
                                <button type="button" class=PRIMARY_BUTTON disabled=move || resend.pending().get()
                                    on:click=move |_| { resend.dispatch(None); }>
                                    "Resend to all subscribed endpoints"
                                </button>
                                <div class="flex flex-wrap items-end gap-2">
                                    <div class="min-w-0 flex-1">
                                        <label for="resend-endpoint" class=LABEL>"Or one endpoint (subscribed or not)"</label>
                                        <select id="resend-endpoint" class=INPUT_CLASS on:change=move |ev| chosen.set(event_target_value(&ev))>
                                            <option value="">"Choose…"</option>
                                            {move || hooks.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|w| view! {
                                                <option value=w.id.clone()>{w.name}</option>
                                            }).collect_view())}
                                        </select>
                                    </div>
                                    <button type="button" class=SECONDARY_BUTTON disabled=move || chosen.get().is_empty() || resend.pending().get()
                                        on:click=move |_| { resend.dispatch(Some(chosen.get_untracked())); }>
                                        "Send to this endpoint"
                                    </button>
                                </div>
                            </section>
                            <h3 class="text-sm font-semibold">"Payload"</h3>
                            <Body text=serde_json::to_string(&event.envelope).unwrap_or_default() label="Event payload"/>
                            <h3 class="text-sm font-semibold">{format!("Deliveries ({})", deliveries.len())}</h3>
                            {deliveries.is_empty().then(|| view! { <p class="text-sm text-slate-600 dark:text-slate-400">"No endpoint was subscribed."</p> })}
                            <ul class="divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="event-deliveries">
                                {deliveries.into_iter().map(|d| {
                                    let (label, class) = status_label(d.status);
                                    let endpoint = names.get(&d.webhook_id).cloned().unwrap_or_else(|| d.webhook_id.clone());
                                    view! {
                                        <li class="flex flex-wrap items-center gap-2 py-2" data-testid="event-delivery">
                                            <span class="min-w-0 flex-1 truncate">{endpoint}</span>
                                            <span class=class>{label}</span>
                                            <span class="tabular-nums text-slate-600 dark:text-slate-400">
                                                {format!("{} attempt{}", d.attempts, if d.attempts == 1 { "" } else { "s" })}
                                                {d.last_status_code.map(|c| format!(", HTTP {c}"))}
                                            </span>
                                            <a href=delivery_href(&d.id) class=LINK_BUTTON aria-label=format!("Open delivery {} in the Deliveries tab", d.id)>"Open"</a>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
