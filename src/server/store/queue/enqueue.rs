//! Enqueueing: the transactional outbox. Publishing writes the event, its fan-out and the idempotency key in
//! one transaction (after the 202, a crash loses nothing); concurrent publishes are group-committed by the
//! outbox writer: one transaction and a few multi-row statements for many events, which is what lets SQLite's
//! single writer keep up.

use super::handoff::HandOff;
use super::ids::delivery_id;
use crate::model::{Delivery, Event};
use crate::server::store::script::Script;
use crate::server::store::sql::{Arg, Dialect};
use crate::server::store::{new_id, now_ms, DbResult, Store, WORK_CHANNEL};
use sqlx::Row;
use std::sync::Arc;

pub(in crate::server::store) const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Rows per multi-row INSERT: 5 parameters × 200 (and 3 × 300) stay under both engines' parameter limits.
const EVENT_CHUNK: usize = 200;
const FANOUT_CHUNK: usize = 300;

/// An event's matched endpoints as the `fanouts` row holds them: a JSON array in delivery-number order.
fn endpoints_json(j: &OutboxJob) -> String {
    let ids: Vec<&str> = j.deliveries.iter().map(|(_, w)| w.as_str()).collect();
    // Serialising strings cannot fail.
    serde_json::to_string(&ids).unwrap_or_default()
}

/// What the outbox writes of an event besides its envelope (the parsed envelope stays with the caller).
struct EventHead {
    id: String,
    tenant_id: String,
    event_type: String,
    created_at: i64,
}

pub(in crate::server::store) struct OutboxJob {
    event: EventHead,
    envelope: std::sync::Arc<str>,
    /// (delivery id, endpoint id) per matched endpoint.
    deliveries: Vec<(String, String)>,
    /// Set when the rows are handed straight to this instance's worker (see `handoff`).
    lease_until: Option<i64>,
    idempotency_key: Option<String>,
    reply: tokio::sync::oneshot::Sender<DbResult<PublishOutcome>>,
}

/// Most events one group commit takes.
const GROUP_MAX: usize = 256;
const GROUP_MAX_ROWS: usize = 5_000;

/// Groups one PostgreSQL instance commits side by side: while one waits for its WAL flush, the next is written.
const PG_PARALLEL_GROUPS: usize = 4;

/// A group of publishes taken from the queue: the first and whatever else waits, bounded by events and by
/// delivery rows so one huge fan-out does not hold up many small events.
fn take_group(first: OutboxJob, rx: &mut tokio::sync::mpsc::UnboundedReceiver<OutboxJob>) -> Vec<OutboxJob> {
    let mut rows = first.deliveries.len();
    let mut jobs = vec![first];
    while jobs.len() < GROUP_MAX && rows < GROUP_MAX_ROWS {
        match rx.try_recv() {
            Ok(j) => {
                rows += j.deliveries.len();
                jobs.push(j);
            }
            Err(_) => break,
        }
    }
    jobs
}

/// The writer of the outbox: takes every publish waiting in the queue, writes them in one transaction, answers
/// each. A failed group is retried one event at a time so one bad event cannot fail the others.
pub(in crate::server::store) async fn outbox_writer(
    pool: sqlx::AnyPool,
    dialect: Dialect,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<OutboxJob>,
    written: std::sync::Arc<tokio::sync::Notify>,
) {
    if dialect == Dialect::Sqlite {
        return sqlite_outbox(pool, rx, written).await;
    }
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(PG_PARALLEL_GROUPS));
    loop {
        // A slot first: publishes arriving meanwhile join the next group instead of waiting for a later one.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Some(first) = rx.recv().await else { return };
        let jobs = take_group(first, &mut rx);
        let (pool, written) = (pool.clone(), written.clone());
        tokio::spawn(async move {
            commit_group(&pool, dialect, jobs).await;
            written.notify_one();
            drop(slot);
        });
    }
}

/// SQLite has one writer: one group at a time, committed in this task.
async fn sqlite_outbox(
    pool: sqlx::AnyPool,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<OutboxJob>,
    written: std::sync::Arc<tokio::sync::Notify>,
) {
    while let Some(first) = rx.recv().await {
        commit_group(&pool, Dialect::Sqlite, take_group(first, &mut rx)).await;
        written.notify_one();
    }
}

