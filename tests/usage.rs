//! API key usage on every backend: requests, rate-limit refusals and IP-allowlist refusals counted per UTC day in
//! rollups (written in batches, never per request), the last address used, per key and per tenant, over REST
//! (`GET /keys/{id}/usage`) and confined to the key's tenant.

mod common;

use common::api::Api;
use common::fixtures::issue_unlimited_key;
use common::Backend;
use integration_hub::model::{CreateApiKey, KeyUsage, Scope, UsageWindow, DAY_MS};
use integration_hub::server::service::{Actor, AppState};
use integration_hub::server::store::{now_ms, UsageDelta};

async fn key(hub: &AppState, tenant: &str, name: &str, per_minute: u32, ips: &[&str]) -> (String, String) {
    let input = CreateApiKey {
        name: name.into(),
        tenant_id: Some(tenant.into()),
        scopes: vec![Scope::KeysRead],
        rate_limit_per_minute: Some(per_minute),
        rate_limit_per_hour: Some(1000),
        allowed_ips: ips.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let issued = hub.create_api_key(Actor::System, input).await.unwrap();
    (issued.key.id, issued.secret)
}

fn today(u: &KeyUsage) -> (i64, i64, i64) {
    let d = u.days.last().unwrap();
    (d.requests, d.rate_limited, d.ip_refused)
}

backend_tests!(each_request_and_each_refusal_kind_is_counted_per_day_and_key);
async fn each_request_and_each_refusal_kind_is_counted_per_day_and_key(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let api = Api::serve(&hub).await;
    // 3 requests a minute: of 5, the last 2 are refused with 429.
    let (limited, limited_secret) = key(&hub, &acme.id, "limited", 3, &[]).await;
    // Only 10.0.0.0/8: every request from 127.0.0.1 is refused with 403.
    let (fenced, fenced_secret) = key(&hub, &acme.id, "fenced", 100, &["10.0.0.0/8"]).await;
    let (other, other_secret) = key(&hub, &globex.id, "other", 100, &[]).await;

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(api.call("GET", "/me", &limited_secret, None).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429], "[{n}]");
    for _ in 0..2 {
        assert_eq!(api.call("GET", "/me", &fenced_secret, None).await.0, 403, "[{n}]");
    }
    // A wrong secret is nobody's usage.
    let wrong = format!("{}x", &limited_secret[..limited_secret.len() - 1]);
    assert_eq!(api.call("GET", "/me", &wrong, None).await.0, 401, "[{n}]");

    // Counted in memory: nothing is written before the flush.
    let before = hub.key_usage(Actor::System, &limited, UsageWindow::Week).await.unwrap();
    assert_eq!(before.total.requests, 0, "[{n}] written per request: {before:?}");
    hub.flush_key_usage().await.unwrap();

    let usage = hub.key_usage(Actor::System, &limited, UsageWindow::Week).await.unwrap();
    assert_eq!(usage.days.len(), 7, "[{n}]");
    assert_eq!(usage.days.last().unwrap().day, now_ms().div_euclid(DAY_MS) * DAY_MS, "[{n}] today is last");
    assert_eq!(today(&usage), (5, 2, 0), "[{n}] {usage:?}");
    assert_eq!(usage.days.last().unwrap().accepted(), 3, "[{n}]");
    assert_eq!(usage.last_used_ip.as_deref(), Some("127.0.0.1"), "[{n}]");
    assert!(usage.last_used_at.is_some(), "[{n}]");
    let usage = hub.key_usage(Actor::System, &fenced, UsageWindow::Week).await.unwrap();
    assert_eq!(today(&usage), (2, 0, 2), "[{n}] {usage:?}");
    assert_eq!(usage.last_used_ip, None, "[{n}] a refused address is not a use");

    // The tenant's chart sums its keys, and only its keys.
    let acme_usage = hub.tenant_key_usage(Actor::System, Some(&acme.id), UsageWindow::Month).await.unwrap();
    assert_eq!((acme_usage.days.len(), today(&acme_usage)), (30, (7, 2, 2)), "[{n}]");
    let globex_usage = hub.tenant_key_usage(Actor::System, Some(&globex.id), UsageWindow::Month).await.unwrap();
    assert_eq!(today(&globex_usage), (0, 0, 0), "[{n}]");

    // Over REST, for the key itself.
    api.call("GET", "/me", &other_secret, None).await;
    hub.flush_key_usage().await.unwrap();
    let (status, body) = api.call("GET", &format!("/keys/{other}/usage?window=90d"), &other_secret, None).await;
    assert_eq!(status, 200, "[{n}] {body}");
    assert_eq!(body["days"].as_array().unwrap().len(), 90, "[{n}]");
    assert_eq!(body["total"]["requests"], 1, "[{n}] the usage call itself waits for the next flush: {body}");
    assert_eq!(body["window"], "90d", "[{n}]");
}

