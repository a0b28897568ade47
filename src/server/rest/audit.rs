//! `GET /api/v1/audit`: the audit trail for keys with `audit:read` (a tenant's key: its tenant's entries; an
//! admin-wide key: every tenant's, or one's with `tenant_id`).

use super::error::{ApiQuery, ApiResult};
use super::Call;
use crate::model::{AuditPage, AuditQuery};
use axum::Json;

pub async fn list(call: Call, ApiQuery(q): ApiQuery<AuditQuery>) -> ApiResult<Json<AuditPage>> {
    Ok(Json(call.hub.list_audit(&call.actor(), &q).await?))
}
