//! The producer's API (issue 32): a host app registers, changes and archives its event types over REST with an
//! admin-wide key (`event_types:write`; a tenant key is refused: the catalog is shared); payloads are checked by a
//! complete JSON Schema validator; a tenant may accept unregistered types, which are recorded, listed to it as
//! unregistered and routed like any other; producer keys get limits fit for a backend.

mod common;

use common::api::Api;
use common::fixtures::{hook, issue_unlimited_key, poll, settle};
use common::receiver::Receiver;
use common::Backend;
use integration_hub::model::{
    CreateApiKey, CreateWebhook, DeliveryStatus, EventTypeSettings, IssuedKey, PublishEvent, RateTier, Role, Scope,
};
use integration_hub::server::service::{Actor, AppState};
use serde_json::{json, Value};
use std::time::Duration;

struct Setup {
    hub: AppState,
    api: Api,
    acme: String,
    globex: String,
    /// Admin-wide, with `event_types:write`.
    writer: IssuedKey,
    /// Admin-wide, every scope but `event_types:write`.
    unscoped: IssuedKey,
    /// Acme's, with every scope (`event_types:write` included).
    acme_key: IssuedKey,
    globex_key: IssuedKey,
}

async fn setup(b: &Backend) -> Setup {
    setup_on(common::hub(b).await).await
}

async fn setup_on(hub: AppState) -> Setup {
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
    let writer = issue_unlimited_key(&hub, None, &[Scope::EventTypesWrite, Scope::EventsRead]).await;
    let all_but: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != Scope::EventTypesWrite).collect();
    let unscoped = issue_unlimited_key(&hub, None, &all_but).await;
    let acme_key = issue_unlimited_key(&hub, Some(&acme), &Scope::ALL).await;
    let globex_key = issue_unlimited_key(&hub, Some(&globex), &Scope::ALL).await;
    let api = Api::serve(&hub).await;
    Setup { hub, api, acme, globex, writer, unscoped, acme_key, globex_key }
}

fn deal_won() -> Value {
    json!({
        "name": "crm.deal_won",
        "category": "CRM",
        "description": "A deal was won.",
        "example": {"deal": {"id": "D-1", "amount": 100}},
        "schema": {"type": "object", "required": ["deal"], "properties": {"deal": {"type": "object",
            "required": ["id"], "properties": {"id": {"type": "string", "pattern": "^D-[0-9]+$"}}}}}
    })
}

fn event(name: &str, data: Value) -> Value {
    json!({"type": name, "data": data})
}

/// Actions of the audit trail on `object`, oldest first.
async fn audited(hub: &AppState, object: &str) -> Vec<(String, String)> {
    let entries = hub.store.list_audit(None, 500).await.unwrap();
    let mut out: Vec<_> =
        entries.into_iter().filter(|e| e.target.as_deref() == Some(object)).map(|e| (e.action, e.actor)).collect();
    out.reverse();
    out
}

