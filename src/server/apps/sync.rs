//! "Sync now": a connection's actions run over the tenant's past events, as a background job with a sync-log
//! row the UI polls.
//!
//! - `full` sends every retained trigger event of the tenant; `incremental` only those after the cursor of the
//!   last finished run (everything, when there was none). Events go oldest first, each through the same
//!   [`actions::run`] as a delivery, so what was made earlier is patched rather than made twice.
//! - The row (`running` → `succeeded` | `partial` | `failed`) is saved after every record: counters, per-record
//!   errors, the cursor. The cursor only ever passes finished records (done, skipped or refused for good): past
//!   a record that could not be finished (the provider kept failing) it stays put, so the next incremental run
//!   starts there again.
//! - A 429 is waited out (`Retry-After`) and the record tried again; a 5xx or no answer is retried a few
//!   times with a growing pause; a 401 gets one refresh and one retry (in `actions`). Tokens refused for good
//!   end the run (`failed`, or `partial` when some records went through).
//! - One run at a time per connection: a second request while one runs is a 409, kept by a unique index on
//!   running rows (so two instances asking at once cannot both start one). A run whose instance died
//!   stays `running` until an instance starts (every such row becomes `interrupted`, [`interrupt_abandoned`])
//!   or its heartbeat is older than [`STALE_AFTER`] when another run is asked for.

use super::actions::{self, AppsContext, Failure, Outcome, Run};
use crate::model::{
    AppError, AppResult, ConnectionStatus, DestinationKind, RecordError, SyncKind, SyncLog, SyncStatus,
};
use crate::model::{Event, Webhook};
use crate::server::service::Hub;
use crate::server::store::{now_ms, Store, StoredConnection};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Events read at a time.
const PAGE: i64 = 200;
/// Tries of one record the provider answers with a 5xx (or not at all).
const TRIES: u32 = 3;
/// Pause before the second try of such a record (doubling), times `HUB_RETRY_TIME_SCALE`.
const RETRY_PAUSE: Duration = Duration::from_secs(2);
/// 429s one record may get before it is given up (each waited out).
const MAX_SLOW_DOWNS: u32 = 5;
/// A 429 without `Retry-After` waits this long.
const DEFAULT_SLOW_DOWN: Duration = Duration::from_secs(10);
/// A running row is saved at least this often (its heartbeat), also while a 429 is waited out.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// A running row whose heartbeat is older than this belongs to an instance that stopped.
pub const STALE_AFTER: Duration = Duration::from_secs(120);
/// Records whose remote ids and links a run's details keep (the counters count them all).
const MAX_DETAILED: usize = 100;

/// Runs of this process, by connection (the database's `running` row covers other instances).
static RUNNING: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn claim_local(connection_id: &str) -> bool {
    RUNNING.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashSet::new).insert(connection_id.into())
}

fn release_local(connection_id: &str) {
    if let Some(set) = RUNNING.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        set.remove(connection_id);
    }
}

/// A run's claim in [`RUNNING`], given back when dropped: by the job just before its row stops being `running`,
/// so whoever sees the run finished can start the next one at once.
struct LocalClaim(String);

impl Drop for LocalClaim {
    fn drop(&mut self) {
        release_local(&self.0);
    }
}

/// Starts a "Sync now" run of `kind` (`full` or `incremental`) for the connection and returns its sync-log id
/// at once; the run goes on in the background. The caller (the service) has checked that the actor may
/// manage the connection's tenant. A 409 when a run of this connection is still going or the connection is not
/// `active`.
pub async fn start(hub: &Arc<Hub>, connection_id: &str, kind: SyncKind) -> AppResult<String> {
    if !matches!(kind, SyncKind::Full | SyncKind::Incremental) {
        return Err(AppError::field("kind", "must be `full` or `incremental`"));
    }
    let conn = hub.store.get_connection(connection_id).await?.ok_or_else(|| AppError::not_found("connection"))?;
    match conn.connection.status {
        ConnectionStatus::Active => {}
        ConnectionStatus::Error => {
            return Err(AppError::conflict("the connection needs reconnecting before it can sync"));
        }
        ConnectionStatus::Disabled => return Err(AppError::conflict("the connection is switched off")),
    }
    if !claim_local(connection_id) {
        return Err(AppError::conflict("a sync of this connection is already running"));
    }
    let claim = LocalClaim(connection_id.to_string());
    let (log, after) = begin(hub, &conn, kind).await?;
    let id = log.id.clone();
    let hub = hub.clone();
    tokio::spawn(async move { job(&hub, conn, log, after, claim).await });
    Ok(id)
}

