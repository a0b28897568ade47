//! Invite and reset links emailed when SMTP is configured (a real aiosmtpd, `tests/smtp/server.py`): the person
//! gets a plain-text and an HTML message with the link (escaped in the HTML), the answer says where it went and
//! still carries the link; a failed send is reported and the link still opens.

mod common;

use common::smtp::SmtpServer;
use common::Backend;
use integration_hub::model::{NewInvite, Role};
use integration_hub::server::service::{Actor, AppState};
use std::time::Duration;

const FROM: &str = "Integration Hub <hub@example.com>";

async fn hub_with_smtp(b: &Backend, url: String) -> AppState {
    common::hub_configured(b, |c| {
        c.serve.smtp_url = Some(url);
        c.serve.smtp_from = Some(FROM.into());
    })
    .await
}

fn token_of(url: &str) -> &str {
    url.rsplit_once("/accept/").map(|(_, t)| t).unwrap_or_default()
}

backend_tests!(invites_and_reset_links_are_emailed_when_smtp_is_configured);
async fn invites_and_reset_links_are_emailed_when_smtp_is_configured(b: Backend) {
    let n = b.name;
    let smtp = SmtpServer::start();
    let hub = hub_with_smtp(&b, smtp.url()).await;
    let root = hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    // An address with characters HTML gives a meaning to.
    let email = "o'brien&co@acme.test";
    let invite = NewInvite { email: email.into(), role: Role::Viewer, tenant_id: Some(acme.id.clone()) };
    let issued = hub.invite_user(Actor::User(&root), invite).await.unwrap();
    assert_eq!(issued.emailed_to.as_deref(), Some(email), "[{n}] {:?}", issued.email_error);
    assert!(issued.url.contains("/accept/ulk_"), "[{n}] the link is still shown once: {}", issued.url);
    let mails = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1, "[{n}]");
    let mail = &mails[0];
    assert_eq!(mail.to(), email, "[{n}]");
    assert_eq!(mail.header("Subject"), Some("You are invited to Integration Hub"), "[{n}]");
    assert!(mail.header("From").unwrap_or_default().contains("hub@example.com"), "[{n}]");
    let text = mail.part("text/plain").unwrap();
    assert!(text.contains(&issued.url), "[{n}] {text}");
    let html = mail.part("text/html").unwrap();
    assert!(html.contains(&format!("href=\"{}\"", issued.url)), "[{n}] {html}");
    assert!(html.contains("o&#39;brien&amp;co@acme.test") && !html.contains("o'brien&co"), "[{n}] escaped: {html}");
    // The emailed link opens.
    hub.accept_user_link(token_of(&issued.url), "viewer-password-1", "10.0.0.1", None).await.unwrap();

    let reset = hub.reset_link(Actor::User(&root), &issued.user.id).await.unwrap();
    assert_eq!(reset.emailed_to.as_deref(), Some(email), "[{n}]");
    let mails = smtp.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2, "[{n}]");
    assert_eq!(mails[1].header("Subject"), Some("Reset your Integration Hub password"), "[{n}]");
    assert!(mails[1].part("text/plain").unwrap().contains(&reset.url), "[{n}]");
}

backend_tests!(a_failed_send_is_reported_and_the_link_still_opens);
async fn a_failed_send_is_reported_and_the_link_still_opens(b: Backend) {
    let n = b.name;
    // A port nobody listens on (taken and released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hub = hub_with_smtp(&b, format!("smtp://127.0.0.1:{port}")).await;
    let root = hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let invite = NewInvite { email: "new@acme.test".into(), role: Role::Tenant, tenant_id: Some(acme.id.clone()) };
    let issued = hub.invite_user(Actor::User(&root), invite).await.unwrap();
    assert!(issued.emailed_to.is_none(), "[{n}]");
    let error = issued.email_error.clone().unwrap_or_default();
    assert!(error.contains("Emailing the link failed") && error.contains("could not be reached"), "[{n}] {error}");
    assert!(!error.contains(&port.to_string()), "[{n}] the mail server's address is not shown: {error}");
    hub.accept_user_link(token_of(&issued.url), "manager-password-1", "10.0.0.1", None).await.unwrap();
}

backend_tests!(without_smtp_nothing_is_emailed);
async fn without_smtp_nothing_is_emailed(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let root = hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let invite = NewInvite { email: "admin2@hub.test".into(), role: Role::Admin, tenant_id: None };
    let issued = hub.invite_user(Actor::User(&root), invite).await.unwrap();
    assert!(issued.emailed_to.is_none() && issued.email_error.is_none(), "[{n}] {issued:?}");
}
