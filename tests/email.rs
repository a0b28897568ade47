//! Email destinations against a real SMTP server (aiosmtpd, `tests/smtp/server.py`), on every backend: one
//! message per recipient with a text and an HTML part and the RFC 8058 unsubscribe headers, payload text escaped
//! in the HTML, the unsubscribe link removing exactly its recipient (and the last one switching the endpoint
//! off), SMTP replies read by their class (4xx retried with the same Message-ID, 5xx dead-lettered at once), and
//! the endpoint checks (SMTP configured, valid recipients).

mod common;

use common::fixtures::{add_hook, poll, settle};
use common::smtp::{Mail, SmtpServer};
use common::{Backend, Worker};
use integration_hub::model::{
    CreateWebhook, DeliveryStatus, DestinationKind, MessageField, MessageTemplate, PublishEvent, Webhook,
};
use integration_hub::server::service::{Actor, AppState};
use serde_json::json;
use std::time::Duration;

const FROM: &str = "Integration Hub <hub@example.com>";
/// How long the worker may keep using an endpoint it read (its cache, `delivery::attempt`): an unsubscribe is
/// certain to be seen by sends that start after this.
const WORKER_CACHE: Duration = Duration::from_millis(2_100);

/// A hub sending through `smtp`, and tenant Acme.
async fn hub_with_smtp(b: &Backend, smtp: &SmtpServer) -> (AppState, String) {
    let url = smtp.url();
    let hub = common::hub_configured(b, |c| {
        c.serve.smtp_url = Some(url);
        c.serve.smtp_from = Some(FROM.into());
    })
    .await;
    let tenant = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    (hub, tenant)
}

/// An email endpoint of `tenant` for every `ticket.*` event, retried `retries` times a (scaled) second apart.
fn email_hook(tenant: &str, recipients: &[&str], retries: u32) -> CreateWebhook {
    CreateWebhook {
        name: Some("Support alerts".into()),
        kind: Some(DestinationKind::Email),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        message: Some(MessageTemplate {
            title: "Ticket {{ ticket.id }}: {{ ticket.subject }}".into(),
            text: "{{ ticket.subject }}\nneeds an answer".into(),
            fields: vec![MessageField { name: "Priority".into(), value: "{{ ticket.priority }}".into() }],
            link: "https://support.example.com/t/{{ ticket.id }}".into(),
        }),
        events: vec!["ticket.*".into()],
        max_retries: Some(retries),
        retry_delay_seconds: Some(1),
        tenant_id: Some(tenant.to_string()),
        ..Default::default()
    }
}

/// Publishes a `ticket.created` of ticket `id` with this subject; returns the event id.
async fn publish(hub: &AppState, tenant: &str, id: &str, subject: &str) -> String {
    let data = json!({"id": id, "ticket": {"id": id, "subject": subject, "status": "open", "priority": "high"}});
    let event = PublishEvent {
        event_type: "ticket.created".into(),
        data,
        tenant_id: Some(tenant.to_string()),
        ..Default::default()
    };
    hub.publish(Actor::System, event).await.unwrap().id
}

/// The unsubscribe link's path (`/unsubscribe/<token>`) in a message's `List-Unsubscribe` header.
fn unsubscribe_path(m: &Mail) -> String {
    let header = m.header("List-Unsubscribe").expect("List-Unsubscribe");
    let url = header.trim().strip_prefix('<').and_then(|h| h.strip_suffix('>')).expect("<url>");
    let at = url.find("/unsubscribe/").expect("an unsubscribe path");
    url[at..].to_string()
}

fn for_recipient<'a>(mails: &'a [Mail], to: &str) -> Vec<&'a Mail> {
    mails.iter().filter(|m| m.to() == to).collect()
}

