//! The endpoint list on every backend: keyset pages through every endpoint (no silent cap), search by name or
//! URL, filters by status and event type applied before paging (a filtered page is full while more match), and
//! all of it confined to the caller's tenant, over REST (`GET /webhooks`) and the service.

mod common;

use common::api::Api;
use common::fixtures::{hook_to, issue_unlimited_key};
use common::Backend;
use integration_hub::model::{CreateWebhook, Scope, UpdateWebhook, WebhookListQuery};
use integration_hub::server::service::{Actor, AppState};
use serde_json::Value;
use std::collections::HashSet;

/// 30 endpoints of `tenant`: `n-00`…`n-29`; the even ones take `ticket.*`, the odd ones `invoice.paid`, every
/// fifth is switched off.
async fn thirty(hub: &AppState, tenant: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..30 {
        let events = if i % 2 == 0 { vec!["ticket.*".to_string()] } else { vec!["invoice.paid".to_string()] };
        let hook = CreateWebhook {
            name: Some(format!("n-{i:02}")),
            events,
            ..hook_to(&format!("https://h{i}.example/in_{i}"), tenant)
        };
        let w = hub.create_webhook(Actor::System, hook).await.unwrap();
        if i % 5 == 0 {
            let off = UpdateWebhook { is_active: Some(false), ..Default::default() };
            hub.update_webhook(Actor::System, &w.id, off).await.unwrap();
        }
        ids.push(w.id);
    }
    ids
}

/// Every page of `GET /webhooks?{query}` following `next_cursor`: the names and the size of each page.
async fn walk(api: &Api, key: &str, query: &str) -> (Vec<String>, Vec<usize>) {
    let (mut names, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (status, body) = api.call("GET", &format!("/webhooks?{query}{after}"), key, None).await;
        assert_eq!(status, 200, "{query}: {body}");
        let data = body["data"].as_array().unwrap();
        sizes.push(data.len());
        names.extend(data.iter().map(|w| w["name"].as_str().unwrap().to_string()));
        match &body["next_cursor"] {
            Value::String(c) => cursor = Some(c.clone()),
            _ => return (names, sizes),
        }
        assert!(sizes.len() < 50, "{query}: the cursor never ends");
    }
}

backend_tests!(pages_reach_every_endpoint_and_filters_apply_before_paging);
async fn pages_reach_every_endpoint_and_filters_apply_before_paging(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.max_endpoints_per_tenant = 100).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    thirty(&hub, &acme.id).await;
    hub.create_webhook(Actor::System, hook_to("https://globex.example/n-00", &globex.id)).await.unwrap();
    let api = Api::serve(&hub).await;
    let key = issue_unlimited_key(&hub, Some(&acme.id), &[Scope::WebhooksRead]).await.secret;

    // All 30 in pages of 7, each once; Globex's endpoint never appears.
    let (names, sizes) = walk(&api, &key, "limit=7").await;
    assert_eq!(sizes, [7, 7, 7, 7, 2], "[{n}]");
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 30, "[{n}] {names:?}");
    assert!(names.iter().all(|x| x.starts_with("n-")), "[{n}]");

    // The event-type filter is applied before paging: 15 endpoints take ticket.created, in full pages of 4.
    let (names, sizes) = walk(&api, &key, "limit=4&event_type=ticket.created").await;
    assert_eq!((names.len(), sizes), (15, vec![4, 4, 4, 3]), "[{n}] {names:?}");
    assert!(names.iter().all(|x| x[2..].parse::<u32>().unwrap() % 2 == 0), "[{n}] {names:?}");

    // Status and event type together: the odd ones (invoice.paid) switched off are 5, 15 and 25.
    let (names, _) = walk(&api, &key, "limit=2&status=disabled&event_type=invoice.paid").await;
    assert_eq!(names, ["n-05", "n-15", "n-25"], "[{n}]");
    let (names, _) = walk(&api, &key, "status=active").await;
    assert_eq!(names.len(), 24, "[{n}]");

    // Search by name or URL; `_` is a character, not a wildcard.
    let (names, _) = walk(&api, &key, "search=N-1").await;
    assert_eq!(names.len(), 10, "[{n}] {names:?}");
    let (names, _) = walk(&api, &key, "search=in_2").await;
    assert_eq!(names.len(), 11, "[{n}] in_2 and in_20…in_29: {names:?}");
    let (names, _) = walk(&api, &key, "search=h1_").await;
    assert!(names.is_empty(), "[{n}] `_` matched as a wildcard: {names:?}");

    // A bad status is a 422 with a JSON body.
    let (status, body) = api.call("GET", "/webhooks?status=paused-ish", &key, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("validation_failed")), "[{n}] {body}");
}