/// Writes one group and answers its publishers.
async fn commit_group(pool: &sqlx::AnyPool, dialect: Dialect, mut jobs: Vec<OutboxJob>) {
    match write_group(pool, dialect, &jobs).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(_) if jobs.len() > 1 => {
            for job in jobs {
                let r = write_group(pool, dialect, std::slice::from_ref(&job)).await.map(|mut o| o.remove(0));
                let _ = job.reply.send(r);
            }
        }
        Err(e) => {
            if let Some(job) = jobs.pop() {
                let _ = job.reply.send(Err(e));
            }
        }
    }
}

async fn write_group(pool: &sqlx::AnyPool, dialect: Dialect, jobs: &[OutboxJob]) -> DbResult<Vec<PublishOutcome>> {
    // Without idempotency keys nothing depends on what the transaction finds: it is built whole beforehand and
    // sent as one call (see `script`).
    if jobs.iter().all(|j| j.idempotency_key.is_none()) {
        let all: Vec<&OutboxJob> = jobs.iter().collect();
        insert_script(dialect, &all).commit(pool, dialect).await?;
        return Ok(vec![PublishOutcome::Created; jobs.len()]);
    }
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let e = &job.event;
        let Some(key) = &job.idempotency_key else {
            outcomes.push(PublishOutcome::Created);
            continue;
        };
        sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND created_at < $3")
            .bind(&e.tenant_id)
            .bind(key)
            .bind(e.created_at - IDEMPOTENCY_WINDOW_MS)
            .execute(&mut *tx)
            .await?;
        // Claim the key first: a concurrent publisher with the same key (another instance) waits here.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, key, event_id, matched, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, key) DO NOTHING",
        )
        .bind(&e.tenant_id)
        .bind(key)
        .bind(&e.id)
        .bind(job.deliveries.len() as i64)
        .bind(e.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            outcomes.push(PublishOutcome::Created);
        } else {
            let row = sqlx::query("SELECT event_id, matched FROM idempotency_keys WHERE tenant_id = $1 AND key = $2")
                .bind(&e.tenant_id)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
            let matched: i64 = row.try_get("matched")?;
            outcomes.push(PublishOutcome::Duplicate(row.try_get("event_id")?, matched.max(0) as usize));
        }
    }
    let created: Vec<&OutboxJob> =
        jobs.iter().zip(&outcomes).filter(|(_, o)| **o == PublishOutcome::Created).map(|(j, _)| j).collect();
    insert_script(dialect, &created).run(&mut tx, dialect).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The events and delivery rows of a group in a few multi-row INSERTs.
fn insert_script<'a>(dialect: Dialect, created: &[&'a OutboxJob]) -> Script<'a> {
    if dialect == Dialect::Postgres {
        return insert_script_pg(created);
    }
    let mut script = Script::default();
    for chunk in created.chunks(EVENT_CHUNK) {
        let sql = dialect.values_sql(
            "INSERT INTO events (id, tenant_id, event_type, envelope, created_at) VALUES ",
            chunk.len(),
            5,
            "",
        );
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 5);
        for j in chunk {
            let e = &j.event;
            args.extend([e.id.as_str().into(), e.tenant_id.as_str().into(), e.event_type.as_str().into()]);
            args.extend([(*j.envelope).into(), e.created_at.into()]);
        }
        script.push(sql, args);
    }
    let fanned: Vec<&OutboxJob> = created.iter().copied().filter(|j| !j.deliveries.is_empty()).collect();
    for chunk in fanned.chunks(FANOUT_CHUNK) {
        let sql =
            dialect.values_sql("INSERT INTO fanouts (event_id, endpoints, lease_until) VALUES ", chunk.len(), 3, "");
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 3);
        for j in chunk {
            args.extend([j.event.id.as_str().into(), endpoints_json(j).into(), j.lease_until.into()]);
        }
        script.push(sql, args);
    }
    script
}

/// An event row as the PostgreSQL outbox statement reads it (`json_to_recordset`).
#[derive(serde::Serialize)]
struct EventJson<'a> {
    i: &'a str,
    t: &'a str,
    y: &'a str,
    v: &'a str,
    c: i64,
}

/// A fan-out row as the PostgreSQL outbox statement reads it.
#[derive(serde::Serialize)]
struct FanoutJson<'a> {
    e: &'a str,
    w: String,
    l: Option<i64>,
}

