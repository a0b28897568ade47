//! The one modal dialog: centered above everything, body scroll locked, focus trapped, closed by Esc, by the
//! backdrop and by its close button, with `role="dialog"` and `aria-modal`.

use super::icons::{Glyph, Icon};
use crate::model::{AppError, DEFAULT_ROTATION_GRACE_SECONDS};
use leptos::html;
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
const FOCUSABLE: &str =
    "a[href],button:not([disabled]),input:not([disabled]),select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex='-1'])";

#[component]
pub fn Modal(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    /// Used for the dialog's DOM id (`{id}`) and its title (`{id}-title`).
    #[prop(into)]
    id: String,
    /// Wider dialogs for forms with many sections.
    #[prop(optional)]
    wide: bool,
    /// A drawer at the right edge, full height (details beside a list) instead of a centered dialog.
    #[prop(optional)]
    side: bool,
    /// While true, Esc, the backdrop and the close button do nothing (e.g. until a key is confirmed copied).
    #[prop(optional, into)]
    locked: Signal<bool>,
    children: ChildrenFn,
) -> impl IntoView {
    let panel = NodeRef::<html::Div>::new();
    let title_id = format!("{id}-title");
    let close = move || {
        if !locked.get_untracked() {
            open.set(false);
        }
    };

    // Lock body scroll while open; move focus into the dialog and give it back on close.
    #[cfg(feature = "hydrate")]
    {
        let previous: StoredValue<Option<web_sys::HtmlElement>, LocalStorage> = StoredValue::new_local(None);
        Effect::new(move |_| {
            use wasm_bindgen::JsCast;
            let body = document().body();
            if open.get() {
                previous.set_value(document().active_element().and_then(|e| e.dyn_into().ok()));
                if let Some(b) = &body {
                    let _ = b.style().set_property("overflow", "hidden");
                }
                request_animation_frame(move || {
                    if let Some(p) = panel.get_untracked() {
                        let target = p
                            .query_selector("[autofocus]")
                            .ok()
                            .flatten()
                            .or_else(|| p.query_selector(FOCUSABLE).ok().flatten())
                            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                        let _ = target.map(|t| t.focus()).unwrap_or_else(|| p.focus());
                    }
                });
            } else {
                if let Some(b) = &body {
                    let _ = b.style().remove_property("overflow");
                }
                if let Some(el) = previous.get_value() {
                    let _ = el.focus();
                }
            }
        });
    }

    // Esc also works when focus has fallen out of the dialog (e.g. onto <body> after the focused button was
    // disabled while its action ran); the dialog's own handler marks the event handled first.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if open.get_untracked() && ev.key() == "Escape" && !ev.default_prevented() {
                ev.prevent_default();
                close();
            }
        });
        on_cleanup(move || handle.remove());
    }

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        #[cfg(feature = "hydrate")]
        "Tab" => trap_tab(&ev, panel),
        _ => {}
    };

    let (backdrop, frame) = match (side, wide) {
        (true, _) => ("justify-end", "h-full max-w-3xl"),
        (false, true) => ("items-center justify-center p-4", "max-w-3xl max-h-[90vh] rounded-xl"),
        (false, false) => ("items-center justify-center p-4", "max-w-lg max-h-[90vh] rounded-xl"),
    };
    view! {
        <Show when=move || open.get()>
            <div
                class=format!("fixed inset-0 z-[100] flex bg-slate-900/60 backdrop-blur-sm {backdrop}")
                data-testid="modal-backdrop"
                on:click=move |ev| {
                    // Only a click on the backdrop itself, not one bubbling up from the dialog.
                    if ev.target() == ev.current_target() {
                        close();
                    }
                }
            >
                <div
                    node_ref=panel
                    id=id.clone()
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby=title_id.clone()
                    tabindex="-1"
                    on:keydown=on_keydown
                    class=format!("relative w-full {frame} overflow-y-auto bg-white shadow-2xl ring-1 ring-slate-900/10 dark:bg-slate-900 dark:ring-white/10 focus:outline-none")
                >
                    <div class="flex items-center justify-between border-b border-slate-200 px-6 py-4 dark:border-slate-800">
                        <h2 id=title_id.clone() class="text-lg font-semibold">{move || title.get()}</h2>
                        <button
                            type="button"
                            aria-label="Close"
                            on:click=move |_| close()
                            disabled=move || locked.get()
                            class="rounded-md p-1 text-slate-500 hover:bg-slate-100 hover:text-slate-700 dark:hover:bg-slate-800 dark:hover:text-slate-200 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
                        >
                            <Icon glyph=Glyph::Close/>
                        </button>
                    </div>
                    <div class="px-6 py-4">{children()}</div>
                </div>
            </div>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
fn trap_tab(ev: &leptos::ev::KeyboardEvent, panel: NodeRef<html::Div>) {
    use wasm_bindgen::JsCast;
    let Some(p) = panel.get_untracked() else { return };
    let Ok(list) = p.query_selector_all(FOCUSABLE) else { return };
    let items: Vec<web_sys::HtmlElement> =
        (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into().ok()).collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        ev.prevent_default();
        return;
    };
    let active = document().active_element();
    let at = |el: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>());
    let outside = !active.as_ref().is_some_and(|a| p.contains(Some(a)));
    if ev.shift_key() && (at(first) || outside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (at(last) || outside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// A dialog's footer: the way out, then the one action, disabled while it runs (or while `blocked`). Without
/// `on_action` the action submits the enclosing form.
#[component]
pub fn DialogActions(
    /// "Cancel" unless told.
    #[prop(default = "Cancel")]
    dismiss: &'static str,
    #[prop(into)] on_dismiss: Callback<()>,
    /// The action's label, and what it says while pending ("Saving…"; the same label unless told).
    label: &'static str,
    #[prop(optional)] pending_label: Option<&'static str>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(optional, into)] blocked: Signal<bool>,
    #[prop(optional, into)] on_action: Option<Callback<()>>,
    /// A destructive action (red).
    #[prop(optional)]
    danger: bool,
    /// A spinner beside the label while pending (for actions that take a while).
    #[prop(optional)]
    spinner: bool,
) -> impl IntoView {
    use super::style::{DANGER_BUTTON, PRIMARY_BUTTON, SECONDARY_BUTTON};
    let class = if danger { DANGER_BUTTON } else { PRIMARY_BUTTON };
    let kind = if on_action.is_some() { "button" } else { "submit" };
    // A form spaces its own rows; a dialog's footer keeps its distance from the text above.
    let row = if on_action.is_some() { "mt-6 flex justify-end gap-2" } else { "flex justify-end gap-2" };
    view! {
        <div class=row>
            <button type="button" class=SECONDARY_BUTTON on:click=move |_| on_dismiss.run(())>{dismiss}</button>
            <button type=kind class=class disabled=move || pending.get() || blocked.get()
                on:click=move |_| if let Some(a) = on_action { a.run(()) }>
                {move || (spinner && pending.get()).then(|| view! { <span class="h-4 w-4 animate-spin rounded-full border-2 border-white/40 border-t-white" aria-hidden="true"></span> })}
                {move || if pending.get() { pending_label.unwrap_or(label) } else { label }}
            </button>
        </div>
    }
}

/// How long a rotated secret keeps working, bound to `grace` (seconds).
#[component]
pub fn GracePeriodField(#[prop(into)] id: String, grace: RwSignal<u64>) -> impl IntoView {
    use super::style::{INPUT_CLASS, LABEL};
    const CHOICES: &[(&str, &str)] = &[
        ("0", "None — the old secret stops now"),
        ("3600", "1 hour"),
        ("86400", "24 hours (recommended)"),
        ("604800", "7 days"),
    ];
    view! {
        <label for=id.clone() class=format!("{LABEL} mt-4")>"Grace period"</label>
        <select id=id class=INPUT_CLASS
            on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS))>
            {super::widgets::fixed_options(CHOICES, "86400")}
        </select>
    }
}

