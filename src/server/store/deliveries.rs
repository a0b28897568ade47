//! The delivery queue: claiming due rows with a lease, recording attempts and outcomes in batches.

use super::events::{delivery_from, DELIVERY_COLS};
use super::script::{Arg, Script};
use super::{new_id, now_ms, DbResult, Dialect, SealedSecrets, Store};
use crate::model::{Delivery, DeliveryAttempt, DeliveryListQuery, DeliveryStatus, ErrorKind, Event, Webhook};
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

/// The circuit breaker's thresholds (0 switches a rule off).
#[derive(Debug, Clone, Copy, Default)]
pub struct Breaker {
    pub failures: u32,
    pub period_ms: i64,
}

/// An endpoint switched off while recording attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoDisabled {
    pub webhook_id: String,
    pub tenant_id: String,
    pub reason: String,
}

/// Where one read of the delivery log looks (see `list_deliveries`).
#[derive(Clone, Copy)]
enum LogPart {
    /// Every row, by the primary key or whichever index the filters suit.
    All,
    /// An endpoint's attempted (or cancelled) rows: its own partial index (SQLite).
    Attempted,
    /// An endpoint's pending rows: the queue's index (SQLite).
    Pending,
    /// A tenant's rows named after its events: its events newest first, each with its deliveries' key range.
    NamedAfterEvents,
    /// A tenant's other rows (replays, rows older than migration 0010): their partial index.
    NotNamedAfterEvents,
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

fn human_span(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s if s >= 3_600 => format!("{} hours", s / 3_600),
        s if s >= 60 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease_ms`: rows first (retries, and deliveries whose rows were
    /// written before any claim), then fan-outs no worker holds (`claim_fanouts`). On PostgreSQL,
    /// `FOR UPDATE SKIP LOCKED` lets several instances claim side by side without ever taking the same
    /// delivery; SQLite has a single writer.
    pub async fn claim_due(&self, limit: i64, lease_ms: i64) -> DbResult<Vec<Delivery>> {
        let now = now_ms();
        let lock = if self.dialect == Dialect::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let rows = sqlx::query(&format!(
            "UPDATE deliveries SET lease_until = $1, updated_at = $2 WHERE id IN (SELECT id FROM deliveries \
             WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at LIMIT $3 {lock}) \
             RETURNING {DELIVERY_COLS}"
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        let mut claimed = rows.iter().map(delivery_from).collect::<DbResult<Vec<_>>>()?;
        let left = limit - claimed.len() as i64;
        if left > 0 {
            claimed.extend(self.claim_fanouts(left, now, now + lease_ms).await?);
        }
        Ok(claimed)
    }

    /// When the next queued delivery is due (None: queue empty), fan-outs no worker holds included.
    pub async fn next_due_at(&self) -> DbResult<Option<i64>> {
        let row =
            sqlx::query("SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status IN ('pending', 'retrying')")
                .fetch_one(&self.read)
                .await?;
        let rows: Option<i64> = row.try_get("t")?;
        let fanouts = self.next_fanout_due(now_ms()).await?;
        Ok(rows.into_iter().chain(fanouts).min())
    }

    /// Envelopes of the given events, by id.
    pub async fn envelopes(&self, ids: &[String]) -> DbResult<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = self.dialect.list(chunk.len());
            let sql = format!("SELECT id, envelope FROM events WHERE id IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.read).await? {
                out.insert(r.try_get("id")?, r.try_get("envelope")?);
            }
        }
        Ok(out)
    }

    /// An endpoint (even a deleted or disabled one) with its sealed secrets, for sending.
    pub async fn webhook_for_send(&self, id: &str) -> DbResult<Option<(Webhook, SealedSecrets, bool)>> {
        let Some(row) =
            sqlx::query("SELECT deleted_at FROM webhooks WHERE id = $1").bind(id).fetch_optional(&self.read).await?
        else {
            return Ok(None);
        };
        let deleted = row.try_get::<Option<i64>, _>("deleted_at")?.is_some();
        let w = sqlx::query(&format!("SELECT {} FROM webhooks WHERE id = $1", super::webhooks::COLS))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        let w = super::webhooks::webhook_from(&w)?;
        let secrets = self.webhook_secrets(id).await?.ok_or(sqlx::Error::RowNotFound)?;
        Ok(Some((w, secrets, deleted)))
    }

    /// Writes attempts and outcomes of many deliveries in one transaction: multi-row statements for the attempts
    /// and the delivery rows, one counter update per endpoint, and the circuit breaker's verdict. Returns the
    /// endpoints that were switched off (410 Gone or the breaker), for the audit log.
    pub async fn record_attempts(&self, records: &[AttemptRecord], breaker: Breaker) -> DbResult<Vec<AutoDisabled>> {
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
            super::fanout::push_write_out_sqlite(&mut script, &events);
        }
        // After the deliveries: an attempt's row refers to its delivery's.
        insert_attempts(&mut script, self.dialect, records);
        super::maintenance::add_to_rollups(&mut script, self.dialect, &finished);
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
            super::fanout::write_out_pg(&mut tx, &events, &attempted).await?;
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
            let reason = d.disable.clone().or_else(|| {
                if breaker.failures > 0 && in_a_row >= i64::from(breaker.failures) {
                    Some(format!("circuit breaker: {in_a_row} deliveries in a row failed"))
                } else if breaker.period_ms > 0 && since.is_some_and(|t| now - t >= breaker.period_ms) {
                    Some(format!(
                        "circuit breaker: every attempt failed for {}",
                        human_span(now - since.unwrap_or(now))
                    ))
                } else {
                    None
                }
            });
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
        super::maintenance::add_to_rollups(&mut script, self.dialect, &[record]);
        script.run(&mut tx, self.dialect).await?;
        tx.commit().await
    }

    /// Puts a claimed delivery back without counting an attempt (throttled, or shutting down).
    pub async fn release_delivery(&self, id: &str, next_attempt_at: i64) -> DbResult<()> {
        self.write_out_deliveries(&[id.to_string()]).await?;
        sqlx::query("UPDATE deliveries SET lease_until = NULL, next_attempt_at = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(next_attempt_at)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Gives leased deliveries back to the queue as they are (due as before), for any worker to claim at once.
    pub async fn release_deliveries(&self, ids: &[String]) -> DbResult<()> {
        self.write_out_deliveries(ids).await?;
        for chunk in ids.chunks(500) {
            // The time is written into the text (our own integer): a parameter before the list would be the
            // first `?` on SQLite, where parameters are bound in the order they stand.
            let sql = format!(
                "UPDATE deliveries SET lease_until = NULL, updated_at = {} WHERE id IN ({})",
                now_ms(),
                self.dialect.list(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&self.write).await?;
        }
        Ok(())
    }

    /// Ends a delivery without sending (its endpoint is gone or switched off).
    pub async fn cancel_delivery(&self, id: &str, reason: &str) -> DbResult<()> {
        self.write_out_deliveries(&[id.to_string()]).await?;
        let mut tx = self.write.begin().await?;
        super::maintenance::rollup_cancelled(
            &mut tx,
            "deliveries",
            "id = $1 AND status IN ('pending', 'retrying')",
            id,
        )
        .await?;
        sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', lease_until = NULL, next_attempt_at = NULL, last_error = $2, \
             updated_at = $3 WHERE id = $1 AND status IN ('pending', 'retrying')",
        )
        .bind(id)
        .bind(reason)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn get_delivery(&self, id: &str) -> DbResult<Option<Delivery>> {
        self.write_out_deliveries(&[id.to_string()]).await?;
        let row = sqlx::query(&format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(delivery_from).transpose()
    }

    pub async fn attempts_for(&self, delivery_id: &str) -> DbResult<Vec<DeliveryAttempt>> {
        let rows = sqlx::query("SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt")
            .bind(delivery_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let rh: String = r.try_get("request_headers")?;
                let sh: Option<String> = r.try_get("response_headers")?;
                let kind: Option<String> = r.try_get("error_kind")?;
                Ok(DeliveryAttempt {
                    id: r.try_get("id")?,
                    delivery_id: r.try_get("delivery_id")?,
                    attempt: r.try_get::<i64, _>("attempt")?.max(0) as u32,
                    request_headers: serde_json::from_str(&rh).unwrap_or_default(),
                    request_body: r.try_get("request_body")?,
                    response_status: r
                        .try_get::<Option<i64>, _>("response_status")?
                        .and_then(|s| u16::try_from(s).ok()),
                    response_headers: sh.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
                    response_body: r.try_get("response_body")?,
                    response_truncated: r.try_get::<i64, _>("response_truncated")? != 0,
                    duration_ms: r.try_get::<i64, _>("duration_ms")?.max(0) as u64,
                    error_kind: kind.as_deref().and_then(ErrorKind::parse),
                    error: r.try_get("error")?,
                    next_retry_at: r.try_get("next_retry_at")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Newest first, keyset-paginated by id; every filter optional.
    ///
    /// Publishing writes as few index entries per delivery as it can, so some logs are read in two parts and
    /// merged:
    /// - On SQLite an endpoint's log: its own index holds the rows the worker has attempted (or that were
    ///   cancelled), the queue holds the pending rest. Publishing then writes no per-endpoint entry, which on
    ///   SQLite's single writer was a b-tree leaf per endpoint per commit (~a fifth of the publish path).
    ///   PostgreSQL's writers commit side by side and keep the full endpoint index: one read serves there.
    /// - A tenant's log, on both engines: the deliveries named after the tenant's events are found through the
    ///   events' own index (newest first, each event's deliveries a key range), the few others (replays) through
    ///   a partial index. An index of every delivery by tenant cost the single writer ~a sixth of its log bytes.
    pub async fn list_deliveries(
        &self,
        tenant: Option<&str>,
        q: &DeliveryListQuery,
        limit: i64,
    ) -> DbResult<Vec<Delivery>> {
        self.write_out_fanouts().await?;
        let parts: &[LogPart] = match (&q.webhook_id, tenant) {
            (Some(_), _) if self.dialect == Dialect::Sqlite => match q.status {
                Some(DeliveryStatus::Pending) => &[LogPart::Pending],
                Some(_) => &[LogPart::Attempted],
                None => &[LogPart::Attempted, LogPart::Pending],
            },
            (None, Some(_)) => &[LogPart::NamedAfterEvents, LogPart::NotNamedAfterEvents],
            _ => return self.query_deliveries(tenant, q, LogPart::All, limit).await,
        };
        let mut out = Vec::new();
        for part in parts {
            out.extend(self.query_deliveries(tenant, q, *part, limit).await?);
        }
        out.sort_unstable_by(|a, b| b.id.cmp(&a.id));
        out.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(out)
    }

    async fn query_deliveries(
        &self,
        tenant: Option<&str>,
        q: &DeliveryListQuery,
        part: LogPart,
        limit: i64,
    ) -> DbResult<Vec<Delivery>> {
        let mut c = super::Conditions::new(self.dialect);
        let named = matches!(part, LogPart::NamedAfterEvents);
        // The deliveries' columns: `d`'s in the join with the events. There, on SQLite, `+` keeps the planner
        // from building a throwaway index on a filtered column instead of walking the tenant's events.
        let (d, cols, from, order) = match part {
            LogPart::NamedAfterEvents => {
                // Deliveries before the cursor are named after events no newer than the cursor's ULID.
                let last_event =
                    q.cursor.as_ref().map(|k| format!("evt_{}", k.chars().skip(4).take(26).collect::<String>()));
                c.text("e.tenant_id", "=", tenant)
                    .text("e.event_type", "=", q.event_type.as_deref())
                    .text("e.id", "<=", last_event.as_deref())
                    .raw(&super::events::named_after_event("d", "e.id"));
                let d = if self.dialect == Dialect::Sqlite { "+d." } else { "d." };
                // CROSS JOIN: SQLite keeps the events as the outer loop. The deliveries named after one event sort
                // like the event, so this order is the log's (id, newest first). Both engines sort each event's
                // deliveries: the ids alone (read from the key's index) are sorted, then the page's rows read.
                (d, "d.id", "events e CROSS JOIN deliveries d", "e.id DESC, d.id DESC")
            }
            LogPart::NotNamedAfterEvents => {
                // The exact predicate of the partial index, so that SQLite can use it.
                c.raw(super::events::NOT_NAMED_AFTER_EVENT);
                ("", DELIVERY_COLS, "deliveries", "id DESC")
            }
            LogPart::Attempted => {
                c.raw("status <> 'pending'");
                ("", DELIVERY_COLS, "deliveries", "id DESC")
            }
            LogPart::Pending => {
                c.raw("status IN ('pending', 'retrying')").raw("status = 'pending'");
                ("", DELIVERY_COLS, self.dialect.queue_table(), "id DESC")
            }
            LogPart::All => ("", DELIVERY_COLS, "deliveries", "id DESC"),
        };
        if !named {
            // In the join these two are the events' columns, filtered above.
            c.text("tenant_id", "=", tenant).text("event_type", "=", q.event_type.as_deref());
        }
        let key = if named { "d.id" } else { "id" };
        c.text(&format!("{d}status"), "=", q.status.map(|s| s.as_str()))
            .text(&format!("{d}webhook_id"), "=", q.webhook_id.as_deref())
            .int(&format!("{d}created_at"), ">=", q.since)
            .int(&format!("{d}created_at"), "<=", q.until)
            .text(key, "<", q.cursor.as_deref());
        let mut sql = format!("SELECT {cols} FROM {from} {} ORDER BY {order} LIMIT {}", c.clause(), c.next_param());
        if named {
            sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id IN ({sql}) ORDER BY id DESC");
        }
        let rows = c.bind(sqlx::query(&sql)).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(delivery_from).collect()
    }

    /// A fresh pending delivery of the same event to the same endpoint (the old one and its attempts stay), and
    /// the old one names it, in one transaction. With `once`, nothing is written when the old one was replayed
    /// already (None): a recover re-sends each dead letter once, even when two run side by side.
    pub async fn insert_replay(&self, d: &Delivery, once: bool) -> DbResult<Option<Delivery>> {
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

    /// Holds a claimed delivery while its endpoint is switched off: it leaves the queue as 'paused' until
    /// [`Store::resume_paused`]. The endpoint is looked at again here, so a delivery of an endpoint switched back
    /// on meanwhile simply goes back to the queue.
    pub async fn pause_delivery(&self, id: &str) -> DbResult<()> {
        self.write_out_deliveries(&[id.to_string()]).await?;
        sqlx::query(
            "UPDATE deliveries SET status = CASE WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.id = \
             deliveries.webhook_id AND w.is_active = 0 AND w.deleted_at IS NULL) THEN 'paused' ELSE status END, \
             lease_until = NULL, updated_at = $2 WHERE id = $1 AND status IN ('pending', 'retrying')",
        )
        .bind(id)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Puts the paused deliveries of switched-on endpoints (one endpoint, or all) back in the queue, due now;
    /// returns how many. Enabling an endpoint calls it for that endpoint; the maintenance pass for all, which
    /// also catches a pause that raced with the enabling.
    pub async fn resume_paused(&self, webhook_id: Option<&str>) -> DbResult<u64> {
        let now = now_ms();
        let one = if webhook_id.is_some() { "AND webhook_id = $2" } else { "AND $2 IS NULL" };
        Ok(sqlx::query(&format!(
            "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END, \
             next_attempt_at = $1, updated_at = $1 WHERE status = 'paused' {one} AND webhook_id IN \
             (SELECT id FROM webhooks WHERE is_active = 1 AND deleted_at IS NULL)"
        ))
        .bind(now)
        .bind(webhook_id)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Integrity check: attempts recorded twice under the same number (two workers sending one delivery at
    /// once) — the lease and `SKIP LOCKED` must keep this at zero.
    pub async fn repeated_attempts(&self) -> DbResult<i64> {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT delivery_id, attempt FROM delivery_attempts \
             GROUP BY delivery_id, attempt HAVING COUNT(*) > 1) AS r",
        )
        .fetch_one(&self.read)
        .await?
        .try_get("n")
    }

    /// Queued deliveries for the queue-depth gauge: the rows, and the deliveries still held in fan-outs (an
    /// event's fan-out is written out whole, so none is counted twice). Read only: a scrape never writes.
    pub async fn queue_depth(&self) -> DbResult<i64> {
        let length = match self.dialect {
            Dialect::Sqlite => "json_array_length(endpoints)",
            Dialect::Postgres => "json_array_length(CAST(endpoints AS json))",
        };
        sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'retrying')) + \
             (SELECT COALESCE(SUM({length}), 0) FROM fanouts) AS n"
        ))
        .fetch_one(&self.read)
        .await?
        .try_get("n")
    }
}

pub fn new_attempt_id() -> String {
    new_id("att")
}
