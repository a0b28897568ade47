//! Connected apps: OAuth connections to the providers a tenant already uses, and what the hub sends them.
//!
//! - [`providers`]: the six provider definitions, as data (URLs, scopes, settings schema, actions), with their
//!   per-deployment overrides from `HUB_OAUTH_<PROVIDER>_*`.
//! - [`oauth`]: the authorisation-code flow with PKCE (authorize URL, code exchange, refresh, revoke), every
//!   request through the SSRF-guarded client.
//! - [`callback`]: `GET /oauth/callback`, where providers send the person back.
//! - [`tokens`]: tokens sealed at rest, and a fresh access token for a connection (refreshed single-flight; a
//!   rejected refresh puts the connection in `error` and tells the tenant).

pub mod actions;
pub mod callback;
pub mod oauth;
pub mod providers;
pub mod sync;
pub mod templates;
pub mod tokens;
