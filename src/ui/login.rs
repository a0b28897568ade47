//! The sign-in page: the password, then (for a person with a second factor) a code from their authenticator app
//! or a recovery code, or (when their tenant requires a second factor they lack) setting one up. The step is
//! in the address (`?step=code|recovery|enrol`), so a reload or a browser without WASM stays on it. Also the
//! authenticator set-up and the recovery codes the Account page shows.

use super::icons::{Glyph, Icon};
use super::style::{FIELD_ERROR, INPUT_CLASS, LABEL, LINK_BUTTON, PRIMARY_BUTTON, SECONDARY_BUTTON};
use crate::model::{AppError, TotpEnrolment};
use crate::server_fns::auth::{
    begin_enrolment_at_sign_in, confirm_enrolment_at_sign_in, step_path, Login, VerifySecondFactor,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// What a failed code check says beside the field.
fn code_error(e: &AppError) -> String {
    e.field_message("code").map(|m| format!("The code {m}.")).unwrap_or_else(|| e.message.clone())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    // Where to go after signing in: the page first asked for, when it is one of this site's.
    let next =
        query.with_untracked(|q| q.get("next")).filter(|n| crate::model::safe_next(n).is_some()).unwrap_or_default();
    let step = Memo::new(move |_| query.with(|q| q.get("step")).unwrap_or_default());
    let next = StoredValue::new(next);
    view! {
        <main class="flex min-h-screen items-center justify-center p-6">
            <div class=move || if step.get() == "enrol" { "w-full max-w-md" } else { "w-full max-w-sm" }>
                <div class="mb-8 flex items-center justify-center gap-2 text-indigo-600 dark:text-indigo-400">
                    <Icon glyph=Glyph::Puzzle class="h-8 w-8"/>
                    <span class="text-xl font-semibold text-slate-900 dark:text-white">"Integration Hub"</span>
                </div>
                <div class="rounded-xl bg-white p-8 shadow ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                    {move || match step.get().as_str() {
                        "code" => view! { <CodeStep next=next.get_value() recovery=false/> }.into_any(),
                        "recovery" => view! { <CodeStep next=next.get_value() recovery=true/> }.into_any(),
                        "enrol" => view! { <EnrolStep next=next.get_value()/> }.into_any(),
                        _ => view! { <PasswordStep next=next.get_value()/> }.into_any(),
                    }}
                </div>
            </div>
        </main>
    }
}

#[component]
fn PasswordStep(next: String) -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(|r| r.err()).map(|e| e.message);
    view! {
        <Title text="Sign in"/>
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
    }
}

/// The second step: a code from the app, or (`recovery`) one of the recovery codes.
#[component]
fn CodeStep(next: String, recovery: bool) -> impl IntoView {
    let verify = ServerAction::<VerifySecondFactor>::new();
    let error = move || verify.value().get().and_then(|r| r.err()).map(|e| code_error(&e));
    let other = step_path(
        if recovery { "code" } else { "recovery" },
        Some(&next).filter(|n| !n.is_empty()).map(|n| n.as_str()),
    );
    let (heading, label, hint) = if recovery {
        (
            "Use a recovery code",
            "Recovery code",
            "Each of the codes you saved when you set up two-factor sign-in works once.",
        )
    } else {
        (
            "Two-factor sign-in",
            "Code from your authenticator app",
            "Open your authenticator app and enter the 6-digit code it shows for Integration Hub.",
        )
    };
    view! {
        <Title text="Two-factor sign-in"/>
        <h1 class="mb-2 text-lg font-semibold">{heading}</h1>
        <p id="code-hint" class="mb-6 text-sm text-slate-600 dark:text-slate-400">{hint}</p>
        <ActionForm action=verify attr:class="space-y-4" attr:aria-describedby="code-error">
            <div>
                <label for="code" class="mb-1 block text-sm font-medium">{label}</label>
                {if recovery {
                    view! { <input id="code" name="code" type="text" autocomplete="off" autocapitalize="off" spellcheck="false" required
                        class=format!("{INPUT_CLASS} font-mono") aria-describedby="code-hint"/> }.into_any()
                } else {
                    view! { <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" maxlength="7" autocomplete="one-time-code" required
                        class=format!("{INPUT_CLASS} font-mono tracking-widest") aria-describedby="code-hint"/> }.into_any()
                }}
            </div>
            <input type="hidden" name="next" value=next/>
            <p id="code-error" role="alert" class="min-h-5 text-sm text-rose-600 dark:text-rose-400">{error}</p>
            <button type="submit" class=format!("{PRIMARY_BUTTON} w-full") disabled=move || verify.pending().get()>
                {move || if verify.pending().get() { "Checking…" } else { "Verify" }}
            </button>
        </ActionForm>
        <div class="mt-6 flex flex-wrap justify-between gap-2 text-sm">
            <a href=other class=LINK_BUTTON>{if recovery { "Use your authenticator app" } else { "Use a recovery code" }}</a>
            <a href="/login" class=LINK_BUTTON>"Start over"</a>
        </div>
    }
}

