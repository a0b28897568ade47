//! Recording attempts: the outcomes of many deliveries, their attempts, the endpoints' counters and the stats
//! rollups in one transaction; the circuit breaker's verdict (the caller's policy) applied in the same one.

use super::fanout::{push_write_out_sqlite, write_out_pg};
use crate::model::{DeliveryAttempt, DeliveryStatus, Event};
use crate::server::store::maintenance::add_to_rollups;
use crate::server::store::script::Script;
use crate::server::store::sql::{Arg, Dialect};
use crate::server::store::{new_id, now_ms, DbResult, Store};
use sqlx::Row;
use std::collections::HashMap;

/// The outcome of one attempt, written together with many others in one transaction.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: String,
    pub tenant_id: String,
    /// What the delivery row is written with if it does not exist yet.
    pub event_id: String,
    pub event_type: String,
    /// When the delivery was created: its hour in the stats rollups.
    pub delivery_created_at: i64,
    pub webhook_id: String,
    pub attempt: DeliveryAttempt,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    /// Set when the endpoint must be switched off (410 Gone).
    pub disable_reason: Option<String>,
}

/// An endpoint's failing streak as recorded, which the circuit breaker judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    /// Deliveries in a row that failed for good.
    pub failed_in_a_row: i64,
    /// When the first attempt since the last success failed.
    pub failing_since: Option<i64>,
}

/// An endpoint switched off while recording attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoDisabled {
    pub webhook_id: String,
    pub tenant_id: String,
    pub reason: String,
}

/// Rows per multi-row statement: 14 × 100 and 13 × 200 parameters stay far under both engines' limits.
const ATTEMPT_CHUNK: usize = 100;
const STATUS_CHUNK: usize = 200;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// What one batch changes on one endpoint (records are in completion order).
#[derive(Default)]
struct EndpointDelta {
    delivered: i64,
    failed: i64,
    last_error: Option<String>,
    /// A success in this batch resets the breaker's streak.
    reset: bool,
    failed_in_a_row: i64,
    failing_since: Option<i64>,
    disable: Option<String>,
}

fn endpoint_deltas(records: &[AttemptRecord]) -> Vec<(&str, EndpointDelta)> {
    let mut out: Vec<(&str, EndpointDelta)> = Vec::new();
    for r in records {
        let i = match out.iter().position(|(w, _)| *w == r.webhook_id) {
            Some(i) => i,
            None => {
                out.push((&r.webhook_id, EndpointDelta::default()));
                out.len() - 1
            }
        };
        let d = &mut out[i].1;
        if r.status == DeliveryStatus::Success {
            d.delivered += 1;
            d.reset = true;
            d.failed_in_a_row = 0;
            d.failing_since = None;
        } else {
            if r.status == DeliveryStatus::Failed {
                d.failed += 1;
                d.failed_in_a_row += 1;
            }
            d.failing_since = d.failing_since.or(Some(r.attempt.created_at));
            if r.attempt.error.is_some() {
                d.last_error = r.attempt.error.clone();
            }
        }
        if r.disable_reason.is_some() {
            d.disable = r.disable_reason.clone();
        }
    }
    out
}

/// The attempts of many deliveries in a few multi-row INSERTs.
fn insert_attempts<'a>(script: &mut Script<'a>, dialect: Dialect, records: &'a [AttemptRecord]) {
    for chunk in records.chunks(ATTEMPT_CHUNK) {
        let sql = dialect.values_sql(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt, request_headers, request_body, \
                 response_status, response_headers, response_body, response_truncated, duration_ms, error_kind, error, \
                 next_retry_at, created_at) VALUES ",
            chunk.len(),
            14,
            "",
        );
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 14);
        for r in chunk {
            let a = &r.attempt;
            args.extend([a.id.as_str().into(), r.delivery_id.as_str().into(), i64::from(a.attempt).into()]);
            args.extend([json(&a.request_headers).into(), a.request_body.as_str().into()]);
            args.extend([a.response_status.map(i64::from).into(), json(&a.response_headers).into()]);
            args.extend([a.response_body.as_deref().into(), i64::from(a.response_truncated).into()]);
            args.extend([(a.duration_ms as i64).into(), a.error_kind.map(|k| k.as_str()).into()]);
            args.extend([a.error.as_deref().into(), a.next_retry_at.into(), a.created_at.into()]);
        }
        script.push(sql, args);
    }
}