/// Confirms rotating a secret: what happens (`children`), how long the old secret keeps working (the
/// recommended period at each opening), and the action; `on_rotate` receives the period in seconds.
#[component]
pub fn RotateDialog(
    open: RwSignal<bool>,
    #[prop(into)] id: String,
    title: &'static str,
    /// The grace period field's DOM id.
    grace_id: &'static str,
    /// The action's label.
    label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] on_rotate: Callback<u64>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <Modal open=open id=id title=title>
            {
                let grace = RwSignal::new(DEFAULT_ROTATION_GRACE_SECONDS);
                view! {
                    {children()}
                    <GracePeriodField id=grace_id grace=grace/>
                    <DialogActions on_dismiss=move |_| open.set(false) label=label pending_label="Rotating…"
                        pending=pending on_action=move |_| on_rotate.run(grace.get_untracked())/>
                }
            }
        </Modal>
    }
}

/// Asks before a destructive action (red): what it does (`children`), then the way out and the action.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] id: String,
    title: &'static str,
    /// The action's label.
    label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] on_confirm: Callback<()>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <Modal open=open id=id title=title>
            {children()}
            <DialogActions on_dismiss=move |_| open.set(false) label=label danger=true pending=pending
                on_action=on_confirm/>
        </Modal>
    }
}

/// A page's create/edit dialog: whether it is open, the item edited (None: a new one), and the save. A failed
/// save stays in the form, beside its fields; a successful one closes it.
pub struct EditDialog<T: 'static, I: 'static, O: 'static> {
    pub open: RwSignal<bool>,
    pub editing: RwSignal<Option<T>>,
    pub save: Action<I, Result<O, AppError>>,
}

impl<T, I, O> Clone for EditDialog<T, I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, I, O> Copy for EditDialog<T, I, O> {}

impl<T, I, O> EditDialog<T, I, O>
where
    T: Send + Sync + 'static,
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    /// `done` gets what each successful save returns, once the dialog is closed.
    pub fn new(save: Action<I, Result<O, AppError>>, done: impl Fn(O) + 'static) -> Self {
        let dialog = EditDialog { open: RwSignal::new(false), editing: RwSignal::new(None), save };
        Effect::new(move |_| {
            if let Some(Ok(saved)) = save.value().get() {
                dialog.open.set(false);
                done(saved);
            }
        });
        dialog
    }

    /// Opens the form on `item` (None: a new one), without the last save's outcome.
    pub fn show(&self, item: Option<T>) {
        self.editing.set(item);
        self.save.value().set(None);
        self.open.set(true);
    }

    /// The last save's failure, for the form to show.
    pub fn error(&self) -> Signal<Option<AppError>> {
        let save = self.save;
        Signal::derive(move || save.value().get().and_then(|r| r.err()))
    }
}
