//! The Deliveries tab: the tenant's delivery log with filters kept in the URL, keyset "load more", live updates
//! over Server-Sent Events (with pause), a detail drawer (every attempt, replay, copy as cURL), the dead-letter
//! view with bulk recover, and the stats charts.

use super::charts::{LatencyChart, OutcomeChart};
use super::json::Body;
use super::layout::use_tenant_id;
use super::modal::Modal;
use super::style::*;
use super::time::{now_ms, Ago, At};
use super::toast::{on_success, use_toasts};
use super::widgets::{fixed_options, CardTable, Column, EmptyState, LoadMore};
use crate::model::{
    Delivery, DeliveryAttempt, DeliveryDetail, DeliveryListQuery, DeliveryStats, DeliveryStatus, StatsWindow, Webhook,
};
use crate::server_fns::deliveries::{
    get_delivery, list_deliveries, load_delivery_stats, recover_webhook, replay_delivery,
};
use crate::server_fns::webhooks::list_webhooks;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use std::collections::HashMap;

const PAGE: u32 = 50;

pub fn status_label(s: DeliveryStatus) -> (&'static str, &'static str) {
    match s {
        DeliveryStatus::Pending => ("Pending", badge("gray")),
        DeliveryStatus::Retrying => ("Retrying", badge("amber")),
        DeliveryStatus::Success => ("Success", badge("green")),
        DeliveryStatus::Failed => ("Dead letter", badge("red")),
        DeliveryStatus::Cancelled => ("Cancelled", badge("gray")),
        DeliveryStatus::Paused => ("Paused: endpoint disabled", badge("amber")),
    }
}

/// Time ranges of the filter, as (URL value, label, milliseconds back from now).
const RANGES: [(&str, &str, i64); 4] = [
    ("1h", "Last hour", 3_600_000),
    ("24h", "Last 24 hours", 86_400_000),
    ("7d", "Last 7 days", 604_800_000),
    ("30d", "Last 30 days", 2_592_000_000),
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filters {
    status: String,
    webhook: String,
    event_type: String,
    range: String,
}

impl Filters {
    fn query(&self, cursor: Option<String>, limit: u32) -> DeliveryListQuery {
        let some = |s: &String| (!s.is_empty()).then(|| s.clone());
        DeliveryListQuery {
            status: DeliveryStatus::parse(&self.status),
            webhook_id: some(&self.webhook),
            event_type: some(&self.event_type),
            since: RANGES.iter().find(|r| r.0 == self.range).map(|r| now_ms() - r.2),
            cursor,
            limit: Some(limit),
            ..Default::default()
        }
    }
}

impl Filters {
    /// The export of this filtered log (`/api/ui/deliveries/export`, streamed by the server) in `format`.
    fn export_href(&self, tenant: &str, format: &str) -> String {
        let q = self.query(None, 1);
        let mut url = format!("/api/ui/deliveries/export?tenant_id={}&format={format}", enc(tenant));
        let status = q.status.map(|s| s.as_str().to_string());
        let since = q.since.map(|s| s.to_string());
        for (k, v) in [("status", status), ("webhook_id", q.webhook_id), ("event_type", q.event_type), ("since", since)]
        {
            if let Some(v) = v {
                url.push_str(&format!("&{k}={}", enc(&v)));
            }
        }
        url
    }
}

/// Percent-encodes a query value (ids, statuses and event types are plain, but users can type anything).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The request of an attempt as a shell command, to reproduce it from a terminal.
pub fn curl_command(url: &str, headers: &[(String, String)], body: &str) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cmd = format!("curl -X POST {}", q(url));
    for (k, v) in headers {
        cmd.push_str(&format!(" \\\n  -H {}", q(&format!("{k}: {v}"))));
    }
    cmd.push_str(&format!(" \\\n  --data-raw {}", q(body)));
    cmd
}

/// Whether the live stream is connected (only the browser connects).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Live {
    Connecting,
    Open,
    Reconnecting,
}

