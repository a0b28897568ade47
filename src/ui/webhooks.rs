//! The Webhooks tab: stats cards, the tenant's endpoints (status, subscriptions, activity, sparkline) with an
//! actions menu (view, edit, test, enable/disable, rotate secret, delete), search and filters, and the
//! create/edit, test-fire, rotate and delete dialogs.

use super::charts::Sparkline;
use super::deliveries::{ms_text, rate_text};
use super::destinations::DestinationIcon;
use super::layout::use_tenant_id;
use super::menu::ActionsMenu;
use super::modal::{ConfirmDialog, EditDialog, Modal, RotateDialog};
use super::style::*;
use super::test_fire::TestFireDialog;
use super::time::Ago;
use super::toast::{on_success, toggled, use_toasts};
use super::webhook_form::WebhookForm;
use super::widgets::{EmptyState, LoadMore};
use crate::model::{
    AppError, CreateWebhook, DestinationKind, EndpointCounts, Page, StatsWindow, UpdateWebhook, Webhook,
    WebhookListQuery,
};
use crate::server_fns::deliveries::{load_delivery_stats, load_sparklines};
use crate::server_fns::devtools::webhook_page;
use crate::server_fns::webhooks::{
    add_webhook, count_endpoints, delete_webhook, edit_webhook, list_event_types, rotate_webhook_secret,
    set_webhook_active,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

/// The edit form's values as a patch: every field is sent, so what the form shows is what is saved.
fn as_patch(c: CreateWebhook) -> UpdateWebhook {
    UpdateWebhook {
        name: c.name,
        kind: c.kind,
        url: Some(c.url),
        recipients: Some(c.recipients),
        message: Some(c.message),
        description: c.description,
        events: Some(c.events),
        filters: Some(c.filters),
        headers: Some(c.headers),
        content_type: c.content_type,
        template: Some(c.template),
        max_retries: c.max_retries,
        retry_delay_seconds: c.retry_delay_seconds,
        backoff_factor: c.backoff_factor,
        timeout_ms: c.timeout_ms,
        rate_limit_per_minute: c.rate_limit_per_minute,
        is_active: None,
    }
}

/// Endpoints per page of the list ("Load more" fetches the next).
const ENDPOINTS_PER_PAGE: u32 = 50;

#[derive(Clone, Copy)]
struct CardActions {
    view: Callback<Webhook>,
    edit: Callback<Webhook>,
    test: Callback<Webhook>,
    toggle: Callback<Webhook>,
    rotate: Callback<Webhook>,
    delete: Callback<Webhook>,
}

#[component]
pub fn WebhooksPanel() -> impl IntoView {
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let navigate = use_navigate();
    let location = use_location();
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let event_type = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    // Pages after the first, fetched by "Load more"; any change of filter or data starts again from the first.
    let more = RwSignal::new(Vec::<Webhook>::new());
    let more_next = RwSignal::new(None::<String>);
    let refresh = move || {
        more.set(Vec::new());
        version.update(|v| *v += 1);
    };
    let query = move || {
        let opt = |v: String| (!v.trim().is_empty()).then_some(v);
        WebhookListQuery {
            search: opt(search.get()),
            status: opt(status.get()),
            event_type: opt(event_type.get()),
            limit: Some(ENDPOINTS_PER_PAGE),
            ..Default::default()
        }
    };
    let first = Resource::new(move || (tenant.get_value(), query(), version.get()), |(t, q, _)| webhook_page(t, q));
    let load_more = Action::new(move |cursor: &String| {
        let q = WebhookListQuery { cursor: Some(cursor.clone()), ..query() };
        webhook_page(tenant.get_value(), q)
    });
    on_success(load_more, move |page: Page<Webhook>| {
        more.update(|m| m.extend(page.data));
        more_next.set(page.next_cursor);
    });
    let filter = move |signal: RwSignal<String>| {
        move |ev| {
            more.set(Vec::new());
            signal.set(event_target_value(&ev));
        }
    };
    // The overview counts every endpoint, whatever the filters.
    let counts = Resource::new(move || (tenant.get_value(), version.get()), |(t, _)| count_endpoints(t));
    let types = Resource::new(|| (), |_| list_event_types());
    // Created here, not in each card: resources made inside a resolved Transition do not hydrate in step.
    let sparks = Resource::new(move || (tenant.get_value(), version.get()), |(t, _)| load_sparklines(t));

    let test_open = RwSignal::new(false);
    let rotate_open = RwSignal::new(false);
    let delete_open = RwSignal::new(false);
    let target = RwSignal::new(None::<Webhook>);

    let save = Action::new(move |(id, input): &(Option<String>, CreateWebhook)| {
        let (id, input, t) = (id.clone(), input.clone(), tenant.get_value());
        async move {
            match id {
                None => add_webhook(t, input).await,
                Some(id) => edit_webhook(t, id, as_patch(input)).await,
            }
        }
    });
    let form = EditDialog::new(save, move |w| {
        toasts.success(format!("Saved “{}”", w.name));
        refresh();
    });
    let toggle =
        Action::new(move |(id, active): &(String, bool)| set_webhook_active(tenant.get_value(), id.clone(), *active));
    on_success(toggle, move |w| {
        toasts.success(toggled(&w.name, w.is_active));
        refresh();
    });
    let rotate =
        Action::new(move |(id, grace): &(String, u64)| rotate_webhook_secret(tenant.get_value(), id.clone(), *grace));
    on_success(rotate, move |_| {
        rotate_open.set(false);
        toasts.success("Signing secret rotated; reveal the new one in Edit");
    });
    let delete = Action::new(move |id: &String| delete_webhook(tenant.get_value(), id.clone()));
    on_success(delete, move |()| {
        delete_open.set(false);
        toasts.success("Endpoint deleted");
        refresh();
    });

    let ask = move |w: Webhook, dialog: RwSignal<bool>| {
        target.set(Some(w));
        dialog.set(true);
    };
    let actions = CardActions {
        view: Callback::new(move |w: Webhook| {
            let url = format!("{}?tab=deliveries&webhook={}", location.pathname.get_untracked(), w.id);
            navigate(&url, Default::default());
        }),
        edit: Callback::new(move |w| form.show(Some(w))),
        test: Callback::new(move |w| ask(w, test_open)),
        toggle: Callback::new(move |w: Webhook| {
            toggle.dispatch((w.id.clone(), !w.is_active));
        }),
        rotate: Callback::new(move |w| ask(w, rotate_open)),
        delete: Callback::new(move |w| ask(w, delete_open)),
    };

    view! {
        <StatsCards counts=counts/>
        <div class="mt-6 flex flex-col gap-3 sm:flex-row sm:items-end">
            <div class="flex-1">
                <label for="webhook-search" class=LABEL>"Search"</label>
                <input id="webhook-search" type="search" placeholder="Name or URL" class=INPUT_CLASS
                    prop:value=move || search.get() on:input=filter(search)/>
            </div>
            <div>
                <label for="webhook-status" class=LABEL>"Status"</label>
                <select id="webhook-status" class=INPUT_CLASS on:change=filter(status)>
                    <option value="">"All"</option>
                    <option value="active">"Active"</option>
                    <option value="disabled">"Disabled"</option>
                </select>
            </div>
            <div>
                <label for="webhook-event" class=LABEL>"Event type"</label>
                <select id="webhook-event" class=INPUT_CLASS on:change=filter(event_type)>
                    <option value="">"Any"</option>
                    <Transition>
                        {move || types.get().and_then(|r| r.ok()).map(|l| l.into_iter().map(|t| view! { <option value=t.name.clone()>{t.name.clone()}</option> }).collect_view())}
                    </Transition>
                </select>
            </div>
            <super::portal::PortalLinkButton/>
            {expect_context::<crate::model::ShellContext>().can_write().then(|| view! {
                <button type="button" class=PRIMARY_BUTTON on:click=move |_| form.show(None)>"New endpoint"</button>
            })}
        </div>
        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading endpoints…"</p> }>
            {move || first.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(page) if page.data.is_empty() && query() == WebhookListQuery { limit: Some(ENDPOINTS_PER_PAGE), ..Default::default() } => view! {
                    <EmptyState title="No webhook endpoints here"
                        action=("Add an endpoint", Callback::new(move |_| form.show(None)))>
                        "Add an endpoint to start receiving events, or use " <code class="rounded bg-slate-100 px-1 dark:bg-slate-800">"POST /api/v1/webhooks"</code> "."
                    </EmptyState>
                }.into_any(),
                Ok(page) => {
                    if page.data.is_empty() {
                        return view! { <p class="mt-6 text-sm">"No endpoints match these filters."</p> }.into_any();
                    }
                    let first_next = page.next_cursor.clone();
                    let next = move || if more.with(Vec::is_empty) { first_next.clone() } else { more_next.get() };
                    view! {
                        <ul class="mt-6 grid gap-3 lg:grid-cols-2" aria-label="Webhook endpoints">
                            {page.data.into_iter().map(|w| view! { <WebhookCard w=w actions=actions sparks=sparks/> }).collect_view()}
                            <For each=move || more.get() key=|w| w.id.clone() let:w>
                                <WebhookCard w=w actions=actions sparks=sparks/>
                            </For>
                        </ul>
                        {move || next().map(|cursor| view! {
                            <LoadMore cursor=cursor label="Load more endpoints" pending=load_more.pending().into()
                                on_load=Callback::new(move |c| { load_more.dispatch(c); })/>
                        })}
                    }.into_any()
                }
            })}
        </Transition>

        <Modal open=form.open id="webhook-form" wide=true title=Signal::derive(move || if form.editing.get().is_some() { "Edit endpoint".to_string() } else { "New endpoint".to_string() })>
            {move || {
                let initial = form.editing.get();
                let id = initial.as_ref().map(|w| w.id.clone());
                view! {
                    <WebhookForm
                        initial=initial
                        pending=save.pending()
                        error=form.error()
                        on_submit=Callback::new(move |input: CreateWebhook| { save.dispatch((id.clone(), input)); })
                        on_cancel=Callback::new(move |_| form.open.set(false))
                        catalog=types
                    />
                }
            }}
        </Modal>

        <TestFireDialog open=test_open webhook=target types=types/>

        <RotateDialog open=rotate_open id="rotate-secret" title="Rotate signing secret" grace_id="secret-grace"
            label="Rotate secret" pending=rotate.pending()
            on_rotate=move |grace| if let Some(w) = target.get_untracked() { rotate.dispatch((w.id, grace)); }>
            {move || target.get().map(|w| view! {
                <p class="text-sm">"A new secret signs " <strong>{w.name}</strong> "'s requests. During the grace period both signatures are sent, so the receiver can switch without dropping any."</p>
            })}
        </RotateDialog>

        <ConfirmDialog open=delete_open id="delete-webhook" title="Delete endpoint" label="Delete endpoint"
            pending=delete.pending()
            on_confirm=move |_| if let Some(w) = target.get_untracked() { delete.dispatch(w.id); }>
            {move || target.get().map(|w| view! {
                <p class="text-sm">"Delete " <strong>{w.name}</strong> "? Its queued deliveries are cancelled; its delivery history stays until retention removes it."</p>
            })}
        </ConfirmDialog>
    }
}

