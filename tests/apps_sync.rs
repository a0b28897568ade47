//! "Sync now" on both engines, against the real OAuth server (tests/oauth) and a provider's stand-in
//! (tests/common/providers.rs): a full run sends each retained trigger event of the tenant once, in order, and
//! its log counts exactly that; an incremental run sends only what came after the cursor; a record the
//! provider refuses makes the run `partial` with that record's error, and one it keeps failing holds the cursor
//! back so the next run tries it again; a 429 is waited out; a second run while one goes is a 409; a run left
//! `running` by a stopped hub is `interrupted` when a hub starts.

mod common;

use common::apps::Rig;
use common::fixtures::poll;
use common::providers::Provider;
use common::Backend;
use integration_hub::model::{ErrorCode, SyncKind, SyncLog, SyncRequest, SyncStatus};
use integration_hub::server::service::Actor;
use serde_json::{json, Value};
use std::time::Duration;

/// What only these tests ask of the rig (which has no delivery worker here: only Sync now sends anything).
trait Runs {
    async fn finished(&self, connection: &str, id: &str) -> SyncLog;
    async fn run(&self, connection: &str, kind: SyncKind) -> SyncLog;
    fn shapes(&self) -> Vec<String>;
}

impl Runs for Rig {
    /// The run `id` once it has finished.
    async fn finished(&self, connection: &str, id: &str) -> SyncLog {
        let find = || async { self.logs(connection).await.into_iter().find(|l| l.id == id) };
        let done = |l: &Option<SyncLog>| l.as_ref().is_some_and(|l| l.status != SyncStatus::Running);
        let log = poll(Duration::from_secs(20), find, done).await;
        assert!(done(&log), "run {id} did not finish: {log:?}");
        log.unwrap()
    }

    /// Starts a run of `kind` and waits for it.
    async fn run(&self, connection: &str, kind: SyncKind) -> SyncLog {
        let started = self.sync(connection, kind).await;
        assert_eq!(started.kind, kind);
        self.finished(connection, &started.id).await
    }

    /// `METHOD path` of every call so far, ids as `*`.
    fn shapes(&self) -> Vec<String> {
        self.api
            .calls()
            .iter()
            .map(|c| {
                let path: Vec<&str> = c
                    .path
                    .split('/')
                    .map(|s| if s.starts_with("v") || !s.chars().any(|ch| ch.is_ascii_digit()) { s } else { "*" })
                    .collect();
                format!("{} {} {}", c.method, path.join("/"), c.status)
            })
            .collect()
    }
}

/// `(processed, created, updated, failed)` of a run.
fn counts(l: &SyncLog) -> (i64, i64, i64, i64) {
    (l.processed, l.created, l.updated, l.failed)
}

/// An `event.*` payload as the catalog's schemas have it (the platform's nested shape; `changed_fields` is
/// required of an update, `cancelled_at` of a cancellation).
fn event(id: &str, title: &str, format: &str) -> Value {
    json!({"id": id, "event": {"id": id, "title": title, "status": "published", "format": format,
           "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z"},
           "changed_fields": ["title"], "cancelled_at": "2027-02-01T10:00:00Z"})
}

fn person(i: usize) -> Value {
    json!({"id": format!("cnt_{i}"), "contact": {"id": format!("cnt_{i}"), "email": format!("p{i}@example.com"),
           "name": format!("P{i} Example")}})
}

backend_tests!(
    a_full_run_sends_every_past_event_once_and_an_incremental_one_only_what_is_new,
    a_refused_record_makes_the_run_partial_and_one_that_keeps_failing_is_tried_again,
    one_run_at_a_time_and_a_slow_down_is_waited_out,
    a_run_left_running_by_a_stopped_hub_is_interrupted,
);

