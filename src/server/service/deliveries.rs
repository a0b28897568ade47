//! Reading the delivery log, replaying one delivery and recovering an endpoint's dead letters, test-fire,
//! statistics and retention.

use super::{Actor, Hub};
use crate::model::Paged;
use crate::model::{
    AppError, AppResult, Delivery, DeliveryDetail, DeliveryListQuery, DeliveryStats, DeliveryStatus, PublishEvent,
    StatsBucket, StatsQuery, StatusCounts, TestFire, TestFireResult,
};
use crate::server::delivery::sender;
use crate::server::store::{delivery_id, now_ms, AttemptRecord, Pruned, StatsRow, LATENCY_BOUNDS_MS};

/// Most deliveries one recover call replays.
pub const MAX_RECOVER: i64 = 10_000;

impl Hub {
    pub async fn list_deliveries(&self, actor: Actor<'_>, q: DeliveryListQuery) -> AppResult<Vec<Delivery>> {
        let tenant = self.list_tenant(&actor, q.tenant_id.as_deref())?;
        let limit = i64::from(q.page_limit());
        Ok(self.store.list_deliveries(tenant.as_deref(), &q, limit).await?)
    }

    /// One delivery with every attempt; another tenant's is a 404.
    pub async fn get_delivery(&self, actor: &Actor<'_>, id: &str) -> AppResult<DeliveryDetail> {
        let d = self.store.get_delivery(id).await?;
        let delivery =
            d.filter(|d| actor.sees_tenant(Some(&d.tenant_id))).ok_or_else(|| AppError::not_found("delivery"))?;
        let attempt_log = self.store.attempts_for(&delivery.id).await?;
        Ok(DeliveryDetail { delivery, attempt_log })
    }

    /// Sends a delivery again (any final state) as a new delivery with the full retry policy.
    pub async fn replay_delivery(&self, actor: Actor<'_>, id: &str) -> AppResult<Delivery> {
        let d = self.get_delivery(&actor, id).await?.delivery;
        if matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying | DeliveryStatus::Paused) {
            return Err(AppError::conflict("this delivery is still queued"));
        }
        self.get_webhook(&actor, &d.webhook_id).await?;
        let replay = self.store.replay(&d, false).await?.ok_or_else(AppError::internal)?;
        self.audit(&actor, Some(&d.tenant_id), "delivery.replayed", &d.id, &replay.id).await?;
        self.deliveries_changed(&[d.tenant_id.as_str()], true);
        self.wake_workers().await;
        Ok(replay)
    }

    /// Replays every failed delivery of an endpoint since a time; returns how many.
    pub async fn recover_webhook(&self, actor: Actor<'_>, webhook_id: &str, since: i64) -> AppResult<usize> {
        let w = self.get_webhook(&actor, webhook_id).await?;
        let mut q = DeliveryListQuery {
            status: Some(DeliveryStatus::Failed),
            webhook_id: Some(w.id.clone()),
            since: Some(since),
            ..Default::default()
        };
        // A dead letter that was replayed already (by a person or an earlier recover) is not sent again: its
        // replay is the one that counts, and is itself recovered if it failed too.
        let mut replayed = 0usize;
        'pages: loop {
            let page = self.store.list_deliveries(Some(&w.tenant_id), &q, MAX_RECOVER).await?;
            for d in &page {
                if d.replayed_by.is_none() && self.store.replay(d, true).await?.is_some() {
                    replayed += 1;
                    if replayed as i64 >= MAX_RECOVER {
                        break 'pages;
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == MAX_RECOVER => q.cursor = Some(last.id.clone()),
                _ => break,
            }
        }
        let detail = format!("{replayed} failed deliveries since {since}");
        self.audit(&actor, Some(&w.tenant_id), "webhook.recovered", &w.id, &detail).await?;
        if replayed > 0 {
            self.deliveries_changed(&[w.tenant_id.as_str()], true);
            self.wake_workers().await;
        }
        Ok(replayed)
    }
}

