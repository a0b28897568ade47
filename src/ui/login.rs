//! The sign-in page.

use super::icons::{Glyph, Icon};
use super::style::{INPUT_CLASS, PRIMARY_BUTTON};
use crate::server_fns::auth::Login;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    // Where to go after signing in: the page first asked for, when it is one of this site's.
    let next = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("next"))
        .filter(|n| crate::model::safe_next(n).is_some())
        .unwrap_or_default();
    let error = move || login.value().get().and_then(|r| r.err()).map(|e| e.message);
    view! {
        <Title text="Sign in"/>
        <main class="flex min-h-screen items-center justify-center p-6">
            <div class="w-full max-w-sm">
                <div class="mb-8 flex items-center justify-center gap-2 text-indigo-600 dark:text-indigo-400">
                    <Icon glyph=Glyph::Puzzle class="h-8 w-8"/>
                    <span class="text-xl font-semibold text-slate-900 dark:text-white">"Integration Hub"</span>
                </div>
                <div class="rounded-xl bg-white p-8 shadow ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                    <h1 class="mb-6 text-lg font-semibold">"Sign in"</h1>
                    <ActionForm action=login attr:class="space-y-4" attr:aria-describedby="login-error">
                        <div>
                            <label for="email" class="mb-1 block text-sm font-medium">"Email"</label>
                            <input id="email" name="email" type="email" autocomplete="username" required class=INPUT_CLASS/>
                        </div>
                        <div>
                            <label for="password" class="mb-1 block text-sm font-medium">"Password"</label>
                            <input id="password" name="password" type="password" autocomplete="current-password" required class=INPUT_CLASS/>
                        </div>
                        <input type="hidden" name="next" value=next/>
                        <p id="login-error" role="alert" class="min-h-5 text-sm text-rose-600 dark:text-rose-400">{error}</p>
                        <button type="submit" class=format!("{PRIMARY_BUTTON} w-full") disabled=move || login.pending().get()>
                            {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </ActionForm>
                </div>
            </div>
        </main>
    }
}
