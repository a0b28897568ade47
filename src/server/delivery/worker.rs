//! The delivery worker: claims due deliveries in batches with a lease, sends each (bounded concurrency, one
//! pooled client), decides retry / success / dead-letter, and records attempts in batched transactions.
//! Idle, it sleeps until woken (publish in this process, NOTIFY from other instances) or until the next
//! scheduled retry is due; it never spins.

use super::dispatch::{Direct, Inbox, Slot};
use super::retry::{backoff_ms, parse_retry_after};
use super::sender::{self, Secrets};
use crate::model::{Delivery, DeliveryStatus, ErrorKind, Webhook};
use crate::server::rate_limit::RateLimiter;
use crate::server::service::AppState;
use crate::server::store::{now_ms, AttemptRecord, Breaker, WORK_CHANNEL};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

const CLAIM_BATCH: usize = 256;
const MAX_IDLE_SLEEP: Duration = Duration::from_secs(30);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const HOOK_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long a delivery waits when something it needs could not be read (see `defer_all`).
const DEFER: Duration = Duration::from_secs(2);
/// How often paused deliveries of endpoints switched on again are put back in the queue (enabling an endpoint
/// does it at once; this catches a pause that raced with the enabling).
const RESUME_EVERY: Duration = Duration::from_secs(60);
/// How many windows of handed-over deliveries may wait in the inbox.
const HANDOFF_WINDOWS: usize = 4;
/// Finished attempts that may wait for the results writer (two of its batches).
const RESULTS_BACKLOG: usize = 1024;

type HookEntry = Arc<(Webhook, Secrets, bool)>;

struct Shared {
    hub: AppState,
    client: reqwest::Client,
    limiter: RateLimiter,
    hooks: Mutex<HashMap<String, (Instant, HookEntry)>>,
    results: mpsc::Sender<AttemptRecord>,
    in_flight: Mutex<HashSet<String>>,
}

/// Starts the worker; it stops claiming when `shutdown` turns true, lets in-flight sends finish (bounded) and
/// releases what is left.
pub fn spawn(hub: AppState, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(hub, shutdown))
}

/// Deliveries claimed from the database, with their envelopes, waiting for a free permit.
type Claimed = Vec<(Delivery, Option<Arc<str>>)>;