/// A full run over events published before the connection existed: each trigger event becomes its documented
/// call, oldest first (the update patches what the insert made), and the log counts exactly that; other
/// tenants' events and other types are not sent. An incremental run then sends nothing until a new event.
async fn a_full_run_sends_every_past_event_once_and_an_incremental_one_only_what_is_new(b: Backend) {
    let rig = Rig::start(&b, Provider::GoogleCalendar).await;
    let (acme, globex) = (rig.tenant("Acme").await, rig.tenant("Globex").await);
    for i in 1..=3 {
        rig.publish(&acme, "event.created", event(&format!("ev_{i}"), &format!("Event {i}"), "in_person")).await;
    }
    rig.publish(&acme, "event.updated", event("ev_1", "Event 1 (moved)", "in_person")).await;
    let ticket = rig.hub.store.get_event_type("ticket.created").await.unwrap().unwrap().example;
    let last = rig.publish(&acme, "ticket.created", ticket).await;
    rig.publish(&globex, "event.created", event("ev_g", "Globex's", "in_person")).await;
    let c = rig.connect(&acme, Value::Null).await;

    let full = rig.run(&c.id, SyncKind::Full).await;
    assert_eq!(
        rig.shapes(),
        [
            "POST /calendar/v3/calendars/primary/events 200",
            "POST /calendar/v3/calendars/primary/events 200",
            "POST /calendar/v3/calendars/primary/events 200",
            "PATCH /calendar/v3/calendars/primary/events/* 200",
        ],
        "[{}] the documented calls, oldest first",
        b.name
    );
    let titles: Vec<Value> = rig.api.calls().iter().map(|c| c.body["summary"].clone()).collect();
    assert_eq!(titles, [json!("Event 1"), json!("Event 2"), json!("Event 3"), json!("Event 1 (moved)")]);
    assert_eq!((counts(&full), full.status), ((4, 3, 1, 0), SyncStatus::Succeeded), "[{}] {full:?}", b.name);
    assert!(full.errors.is_empty() && full.completed_at.is_some() && full.duration_ms.is_some(), "{full:?}");
    assert!(full.cursor.as_deref().is_some_and(|c| c < last.as_str()), "[{}] the cursor: {full:?}", b.name);
    let records = full.details["records"].as_array().map(Vec::len);
    assert_eq!(records, Some(4), "[{}] the remote ids are kept: {}", b.name, full.details);
    assert_eq!(rig.api.objects("event").len(), 3, "[{}] three calendar events, the first patched", b.name);

    let nothing = rig.run(&c.id, SyncKind::Incremental).await;
    assert_eq!((counts(&nothing), nothing.status), ((0, 0, 0, 0), SyncStatus::Succeeded), "[{}]", b.name);
    assert_eq!(rig.api.calls().len(), 4, "[{}] nothing new, nothing sent", b.name);

    rig.publish(&acme, "event.created", event("ev_4", "Event 4", "in_person")).await;
    rig.publish(&acme, "event.cancelled", event("ev_2", "Event 2", "in_person")).await;
    let new = rig.run(&c.id, SyncKind::Incremental).await;
    assert_eq!(counts(&new), (2, 1, 1, 0), "[{}] only the new events: {new:?}", b.name);
    assert_eq!(
        rig.shapes()[4..],
        ["POST /calendar/v3/calendars/primary/events 200", "DELETE /calendar/v3/calendars/primary/events/* 204"],
        "[{}]",
        b.name
    );
    assert_eq!(rig.api.objects("event").len(), 3, "[{}] ev_2's calendar event deleted, ev_4's made", b.name);
}

/// A 400 on one record: the run goes on, ends `partial`, and names that record with the provider's message;
/// the cursor passes it (sending it again cannot help). A record the provider keeps answering with 500 fails
/// the run's count too, but the cursor stays before it: the next incremental run sends it again.
async fn a_refused_record_makes_the_run_partial_and_one_that_keeps_failing_is_tried_again(b: Backend) {
    let rig = Rig::start(&b, Provider::HubSpot).await;
    let acme = rig.tenant("Acme").await;
    for i in 0..3 {
        rig.publish(&acme, "contact.created", person(i)).await;
    }
    let c = rig.connect(&acme, Value::Null).await;
    rig.api.fail_next(400, 1, None);
    let run = rig.run(&c.id, SyncKind::Full).await;
    assert_eq!((counts(&run), run.status), ((3, 2, 0, 1), SyncStatus::Partial), "[{}] {run:?}", b.name);
    assert_eq!(run.errors.len(), 1, "[{}] {run:?}", b.name);
    let e = &run.errors[0];
    assert_eq!((e.record.as_str(), e.status), ("p0@example.com", Some(400)), "[{}] {run:?}", b.name);
    assert!(e.message.starts_with("400: "), "[{}] HubSpot's own words: {e:?}", b.name);
    assert_eq!(rig.api.calls().len(), 3, "[{}] a 400 is not retried", b.name);
    let again = rig.run(&c.id, SyncKind::Incremental).await;
    assert_eq!(counts(&again), (0, 0, 0, 0), "[{}] the refused record is behind the cursor", b.name);

    rig.publish(&acme, "contact.created", person(3)).await;
    rig.publish(&acme, "contact.created", person(4)).await;
    rig.api.fail_next(500, 3, None);
    let failing = rig.run(&c.id, SyncKind::Incremental).await;
    assert_eq!((counts(&failing), failing.status), ((2, 1, 0, 1), SyncStatus::Partial), "[{}] {failing:?}", b.name);
    assert_eq!(failing.errors[0].status, Some(500), "[{}] {failing:?}", b.name);
    let statuses: Vec<u16> = rig.api.calls()[3..].iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 500, 500, 200], "[{}] three tries, then the next record", b.name);
    let retried = rig.run(&c.id, SyncKind::Incremental).await;
    assert_eq!(
        (counts(&retried), retried.status),
        ((2, 1, 1, 0), SyncStatus::Succeeded),
        "[{}] p3 again (created now) and p4 after it (already there): {retried:?}",
        b.name
    );
    assert_eq!(rig.api.objects("contact").len(), 4, "[{}] all but the refused p0", b.name);
}