backend_tests!(an_email_reaches_each_recipient_with_both_parts_and_unsubscribe_headers);
async fn an_email_reaches_each_recipient_with_both_parts_and_unsubscribe_headers(b: Backend) {
    let n = b.name;
    let smtp = SmtpServer::start();
    let (hub, t) = hub_with_smtp(&b, &smtp).await;
    let hook = add_hook(&hub, email_hook(&t, &["ops@example.com", "lead@example.com"], 0)).await;
    let worker = Worker::start(&hub);
    let event = publish(&hub, &t, "t1", "Printer on fire").await;
    let d = settle(&hub, &event).await;
    assert_eq!((d[0].status, d[0].attempts), (DeliveryStatus::Success, 1), "[{n}] {d:?}");

    let mails = smtp.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2, "[{n}] one message per recipient");
    let mut to: Vec<&str> = mails.iter().map(Mail::to).collect();
    to.sort();
    assert_eq!(to, ["lead@example.com", "ops@example.com"], "[{n}]");
    let mut links = Vec::new();
    for m in &mails {
        let r = m.to();
        assert_eq!(m.mail_from, "hub@example.com", "[{n}]");
        assert_eq!(m.header("From"), Some(FROM), "[{n}]");
        assert_eq!(m.header("To"), Some(r), "[{n}] each message names only its own recipient");
        assert_eq!(m.header("Subject"), Some("Ticket t1: Printer on fire"), "[{n}]");
        assert!(m.header("Content-Type").unwrap().starts_with("multipart/alternative"), "[{n}] {m:?}");
        assert_eq!(m.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"), "[{n}]");
        assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"), "[{n}]");
        assert!(m.header("Message-ID").is_some_and(|id| id.ends_with("@example.com>")), "[{n}] {m:?}");
        let link = m.header("List-Unsubscribe").unwrap().trim_matches(['<', '>']).to_string();
        assert!(link.contains("/unsubscribe/"), "[{n}] {link}");
        let text = m.part("text/plain").expect("a text part");
        let html = m.part("text/html").expect("an HTML part");
        assert!(text.contains("Printer on fire\nneeds an answer") && text.contains("Priority: high"), "[{n}] {text}");
        assert!(html.contains("Printer on fire<br>") && html.contains("https://support.example.com/t/t1"), "[{n}]");
        assert!(text.contains(&link) && html.contains(&link), "[{n}] the unsubscribe link is in both parts");
        links.push(link);
    }
    assert_ne!(links[0], links[1], "[{n}] each recipient has a link of their own");

    // The attempt reads as what was sent and what the server said, not as MIME.
    let attempts = hub.store.attempts_for(&d[0].id).await.unwrap();
    let a = &attempts[0];
    assert_eq!(a.response_status, Some(250), "[{n}]");
    let replies = a.response_body.as_deref().unwrap();
    for r in ["ops@example.com: 250 2.0.0 Ok: queued as", "lead@example.com: 250 2.0.0 Ok: queued as"] {
        assert!(replies.contains(r), "[{n}] {replies}");
    }
    assert!(a.request_body.contains("To: ops@example.com\nSubject: Ticket t1: Printer on fire\n\n"), "[{n}]");
    assert!(!a.request_body.contains("Content-Transfer-Encoding"), "[{n}] not the raw MIME");
    let to_headers = a.request_headers.iter().filter(|(k, _)| k == "to").count();
    assert_eq!(to_headers, 2, "[{n}] {:?}", a.request_headers);
    assert_eq!(hook.kind, DestinationKind::Email);
    worker.stop().await;
}

backend_tests!(payload_text_arrives_escaped_in_the_html_part);
async fn payload_text_arrives_escaped_in_the_html_part(b: Backend) {
    let n = b.name;
    let smtp = SmtpServer::start();
    let (hub, t) = hub_with_smtp(&b, &smtp).await;
    add_hook(&hub, email_hook(&t, &["ops@example.com"], 0)).await;
    let worker = Worker::start(&hub);
    let subject = r#"<script>alert("x")</script> & <img src=x onerror=alert(1)>"#;
    settle(&hub, &publish(&hub, &t, "t2", subject).await).await;
    let mails = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1, "[{n}]");
    let html = mails[0].part("text/html").unwrap();
    assert!(!html.contains("<script") && !html.contains("<img"), "[{n}] markup from the payload: {html}");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img"), "[{n}] {html}");
    // Plain text and the subject are text: shown as they are.
    assert!(mails[0].part("text/plain").unwrap().contains(subject), "[{n}]");
    assert_eq!(mails[0].header("Subject"), Some(format!("Ticket t2: {subject}").as_str()), "[{n}]");
    worker.stop().await;
}