async fn run(hub: AppState, mut shutdown: watch::Receiver<bool>) {
    let concurrency = hub.config.serve.worker_concurrency.max(1);
    let lease_ms = (hub.config.serve.lease_seconds.max(1) * 1000) as i64;
    // Claims run ahead of the sends: the next batch is fetched while the window still has half a window queued,
    // so the window never drains while a claim waits for the (single SQLite) writer.
    let batch = concurrency.min(CLAIM_BATCH);
    let low_water = (concurrency / 2).max(1);
    // Bounded, so a writer that falls behind holds the senders' permits and the worker slows to its pace
    // instead of piling finished attempts up in memory.
    let (tx, rx) = mpsc::channel(RESULTS_BACKLOG);
    let writer = tokio::spawn(results_writer(hub.clone(), rx));
    let wake = tokio::spawn(forward_notifications(hub.clone()));
    let resumer = tokio::spawn(resume_paused(hub.clone()));
    let shared = Arc::new(Shared {
        client: hub.client.clone(),
        hub: hub.clone(),
        limiter: RateLimiter::default(),
        hooks: Mutex::new(HashMap::new()),
        results: tx,
        in_flight: Mutex::new(HashSet::new()),
    });
    let sem = Arc::new(Semaphore::new(concurrency));
    // Handed-over deliveries may wait for a few windows' worth: they are leased, but at the worker's pace that
    // is milliseconds, far inside the lease, and every one that fits saves a claim on the (single) writer.
    let mut inbox = hub.dispatch.attach(concurrency * HANDOFF_WINDOWS, lease_ms);
    tracing::info!(concurrency, "delivery worker started");
    // Claim when something may be due in the database: at start, after a wake-up, after a full batch, and when
    // the next scheduled retry comes due. Handed-over deliveries need no claim.
    let mut claim = true;
    let mut next_due: Option<Instant> = None;
    let mut queued: std::collections::VecDeque<(Delivery, Option<Arc<str>>)> = Default::default();
    // At most one claim runs at a time; its result comes back here.
    let (claimed_tx, mut claimed_rx) = mpsc::channel::<Option<Claimed>>(1);
    let mut claiming = false;
    while !*shutdown.borrow() {
        // Claimed deliveries take the free permits first, then one handed-over event waits for its own: claims
        // hold the older events (published while the hand-off had no room), and a stream of hand-overs must not
        // keep them waiting until publishing stops.
        while !queued.is_empty() {
            let Ok(permit) = sem.clone().try_acquire_owned() else { break };
            if let Some((d, envelope)) = queued.pop_front() {
                start(&shared, permit, d, envelope, None);
            }
        }
        if let Ok(b) = inbox.rx.try_recv() {
            start_direct(&shared, &sem, &inbox, b).await;
        }
        if claim && !claiming && queued.len() < low_water {
            claiming = true;
            let (hub, tx) = (hub.clone(), claimed_tx.clone());
            tokio::spawn(async move { tx.send(claim_batch(hub, batch, lease_ms).await).await });
        }
        let wait = next_due.map_or(MAX_IDLE_SLEEP, |t| t.saturating_duration_since(Instant::now()));
        tokio::select! {
            Some(done) = claimed_rx.recv(), if claiming => {
                claiming = false;
                match done {
                    None => tokio::time::sleep(Duration::from_secs(1)).await,
                    Some(got) => {
                        claim = got.len() >= batch;
                        if !claim {
                            next_due = next_due_instant(&hub).await;
                        }
                        queued.extend(got);
                    }
                }
            }
            p = sem.clone().acquire_owned(), if !queued.is_empty() => {
                if let (Ok(permit), Some((d, envelope))) = (p, queued.pop_front()) {
                    start(&shared, permit, d, envelope, None);
                }
            }
            Some(b) = inbox.rx.recv() => start_direct(&shared, &sem, &inbox, b).await,
            _ = hub.work.notified(), if !claim => claim = true,
            _ = tokio::time::sleep(wait), if !claim && !claiming => claim = true,
            _ = shutdown.changed() => {}
        }
    }
    // Graceful stop: no more hand-overs; queued ones and claimed-but-unsent ones go back at once, in-flight sends
    // finish for a while, then whatever is left is handed back to the queue.
    hub.dispatch.detach();
    inbox.rx.close();
    let mut unsent: Vec<String> = queued.drain(..).map(|(d, _)| d.id).collect();
    drop(claimed_tx);
    if claiming {
        if let Some(Some(got)) = claimed_rx.recv().await {
            unsent.extend(got.into_iter().map(|(d, _)| d.id));
        }
    }
    while let Ok(b) = inbox.rx.try_recv() {
        unsent.extend(b.into_iter().map(|d| d.delivery.id));
    }
    let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, sem.acquire_many(all)).await.is_ok();
    let left: Vec<String> = shared.in_flight.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
    let released = left.len();
    unsent.extend(left);
    if let Err(e) = hub.store.release_deliveries(&unsent).await {
        tracing::warn!(error = %e, "releasing unsent deliveries failed; their leases expire instead");
    }
    wake.abort();
    resumer.abort();
    drop(shared);
    let _ = writer.await;
    tracing::info!(drained, released, unsent = unsent.len() - released, "delivery worker stopped");
}

/// One claim with the envelopes of what it took (None: the database refused; the caller backs off).
async fn claim_batch(hub: AppState, want: usize, lease_ms: i64) -> Option<Claimed> {
    let claimed = match hub.store.claim_due(want as i64, lease_ms).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "claiming deliveries failed; retrying");
            return None;
        }
    };
    if claimed.is_empty() {
        return Some(Vec::new());
    }
    let event_ids: Vec<String> =
        claimed.iter().map(|d| d.event_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    // A read that fails says nothing about the events: the claimed deliveries go back for a later look.
    let envelopes = match hub.store.envelopes(&event_ids).await {
        Ok(e) => e,
        Err(e) => {
            let ids: Vec<String> = claimed.iter().map(|d| d.id.clone()).collect();
            defer_all(&hub, &ids, "reading the claimed deliveries' events", &e.to_string()).await;
            return None;
        }
    };
    let envelopes: HashMap<String, Arc<str>> = envelopes.into_iter().map(|(k, v)| (k, v.into())).collect();
    Some(
        claimed
            .into_iter()
            .map(|d| {
                let envelope = envelopes.get(&d.event_id).cloned();
                (d, envelope)
            })
            .collect(),
    )
}

