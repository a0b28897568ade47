//! The HTTP surface of the foundation, through the real router: sign-in, cookies, the cross-site check,
//! the tenant gate on pages and server functions, and 404s.

mod common;

use integration_hub::model::Role;
use integration_hub::server::service::Actor;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

#[test]
fn pages_and_server_functions_enforce_sessions_and_tenants() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            hub.bootstrap("admin@example.com", Some("admin-password-1")).await.unwrap();
            let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
            hub.create_user(Actor::System, "u@acme.test", "tenant-password-1", Role::Tenant, Some(&acme.id))
                .await
                .unwrap();
            let base = common::serve(hub).await;
            let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();

            assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().text().await.unwrap(), "ok");

            // Wrong password: 401 with a JSON error the UI shows as is.
            let res = http
                .post(format!("{base}/api/login"))
                .header("accept", "application/json")
                .form(&[("email", "u@acme.test"), ("password", "wrong")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "[{n}]");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["message"], "Wrong email or password.", "[{n}] {body}");

            // A foreign Origin is refused before the function runs.
            let res = http
                .post(format!("{base}/api/login"))
                .header(ORIGIN, "https://evil.example")
                .form(&[("email", "u@acme.test"), ("password", "tenant-password-1")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "[{n}]");
            assert!(res.headers().get(SET_COOKIE).is_none(), "[{n}]");

            // Right password: an HttpOnly, SameSite=Lax session cookie (not Secure on plain http).
            let res = http
                .post(format!("{base}/api/login"))
                .header(ORIGIN, base.as_str())
                .form(&[("email", "u@acme.test"), ("password", "tenant-password-1")])
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success() || res.status().is_redirection(), "[{n}] {}", res.status());
            let cookie = res.headers().get(SET_COOKIE).expect("session cookie").to_str().unwrap().to_string();
            assert!(cookie.starts_with("hub_session="), "[{n}] {cookie}");
            assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"));
            let session = cookie.split(';').next().unwrap().to_string();

            // Own tenant page renders; another tenant's page is a 403 that names nothing of it.
            let own =
                http.get(format!("{base}/t/{}/integrations", acme.id)).header(COOKIE, &session).send().await.unwrap();
            assert_eq!(own.status(), 200, "[{n}]");
            assert!(own.text().await.unwrap().contains("Integrations"), "[{n}]");
            let other =
                http.get(format!("{base}/t/{}/integrations", globex.id)).header(COOKIE, &session).send().await.unwrap();
            assert_eq!(other.status(), 403, "[{n}]");
            let html = other.text().await.unwrap();
            assert!(html.contains("Access denied") && !html.contains("Globex"), "[{n}]");

            // The same through the server function directly.
            let res = http
                .post(format!("{base}/api/get_shell_context"))
                .header(COOKIE, &session)
                .header("accept", "application/json")
                .form(&[("tenant_id", globex.id.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "[{n}]");
            assert!(!res.text().await.unwrap().contains("Globex"), "[{n}]");

            // No session: pages redirect to sign-in.
            let anon = http
                .get(format!("{base}/t/{}/integrations", acme.id))
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            assert_eq!(anon.status(), 302, "[{n}]");
            assert_eq!(anon.headers().get(LOCATION).unwrap(), "/login", "[{n}]");

            let missing = http.get(format!("{base}/definitely/not/here")).send().await.unwrap();
            assert_eq!(missing.status(), 404, "[{n}]");
            assert!(missing.text().await.unwrap().contains("Page not found"), "[{n}]");
        }
    });
}

#[test]
fn the_live_deliveries_stream_is_per_tenant_and_signed_in() {
    common::run(async {
        for b in common::backends().await {
            let n = b.name;
            let hub = common::hub(&b).await;
            let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
            let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
            hub.create_user(Actor::System, "u@acme.test", "tenant-password-1", Role::Tenant, Some(&acme.id))
                .await
                .unwrap();
            let (_, token) = hub.login("u@acme.test", "tenant-password-1", "127.0.0.1").await.unwrap();
            let rx = common::receiver::Receiver::start().await;
            let hook = integration_hub::model::CreateWebhook {
                url: rx.url("/ok"),
                events: vec!["*".into()],
                tenant_id: Some(acme.id.clone()),
                ..Default::default()
            };
            hub.create_webhook(Actor::System, hook).await.unwrap();
            let base = common::serve(hub.clone()).await;
            let http = reqwest::Client::new();
            let url = |t: &str| format!("{base}/api/ui/deliveries/stream?tenant_id={t}");

            // Signed out: 401; another tenant: 403; both as JSON errors.
            assert_eq!(http.get(url(&acme.id)).send().await.unwrap().status(), 401, "[{n}]");
            let cookie = format!("hub_session={token}");
            let res = http.get(url(&globex.id)).header(COOKIE, &cookie).send().await.unwrap();
            assert_eq!(res.status(), 403, "[{n}]");

            // Own tenant: an event stream that announces a publish within moments.
            let mut res = http.get(url(&acme.id)).header(COOKIE, &cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "[{n}]");
            assert_eq!(res.headers()["content-type"], "text/event-stream", "[{n}]");
            let ev = integration_hub::model::PublishEvent {
                event_type: "ticket.created".into(),
                data: serde_json::json!({"id": "t", "ticket": {"id": "t", "subject": "s", "status": "open", "priority": "low"}}),
                tenant_id: Some(acme.id.clone()),
                ..Default::default()
            };
            hub.publish(Actor::System, ev).await.unwrap();
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), res.chunk()).await.unwrap().unwrap();
            let text = String::from_utf8_lossy(&chunk.unwrap()).to_string();
            assert!(text.contains("event: deliveries") && text.contains(&acme.id), "[{n}] {text}");
        }
    });
}
