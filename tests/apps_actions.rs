//! Connected apps end to end, on both engines: a tenant connects each provider through the real OAuth server
//! (tests/oauth, PKCE and all), the delivery worker runs the provider's actions for published trigger events
//! against the provider's stand-in (tests/common/providers.rs, which refuses what the real API refuses), and the
//! sync logs count exactly what happened. Failures: a 401 is answered by one refresh and one retry, a 429's
//! Retry-After is waited out, a 500 is retried, a 400 is reported on its record with the provider's message.
//! Tenants see and reach only their own connections.

mod common;

use common::apps::Rig;
use common::fixtures::poll;
use common::providers::{subscriber_hash, Call, Provider};
use common::Backend;
use integration_hub::model::{Role, SyncKind, SyncLog, SyncLogQuery, SyncRequest, SyncStatus};
use integration_hub::server::service::Actor;
use serde_json::{json, Value};
use std::time::Duration;

/// What only these tests ask of the rig: a trigger event at a time, and its log.
trait Deliveries {
    async fn finished_logs(&self, connection: &str, n: usize) -> Vec<SyncLog>;
    async fn step(&self, tenant: &str, connection: &str, event_type: &str, data: Value) -> SyncLog;
}

impl Deliveries for Rig {
    /// Waits until the connection has `n` finished sync logs; returns them, oldest first.
    async fn finished_logs(&self, connection: &str, n: usize) -> Vec<SyncLog> {
        let done = |logs: &Vec<SyncLog>| logs.len() >= n && logs.iter().all(|l| l.status != SyncStatus::Running);
        let logs = poll(Duration::from_secs(20), || self.logs(connection), done).await;
        assert!(done(&logs), "{}: {n} finished sync logs expected: {logs:#?}", self.provider.id());
        logs
    }

    /// Publishes one trigger event and waits for its sync log (events go one at a time, so an update never
    /// overtakes the create it patches); returns that log.
    async fn step(&self, tenant: &str, connection: &str, event_type: &str, mut data: Value) -> SyncLog {
        // What the catalog requires of these types besides the event itself.
        match event_type {
            "event.updated" => data["changed_fields"] = json!(["title"]),
            "event.cancelled" => data["cancelled_at"] = json!("2027-02-01T09:00:00Z"),
            _ => {}
        }
        let before = self.logs(connection).await.len();
        self.publish(tenant, event_type, data).await;
        self.finished_logs(connection, before + 1).await.pop().unwrap()
    }
}

/// `(processed, created, updated, failed)` of a log.
fn counts(l: &SyncLog) -> (i64, i64, i64, i64) {
    (l.processed, l.created, l.updated, l.failed)
}

/// An API version in a path (`v3`, `v1.0`, `v60.0`, `3.0`), which is kept; other segments with a digit are ids.
fn is_version(segment: &str) -> bool {
    let number = segment.strip_prefix('v').unwrap_or(segment);
    segment.len() <= 5
        && !number.is_empty()
        && number.split('.').all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `METHOD path` of the accepted calls, ids (segments with a digit, an encoded email among them) shown as `*`.
fn shapes(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| (200..300).contains(&c.status))
        .map(|c| {
            let id = |s: &str| s.bytes().any(|b| b.is_ascii_digit()) && !is_version(s);
            let path: Vec<&str> = c.path.split('/').map(|s| if id(s) { "*" } else { s }).collect();
            format!("{} {}", c.method, path.join("/"))
        })
        .collect()
}

/// Trigger payloads in the event platform's shape (the catalog's schemas, which publishing enforces).
fn event(id: &str, title: &str, virtual_: bool) -> Value {
    let format = if virtual_ { "online" } else { "in_person" };
    json!({"id": id, "event": {"id": id, "title": title, "description": "Quarterly launch", "status": "published",
           "format": format, "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:30:00Z",
           "venue": {"name": "Room 1", "city": "Berlin"},
           "attendees": [{"email": "ada@example.com", "name": "Ada Lovelace"}]}})
}

fn contact_of(id: &str, email: &str, name: &str) -> Value {
    json!({"id": id, "contact": {"id": id, "name": name, "email": email, "company": {"name": "Analytical"}}, "source": "api"})
}

fn contact() -> Value {
    contact_of("con_1", "Ada@Example.com", "Ada Lovelace")
}

fn registration(id: &str, amount: f64) -> Value {
    json!({"id": id, "registration": {"id": id, "status": "confirmed", "amount": amount, "currency": "EUR",
           "attendee": {"name": "Ada Lovelace", "email": "ada@example.com"}},
           "event": {"id": "evt_1", "title": "Launch", "starts_at": "2027-03-01T10:00:00Z"}})
}

