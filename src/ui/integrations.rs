//! The Integrations page: accessible tabs (ARIA tablist, arrow keys) with the selected tab in `?tab=`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TabDef {
    pub id: &'static str,
    pub label: &'static str,
}

pub const TABS: [TabDef; 7] = [
    TabDef { id: "webhooks", label: "Webhooks" },
    TabDef { id: "api-keys", label: "API Keys" },
    TabDef { id: "apps", label: "Connected apps" },
    TabDef { id: "deliveries", label: "Deliveries" },
    TabDef { id: "event-types", label: "Event types" },
    TabDef { id: "events", label: "Events" },
    TabDef { id: "audit", label: "Audit" },
];

/// The tab index after a key press, or None when the key does not move the selection.
pub fn tab_after_key(current: usize, key: &str) -> Option<usize> {
    let n = TABS.len();
    match key {
        "ArrowRight" => Some((current + 1) % n),
        "ArrowLeft" => Some((current + n - 1) % n),
        "Home" => Some(0),
        "End" => Some(n - 1),
        _ => None,
    }
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    let selected = Memo::new(move |_| {
        let tab = query.read().get("tab").unwrap_or_default();
        TABS.iter().position(|t| t.id == tab).unwrap_or(0)
    });
    let select = Callback::new(move |(i, focus): (usize, bool)| {
        let path = location.pathname.get_untracked();
        navigate(
            &format!("{path}?tab={}", TABS[i].id),
            NavigateOptions { replace: true, scroll: false, ..Default::default() },
        );
        if focus {
            if let Some(el) = document().get_element_by_id(&format!("tab-{}", TABS[i].id)) {
                use leptos::wasm_bindgen::JsCast;
                if let Ok(el) = el.dyn_into::<leptos::web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        }
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if let Some(next) = tab_after_key(selected.get_untracked(), &ev.key()) {
            ev.prevent_default();
            select.run((next, true));
        }
    };

    view! {
        // The window title names the open tab, so browser history and tab strips tell them apart.
        <Title text=move || format!("{} · Integrations", TABS[selected.get()].label)/>
        <div class="mx-auto max-w-6xl">
            <h1 class="text-2xl font-semibold">"Integrations"</h1>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Webhooks, API keys and delivery logs for this tenant."</p>
            <div role="tablist" aria-label="Integrations" class="mt-6 flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800" on:keydown=on_keydown>
                {TABS.iter().enumerate().map(|(i, t)| {
                    let is_sel = move || selected.get() == i;
                    view! {
                        <button
                            type="button"
                            role="tab"
                            id=format!("tab-{}", t.id)
                            aria-controls=format!("panel-{}", t.id)
                            aria-selected=move || is_sel().to_string()
                            tabindex=move || if is_sel() { "0" } else { "-1" }
                            on:click=move |_| select.run((i, false))
                            class=move || format!(
                                "-mb-px whitespace-nowrap border-b-2 px-4 py-2 text-sm font-medium focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 {}",
                                if is_sel() { "border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300" } else { "border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-800 dark:text-slate-400 dark:hover:text-slate-200" },
                            )
                        >
                            {t.label}
                        </button>
                    }
                }).collect_view()}
            </div>
            {TABS.iter().enumerate().map(|(i, t)| {
                // A panel is built the first time its tab is shown and then kept (its filters and scroll stay):
                // the page carries the open tab only, not four panels and their data.
                let shown = Memo::new(move |before: Option<&bool>| before.copied().unwrap_or(false) || selected.get() == i);
                view! {
                    <div
                        role="tabpanel"
                        id=format!("panel-{}", t.id)
                        aria-labelledby=format!("tab-{}", t.id)
                        tabindex="0"
                        hidden=move || selected.get() != i
                        class="py-6 focus-visible:outline-none"
                    >
                        {move || shown.get().then(|| match t.id {
                            "webhooks" => view! { <super::webhooks::WebhooksPanel/> }.into_any(),
                            "api-keys" => view! { <super::api_keys::ApiKeysPanel/> }.into_any(),
                            "deliveries" => view! { <super::deliveries::DeliveriesPanel/> }.into_any(),
                            "events" => view! { <super::events::EventsPanel/> }.into_any(),
                            "apps" => view! { <super::apps::AppsPanel/> }.into_any(),
                            "audit" => view! { <super::audit::AuditPanel/> }.into_any(),
                            _ => view! { <super::event_types::EventTypesPanel/> }.into_any(),
                        })}
                    </div>
                }
            }).collect_view()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_keys_wrap() {
        assert_eq!(tab_after_key(0, "ArrowRight"), Some(1));
        let last = TABS.len() - 1;
        assert_eq!(tab_after_key(last, "ArrowRight"), Some(0));
        assert_eq!(tab_after_key(0, "ArrowLeft"), Some(last));
        assert_eq!(tab_after_key(2, "Home"), Some(0));
        assert_eq!(tab_after_key(1, "End"), Some(last));
        assert_eq!(tab_after_key(1, "a"), None);
    }
}