/// When the next queued delivery comes due, as an instant (None: nothing queued). A failed query looks again
/// after [`DEFER`].
async fn next_due_instant(hub: &AppState) -> Option<Instant> {
    let t = match hub.store.next_due_at().await {
        Ok(t) => t?,
        Err(e) => {
            tracing::warn!(error = %e, "reading when the next delivery is due failed; looking again shortly");
            return Some(Instant::now() + DEFER);
        }
    };
    let ms = (t - now_ms()).clamp(1, MAX_IDLE_SLEEP.as_millis() as i64) as u64;
    Some(Instant::now() + Duration::from_millis(ms))
}

/// Gives deliveries back to the queue, due after [`DEFER`], because something they need could not be read
/// (the database hiccuped, a secret did not open): nothing is decided about them, and no attempt is counted.
/// If even that write fails, their leases run out and they are claimed again.
async fn defer_all(hub: &AppState, ids: &[String], what: &str, error: &str) {
    tracing::warn!(error = %error, deliveries = ids.len(), "{what} failed; the deliveries wait and are tried again");
    hub.metrics.deferred(ids.len());
    let due = now_ms() + DEFER.as_millis() as i64;
    for id in ids {
        if let Err(e) = hub.store.release_delivery(id, due).await {
            tracing::warn!(error = %e, delivery = %id, "giving a delivery back failed; its lease runs out instead");
        }
    }
}

async fn start_direct(shared: &Arc<Shared>, sem: &Arc<Semaphore>, inbox: &Inbox, batch: Vec<Direct>) {
    for d in batch {
        let slot = inbox.slot();
        let Ok(permit) = sem.clone().acquire_owned().await else { return };
        start(shared, permit, d.delivery, Some(d.envelope), Some(slot));
    }
}

/// Sends one leased delivery in its own task; the permit (and hand-over slot) go back when it is done.
fn start(
    shared: &Arc<Shared>,
    permit: tokio::sync::OwnedSemaphorePermit,
    d: Delivery,
    envelope: Option<Arc<str>>,
    slot: Option<Slot>,
) {
    shared.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(d.id.clone());
    let shared = shared.clone();
    tokio::spawn(async move {
        let id = d.id.clone();
        process(&shared, d, envelope).await;
        shared.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        drop((permit, slot));
    });
}

async fn resume_paused(hub: AppState) {
    loop {
        tokio::time::sleep(RESUME_EVERY).await;
        match hub.store.resume_paused(None).await {
            Ok(0) => {}
            Ok(_) => hub.work.notify_one(),
            Err(e) => tracing::warn!(error = %e, "resuming paused deliveries failed; will retry"),
        }
    }
}

