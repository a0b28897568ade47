//! What the page shell needs: the signed-in user, the current tenant, and where to go by default.

use crate::model::{AppError, ShellContext, Tenant};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx::as_user;

/// The shell of a tenant's pages. 401 without a session, 403 for another tenant's page.
#[server(endpoint = "get_shell_context")]
pub async fn get_shell_context(tenant_id: String) -> Result<ShellContext, AppError> {
    as_user(async |hub, user| hub.shell_context(user, &tenant_id).await).await
}

/// Where `/integrations` sends the signed-in user: their tenant's page (None when no tenant exists yet).
#[server(endpoint = "home_tenant")]
pub async fn home_tenant() -> Result<Option<String>, AppError> {
    as_user(async |hub, user| hub.home_tenant(&user).await).await
}

/// Admins create tenants from the tenant switcher.
#[server(endpoint = "create_tenant")]
pub async fn create_tenant(name: String) -> Result<Tenant, AppError> {
    use crate::server::service::Actor;
    as_user(async |hub, user| hub.create_tenant(Actor::User(&user), &name).await).await
}
