//! The event-type catalog, events and their delivery rows. Publishing writes the event, its fan-out (the
//! matched endpoints, from which the delivery rows are written later: `fanout`) and the idempotency key in one
//! transaction: after the 202, a crash loses nothing.

use super::script::{Arg, Script};
use super::{DbResult, Store};
use crate::model::{Delivery, DeliveryStatus, Event, EventListQuery, EventType};
use sqlx::any::AnyRow;
use sqlx::Row;

pub(super) const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Rows per multi-row INSERT: 5 parameters × 200 (and 3 × 300) stay under both engines' parameter limits.
const EVENT_CHUNK: usize = 200;
const FANOUT_CHUNK: usize = 300;

/// An event's matched endpoints as the `fanouts` row holds them: a JSON array in delivery-number order.
fn endpoints_json(j: &OutboxJob) -> String {
    let ids: Vec<&str> = j.deliveries.iter().map(|(_, w)| w.as_str()).collect();
    // Serialising strings cannot fail.
    serde_json::to_string(&ids).unwrap_or_default()
}

fn event_type_from(r: &AnyRow) -> DbResult<EventType> {
    let example: String = r.try_get("example")?;
    let schema: Option<String> = r.try_get("schema")?;
    Ok(EventType {
        name: r.try_get("name")?,
        category: r.try_get("category")?,
        description: r.try_get("description")?,
        example: serde_json::from_str(&example).unwrap_or_default(),
        schema: schema.and_then(|s| serde_json::from_str(&s).ok()),
        archived: r.try_get::<i64, _>("archived")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn event_from(r: &AnyRow) -> DbResult<Event> {
    let envelope: String = r.try_get("envelope")?;
    Ok(Event {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        event_type: r.try_get("event_type")?,
        created_at: r.try_get("created_at")?,
        envelope: serde_json::from_str(&envelope).unwrap_or_default(),
    })
}

pub(super) fn delivery_from(r: &AnyRow) -> DbResult<Delivery> {
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

/// The predicate of the partial index `deliveries_event` (migration 0010): rows whose id does not name their
/// event. Queries repeat it verbatim, which is how SQLite sees that the index applies.
pub(super) const NOT_NAMED_AFTER_EVENT: &str = "substr(id, 5, 26) <> substr(event_id, 5, 26)";

/// The deliveries (`table`: their name or alias in the query, "" when unambiguous) named after the event whose id
/// is the SQL expression `event` (see `delivery_id`): a key range.
pub(super) fn named_after_event(table: &str, event: &str) -> String {
    let id = if table.is_empty() { "id".to_string() } else { format!("{table}.id") };
    format!("{id} >= 'dlv_' || substr({event}, 5) || '_' AND {id} < 'dlv_' || substr({event}, 5) || '_~'")
}

pub(super) const DELIVERY_COLS: &str = "id, tenant_id, event_id, webhook_id, event_type, status, attempts, \
    next_attempt_at, last_status_code, last_error, duration_ms, is_test, replayed_by, created_at, updated_at";

/// What the outbox writes of an event besides its envelope (the parsed envelope stays with the caller).
struct EventHead {
    id: String,
    tenant_id: String,
    event_type: String,
    created_at: i64,
}

pub(super) struct OutboxJob {
    event: EventHead,
    envelope: std::sync::Arc<str>,
    /// (delivery id, endpoint id) per matched endpoint.
    deliveries: Vec<(String, String)>,
    /// Set when the rows are handed straight to this instance's worker (see `delivery::dispatch`).
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
pub(super) async fn outbox_writer(
    pool: sqlx::AnyPool,
    dialect: super::Dialect,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<OutboxJob>,
    written: std::sync::Arc<tokio::sync::Notify>,
) {
    if dialect == super::Dialect::Sqlite {
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
        commit_group(&pool, super::Dialect::Sqlite, take_group(first, &mut rx)).await;
        written.notify_one();
    }
}

/// Writes one group and answers its publishers.
async fn commit_group(pool: &sqlx::AnyPool, dialect: super::Dialect, mut jobs: Vec<OutboxJob>) {
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

async fn write_group(
    pool: &sqlx::AnyPool,
    dialect: super::Dialect,
    jobs: &[OutboxJob],
) -> DbResult<Vec<PublishOutcome>> {
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
fn insert_script<'a>(dialect: super::Dialect, created: &[&'a OutboxJob]) -> Script<'a> {
    if dialect == super::Dialect::Postgres {
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
        script.push("SELECT pg_notify($1, '')".into(), vec![super::WORK_CHANNEL.into()]);
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
    /// Adds catalog entries that do not exist yet (startup seeding; edits by admins are kept).
    pub async fn seed_event_types(&self, types: &[EventType]) -> DbResult<()> {
        let mut tx = self.write.begin().await?;
        for t in types {
            sqlx::query(
                "INSERT INTO event_types (name, category, description, example, schema, archived, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&t.name)
            .bind(&t.category)
            .bind(&t.description)
            .bind(t.example.to_string())
            .bind(t.schema.as_ref().map(|s| s.to_string()))
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    pub async fn list_event_types(&self) -> DbResult<Vec<EventType>> {
        let rows = sqlx::query("SELECT * FROM event_types ORDER BY category, name").fetch_all(&self.read).await?;
        rows.iter().map(event_type_from).collect()
    }

    pub async fn get_event_type(&self, name: &str) -> DbResult<Option<EventType>> {
        let row =
            sqlx::query("SELECT * FROM event_types WHERE name = $1").bind(name).fetch_optional(&self.read).await?;
        row.as_ref().map(event_type_from).transpose()
    }

    /// Inserts or replaces one catalog entry (admin edits).
    pub async fn upsert_event_type(&self, t: &EventType) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO event_types (name, category, description, example, schema, archived, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET category = excluded.category, \
             description = excluded.description, example = excluded.example, schema = excluded.schema, \
             archived = excluded.archived, updated_at = excluded.updated_at",
        )
        .bind(&t.name)
        .bind(&t.category)
        .bind(&t.description)
        .bind(t.example.to_string())
        .bind(t.schema.as_ref().map(|s| s.to_string()))
        .bind(i64::from(t.archived))
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The transactional outbox: the event, its fan-out (one pending delivery per matched endpoint, written out
    /// as rows later: `fanout`) and the idempotency key are committed together. Concurrent publishes are
    /// group-committed by the outbox writer (one transaction and a few multi-row statements for many events),
    /// which is what makes SQLite's single writer fast.
    /// `deliveries` are (delivery id, endpoint id); `lease_until` writes the fan-out leased to this instance.
    pub async fn insert_event(
        &self,
        event: &Event,
        envelope: &std::sync::Arc<str>,
        deliveries: &[(String, String)],
        lease_until: Option<i64>,
        idempotency_key: Option<&str>,
    ) -> DbResult<PublishOutcome> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job = OutboxJob {
            event: EventHead {
                id: event.id.clone(),
                tenant_id: event.tenant_id.clone(),
                event_type: event.event_type.clone(),
                created_at: event.created_at,
            },
            envelope: envelope.clone(),
            deliveries: deliveries.to_vec(),
            lease_until,
            idempotency_key: idempotency_key.map(str::to_string),
            reply,
        };
        if self.outbox.send(job).is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        rx.await.map_err(|_| sqlx::Error::PoolClosed)?
    }

    pub async fn get_event(&self, id: &str, tenant: Option<&str>) -> DbResult<Option<Event>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events WHERE id = $1 \
             AND ($2 IS NULL OR tenant_id = $2)",
        )
        .bind(id)
        .bind(tenant.map(str::to_string))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(event_from).transpose()
    }

    /// Newest first, keyset-paginated by id (ids sort by creation time).
    pub async fn list_events(&self, tenant: Option<&str>, q: &EventListQuery, limit: i64) -> DbResult<Vec<Event>> {
        let mut c = super::Conditions::new(self.dialect);
        c.raw("is_test = 0")
            .text("tenant_id", "=", tenant)
            .text("event_type", "=", q.event_type.as_deref())
            .int("created_at", ">=", q.since)
            .text("id", "<", q.cursor.as_deref());
        let sql = format!(
            "SELECT id, tenant_id, event_type, envelope, created_at FROM events {} ORDER BY id DESC LIMIT {}",
            c.clause(),
            c.next_param()
        );
        let rows = c.bind(sqlx::query(&sql)).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(event_from).collect()
    }

    /// Those named after the event (a primary-key range) and the others (replays, rows older than the naming),
    /// which the partial index `deliveries_event` holds: its predicate is repeated here so that SQLite uses it.
    pub async fn deliveries_for_event(&self, event_id: &str) -> DbResult<Vec<Delivery>> {
        self.write_out_events(&[event_id.to_string()]).await?;
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM deliveries WHERE {} AND event_id = $1 UNION ALL \
             SELECT {DELIVERY_COLS} FROM deliveries WHERE event_id = $1 AND {NOT_NAMED_AFTER_EVENT} ORDER BY id",
            named_after_event("", "$1")
        );
        let rows = sqlx::query(&sql).bind(event_id).fetch_all(&self.read).await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn count_deliveries(&self, tenant: &str) -> DbResult<i64> {
        self.write_out_fanouts().await?;
        sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&self.read)
            .await?
            .try_get("n")
    }
}
