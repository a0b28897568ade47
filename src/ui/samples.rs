//! Code samples for an event type: publish it, and receive and verify a delivery of it, in each language, from
//! the one source in `model/samples.rs` (which the tests run). The address is the one this page was opened on.

use super::style::*;
use crate::model::samples::{sample, SampleInput, SampleKind, SampleLang};
use leptos::prelude::*;
use serde_json::Value;

/// The hub's address as the reader reaches it: the page's origin once in the browser (the server renders a
/// placeholder, replaced as soon as the page hydrates).
fn use_origin() -> ReadSignal<String> {
    let (origin, set_origin) = signal("https://your-hub.example".to_string());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Ok(o) = window().location().origin() {
            set_origin.set(o);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = set_origin;
    });
    origin
}

#[component]
pub fn CodeSamples(#[prop(into)] event_type: String, data: Value) -> impl IntoView {
    let origin = use_origin();
    let id = event_type.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let (event_type, data) = (StoredValue::new(event_type), StoredValue::new(data));
    view! {
        <div class="space-y-3" data-testid="code-samples">
            {[SampleKind::Publish, SampleKind::Verify].into_iter().map(|kind| {
                let text = move |lang: SampleLang| {
                    let base = origin.get();
                    let t = event_type.get_value();
                    data.with_value(|d| sample(kind, lang, &SampleInput { base_url: &base, event_type: &t, data: d }))
                };
                view! { <SampleTabs kind=kind id=format!("{id}-{kind:?}") text=text/> }
            }).collect_view()}
        </div>
    }
}

/// One kind of sample with a tab per language (arrow keys move between tabs) and a copy button.
#[component]
fn SampleTabs(
    kind: SampleKind,
    id: String,
    text: impl Fn(SampleLang) -> Option<crate::model::samples::Sample> + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let langs = kind.languages();
    let current = RwSignal::new(langs[0]);
    let toasts = super::toast::use_toasts();
    let panel = format!("{id}-panel");
    let heading = "mb-1 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300";
    let tab_prefix = id.clone();
    // Arrow keys move the selection and the focus together, as in any tablist.
    let step = move |by: isize| {
        let i = langs.iter().position(|l| *l == current.get_untracked()).unwrap_or(0) as isize;
        let next = langs[(i + by).rem_euclid(langs.len() as isize) as usize];
        current.set(next);
        #[cfg(feature = "hydrate")]
        if let Some(tab) = document().get_element_by_id(&format!("{tab_prefix}-{}", next.id())) {
            use wasm_bindgen::JsCast;
            let _ = tab.unchecked_into::<web_sys::HtmlElement>().focus();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &tab_prefix;
    };
    view! {
        <div>
            <p class=heading id=format!("{id}-label")>{kind.label()}</p>
            <div class="flex flex-wrap items-center gap-1">
            <div class="flex flex-wrap gap-1" role="tablist" aria-labelledby=format!("{id}-label")
                on:keydown=move |ev| match ev.key().as_str() {
                    "ArrowRight" => step(1),
                    "ArrowLeft" => step(-1),
                    _ => {}
                }>
                {langs.iter().map(|&lang| {
                    let selected = move || current.get() == lang;
                    view! {
                        <button type="button" role="tab" id=format!("{id}-{}", lang.id()) aria-controls=panel.clone()
                            aria-selected=move || selected().to_string() tabindex=move || if selected() { "0" } else { "-1" }
                            data-testid=format!("sample-tab-{}", lang.id())
                            class=move || format!("rounded px-2 py-1 text-xs font-medium {}", if selected() {
                                "bg-indigo-600 text-white"
                            } else {
                                "text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
                            })
                            on:click=move |_| current.set(lang)>
                            {lang.label()}
                        </button>
                    }
                }).collect_view()}
            </div>
                <button type="button" class=format!("{LINK_BUTTON} ml-auto") aria-label=format!("Copy the {} sample", kind.label().to_lowercase())
                    on:click=move |_| if let Some(s) = text(current.get_untracked()) {
                        super::copy_text(s.text, toasts, "Sample copied");
                    }>
                    "Copy"
                </button>
            </div>
            <div role="tabpanel" id=panel.clone() aria-labelledby=move || format!("{id}-{}", current.get().id())
                class="mt-1 rounded-md bg-slate-100 p-3 dark:bg-slate-800">
                {move || text(current.get()).map(|s| view! {
                    <p class="mb-1 font-mono text-xs text-slate-600 dark:text-slate-300">{s.file_name}</p>
                    <pre class="max-h-80 overflow-auto text-xs" tabindex="0"><code data-testid="sample-code">{s.text}</code></pre>
                })}
            </div>
        </div>
    }
}
