//! The Webhooks tab: the tenant's endpoints with status, subscriptions, activity and enable/disable.

use super::style::*;
use super::time::{absolute, now_ms, relative};
use super::toast::use_toasts;
use crate::model::{ShellContext, Webhook};
use crate::server_fns::webhooks::{list_webhooks, set_webhook_active};
use leptos::prelude::*;

#[component]
pub fn WebhooksPanel() -> impl IntoView {
    let ctx = expect_context::<ShellContext>();
    let tenant = StoredValue::new(ctx.tenant.id.clone());
    let toasts = use_toasts();
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    let hooks = Resource::new(
        move || (tenant.get_value(), search.get(), status.get(), version.get()),
        |(t, s, st, _)| list_webhooks(t, (!s.trim().is_empty()).then_some(s), (!st.is_empty()).then_some(st)),
    );
    let toggle =
        Action::new(move |(id, active): &(String, bool)| set_webhook_active(tenant.get_value(), id.clone(), *active));
    Effect::new(move |_| match toggle.value().get() {
        Some(Ok(w)) => {
            toasts.success(format!("“{}” {}", w.name, if w.is_active { "enabled" } else { "disabled" }));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => toasts.error(e.message),
        None => {}
    });
    let on_toggle = Callback::new(move |w: Webhook| {
        toggle.dispatch((w.id.clone(), !w.is_active));
    });
    view! {
        <div class="flex flex-col gap-3 sm:flex-row sm:items-end">
            <div class="flex-1">
                <label for="webhook-search" class=LABEL>"Search"</label>
                <input id="webhook-search" type="search" placeholder="Name or URL" class=INPUT_CLASS
                    prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            </div>
            <div>
                <label for="webhook-status" class=LABEL>"Status"</label>
                <select id="webhook-status" class=INPUT_CLASS on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    <option value="active">"Active"</option>
                    <option value="disabled">"Disabled"</option>
                </select>
            </div>
        </div>
        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading endpoints…"</p> }>
            {move || hooks.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <div class="mt-6 rounded-xl border border-dashed border-slate-300 p-10 text-center dark:border-slate-700">
                        <h3 class="text-base font-semibold">"No webhook endpoints here"</h3>
                        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                            "Add one with " <code class="rounded bg-slate-100 px-1 dark:bg-slate-800">"POST /api/v1/webhooks"</code>
                            " and an API key with the webhooks:write scope."
                        </p>
                    </div>
                }.into_any(),
                Ok(list) => {
                    let now = now_ms();
                    view! {
                        <ul class="mt-6 grid gap-3 lg:grid-cols-2" aria-label="Webhook endpoints">
                            {list.into_iter().map(|w| webhook_card(w, now, on_toggle)).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

fn webhook_card(w: Webhook, now: i64, on_toggle: Callback<Webhook>) -> impl IntoView {
    let (label, tone) = match (w.is_active, &w.disabled_reason) {
        (true, _) => ("Active".to_string(), "green"),
        (false, Some(r)) => (format!("Auto-disabled: {r}"), "red"),
        (false, None) => ("Disabled".to_string(), "gray"),
    };
    let extra = w.events.len().saturating_sub(3);
    let name = w.name.clone();
    let wt = w.clone();
    view! {
        <li data-testid="webhook-card" class="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <div class="flex items-start justify-between gap-3">
                <div class="min-w-0">
                    <h3 class="truncate font-semibold">{w.name.clone()}</h3>
                    <p class="truncate font-mono text-xs text-slate-600 dark:text-slate-400">{w.url.clone()}</p>
                </div>
                <span class=badge(tone) data-testid="webhook-status">{label}</span>
            </div>
            <div class="mt-3 flex flex-wrap gap-1">
                {w.events.iter().take(3).map(|e| view! { <span class=CHIP>{e.clone()}</span> }).collect_view()}
                {(extra > 0).then(|| view! { <span class=CHIP>{format!("+{extra}")}</span> })}
            </div>
            <div class="mt-3 flex items-center justify-between text-xs text-slate-600 dark:text-slate-400">
                <span>
                    "Last triggered: "
                    {match w.last_triggered_at {
                        Some(t) => view! { <time title=absolute(t)>{relative(t, now)}</time> }.into_any(),
                        None => view! { <span>"never"</span> }.into_any(),
                    }}
                    {format!(" · {} delivered · {} failed", w.total_delivered, w.total_failed)}
                </span>
                <button type="button" class=LINK_BUTTON aria-label=format!("{} {name}", if w.is_active { "Disable" } else { "Enable" })
                    on:click=move |_| on_toggle.run(wt.clone())>
                    {if w.is_active { "Disable" } else { "Enable" }}
                </button>
            </div>
        </li>
    }
}
