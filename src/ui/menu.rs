//! An actions menu (WAI-ARIA menu button): Enter/Space/↓ opens it on the first item, ↑/↓/Home/End move, Esc
//! closes and returns focus to the button, a click outside closes it.

use leptos::html;
use leptos::prelude::*;

#[component]
pub fn ActionsMenu(#[prop(into)] label: String, items: Vec<(String, Callback<()>)>) -> impl IntoView {
    let open = RwSignal::new(false);
    let list = NodeRef::<html::Ul>::new();
    let button = NodeRef::<html::Button>::new();
    let count = items.len();
    let focus_item = move |i: usize| {
        #[cfg(feature = "hydrate")]
        request_animation_frame(move || {
            use wasm_bindgen::JsCast;
            if let Some(el) = list
                .get_untracked()
                .and_then(|l| l.query_selector_all("[role=menuitem]").ok())
                .and_then(|n| n.item(i as u32))
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = i;
    };
    let close = move |refocus: bool| {
        open.set(false);
        if refocus {
            if let Some(b) = button.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    let on_button_key = move |ev: leptos::ev::KeyboardEvent| {
        if matches!(ev.key().as_str(), "ArrowDown" | "Enter" | " ") {
            ev.prevent_default();
            open.set(true);
            focus_item(0);
        }
    };
    let on_menu_key = move |ev: leptos::ev::KeyboardEvent| {
        // The focused item's index (0 when none is).
        let current = move || -> usize {
            #[cfg(feature = "hydrate")]
            {
                let active = document().active_element();
                let items = list.get_untracked().and_then(|l| l.query_selector_all("[role=menuitem]").ok());
                if let (Some(a), Some(items)) = (active, items) {
                    return (0..items.length())
                        .find(|i| items.item(*i).is_some_and(|n| a.is_same_node(Some(&n))))
                        .unwrap_or(0) as usize;
                }
            }
            0
        };
        match ev.key().as_str() {
            "ArrowDown" => focus_item((current() + 1) % count),
            "ArrowUp" => focus_item((current() + count - 1) % count),
            "Home" => focus_item(0),
            "End" => focus_item(count - 1),
            "Escape" | "Tab" => close(ev.key() == "Escape"),
            _ => return,
        }
        if ev.key() != "Tab" {
            ev.prevent_default();
        }
    };
    view! {
        <div class="relative" on:focusout=move |ev: leptos::ev::FocusEvent| {
            // Closes when focus leaves the whole menu (click elsewhere, Tab away).
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                let inside = ev.related_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
                    .zip(ev.current_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok()))
                    .is_some_and(|(t, me)| me.contains(Some(&t)));
                if !inside {
                    open.set(false);
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = ev;
        }>
            <button type="button" node_ref=button aria-haspopup="menu" aria-expanded=move || open.get().to_string() aria-label=label.clone()
                class="rounded-md px-2 py-1 text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
                on:click=move |_| open.update(|o| *o = !*o) on:keydown=on_button_key>
                <span aria-hidden="true">"⋯"</span>
            </button>
            <Show when=move || open.get()>
                <ul node_ref=list role="menu" aria-label=label.clone() on:keydown=on_menu_key
                    class="absolute right-0 z-50 mt-1 w-44 rounded-md bg-white py-1 shadow-lg ring-1 ring-slate-900/10 dark:bg-slate-800 dark:ring-white/10">
                    {items.clone().into_iter().map(|(text, cb)| view! {
                        <li role="none">
                            <button type="button" role="menuitem" tabindex="-1"
                                class="block w-full px-3 py-1.5 text-left text-sm hover:bg-slate-100 focus:bg-slate-100 focus:outline-none dark:hover:bg-slate-700 dark:focus:bg-slate-700"
                                on:click=move |_| { open.set(false); cb.run(()); }>
                                {text}
                            </button>
                        </li>
                    }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}
