//! The event browser through the real router on both databases: events found by id, idempotency key or a
//! payload field (and nothing else, whatever the search holds); pages that hold still; an event resent to the
//! endpoints subscribed now or to one chosen endpoint, reaching a real receiver and audited; no tenant reaching
//! another's events; the delivery export streamed as CSV and JSON lines, confined to the tenant.

mod common;

use common::console::Console;
use common::fixtures::{add_hook, hook, hook_to, issue_key, numbered_ticket_event, ticket_event};
use common::receiver::Receiver;
use common::{Backend, Worker};
use integration_hub::model::{CreateWebhook, Event, PublishEvent, Scope};
use integration_hub::server::service::Actor;
use reqwest::header::COOKIE;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

impl Console {
    /// Acme's events for `search` (through the server function): their ids, newest first.
    async fn search(&self, query: Value) -> (u16, Vec<String>) {
        let (status, v) = self.call_json("search_events", json!({"tenant_id": self.acme, "query": query})).await;
        let ids = match serde_json::from_value::<Vec<Event>>(v) {
            Ok(events) => events.into_iter().map(|e| e.id).collect(),
            Err(_) => Vec::new(),
        };
        (status, ids)
    }

    async fn publish(&self, p: PublishEvent) -> String {
        self.hub.publish(Actor::System, p).await.unwrap().id
    }
}

backend_tests!(a_payload_field_finds_exactly_its_events_and_a_crafted_search_nothing);
/// `data.ticket.id = "t3"` finds Acme's one such event (not Globex's with the same field); an id and an
/// idempotency key find their event; quotes and SQL in the path are refused (422), in the value they are just a
/// value that matches nothing; too deep a path is refused.
async fn a_payload_field_finds_exactly_its_events_and_a_crafted_search_nothing(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(e.publish(numbered_ticket_event(&e.acme, i)).await);
    }
    let globex_t3 = e.publish(numbered_ticket_event(&e.globex, 3)).await;
    let keyed = e.publish(PublishEvent { idempotency_key: Some("order-77".into()), ..ticket_event(&e.acme) }).await;

    let (status, found) = e.search(json!({"search": "data.ticket.id = \"t3\""})).await;
    assert_eq!((status, found.clone()), (200, vec![ids[3].clone()]), "[{n}]");
    assert!(!found.contains(&globex_t3), "[{n}]");
    let (_, found) = e.search(json!({"search": "data.ticket.priority=\"low\""})).await;
    assert_eq!(found.iter().collect::<HashSet<_>>(), ids.iter().collect::<HashSet<_>>(), "[{n}]");
    let (_, found) = e.search(json!({"search": "data.ticket.id = \"t9\""})).await;
    assert!(found.is_empty(), "[{n}] {found:?}");
    assert_eq!(e.search(json!({"search": ids[1]})).await, (200, vec![ids[1].clone()]), "[{n}]");
    assert_eq!(e.search(json!({"search": "order-77"})).await, (200, vec![keyed.clone()]), "[{n}]");
    let (_, found) = e.search(json!({"search": globex_t3})).await;
    assert!(found.is_empty(), "[{n}] another tenant's event by id");
    let (_, found) = e.search(json!({"type": "ticket.updated"})).await;
    assert!(found.is_empty(), "[{n}]");

    for harmless in [
        "data.ticket.id = \"t3' OR '1'='1\"",
        "data.ticket.id = \"x\\\" OR 1=1 --\"",
        "data.ticket.id = \"t3\\u0027) OR (1=1\"",
    ] {
        let (status, found) = e.search(json!({"search": harmless})).await;
        assert_eq!((status, found.len()), (200, 0), "[{n}] {harmless}");
    }
    for refused in [
        "data.ticket.id' OR '1'='1 = \"t3\"",
        "data.\"ticket\".id = \"t3\"",
        "data.ticket.id) OR (1 = 1",
        "a.b.c.d.e.f.g.h.i = 1",
        "data.ticket.id = t3",
    ] {
        let (status, body) =
            e.call_json("search_events", json!({"tenant_id": e.acme, "query": {"search": refused}})).await;
        assert_eq!(status, 422, "[{n}] {refused}: {body}");
        assert_eq!(body["fields"][0]["field"], "search", "[{n}] {body}");
    }
}