/// Enrolment during sign-in: the tenant requires a second factor and this person has none yet. Nothing else
/// opens until it is set up; then the recovery codes are shown once and the app opens.
#[component]
fn EnrolStep(next: String) -> impl IntoView {
    let enrolment = Resource::new(|| (), |_| begin_enrolment_at_sign_in());
    let confirm = Action::new(|code: &String| confirm_enrolment_at_sign_in(code.clone()));
    let error = Signal::derive(move || confirm.value().get().and_then(|r| r.err()));
    let codes = Signal::derive(move || confirm.value().get().and_then(|r| r.ok()));
    let to = if next.is_empty() { "/integrations".to_string() } else { next };
    view! {
        <Title text="Set up two-factor sign-in"/>
        <h1 class="mb-2 text-lg font-semibold">"Set up two-factor sign-in"</h1>
        <Suspense fallback=|| view! { <p class="text-sm">"Loading…"</p> }>
            {move || match (codes.get(), enrolment.get()) {
                (Some(list), _) => {
                    let to = to.clone();
                    view! {
                        <RecoveryCodes codes=list/>
                        // A full load, so the shell is rendered for the session just opened.
                        <a href=to rel="external" class=format!("{PRIMARY_BUTTON} mt-6 w-full")>"Continue"</a>
                    }.into_any()
                }
                (None, Some(Err(e))) => view! {
                    <p role="alert" class="mt-2 text-sm text-rose-700 dark:text-rose-400">{e.message}</p>
                    <a href="/login" class=format!("{LINK_BUTTON} mt-4 inline-block")>"Sign in again"</a>
                }.into_any(),
                (None, Some(Ok(e))) => view! {
                    <p class="mb-4 text-sm text-slate-600 dark:text-slate-400">
                        "Your tenant requires a second factor at sign-in. Set one up to continue."
                    </p>
                    <EnrolForm enrolment=e pending=confirm.pending() error=error
                        on_code=Callback::new(move |code: String| { confirm.dispatch(code); })/>
                }.into_any(),
                (None, None) => ().into_any(),
            }}
        </Suspense>
    }
}

/// An authenticator's set-up: the QR code (drawn by the server), the secret to type by hand, and the code that
/// confirms it.
#[component]
pub fn EnrolForm(
    enrolment: TotpEnrolment,
    #[prop(into)] pending: Signal<bool>,
    error: Signal<Option<AppError>>,
    on_code: Callback<String>,
) -> impl IntoView {
    let toasts = super::toast::use_toasts();
    let code = RwSignal::new(String::new());
    let secret = enrolment.secret.clone();
    let grouped = enrolment
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <ol class="list-decimal space-y-2 pl-5 text-sm text-slate-700 dark:text-slate-300">
            <li>"Scan this QR code with an authenticator app (1Password, Google Authenticator, Authy, …)."</li>
            <li>"Enter the 6-digit code the app shows."</li>
        </ol>
        <div class="mx-auto mt-4 w-48 rounded-md bg-white p-2 ring-1 ring-slate-200 dark:ring-slate-700" role="img"
            aria-label="QR code to add Integration Hub to an authenticator app" data-testid="totp-qr" inner_html=enrolment.qr_svg.clone()></div>
        <p class="mt-4 text-sm text-slate-700 dark:text-slate-300">"Cannot scan it? Enter this key in the app:"</p>
        <div class="mt-1 flex items-center gap-2">
            <code class="flex-1 break-all rounded bg-slate-100 px-2 py-1 font-mono text-sm text-slate-900 dark:bg-slate-800 dark:text-slate-100"
                data-testid="totp-secret" data-secret=enrolment.secret.clone()>{grouped}</code>
            <button type="button" class=SECONDARY_BUTTON on:click=move |_| super::copy_text(secret.clone(), toasts, "Key copied")>"Copy key"</button>
        </div>
        <form class="mt-4 space-y-2" on:submit=move |ev| {
            ev.prevent_default();
            on_code.run(code.get_untracked());
        }>
            <label for="enrol-code" class=LABEL>"Code from the app"</label>
            <input id="enrol-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7" required
                class=format!("{INPUT_CLASS} font-mono tracking-widest")
                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string() aria-describedby="enrol-code-error"/>
            <p id="enrol-code-error" role="alert" class=FIELD_ERROR>{move || error.get().map(|e| code_error(&e))}</p>
            <button type="submit" class=format!("{PRIMARY_BUTTON} w-full") disabled=move || pending.get()>
                {move || if pending.get() { "Checking…" } else { "Turn on two-factor sign-in" }}
            </button>
        </form>
    }
}

/// Recovery codes, shown once, with copy and download.
#[component]
pub fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let toasts = super::toast::use_toasts();
    let text = codes.join("\n");
    let download = format!("data:text/plain;charset=utf-8,{}", text.replace('\n', "%0A"));
    view! {
        <div data-testid="recovery-codes">
            <p class="rounded-md bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-500/10 dark:text-amber-200" role="note">
                "Save these recovery codes now: each signs you in once if you lose your authenticator. They are not shown again."
            </p>
            <ol class="mt-4 grid grid-cols-2 gap-2 font-mono text-sm" aria-label="Recovery codes">
                {codes.into_iter().map(|c| view! { <li class="rounded bg-slate-100 px-2 py-1 text-center dark:bg-slate-800">{c}</li> }).collect_view()}
            </ol>
            <div class="mt-4 flex gap-2">
                <button type="button" class=SECONDARY_BUTTON on:click=move |_| super::copy_text(text.clone(), toasts, "Recovery codes copied")>"Copy codes"</button>
                <a class=SECONDARY_BUTTON href=download download="integration-hub-recovery-codes.txt">"Download"</a>
            </div>
        </div>
    }
}
