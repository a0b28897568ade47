//! Integration Hub: webhooks delivery and API keys for SaaS products, self-hosted.
//!
//! - `model`: types shared by the browser, server functions, REST API and worker
//! - `ui`: Leptos components (server-rendered, hydrated in the browser)
//! - `server_fns`: the UI's calls into the server
//! - `server` (feature `ssr`): config, store (all SQL), services (all rules), HTTP

// Deeply nested view types need more than the default recursion limit in the optimised WASM build.
#![recursion_limit = "256"]

/// The server allocates many small, short-lived buffers per delivery (headers, bodies, records); glibc's
/// allocator spends a noticeable share of the delivery path consolidating its free lists, mimalloc far less.
#[cfg(feature = "ssr")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3 gives emptied pages back to the OS only a second after they empty (`purge_delay` 1000 ms), so a
/// burst (a big fan-out group, a backlog of attempts) would stay in the RSS long after it is freed. 100 ms returns
/// it promptly at no extra CPU time; a shorter delay costs CPU in madvise and page faults for no further gain.
/// `MIMALLOC_PURGE_DELAY` in the environment still wins. Called when a hub opens; idempotent.
#[cfg(feature = "ssr")]
pub fn release_freed_memory_promptly() {
    // `mi_option_purge_delay` in mimalloc.h (2 and 3); libmimalloc-sys names the options only up to 14.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option, which mimalloc allows at any time from any thread.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100) }
    }
}

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
