//! The hand-over from publish to this instance's worker. A publish that finds room reserves it, writes its
//! fan-out already leased to this instance (in the same group-committed insert, so nothing extra is written),
//! and passes the deliveries with the envelope in memory: a fresh delivery then costs no claim statement and no
//! envelope read, and its row is written once, with its first attempt. The lease keeps it crash-safe exactly
//! like a claim: if this instance dies, the lease expires and any worker takes the deliveries over. Without
//! room (worker busy or not running here) the fan-out is written unleased and claimed as usual.

use crate::model::{Delivery, DeliveryStatus, Event};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A delivery handed over in memory, with its event's envelope as stored.
pub struct Direct {
    pub delivery: Delivery,
    pub envelope: Arc<str>,
}

struct Attached {
    tx: mpsc::UnboundedSender<Vec<Direct>>,
    /// Slots left: handed-over deliveries not yet finished count against it.
    room: Arc<AtomicUsize>,
    lease_ms: i64,
}

/// The publish side's handle; empty while no worker runs in this process.
#[derive(Default)]
pub struct HandOff(Mutex<Option<Attached>>);

/// Room taken for `n` deliveries; given back on drop unless the deliveries were handed over.
pub struct Reservation {
    n: usize,
    room: Arc<AtomicUsize>,
    tx: mpsc::UnboundedSender<Vec<Direct>>,
    pub lease_until: i64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.n > 0 {
            self.room.fetch_add(self.n, Ordering::AcqRel);
        }
    }
}

/// The worker's side: handed-over deliveries arrive here; `done` gives a slot back.
pub struct Inbox {
    pub rx: mpsc::UnboundedReceiver<Vec<Direct>>,
    room: Arc<AtomicUsize>,
}

impl Inbox {
    /// A slot-returning guard for one handed-over delivery.
    pub fn slot(&self) -> Slot {
        Slot(self.room.clone())
    }
}

/// Returns one slot when dropped (the delivery finished, or was released).
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

impl HandOff {
    /// Called by the worker at start: `capacity` deliveries may wait or run at once through the hand-off.
    pub fn attach(&self, capacity: usize, lease_ms: i64) -> Inbox {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = Arc::new(AtomicUsize::new(capacity));
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Attached { tx, room: room.clone(), lease_ms });
        Inbox { rx, room }
    }

    /// Called by the worker when it stops claiming: publishes from now on write unleased fan-outs.
    pub fn detach(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Room for `n` deliveries, all or nothing.
    pub fn reserve(&self, n: usize, now_ms: i64) -> Option<Reservation> {
        if n == 0 {
            return None;
        }
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let h = guard.as_ref()?;
        if h.tx.is_closed() {
            return None;
        }
        h.room.fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| r.checked_sub(n)).ok()?;
        Some(Reservation { n, room: h.room.clone(), tx: h.tx.clone(), lease_until: now_ms + h.lease_ms })
    }

    /// Hands the committed deliveries of `event` to the worker. If the worker is gone, they stay leased
    /// until the lease runs out and are then claimed like any other.
    pub fn hand_over(mut r: Reservation, event: &Event, envelope: Arc<str>, deliveries: &[(String, String)]) {
        let batch: Vec<Direct> = deliveries
            .iter()
            .map(|(id, webhook_id)| Direct {
                delivery: Delivery {
                    id: id.clone(),
                    tenant_id: event.tenant_id.clone(),
                    event_id: event.id.clone(),
                    webhook_id: webhook_id.clone(),
                    event_type: event.event_type.clone(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: Some(event.created_at),
                    last_status_code: None,
                    last_error: None,
                    duration_ms: None,
                    is_test: false,
                    replayed_by: None,
                    created_at: event.created_at,
                    updated_at: event.created_at,
                },
                envelope: envelope.clone(),
            })
            .collect();
        let n = batch.len();
        if r.tx.send(batch).is_ok() {
            // The worker now owns these slots (it gives one back per finished delivery).
            r.n -= n.min(r.n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_reserved_all_or_nothing_and_given_back() {
        let d = HandOff::default();
        assert!(d.reserve(1, 0).is_none(), "no worker attached");
        let inbox = d.attach(3, 1000);
        let r = d.reserve(2, 5).expect("room");
        assert_eq!(r.lease_until, 1005);
        assert!(d.reserve(2, 5).is_none(), "only one slot left");
        drop(r);
        assert!(d.reserve(3, 5).is_some(), "a dropped reservation gives its room back");
        let r = d.reserve(3, 5).unwrap();
        let e = Event {
            id: "evt_1".into(),
            tenant_id: "ten_1".into(),
            event_type: "t".into(),
            created_at: 5,
            envelope: serde_json::json!({}),
        };
        let rows: Vec<(String, String)> = (1..=3).map(|i| (format!("dlv_{i}"), format!("wh_{i}"))).collect();
        HandOff::hand_over(r, &e, "{}".into(), &rows);
        assert!(d.reserve(1, 5).is_none(), "handed-over deliveries hold their slots");
        let mut inbox = inbox;
        let got = inbox.rx.try_recv().unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].delivery.webhook_id, "wh_1");
        assert_eq!(&*got[2].envelope, "{}");
        drop(inbox.slot());
        assert!(d.reserve(1, 5).is_some());
        d.detach();
        assert!(d.reserve(1, 5).is_none());
    }
}
