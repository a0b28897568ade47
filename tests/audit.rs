//! The audit trail as people and keys read it, through the real router on both databases: entries name the
//! actor readably, the client's address and the changed fields (never a secret); a tenant reads only its own
//! trail; pages hold still while entries are added; the CSV export quotes properly and defuses formulas.

mod common;

use common::console::Console;
use common::fixtures::{add_hook, hook_to, issue_key, USER_EMAIL};
use common::Backend;
use integration_hub::model::{AuditPage, Role, Scope, User, REDACTED};
use integration_hub::server::service::Actor;
use reqwest::header::COOKIE;
use serde_json::{json, Value};
use std::collections::HashSet;

impl Console {
    async fn audit_page(&self, query: Value, all_tenants: bool) -> AuditPage {
        let body = json!({"tenant_id": self.acme, "query": query, "all_tenants": all_tenants});
        let (status, text) = self.call("list_audit", body).await;
        assert_eq!(status, 200, "[{}] {text}", self.n);
        serde_json::from_str(&text).unwrap()
    }
}

backend_tests!(changes_carry_who_from_where_and_what_changed_never_a_secret);
/// A person's edit of an endpoint (through a server function) and a key's edit of a key (REST) are recorded with
/// the actor's label, the client's address and the changed fields; a custom header's value and the signing
/// secret appear nowhere in the trail, only that they changed.
async fn changes_carry_who_from_where_and_what_changed_never_a_secret(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    let hook = add_hook(&e.hub, hook_to("https://acme.example.com/hook", &e.acme)).await;
    let patch = json!({"name": "Billing", "headers": {"Authorization": "Bearer hdr-s3cret-value"}});
    let (status, text) = e.call("edit_webhook", json!({"tenant_id": e.acme, "id": hook.id, "patch": patch})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    let (status, text) =
        e.call("rotate_webhook_secret", json!({"tenant_id": e.acme, "id": hook.id, "grace_seconds": 0})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    let new_secret = serde_json::from_str::<Value>(&text).unwrap()["secret"].as_str().unwrap_or_default().to_string();

    let page = e.audit_page(json!({"action": "webhook.updated"}), false).await;
    let entry = page.data.first().unwrap_or_else(|| panic!("[{n}] no webhook.updated entry"));
    assert_eq!(entry.actor_label.as_deref(), Some(USER_EMAIL), "[{n}]");
    assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"), "[{n}]");
    assert_eq!((entry.object_type.as_deref(), entry.target.as_deref()), (Some("webhook"), Some(hook.id.as_str())));
    assert_eq!(entry.object_name.as_deref(), Some("Billing"), "[{n}]");
    let (before, after) = (entry.before.clone().unwrap(), entry.after.clone().unwrap());
    assert_eq!(after["name"], "Billing", "[{n}] {after}");
    assert_ne!(before["name"], "Billing", "[{n}] {before}");
    assert_eq!(after["headers"]["Authorization"], REDACTED, "[{n}] {after}");
    assert!(after.get("url").is_none(), "[{n}] unchanged fields are left out: {after}");

    // A key changing a key over REST: its name is the label.
    let admin_key = issue_key(&e.hub, Some(&e.acme), &[Scope::KeysWrite, Scope::KeysRead, Scope::AuditRead]).await;
    let (status, _) = e
        .api
        .call("PATCH", &format!("/keys/{}", admin_key.key.id), &admin_key.secret, Some(json!({"description": "ops"})))
        .await;
    assert_eq!(status, 200, "[{n}]");
    let (status, page) = e.api.call("GET", "/audit?action=api_key.updated", &admin_key.secret, None).await;
    assert_eq!(status, 200, "[{n}] {page}");
    let entry = &page["data"][0];
    assert_eq!((entry["actor"].as_str(), entry["actor_label"].as_str()), (Some(admin_key.key.id.as_str()), Some("k")));
    assert_eq!(entry["ip"], "127.0.0.1", "[{n}] {entry}");
    assert_eq!(
        (entry["before"]["description"].as_str(), entry["after"]["description"].as_str()),
        (Some(""), Some("ops"))
    );

    // Nothing secret anywhere in the whole trail, read every way.
    let (_, _, everything) = e.api.call_text("GET", "/audit?limit=500", &admin_key.secret, None).await;
    let (_, csv) = e.get(&format!("/api/ui/audit.csv?tenant_id={}", e.acme)).await;
    for text in [&everything, &csv] {
        for secret in ["hdr-s3cret-value", new_secret.as_str(), admin_key.secret.as_str()] {
            assert!(!secret.is_empty() && !text.contains(secret), "[{n}] the trail holds a secret: {text}");
        }
    }
}

impl Console {
    /// GETs a page-less route as Acme's user: the status and the body.
    async fn get(&self, path: &str) -> (u16, String) {
        let res =
            self.api.http.get(format!("{}{path}", self.api.base)).header(COOKIE, &self.cookie).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

backend_tests!(a_tenant_reads_only_its_own_trail);
/// Acme's user and Acme's key read Acme's entries only, whatever they ask for; another tenant's trail is a 403
/// (server function, export) or 404 (REST); a key without `audit:read` is refused; portal sessions read none; an
/// admin-wide key reads both tenants.
async fn a_tenant_reads_only_its_own_trail(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    add_hook(&e.hub, hook_to("https://acme.example.com/a", &e.acme)).await;
    add_hook(&e.hub, hook_to("https://globex.example.com/g", &e.globex)).await;

    let page = e.audit_page(json!({"tenant_id": e.globex}), true).await;
    assert!(!page.data.is_empty(), "[{n}]");
    assert!(page.data.iter().all(|x| x.tenant_id.as_deref() == Some(e.acme.as_str())), "[{n}] {:?}", page.data);
    let (status, _) = e.call("list_audit", json!({"tenant_id": e.globex, "query": {}, "all_tenants": false})).await;
    assert_eq!(status, 403, "[{n}]");
    let (status, body) = e.get(&format!("/api/ui/audit.csv?tenant_id={}", e.globex)).await;
    assert_eq!(status, 403, "[{n}] {body}");
    let (status, body) = e.get("/api/ui/audit.csv").await;
    assert_eq!(status, 200, "[{n}]");
    assert!(body.contains("acme.example.com") && !body.contains("globex.example.com"), "[{n}] {body}");

    let acme_key = issue_key(&e.hub, Some(&e.acme), &[Scope::AuditRead]).await.secret;
    let (status, page, text) = e.api.call_text("GET", "/audit", &acme_key, None).await;
    assert_eq!(status, 200, "[{n}] {page}");
    assert!(text.contains("acme.example.com") && !text.contains("globex.example.com"), "[{n}] {text}");
    let (status, _) = e.api.call("GET", &format!("/audit?tenant_id={}", e.globex), &acme_key, None).await;
    assert_eq!(status, 404, "[{n}]");
    let reader = issue_key(
        &e.hub,
        Some(&e.acme),
        &Scope::read_only().into_iter().filter(|s| *s != Scope::AuditRead).collect::<Vec<_>>(),
    )
    .await;
    let (status, body) = e.api.call("GET", "/audit", &reader.secret, None).await;
    assert_eq!(status, 403, "[{n}] {body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("audit:read"), "[{n}] {body}");

    let wide = issue_key(&e.hub, None, &[Scope::AuditRead]).await.secret;
    let (_, _, text) = e.api.call_text("GET", "/audit?limit=500", &wide, None).await;
    assert!(text.contains("acme.example.com") && text.contains("globex.example.com"), "[{n}] {text}");

    let portal = User {
        id: "usr_portal".into(),
        email: "portal".into(),
        role: Role::Portal,
        tenant_id: Some(e.acme.clone()),
        ..e.hub
            .create_user(Actor::System, "p@acme.test", "portal-password-1", Role::Tenant, Some(&e.acme))
            .await
            .unwrap()
    };
    let refused = e.hub.list_audit(&Actor::User(&portal), &Default::default()).await.unwrap_err();
    assert_eq!(refused.code.http_status(), 403, "[{n}] {refused:?}");
}

backend_tests!(pages_hold_still_while_entries_are_added);
/// Reading 25 entries ten at a time while new ones are written between the pages gives each of the 25 exactly
/// once, newest first by (time, id); a cursor that is not one is a 422.
async fn pages_hold_still_while_entries_are_added(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    for i in 0..25 {
        e.hub.audit(&Actor::System, Some(&e.acme), "test.step", &format!("obj_{i}"), "").await.unwrap();
    }
    let key = issue_key(&e.hub, Some(&e.acme), &[Scope::AuditRead]).await.secret;
    let (mut seen, mut order, mut cursor) = (HashSet::new(), Vec::new(), None::<String>);
    for round in 0.. {
        let path = match &cursor {
            Some(c) => format!("/audit?action=test.step&limit=10&cursor={c}"),
            None => "/audit?action=test.step&limit=10".to_string(),
        };
        let (status, page) = e.api.call("GET", &path, &key, None).await;
        assert_eq!(status, 200, "[{n}] {page}");
        for x in page["data"].as_array().unwrap() {
            assert!(seen.insert(x["target"].as_str().unwrap().to_string()), "[{n}] seen twice: {x}");
            order.push((x["at"].as_i64().unwrap(), x["id"].as_str().unwrap().to_string()));
        }
        // Newer entries arrive while the list is read; they belong before the first page.
        e.hub.audit(&Actor::System, Some(&e.acme), "test.step", &format!("late_{round}"), "").await.unwrap();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let expected: HashSet<String> = (0..25).map(|i| format!("obj_{i}")).collect();
    assert_eq!(seen, expected, "[{n}]");
    assert!(order.windows(2).all(|w| w[0] > w[1]), "[{n}] not newest first: {order:?}");
    let (status, body) = e.api.call("GET", "/audit?cursor=1.x'--", &key, None).await;
    assert_eq!(status, 422, "[{n}] {body}");
}

backend_tests!(the_csv_export_quotes_and_defuses_formulas);
/// An endpoint renamed to a spreadsheet formula with commas and quotes comes back from the CSV export as the
/// same text, prefixed with `'` so that a spreadsheet shows it rather than running it.
async fn the_csv_export_quotes_and_defuses_formulas(b: Backend) {
    let e = Console::start(b).await;
    let n = e.n;
    let hook = add_hook(&e.hub, hook_to("https://acme.example.com/hook", &e.acme)).await;
    let evil = "=HYPERLINK(\"http://evil.test\",\"a, b\")";
    let (status, text) =
        e.call("edit_webhook", json!({"tenant_id": e.acme, "id": hook.id, "patch": {"name": evil}})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    let res = e
        .api
        .http
        .get(format!("{}/api/ui/audit.csv?tenant_id={}&action=webhook.updated", e.api.base, e.acme))
        .header(COOKIE, &e.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "[{n}]");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "[{n}]");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"), "[{n}]");
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "[{n}] {body}");
    assert_eq!(&rows[0][col("object_name")], format!("'{evil}"), "[{n}] {body}");
    assert_eq!(&rows[0][col("actor_label")], USER_EMAIL, "[{n}]");
    assert_eq!(&rows[0][col("ip")], "127.0.0.1", "[{n}]");
    let after: Value = serde_json::from_str(&rows[0][col("after")]).unwrap();
    assert_eq!(after["name"], evil, "[{n}]");
    assert!(!body.lines().any(|l| l.split(',').any(|cell| cell.starts_with('='))), "[{n}] a bare formula: {body}");
}

backend_tests!(an_event_type_change_records_its_before_and_after);
/// Catalog changes carry what changed like any other object: a new type its fields, an edited one the old and
/// new description (and nothing unchanged).
async fn an_event_type_change_records_its_before_and_after(b: Backend) {
    use integration_hub::model::{AuditQuery, CreateEventType, UpdateEventType};
    let e = Console::start(b).await;
    let n = e.n;
    let new = CreateEventType {
        name: "invoice.voided".into(),
        category: "Billing".into(),
        description: "First words".into(),
        example: None,
        schema: None,
    };
    e.hub.create_event_type(Actor::System, new).await.unwrap();
    let patch = UpdateEventType { description: Some("Second words".into()), ..Default::default() };
    e.hub.update_event_type(Actor::System, "invoice.voided", patch).await.unwrap();
    let page = e.hub.list_audit(&Actor::System, &AuditQuery::default()).await.unwrap();
    let of = |action: &str| page.data.iter().find(|a| a.action == action).cloned().unwrap();
    let created = of("event_type.created");
    assert_eq!(created.after.as_ref().unwrap()["description"], "First words", "[{n}] {created:?}");
    let updated = of("event_type.updated");
    assert_eq!(updated.before.as_ref().unwrap(), &serde_json::json!({"description": "First words"}), "[{n}]");
    assert_eq!(updated.after.as_ref().unwrap(), &serde_json::json!({"description": "Second words"}), "[{n}]");
}
