//! The delivery worker: takes deliveries from the queue (handed over in memory, or claimed in batches with a
//! lease), sends each (bounded concurrency, one pooled client), judges the answer ([`super::policy`]) and
//! records attempts in batched transactions. Idle, it sleeps until woken (publish in this process, NOTIFY from
//! other instances) or until the next delivery comes due; it never spins.
//!
//! It is given a narrow [`WorkerContext`]: the store (whose queue it works), the guarded client, the master key
//! to open endpoint secrets, its metrics and settings, and [`super::context::WorkerEvents`] to tell the service
//! what happened.

use super::attempt::{defer_all, process, Shared, DEFER};
pub use super::context::{WorkerContext, WorkerEvents, WorkerSettings};
use crate::model::{Delivery, DeliveryStatus};
use crate::server::store::queue::{Direct, Inbox, Slot};
use crate::server::store::{now_ms, AttemptRecord, Store, WORK_CHANNEL};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

const CLAIM_BATCH: usize = 256;
const MAX_IDLE_SLEEP: Duration = Duration::from_secs(30);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often paused deliveries of endpoints switched on again are put back in the queue (enabling an endpoint
/// does it at once; this catches a pause that raced with the enabling).
const RESUME_EVERY: Duration = Duration::from_secs(60);
/// How many windows of handed-over deliveries may wait in the inbox.
const HANDOFF_WINDOWS: usize = 4;
/// Finished attempts that may wait for the results writer (two of its batches).
const RESULTS_BACKLOG: usize = 1024;

/// Starts the worker; it stops claiming when `shutdown` turns true, lets in-flight sends finish (bounded) and
/// releases what is left.
pub fn spawn(ctx: WorkerContext, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(ctx, shutdown))
}

/// Deliveries claimed from the database, with their envelopes, waiting for a free permit.
type Claimed = Vec<(Delivery, Option<Arc<str>>)>;

async fn run(ctx: WorkerContext, mut shutdown: watch::Receiver<bool>) {
    let concurrency = ctx.settings.concurrency.max(1);
    let lease_ms = ctx.settings.lease_ms.max(1000);
    let store = ctx.store.clone();
    // Claims run ahead of the sends: the next batch is fetched while the window still has half a window queued,
    // so the window never drains while a claim waits for the (single SQLite) writer.
    let batch = concurrency.min(CLAIM_BATCH);
    let low_water = (concurrency / 2).max(1);
    // Bounded, so a writer that falls behind holds the senders' permits and the worker slows to its pace
    // instead of piling finished attempts up in memory.
    let (tx, rx) = mpsc::channel(RESULTS_BACKLOG);
    let writer = tokio::spawn(results_writer(ctx.clone(), rx));
    let wake = tokio::spawn(forward_notifications(store.clone()));
    let resumer = tokio::spawn(resume_paused(store.clone()));
    let shared = Arc::new(Shared::new(ctx.clone(), tx));
    // Announced before the first send, so this worker's share of each endpoint's rate limit is right at once.
    let me = ulid::Ulid::new().to_string();
    heartbeat(&shared, &me).await;
    let beating = tokio::spawn({
        let (shared, me) = (shared.clone(), me.clone());
        async move {
            loop {
                tokio::time::sleep(shared.ctx.settings.heartbeat).await;
                heartbeat(&shared, &me).await;
            }
        }
    });
    let sem = Arc::new(Semaphore::new(concurrency));
    // Handed-over deliveries may wait for a few windows' worth: they are leased, but at the worker's pace that
    // is milliseconds, far inside the lease, and every one that fits saves a claim on the (single) writer.
    let mut inbox = store.attach_worker(concurrency * HANDOFF_WINDOWS, lease_ms);
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
            let (ctx, tx) = (ctx.clone(), claimed_tx.clone());
            tokio::spawn(async move { tx.send(claim_batch(ctx, batch, lease_ms).await).await });
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
                            next_due = next_due_instant(&store).await;
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
            _ = store.woken(), if !claim => claim = true,
            _ = tokio::time::sleep(wait), if !claim && !claiming => claim = true,
            _ = shutdown.changed() => {}
        }
    }
    // Graceful stop: no more hand-overs; queued ones and claimed-but-unsent ones go back at once, in-flight sends
    // finish for a while, then whatever is left is handed back to the queue.
    store.detach_worker();
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
    if let Err(e) = store.release(&unsent, None).await {
        tracing::warn!(error = %e, "releasing unsent deliveries failed; their leases expire instead");
    }
    wake.abort();
    resumer.abort();
    beating.abort();
    if let Err(e) = store.worker_gone(&me).await {
        tracing::warn!(error = %e, "could not sign this worker off; the others take its share after three heartbeats");
    }
    drop(shared);
    let _ = writer.await;
    tracing::info!(drained, released, unsent = unsent.len() - released, "delivery worker stopped");
}

