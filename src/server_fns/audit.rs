//! The Audit tab: a page of the trail for the signed-in user, through the same service as `GET /api/v1/audit`.

use crate::model::{AppError, AuditPage, AuditQuery};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use {super::ctx::as_user_in, crate::server::service::Actor};

/// The trail of the tenant whose pages the user is in; with `all_tenants`, an admin's reads every tenant's (a
/// tenant user's stays confined to their own by the service, whatever is asked).
#[server(endpoint = "list_audit", input = Json)]
pub async fn list_audit(tenant_id: String, query: AuditQuery, all_tenants: bool) -> Result<AuditPage, AppError> {
    as_user_in(&tenant_id, async |hub, user| {
        let q = AuditQuery { tenant_id: (!all_tenants).then(|| tenant_id.clone()), ..query };
        hub.list_audit(&Actor::User(&user), &q).await
    })
    .await
}
