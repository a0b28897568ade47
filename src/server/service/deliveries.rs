//! Reading the delivery log, replaying one delivery and recovering an endpoint's dead letters.

use super::{Actor, Hub};
use crate::model::{AppError, AppResult, Delivery, DeliveryDetail, DeliveryListQuery, DeliveryStatus};

/// Most deliveries one recover call replays.
pub const MAX_RECOVER: i64 = 10_000;

impl Hub {
    pub async fn list_deliveries(&self, actor: Actor<'_>, q: DeliveryListQuery) -> AppResult<Vec<Delivery>> {
        let tenant = self.list_tenant(&actor, q.tenant_id.as_deref())?;
        let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 500));
        Ok(self.store.list_deliveries(tenant.as_deref(), &q, limit).await?)
    }

    /// One delivery with every attempt; another tenant's is a 404.
    pub async fn get_delivery(&self, actor: &Actor<'_>, id: &str) -> AppResult<DeliveryDetail> {
        let d = self.store.get_delivery(id).await?;
        let delivery =
            d.filter(|d| actor.sees_tenant(Some(&d.tenant_id))).ok_or_else(|| AppError::not_found("delivery"))?;
        let attempts = self.store.attempts_for(&delivery.id).await?;
        Ok(DeliveryDetail { delivery, attempts })
    }

    /// Sends a delivery again (any final state) as a new delivery with the full retry policy.
    pub async fn replay_delivery(&self, actor: Actor<'_>, id: &str) -> AppResult<Delivery> {
        let d = self.get_delivery(&actor, id).await?.delivery;
        if matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying) {
            return Err(AppError::conflict("this delivery is still queued"));
        }
        self.get_webhook(&actor, &d.webhook_id).await?;
        let replay = self.store.insert_replay(&d).await?;
        self.audit(&actor, Some(&d.tenant_id), "delivery.replayed", &d.id, &replay.id).await?;
        self.wake_workers().await;
        Ok(replay)
    }

    /// Replays every failed delivery of an endpoint since a time; returns how many.
    pub async fn recover_webhook(&self, actor: Actor<'_>, webhook_id: &str, since: i64) -> AppResult<usize> {
        let w = self.get_webhook(&actor, webhook_id).await?;
        let q = DeliveryListQuery {
            status: Some(DeliveryStatus::Failed),
            webhook_id: Some(w.id.clone()),
            since: Some(since),
            ..Default::default()
        };
        let failed = self.store.list_deliveries(Some(&w.tenant_id), &q, MAX_RECOVER).await?;
        for d in &failed {
            self.store.insert_replay(d).await?;
        }
        let detail = format!("{} failed deliveries since {since}", failed.len());
        self.audit(&actor, Some(&w.tenant_id), "webhook.recovered", &w.id, &detail).await?;
        if !failed.is_empty() {
            self.wake_workers().await;
        }
        Ok(failed.len())
    }
}