backend_tests!(the_unsubscribe_link_removes_exactly_its_recipient);
async fn the_unsubscribe_link_removes_exactly_its_recipient(b: Backend) {
    let n = b.name;
    let smtp = SmtpServer::start();
    let (hub, t) = hub_with_smtp(&b, &smtp).await;
    let hook = add_hook(&hub, email_hook(&t, &["ops@example.com", "lead@example.com"], 0)).await;
    let worker = Worker::start(&hub);
    let base = common::serve(hub.clone()).await;
    let http = reqwest::Client::new();
    settle(&hub, &publish(&hub, &t, "t1", "first").await).await;
    let mails = smtp.wait_for(2, Duration::from_secs(5)).await;
    let path = unsubscribe_path(for_recipient(&mails, "ops@example.com")[0]);

    // Opening the link changes nothing: it asks.
    let page = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(page.status(), 200, "[{n}]");
    let html = page.text().await.unwrap();
    assert!(html.contains("ops@example.com") && html.contains("Support alerts"), "[{n}] {html}");
    assert!(html.contains("method=\"post\""), "[{n}] a button that POSTs: {html}");
    assert_eq!(recipients(&hub, &hook).await, ["ops@example.com", "lead@example.com"], "[{n}]");

    // A forged link: another recipient's address under this one's signature, or the signature changed.
    let token = path.trim_start_matches("/unsubscribe/");
    let (_, sig) = token.split_once('.').unwrap();
    let lead = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}\nlead@example.com", hook.id))
    };
    let flipped = format!("{}{}", &token[..token.len() - 1], if token.ends_with('A') { 'B' } else { 'A' });
    for forged in [format!("{lead}.{sig}"), flipped] {
        for res in [
            http.get(format!("{base}/unsubscribe/{forged}")).send().await.unwrap(),
            http.post(format!("{base}/unsubscribe/{forged}")).send().await.unwrap(),
        ] {
            assert_eq!(res.status(), 404, "[{n}] {forged}");
            assert!(res.text().await.unwrap().contains("This unsubscribe link is not valid"), "[{n}]");
        }
    }
    assert_eq!(recipients(&hub, &hook).await, ["ops@example.com", "lead@example.com"], "[{n}]");

    // The mail client's one-click POST (RFC 8058) removes that recipient, once.
    let one_click = || {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
    };
    let res = one_click().send().await.unwrap();
    assert_eq!(res.status(), 200, "[{n}]");
    let html = res.text().await.unwrap();
    assert!(html.contains("Unsubscribed") && html.contains("ops@example.com"), "[{n}] {html}");
    assert_eq!(recipients(&hub, &hook).await, ["lead@example.com"], "[{n}]");
    let audit = hub.store.list_audit(Some(&t), 50).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "unsubscribe.recipient_removed").expect("audited");
    assert_eq!(
        (entry.actor.as_str(), entry.target.as_deref(), entry.detail.as_deref()),
        ("system", Some(hook.id.as_str()), Some("ops@example.com")),
        "[{n}]"
    );
    let again = one_click().send().await.unwrap();
    assert_eq!(again.status(), 200, "[{n}]");
    assert!(again.text().await.unwrap().contains("already unsubscribed"), "[{n}]");
    let page = http.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("already unsubscribed") && !page.contains("method=\"post\""), "[{n}] {page}");
    assert_eq!(audit_count(&hub, &t, "unsubscribe.recipient_removed").await, 1, "[{n}] removed once");

    // The next event goes to the other recipient only.
    tokio::time::sleep(WORKER_CACHE).await;
    settle(&hub, &publish(&hub, &t, "t2", "second").await).await;
    let mails = smtp.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 3, "[{n}]");
    assert_eq!(mails[2].to(), "lead@example.com", "[{n}]");
    assert!(mails[2].header("Subject").unwrap().contains("second"), "[{n}]");
    worker.stop().await;
}

backend_tests!(the_last_recipient_leaving_switches_the_endpoint_off);
async fn the_last_recipient_leaving_switches_the_endpoint_off(b: Backend) {
    let n = b.name;
    let smtp = SmtpServer::start();
    let (hub, t) = hub_with_smtp(&b, &smtp).await;
    let hook = add_hook(&hub, email_hook(&t, &["ops@example.com"], 0)).await;
    let worker = Worker::start(&hub);
    let base = common::serve(hub.clone()).await;
    settle(&hub, &publish(&hub, &t, "t1", "first").await).await;
    let mails = smtp.wait_for(1, Duration::from_secs(5)).await;
    // The page's own button posts the hidden one-click field, as a browser would send the form.
    let url = format!("{base}{}", unsubscribe_path(&mails[0]));
    let res = reqwest::Client::new().post(url).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(res.status(), 200, "[{n}]");

    let w = hub.get_webhook(&Actor::System, &hook.id).await.unwrap();
    assert!(w.recipients.is_empty() && !w.is_active, "[{n}] {w:?}");
    assert_eq!(w.disabled_reason.as_deref(), Some("every recipient unsubscribed"), "[{n}]");
    assert_eq!(audit_count(&hub, &t, "webhook.auto_disabled").await, 1, "[{n}]");
    // Routing knows at once: a new event has nowhere to go.
    let event = publish(&hub, &t, "t2", "second").await;
    let deliveries = hub.get_event(Actor::System, &event).await.unwrap().deliveries;
    assert!(deliveries.is_empty(), "[{n}] {deliveries:?}");
    worker.stop().await;
}

