//! One delivery's attempt, as the worker runs it: the endpoint and its opened secrets (cached briefly), the
//! endpoint's state (gone, switched off), its rate limit, the send, the verdict ([`super::policy`]), and the
//! record handed to the results writer. A new kind of destination plugs in where [`sender::send`] is called:
//! it produces the same [`sender::Sent`], and the claim and record machinery stays as it is.

use super::context::WorkerContext;
use super::policy::judge;
use super::secrets::{mask_attempt_headers, open_headers, signing_secrets, Secrets};
use super::sender::{self, Rule};
use crate::model::{Delivery, DeliveryStatus, Webhook};
use crate::server::rate_limit::SteadyRate;
use crate::server::store::{now_ms, AttemptRecord};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const HOOK_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long a delivery waits when something it needs could not be read (see `defer_all`).
pub(super) const DEFER: Duration = Duration::from_secs(2);

type HookEntry = Arc<(Webhook, Secrets, bool)>;

/// What the worker's sends share: its context, the endpoints' rate limits, a short cache of endpoints with their
/// opened secrets, the results writer's queue, and the deliveries being sent (released if the worker stops).
pub(super) struct Shared {
    pub(super) ctx: WorkerContext,
    /// Endpoints' rate limits, this instance's share of each.
    pub(super) rate: SteadyRate,
    /// Delivery workers alive on this database, this one included (see `worker::heartbeat`).
    pub(super) live_workers: std::sync::atomic::AtomicU32,
    hooks: Mutex<HashMap<String, (Instant, HookEntry)>>,
    results: mpsc::Sender<AttemptRecord>,
    pub(super) in_flight: Mutex<HashSet<String>>,
}

impl Shared {
    pub(super) fn new(ctx: WorkerContext, results: mpsc::Sender<AttemptRecord>) -> Shared {
        Shared {
            ctx,
            rate: SteadyRate::default(),
            live_workers: std::sync::atomic::AtomicU32::new(1),
            hooks: Mutex::new(HashMap::new()),
            results,
            in_flight: Mutex::new(HashSet::new()),
        }
    }
}

/// The least a delivery held back by its endpoint's rate limit waits before it is looked at again.
const THROTTLED_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Gives deliveries back to the queue, due after [`DEFER`], because something they need could not be read
/// (the database hiccuped, a secret did not open): nothing is decided about them, and no attempt is counted.
/// If even that write fails, their leases run out and they are claimed again.
pub(super) async fn defer_all(ctx: &WorkerContext, ids: &[String], what: &str, error: &str) {
    tracing::warn!(error = %error, deliveries = ids.len(), "{what} failed; the deliveries wait and are tried again");
    ctx.metrics.deferred(ids.len());
    let due = now_ms() + DEFER.as_millis() as i64;
    if let Err(e) = ctx.store.release(ids, Some(due)).await {
        tracing::warn!(error = %e, "giving deliveries back failed; their leases run out instead");
    }
}

/// The endpoint with its opened secrets: `Ok(None)` only when the endpoint does not exist; a failed read or a
/// secret that does not open is an `Err`, never taken for "not found".
async fn hook_for(shared: &Shared, id: &str) -> Result<Option<HookEntry>, String> {
    if let Some((at, h)) = shared.hooks.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
        if at.elapsed() < HOOK_CACHE_TTL {
            return Ok(Some(h.clone()));
        }
    }
    let ctx = &shared.ctx;
    let Some((mut hook, sealed, deleted)) = ctx.store.webhook_for_send(id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let secrets = signing_secrets(&ctx.master_key, &sealed)?;
    open_headers(&ctx.master_key, &mut hook)?;
    let entry = Arc::new((hook, secrets, deleted));
    shared.hooks.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), (Instant::now(), entry.clone()));
    Ok(Some(entry))
}

