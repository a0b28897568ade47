//! Toasts: short messages at the corner of the screen (announced to screen readers), dismissed after a while.

use crate::model::AppError;
use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ToastKind {
    Success,
    Error,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

pub fn provide_toasts() {
    provide_context(Toasts { list: RwSignal::new(Vec::new()), next: StoredValue::new(0) });
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

impl Toasts {
    pub fn push(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| l.push(Toast { id, kind, message: message.into() }));
        let list = self.list;
        set_timeout(
            move || list.update(|l| l.retain(|t| t.id != id)),
            std::time::Duration::from_millis(if kind == ToastKind::Error { 8000 } else { 4000 }),
        );
    }
    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message);
    }
    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message);
    }
    pub fn info(&self, message: impl Into<String>) {
        self.push(ToastKind::Info, message);
    }
    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

/// Runs `done` with each value `action` succeeds with; a failure is shown as an error toast.
pub fn on_success<I, O>(action: Action<I, Result<O, AppError>>, done: impl Fn(O) + 'static)
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let toasts = use_toasts();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(v)) => done(v),
        Some(Err(e)) => toasts.error(e.message),
        None => {}
    });
}

/// What the toast says after something was enabled or disabled.
pub fn toggled(name: &str, active: bool) -> String {
    format!("“{name}” {}", if active { "enabled" } else { "disabled" })
}

#[component]
pub fn Toaster() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div aria-live="polite" class="pointer-events-none fixed bottom-4 right-4 z-[200] flex w-80 max-w-[calc(100vw-2rem)] flex-col gap-2">
            <For each=move || toasts.list.get() key=|t| t.id let:t>
                {
                    let (ring, role) = match t.kind {
                        ToastKind::Success => ("border-l-4 border-emerald-500", "status"),
                        ToastKind::Error => ("border-l-4 border-rose-500", "alert"),
                        ToastKind::Info => ("border-l-4 border-indigo-500", "status"),
                    };
                    let id = t.id;
                    view! {
                        <div role=role data-testid="toast" class=format!("pointer-events-auto flex items-start gap-3 rounded-lg bg-white p-3 text-sm shadow-lg ring-1 ring-slate-900/10 dark:bg-slate-800 dark:ring-white/10 {ring}")>
                            <p class="flex-1">{t.message.clone()}</p>
                            <button type="button" aria-label="Dismiss" class="text-slate-500 hover:text-slate-800 dark:hover:text-white" on:click=move |_| toasts.dismiss(id)>"×"</button>
                        </div>
                    }
                }
            </For>
        </div>
    }
}