backend_tests!(calendars_follow_an_event, contacts_and_lists_follow_people);

/// Google Calendar, Outlook and Zoom: an event created, updated and cancelled makes the insert, the patch of
/// what the insert made and the delete/cancel, each counted once on its own event log; Zoom acts only on
/// virtual events and records the meeting's join_url.
async fn calendars_follow_an_event(b: Backend) {
    let expected = [
        (
            Provider::GoogleCalendar,
            [
                "POST /calendar/v3/calendars/primary/events",
                "PATCH /calendar/v3/calendars/primary/events/*",
                "DELETE /calendar/v3/calendars/primary/events/*",
            ],
        ),
        (Provider::Outlook, ["POST /v1.0/me/events", "PATCH /v1.0/me/events/*", "POST /v1.0/me/events/*/cancel"]),
        (Provider::Zoom, ["POST /v2/users/me/meetings", "PATCH /v2/meetings/*", "DELETE /v2/meetings/*"]),
    ];
    for (provider, calls) in expected {
        let p = provider.id();
        let rig = Rig::delivering(&b, provider).await;
        let tenant = rig.tenant("Acme").await;
        let c = rig.connect(&tenant, Value::Null).await;
        let created = rig.step(&tenant, &c.id, "event.created", event("evt_1", "Launch", true)).await;
        let updated = rig.step(&tenant, &c.id, "event.updated", event("evt_1", "Launch (moved)", true)).await;
        let cancelled = rig.step(&tenant, &c.id, "event.cancelled", event("evt_1", "Launch (moved)", true)).await;
        assert_eq!(shapes(&rig.api.calls()), calls, "[{}] {p}: the documented calls", b.name);
        assert_eq!(
            [counts(&created), counts(&updated), counts(&cancelled)],
            [(1, 1, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0)],
            "[{}] {p}: each event counted once",
            b.name
        );
        for l in [&created, &updated, &cancelled] {
            assert_eq!((l.kind, l.status), (SyncKind::Event, SyncStatus::Succeeded), "[{}] {p}: {l:?}", b.name);
        }
        let sent = &rig.api.calls()[0].body;
        let title_field = if provider == Provider::Zoom { "topic" } else { "subject" };
        let title = sent.get("summary").or(sent.get(title_field));
        assert_eq!(title, Some(&json!("Launch")), "[{}] {p}: the title mapped: {sent}", b.name);
        assert!(rig.api.objects(if provider == Provider::Zoom { "meeting" } else { "event" }).is_empty());
        if provider == Provider::Zoom {
            let join = created.details["remote_url"].as_str().unwrap_or_default();
            assert!(join.starts_with("https://zoom.us/j/"), "[{}] the join_url is recorded: {created:?}", b.name);
            let in_person = rig.step(&tenant, &c.id, "event.created", event("evt_2", "Dinner", false)).await;
            assert_eq!(counts(&in_person), (1, 0, 0, 0), "[{}] an in-person event makes no meeting", b.name);
            assert_eq!(rig.api.calls().len(), 3);
        }
        rig.stop().await;
    }
}

