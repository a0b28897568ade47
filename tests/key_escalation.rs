//! A key with `keys:write` acting on keys over the REST API, on every backend: it may rotate, change, revoke and
//! delete only keys whose scopes are all its own, and never loosen its own IP allowlist, expiry or rate limits.
//! People keep their rules.

mod common;

use common::api::Api;
use common::fixtures::issue_unlimited_key;
use common::Backend;
use integration_hub::model::{ApiKey, CreateApiKey, IssuedKey, RateTier, Role, Scope, UpdateApiKey};
use integration_hub::server::service::{Actor, AppState};
use integration_hub::server::store::now_ms;
use serde_json::{json, Value};

const WRITER: [Scope; 3] = [Scope::KeysRead, Scope::KeysWrite, Scope::EventsRead];

backend_tests!(a_key_acts_only_on_keys_within_its_scopes);
async fn a_key_acts_only_on_keys_within_its_scopes(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let api = Api::serve(&hub).await;
    let writer = issue_unlimited_key(&hub, Some(&acme.id), &WRITER).await;
    let kinds: [(&str, Vec<Scope>); 3] = [
        ("weaker", vec![Scope::EventsRead]),
        ("equal", WRITER.to_vec()),
        ("stronger", vec![Scope::EventsRead, Scope::WebhooksWrite]),
    ];
    for op in ["rotate", "update", "revoke", "delete"] {
        for (kind, scopes) in &kinds {
            let target = issue_unlimited_key(&hub, Some(&acme.id), scopes).await;
            let id = &target.key.id;
            let (method, path, body) = match op {
                "rotate" => ("POST", format!("/keys/{id}/rotate"), Some(json!({"grace_seconds": 0}))),
                "update" => ("PATCH", format!("/keys/{id}"), Some(json!({"description": "changed"}))),
                "revoke" => ("POST", format!("/keys/{id}/revoke"), None),
                _ => ("DELETE", format!("/keys/{id}"), None),
            };
            let (status, body) = api.call(method, &path, &writer.secret, body).await;
            let after = hub.get_api_key(&Actor::System, id).await;
            if *kind == "stronger" {
                assert_eq!(status, 403, "[{n}] {op} {kind}: {body}");
                assert_eq!(body["error"]["code"], "forbidden", "[{n}] {op}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("webhooks:write"), "[{n}] {op}: {message}");
                assert!(body.get("secret").is_none(), "[{n}] {op}: no plaintext handed over");
                // Nothing changed: the target still answers with its old secret and is as it was.
                assert_eq!(after.unwrap(), target.key, "[{n}] {op}");
                assert_eq!(api.call("GET", "/me", &target.secret, None).await.0, 200, "[{n}] {op}");
            } else {
                assert!((200..300).contains(&status), "[{n}] {op} {kind}: {status} {body}");
                match op {
                    "rotate" => {
                        let fresh = body["secret"].as_str().unwrap();
                        assert_eq!(api.call("GET", "/me", fresh, None).await.0, 200, "[{n}] {kind}");
                    }
                    "update" => assert_eq!(after.unwrap().description, "changed", "[{n}] {kind}"),
                    "revoke" => assert!(after.unwrap().revoked_at.is_some(), "[{n}] {kind}"),
                    _ => assert!(after.is_err(), "[{n}] {kind} deleted"),
                }
            }
        }
    }

    // An admin-wide key reaches every tenant's keys, but still only those within its scopes.
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let wide = issue_unlimited_key(&hub, None, &WRITER).await;
    let strong = issue_unlimited_key(&hub, Some(&globex.id), &Scope::ALL).await;
    let weak = issue_unlimited_key(&hub, Some(&globex.id), &[Scope::KeysRead]).await;
    let (status, body) = api.call("POST", &format!("/keys/{}/rotate", strong.key.id), &wide.secret, None).await;
    assert_eq!(status, 403, "[{n}] {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("webhooks:write"), "[{n}] {body}");
    let (status, _) = api.call("POST", &format!("/keys/{}/rotate", weak.key.id), &wide.secret, None).await;
    assert_eq!(status, 200, "[{n}]");

    // Narrowing a stronger key is a change to it as well.
    let (status, _) = api
        .call("PATCH", &format!("/keys/{}", strong.key.id), &wide.secret, Some(json!({"scopes": ["keys:read"]})))
        .await;
    assert_eq!(status, 403, "[{n}]");

    // People keep their rules: an admin rotates any key.
    hub.bootstrap("admin@example.com", Some("admin-password-1")).await.unwrap();
    let (admin, _) = hub.login("admin@example.com", "admin-password-1", "127.0.0.1").await.unwrap();
    assert!(hub.rotate_api_key(Actor::User(&admin), &strong.key.id, Default::default()).await.is_ok());
    let user = hub
        .create_user(Actor::User(&admin), "u@acme.test", "tenant-password-1", Role::Tenant, Some(&acme.id))
        .await
        .unwrap();
    let mine = issue_unlimited_key(&hub, Some(&acme.id), &Scope::ALL).await;
    assert!(hub.revoke_api_key(Actor::User(&user), &mine.key.id).await.is_ok(), "[{n}]");
}

/// The body of a refused self-change: 403, the field named, and the key as it was.
async fn refused(api: &Api, hub: &AppState, key: &IssuedKey, patch: Value, field: &str, before: &ApiKey) {
    let path = format!("/keys/{}", key.key.id);
    let (status, body) = api.call("PATCH", &path, &key.secret, Some(patch.clone())).await;
    assert_eq!(status, 403, "{patch}: {body}");
    assert_eq!(body["error"]["code"], "forbidden", "{patch}");
    assert!(body["error"]["message"].as_str().unwrap().contains("cannot loosen its own restrictions"), "{body}");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&field), "{patch}: {fields:?}");
    assert_eq!(&hub.get_api_key(&Actor::System, &key.key.id).await.unwrap(), before, "{patch}: unchanged");
}

