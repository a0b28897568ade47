//! The API Keys tab's calls. Each checks the session and the tenant, then calls the same service as REST.

use crate::model::{ApiKey, AppError, CreateApiKey, IssuedKey, KeyStatus, UpdateApiKey};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx::as_tenant_user, crate::server::service::Actor};

#[server(endpoint = "list_keys", input = Json)]
pub async fn list_keys(
    tenant_id: String,
    search: Option<String>,
    status: Option<KeyStatus>,
) -> Result<Vec<ApiKey>, AppError> {
    let q = crate::model::KeyListQuery { search, status, tenant_id: Some(tenant_id.clone()) };
    as_tenant_user(&tenant_id, async |hub, user| hub.list_api_keys(Actor::User(&user), q).await).await
}

#[server(endpoint = "issue_key", input = Json)]
pub async fn issue_key(tenant_id: String, input: CreateApiKey) -> Result<IssuedKey, AppError> {
    let input = CreateApiKey { tenant_id: Some(tenant_id.clone()), ..input };
    as_tenant_user(&tenant_id, async |hub, user| hub.create_api_key(Actor::User(&user), input).await).await
}

#[server(endpoint = "edit_key", input = Json)]
pub async fn edit_key(tenant_id: String, id: String, patch: UpdateApiKey) -> Result<ApiKey, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.update_api_key(Actor::User(&user), &id, patch).await).await
}

#[server(endpoint = "rotate_key", input = Json)]
pub async fn rotate_key(tenant_id: String, id: String, grace_seconds: u64) -> Result<IssuedKey, AppError> {
    let r = crate::model::RotateApiKey { grace_seconds: Some(grace_seconds) };
    as_tenant_user(&tenant_id, async |hub, user| hub.rotate_api_key(Actor::User(&user), &id, r).await).await
}

#[server(endpoint = "revoke_key", input = Json)]
pub async fn revoke_key(tenant_id: String, id: String) -> Result<ApiKey, AppError> {
    as_tenant_user(&tenant_id, async |hub, user| hub.revoke_api_key(Actor::User(&user), &id).await).await
}