/// While a run waits out a 429's Retry-After, asking for another is a 409; the held record goes through after
/// the wait, and a run can be started again once it has finished.
async fn one_run_at_a_time_and_a_slow_down_is_waited_out(b: Backend) {
    let rig = Rig::start(&b, Provider::Zoom).await;
    let acme = rig.tenant("Acme").await;
    rig.publish(&acme, "event.created", event("ev_1", "Webinar", "online")).await;
    rig.publish(&acme, "event.created", event("ev_2", "Dinner", "in_person")).await;
    let c = rig.connect(&acme, Value::Null).await;
    rig.api.fail_next(429, 1, Some(2));
    let first = rig.sync(&c.id, SyncKind::Full).await;
    rig.api.wait_calls(1, Duration::from_secs(5)).await;
    let second = SyncRequest { kind: SyncKind::Incremental };
    let refused = rig.hub.request_app_sync(Actor::User(&rig.admin), &c.id, second).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict, "[{}] {refused:?}", b.name);
    assert_eq!(refused.code.http_status(), 409);

    let done = rig.finished(&c.id, &first.id).await;
    let calls = rig.api.calls();
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 201], "[{}]", b.name);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_millis(1900), "[{}] Retry-After: 2 waited out, not {waited:?}", b.name);
    assert_eq!((counts(&done), done.status), ((2, 1, 0, 0), SyncStatus::Succeeded), "[{}] {done:?}", b.name);
    let join = done.details["records"][0]["remote_url"].as_str().unwrap_or_default();
    assert!(join.starts_with("https://zoom.us/j/"), "[{}] the meeting's join_url: {}", b.name, done.details);
    let later = rig.run(&c.id, SyncKind::Incremental).await;
    assert_eq!(later.status, SyncStatus::Succeeded, "[{}] {later:?}", b.name);
}

/// A run still `running` when its hub stopped is `interrupted` once a hub starts on the database again, and no
/// longer blocks a new run; the database refuses a second running row of one connection.
async fn a_run_left_running_by_a_stopped_hub_is_interrupted(b: Backend) {
    let rig = Rig::start(&b, Provider::HubSpot).await;
    let acme = rig.tenant("Acme").await;
    let c = rig.connect(&acme, Value::Null).await;
    // The row a run makes as it starts, its job never to finish (as if the process had died).
    let orphan = rig.hub.store.start_sync_log(&c.id, &acme, SyncKind::Full, None).await.unwrap();
    // The database itself keeps one running run per connection: two instances asking at the same moment cannot
    // both start one (the service answers the refused insert with a 409).
    let twin = rig.hub.store.start_sync_log(&c.id, &acme, SyncKind::Incremental, None).await;
    let refused_by_db = twin.as_ref().is_err_and(integration_hub::server::store::is_unique_violation);
    assert!(refused_by_db, "[{}] a second running row was stored: {twin:?}", b.name);
    let refused = rig.hub.request_app_sync(Actor::User(&rig.admin), &c.id, SyncRequest { kind: SyncKind::Full });
    assert_eq!(refused.await.unwrap_err().code, ErrorCode::Conflict, "[{}] it still counts as running", b.name);
    let Rig { hub, api, oauth, admin, .. } = rig;
    let config = hub.config.clone();
    drop(hub);
    let hub = common::open(&b, config).await;
    let log = hub.store.sync_log(&orphan.id).await.unwrap().unwrap();
    assert_eq!(log.status, SyncStatus::Interrupted, "[{}] {log:?}", b.name);
    assert!(log.completed_at.is_some());
    let rig = Rig { hub, oauth, api, admin, provider: Provider::HubSpot, worker: None };
    let fresh = rig.run(&c.id, SyncKind::Full).await;
    assert_eq!(fresh.status, SyncStatus::Succeeded, "[{}] {fresh:?}", b.name);
}
