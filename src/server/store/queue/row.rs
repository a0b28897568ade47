//! A delivery row as the queue and the log read it.

use crate::model::{Delivery, DeliveryStatus};
use crate::server::store::DbResult;
use sqlx::any::AnyRow;
use sqlx::Row;

pub(in crate::server::store) fn delivery_from(r: &AnyRow) -> DbResult<Delivery> {
    let status: String = r.try_get("status")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        event_id: r.try_get("event_id")?,
        webhook_id: r.try_get("webhook_id")?,
        event_type: r.try_get("event_type")?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending),
        attempts: r.try_get::<i64, _>("attempts")?.clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_status_code: r.try_get::<Option<i64>, _>("last_status_code")?.and_then(|c| u16::try_from(c).ok()),
        last_error: r.try_get("last_error")?,
        duration_ms: r.try_get::<Option<i64>, _>("duration_ms")?.map(|d| d.max(0) as u64),
        is_test: r.try_get::<i64, _>("is_test")? != 0,
        replayed_by: r.try_get("replayed_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(in crate::server::store) const DELIVERY_COLS: &str =
    "id, tenant_id, event_id, webhook_id, event_type, status, attempts, \
    next_attempt_at, last_status_code, last_error, duration_ms, is_test, replayed_by, created_at, updated_at";
