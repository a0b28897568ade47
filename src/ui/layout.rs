//! The signed-in frame: sidebar (a drawer on narrow screens), top bar with tenant switcher, theme, help and
//! sign-out. The server decides access: without a session the page redirects to /login; another tenant's page
//! is a 403.

use super::icons::{Glyph, Icon};
use super::modal::Modal;
use super::theme::ThemeToggle;
use super::{set_page_status, ErrorPage};
use crate::model::{AppError, ErrorCode, ShellContext};
use crate::server_fns::auth::Logout;
use crate::server_fns::shell::{get_shell_context, home_tenant};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate, use_params_map};

/// `/integrations`: sends the user to their tenant's page.
#[component]
pub fn HomeRedirect() -> impl IntoView {
    let target = Resource::new(|| (), |_| home_tenant());
    view! {
        <Suspense fallback=|| view! { <p class="p-6">"Loading…"</p> }>
            {move || target.get().map(|r| match r {
                Ok(Some(t)) => view! { <Redirect path=format!("/t/{t}/integrations")/> }.into_any(),
                Ok(None) => view! { <ErrorPage code=404 title="No tenants yet" message="Create a tenant with `integration-hub tenant create --name <name>`."/> }.into_any(),
                Err(e) => access_error(e).into_any(),
            })}
        </Suspense>
    }
}

/// The page for a failed access check: sign-in for 401, an error page otherwise.
pub fn access_error(e: AppError) -> impl IntoView {
    match e.code {
        ErrorCode::Unauthorized => {
            // Back to the page first asked for once signed in.
            let here = leptos_router::hooks::use_location();
            let (path, search) = (here.pathname.get_untracked(), here.search.get_untracked());
            let asked = if search.is_empty() { path } else { format!("{path}?{}", search.trim_start_matches('?')) };
            view! { <Redirect path=crate::model::login_path(&asked)/> }.into_any()
        }
        ErrorCode::Forbidden => {
            set_page_status(403);
            view! { <ErrorPage code=403 title="Access denied" message=e.message/> }.into_any()
        }
        ErrorCode::NotFound => {
            set_page_status(404);
            view! { <ErrorPage code=404 title="Not found" message=e.message/> }.into_any()
        }
        _ => view! { <ErrorPage code=500 title="Something went wrong" message=e.message/> }.into_any(),
    }
}

/// The current tenant's id, for the server calls of the components inside [`TenantLayout`].
pub fn use_tenant_id() -> StoredValue<String> {
    StoredValue::new(expect_context::<ShellContext>().tenant.id)
}