#[component]
pub fn DeliveriesPanel() -> impl IntoView {
    let tenant = use_tenant_id();
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    let filters = Memo::new(move |_| {
        let q = query.read();
        Filters {
            status: q.get("status").unwrap_or_default(),
            webhook: q.get("webhook").unwrap_or_default(),
            event_type: q.get("type").unwrap_or_default(),
            range: q.get("range").unwrap_or_default(),
        }
    });
    let set_filter = Callback::new(move |(key, value): (&'static str, String)| {
        let mut f = filters.get_untracked();
        match key {
            "status" => f.status = value,
            "webhook" => f.webhook = value,
            "type" => f.event_type = value,
            _ => f.range = value,
        }
        let mut url = format!("{}?tab=deliveries", location.pathname.get_untracked());
        for (k, v) in [("status", &f.status), ("webhook", &f.webhook), ("type", &f.event_type), ("range", &f.range)] {
            if !v.is_empty() {
                url.push_str(&format!("&{k}={}", enc(v)));
            }
        }
        navigate(&url, NavigateOptions { replace: true, scroll: false, ..Default::default() });
    });

    // Bumped by the live stream; everything on the page that shows deliveries refetches.
    let tick = RwSignal::new(0u32);
    let paused = RwSignal::new(false);
    let missed = RwSignal::new(false);
    let live = RwSignal::new(Live::Connecting);
    let refresh = move || {
        if paused.get_untracked() {
            missed.set(true);
        } else {
            tick.update(|t| *t += 1);
        }
    };
    #[cfg(feature = "hydrate")]
    stream::subscribe(tenant.get_value(), live, refresh);
    #[cfg(not(feature = "hydrate"))]
    let _ = refresh;

    let hooks = Resource::new(move || tenant.get_value(), |t| list_webhooks(t, None, None));
    let extra = RwSignal::new(Vec::<Delivery>::new());
    let more = RwSignal::new(false);
    let first = Resource::new(
        move || (tenant.get_value(), filters.get(), tick.get()),
        move |(t, f, _)| {
            // A live refresh keeps as many rows as are shown (up to the page cap) so nothing jumps away.
            let limit = (PAGE + extra.get_untracked().len() as u32).min(500);
            async move {
                let r = list_deliveries(t, f.query(None, limit)).await;
                if let Ok(rows) = &r {
                    more.set(rows.len() as u32 == limit);
                }
                r
            }
        },
    );
    Effect::new(move |prev: Option<Filters>| {
        let f = filters.get();
        if prev.is_some_and(|p| p != f) {
            extra.set(Vec::new());
        }
        f
    });
    let load_more = Action::new(move |cursor: &String| {
        let (t, q) = (tenant.get_value(), filters.get_untracked().query(Some(cursor.clone()), PAGE));
        async move { list_deliveries(t, q).await }
    });
    on_success(load_more, move |rows| {
        more.set(rows.len() as u32 == PAGE);
        extra.update(|e| e.extend(rows));
    });

    let selected = RwSignal::new(None::<String>);
    let drawer = RwSignal::new(false);
    let open = Callback::new(move |id: String| {
        selected.set(Some(id));
        drawer.set(true);
    });
    // `?delivery=<id>` opens that delivery (the Events tab links here).
    Effect::new(move |_| {
        if let Some(id) = query.read().get("delivery").filter(|d| !d.is_empty()) {
            open.run(id);
        }
    });

    let names = move || -> HashMap<String, Webhook> {
        hooks.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|w| (w.id.clone(), w)).collect()
    };

    view! {
        <div class="flex flex-col gap-3 lg:flex-row lg:items-end">
            <div class="grid flex-1 grid-cols-2 gap-3 md:grid-cols-4">
                <FilterSelect id="dlv-status" label="Status" key="status" set=set_filter any="All"
                    value=Signal::derive(move || filters.get().status)>
                    {DeliveryStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=move || filters.get().status == s.as_str()>{status_label(s).0}</option> }).collect_view()}
                </FilterSelect>
                <FilterSelect id="dlv-endpoint" label="Endpoint" key="webhook" set=set_filter any="All endpoints"
                    value=Signal::derive(move || filters.get().webhook)>
                    <Transition>
                        {move || hooks.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|w| view! {
                            <option value=w.id.clone() selected={let id = w.id.clone(); move || filters.get().webhook == id}>{w.name}</option>
                        }).collect_view())}
                    </Transition>
                </FilterSelect>
                <div>
                    <label for="dlv-type" class=LABEL>"Event type"</label>
                    <input id="dlv-type" type="search" class=INPUT_CLASS placeholder="e.g. ticket.created"
                        prop:value=move || filters.get().event_type on:change=move |ev| set_filter.run(("type", event_target_value(&ev)))/>
                </div>
                <FilterSelect id="dlv-range" label="Time range" key="range" set=set_filter any="Any time"
                    value=Signal::derive(move || filters.get().range)>
                    {RANGES.into_iter().map(|(v, l, _)| view! { <option value=v selected=move || filters.get().range == v>{l}</option> }).collect_view()}
                </FilterSelect>
            </div>
            <div class="flex items-center gap-3">
                <span data-testid="live-status" class="flex items-center gap-2 text-sm" aria-live="polite">
                    {move || {
                        let (dot, text) = match (paused.get(), live.get()) {
                            (true, _) => ("bg-slate-400", "Paused"),
                            (false, Live::Open) => ("bg-emerald-500", "Live"),
                            (false, Live::Connecting) => ("bg-amber-400", "Connecting…"),
                            (false, Live::Reconnecting) => ("bg-amber-400", "Reconnecting…"),
                        };
                        view! { <span class=format!("inline-block h-2 w-2 rounded-full {dot}") aria-hidden="true"></span>{text} }
                    }}
                </span>
                <button type="button" class=SECONDARY_BUTTON aria-pressed=move || paused.get().to_string()
                    on:click=move |_| {
                        let now_paused = !paused.get_untracked();
                        paused.set(now_paused);
                        if !now_paused && missed.get_untracked() {
                            missed.set(false);
                            tick.update(|t| *t += 1);
                        }
                    }>
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
                <a class=SECONDARY_BUTTON download="" href=move || filters.get().export_href(&tenant.get_value(), "csv")>"Export CSV"</a>
                <a class=SECONDARY_BUTTON download="" href=move || filters.get().export_href(&tenant.get_value(), "jsonl")>"Export JSON lines"</a>
            </div>
        </div>

        <Show when=move || filters.get().status == "failed">
            {expect_context::<crate::model::ShellContext>().can_write().then(|| view! {
                <RecoverBar hooks=hooks webhook=Signal::derive(move || filters.get().webhook) on_done=Callback::new(move |_| tick.update(|t| *t += 1))/>
            })}
        </Show>

        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading deliveries…"</p> }>
            {move || first.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(rows) => {
                    let seen: std::collections::HashSet<String> = rows.iter().map(|d| d.id.clone()).collect();
                    let mut all = rows;
                    all.extend(extra.get().into_iter().filter(|d| !seen.contains(&d.id)));
                    if all.is_empty() {
                        return view! {
                            <EmptyState title="No deliveries match">
                                "Published events show up here as they are delivered."
                            </EmptyState>
                        }.into_any();
                    }
                    let last = all.last().map(|d| d.id.clone()).unwrap_or_default();
                    view! {
                        <DeliveryTable rows=all names=names() open=open/>
                        <Show when=move || more.get()>
                            <LoadMore cursor=last.clone() pending=load_more.pending().into()
                                on_load=Callback::new(move |c| { load_more.dispatch(c); })/>
                        </Show>
                    }.into_any()
                }
            })}
        </Transition>

        <StatsPanel webhook=Signal::derive(move || filters.get().webhook) tick=tick.into()/>

        <Modal open=drawer id="delivery-drawer" side=true title="Delivery">
            {move || selected.get().map(|id| view! { <DeliveryDrawer id=id tick=tick.into() hooks=hooks on_replayed=Callback::new(move |_| tick.update(|t| *t += 1))/> })}
        </Modal>
    }
}

