//! Small pieces several pages share: a table in a card, what an empty list shows, a select's fixed choices.

use super::style::{FIELD_ERROR, INPUT_CLASS, LABEL, PRIMARY_BUTTON, SECONDARY_BUTTON};
use leptos::prelude::*;

/// A column of a [`CardTable`], by how its heading sits.
#[derive(Clone, Copy)]
pub enum Column {
    Left(&'static str),
    /// Figures, aligned right.
    Right(&'static str),
    /// Read to screen readers only (a column of buttons).
    Unseen(&'static str),
}

fn heading(c: Column) -> AnyView {
    match c {
        Column::Left(t) => view! { <th scope="col" class="px-4 py-3">{t}</th> }.into_any(),
        Column::Right(t) => view! { <th scope="col" class="px-4 py-3 text-right">{t}</th> }.into_any(),
        Column::Unseen(t) => {
            view! { <th scope="col" class="px-4 py-3"><span class="sr-only">{t}</span></th> }.into_any()
        }
    }
}

/// A table in a card, scrolling sideways on narrow screens; `children` are its rows.
#[component]
pub fn CardTable(
    columns: &'static [Column],
    /// The table's accessible name.
    #[prop(optional)]
    label: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    // `relative`: the visually hidden column labels are positioned absolutely, and without a positioned scroller
    // they escape it and widen the whole page on a narrow screen.
    view! {
        <div class="relative mt-6 overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800" aria-label=label>
                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600 dark:bg-slate-800/50 dark:text-slate-300">
                    <tr>{columns.iter().map(|c| heading(*c)).collect_view()}</tr>
                </thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">{children()}</tbody>
            </table>
        </div>
    }
}

/// What a list shows while it has nothing: a heading, a line on how things get there (`children`), and the
/// action that adds the first one, as (label, what it does).
#[component]
pub fn EmptyState(
    title: &'static str,
    #[prop(optional)] action: Option<(&'static str, Callback<()>)>,
    children: Children,
) -> impl IntoView {
    // The first-item action is a write: a viewer is not offered it.
    let action = action.filter(|_| use_context::<crate::model::ShellContext>().is_none_or(|c| c.can_write()));
    view! {
        <div class="mt-6 rounded-xl border border-dashed border-slate-300 p-10 text-center dark:border-slate-700">
            <h3 class="text-base font-semibold">{title}</h3>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{children()}</p>
            {action.map(|(label, run)| view! {
                <button type="button" class=format!("{PRIMARY_BUTTON} mt-4") on:click=move |_| run.run(())>
                    {label}
                </button>
            })}
        </div>
    }
}

/// The button under a keyset-paged list that fetches the page after `cursor` (`label`, "Loading…" while
/// `pending`, and disabled then so one click fetches one page).
#[component]
pub fn LoadMore(
    cursor: String,
    pending: Signal<bool>,
    on_load: Callback<String>,
    #[prop(default = "Load more")] label: &'static str,
) -> impl IntoView {
    view! {
        <div class="mt-4 flex justify-center">
            <button type="button" class=SECONDARY_BUTTON disabled=move || pending.get()
                on:click=move |_| on_load.run(cursor.clone())>
                {move || if pending.get() { "Loading…" } else { label }}
            </button>
        </div>
    }
}

/// One field of a filter form that edits a draft applied on submit: its label, an input of type `kind`.
#[component]
pub fn FilterField(
    label: &'static str,
    id: &'static str,
    kind: &'static str,
    value: Signal<String>,
    on_input: Callback<String>,
) -> impl IntoView {
    view! {
        <div>
            <label for=id class=LABEL>{label}</label>
            <input id=id type=kind class=INPUT_CLASS prop:value=move || value.get()
                on:input=move |ev| on_input.run(event_target_value(&ev))/>
        </div>
    }
}

/// A select's fixed choices as (value, label), with `selected` chosen at first.
pub fn fixed_options(choices: &'static [(&'static str, &'static str)], selected: &'static str) -> impl IntoView {
    choices
        .iter()
        .map(|&(value, label)| view! { <option value=value selected=value == selected>{label}</option> })
        .collect_view()
}

/// A text input with its label and, below, the error the server found in it (`{id}-error`, which describes the
/// input).
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    #[prop(optional)] autofocus: bool,
    /// The input's `type` (text unless told).
    #[prop(optional)]
    kind: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    /// Code-like values (URLs) in a monospace font.
    #[prop(optional)]
    mono: bool,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let class = if mono { format!("{INPUT_CLASS} font-mono") } else { INPUT_CLASS.to_string() };
    view! {
        <div>
            <label for=id class=LABEL>{label}</label>
            <input id=id type=kind class=class placeholder=placeholder autofocus=autofocus
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string() aria-describedby=error_id.clone()/>
            <p id=error_id class=FIELD_ERROR>{move || error.get()}</p>
        </div>
    }
}