backend_tests!(another_tenants_endpoints_are_never_listed);
async fn another_tenants_endpoints_are_never_listed(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let g = hub.create_webhook(Actor::System, hook_to("https://globex.example/private", &globex.id)).await.unwrap();
    hub.create_webhook(Actor::System, hook_to("https://acme.example/in", &acme.id)).await.unwrap();
    let key = issue_unlimited_key(&hub, Some(&acme.id), &[Scope::WebhooksRead]).await.key;

    // Naming the other tenant is a 404; a cursor from the other tenant's ids finds nothing of it either.
    let q = WebhookListQuery { tenant_id: Some(globex.id.clone()), ..Default::default() };
    assert!(hub.list_webhooks(Actor::Key(&key), q).await.is_err(), "[{n}]");
    let q = WebhookListQuery { search: Some("globex".into()), ..Default::default() };
    assert!(hub.list_webhooks(Actor::Key(&key), q).await.unwrap().is_empty(), "[{n}]");
    let q = WebhookListQuery { cursor: Some(String::new()), limit: Some(500), ..Default::default() };
    let all = hub.list_webhooks(Actor::Key(&key), q).await.unwrap();
    assert_eq!(all.len(), 1, "[{n}]");
    assert!(all.iter().all(|w| w.id != g.id && w.tenant_id == acme.id), "[{n}]");
}

backend_tests!(the_overview_counts_every_endpoint_of_the_tenant_only);
/// The Webhooks overview's counts come from the database: all of a tenant's endpoints however many, the
/// active ones, none of another tenant's; a tenant's key cannot count another tenant's.
async fn the_overview_counts_every_endpoint_of_the_tenant_only(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.max_endpoints_per_tenant = 100).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    thirty(&hub, &acme.id).await;
    hub.create_webhook(Actor::System, hook_to("https://globex.example/in", &globex.id)).await.unwrap();
    let c = hub.endpoint_counts(Actor::System, Some(&acme.id)).await.unwrap();
    assert_eq!((c.total, c.active, c.auto_disabled), (30, 24, 0), "[{n}]");
    let key = issue_unlimited_key(&hub, Some(&acme.id), &[Scope::WebhooksRead]).await.key;
    assert!(hub.endpoint_counts(Actor::Key(&key), Some(&globex.id)).await.is_err(), "[{n}]");
    assert_eq!(hub.endpoint_counts(Actor::Key(&key), None).await.unwrap().total, 30, "[{n}]");
}

backend_tests!(a_connected_apps_hidden_endpoint_is_neither_listed_nor_made_nor_changed_by_hand);
/// A connected app's endpoint (kind `app`) belongs to its connection: the endpoint list, the overview counts,
/// creating, editing, deleting and revealing its secret do not reach it.
async fn a_connected_apps_hidden_endpoint_is_neither_listed_nor_made_nor_changed_by_hand(b: Backend) {
    use integration_hub::model::DestinationKind;
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let mine = hub.create_webhook(Actor::System, hook_to("https://acme.example/in", &acme.id)).await.unwrap();
    let app = CreateWebhook { kind: Some(DestinationKind::App), ..hook_to("https://api.example/", &acme.id) };
    let refused = hub.create_webhook(Actor::System, app).await.unwrap_err();
    assert_eq!(refused.code.http_status(), 422, "[{n}] {refused:?}");
    // One made the way a connection makes it: stored directly with kind `app`.
    let mut hidden = hub.get_webhook(&Actor::System, &mine.id).await.unwrap();
    hidden.id = "wh_app_hidden".into();
    hidden.kind = DestinationKind::App;
    hub.store.insert_webhook(&hidden, "sealed").await.unwrap();

    let q = WebhookListQuery { limit: Some(500), ..Default::default() };
    let listed: Vec<String> = hub.list_webhooks(Actor::System, q).await.unwrap().into_iter().map(|w| w.id).collect();
    assert_eq!(listed, vec![mine.id.clone()], "[{n}]");
    assert_eq!(hub.endpoint_counts(Actor::System, Some(&acme.id)).await.unwrap().total, 1, "[{n}]");
    let edit = UpdateWebhook { name: Some("mine now".into()), ..Default::default() };
    assert_eq!(hub.update_webhook(Actor::System, &hidden.id, edit).await.unwrap_err().code.http_status(), 404, "[{n}]");
    assert_eq!(hub.delete_webhook(Actor::System, &hidden.id).await.unwrap_err().code.http_status(), 404, "[{n}]");
    assert_eq!(hub.webhook_secret(Actor::System, &hidden.id).await.unwrap_err().code.http_status(), 404, "[{n}]");
    let to_app = UpdateWebhook { kind: Some(DestinationKind::App), ..Default::default() };
    assert_eq!(hub.update_webhook(Actor::System, &mine.id, to_app).await.unwrap_err().code.http_status(), 422, "[{n}]");
}