backend_tests!(a_deferred_recipient_is_retried_and_a_refused_one_dead_letters);
async fn a_deferred_recipient_is_retried_and_a_refused_one_dead_letters(b: Backend) {
    let n = b.name;
    let smtp = SmtpServer::start();
    let (hub, t) = hub_with_smtp(&b, &smtp).await;
    let deferred = add_hook(&hub, email_hook(&t, &["transient-a@example.com", "b@example.com"], 2)).await;
    let refused = add_hook(&hub, email_hook(&t, &["reject-c@example.com"], 2)).await;
    let worker = Worker::start(&hub);
    let deliveries = settle(&hub, &publish(&hub, &t, "t1", "first").await).await;
    let of = |hook: &Webhook| deliveries.iter().find(|d| d.webhook_id == hook.id).unwrap().clone();

    // 451: tried again on the endpoint's schedule until its retries are spent.
    let d = of(&deferred);
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 3), "[{n}] {d:?}");
    let attempts = hub.store.attempts_for(&d.id).await.unwrap();
    for a in &attempts {
        assert_eq!(a.response_status, Some(451), "[{n}] {a:?}");
        let error = a.error.as_deref().unwrap_or_default();
        assert!(error.contains("transient-a@example.com: 451 4.3.0 Try again later"), "[{n}] {error}");
    }
    // Every attempt resends to the recipient who had it, as the same message.
    let served = smtp.wait_for(3, Duration::from_secs(5)).await;
    let served = for_recipient(&served, "b@example.com");
    assert_eq!(served.len(), 3, "[{n}]");
    let ids: Vec<_> = served.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "[{n}] {ids:?}");

    // 550: dead-lettered after one attempt, with the server's words.
    let d = of(&refused);
    assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Failed, 1, Some(550)), "[{n}] {d:?}");
    let attempts = hub.store.attempts_for(&d.id).await.unwrap();
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("the mail server refused reject-c@example.com: 550 5.1.1 No such user"),
        "[{n}]"
    );
    assert!(smtp.messages().iter().all(|m| m.to() != "reject-c@example.com"), "[{n}]");
    worker.stop().await;
}

backend_tests!(email_endpoints_need_smtp_and_valid_recipients);
async fn email_endpoints_need_smtp_and_valid_recipients(b: Backend) {
    let n = b.name;
    // No SMTP server configured: refused, said on the kind.
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "No mail").await.unwrap().id;
    let e = hub.create_webhook(Actor::System, email_hook(&t, &["ops@example.com"], 0)).await.unwrap_err();
    assert!(e.field_message("kind").is_some_and(|m| m.contains("email is not configured")), "[{n}] {e:?}");
    drop(hub);

    let smtp = SmtpServer::start();
    let (hub, t) = hub_with_smtp(&b, &smtp).await;
    let bad =
        ["not-an-address", "a@example.com, b@example.com", "<c@example.com>", "ops@example.com", "OPS@example.com"];
    let e = hub.create_webhook(Actor::System, email_hook(&t, &bad, 0)).await.unwrap_err();
    let said: Vec<&str> = e.fields.iter().filter(|f| f.field == "recipients").map(|f| f.message.as_str()).collect();
    for (address, why) in [
        ("\"not-an-address\"", "is not an email address"),
        ("\"a@example.com, b@example.com\"", "is not an email address"),
        ("\"<c@example.com>\"", "is not an email address"),
        ("OPS@example.com", "is listed twice"),
    ] {
        assert!(said.iter().any(|m| m.contains(address) && m.contains(why)), "[{n}] {address}: {said:?}");
    }
    let e = hub.create_webhook(Actor::System, email_hook(&t, &[], 0)).await.unwrap_err();
    assert!(e.field_message("recipients").is_some(), "[{n}] {e:?}");
    // And with valid ones it is made.
    add_hook(&hub, email_hook(&t, &["ops@example.com"], 0)).await;
}

async fn recipients(hub: &AppState, hook: &Webhook) -> Vec<String> {
    hub.get_webhook(&Actor::System, &hook.id).await.unwrap().recipients
}

async fn audit_count(hub: &AppState, tenant: &str, action: &str) -> usize {
    let probe = || async { hub.store.list_audit(Some(tenant), 100).await.unwrap() };
    let audit = poll(Duration::from_secs(2), probe, |a| a.iter().any(|e| e.action == action)).await;
    audit.iter().filter(|e| e.action == action).count()
}
