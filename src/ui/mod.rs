//! The browser UI: one component tree, rendered on the server and hydrated in the browser.

pub mod api_keys;
pub mod apps;
pub mod audit;
pub mod charts;
pub mod deliveries;
pub mod destinations;
pub mod event_types;
pub mod events;
pub mod icons;
pub mod integrations;
pub mod json;
pub mod layout;
pub mod login;
pub mod menu;
pub mod modal;
pub mod people;
pub mod portal;
pub mod portal_links;
pub mod reference;
pub mod samples;
pub mod style;
pub mod tenants;
pub mod test_fire;
pub mod theme;
pub mod time;
pub mod toast;
pub mod tools;
pub mod usage;
pub mod webhook_form;
pub mod webhooks;
pub mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// Where the page finds the browser bundle (the server gives the names that carry a digest of the content).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// The HTML document. The theme class is decided here, on the server, so a reload never flashes.
pub fn shell(bundle: Bundle) -> impl IntoView {
    let dark = theme::server_theme_is_dark();
    let nonce = leptos::nonce::use_nonce();
    // Loads the JS glue, instantiates the WASM (already preloaded) and hydrates the server's HTML.
    let start = format!(
        "import({:?}).then(m=>m.default({{module_or_path:{:?}}}).then(()=>m.hydrate()))",
        bundle.js, bundle.wasm
    );
    view! {
        <!DOCTYPE html>
        <html lang="en" class=if dark == Some(true) { "dark" } else { "" }>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // Without a saved choice the OS preference applies; this runs before first paint.
                <script>{theme::NO_FLASH_SCRIPT}</script>
                <link rel="stylesheet" id="leptos" href=bundle.css/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="modulepreload" href=bundle.js/>
                <link rel="preload" href=bundle.wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
                <script type="module" nonce=nonce>{start}</script>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    toast::provide_toasts();
    time::provide_clock();
    // Marks the page once the WASM bundle has taken over (end-to-end tests wait for it).
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title formatter=|t: String| if t.is_empty() { "Integration Hub".to_string() } else { format!("{t} · Integration Hub") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/integrations"/> }/>
                <Route path=path!("/login") view=login::LoginPage/>
                <Route path=path!("/accept/:token") view=people::AcceptPage/>
                <Route path=path!("/integrations") view=layout::HomeRedirect ssr=SsrMode::Async/>
                <ParentRoute path=path!("/t/:tenant") view=layout::TenantLayout ssr=SsrMode::Async>
                    <Route path=path!("/integrations") view=integrations::IntegrationsPage/>
                    <Route path=path!("/tools") view=tools::ToolsPage/>
                    <Route path=path!("/reference") view=reference::ReferencePage/>
                    <Route path=path!("/people") view=people::PeoplePage/>
                    <Route path=path!("/tenants") view=tenants::TenantsPage/>
                    <Route path=path!("/account") view=people::AccountPage/>
                </ParentRoute>
            </Routes>
        </Router>
        <toast::Toaster/>
    }
}

/// Puts text on the clipboard and toasts `done` once it is there, or an error saying to copy by hand.
/// `navigator.clipboard` exists only in secure contexts (https, or localhost), and the hub is often opened on a
/// plain-http address; there the selection of a hidden textarea is copied with `execCommand("copy")` instead.
pub fn copy_text(text: String, toasts: toast::Toasts, done: &'static str) {
    copied(text, move |ok| {
        if ok {
            toasts.success(done);
        } else {
            toasts.error("Could not copy: select the text and copy it by hand");
        }
    });
}

/// Copies `text` (a user gesture is in progress) and calls `then` with whether it worked; never on the server.
pub fn copied(text: String, then: impl FnOnce(bool) + 'static) {
    copied_then(text, Box::new(then));
}

// Not generic: a wasm-bindgen `Closure` made inside a generic function is imported under a per-instance name
// that the JS glue of wasm-bindgen 0.2.130 does not provide (the bundle then fails to instantiate).
fn copied_then(text: String, then: Box<dyn FnOnce(bool)>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsValue};
        let nav = window().navigator();
        let has_api = js_sys::Reflect::get(&nav, &JsValue::from_str("clipboard")).is_ok_and(|c| !c.is_undefined());
        if !has_api {
            then(copy_by_selection(&text));
            return;
        }
        let then = std::rc::Rc::new(std::cell::RefCell::new(Some(then)));
        let (ok_then, err_then) = (then.clone(), then);
        let ok = Closure::once(move |_: JsValue| {
            if let Some(f) = ok_then.borrow_mut().take() {
                f(true)
            }
        });
        // A refused permission (or an unfocused document) rejects the promise: try the selection instead.
        let fallback = text.clone();
        let err = Closure::once(move |_: JsValue| {
            if let Some(f) = err_then.borrow_mut().take() {
                f(copy_by_selection(&fallback))
            }
        });
        let _ = nav.clipboard().write_text(&text).then2(&ok, &err);
        ok.forget();
        err.forget();
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        then(false);
    }
}

#[cfg(feature = "hydrate")]
fn copy_by_selection(text: &str) -> bool {
    use wasm_bindgen::JsCast;
    let doc = document();
    let Some(body) = doc.body() else { return false };
    let Ok(area) = doc.create_element("textarea") else { return false };
    let area: web_sys::HtmlTextAreaElement = area.unchecked_into();
    area.set_value(text);
    let _ = area.set_attribute("readonly", "");
    let _ = area.set_attribute("aria-hidden", "true");
    let _ = area.set_attribute("style", "position:fixed;top:0;left:0;opacity:0");
    let _ = body.append_child(&area);
    let _ = area.focus();
    area.select();
    let ok = doc.unchecked_ref::<web_sys::HtmlDocument>().exec_command("copy").unwrap_or(false);
    area.remove();
    ok
}

/// Sets the HTTP status of the page being rendered on the server (no-op in the browser).
pub fn set_page_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_page_status(404);
    view! {
        <Title text="Not found"/>
        <ErrorPage code=404 title="Page not found" message="There is nothing at this address."/>
    }
}

/// A full-page error with a way back; used for 403, 404 and unexpected failures.
#[component]
pub fn ErrorPage(code: u16, title: &'static str, #[prop(into)] message: String) -> impl IntoView {
    view! {
        <main class="min-h-screen flex items-center justify-center p-6">
            <div class="max-w-md text-center" role="alert">
                <p class="text-6xl font-bold text-indigo-600 dark:text-indigo-400">{code}</p>
                <h1 class="mt-4 text-2xl font-semibold">{title}</h1>
                <p class="mt-2 text-slate-600 dark:text-slate-300" data-testid="error-message">{message}</p>
                <a href="/integrations" class="mt-6 inline-block rounded-md bg-indigo-600 px-4 py-2 text-white hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600">
                    "Back to Integrations"
                </a>
            </div>
        </main>
    }
}
