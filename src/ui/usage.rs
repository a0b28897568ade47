//! The API Keys tab's usage section: requests per day for the whole tenant or one key, over 7, 30 or 90 days,
//! with the refusals (rate limit, IP allowlist) stacked on top, and where a key was last used from.

use super::charts::UsageChart;
use super::layout::use_tenant_id;
use super::style::*;
use super::time::Ago;
use crate::model::UsageWindow;
use crate::server_fns::api_keys::list_keys;
use crate::server_fns::devtools::{usage_of_key, usage_of_tenant_keys};
use leptos::prelude::*;

fn window_label(w: UsageWindow) -> &'static str {
    match w {
        UsageWindow::Week => "Last 7 days",
        UsageWindow::Month => "Last 30 days",
        UsageWindow::Quarter => "Last 90 days",
    }
}

#[component]
pub fn UsageSection() -> impl IntoView {
    let tenant = use_tenant_id();
    let key = RwSignal::new(String::new());
    let window = RwSignal::new(UsageWindow::Week);
    let keys = Resource::new(move || tenant.get_value(), |t| list_keys(t, None, None));
    let usage = Resource::new(
        move || (tenant.get_value(), key.get(), window.get()),
        |(t, k, w)| async move {
            if k.is_empty() {
                usage_of_tenant_keys(t, w).await
            } else {
                usage_of_key(t, k, w).await
            }
        },
    );
    view! {
        <section class="mt-8" aria-labelledby="usage-heading">
            <div class="flex flex-col gap-3 sm:flex-row sm:items-end">
                <h2 id="usage-heading" class="flex-1 text-base font-semibold">"Usage"</h2>
                <div>
                    <label for="usage-key" class=LABEL>"Key"</label>
                    <select id="usage-key" class=INPUT_CLASS on:change=move |ev| key.set(event_target_value(&ev))>
                        <option value="">"All keys of this tenant"</option>
                        <Transition fallback=|| ()>
                            {move || keys.get().and_then(Result::ok).map(|list| list.into_iter().map(|k| {
                                let selected = key.get_untracked() == k.id;
                                view! { <option value=k.id selected=selected>{format!("{} ({})", k.name, k.prefix)}</option> }
                            }).collect_view())}
                        </Transition>
                    </select>
                </div>
                <div>
                    <label for="usage-window" class=LABEL>"Period"</label>
                    <select id="usage-window" class=INPUT_CLASS on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(w) = UsageWindow::ALL.into_iter().find(|w| w.label() == v) { window.set(w); }
                    }>
                        {UsageWindow::ALL.into_iter().map(|w| view! { <option value=w.label() selected=w == UsageWindow::Week>{window_label(w)}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="mt-4 text-sm">"Loading usage…"</p> }>
                {move || usage.get().map(|r| match r {
                    Err(e) => view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                    Ok(u) => {
                        let t = u.total;
                        let caption = if u.key_id.is_some() { "This key's requests per day (UTC)" } else { "Requests per day, all keys (UTC)" };
                        let last = u.key_id.is_some().then(|| match (u.last_used_at, u.last_used_ip.clone()) {
                            (Some(at), Some(ip)) => view! { <p class="text-sm">"Last used " <Ago ms=at/> " from " <code class="font-mono" data-testid="last-used-ip">{ip}</code></p> }.into_any(),
                            (Some(at), None) => view! { <p class="text-sm">"Last used " <Ago ms=at/></p> }.into_any(),
                            _ => view! { <p class="text-sm text-slate-600 dark:text-slate-300">"Never used"</p> }.into_any(),
                        });
                        let per_day = t.requests as f64 / u.days.len().max(1) as f64;
                        view! {
                            <div class="mt-4 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
                                <dl class="mb-3 grid grid-cols-2 gap-3 text-sm sm:grid-cols-4" data-testid="usage-totals">
                                    <div><dt class="text-slate-600 dark:text-slate-300">"Requests"</dt><dd class="text-lg font-semibold tabular-nums" data-testid="usage-requests">{t.requests}</dd></div>
                                    <div><dt class="text-slate-600 dark:text-slate-300">"Rate limited"</dt><dd class="text-lg font-semibold tabular-nums" data-testid="usage-rate-limited">{t.rate_limited}</dd></div>
                                    <div><dt class="text-slate-600 dark:text-slate-300">"Refused by IP allowlist"</dt><dd class="text-lg font-semibold tabular-nums" data-testid="usage-ip-refused">{t.ip_refused}</dd></div>
                                    <div><dt class="text-slate-600 dark:text-slate-300">"Per day"</dt><dd class="text-lg font-semibold tabular-nums">{format!("{per_day:.1}")}</dd></div>
                                </dl>
                                <UsageChart usage=u caption=caption/>
                                {last}
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