#[component]
pub fn TenantLayout() -> impl IntoView {
    let params = use_params_map();
    let tenant = move || params.read().get("tenant").unwrap_or_default();
    let ctx = Resource::new(tenant, get_shell_context);
    view! {
        <Suspense fallback=|| view! { <p class="p-6">"Loading…"</p> }>
            {move || ctx.get().map(|r| match r {
                Ok(c) => view! { <Frame ctx=c/> }.into_any(),
                Err(e) => access_error(e).into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Frame(ctx: ShellContext) -> impl IntoView {
    let drawer = RwSignal::new(false);
    let help = RwSignal::new(false);
    provide_context(ctx.clone());
    let tenant_id = ctx.tenant.id.clone();
    view! {
        <div class="min-h-screen md:flex">
            // Drawer backdrop on narrow screens.
            <Show when=move || drawer.get()>
                <div class="fixed inset-0 z-30 bg-slate-900/50 md:hidden" on:click=move |_| drawer.set(false)></div>
            </Show>
            <aside
                id="sidebar"
                class=move || format!(
                    "fixed inset-y-0 left-0 z-40 w-64 transform border-r border-slate-200 bg-white transition-transform dark:border-slate-800 dark:bg-slate-900 md:static md:translate-x-0 {}",
                    if drawer.get() { "translate-x-0" } else { "-translate-x-full" },
                )
            >
                <Sidebar tenant_id=tenant_id.clone() on_navigate=move || drawer.set(false)/>
            </aside>
            <div class="flex min-w-0 flex-1 flex-col">
                <header class="sticky top-0 z-20 flex h-14 items-center gap-3 border-b border-slate-200 bg-white/90 px-4 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
                    <button type="button" class="rounded-md p-2 md:hidden" aria-label="Open navigation" aria-controls="sidebar" aria-expanded=move || drawer.get().to_string() on:click=move |_| drawer.update(|d| *d = !*d)>
                        <Icon glyph=Glyph::Menu class="h-6 w-6"/>
                    </button>
                    <TenantSwitcher ctx=ctx.clone()/>
                    <div class="ml-auto flex items-center gap-1">
                        <span class="hidden text-sm text-slate-500 dark:text-slate-400 sm:inline" data-testid="user-email">{ctx.user.email.clone()}</span>
                        <button type="button" id="help-button" aria-label="Help" title="Help" on:click=move |_| help.set(true) class="rounded-md p-2 text-sm font-semibold text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800">"?"</button>
                        <ThemeToggle/>
                        <LogoutButton/>
                    </div>
                </header>
                <main class="flex-1 p-4 sm:p-6 lg:p-8">
                    // A failing panel shows a readable message instead of taking the page down.
                    <ErrorBoundary fallback=|errors| view! {
                        <div role="alert" class="rounded-md bg-rose-50 p-4 text-sm text-rose-800 dark:bg-rose-500/10 dark:text-rose-300">
                            <p class="font-semibold">"Something went wrong while showing this page."</p>
                            <ul class="mt-2 list-disc pl-5">
                                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
                            </ul>
                        </div>
                    }>
                        <Outlet/>
                    </ErrorBoundary>
                </main>
            </div>
        </div>
        <Modal open=help title="Help" id="help-dialog">
            <HelpContent/>
        </Modal>
    }
}

#[component]
fn Sidebar(tenant_id: String, on_navigate: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let location = use_location();
    let ctx = expect_context::<ShellContext>();
    let manages = super::people::manages_people(&ctx);
    let admin = ctx.user.role == crate::model::Role::Admin;
    let link = move |page: &'static str, label: &'static str, icon: AnyView| {
        let href = format!("/t/{tenant_id}/{page}");
        let active = move || location.pathname.get().ends_with(&format!("/{page}"));
        view! {
            <a
                href=href
                on:click=move |_| on_navigate()
                aria-current=move || active().then_some("page")
                class=move || format!(
                    "flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500 {}",
                    if active() { "bg-indigo-50 text-indigo-700 dark:bg-indigo-500/10 dark:text-indigo-300" } else { "text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800" },
                )
            >
                {icon}
                {label}
            </a>
        }
    };
    view! {
        <div class="flex h-14 items-center gap-2 border-b border-slate-200 px-4 font-semibold dark:border-slate-800">
            <span class="text-indigo-600 dark:text-indigo-400"><Icon glyph=Glyph::Puzzle class="h-6 w-6"/></span>
            "Integration Hub"
        </div>
        <nav class="space-y-1 p-3" aria-label="Main">
            {link("integrations", "Integrations", view! { <Icon glyph=Glyph::Puzzle/> }.into_any())}
            {link("tools", "Developer tools", view! { <Icon glyph=Glyph::Wrench/> }.into_any())}
            {manages.then(|| link("people", "Users", view! { <Icon glyph=Glyph::Users/> }.into_any()))}
            {admin.then(|| link("tenants", "Tenants", view! { <Icon glyph=Glyph::Building/> }.into_any()))}
            {link("account", "Account", view! { <Icon glyph=Glyph::UserCircle/> }.into_any())}
        </nav>
    }
}

#[component]
fn TenantSwitcher(ctx: ShellContext) -> impl IntoView {
    let navigate = use_navigate();
    let current = ctx.tenant.id.clone();
    let on_change = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        navigate(&format!("/t/{id}/integrations"), Default::default());
    };
    view! {
        <label for="tenant-switcher" class="sr-only">"Tenant"</label>
        <select
            id="tenant-switcher"
            on:change=on_change
            disabled=ctx.tenants.len() < 2
            class="max-w-[12rem] rounded-md border-0 bg-transparent py-1 pl-2 pr-8 text-sm font-medium ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:ring-slate-700 dark:bg-slate-900"
        >
            {ctx.tenants.iter().map(|t| {
                let selected = t.id == current;
                // Suspended tenants stay reachable (to resume them) and say so.
                let name = if t.suspended_at.is_some() { format!("{} (suspended)", t.name) } else { t.name.clone() };
                view! { <option value=t.id.clone() selected=selected>{name}</option> }
            }).collect_view()}
        </select>
    }
}

#[component]
fn LogoutButton() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout>
            <button type="submit" id="logout" class="rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800">
                "Sign out"
            </button>
        </ActionForm>
    }
}

#[component]
fn HelpContent() -> impl IntoView {
    view! {
        <div class="space-y-3 text-sm">
            <p>"Integration Hub sends your product's events to your customers' webhook endpoints and issues the API keys that publish them."</p>
            <ul class="list-disc space-y-1 pl-5">
                <li>"Tabs: use ← → (Home/End) to move between them."</li>
                <li>"Dialogs: Esc or a click outside closes them."</li>
                <li>"REST API: " <code class="rounded bg-slate-100 px-1 dark:bg-slate-800">"/api/v1"</code> " with an API key."</li>
                <li><a rel="external" href=format!("/t/{}/reference", use_tenant_id().get_value()) class="font-medium text-indigo-700 underline dark:text-indigo-300">"API reference"</a> ": every route, code samples, and a form to try each with your key."</li>
            </ul>
            <p class="text-slate-500 dark:text-slate-400">"Version " {env!("CARGO_PKG_VERSION")}</p>
        </div>
    }
}