/// HubSpot, Salesforce and Mailchimp: a new contact is created, the same person registering is an update (the
/// provider says so: HubSpot new:false, Salesforce 204), a paid registration adds a deal/opportunity when the
/// settings ask; Mailchimp upserts the member by the MD5 of the address and tags them.
async fn contacts_and_lists_follow_people(b: Backend) {
    let hash = subscriber_hash("ada@example.com");
    let member = format!("/3.0/lists/list1/members/{hash}");
    let expected: [(Provider, Value, Vec<String>); 3] = [
        (
            Provider::HubSpot,
            json!({"create_deals": true}),
            vec![
                "POST /crm/v3/objects/contacts/batch/upsert".into(),
                "POST /crm/v3/objects/contacts/batch/upsert".into(),
                "POST /crm/v3/objects/deals".into(),
            ],
        ),
        (
            Provider::Salesforce,
            json!({"create_opportunities": true}),
            vec![
                "PATCH /services/data/v60.0/sobjects/Contact/Email/*".into(),
                "PATCH /services/data/v60.0/sobjects/Contact/Email/*".into(),
                "POST /services/data/v60.0/sobjects/Opportunity".into(),
            ],
        ),
        (
            Provider::Mailchimp,
            json!({"list_id": "list1", "tags": ["attendee"], "status_if_new": "subscribed"}),
            vec![
                format!("PUT {member}"),
                format!("POST {member}/tags"),
                format!("PUT {member}"),
                format!("POST {member}/tags"),
            ],
        ),
    ];
    for (provider, settings, calls) in expected {
        let p = provider.id();
        let rig = Rig::delivering(&b, provider).await;
        let tenant = rig.tenant("Acme").await;
        let c = rig.connect(&tenant, settings).await;
        let first = if provider == Provider::Mailchimp {
            rig.step(&tenant, &c.id, "registration.confirmed", registration("reg_0", 0.0)).await
        } else {
            rig.step(&tenant, &c.id, "contact.created", contact()).await
        };
        let paid = rig.step(&tenant, &c.id, "registration.confirmed", registration("reg_1", 49.0)).await;
        let accepted: Vec<Call> = rig.api.accepted();
        let shown: Vec<String> = accepted.iter().map(|c| format!("{} {}", c.method, c.path)).collect();
        let shown = if provider == Provider::Mailchimp { shown } else { shapes(&accepted) };
        assert_eq!(shown, calls, "[{}] {p}: the documented calls", b.name);
        assert_eq!(
            [counts(&first), counts(&paid)],
            [(1, 1, 0, 0), (1, 0, 1, 0)],
            "[{}] {p}: {first:?} {paid:?}",
            b.name
        );
        match provider {
            Provider::HubSpot => {
                let deal = &accepted[2].body["properties"];
                assert_eq!(deal["amount"], "49", "[{}] the amount as a numeric string: {deal}", b.name);
                assert_eq!(rig.api.objects("contact").len(), 1, "one contact, upserted twice");
            }
            Provider::Salesforce => {
                assert_eq!(accepted[0].body["LastName"], "Lovelace");
                assert_eq!(rig.api.objects("opportunity")[0]["Amount"], 49.0);
            }
            _ => {
                assert_eq!(rig.api.objects("member")[0]["status"], "subscribed");
                assert_eq!(rig.api.objects("member")[0]["tags"], json!(["attendee"]));
            }
        }
        rig.stop().await;
    }
}

backend_tests!(failures_are_refreshed_retried_or_reported, sync_now_counts_every_record, tenants_are_isolated);

/// A 401 is answered by one refresh at the OAuth server and one retry with the new token; a 500 is retried
/// until it goes through (counted once); a 429 is waited out for its Retry-After; a 400 fails its record with
/// the provider's own message, and nothing is retried.
async fn failures_are_refreshed_retried_or_reported(b: Backend) {
    let rig = Rig::delivering(&b, Provider::GoogleCalendar).await;
    let tenant = rig.tenant("Acme").await;
    let c = rig.connect(&tenant, Value::Null).await;

    rig.api.fail_next(401, 1, None);
    let log = rig.step(&tenant, &c.id, "event.created", event("evt_1", "Launch", false)).await;
    let calls = rig.api.calls();
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [401, 200], "[{}] one retry", b.name);
    assert_ne!(calls[0].token, calls[1].token, "[{}] the retry carries a refreshed token", b.name);
    assert!(rig.oauth.introspect(calls[1].token.as_deref().unwrap()).await.is_some());
    assert_eq!((counts(&log), log.status), ((1, 1, 0, 0), SyncStatus::Succeeded), "[{}] {log:?}", b.name);

    rig.api.fail_next(500, 2, None);
    let log = rig.step(&tenant, &c.id, "event.updated", event("evt_1", "Launch (moved)", false)).await;
    let statuses: Vec<u16> = rig.api.calls()[2..].iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 500, 200], "[{}] retried after each 500", b.name);
    assert_eq!((counts(&log), log.status), ((1, 0, 1, 0), SyncStatus::Succeeded), "[{}] counted once: {log:?}", b.name);

    rig.api.fail_next(429, 1, Some(1));
    let log = rig.step(&tenant, &c.id, "event.created", event("evt_2", "Dinner", false)).await;
    let calls = rig.api.calls();
    let (limited, through) = (&calls[5], &calls[6]);
    assert_eq!((limited.status, through.status), (429, 200), "[{}]", b.name);
    let waited = through.at.duration_since(limited.at);
    assert!(waited >= Duration::from_millis(950), "[{}] Retry-After: 1 waited out, not {waited:?}", b.name);
    assert_eq!(counts(&log), (1, 1, 0, 0), "[{}] {log:?}", b.name);

    rig.api.fail_next(400, 1, None);
    let log = rig.step(&tenant, &c.id, "event.created", event("evt_3", "Breakfast", false)).await;
    assert_eq!((counts(&log), log.status), ((1, 0, 0, 1), SyncStatus::Failed), "[{}] {log:?}", b.name);
    assert_eq!(log.errors.len(), 1, "[{}] one record error: {log:?}", b.name);
    assert_eq!(log.errors[0].status, Some(400));
    assert!(log.errors[0].message.contains("The request was refused"), "[{}] Google's message: {log:?}", b.name);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rig.api.calls().len(), 8, "[{}] a 400 is not retried", b.name);
    rig.stop().await;
}

