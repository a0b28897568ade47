//! The delivery queue: every way a delivery enters, leaves and comes back, behind a few verbs on [`Store`].
//!
//! The life of a delivery:
//! ```text
//! publish ─ enqueue ─▶ event + fan-out row (one per event: its endpoints), group-committed ──┐
//!              │        (leased to this instance when its worker has room)                   │
//!              └─ hand over ─▶ worker inbox (in memory, the envelope with it)                │ claim: unleased or
//!                                     │                                                      │ expired fan-outs and
//!                                     ▼                                                      ▼ due rows, leased
//!                              worker sends one attempt ◀───────────────────────────────── worker
//!                                     │
//!              record ◀───────────────┘  the attempt, the delivery row with its outcome (written here the first
//!                                        time), the endpoint's counters, the rollups, the breaker's verdict
//!              release / cancel / pause: a claimed delivery goes back, ends unsent, or waits for its endpoint
//! ```
//! Verbs: [`Store::enqueue`], [`Store::replay`], [`Store::claim`], [`Store::record`], [`Store::release`],
//! [`Store::cancel`], [`Store::pause`], [`Store::resume_paused`]; a worker joins with [`Store::attach_worker`].
//!
//! The mechanisms stay private here: the outbox's group commit ([`enqueue`]), fan-out rows written out as
//! delivery rows inside the database ([`fanout`]), multi-statement scripts ([`super::script`]), leases, and
//! the in-memory hand-over ([`handoff`]). A lease makes every path crash-safe: a delivery held by an instance
//! that dies is claimed again once its lease runs out. Readers never write: the log's reads see deliveries
//! still in fan-outs through a read-only view ([`fanout::pending_view`]).

mod claim;
mod enqueue;
pub(super) mod fanout;
pub mod handoff;
pub mod ids;
mod record;
pub(super) mod row;
mod workers;

pub use enqueue::PublishOutcome;
pub use handoff::{Direct, Inbox, Slot};
pub use record::{new_attempt_id, AttemptRecord, AutoDisabled, Streak};

pub(super) use enqueue::{outbox_writer, OutboxJob, IDEMPOTENCY_WINDOW_MS};

use super::{DbResult, Store, WORK_CHANNEL};

/// What the queue keeps in this process: the hand-over to the local worker and its wake-up.
#[derive(Default)]
pub(super) struct Local {
    handoff: handoff::HandOff,
    work: tokio::sync::Notify,
}

impl Store {
    /// Joins this process's worker to the queue: up to `capacity` fresh deliveries are handed to it in memory,
    /// leased for `lease_ms`.
    pub fn attach_worker(&self, capacity: usize, lease_ms: i64) -> Inbox {
        self.local.handoff.attach(capacity, lease_ms)
    }

    /// The worker stops taking hand-overs: publishes from now on leave their fan-outs for any claim.
    pub fn detach_worker(&self) {
        self.local.handoff.detach();
    }

    /// Resolves when something may have become due for this process's worker.
    pub fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.local.work.notified()
    }

    /// Wakes this process's worker.
    pub fn wake_local(&self) {
        self.local.work.notify_one();
    }

    /// Wakes this process's worker and, on PostgreSQL, the other instances'.
    pub async fn wake(&self) -> DbResult<()> {
        self.wake_local();
        self.notify(WORK_CHANNEL, "").await
    }
}