/// The PostgreSQL form: the whole group as two JSON parameters of one statement whose text never changes, so
/// each connection parses and plans it once. A VALUES list with a parameter per cell is new text for nearly
/// every group size, and parsing and planning thousands of parameters cost the server more than the inserts.
fn insert_script_pg<'a>(created: &[&'a OutboxJob]) -> Script<'a> {
    let events: Vec<EventJson> = created
        .iter()
        .map(|j| {
            let e = &j.event;
            EventJson { i: &e.id, t: &e.tenant_id, y: &e.event_type, v: &j.envelope, c: e.created_at }
        })
        .collect();
    let fanouts: Vec<FanoutJson> = created
        .iter()
        .filter(|j| !j.deliveries.is_empty())
        .map(|j| FanoutJson { e: &j.event.id, w: endpoints_json(j), l: j.lease_until })
        .collect();
    // Serialising borrowed strings and integers cannot fail.
    let events = serde_json::to_string(&events).unwrap_or_default();
    let fanouts = serde_json::to_string(&fanouts).unwrap_or_default();
    let mut script = Script::default().prepared();
    script.push(
        "INSERT INTO events (id, tenant_id, event_type, envelope, created_at) \
         SELECT i, t, y, v, c FROM json_to_recordset($1::json) AS r(i text, t text, y text, v text, c bigint)"
            .into(),
        vec![events.into()],
    );
    script.push(
        "INSERT INTO fanouts (event_id, endpoints, lease_until) \
         SELECT e, w, l FROM json_to_recordset($1::json) AS r(e text, w text, l bigint)"
            .into(),
        vec![fanouts.into()],
    );
    // Other instances' workers hear of unleased work once per group, when it commits.
    if created.iter().any(|j| j.lease_until.is_none() && !j.deliveries.is_empty()) {
        script.push("SELECT pg_notify($1, '')".into(), vec![WORK_CHANNEL.into()]);
    }
    script
}

/// What a publish transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    Created,
    /// The idempotency key was used within 24 h: (first event id, its match count); nothing was written.
    Duplicate(String, usize),
}

impl Store {
    /// Publishes an event to the endpoints it matched (in order: the `n`th gets [`delivery_id`]`(event, n)`):
    /// the event, its fan-out and the idempotency key are committed together, then the deliveries are handed to
    /// this instance's worker when it has room (written leased to it), or left for any worker to claim.
    /// Returns once all of it is durable.
    pub async fn enqueue(
        &self,
        event: &Event,
        envelope: Arc<str>,
        endpoints: Vec<String>,
        idempotency_key: Option<&str>,
    ) -> DbResult<PublishOutcome> {
        let rows: Vec<(String, String)> =
            endpoints.into_iter().enumerate().map(|(n, w)| (delivery_id(&event.id, n), w)).collect();
        let direct = self.local.handoff.reserve(rows.len(), event.created_at);
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job = OutboxJob {
            event: EventHead {
                id: event.id.clone(),
                tenant_id: event.tenant_id.clone(),
                event_type: event.event_type.clone(),
                created_at: event.created_at,
            },
            envelope: envelope.clone(),
            deliveries: rows,
            lease_until: direct.as_ref().map(|r| r.lease_until),
            idempotency_key: idempotency_key.map(str::to_string),
            reply,
        };
        // The rows outlive the job only when they are handed over (`reserve` gives no room for none).
        let handed = direct.map(|r| (r, job.deliveries.clone()));
        let fanned_out = !job.deliveries.is_empty();
        if self.outbox.send(job).is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        let outcome = rx.await.map_err(|_| sqlx::Error::PoolClosed)??;
        if outcome == PublishOutcome::Created && fanned_out {
            match handed {
                Some((r, rows)) => HandOff::hand_over(r, event, envelope, &rows),
                // Other instances heard of it with the commit (NOTIFY in the outbox statement).
                None => self.wake_local(),
            }
        }
        Ok(outcome)
    }

    /// A fresh pending delivery of the same event to the same endpoint (the old one and its attempts stay), and
    /// the old one names it, in one transaction. With `once`, nothing is written when the old one was replayed
    /// already (None): a recover re-sends each dead letter once, even when two run side by side.
    pub async fn replay(&self, d: &Delivery, once: bool) -> DbResult<Option<Delivery>> {
        let now = now_ms();
        let id = new_id("dlv");
        let mut tx = self.write.begin().await?;
        let only_once = if once { " AND replayed_by IS NULL" } else { "" };
        let marked = sqlx::query(&format!("UPDATE deliveries SET replayed_by = $2 WHERE id = $1{only_once}"))
            .bind(&d.id)
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if once && marked == 0 {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, next_attempt_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)",
        )
        .bind(&id)
        .bind(&d.tenant_id)
        .bind(&d.event_id)
        .bind(&d.webhook_id)
        .bind(&d.event_type)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_delivery(&id).await?.ok_or(sqlx::Error::RowNotFound).map(Some)
    }
}