impl Hub {
    /// Sends one event to one endpoint now (even a disabled one: testing before enabling is the point) and
    /// returns the answer; stored as a test delivery.
    pub async fn test_fire(&self, actor: Actor<'_>, webhook_id: &str, t: TestFire) -> AppResult<TestFireResult> {
        let mut hook = self.stored_webhook(&actor, webhook_id).await?;
        self.open_headers(&mut hook)?;
        let event_type = match t.event_type {
            Some(e) => e,
            None => match hook.events.iter().find(|e| !e.contains('*')) {
                Some(e) => e.clone(),
                None => self.default_test_type(&hook.events).await?,
            },
        };
        let data = match t.data {
            Some(d) => d,
            None => self
                .store
                .get_event_type(&event_type)
                .await?
                .map(|t| t.example)
                .ok_or_else(|| AppError::field("type", format!("unknown event type {event_type:?}")))?,
        };
        let input = PublishEvent { event_type: event_type.clone(), data, ..Default::default() };
        let event = self.prepare(&hook.tenant_id, &input).await?;
        let sealed = self.store.webhook_secrets(&hook.id).await?.ok_or_else(|| AppError::not_found("webhook"))?;
        let secrets = self.signing_secrets(&sealed)?;
        let envelope = event.envelope.to_string();
        let msg =
            sender::Message { id: &event.id, event_type: &event_type, envelope_json: &envelope, delivery_id: None };
        let sent = sender::send(self.outbound(), &hook, &secrets, &msg, 1).await;
        let mut attempt = sent.attempt;
        crate::server::delivery::secrets::mask_attempt_headers(&hook, &mut attempt);
        let delivery_id = delivery_id(&event.id, 0);
        attempt.delivery_id = delivery_id.clone();
        let success = attempt.succeeded();
        let record = AttemptRecord {
            delivery_id: delivery_id.clone(),
            tenant_id: hook.tenant_id.clone(),
            event_id: event.id.clone(),
            event_type: event_type.clone(),
            delivery_created_at: event.created_at,
            webhook_id: hook.id.clone(),
            status: if success { DeliveryStatus::Success } else { DeliveryStatus::Failed },
            attempt,
            next_attempt_at: None,
            disable_reason: None,
        };
        self.store.insert_test_delivery(&event, &record).await?;
        self.deliveries_changed(&[hook.tenant_id.as_str()], true);
        Ok(TestFireResult { delivery_id, event_id: event.id, event_type, success, attempt: record.attempt })
    }

    /// A catalog type matching the endpoint's patterns, for endpoints subscribed only by wildcard.
    async fn default_test_type(&self, patterns: &[String]) -> AppResult<String> {
        let types = self.store.list_event_types().await?;
        types
            .iter()
            .filter(|t| !t.archived)
            .find(|t| patterns.iter().any(|p| crate::model::filter::event_type_matches(p, &t.name)))
            .map(|t| t.name.clone())
            .ok_or_else(|| AppError::field("type", "choose an event type to send"))
    }

    /// Figures for one endpoint (`webhook_id`) or one tenant over a window, with per-bucket series.
    pub async fn delivery_stats(&self, actor: Actor<'_>, q: StatsQuery) -> AppResult<DeliveryStats> {
        let (tenant, webhook) = match &q.webhook_id {
            Some(id) => {
                let w = self.get_webhook(&actor, id).await?;
                (Some(w.tenant_id), Some(w.id))
            }
            None => (self.list_tenant(&actor, q.tenant_id.as_deref())?, None),
        };
        let (bucket_ms, n) = q.window.buckets();
        let until = (now_ms() / bucket_ms + 1) * bucket_ms;
        let since = until - n * bucket_ms;
        let rows =
            self.store.delivery_stats_rows(tenant.as_deref(), webhook.as_deref(), since, until, bucket_ms).await?;
        Ok(summarise(&rows, q.window, since, until, bucket_ms, n))
    }

    /// One retention pass at `now` (the pruner runs it every few minutes; tests pass a time in the future).
    pub async fn prune_at(&self, now: i64) -> AppResult<Pruned> {
        let day = 24 * 3_600_000i64;
        let keep = i64::from(self.config.serve.retention_days.max(1)) * day;
        let keep_tests = i64::from(self.config.serve.test_retention_days.max(1)) * day;
        let usage = self.config.serve.usage_retention_days;
        // Usage rollups are keyed by UTC day number.
        let usage_before = (usage > 0).then(|| (now - i64::from(usage) * day).div_euclid(day));
        Ok(self.store.prune(now - keep, now - keep_tests, usage_before).await?)
    }
}