backend_tests!(a_key_cannot_loosen_its_own_restrictions);
async fn a_key_cannot_loosen_its_own_restrictions(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let api = Api::serve(&hub).await;
    let expiry = now_ms() + 3_600_000;
    let fenced = CreateApiKey {
        name: "fenced".into(),
        tenant_id: Some(acme.id.clone()),
        scopes: WRITER.to_vec(),
        allowed_ips: vec!["127.0.0.0/8".into(), "2001:db8::/32".into()],
        tier: Some(RateTier::Custom),
        rate_limit_per_minute: Some(500),
        rate_limit_per_hour: Some(5_000),
        expires_at: Some(expiry),
        ..Default::default()
    };
    let key = hub.create_api_key(Actor::System, fenced).await.unwrap();
    let before = key.key.clone();

    for (patch, field) in [
        (json!({"allowed_ips": []}), "allowed_ips"),
        (json!({"allowed_ips": ["0.0.0.0/0"]}), "allowed_ips"),
        (json!({"allowed_ips": ["127.0.0.0/8", "10.0.0.0/8"]}), "allowed_ips"),
        (json!({"allowed_ips": ["127.0.0.0/7"]}), "allowed_ips"),
        (json!({"allowed_ips": ["2001:db8::/31"]}), "allowed_ips"),
        (json!({"expires_at": null}), "expires_at"),
        (json!({"expires_at": expiry + 1}), "expires_at"),
        (json!({"rate_limit_per_minute": 501}), "rate_limit_per_minute"),
        (json!({"rate_limit_per_hour": 5_001}), "rate_limit_per_hour"),
        (json!({"tier": "enterprise"}), "rate_limit_per_minute"),
        (json!({"description": "ok", "allowed_ips": []}), "allowed_ips"),
    ] {
        refused(&api, &hub, &key, patch, field, &before).await;
    }

    // Tightening is allowed, each restriction on its own; after that the tighter values are the bound.
    let path = format!("/keys/{}", key.key.id);
    for patch in [
        json!({"allowed_ips": ["127.0.0.1", "2001:db8:1::/48"]}),
        json!({"expires_at": expiry - 60_000}),
        json!({"rate_limit_per_minute": 400, "rate_limit_per_hour": 4_000}),
        json!({"description": "unrelated fields change freely", "name": "renamed"}),
    ] {
        let (status, body) = api.call("PATCH", &path, &key.secret, Some(patch.clone())).await;
        assert_eq!(status, 200, "[{n}] {patch}: {body}");
    }
    let tightened = hub.get_api_key(&Actor::System, &key.key.id).await.unwrap();
    assert_eq!(tightened.allowed_ips, ["127.0.0.1/32", "2001:db8:1::/48"], "[{n}]");
    assert_eq!((tightened.rate_limit_per_minute, tightened.rate_limit_per_hour), (400, 4_000), "[{n}]");
    refused(&api, &hub, &key, json!({"allowed_ips": ["127.0.0.0/8"]}), "allowed_ips", &tightened).await;
    refused(&api, &hub, &key, json!({"rate_limit_per_minute": 401}), "rate_limit_per_minute", &tightened).await;
    refused(&api, &hub, &key, json!({"expires_at": expiry}), "expires_at", &tightened).await;

    // An unrestricted key may give itself restrictions.
    let open = issue_unlimited_key(&hub, Some(&acme.id), &WRITER).await;
    let (status, _) =
        api.call("PATCH", &format!("/keys/{}", open.key.id), &open.secret, Some(json!({"expires_at": expiry}))).await;
    assert_eq!(status, 200, "[{n}]");

    // People keep their rules: an admin lifts every restriction.
    let lift = UpdateApiKey {
        allowed_ips: Some(vec![]),
        expires_at: Some(None),
        tier: Some(RateTier::Enterprise),
        ..Default::default()
    };
    let lifted = hub.update_api_key(Actor::System, &key.key.id, lift).await.unwrap();
    assert!(lifted.allowed_ips.is_empty() && lifted.expires_at.is_none(), "[{n}]");
}