/// On PostgreSQL, publishes by other instances arrive as NOTIFY and wake this worker.
async fn forward_notifications(hub: AppState) {
    loop {
        match hub.store.listen(&[WORK_CHANNEL]).await {
            Ok(Some(mut l)) => {
                while l.recv().await.is_ok() {
                    hub.work.notify_one();
                }
            }
            Ok(None) => return,
            Err(e) => tracing::warn!(error = %e, "cannot LISTEN for new work; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
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
    let Some((mut hook, sealed, deleted)) = shared.hub.store.webhook_for_send(id).await.map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let secrets = shared.hub.signing_secrets(&sealed).map_err(|e| e.to_string())?;
    shared.hub.open_headers(&mut hook).map_err(|e| e.to_string())?;
    let entry = Arc::new((hook, secrets, deleted));
    shared.hooks.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), (Instant::now(), entry.clone()));
    Ok(Some(entry))
}

async fn process(shared: &Shared, d: Delivery, envelope: Option<Arc<str>>) {
    let store = &shared.hub.store;
    let metrics = &shared.hub.metrics;
    // Only what was read decides a delivery's end; a failed cancel or pause leaves the lease to run out.
    let entry = match hook_for(shared, &d.webhook_id).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return cancel(shared, &d, "endpoint not found").await,
        Err(e) => return defer_all(&shared.hub, std::slice::from_ref(&d.id), "reading the endpoint", &e).await,
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
        if let Err(e) = store.pause_delivery(&d.id).await {
            tracing::warn!(error = %e, delivery = %d.id, "pausing a delivery failed; its lease runs out instead");
        }
        return;
    }
    let Some(envelope) = envelope else {
        return cancel(shared, &d, "event no longer exists").await;
    };
    // The endpoint's own rate limit: a throttled delivery waits its turn and is not an attempt.
    let per_min = hook.rate_limit_per_minute.max(1);
    let decision = if shared.hub.config.serve.endpoint_rate_limits {
        shared.limiter.check(&hook.id, per_min, per_min.saturating_mul(60))
    } else {
        crate::server::rate_limit::Decision {
            allowed: true,
            limit: 0,
            remaining: 0,
            reset_secs: 0,
            retry_after_secs: 0,
        }
    };
    if !decision.allowed {
        metrics.outcome("throttled");
        let _ = store.release_delivery(&d.id, now_ms() + (decision.retry_after_secs * 1000) as i64).await;
        // The worker may be waiting for something later; let it look again.
        shared.hub.work.notify_one();
        return;
    }
    let attempt_no = d.attempts + 1;
    let policy = &shared.hub.config.target_policy;
    metrics.in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let msg = sender::Message { id: &d.event_id, event_type: &d.event_type, envelope_json: &envelope };
    let sent = sender::send(&shared.client, policy, hook, secrets, &msg, attempt_no).await;
    metrics.in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    metrics.attempt_latency(sent.attempt.duration_ms);
    let mut attempt = sent.attempt;
    crate::server::service::secrets::mask_attempt_headers(hook, &mut attempt);
    attempt.delivery_id = d.id.clone();
    let code = attempt.response_status;
    let ok = code.is_some_and(|c| (200..300).contains(&c)) && attempt.error_kind.is_none();
    let mut disable_reason = None;
    let (status, next) = if ok {
        (DeliveryStatus::Success, None)
    } else if code == Some(410) {
        disable_reason = Some("the endpoint answered 410 Gone".to_string());
        (DeliveryStatus::Failed, None)
    } else if attempt.error_kind == Some(ErrorKind::SsrfBlocked) {
        (DeliveryStatus::Failed, None)
    } else if attempt_no <= hook.max_retries {
        let honour = matches!(code, Some(429 | 503));
        let ra = sent.retry_after.as_deref().filter(|_| honour).and_then(|v| parse_retry_after(v, now_ms()));
        let scale = shared.hub.config.serve.retry_time_scale;
        let wait = backoff_ms(hook.retry_delay_seconds, hook.backoff_factor, attempt_no, scale, ra);
        (DeliveryStatus::Retrying, Some(now_ms() + wait))
    } else {
        (DeliveryStatus::Failed, None)
    };
    attempt.next_retry_at = next;
    metrics.outcome(match status {
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
        status,
        next_attempt_at: next,
        disable_reason,
    };
    let _ = shared.results.send(record).await;
}

async fn cancel(shared: &Shared, d: &Delivery, reason: &str) {
    shared.hub.metrics.outcome("cancelled");
    if let Err(e) = shared.hub.store.cancel_delivery(&d.id, reason).await {
        tracing::warn!(error = %e, delivery = %d.id, "cancelling a delivery failed; its lease runs out instead");
    }
}

/// Writes attempt records in batches: one transaction for everything that finished meanwhile.
async fn results_writer(hub: AppState, mut rx: mpsc::Receiver<AttemptRecord>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let breaker = Breaker {
            failures: hub.config.serve.breaker_failures,
            period_ms: (hub.config.serve.breaker_period_seconds as i64).saturating_mul(1000),
        };
        let mut tries = 0;
        let disabled = loop {
            match hub.store.record_attempts(&batch, breaker).await {
                Ok(d) => break d,
                Err(e) => {
                    tries += 1;
                    tracing::warn!(error = %e, tries, "recording attempts failed; retrying");
                    if tries >= 5 {
                        // The leases expire and the deliveries are sent again: at-least-once, nothing lost.
                        break Vec::new();
                    }
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
            }
        };
        let retry_soon = batch.iter().any(|r| r.status == DeliveryStatus::Retrying);
        let mut tenants: Vec<&str> = batch.iter().map(|r| r.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        hub.deliveries_changed(&tenants, true);
        for d in disabled {
            tracing::warn!(webhook = %d.webhook_id, reason = %d.reason, "endpoint disabled automatically");
            let _ = hub
                .store
                .insert_audit(
                    "system",
                    Some(&d.tenant_id),
                    "webhook.auto_disabled",
                    Some(&d.webhook_id),
                    Some(&d.reason),
                )
                .await;
            hub.routes.invalidate(&d.tenant_id);
            hub.broadcast_route_change(&d.tenant_id);
        }
        if retry_soon {
            // The worker may be asleep until a later retry; let it recompute.
            hub.work.notify_one();
        }
    }
}