backend_tests!(usage_is_confined_to_the_keys_tenant);
async fn usage_is_confined_to_the_keys_tenant(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let api = Api::serve(&hub).await;
    let (acme_key, acme_secret) = key(&hub, &acme.id, "acme", 100, &[]).await;
    let (_, globex_secret) = key(&hub, &globex.id, "globex", 100, &[]).await;
    api.call("GET", "/me", &acme_secret, None).await;
    hub.flush_key_usage().await.unwrap();

    // Another tenant's key is not found, over REST and through the service.
    let (status, body) = api.call("GET", &format!("/keys/{acme_key}/usage"), &globex_secret, None).await;
    assert_eq!(status, 404, "[{n}] {body}");
    assert_eq!(body["error"]["code"], "not_found", "[{n}] {body}");
    let globex_key = hub.verify_api_key(&globex_secret, "127.0.0.1".parse().unwrap()).await.unwrap();
    let err = hub.key_usage(Actor::Key(&globex_key), &acme_key, UsageWindow::Week).await.unwrap_err();
    assert_eq!(err.code, integration_hub::model::ErrorCode::NotFound, "[{n}]");
    // A tenant's total names only its own tenant; asking for another is a 404.
    let err = hub.tenant_key_usage(Actor::Key(&globex_key), Some(&acme.id), UsageWindow::Week).await.unwrap_err();
    assert_eq!(err.code, integration_hub::model::ErrorCode::NotFound, "[{n}]");
    let own = hub.tenant_key_usage(Actor::Key(&globex_key), None, UsageWindow::Week).await.unwrap();
    assert_eq!(own.tenant_id.as_deref(), Some(globex.id.as_str()), "[{n}]");
    assert_eq!(own.total.requests, 0, "[{n}] Acme's use leaked into Globex's chart: {own:?}");

    // Without keys:read the route is refused; a bad window is a 400 with a JSON body, never a 500.
    let writer = issue_unlimited_key(&hub, Some(&acme.id), &[Scope::EventsWrite]).await;
    assert_eq!(api.call("GET", &format!("/keys/{acme_key}/usage"), &writer.secret, None).await.0, 403, "[{n}]");
    let (status, body) = api.call("GET", &format!("/keys/{acme_key}/usage?window=1y"), &acme_secret, None).await;
    assert_eq!((status, body["error"]["code"].is_string()), (400, true), "[{n}] {body}");
}

backend_tests!(rollups_are_kept_per_day_and_the_window_shows_its_days);
async fn rollups_are_kept_per_day_and_the_window_shows_its_days(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let (id, _) = key(&hub, &acme.id, "k", 100, &[]).await;
    let day = now_ms().div_euclid(DAY_MS);
    // Earlier days' rows, as earlier flushes leave them: 3 days ago and 20 days ago.
    let old = |d: i64, r: i64| UsageDelta { key: id.clone(), days: vec![(day - d, r, 1, 0)], ..Default::default() };
    hub.store.add_api_key_usage(&[old(3, 4), old(20, 9)]).await.unwrap();
    hub.store.add_api_key_usage(&[old(3, 1)]).await.unwrap();

    let week = hub.key_usage(Actor::System, &id, UsageWindow::Week).await.unwrap();
    let d3 = week.days[6 - 3];
    assert_eq!((d3.day, d3.requests, d3.rate_limited), ((day - 3) * DAY_MS, 5, 2), "[{n}] {week:?}");
    assert_eq!(week.total.requests, 5, "[{n}] 20 days ago is outside 7 days");
    let month = hub.key_usage(Actor::System, &id, UsageWindow::Month).await.unwrap();
    assert_eq!((month.total.requests, month.days[29 - 20].requests), (14, 9), "[{n}]");
    // Deleting the key keeps its tenant's history.
    hub.delete_api_key(Actor::System, &id).await.unwrap();
    let tenant = hub.tenant_key_usage(Actor::System, Some(&acme.id), UsageWindow::Month).await.unwrap();
    assert_eq!(tenant.total.requests, 14, "[{n}]");
}

backend_tests!(usage_days_older_than_the_setting_are_pruned_and_zero_keeps_them);
/// The retention pass drops a key's usage days past `HUB_USAGE_RETENTION_DAYS` and keeps the rest; with 0 it
/// keeps every day.
async fn usage_days_older_than_the_setting_are_pruned_and_zero_keeps_them(b: Backend) {
    let n = b.name;
    let hub = common::hub_configured(&b, |c| c.serve.usage_retention_days = 30).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let (id, _) = key(&hub, &acme.id, "k", 100, &[]).await;
    let day = now_ms().div_euclid(DAY_MS);
    let old = |d: i64, r: i64| UsageDelta { key: id.clone(), days: vec![(day - d, r, 0, 0)], ..Default::default() };
    hub.store.add_api_key_usage(&[old(5, 2), old(45, 7)]).await.unwrap();
    let quarter = || hub.key_usage(Actor::System, &id, UsageWindow::Quarter);
    assert_eq!(quarter().await.unwrap().total.requests, 9, "[{n}]");
    hub.prune_at(now_ms()).await.unwrap();
    assert_eq!(quarter().await.unwrap().total.requests, 2, "[{n}] the day 45 days ago is past 30 days");

    let keep = common::hub_configured(&b, |c| c.serve.usage_retention_days = 0).await;
    keep.store.add_api_key_usage(&[old(60, 3)]).await.unwrap();
    keep.prune_at(now_ms()).await.unwrap();
    let q = keep.key_usage(Actor::System, &id, UsageWindow::Quarter).await.unwrap();
    assert_eq!(q.total.requests, 5, "[{n}] 0 keeps every day");
}