/// One filter of the log as a select: `any` (no filter) first, then `children`; `set` puts a choice in the URL
/// as `key`.
#[component]
fn FilterSelect(
    id: &'static str,
    label: &'static str,
    key: &'static str,
    value: Signal<String>,
    set: Callback<(&'static str, String)>,
    any: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div>
            <label for=id class=LABEL>{label}</label>
            <select id=id class=INPUT_CLASS on:change=move |ev| set.run((key, event_target_value(&ev)))
                prop:value=move || value.get()>
                <option value="">{any}</option>
                {children()}
            </select>
        </div>
    }
}

#[component]
fn DeliveryTable(rows: Vec<Delivery>, names: HashMap<String, Webhook>, open: Callback<String>) -> impl IntoView {
    use Column::*;
    const COLUMNS: &[Column] = &[
        Left("Time"),
        Left("Event type"),
        Left("Endpoint"),
        Left("Status"),
        Right("Attempts"),
        Right("Response"),
        Right("Duration"),
    ];
    view! {
        <CardTable columns=COLUMNS label="Deliveries">
                    {rows.into_iter().map(|d| {
                        let (label, class) = status_label(d.status);
                        let endpoint = names.get(&d.webhook_id).map(|w| w.name.clone()).unwrap_or_else(|| d.webhook_id.clone());
                        let (id, row_id) = (d.id.clone(), d.id.clone());
                        view! {
                            <tr data-testid="delivery-row" data-delivery-id=d.id.clone() data-status=d.status.as_str() class="cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/50"
                                on:click=move |_| open.run(row_id.clone())>
                                <td class="whitespace-nowrap px-4 py-2"><Ago ms=d.created_at/></td>
                                <td class="px-4 py-2">
                                    <button type="button" class="font-mono text-xs font-medium text-indigo-700 hover:underline dark:text-indigo-300"
                                        aria-label=format!("Open delivery {} ({})", d.event_type, label)
                                        on:click=move |ev| { ev.stop_propagation(); open.run(id.clone()) }>
                                        {d.event_type.clone()}
                                    </button>
                                    {d.is_test.then(|| view! { <span class=format!("{} ml-2", badge("gray"))>"Test"</span> })}
                                </td>
                                <td class="max-w-[14rem] truncate px-4 py-2">{endpoint}</td>
                                <td class="px-4 py-2"><span class=class data-testid="delivery-status">{label}</span></td>
                                <td class="px-4 py-2 text-right tabular-nums">{d.attempts}</td>
                                <td class="px-4 py-2 text-right tabular-nums">{d.last_status_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td class="px-4 py-2 text-right tabular-nums">{d.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }
                    }).collect_view()}
        </CardTable>
    }
}

type Hooks = Resource<Result<Vec<Webhook>, crate::model::AppError>>;

/// Dead-letter view: queue an endpoint's failed deliveries again.
#[component]
fn RecoverBar(hooks: Hooks, #[prop(into)] webhook: Signal<String>, on_done: Callback<()>) -> impl IntoView {
    const SINCE: &[(&str, &str)] = &[
        ("3600000", "1 hour ago"),
        ("86400000", "24 hours ago"),
        ("604800000", "7 days ago"),
        ("2592000000", "30 days ago"),
    ];
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let target = RwSignal::new(webhook.get_untracked());
    Effect::new(move |_| target.set(webhook.get()));
    let back = RwSignal::new(86_400_000i64);
    let recover =
        Action::new(move |(id, since): &(String, i64)| recover_webhook(tenant.get_value(), id.clone(), *since));
    on_success(recover, move |n| {
        if n == 0 {
            toasts.success("Nothing to recover: every dead letter in range was replayed already");
        } else {
            toasts.success(format!("Queued {n} dead-letter deliveries again"));
            on_done.run(());
        }
    });
    view! {
        <section aria-label="Dead-letter queue" class="mt-4 flex flex-col gap-3 rounded-xl bg-rose-50 p-4 ring-1 ring-rose-200 sm:flex-row sm:items-end dark:bg-rose-500/10 dark:ring-rose-500/30">
            <p class="flex-1 text-sm">"Dead letters failed every attempt. Once the receiver is fixed, queue them again with the full retry policy."</p>
            <div>
                <label for="recover-endpoint" class=LABEL>"Endpoint"</label>
                <select id="recover-endpoint" class=INPUT_CLASS on:change=move |ev| target.set(event_target_value(&ev))>
                    <option value="">"Choose…"</option>
                    <Transition>
                        {move || hooks.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|w| view! {
                            <option value=w.id.clone() selected=target.get_untracked() == w.id>{w.name}</option>
                        }).collect_view())}
                    </Transition>
                </select>
            </div>
            <div>
                <label for="recover-since" class=LABEL>"Failed since"</label>
                <select id="recover-since" class=INPUT_CLASS on:change=move |ev| back.set(event_target_value(&ev).parse().unwrap_or(86_400_000))>
                    {fixed_options(SINCE, "86400000")}
                </select>
            </div>
            <button type="button" class=PRIMARY_BUTTON disabled=move || target.get().is_empty() || recover.pending().get()
                on:click=move |_| { recover.dispatch((target.get_untracked(), now_ms() - back.get_untracked())); }>
                {move || if recover.pending().get() { "Recovering…" } else { "Recover" }}
            </button>
        </section>
    }
}

