//! The Event types tab: the catalog grouped by category, with descriptions and example payloads.

use super::style::*;
use crate::model::EventType;
use crate::server_fns::webhooks::list_event_types;
use leptos::prelude::*;

#[component]
pub fn EventTypesPanel() -> impl IntoView {
    let types = Resource::new(|| (), |_| list_event_types());
    view! {
        <Transition fallback=|| view! { <p class="text-sm">"Loading the catalog…"</p> }>
            {move || types.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(list) => {
                    let mut groups: Vec<(String, Vec<EventType>)> = Vec::new();
                    for t in list {
                        match groups.iter_mut().find(|(c, _)| *c == t.category) {
                            Some((_, v)) => v.push(t),
                            None => groups.push((t.category.clone(), vec![t])),
                        }
                    }
                    view! {
                        <div class="space-y-6">
                            {groups.into_iter().map(|(category, items)| view! {
                                <section aria-label=category.clone()>
                                    <h3 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">{category.clone()}</h3>
                                    <div class="grid gap-2 lg:grid-cols-2">
                                        {items.into_iter().map(|t| view! {
                                            <details data-testid="event-type" class="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                                                <summary class="cursor-pointer">
                                                    <code class="font-mono text-sm font-semibold">{t.name.clone()}</code>
                                                    {t.archived.then(|| view! { <span class=format!("{} ml-2", badge("gray"))>"Archived"</span> })}
                                                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{t.description.clone()}</p>
                                                </summary>
                                                <pre class="mt-2 max-h-64 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{serde_json::to_string_pretty(&t.example).unwrap_or_default()}</pre>
                                            </details>
                                        }).collect_view()}
                                    </div>
                                </section>
                            }).collect_view()}
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
