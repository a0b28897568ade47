//! Per-tenant quotas: a tenant cannot aim the hub's fan-out at one victim host, hold more endpoints than its
//! limit, or make the routing index compile an unbounded number of regexes. Each limit has a setting.

mod common;

use common::fixtures::hook_to;
use common::Backend;
use integration_hub::model::filter::{Filter, FilterOp};
use integration_hub::model::{ErrorCode, UpdateWebhook};
use integration_hub::server::service::Actor;

fn regex() -> Filter {
    Filter { field: "data.id".into(), operator: FilterOp::Regex, value: serde_json::json!("^t[0-9]+$") }
}

backend_tests!(a_tenant_cannot_point_more_endpoints_at_one_host_than_its_limit);
async fn a_tenant_cannot_point_more_endpoints_at_one_host_than_its_limit(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.max_endpoints_per_host = 3).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let other = hub.create_tenant(Actor::System, "Other").await.unwrap();
    for i in 0..3 {
        hub.create_webhook(Actor::System, hook_to(&format!("https://Victim.example/{i}"), &t.id)).await.unwrap();
    }
    let err = hub.create_webhook(Actor::System, hook_to("https://victim.example/x", &t.id)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed, "[{n}] {err:?}");
    assert!(err.field_message("url").is_some_and(|m| m.contains("victim.example")), "[{n}] {err:?}");
    // Other hosts, and other tenants, are not affected; moving an endpoint onto the host is refused too.
    let elsewhere = hub.create_webhook(Actor::System, hook_to("https://fine.example/1", &t.id)).await.unwrap();
    hub.create_webhook(Actor::System, hook_to("https://victim.example/1", &other.id)).await.unwrap();
    let moved = UpdateWebhook { url: Some("https://victim.example/4".into()), ..Default::default() };
    let err = hub.update_webhook(Actor::System, &elsewhere.id, moved).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed, "[{n}]");
}

backend_tests!(a_tenant_cannot_hold_more_endpoints_or_regex_filters_than_its_limits);
async fn a_tenant_cannot_hold_more_endpoints_or_regex_filters_than_its_limits(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| {
        c.serve.max_endpoints_per_tenant = 4;
        c.serve.max_regex_filters_per_tenant = 2;
    })
    .await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let mut h = hook_to(&format!("https://h{i}.example/in"), &t.id);
        if i < 2 {
            h.filters = vec![regex()];
        }
        ids.push(hub.create_webhook(Actor::System, h).await.unwrap().id);
    }
    let err = hub.create_webhook(Actor::System, hook_to("https://h9.example/in", &t.id)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "[{n}] {err:?}");
    assert!(err.message.contains("HUB_MAX_ENDPOINTS_PER_TENANT"), "[{n}] {err:?}");
    // A third regex anywhere in the tenant is refused; editing an endpoint that already has one is not.
    let more = UpdateWebhook { filters: Some(vec![regex()]), ..Default::default() };
    let err = hub.update_webhook(Actor::System, &ids[2], more.clone()).await.unwrap_err();
    assert!(err.field_message("filters").is_some(), "[{n}] {err:?}");
    hub.update_webhook(Actor::System, &ids[0], more).await.unwrap();
    // Deleting frees the place.
    hub.delete_webhook(Actor::System, &ids[3]).await.unwrap();
    hub.create_webhook(Actor::System, hook_to("https://h9.example/in", &t.id)).await.unwrap();
}
