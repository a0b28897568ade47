//! The "Connected apps" tab's calls (issue 33). Each checks the session and the tenant, then calls the same
//! service as REST (`service/apps.rs`); viewers and portal sessions may call only the readers (`READ_ONLY`, and
//! the service refuses their writes too).
//!
//! - [`load_connected_apps`]: every provider (configured or not, with the variables still to set, its scopes,
//!   actions and settings JSON Schema, the redirect URL to register) and the tenant's connections.
//! - [`begin_app_connect`]: the provider's authorize URL for this session; the page navigates to it, and the
//!   provider comes back through `/oauth/callback` to `/t/<tenant>/integrations?tab=apps&connected=<provider>`
//!   (or `&error=<message>`).
//! - [`save_app_settings`]: settings (validated against the schema: a 422 names `settings.<field>`) and/or
//!   switching the connection off or on.
//! - [`disconnect_app`], [`sync_app_now`] (answers the running sync-log row), [`list_app_sync_logs`] (keyset
//!   pages, newest first; poll it for a running row's progress), [`get_app_connection`].
//! - [`preview_app_action`]: what settings (and their request templates) would send for a trigger's catalog
//!   example; reads only the catalog.

use crate::model::{AppError, AppsOverview, AuthorizeUrl, Connection, ConnectionSettingsUpdate, Page, SyncLog};
use crate::model::{AppPreview, SyncLogQuery, SyncRequest};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {
    super::ctx::{as_tenant_user, as_user},
    crate::server::service::Actor,
};

#[server(endpoint = "load_connected_apps", input = Json)]
pub async fn load_connected_apps(tenant_id: String) -> Result<AppsOverview, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.apps_overview(Actor::User(&user), Some(&tenant_id)).await).await
}

#[server(endpoint = "get_app_connection", input = Json)]
pub async fn get_app_connection(tenant_id: String, id: String) -> Result<Connection, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.get_app_connection(Actor::User(&user), &id).await).await
}

#[server(endpoint = "begin_app_connect", input = Json)]
pub async fn begin_app_connect(tenant_id: String, provider: String) -> Result<AuthorizeUrl, AppError> {
    let session_hash = super::ctx::session_token().map(|t| crate::server::auth::session::token_hash(&t));
    as_tenant_user(&tenant_id, async |hub, user| {
        hub.begin_app_authorize(Actor::User(&user), Some(&tenant_id), &provider, session_hash.as_deref()).await
    })
    .await
}

#[server(endpoint = "save_app_settings", input = Json)]
pub async fn save_app_settings(
    tenant_id: String,
    id: String,
    update: ConnectionSettingsUpdate,
) -> Result<Connection, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.update_app_connection(Actor::User(&user), &id, update).await).await
}

#[server(endpoint = "disconnect_app", input = Json)]
pub async fn disconnect_app(tenant_id: String, id: String) -> Result<(), AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.disconnect_app(Actor::User(&user), &id).await).await
}

#[server(endpoint = "sync_app_now", input = Json)]
pub async fn sync_app_now(tenant_id: String, id: String, request: SyncRequest) -> Result<SyncLog, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.request_app_sync(Actor::User(&user), &id, request).await).await
}

#[server(endpoint = "list_app_sync_logs", input = Json)]
pub async fn list_app_sync_logs(tenant_id: String, id: String, query: SyncLogQuery) -> Result<Page<SyncLog>, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.app_sync_logs(Actor::User(&user), &id, &query).await).await
}

#[server(endpoint = "preview_app_action", input = Json)]
pub async fn preview_app_action(
    provider: String,
    settings: serde_json::Value,
    event_type: String,
) -> Result<AppPreview, AppError> {
    as_user(async |hub, user| hub.preview_app_action(Actor::User(&user), &provider, &settings, &event_type).await).await
}