/// Marks this worker alive and learns how many workers share the queue: each sends 1/n of an endpoint's rate
/// limit. A worker is alive until it misses three heartbeats. A failed heartbeat keeps the last count (a
/// database hiccup must not hand every instance the whole limit at once).
async fn heartbeat(shared: &Shared, me: &str) {
    let now = now_ms();
    let window = i64::try_from(shared.ctx.settings.heartbeat.as_millis() * 3).unwrap_or(i64::MAX);
    match shared.ctx.store.worker_heartbeat(me, now, now.saturating_sub(window)).await {
        Ok(n) => shared.live_workers.store(n, std::sync::atomic::Ordering::Relaxed),
        Err(e) => tracing::warn!(error = %e, "the worker heartbeat failed; keeping the last count of workers"),
    }
    shared.rate.prune();
}

/// One claim with the envelopes of what it took (None: the database refused; the caller backs off).
async fn claim_batch(ctx: WorkerContext, want: usize, lease_ms: i64) -> Option<Claimed> {
    let claimed = match ctx.store.claim(want as i64, lease_ms).await {
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
    let envelopes = match ctx.store.envelopes(&event_ids).await {
        Ok(e) => e,
        Err(e) => {
            let ids: Vec<String> = claimed.iter().map(|d| d.id.clone()).collect();
            defer_all(&ctx, &ids, "reading the claimed deliveries' events", &e.to_string()).await;
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
async fn next_due_instant(store: &Store) -> Option<Instant> {
    let t = match store.next_due_at().await {
        Ok(t) => t?,
        Err(e) => {
            tracing::warn!(error = %e, "reading when the next delivery is due failed; looking again shortly");
            return Some(Instant::now() + DEFER);
        }
    };
    let ms = (t - now_ms()).clamp(1, MAX_IDLE_SLEEP.as_millis() as i64) as u64;
    Some(Instant::now() + Duration::from_millis(ms))
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

async fn resume_paused(store: Store) {
    loop {
        tokio::time::sleep(RESUME_EVERY).await;
        match store.resume_paused(None).await {
            Ok(0) => {}
            Ok(_) => store.wake_local(),
            Err(e) => tracing::warn!(error = %e, "resuming paused deliveries failed; will retry"),
        }
    }
}

/// On PostgreSQL, publishes by other instances arrive as NOTIFY and wake this worker.
async fn forward_notifications(store: Store) {
    loop {
        match store.listen(&[WORK_CHANNEL]).await {
            Ok(Some(mut l)) => {
                while l.recv().await.is_ok() {
                    store.wake_local();
                }
            }
            Ok(None) => return,
            Err(e) => tracing::warn!(error = %e, "cannot LISTEN for new work; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Writes attempt records in batches: one transaction for everything that finished meanwhile.
async fn results_writer(ctx: WorkerContext, mut rx: mpsc::Receiver<AttemptRecord>) {
    let breaker = ctx.settings.breaker;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut tries = 0;
        let recorded = loop {
            match ctx.store.record(&batch, |streak, now| breaker.verdict(streak, now)).await {
                Ok(d) => break Some(d),
                Err(e) => {
                    tries += 1;
                    tracing::warn!(error = %e, tries, "recording attempts failed; retrying");
                    if tries >= 5 {
                        // The leases expire and the deliveries are sent again: at-least-once, nothing lost.
                        break None;
                    }
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
            }
        };
        let retry_soon = batch.iter().any(|r| r.status == DeliveryStatus::Retrying);
        let mut tenants: Vec<&str> = batch.iter().map(|r| r.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        ctx.events.deliveries_changed(&tenants);
        if let Some(disabled) = recorded {
            for d in disabled {
                ctx.events.endpoint_disabled(d).await;
            }
            let dead: Vec<&AttemptRecord> = batch.iter().filter(|r| r.status == DeliveryStatus::Failed).collect();
            if !dead.is_empty() {
                ctx.events.dead_lettered(&dead).await;
            }
        }
        if retry_soon {
            // The worker may be asleep until a later retry; let it recompute.
            ctx.store.wake_local();
        }
    }
}