type Counts = Resource<Result<EndpointCounts, AppError>>;
type Sparks = Resource<Result<Vec<(String, crate::model::DeliveryStats)>, AppError>>;

#[component]
fn StatsCards(counts: Counts) -> impl IntoView {
    let tenant = use_tenant_id();
    let stats = Resource::new(move || tenant.get_value(), |t| load_delivery_stats(t, None, StatsWindow::Day));
    let card = |label: &'static str, value: String, tone: &'static str| {
        view! {
            <div class="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10" data-testid="stat-card">
                <dt class="text-xs font-medium text-slate-600 dark:text-slate-400">{label}</dt>
                <dd class=format!("mt-1 text-xl font-semibold tabular-nums {tone}")>{value}</dd>
            </div>
        }
    };
    view! {
        <Transition fallback=|| view! { <div class="h-20"></div> }>
            {move || {
                let c = counts.get().and_then(|r| r.ok()).unwrap_or_default();
                let s = stats.get().and_then(|r| r.ok()).unwrap_or_default();
                let (active, auto_disabled) = (c.active, c.auto_disabled);
                let degraded = auto_disabled > 0 || s.success_rate.is_some_and(|r| r < 0.95);
                let (status, tone) = if degraded {
                    (if auto_disabled > 0 { format!("{auto_disabled} auto-disabled") } else { "Degraded".to_string() }, "text-amber-800 dark:text-amber-300")
                } else {
                    ("Operational".to_string(), "text-emerald-800 dark:text-emerald-300")
                };
                view! {
                    <dl class="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6" aria-label="Overview">
                        {card("Active endpoints", active.to_string(), "")}
                        {card("Total endpoints", c.total.to_string(), "")}
                        {card("Deliveries (24 h)", s.total.to_string(), "")}
                        {card("Success rate", rate_text(s.success_rate), "")}
                        {card("p95 latency", ms_text(s.p95_ms), "")}
                        {card("System status", status, tone)}
                    </dl>
                }
            }}
        </Transition>
    }
}