backend_tests!(admin_wide_keys_create_change_and_archive_event_types_and_each_change_is_audited);
async fn admin_wide_keys_create_change_and_archive_event_types_and_each_change_is_audited(b: Backend) {
    let n = b.name;
    let Setup { hub, api, writer, unscoped, acme_key, .. } = setup(&b).await;
    let w = writer.secret.as_str();

    // Without the scope, and with it but confined to a tenant: refused, nothing written.
    let (status, err) = api.call("POST", "/event-types", &unscoped.secret, Some(deal_won())).await;
    assert_eq!(status, 403, "[{n}] {err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("event_types:write"), "[{n}] {err}");
    let (status, err) = api.call("POST", "/event-types", &acme_key.secret, Some(deal_won())).await;
    assert_eq!(status, 403, "[{n}] {err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("admin-wide key"), "[{n}] {err}");
    let (status, _) = api.call("POST", "/event-types/ticket.created/archive", &acme_key.secret, None).await;
    assert_eq!(status, 403, "[{n}]");
    assert!(hub.store.get_event_type("crm.deal_won").await.unwrap().is_none(), "[{n}]");
    assert!(!hub.store.get_event_type("ticket.created").await.unwrap().unwrap().archived, "[{n}]");

    // Created (201), then a second create of the name is a conflict.
    let (status, t) = api.call("POST", "/event-types", w, Some(deal_won())).await;
    assert_eq!(status, 201, "[{n}] {t}");
    assert_eq!(
        (t["name"].as_str(), t["category"].as_str(), t["archived"].as_bool()),
        (Some("crm.deal_won"), Some("CRM"), Some(false))
    );
    let (status, err) = api.call("POST", "/event-types", w, Some(deal_won())).await;
    assert_eq!((status, err["error"]["code"].as_str()), (409, Some("conflict")), "[{n}] {err}");

    // The tenant's producer sees it in the catalog and publishes it; the schema holds.
    let (status, list) = api.call("GET", "/event-types", &acme_key.secret, None).await;
    assert_eq!(status, 200, "[{n}]");
    assert!(list["data"].as_array().unwrap().iter().any(|t| t["name"] == "crm.deal_won"), "[{n}]");
    let good = event("crm.deal_won", json!({"deal": {"id": "D-7"}}));
    assert_eq!(api.call("POST", "/events", &acme_key.secret, Some(good.clone())).await.0, 202, "[{n}]");
    let (status, err) =
        api.call("POST", "/events", &acme_key.secret, Some(event("crm.deal_won", json!({"deal": {"id": "X"}})))).await;
    assert_eq!(status, 422, "[{n}] {err}");
    let msg = err["error"]["fields"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("data.deal.id: \"X\" does not match"), "[{n}] {msg}");

    // A changed schema is used at once (the compiled one is dropped): the same payload is now refused.
    let stricter = json!({"schema": {"type": "object", "required": ["deal"], "properties": {"deal": {"type": "object",
        "required": ["id", "owner"]}}}, "example": {"deal": {"id": "D-1", "owner": "ann"}}, "description": "Won."});
    let (status, t) = api.call("PATCH", "/event-types/crm.deal_won", w, Some(stricter)).await;
    assert_eq!((status, t["description"].as_str()), (200, Some("Won.")), "[{n}] {t}");
    assert_eq!(t["category"], "CRM", "[{n}] fields not sent stay as they were");
    let (status, err) = api.call("POST", "/events", &acme_key.secret, Some(good.clone())).await;
    assert_eq!(status, 422, "[{n}] {err}");
    assert_eq!(err["error"]["fields"][0]["message"], "data.deal.owner is required", "[{n}]");
    // `"schema": null` removes it.
    let (status, t) = api.call("PATCH", "/event-types/crm.deal_won", w, Some(json!({"schema": null}))).await;
    assert_eq!((status, t.get("schema")), (200, Some(&Value::Null)), "[{n}] {t}");
    assert_eq!(api.call("POST", "/events", &acme_key.secret, Some(good.clone())).await.0, 202, "[{n}]");
    // Unknown names are 404; unknown fields and the name itself cannot be patched.
    assert_eq!(api.call("PATCH", "/event-types/crm.nope", w, Some(json!({"description": "x"}))).await.0, 404, "[{n}]");
    let (status, _) = api.call("PATCH", "/event-types/crm.deal_won", w, Some(json!({"name": "crm.other"}))).await;
    assert_eq!(status, 422, "[{n}]");

    // Archived: publishing is refused; unarchived: accepted again.
    let (status, t) = api.call("POST", "/event-types/crm.deal_won/archive", w, None).await;
    assert_eq!((status, t["archived"].as_bool()), (200, Some(true)), "[{n}] {t}");
    let (status, err) = api.call("POST", "/events", &acme_key.secret, Some(good.clone())).await;
    assert_eq!(status, 422, "[{n}]");
    assert!(err["error"]["fields"][0]["message"].as_str().unwrap().contains("archived"), "[{n}] {err}");
    let (status, t) = api.call("POST", "/event-types/crm.deal_won/unarchive", w, None).await;
    assert_eq!((status, t["archived"].as_bool()), (200, Some(false)), "[{n}] {t}");
    assert_eq!(api.call("POST", "/events", &acme_key.secret, Some(good)).await.0, 202, "[{n}]");
    assert_eq!(api.call("POST", "/event-types/crm.nope/archive", w, None).await.0, 404, "[{n}]");

    // Every change is in the audit trail, by the key that made it.
    let actions = audited(&hub, "crm.deal_won").await;
    let want = [
        "event_type.created",
        "event_type.updated",
        "event_type.updated",
        "event_type.archived",
        "event_type.unarchived",
    ];
    assert_eq!(actions.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), want, "[{n}]");
    assert!(actions.iter().all(|(_, actor)| *actor == writer.key.id), "[{n}] {actions:?}");
}

backend_tests!(invalid_event_types_are_refused_with_the_field_and_nothing_is_written);
async fn invalid_event_types_are_refused_with_the_field_and_nothing_is_written(b: Backend) {
    let n = b.name;
    let Setup { hub, api, writer, .. } = setup(&b).await;
    let with = |patch: Value| {
        let mut t = deal_won();
        for (k, v) in patch.as_object().unwrap() {
            t[k] = v.clone();
        }
        t
    };
    let cases = [
        (with(json!({"name": "crm.*"})), "name", "wildcard"),
        (with(json!({"name": "CRM.Deal"})), "name", ""),
        (with(json!({"name": "hub.fake"})), "name", "hub."),
        (with(json!({"category": " "})), "category", "is required"),
        (with(json!({"schema": {"type": "strin"}})), "schema", "is not a valid JSON Schema"),
        (with(json!({"schema": "object"})), "schema", "must be a JSON object"),
        (
            with(json!({"schema": {"$ref": "https://schemas.example.com/deal.json"}})),
            "schema",
            "remote references are not allowed",
        ),
        (with(json!({"example": {"deal": {"id": "nope"}}})), "example", "does not match the schema: data.deal.id"),
    ];
    for (body, field, says) in cases {
        let (status, err) = api.call("POST", "/event-types", &writer.secret, Some(body.clone())).await;
        assert_eq!(status, 422, "[{n}] {body}: {err}");
        let fields = err["error"]["fields"].as_array().unwrap();
        let f = fields.iter().find(|f| f["field"] == field).unwrap_or_else(|| panic!("[{n}] {field}: {err}"));
        assert!(f["message"].as_str().unwrap().contains(says), "[{n}] {field}: {err}");
    }
    // Not JSON, and unknown fields.
    let res = api
        .http
        .post(format!("{}/api/v1/event-types", api.base))
        .bearer_auth(&writer.secret)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "[{n}]");
    assert_eq!(api.call("POST", "/event-types", &writer.secret, Some(with(json!({"colour": "red"})))).await.0, 422);
    let names: Vec<String> = hub.list_event_types().await.unwrap().into_iter().map(|t| t.name).collect();
    assert!(!names.iter().any(|t| t.starts_with("crm.") || t.starts_with("CRM") || t == "hub.fake"), "[{n}] {names:?}");
}

