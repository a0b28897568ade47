//! Integration Hub: webhooks delivery and API keys for SaaS products, self-hosted.
//!
//! - `model`: types shared by the browser, server functions, REST API and worker
//! - `ui`: Leptos components (server-rendered, hydrated in the browser)
//! - `server_fns`: the UI's calls into the server
//! - `server` (feature `ssr`): config, store (all SQL), services (all rules), HTTP

// Deeply nested view types need more than the default recursion limit in the optimised WASM build.
#![recursion_limit = "256"]

/// The server allocates many small, short-lived buffers per delivery (headers, bodies, records); glibc's
/// allocator spent ~15% of a delivery benchmark consolidating its free lists, mimalloc far less.
#[cfg(feature = "ssr")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod model;
pub mod server_fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(ui::App);
}