fn add(c: &mut StatusCounts, status: &str, n: i64) {
    match DeliveryStatus::parse(status) {
        Some(DeliveryStatus::Pending) => c.pending += n,
        Some(DeliveryStatus::Retrying) => c.retrying += n,
        Some(DeliveryStatus::Success) => c.success += n,
        Some(DeliveryStatus::Failed) => c.failed += n,
        Some(DeliveryStatus::Cancelled) => c.cancelled += n,
        // The stats read the queue's index, which paused deliveries leave; the log and the API list them.
        Some(DeliveryStatus::Paused) | None => {}
    }
}

/// The `p`-quantile of a latency histogram (counts per class), interpolated inside its class.
pub fn percentile(hist: &[i64], p: f64) -> Option<f64> {
    let total: i64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let target = p * total as f64;
    let mut seen = 0.0;
    for (i, &n) in hist.iter().enumerate() {
        if n == 0 {
            continue;
        }
        if seen + n as f64 >= target {
            let lo = if i == 0 { 0 } else { LATENCY_BOUNDS_MS[i - 1] } as f64;
            let hi = LATENCY_BOUNDS_MS.get(i).map_or(lo * 2.0, |b| *b as f64);
            return Some(lo + (hi - lo) * ((target - seen) / n as f64));
        }
        seen += n as f64;
    }
    None
}

fn summarise(
    rows: &[StatsRow],
    window: crate::model::StatsWindow,
    since: i64,
    until: i64,
    bucket_ms: i64,
    n: i64,
) -> DeliveryStats {
    let classes = LATENCY_BOUNDS_MS.len() + 1;
    let mut counts = StatusCounts::default();
    let mut hist = vec![0i64; classes];
    let (mut timed, mut total_ms) = (0i64, 0i64);
    let mut per_bucket: Vec<(StatusCounts, Vec<i64>)> =
        (0..n).map(|_| (StatusCounts::default(), vec![0; classes])).collect();
    for r in rows {
        add(&mut counts, &r.status, r.count);
        let Some(b) = usize::try_from(r.bucket).ok().and_then(|b| per_bucket.get_mut(b)) else { continue };
        add(&mut b.0, &r.status, r.count);
        if let Ok(c) = usize::try_from(r.class) {
            hist[c.min(classes - 1)] += r.count;
            b.1[c.min(classes - 1)] += r.count;
            timed += r.count;
            total_ms += r.total_ms;
        }
    }
    let buckets = per_bucket
        .into_iter()
        .enumerate()
        .map(|(i, (c, h))| StatsBucket {
            start: since + i as i64 * bucket_ms,
            counts: c,
            p50_ms: percentile(&h, 0.5),
            p95_ms: percentile(&h, 0.95),
        })
        .collect();
    DeliveryStats {
        window,
        since,
        until,
        bucket_ms,
        total: counts.total(),
        success_rate: counts.success_rate(),
        counts,
        avg_ms: (timed > 0).then(|| total_ms as f64 / timed as f64),
        p50_ms: percentile(&hist, 0.5),
        p95_ms: percentile(&hist, 0.95),
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_interpolate_inside_a_class() {
        // 100 deliveries between 20 and 30 ms (class 8) → p50 ≈ 25 ms, p95 ≈ 29.5 ms.
        let mut h = vec![0; 31];
        h[8] = 100;
        assert_eq!(percentile(&h, 0.5), Some(25.0));
        assert!((percentile(&h, 0.95).unwrap() - 29.5).abs() < 1e-9);
        assert_eq!(percentile(&[0; 31], 0.5), None);
        // 90 fast and 10 slow: p95 lands among the slow ones.
        h[8] = 90;
        h[17] = 10; // 700–1000 ms
        assert!(percentile(&h, 0.95).unwrap() > 700.0);
    }
}