impl Store {
    /// Writes attempts and outcomes of many deliveries in one transaction: multi-row statements for the attempts
    /// and the delivery rows, one counter update per endpoint, and the circuit breaker's verdict: `trip` judges
    /// each endpoint's streak as updated (at `now`) and gives the reason to switch it off, if any. Returns the
    /// endpoints that were switched off (410 Gone or the breaker), for the audit log.
    pub async fn record(
        &self,
        records: &[AttemptRecord],
        trip: impl Fn(Streak, i64) -> Option<String>,
    ) -> DbResult<Vec<AutoDisabled>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let deltas = endpoint_deltas(records);
        let finished: Vec<&AttemptRecord> =
            records.iter().filter(|r| matches!(r.status, DeliveryStatus::Success | DeliveryStatus::Failed)).collect();
        // Every statement is built before the writer is taken, and sent in one go (see `script`).
        let mut script = Script::default();
        // Each delivery row is written with its outcome: updated where it exists, inserted where it does not.
        // An upsert may touch a row once per statement: a delivery recorded twice in one batch (its lease ran out
        // while its first record waited) is written with its latest attempt (records are in completion order).
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            last.insert(&r.delivery_id, i);
        }
        let latest: Vec<&AttemptRecord> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| last.get(r.delivery_id.as_str()) == Some(i))
            .map(|(_, r)| r)
            .collect();
        for chunk in latest.chunks(STATUS_CHUNK) {
            let sql = self.dialect.values_sql(
                "INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, created_at, status, attempts, \
                 next_attempt_at, last_status_code, last_error, duration_ms, updated_at) VALUES ",
                chunk.len(),
                13,
                " ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, \
                 next_attempt_at = excluded.next_attempt_at, last_status_code = excluded.last_status_code, \
                 last_error = excluded.last_error, duration_ms = excluded.duration_ms, updated_at = excluded.updated_at, \
                 lease_until = NULL",
            );
            let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 13);
            for r in chunk {
                let a = &r.attempt;
                args.extend([r.delivery_id.as_str().into(), r.tenant_id.as_str().into(), r.event_id.as_str().into()]);
                args.extend([r.webhook_id.as_str().into(), r.event_type.as_str().into(), r.delivery_created_at.into()]);
                args.extend([r.status.as_str().into(), i64::from(a.attempt).into(), r.next_attempt_at.into()]);
                args.extend([a.response_status.map(i64::from).into(), a.error.as_deref().into()]);
                args.extend([(a.duration_ms as i64).into(), now.into()]);
            }
            script.push(sql, args);
        }
        // The rest of their events' fan-outs (deliveries handed over but not attempted in this batch) as pending
        // rows that keep the lease; on PostgreSQL this is done first, in the same transaction (below).
        // (A first attempt's: a retried delivery's row was written before its first attempt was recorded.)
        let mut events: Vec<String> =
            records.iter().filter(|r| r.attempt.attempt == 1).map(|r| r.event_id.clone()).collect();
        events.sort_unstable();
        events.dedup();
        if self.dialect == Dialect::Sqlite {
            push_write_out_sqlite(&mut script, &events);
        }
        // After the deliveries: an attempt's row refers to its delivery's.
        insert_attempts(&mut script, self.dialect, records);
        add_to_rollups(&mut script, self.dialect, &finished);
        // Every endpoint's counters in one statement per chunk; the rows it returns (the only rows the script
        // returns) feed the breaker.
        for chunk in deltas.chunks(STATUS_CHUNK) {
            let sql = self.dialect.values_sql(
                "UPDATE webhooks SET last_triggered_at = v.column2, total_delivered = total_delivered + v.column3, \
                 total_failed = total_failed + v.column4, \
                 last_error_at = CASE WHEN v.column5 IS NULL THEN last_error_at ELSE v.column2 END, \
                 last_error = COALESCE(v.column5, last_error), \
                 consecutive_failures = v.column6 + CASE WHEN v.column7 = 1 THEN 0 ELSE consecutive_failures END, \
                 failing_since = CASE WHEN v.column7 = 1 THEN v.column8 ELSE COALESCE(failing_since, v.column8) END \
                 FROM (VALUES ",
                chunk.len(),
                8,
                ") AS v WHERE webhooks.id = v.column1 \
                 RETURNING webhooks.id, tenant_id, is_active, deleted_at, consecutive_failures, failing_since",
            );
            let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 8);
            for (webhook_id, d) in chunk {
                args.extend([(*webhook_id).into(), now.into(), d.delivered.into(), d.failed.into()]);
                args.extend([d.last_error.as_deref().into(), d.failed_in_a_row.into(), i64::from(d.reset).into()]);
                args.push(d.failing_since.into());
            }
            script.push_returning(sql, args);
        }
        // A batch in which no endpoint failed cannot trip the breaker: it is one call (see `script`). Otherwise
        // the verdicts are read from the counters as updated and applied in the same transaction.
        let trips = deltas.iter().any(|(_, d)| d.failing_since.is_some() || d.disable.is_some());
        if !trips && (self.dialect == Dialect::Sqlite || events.is_empty()) {
            script.commit(&self.write, self.dialect).await?;
            self.written.notify_one();
            return Ok(Vec::new());
        }
        let mut tx = self.write.begin().await?;
        if self.dialect == Dialect::Postgres && !events.is_empty() {
            let attempted: Vec<&str> = latest.iter().map(|r| r.delivery_id.as_str()).collect();
            write_out_pg(&mut tx, &events, &attempted).await?;
        }
        let after = script.run_at_once(&mut tx, self.dialect).await?;
        let mut disabled = Vec::new();
        for row in after {
            let webhook_id: String = row.try_get("id")?;
            let Some((_, d)) = deltas.iter().find(|(w, _)| *w == webhook_id) else { continue };
            let active =
                row.try_get::<i64, _>("is_active")? != 0 && row.try_get::<Option<i64>, _>("deleted_at")?.is_none();
            let in_a_row: i64 = row.try_get("consecutive_failures")?;
            let since: Option<i64> = row.try_get("failing_since")?;
            let streak = Streak { failed_in_a_row: in_a_row, failing_since: since };
            let reason = d.disable.clone().or_else(|| trip(streak, now));
            let Some(reason) = reason.filter(|_| active) else { continue };
            // Re-enabling is a user action and starts the count afresh.
            sqlx::query(
                "UPDATE webhooks SET is_active = 0, disabled_reason = $2, updated_at = $3, consecutive_failures = 0, \
                 failing_since = NULL WHERE id = $1",
            )
            .bind(&webhook_id)
            .bind(&reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            disabled.push(AutoDisabled { webhook_id, tenant_id: row.try_get("tenant_id")?, reason });
        }
        tx.commit().await?;
        self.written.notify_one();
        Ok(disabled)
    }

    /// A test-fire: its event (flagged, hidden from the event log), its finished delivery and its one attempt,
    /// written together.
    pub async fn insert_test_delivery(&self, event: &Event, record: &AttemptRecord) -> DbResult<()> {
        let a = &record.attempt;
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO events (id, tenant_id, event_type, envelope, created_at, is_test) VALUES ($1, $2, $3, $4, $5, 1)",
        )
        .bind(&event.id)
        .bind(&event.tenant_id)
        .bind(&event.event_type)
        .bind(event.envelope.to_string())
        .bind(event.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, attempts, \
             last_status_code, last_error, duration_ms, is_test, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, 1, $10, $10)",
        )
        .bind(&record.delivery_id)
        .bind(&event.tenant_id)
        .bind(&event.id)
        .bind(&record.webhook_id)
        .bind(&event.event_type)
        .bind(record.status.as_str())
        .bind(a.response_status.map(i64::from))
        .bind(a.error.clone())
        .bind(a.duration_ms as i64)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let mut script = Script::default();
        insert_attempts(&mut script, self.dialect, std::slice::from_ref(record));
        add_to_rollups(&mut script, self.dialect, &[record]);
        script.run(&mut tx, self.dialect).await?;
        tx.commit().await
    }
}

pub fn new_attempt_id() -> String {
    new_id("att")
}