/// "Sync now" over events published before the connection existed: a full run creates each once and counts
/// them exactly; a second full run updates what the first made; a record the provider refuses makes the run
/// `partial` with that record's error; an incremental run after it starts where the last one stopped.
async fn sync_now_counts_every_record(b: Backend) {
    let rig = Rig::delivering(&b, Provider::HubSpot).await;
    let tenant = rig.tenant("Acme").await;
    for i in 0..3 {
        let data = contact_of(&format!("con_{i}"), &format!("p{i}@example.com"), &format!("P{i} Person"));
        rig.publish(&tenant, "contact.created", data).await;
    }
    // Not a trigger of HubSpot's: never counted.
    rig.publish(&tenant, "ticket.created", common::fixtures::ticket()).await;
    let c = rig.connect(&tenant, Value::Null).await;

    let run = rig.sync(&c.id, SyncKind::Full).await;
    assert_eq!(run.kind, SyncKind::Full);
    let first = rig.finished_logs(&c.id, 1).await.pop().unwrap();
    assert_eq!((counts(&first), first.status), ((3, 3, 0, 0), SyncStatus::Succeeded), "[{}] {first:?}", b.name);
    assert_eq!(rig.api.objects("contact").len(), 3);

    rig.api.fail_next(400, 1, None);
    rig.sync(&c.id, SyncKind::Full).await;
    let second = rig.finished_logs(&c.id, 2).await.pop().unwrap();
    assert_eq!((counts(&second), second.status), ((3, 0, 2, 1), SyncStatus::Partial), "[{}] {second:?}", b.name);
    assert_eq!(second.errors.len(), 1, "[{}] {second:?}", b.name);
    assert!(second.errors[0].record.contains("p0@example.com"), "[{}] the record named: {second:?}", b.name);
    assert_eq!(second.errors[0].status, Some(400));
    assert!(second.errors[0].message.contains("The request was refused"), "[{}] {second:?}", b.name);

    let calls_before = rig.api.calls().len();
    rig.sync(&c.id, SyncKind::Incremental).await;
    let third = rig.finished_logs(&c.id, 3).await.pop().unwrap();
    assert_eq!(third.kind, SyncKind::Incremental);
    assert_eq!(counts(&third).3, 0, "[{}] {third:?}", b.name);
    assert_eq!(rig.api.calls().len() - calls_before, third.processed as usize, "[{}] one call per record", b.name);
    rig.stop().await;
}

/// One tenant's events reach only its own connection; another tenant's admin neither sees nor syncs it.
async fn tenants_are_isolated(b: Backend) {
    let rig = Rig::delivering(&b, Provider::HubSpot).await;
    let (acme, globex) = (rig.tenant("Acme").await, rig.tenant("Globex").await);
    let a = rig.connect(&acme, Value::Null).await;
    let g = rig.connect(&globex, Value::Null).await;
    assert_ne!(a.id, g.id);
    rig.step(&acme, &a.id, "contact.created", contact()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rig.api.calls().len(), 1, "[{}] Acme's event made one call", b.name);
    assert!(rig.logs(&g.id).await.is_empty(), "[{}] nothing on Globex's connection", b.name);

    let globex_admin = rig
        .hub
        .create_user(Actor::System, "g@globex.test", "globex-password-1", Role::Tenant, Some(&globex))
        .await
        .unwrap();
    let them = Actor::User(&globex_admin);
    assert!(rig.hub.get_app_connection(them, &a.id).await.is_err(), "[{}] Acme's connection is hidden", b.name);
    let them = Actor::User(&globex_admin);
    let listed = rig.hub.list_app_connections(them, None).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [g.id.as_str()], "[{}]", b.name);
    let them = Actor::User(&globex_admin);
    assert!(rig.hub.request_app_sync(them, &a.id, SyncRequest { kind: SyncKind::Full }).await.is_err());
    let them = Actor::User(&globex_admin);
    assert!(rig.hub.app_sync_logs(them, &a.id, &SyncLogQuery::default()).await.is_err());
    rig.stop().await;
}
