//! Dark mode: the choice is a cookie, so the server renders `<html class="dark">` and a reload never flashes.
//! Without a saved choice, a tiny inline script applies the OS preference before first paint.

use super::icons::{Glyph, Icon};
use leptos::prelude::*;

pub const COOKIE: &str = "hub_theme";

pub const NO_FLASH_SCRIPT: &str = "(function(){try{var m=document.cookie.match(/(?:^|; )hub_theme=(dark|light)/);\
var d=m?m[1]==='dark':window.matchMedia('(prefers-color-scheme: dark)').matches;\
document.documentElement.classList.toggle('dark',d);}catch(e){}})();";

/// The saved theme of the request being rendered: Some(true) dark, Some(false) light, None not chosen.
pub fn server_theme_is_dark() -> Option<bool> {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>()?;
        let header = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        match crate::server::auth::session::cookie_value(header, COOKIE)? {
            "dark" => Some(true),
            "light" => Some(false),
            _ => None,
        }
    }
    #[cfg(not(feature = "ssr"))]
    None
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let doc = document();
            let Some(root) = doc.document_element() else { return };
            let dark = !root.class_list().contains("dark");
            let _ = root.class_list().toggle_with_force("dark", dark);
            if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
                let value = if dark { "dark" } else { "light" };
                let _ = html.set_cookie(&format!("{COOKIE}={value}; Path=/; Max-Age=31536000; SameSite=Lax"));
            }
        }
    };
    view! {
        <button
            type="button"
            id="theme-toggle"
            on:click=toggle
            aria-label="Toggle dark mode"
            title="Toggle dark mode"
            class="rounded-md p-2 text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
        >
            <span class="dark:hidden"><Icon glyph=Glyph::Moon/></span>
            <span class="hidden dark:inline"><Icon glyph=Glyph::Sun/></span>
        </button>
    }
}
