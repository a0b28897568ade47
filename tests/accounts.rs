//! Tenants, users, sign-in, sessions and the tenant gate, on every backend.

mod common;

use common::Backend;
use integration_hub::model::{ErrorCode, Role};
use integration_hub::server::service::Actor;

backend_tests!(bootstrap_users_sessions_and_tenant_gate);
async fn bootstrap_users_sessions_and_tenant_gate(b: Backend) {
    let hub = common::hub(&b).await;
    let n = b.name;

    // First start: a Default tenant and an admin with a generated password; the second start changes nothing.
    let generated = hub.bootstrap("Admin@Example.com ", None).await.unwrap().expect("generated password");
    assert_eq!(generated.len(), 20, "[{n}]");
    assert_eq!(hub.bootstrap("other@example.com", Some("whatever-123")).await.unwrap(), None, "[{n}]");
    let tenants = hub.store.list_tenants().await.unwrap();
    assert_eq!(tenants.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Default"], "[{n}]");

    let (admin, token) = hub.login("admin@example.com", &generated, "127.0.0.1").await.unwrap();
    assert_eq!(admin.role, Role::Admin, "[{n}]");
    assert_eq!(hub.session_user(Some(&token)).await.unwrap().id, admin.id, "[{n}]");

    // Validation: every bad field is reported at once.
    let err = hub.create_tenant(Actor::User(&admin), "   ").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed, "[{n}]");
    assert_eq!(err.field_message("name"), Some("is required"), "[{n}]");
    let err = hub.create_user(Actor::User(&admin), "not-an-email", "short", Role::Tenant, None).await.unwrap_err();
    assert_eq!(err.fields.len(), 3, "[{n}] {err:?}");

    let acme = hub.create_tenant(Actor::User(&admin), "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::User(&admin), "Globex").await.unwrap();
    let user = hub
        .create_user(Actor::User(&admin), "user@acme.test", "tenant-password-1", Role::Tenant, Some(&acme.id))
        .await
        .unwrap();
    let dup = hub
        .create_user(Actor::User(&admin), "USER@acme.test", "tenant-password-1", Role::Tenant, Some(&acme.id))
        .await
        .unwrap_err();
    assert_eq!(dup.field_message("email"), Some("is already registered"), "[{n}]");
    let missing = hub
        .create_user(Actor::User(&admin), "x@acme.test", "tenant-password-1", Role::Tenant, Some("ten_nope"))
        .await
        .unwrap_err();
    assert!(missing.field_message("tenant_id").is_some(), "[{n}]");

    // A tenant user sees only their tenant and cannot administer.
    let (_, utoken) = hub.login("user@acme.test", "tenant-password-1", "127.0.0.2").await.unwrap();
    let u = hub.session_user(Some(&utoken)).await.unwrap();
    assert_eq!(u.id, user.id);
    assert!(hub.authorize_tenant(&u, &acme.id).await.is_ok(), "[{n}]");
    assert_eq!(hub.authorize_tenant(&u, &globex.id).await.unwrap_err().code, ErrorCode::Forbidden, "[{n}]");
    assert_eq!(hub.authorize_tenant(&admin, "ten_missing").await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(hub.visible_tenants(&u).await.unwrap().len(), 1, "[{n}]");
    assert_eq!(hub.visible_tenants(&admin).await.unwrap().len(), 3, "[{n}]");
    assert_eq!(hub.home_tenant(&u).await.unwrap(), Some(acme.id.clone()), "[{n}]");
    let denied = hub.create_tenant(Actor::User(&u), "Mine").await.unwrap_err();
    assert_eq!(denied.code, ErrorCode::Forbidden, "[{n}]");

    // Sign-out kills the session; unknown tokens are 401.
    hub.logout(&utoken).await.unwrap();
    assert_eq!(hub.session_user(Some(&utoken)).await.unwrap_err().code, ErrorCode::Unauthorized, "[{n}]");
    assert_eq!(hub.session_user(None).await.unwrap_err().code, ErrorCode::Unauthorized, "[{n}]");

    // Every admin mutation is audited, with actor and tenant.
    let audit = hub.store.list_audit(Some(&acme.id), 50).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    assert!(actions.contains(&("tenant.created", admin.id.as_str())), "[{n}] {actions:?}");
    assert!(actions.contains(&("user.created", admin.id.as_str())), "[{n}] {actions:?}");
    assert!(audit.iter().all(|a| a.tenant_id.as_deref() == Some(acme.id.as_str())), "[{n}]");

    // Re-opening runs the migrations again without harm.
    hub.store.close().await;
    let again = common::hub(&b).await;
    assert_eq!(again.store.list_tenants().await.unwrap().len(), 3, "[{n}]");
}

backend_tests!(failed_sign_ins_are_throttled_and_do_not_reveal_emails);
async fn failed_sign_ins_are_throttled_and_do_not_reveal_emails(b: Backend) {
    let hub = common::hub(&b).await;
    hub.bootstrap("admin@example.com", Some("admin-password-1")).await.unwrap();
    let unknown = hub.login("ghost@example.com", "whatever", "10.0.0.1").await.unwrap_err();
    let wrong = hub.login("admin@example.com", "whatever", "10.0.0.1").await.unwrap_err();
    assert_eq!(unknown, wrong, "[{}] same answer for unknown email and wrong password", b.name);
    for _ in 0..4 {
        let _ = hub.login("admin@example.com", "nope", "10.0.0.1").await;
    }
    let locked = hub.login("admin@example.com", "admin-password-1", "10.0.0.1").await.unwrap_err();
    assert_eq!(locked.code, ErrorCode::RateLimited, "[{}]", b.name);
    assert!(locked.message.contains("Try again in"), "[{}]", b.name);
}