#[component]
fn WebhookCard(w: Webhook, actions: CardActions, sparks: Sparks) -> impl IntoView {
    let id = w.id.clone();
    let spark =
        move || sparks.get().and_then(|r| r.ok()).and_then(|l| l.into_iter().find(|(w, _)| *w == id)).map(|(_, s)| s);
    let (label, tone) = match (w.is_active, &w.disabled_reason) {
        (true, _) => ("Active".to_string(), "green"),
        (false, Some(r)) => (format!("Auto-disabled: {r}"), "red"),
        (false, None) => ("Disabled".to_string(), "gray"),
    };
    let extra = w.events.len().saturating_sub(3);
    // Where it delivers: the URL, or for email how many people receive it.
    let target = match w.kind {
        DestinationKind::Email => match w.recipients.len() {
            1 => "1 recipient".to_string(),
            n => format!("{n} recipients"),
        },
        _ => w.url.clone(),
    };
    let target_class = if w.kind == DestinationKind::Email {
        "truncate text-xs text-slate-600 dark:text-slate-400"
    } else {
        "truncate font-mono text-xs text-slate-600 dark:text-slate-400"
    };
    let item = |label: String, cb: Callback<Webhook>| {
        let w = w.clone();
        (label, Callback::new(move |_: ()| cb.run(w.clone())))
    };
    let mut items = vec![
        item("View deliveries".into(), actions.view),
        item("Edit".into(), actions.edit),
        item("Test".into(), actions.test),
        item(if w.is_active { "Disable" } else { "Enable" }.into(), actions.toggle),
    ];
    // Only a webhook's requests are signed; chat platforms and email have no use for the secret.
    if !w.kind.is_message() {
        items.push(item("Rotate secret".into(), actions.rotate));
    }
    items.push(item("Delete".into(), actions.delete));
    // A viewer only looks: every other action changes the endpoint.
    if !expect_context::<crate::model::ShellContext>().can_write() {
        items.truncate(1);
    }
    view! {
        <li data-testid="webhook-card" class="min-w-0 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <div class="flex items-start justify-between gap-3">
                <div class="flex min-w-0 items-start gap-3">
                    <span class="mt-0.5 shrink-0"><DestinationIcon kind=w.kind class="h-6 w-6"/></span>
                    <div class="min-w-0">
                        <h3 class="truncate font-semibold">{w.name.clone()}</h3>
                        <p class="text-xs font-medium text-slate-700 dark:text-slate-300" data-testid="webhook-kind">{w.kind.label()}</p>
                        <p class=target_class data-testid="webhook-target" title=target.clone()>{target.clone()}</p>
                    </div>
                </div>
                <div class="flex shrink-0 items-center gap-2">
                    <span class=badge(tone) data-testid="webhook-status">{label}</span>
                    <ActionsMenu label=format!("Actions for {}", w.name) items=items/>
                </div>
            </div>
            <div class="mt-3 flex flex-wrap gap-1">
                {w.events.iter().take(3).map(|e| view! { <span class=CHIP>{e.clone()}</span> }).collect_view()}
                {(extra > 0).then(|| view! { <span class=CHIP>{format!("+{extra}")}</span> })}
            </div>
            <div class="mt-3 flex items-center justify-between gap-2 text-xs text-slate-600 dark:text-slate-400">
                <span>
                    "Last triggered: "
                    {match w.last_triggered_at {
                        Some(t) => view! { <Ago ms=t/> }.into_any(),
                        None => view! { <span>"never"</span> }.into_any(),
                    }}
                    {format!(" · {} delivered · {} failed", w.total_delivered, w.total_failed)}
                </span>
                <Transition>
                    {move || spark().map(|s| view! { <Sparkline stats=s/> })}
                </Transition>
            </div>
        </li>
    }
}