backend_tests!(payloads_breaking_any_part_of_the_schema_are_refused);
async fn payloads_breaking_any_part_of_the_schema_are_refused(b: Backend) {
    let n = b.name;
    let Setup { hub, api, writer, acme_key, .. } = setup(&b).await;
    // Every schema of the shipped catalog compiles under the complete validator and accepts its own example.
    for t in hub.list_event_types().await.unwrap() {
        if let Some(s) = &t.schema {
            integration_hub::model::schema::validate(s, &t.example).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
    }
    let schema = json!({
        "type": "object", "additionalProperties": false, "required": ["ticket"],
        "definitions": {"ticket_id": {"type": "string", "pattern": "^T-[0-9]+$"}},
        "properties": {
            "ticket": {"type": "object", "required": ["id"], "properties": {
                "id": {"$ref": "#/definitions/ticket_id"},
                "reporter": {"type": "string", "format": "email"}}},
            "amount": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+$"}]}}
    });
    let body = json!({"name": "desk.ticket_escalated", "category": "Desk", "example": {"ticket": {"id": "T-1"}}, "schema": schema});
    assert_eq!(api.call("POST", "/event-types", &writer.secret, Some(body)).await.0, 201, "[{n}]");
    let publish = |data: Value| {
        let api = &api;
        let key = acme_key.secret.clone();
        async move { api.call("POST", "/events", &key, Some(event("desk.ticket_escalated", data))).await }
    };
    let ok = json!({"ticket": {"id": "T-42", "reporter": "ann@example.com"}, "amount": 5});
    assert_eq!(publish(ok).await.0, 202, "[{n}]");
    let refused = [
        (json!({"ticket": {"id": "x"}}), "data.ticket.id: \"x\" does not match"),
        (json!({"ticket": {"id": "T-1"}, "extra": true}), "data: Additional properties are not allowed"),
        (
            json!({"ticket": {"id": "T-1", "reporter": "not an email"}}),
            "data.ticket.reporter: \"not an email\" is not a \"email\"",
        ),
        (json!({"ticket": {"id": "T-1"}, "amount": -1}), "data.amount:"),
        (json!({"ticket": {"id": "T-1"}, "amount": 2.5}), "data.amount:"),
        (json!({}), "data.ticket is required"),
    ];
    for (data, says) in refused {
        let (status, err) = publish(data.clone()).await;
        assert_eq!(status, 422, "[{n}] {data}: {err}");
        let msg = err["error"]["fields"][0]["message"].as_str().unwrap_or_default();
        assert_eq!(err["error"]["fields"][0]["field"], "data", "[{n}] {err}");
        assert!(msg.starts_with(says), "[{n}] {data}: {msg}");
    }
}

backend_tests!(unregistered_types_are_refused_or_recorded_and_routed_as_the_tenant_chose);
async fn unregistered_types_are_refused_or_recorded_and_routed_as_the_tenant_chose(b: Backend) {
    let n = b.name;
    let Setup { hub, api, acme, globex, writer, acme_key, globex_key, .. } = setup(&b).await;
    let rx = Receiver::start().await;
    let worker = common::Worker::start(&hub);
    let wildcard = CreateWebhook { events: vec!["shop.*".into()], ..hook(&rx, "/ok/wild", &acme) };
    let exact = CreateWebhook { events: vec!["shop.order_placed".into()], ..hook(&rx, "/ok/exact", &acme) };
    hub.create_webhook(Actor::System, wildcard).await.unwrap();
    hub.create_webhook(Actor::System, exact).await.unwrap();
    let order = event("shop.order_placed", json!({"order": {"id": "O-1"}}));

    // Off (the default): an unknown type is a 422, and nothing is recorded.
    let (status, err) = api.call("POST", "/events", &acme_key.secret, Some(order.clone())).await;
    assert_eq!(status, 422, "[{n}] {err}");
    assert!(err["error"]["fields"][0]["message"].as_str().unwrap().contains("unknown event type"), "[{n}] {err}");
    assert!(!hub.event_catalog(Actor::System).await.unwrap().iter().any(|t| t.name == "shop.order_placed"), "[{n}]");

    // Only admins switch it on; a tenant's own user cannot.
    let user =
        hub.create_user(Actor::System, "ann@acme.test", "a-long-password-1", Role::Tenant, Some(&acme)).await.unwrap();
    let on = EventTypeSettings { tenant_id: acme.clone(), accept_unregistered_types: true };
    assert_eq!(hub.set_event_type_settings(Actor::User(&user), on.clone()).await.unwrap_err().code.http_status(), 403);
    assert!(!hub.event_type_settings(Actor::User(&user), &acme).await.unwrap().accept_unregistered_types, "[{n}]");
    hub.set_event_type_settings(Actor::System, on).await.unwrap();
    assert!(hub.event_type_settings(Actor::User(&user), &acme).await.unwrap().accept_unregistered_types, "[{n}]");
    assert_eq!(hub.event_type_settings(Actor::User(&user), &globex).await.unwrap_err().code.http_status(), 404);

    // On: accepted, routed to the wildcard and the exact subscription, delivered.
    let (status, published) = api.call("POST", "/events", &acme_key.secret, Some(order.clone())).await;
    assert_eq!((status, published["matched"].as_u64()), (202, Some(2)), "[{n}] {published}");
    let deliveries = settle(&hub, published["id"].as_str().unwrap()).await;
    assert!(deliveries.iter().all(|d| d.status == DeliveryStatus::Success), "[{n}] {deliveries:?}");
    for path in ["/ok/wild", "/ok/exact"] {
        let got = rx.wait_received(path, 1, Duration::from_secs(15)).await;
        assert_eq!(got.len(), 1, "[{n}] {path}");
        let body: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(
            (body["type"].as_str(), &body["data"]["order"]["id"]),
            (Some("shop.order_placed"), &json!("O-1")),
            "[{n}]"
        );
    }
    // Recorded: listed to Acme as unregistered with when it was first seen; Globex neither sees it nor may
    // publish it (it does not accept unregistered types).
    let (_, list) = api.call("GET", "/event-types", &acme_key.secret, None).await;
    let t = list["data"].as_array().unwrap().iter().find(|t| t["name"] == "shop.order_placed").cloned();
    let t = t.unwrap_or_else(|| panic!("[{n}] not listed: {list}"));
    assert_eq!(t["unregistered"], true, "[{n}] {t}");
    assert!(t["first_seen_at"].as_i64().is_some_and(|at| at > 0), "[{n}] {t}");
    let (_, list) = api.call("GET", "/event-types", &globex_key.secret, None).await;
    assert!(!list.to_string().contains("shop.order_placed"), "[{n}]");
    assert_eq!(api.call("POST", "/events", &globex_key.secret, Some(order.clone())).await.0, 422, "[{n}]");
    // Publishing it again records nothing new.
    assert_eq!(api.call("POST", "/events", &acme_key.secret, Some(order.clone())).await.0, 202, "[{n}]");
    assert_eq!(hub.store.list_unregistered_types(Some(&acme)).await.unwrap().len(), 1, "[{n}]");

    // Names must still be valid event types, and hub.* stays the hub's own.
    for bad in ["Shop.Order", "shop.*", "hub.endpoint.faked"] {
        let (status, err) = api.call("POST", "/events", &acme_key.secret, Some(event(bad, json!({})))).await;
        assert_eq!(status, 422, "[{n}] {bad}: {err}");
    }

    // Registering it (with a schema) makes it an ordinary catalog entry, enforced from then on.
    let register = json!({"name": "shop.order_placed", "category": "Shop", "description": "An order was placed.",
        "example": {"order": {"id": "O-1"}}, "schema": {"type": "object", "required": ["order"]}});
    assert_eq!(api.call("POST", "/event-types", &writer.secret, Some(register)).await.0, 201, "[{n}]");
    let (_, list) = api.call("GET", "/event-types", &acme_key.secret, None).await;
    let t = list["data"].as_array().unwrap().iter().find(|t| t["name"] == "shop.order_placed").cloned().unwrap();
    assert_eq!((t.get("unregistered"), t["category"].as_str()), (None, Some("Shop")), "[{n}] {t}");
    assert!(hub.store.list_unregistered_types(None).await.unwrap().is_empty(), "[{n}]");
    let (status, _) = api.call("POST", "/events", &acme_key.secret, Some(event("shop.order_placed", json!({})))).await;
    assert_eq!(status, 422, "[{n}] the schema now applies");

    // Switched off again: new unknown types are refused.
    hub.set_event_type_settings(
        Actor::System,
        EventTypeSettings { tenant_id: acme.clone(), accept_unregistered_types: false },
    )
    .await
    .unwrap();
    assert_eq!(
        api.call("POST", "/events", &acme_key.secret, Some(event("shop.refunded", json!({})))).await.0,
        422,
        "[{n}]"
    );
    let changes = audited(&hub, &acme).await;
    assert_eq!(changes.iter().filter(|(a, _)| a == "tenant.event_type_settings").count(), 2, "[{n}] {changes:?}");
    worker.stop().await;
}

backend_tests!(a_tenant_records_no_more_unregistered_types_than_its_limit);
async fn a_tenant_records_no_more_unregistered_types_than_its_limit(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.max_unregistered_types_per_tenant = 2).await;
    let Setup { hub, acme, globex, .. } = setup_on(hub).await;
    for t in [&acme, &globex] {
        let on = EventTypeSettings { tenant_id: t.clone(), accept_unregistered_types: true };
        hub.set_event_type_settings(Actor::System, on).await.unwrap();
    }
    let publish = |tenant: &str, name: &str| {
        let e = PublishEvent {
            event_type: name.into(),
            data: json!({}),
            tenant_id: Some(tenant.into()),
            ..Default::default()
        };
        let hub = hub.clone();
        async move { hub.publish(Actor::System, e).await }
    };
    publish(&acme, "app.one").await.unwrap();
    publish(&acme, "app.two").await.unwrap();
    let err = publish(&acme, "app.three").await.unwrap_err();
    assert!(err.field_message("type").unwrap().contains("HUB_MAX_UNREGISTERED_TYPES_PER_TENANT"), "[{n}] {err:?}");
    // Types already recorded still publish; other tenants have their own count.
    publish(&acme, "app.one").await.unwrap();
    publish(&globex, "app.three").await.unwrap();
    let names: Vec<String> =
        hub.store.list_unregistered_types(Some(&acme)).await.unwrap().into_iter().map(|t| t.0).collect();
    assert_eq!(names, ["app.one", "app.two"], "[{n}]");
}

backend_tests!(producer_keys_get_backend_limits_unless_a_tier_is_chosen);
async fn producer_keys_get_backend_limits_unless_a_tier_is_chosen(b: Backend) {
    let n = b.name;
    let Setup { hub, api, acme, .. } = setup(&b).await;
    let create = |tenant: Option<&str>, scopes: Vec<Scope>, tier: Option<RateTier>| {
        let input = CreateApiKey {
            name: "k".into(),
            tenant_id: tenant.map(str::to_string),
            scopes,
            tier,
            ..Default::default()
        };
        let hub = hub.clone();
        async move { hub.create_api_key(Actor::System, input).await.unwrap() }
    };
    let limits = |k: &IssuedKey| (k.key.rate_limit_per_minute, k.key.rate_limit_per_hour);
    let producer = create(Some(&acme), vec![Scope::EventsWrite], None).await;
    assert_eq!(limits(&producer), (6_000, 300_000), "[{n}]");
    assert_eq!(limits(&create(None, vec![Scope::WebhooksRead], None).await), (6_000, 300_000), "[{n}] admin-wide");
    let reader = create(Some(&acme), vec![Scope::EventsRead, Scope::KeysWrite], None).await;
    assert_eq!(limits(&reader), (60, 1_000), "[{n}]");
    let chosen = create(Some(&acme), vec![Scope::EventsWrite], Some(RateTier::Free)).await;
    assert_eq!(limits(&chosen), (60, 1_000), "[{n}] a tier given is kept");

    // Over REST too: a key minting a producer key without a tier.
    let minter = create(Some(&acme), vec![Scope::KeysWrite, Scope::EventsWrite], Some(RateTier::Enterprise)).await;
    let (status, issued) =
        api.call("POST", "/keys", &minter.secret, Some(json!({"name": "p", "scopes": ["events:write"]}))).await;
    assert_eq!(status, 201, "[{n}] {issued}");
    assert_eq!(
        (issued["key"]["rate_limit_per_minute"].as_u64(), issued["key"]["rate_limit_per_hour"].as_u64()),
        (Some(6_000), Some(300_000))
    );

    // What a host app notices: a burst of 80 requests passes with the producer key, the free key meets 429.
    let burst = |secret: String| {
        let api = &api;
        async move {
            let mut limited = 0;
            for _ in 0..80 {
                if api.send("GET", "/me", &secret, None).await.status() == 429 {
                    limited += 1;
                }
            }
            limited
        }
    };
    assert_eq!(burst(producer.secret.clone()).await, 0, "[{n}]");
    assert!(burst(reader.secret.clone()).await > 0, "[{n}]");

    // The CLI: no --tier gives a producer key the producer tier and says so (stderr; stdout is only the key).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_integration-hub"))
        .args(["key", "create", "--tenant", &acme, "--name", "cli", "--scopes", "events:write"])
        .env("HUB_DATABASE_URL", &b.url)
        .env("HUB_MASTER_KEY", common::MASTER_KEY)
        .env("HUB_LOG", "warn")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "[{n}] {stderr}");
    assert!(stdout.trim().starts_with("ihk_") && stdout.trim().lines().count() == 1, "[{n}] {stdout}");
    assert!(
        stderr.contains("rate limits: 6,000 requests a minute and 300,000 an hour (tier producer)"),
        "[{n}] {stderr}"
    );
    let secret = stdout.trim().to_string();
    let me = poll(Duration::from_secs(5), || api.call("GET", "/me", &secret, None), |(s, _)| *s == 200).await;
    assert_eq!(me.1["key"]["rate_limit_per_minute"], 6_000, "[{n}] {me:?}");
}