#[component]
fn DeliveryDrawer(id: String, tick: Signal<u32>, hooks: Hooks, on_replayed: Callback<()>) -> impl IntoView {
    let tenant = use_tenant_id();
    let can_write = expect_context::<crate::model::ShellContext>().can_write();
    let toasts = use_toasts();
    let id = StoredValue::new(id);
    let detail =
        Resource::new(move || (id.get_value(), tick.get()), move |(id, _)| get_delivery(tenant.get_value(), id));
    let replay = Action::new(move |id: &String| replay_delivery(tenant.get_value(), id.clone()));
    on_success(replay, move |_| {
        toasts.success("Replay queued");
        on_replayed.run(());
    });
    let url_of = move |webhook_id: &str| {
        hooks
            .get_untracked()
            .and_then(|r| r.ok())
            .and_then(|l| l.into_iter().find(|w| w.id == webhook_id))
            .map(|w| w.url)
    };
    view! {
        <Transition fallback=|| view! { <p class="text-sm">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(DeliveryDetail { delivery: d, attempt_log: attempts }) => {
                    let (label, class) = status_label(d.status);
                    let final_state =
                        !matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying | DeliveryStatus::Paused);
                    let url = url_of(&d.webhook_id).unwrap_or_default();
                    let last = attempts.last().cloned();
                    let copy = move |_| {
                        if let Some(a) = &last {
                            super::copy_text(curl_command(&url, &a.request_headers, &a.request_body), toasts, "cURL command copied");
                        }
                    };
                    let did = d.id.clone();
                    view! {
                        <div class="space-y-4" data-testid="delivery-detail">
                            <dl class="grid grid-cols-2 gap-x-4 gap-y-2 text-sm">
                                <dt class="text-slate-600 dark:text-slate-400">"Event type"</dt><dd class="font-mono">{d.event_type.clone()}</dd>
                                <dt class="text-slate-600 dark:text-slate-400">"Status"</dt><dd><span class=class data-testid="detail-status">{label}</span></dd>
                                <dt class="text-slate-600 dark:text-slate-400">"Delivery id"</dt><dd class="break-all font-mono text-xs">{d.id.clone()}</dd>
                                <dt class="text-slate-600 dark:text-slate-400">"Event id"</dt><dd class="break-all font-mono text-xs">
                                    <a class="text-indigo-700 hover:underline dark:text-indigo-300" href=format!("?tab=events&event={}", d.event_id)
                                        aria-label=format!("Open event {} in the Events tab", d.event_id)>{d.event_id.clone()}</a>
                                </dd>
                                <dt class="text-slate-600 dark:text-slate-400">"Created"</dt><dd><At ms=d.created_at/></dd>
                                {d.next_attempt_at.filter(|_| !final_state).map(|t| view! {
                                    <dt class="text-slate-600 dark:text-slate-400">"Next attempt"</dt><dd><Ago ms=t/></dd>
                                })}
                            </dl>
                            <div class="flex flex-wrap gap-2">
                                {can_write.then(|| view! {
                                <button type="button" class=PRIMARY_BUTTON disabled=move || !final_state || replay.pending().get()
                                    title=(!final_state).then_some("Still queued; replay when it has finished")
                                    on:click=move |_| { replay.dispatch(did.clone()); }>
                                    {move || if replay.pending().get() { "Replaying…" } else { "Replay" }}
                                </button>
                                })}
                                <button type="button" class=SECONDARY_BUTTON on:click=copy>"Copy as cURL"</button>
                            </div>
                            <h3 class="text-sm font-semibold">{format!("Attempts ({})", attempts.len())}</h3>
                            {attempts.is_empty().then(|| view! { <p class="text-sm text-slate-600 dark:text-slate-400">"Not attempted yet."</p> })}
                            <ol class="space-y-2">
                                {attempts.into_iter().rev().enumerate().map(|(i, a)| view! { <AttemptView a=a open=i == 0/> }).collect_view()}
                            </ol>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn AttemptView(a: DeliveryAttempt, open: bool) -> impl IntoView {
    let ok = a.succeeded();
    let outcome = match (a.response_status, a.error_kind) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(k)) => k.as_str().replace('_', " "),
        (None, None) => "no answer".into(),
    };
    let headers = |h: Vec<(String, String)>| {
        view! {
            <table class="w-full text-xs">
                <tbody>
                    {h.into_iter().map(|(k, v)| view! {
                        <tr><th scope="row" class="whitespace-nowrap pr-3 text-left align-top font-mono font-medium">{k}</th><td class="break-all font-mono">{v}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
    };
    view! {
        <li>
            <details open=open data-testid="attempt" class="rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
                <summary class="flex cursor-pointer flex-wrap items-center gap-2 px-3 py-2 text-sm">
                    <span class="font-medium">{format!("Attempt {}", a.attempt)}</span>
                    <span class=badge(if ok { "green" } else { "red" })>{outcome}</span>
                    <span class="text-slate-600 dark:text-slate-400">{format!("{} ms", a.duration_ms)}</span>
                    <span class="ml-auto text-xs text-slate-600 dark:text-slate-400"><Ago ms=a.created_at/></span>
                </summary>
                <div class="space-y-3 border-t border-slate-200 p-3 dark:border-slate-700">
                    {a.error.clone().map(|e| view! { <p class="text-sm text-rose-700 dark:text-rose-400">{format!("{}: {e}", a.error_kind.map(|k| k.as_str()).unwrap_or("error"))}</p> })}
                    {a.next_retry_at.map(|t| view! { <p class="text-sm">"Next retry " <Ago ms=t/></p> })}
                    <h4 class="text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">"Request headers"</h4>
                    {headers(a.request_headers)}
                    <h4 class="text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">"Request body"</h4>
                    <Body text=a.request_body/>
                    <h4 class="text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">"Response headers"</h4>
                    {headers(a.response_headers)}
                    <h4 class="text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">"Response body"</h4>
                    <Body text=a.response_body.unwrap_or_default() truncated=a.response_truncated/>
                </div>
            </details>
        </li>
    }
}

/// Figures and charts for the endpoint in the filter, or the whole tenant.
#[component]
fn StatsPanel(#[prop(into)] webhook: Signal<String>, tick: Signal<u32>) -> impl IntoView {
    let tenant = use_tenant_id();
    let window = RwSignal::new(StatsWindow::Day);
    let stats = Resource::new(
        move || (webhook.get(), window.get(), tick.get()),
        move |(w, win, _)| load_delivery_stats(tenant.get_value(), (!w.is_empty()).then_some(w), win),
    );
    view! {
        <section aria-labelledby="stats-title" class="mt-8 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h3 id="stats-title" class="font-semibold">{move || if webhook.get().is_empty() { "Statistics: all endpoints" } else { "Statistics: this endpoint" }}</h3>
                <div role="group" aria-label="Period" class="flex gap-1">
                    {StatsWindow::ALL.into_iter().map(|w| view! {
                        <button type="button" aria-pressed=move || (window.get() == w).to_string()
                            class=move || format!("rounded-md px-3 py-1 text-sm font-medium {}", if window.get() == w { "bg-indigo-600 text-white" } else { "text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800" })
                            on:click=move |_| window.set(w)>{w.label()}</button>
                    }).collect_view()}
                </div>
            </div>
            <Transition fallback=|| view! { <p class="mt-4 text-sm">"Loading statistics…"</p> }>
                {move || stats.get().map(|r| match r {
                    Err(e) => view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                    Ok(s) => view! { <StatsBody s=s/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

pub fn rate_text(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "—".into())
}

pub fn ms_text(ms: Option<f64>) -> String {
    ms.map(|m| format!("{m:.0} ms")).unwrap_or_else(|| "—".into())
}

#[component]
fn StatsBody(s: DeliveryStats) -> impl IntoView {
    let figures = [
        ("Deliveries", s.total.to_string()),
        ("Success rate", rate_text(s.success_rate)),
        ("Average latency", ms_text(s.avg_ms)),
        ("p95 latency", ms_text(s.p95_ms)),
        ("Dead letters", s.counts.failed.to_string()),
    ];
    view! {
        <dl class="mt-4 grid grid-cols-2 gap-3 sm:grid-cols-5">
            {figures.into_iter().map(|(k, v)| view! {
                <div class="rounded-lg bg-slate-50 p-3 dark:bg-slate-800/60">
                    <dt class="text-xs text-slate-600 dark:text-slate-400">{k}</dt>
                    <dd class="mt-1 text-lg font-semibold tabular-nums">{v}</dd>
                </div>
            }).collect_view()}
        </dl>
        <div class="mt-4 grid gap-6 lg:grid-cols-2">
            <OutcomeChart stats=s.clone()/>
            <LatencyChart stats=s/>
        </div>
    }
}

/// The browser side of `/api/ui/deliveries/stream`: EventSource reconnects by itself after a dropped
/// connection; when the server refused or was gone long enough for the browser to give up, we start over.
#[cfg(feature = "hydrate")]
mod stream {
    use super::Live;
    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    pub fn subscribe(tenant: String, live: RwSignal<Live>, on_change: impl Fn() + Copy + 'static) {
        let current: StoredValue<Option<web_sys::EventSource>, LocalStorage> = StoredValue::new_local(None);
        let stopped = StoredValue::new(false);
        connect(tenant, live, on_change, current, stopped);
        on_cleanup(move || {
            stopped.set_value(true);
            if let Some(es) = current.try_get_value().flatten() {
                es.close();
            }
        });
    }

    fn connect(
        tenant: String,
        live: RwSignal<Live>,
        on_change: impl Fn() + Copy + 'static,
        current: StoredValue<Option<web_sys::EventSource>, LocalStorage>,
        stopped: StoredValue<bool>,
    ) {
        let url = format!("/api/ui/deliveries/stream?tenant_id={}", super::enc(&tenant));
        let Ok(es) = web_sys::EventSource::new(&url) else { return };
        let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| on_change());
        let _ = es.add_event_listener_with_callback("deliveries", on_message.as_ref().unchecked_ref());
        on_message.forget();
        let on_open = Closure::<dyn Fn()>::new(move || {
            // Anything may have changed while we were not connected.
            if live.get_untracked() == Live::Reconnecting {
                on_change();
            }
            live.set(Live::Open);
        });
        es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let on_error = Closure::<dyn Fn()>::new(move || {
            live.set(Live::Reconnecting);
            let Some(es) = current.try_get_value().flatten() else { return };
            if es.ready_state() == web_sys::EventSource::CLOSED && !stopped.get_value() {
                let tenant = tenant.clone();
                set_timeout(
                    move || {
                        if !stopped.try_get_value().unwrap_or(true) {
                            connect(tenant, live, on_change, current, stopped);
                        }
                    },
                    std::time::Duration::from_secs(3),
                );
            }
        });
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        current.set_value(Some(es));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_reproduces_the_request() {
        let h = vec![("webhook-id".to_string(), "evt_1".to_string()), ("x-note".to_string(), "it's".to_string())];
        let c = curl_command("https://a.test/h?x=1", &h, r#"{"a":"b'c"}"#);
        assert_eq!(
            c,
            "curl -X POST 'https://a.test/h?x=1' \\\n  -H 'webhook-id: evt_1' \\\n  -H 'x-note: it'\\''s' \\\n  --data-raw '{\"a\":\"b'\\''c\"}'"
        );
        assert_eq!(enc("ticket.*&x"), "ticket.%2A%26x");
    }
}