backend_tests!(event_pages_hold_still);
/// Read two at a time with the cursor while newer events are published, Acme's seven events come each once,
/// newest first; a time range narrows the list.
async fn event_pages_hold_still(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    let mut published = Vec::new();
    for i in 0..7 {
        published.push(e.publish(numbered_ticket_event(&e.acme, i)).await);
    }
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let (status, page) = e.search(json!({"limit": 2, "cursor": cursor, "type": "ticket.created"})).await;
        assert_eq!(status, 200, "[{n}]");
        e.publish(numbered_ticket_event(&e.acme, 100)).await;
        seen.extend(page.clone());
        if page.len() < 2 {
            break;
        }
        cursor = page.last().cloned();
    }
    // Ids sort by creation time (ULIDs), the list's order: newest first.
    published.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, published, "[{n}]");
    let (_, none) = e.search(json!({"until": 1})).await;
    assert!(none.is_empty(), "[{n}]");
}

backend_tests!(a_resent_event_reaches_the_receiver_and_is_audited);
/// Resending (REST) queues new deliveries to every endpoint subscribed now; the receiver gets the event again,
/// and the trail names the key and its address. Sending to one endpoint reaches it even though it is not
/// subscribed to the type; with no subscribed endpoint, the resend says so (409).
async fn a_resent_event_reaches_the_receiver_and_is_audited(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    let rx = Receiver::start().await;
    let worker = Worker::start(&e.hub);
    add_hook(&e.hub, hook(&rx, "/ok", &e.acme)).await;
    let other =
        add_hook(&e.hub, CreateWebhook { events: vec!["invoice.*".into()], ..hook(&rx, "/ok/other", &e.acme) }).await;
    let event = e.publish(ticket_event(&e.acme)).await;
    assert_eq!(rx.wait_received("/ok", 1, Duration::from_secs(10)).await.len(), 1, "[{n}]");

    let key = issue_key(&e.hub, Some(&e.acme), &[Scope::DeliveriesWrite, Scope::EventsRead, Scope::AuditRead]).await;
    let (status, resent) = e.api.call("POST", &format!("/events/{event}/resend"), &key.secret, None).await;
    assert_eq!(status, 202, "[{n}] {resent}");
    assert_eq!(resent["deliveries"].as_array().map(Vec::len), Some(1), "[{n}] {resent}");
    let got = rx.wait_received("/ok", 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "[{n}]");
    assert_eq!(serde_json::from_str::<Value>(&got[1].body).unwrap()["id"], event.as_str(), "[{n}]");
    assert!(rx.received("/ok/other").is_empty(), "[{n}] not subscribed, not sent");

    let body = json!({"endpoint_id": other.id});
    let (status, resent) = e.api.call("POST", &format!("/events/{event}/resend"), &key.secret, Some(body)).await;
    assert_eq!((status, resent["endpoints"].clone()), (202, json!([other.id])), "[{n}] {resent}");
    assert_eq!(rx.wait_received("/ok/other", 1, Duration::from_secs(10)).await.len(), 1, "[{n}]");
    let (_, detail) = e.api.call("GET", &format!("/events/{event}"), &key.secret, None).await;
    assert_eq!(detail["deliveries"].as_array().map(Vec::len), Some(3), "[{n}] {detail}");

    let (status, page) = e.api.call("GET", "/audit?action=event.resent", &key.secret, None).await;
    assert_eq!(status, 200, "[{n}]");
    let entries = page["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "[{n}] {page}");
    assert_eq!(
        (entries[0]["actor"].as_str(), entries[0]["ip"].as_str()),
        (Some(key.key.id.as_str()), Some("127.0.0.1"))
    );
    assert_eq!(entries[0]["target"], event.as_str(), "[{n}]");
    assert_eq!(entries[0]["after"]["endpoints"], json!([other.id]), "[{n}]");

    // Through the UI's server function too.
    let (status, v) = e.call_json("resend_event", json!({"tenant_id": e.acme, "id": event, "endpoint_id": null})).await;
    assert_eq!(status, 200, "[{n}] {v}");
    assert_eq!(rx.wait_received("/ok", 3, Duration::from_secs(10)).await.len(), 3, "[{n}]");

    let lonely = e.publish(PublishEvent { event_type: "ticket.created".into(), ..ticket_event(&e.globex) }).await;
    let globex_key = issue_key(&e.hub, Some(&e.globex), &[Scope::DeliveriesWrite]).await.secret;
    let (status, body) = e.api.call("POST", &format!("/events/{lonely}/resend"), &globex_key, None).await;
    assert_eq!(status, 409, "[{n}] {body}");
    worker.stop().await;
}

backend_tests!(no_tenant_reads_or_resends_anothers_events);
/// Acme (key and user) cannot see Globex's event, resend it, or send its own event to Globex's endpoint: 404, as
/// if absent; nothing is queued. A key without `deliveries:write` cannot resend at all (403).
async fn no_tenant_reads_or_resends_anothers_events(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    let g_hook = add_hook(&e.hub, hook_to("https://globex.example.com/h", &e.globex)).await;
    add_hook(&e.hub, hook_to("https://acme.example.com/h", &e.acme)).await;
    let g_event = e.publish(ticket_event(&e.globex)).await;
    let a_event = e.publish(ticket_event(&e.acme)).await;
    let key = issue_key(&e.hub, Some(&e.acme), &[Scope::DeliveriesWrite, Scope::EventsRead]).await.secret;

    assert_eq!(e.api.call("GET", &format!("/events/{g_event}"), &key, None).await.0, 404, "[{n}]");
    assert_eq!(e.api.call("POST", &format!("/events/{g_event}/resend"), &key, None).await.0, 404, "[{n}]");
    let to_globex = Some(json!({"endpoint_id": g_hook.id}));
    assert_eq!(e.api.call("POST", &format!("/events/{a_event}/resend"), &key, to_globex).await.0, 404, "[{n}]");
    let reader = issue_key(&e.hub, Some(&e.acme), &[Scope::EventsRead]).await.secret;
    assert_eq!(e.api.call("POST", &format!("/events/{a_event}/resend"), &reader, None).await.0, 403, "[{n}]");

    let (status, _) = e.call_json("event_detail", json!({"tenant_id": e.acme, "id": g_event})).await;
    assert_eq!(status, 404, "[{n}]");
    let (status, _) =
        e.call_json("resend_event", json!({"tenant_id": e.acme, "id": g_event, "endpoint_id": null})).await;
    assert_eq!(status, 404, "[{n}]");
    let body = json!({"tenant_id": e.acme, "id": a_event, "endpoint_id": g_hook.id});
    assert_eq!(e.call_json("resend_event", body).await.0, 404, "[{n}]");
    let (status, _) = e.call_json("search_events", json!({"tenant_id": e.globex, "query": {}})).await;
    assert_eq!(status, 403, "[{n}]");

    let g = e.hub.get_event(Actor::System, &g_event).await.unwrap();
    assert_eq!(g.deliveries.len(), 1, "[{n}] nothing was queued for Globex");
    let a = e.hub.get_event(Actor::System, &a_event).await.unwrap();
    assert_eq!(a.deliveries.len(), 1, "[{n}] nothing was queued for Acme either");
}

backend_tests!(the_delivery_export_streams_every_page_of_the_tenant_only);
/// 520 deliveries (more than one page of the export) come out of the JSON-lines export each once, all Acme's;
/// the CSV has a header and one row each; another tenant's export is a 403 and a signed-out one a 401.
async fn the_delivery_export_streams_every_page_of_the_tenant_only(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    add_hook(&e.hub, hook_to("https://acme.example.com/h", &e.acme)).await;
    add_hook(&e.hub, hook_to("https://globex.example.com/h", &e.globex)).await;
    for chunk in 0..6 {
        let items: Vec<Value> = (0..100)
            .take(if chunk == 5 { 20 } else { 100 })
            .map(|i| serde_json::to_value(numbered_ticket_event(&e.acme, chunk * 100 + i)).unwrap())
            .collect();
        e.hub.publish_batch(Actor::System, items).await.unwrap();
    }
    e.publish(ticket_event(&e.globex)).await;
    let get = |path: String, cookie: Option<String>| {
        let mut req = e.api.http.get(format!("{}{path}", e.api.base));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.headers().clone(), res.text().await.unwrap())
        }
    };
    let (status, headers, body) =
        get(format!("/api/ui/deliveries/export?tenant_id={}&format=jsonl", e.acme), Some(e.cookie.clone())).await;
    assert_eq!(status, 200, "[{n}] {body}");
    assert_eq!(headers["content-type"], "application/x-ndjson", "[{n}]");
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: HashSet<&str> = lines.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!((lines.len(), ids.len()), (520, 520), "[{n}]");
    assert!(lines.iter().all(|d| d["tenant_id"] == e.acme.as_str()), "[{n}]");

    let (status, _, csv) =
        get(format!("/api/ui/deliveries/export?tenant_id={}&format=csv", e.acme), Some(e.cookie.clone())).await;
    assert_eq!(status, 200, "[{n}]");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(&reader.headers().unwrap()[1], "id", "[{n}]");
    assert_eq!(reader.records().count(), 520, "[{n}]");

    let (status, _, _) =
        get(format!("/api/ui/deliveries/export?tenant_id={}&format=csv", e.globex), Some(e.cookie.clone())).await;
    assert_eq!(status, 403, "[{n}]");
    let (status, _, _) = get(format!("/api/ui/deliveries/export?tenant_id={}", e.acme), None).await;
    assert_eq!(status, 401, "[{n}]");
}