pub(super) async fn process(shared: &Shared, d: Delivery, envelope: Option<Arc<str>>) {
    let ctx = &shared.ctx;
    let (store, metrics) = (&ctx.store, &ctx.metrics);
    // Only what was read decides a delivery's end; a failed cancel or pause leaves the lease to run out.
    let entry = match hook_for(shared, &d.webhook_id).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return cancel(shared, &d, "endpoint not found").await,
        Err(e) => return defer_all(ctx, std::slice::from_ref(&d.id), "reading the endpoint", &e).await,
    };
    let (hook, secrets, deleted) = (&entry.0, &entry.1, entry.2);
    if deleted {
        return cancel(shared, &d, "endpoint deleted").await;
    }
    if !hook.is_active {
        // The cached entry may be older than a switch back on: the next look reads the endpoint afresh, and the
        // pause itself only holds the delivery if the endpoint is still off.
        shared.hooks.lock().unwrap_or_else(|p| p.into_inner()).remove(&hook.id);
        metrics.outcome("paused");
        if let Err(e) = store.pause(&d.id).await {
            tracing::warn!(error = %e, delivery = %d.id, "pausing a delivery failed; its lease runs out instead");
        }
        return;
    }
    let Some(envelope) = envelope else {
        return cancel(shared, &d, "event no longer exists").await;
    };
    // The endpoint's own rate limit (0: none), shared among the live workers: a throttled delivery waits its turn
    // and is not an attempt.
    let per_min = hook.rate_limit_per_minute;
    // Chat platforms and connected apps can also hold an endpoint back themselves (`Rule::Hold`), limit or none.
    if ctx.settings.endpoint_rate_limits && (per_min > 0 || hook.kind.obeys_holds()) {
        let workers = shared.live_workers.load(std::sync::atomic::Ordering::Relaxed).max(1);
        if let Err(wait) = shared.rate.admit(&hook.id, per_min.div_ceil(workers)) {
            metrics.outcome("throttled");
            // Not sooner than THROTTLED_WAIT: a backlog comes back a few times a second, not once per slot (each
            // return is a write per delivery), and half a second is half the burst the limit allows, so the
            // endpoint's budget never overflows while its deliveries wait.
            let due = now_ms() + i64::try_from(wait.max(THROTTLED_WAIT).as_millis()).unwrap_or(i64::MAX);
            if let Err(e) = store.release(std::slice::from_ref(&d.id), Some(due)).await {
                tracing::warn!(error = %e, delivery = %d.id, "giving a throttled delivery back failed; its lease runs out");
            }
            // The worker may be waiting for something later; let it look again.
            store.wake_local();
            return;
        }
    }
    let attempt_no = d.attempts + 1;
    metrics.in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let msg = sender::Message {
        id: &d.event_id,
        event_type: &d.event_type,
        envelope_json: &envelope,
        delivery_id: Some(&d.id),
    };
    let sent = sender::send(ctx.outbound(), hook, secrets, &msg, attempt_no).await;
    metrics.in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    metrics.attempt_latency(sent.attempt.duration_ms);
    let mut attempt = sent.attempt;
    mask_attempt_headers(hook, &mut attempt);
    attempt.delivery_id = d.id.clone();
    if let Some(Rule::Hold(wait)) = &sent.rule {
        // The platform's budget is spent (Discord's X-RateLimit-Remaining: 0): nothing more to this endpoint
        // from this instance until it resets.
        shared.rate.hold(&hook.id, *wait);
    }
    let verdict = judge(
        &attempt,
        sent.retry_after.as_deref(),
        sent.rule.as_ref(),
        hook,
        attempt_no,
        ctx.settings.retry_time_scale,
        now_ms(),
    );
    attempt.next_retry_at = verdict.next_attempt_at;
    metrics.outcome(match verdict.status {
        DeliveryStatus::Success => "success",
        DeliveryStatus::Retrying => "retry",
        _ => "failed",
    });
    let record = AttemptRecord {
        delivery_id: d.id.clone(),
        tenant_id: d.tenant_id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        delivery_created_at: d.created_at,
        webhook_id: hook.id.clone(),
        attempt,
        status: verdict.status,
        next_attempt_at: verdict.next_attempt_at,
        disable_reason: verdict.disable_reason,
    };
    let _ = shared.results.send(record).await;
}

async fn cancel(shared: &Shared, d: &Delivery, reason: &str) {
    shared.ctx.metrics.outcome("cancelled");
    if let Err(e) = shared.ctx.store.cancel(&d.id, reason).await {
        tracing::warn!(error = %e, delivery = %d.id, "cancelling a delivery failed; its lease runs out instead");
    }
}