/// The run's row, after checking no other instance runs one; and where it starts.
async fn begin(hub: &Hub, conn: &StoredConnection, kind: SyncKind) -> AppResult<(SyncLog, Option<String>)> {
    let c = &conn.connection;
    if let Some(mut other) = hub.store.running_sync(&c.id).await? {
        if !stale(&other, now_ms()) {
            return Err(AppError::conflict("a sync of this connection is already running"));
        }
        other.status = SyncStatus::Interrupted;
        hub.store.save_sync_log(&other).await?;
    }
    let after = match kind {
        SyncKind::Incremental => hub.store.last_sync_cursor(&c.id).await?,
        _ => None,
    };
    let log = match hub.store.start_sync_log(&c.id, &c.tenant_id, kind, after.as_deref()).await {
        Ok(log) => log,
        // Another instance started one since the check above.
        Err(e) if crate::server::store::is_unique_violation(&e) => {
            return Err(AppError::conflict("a sync of this connection is already running"));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((log, after))
}

/// Whether a running row's instance has stopped: its heartbeat (or, before the first, its start) is older
/// than [`STALE_AFTER`].
fn stale(log: &SyncLog, now: i64) -> bool {
    let beat = log.details.get("heartbeat_at").and_then(Value::as_i64).unwrap_or(log.started_at);
    now - beat > STALE_AFTER.as_millis() as i64
}

/// At start-up: runs left `running` by a stopped instance become `interrupted`. (With several instances on one
/// PostgreSQL database, a run another instance is still making sets itself back to `running` with its next
/// save.)
pub async fn interrupt_abandoned(store: &Store) -> Result<u64, String> {
    store.interrupt_sync_logs(now_ms()).await.map_err(|e| e.to_string())
}

/// The job: every trigger event after `after`, oldest first, each record saved as it finishes.
async fn job(hub: &Arc<Hub>, conn: StoredConnection, mut log: SyncLog, after: Option<String>, claim: LocalClaim) {
    let c = conn.connection.clone();
    let types = actions::triggers(c.provider.as_str());
    // The requests' timeout and the debug log's target name; never stored.
    let hook = Webhook {
        id: c.id.clone(),
        tenant_id: c.tenant_id.clone(),
        kind: DestinationKind::App,
        timeout_ms: crate::model::webhook::limits::TIMEOUT_MS.2,
        ..Default::default()
    };
    let rt: &AppsContext = hub.as_ref();
    let out = crate::server::delivery::sender::Outbound { apps: Some(rt), ..hub.outbound() };
    let scale = hub.config.serve.retry_time_scale;
    let mut state = Progress { cursor: after.clone(), gap: false, detailed: Vec::new(), beat: now_ms() };
    let mut next = after;
    let mut aborted = None;
    'pages: loop {
        let page = match hub.store.events_of_types_after(&c.tenant_id, &types, next.as_deref(), PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, connection = %c.id, "reading events for a sync failed");
                aborted = Some("the hub could not read its events; run the sync again".to_string());
                break;
            }
        };
        let last_page = (page.len() as i64) < PAGE;
        for event in &page {
            next = Some(event.id.clone());
            let run = one(out, rt, &hook, &conn, event, scale, &mut log, &mut state, &hub.store).await;
            let finished =
                !matches!(run.result, Err(Failure::Retry { .. } | Failure::SlowDown { .. } | Failure::Reconnect(_)));
            count(&mut log, &run, event);
            remember(&mut state, &run);
            if finished && !state.gap {
                state.cursor = Some(event.id.clone());
            } else {
                state.gap = true;
            }
            if let Err(Failure::Reconnect(m)) = &run.result {
                aborted = Some(m.clone());
                save(&hub.store, &mut log, &mut state).await;
                break 'pages;
            }
            if !save(&hub.store, &mut log, &mut state).await {
                // The row is gone (the connection was deleted): nothing left to report to.
                return;
            }
        }
        if last_page {
            break;
        }
    }
    let status = aborted.map(|message| {
        log.errors.push(RecordError { record: "connection".into(), message, status: None });
        if log.created + log.updated > 0 {
            SyncStatus::Partial
        } else {
            SyncStatus::Failed
        }
    });
    drop(claim);
    finish(&hub.store, &mut log, status).await;
}

/// What a run keeps between records besides the row itself.
struct Progress {
    /// The last record before which every record finished.
    cursor: Option<String>,
    /// A record did not finish: the cursor stays before it.
    gap: bool,
    detailed: Vec<Value>,
    /// When the row was last saved.
    beat: i64,
}

/// One record, tried until it finishes, the provider keeps failing, or the tokens are refused.
#[allow(clippy::too_many_arguments)]
async fn one(
    out: crate::server::delivery::sender::Outbound<'_>,
    rt: &AppsContext,
    hook: &Webhook,
    conn: &StoredConnection,
    event: &Event,
    scale: f64,
    log: &mut SyncLog,
    state: &mut Progress,
    store: &Store,
) -> Run {
    let (mut tries, mut slow_downs) = (0u32, 0u32);
    loop {
        let run = actions::run(out, rt, hook, conn, &event.envelope, tries + slow_downs + 1).await;
        match &run.result {
            Err(Failure::SlowDown { retry_after, .. }) if slow_downs < MAX_SLOW_DOWNS => {
                slow_downs += 1;
                let wait = retry_after
                    .as_deref()
                    .and_then(|v| crate::server::delivery::policy::parse_retry_after(v, now_ms()))
                    .map(|s| Duration::from_secs(s.clamp(1, crate::server::delivery::policy::MAX_RETRY_AFTER_SECS)))
                    .unwrap_or(DEFAULT_SLOW_DOWN);
                wait_beating(store, log, state, wait).await;
            }
            Err(Failure::Retry { .. }) if tries + 1 < TRIES => {
                tries += 1;
                let pause = RETRY_PAUSE.mul_f64(f64::from(1u32 << (tries - 1)) * scale.max(0.0));
                wait_beating(store, log, state, pause).await;
            }
            _ => return run,
        }
    }
}

/// Waits, saving the row every [`HEARTBEAT`] so it is not taken for abandoned.
async fn wait_beating(store: &Store, log: &mut SyncLog, state: &mut Progress, wait: Duration) {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(HEARTBEAT)).await;
        if now_ms() - state.beat >= HEARTBEAT.as_millis() as i64 {
            save(store, log, state).await;
        }
    }
}

/// Adds one record's outcome to the row.
fn count(log: &mut SyncLog, run: &Run, event: &Event) {
    log.processed += 1;
    match &run.result {
        Ok(Outcome::Created) => log.created += 1,
        Ok(Outcome::Updated) => log.updated += 1,
        Ok(Outcome::Skipped(_)) => {}
        Err(f) => {
            log.failed += 1;
            let record = if run.record.is_empty() { event.id.clone() } else { run.record.clone() };
            log.errors.push(RecordError { record, message: f.message().to_string(), status: f.status() });
        }
    }
}

/// Saves the running row (counters, errors, cursor, details with the heartbeat); false when it is gone or a
/// newer run of the connection took over.
async fn save(store: &Store, log: &mut SyncLog, state: &mut Progress) -> bool {
    state.beat = now_ms();
    log.cursor = state.cursor.clone();
    log.details = json!({ "heartbeat_at": state.beat, "records": state.detailed });
    log.status = SyncStatus::Running;
    match store.save_sync_log(log).await {
        Ok(()) => store.sync_log(&log.id).await.map(|l| l.is_some()).unwrap_or(true),
        // This run was taken for abandoned and another one started meanwhile: that one goes on, this one stops.
        Err(e) if crate::server::store::is_unique_violation(&e) => {
            tracing::warn!(sync = %log.id, "a newer sync of this connection runs; this one stops");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, sync = %log.id, "saving a sync run's progress failed");
            true
        }
    }
}

/// The row's last save: its status from its counts unless given, completed, the connection's last sync set.
async fn finish(store: &Store, log: &mut SyncLog, status: Option<SyncStatus>) {
    log.status = status.unwrap_or_else(|| SyncStatus::from_counts(log.processed, log.failed));
    log.completed_at = Some(now_ms());
    if let Some(d) = log.details.as_object_mut() {
        d.remove("heartbeat_at");
    }
    if let Err(e) = store.save_sync_log(log).await {
        tracing::warn!(error = %e, sync = %log.id, "finishing a sync run failed");
    }
    if let Err(e) = store.set_connection_synced(&log.connection_id, now_ms()).await {
        tracing::warn!(error = %e, sync = %log.id, "recording a connection's last sync failed");
    }
}

/// Keeps a record's remote id and link in the run's details (the first [`MAX_DETAILED`]).
fn remember(state: &mut Progress, run: &Run) {
    if state.detailed.len() < MAX_DETAILED && (run.remote_id.is_some() || run.remote_url.is_some()) {
        state.detailed.push(json!({"record": run.record, "remote_id": run.remote_id, "remote_url": run.remote_url}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(started_at: i64, details: Value) -> SyncLog {
        SyncLog {
            id: "syn_1".into(),
            connection_id: "app_1".into(),
            tenant_id: "ten_1".into(),
            kind: SyncKind::Full,
            direction: "export".into(),
            status: SyncStatus::Running,
            processed: 0,
            created: 0,
            updated: 0,
            failed: 0,
            started_at,
            completed_at: None,
            duration_ms: None,
            cursor: None,
            delivery_id: None,
            errors: vec![],
            details,
        }
    }

    #[test]
    fn a_run_is_abandoned_once_its_heartbeat_is_old() {
        let now = 10_000_000;
        let limit = STALE_AFTER.as_millis() as i64;
        assert!(!stale(&log(now - 1000, json!({})), now));
        assert!(stale(&log(now - limit - 1, json!({})), now));
        // A long run that keeps beating is not.
        assert!(!stale(&log(now - 10 * limit, json!({"heartbeat_at": now - 1000})), now));
        assert!(stale(&log(now - 10 * limit, json!({"heartbeat_at": now - limit - 1})), now));
    }

    #[test]
    fn one_run_per_connection_in_this_process() {
        assert!(claim_local("app_test_claim"));
        assert!(!claim_local("app_test_claim"));
        release_local("app_test_claim");
        assert!(claim_local("app_test_claim"));
        release_local("app_test_claim");
    }
}
