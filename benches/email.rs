//! Email throughput (run by `make bench`): events published to an email destination with one recipient, each
//! rendered, built as a text + HTML message with its unsubscribe link, sent over SMTP to a real local server
//! (aiosmtpd, `tests/smtp/server.py`) and recorded, until every message has arrived. The ceiling is lettre
//! sending a plain message to the same server with the same concurrency, in the same run: the local server
//! (one Python process) is what bounds both. Prints Markdown rows.

#[path = "../tests/common/mod.rs"]
mod common;

use common::smtp::SmtpServer;
use integration_hub::model::{CreateWebhook, DestinationKind};
use integration_hub::server::service::{Actor, Hub};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 64;

/// Plain messages from lettre straight to the server for `secs`: the most the server takes.
async fn ceiling(smtp: &SmtpServer, secs: u64) -> f64 {
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url()).unwrap().build();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|i| {
            let t = transport.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let m = Message::builder()
                        .from("bench@example.com".parse().unwrap())
                        .to(format!("ceiling{i}@example.com").parse().unwrap())
                        .subject("ceiling")
                        .body("A plain message.".to_string())
                        .unwrap();
                    n += u64::from(t.send(m).await.is_ok());
                }
                n
            })
        })
        .collect();
    let mut n = 0;
    for t in tasks {
        n += t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let events: usize = std::env::var("EMAILS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    common::run(async move {
        let smtp = SmtpServer::start();
        let raw = ceiling(&smtp, 5).await;
        // The server writes the last of the ceiling's messages a moment after accepting them.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = smtp.count();
        let b = common::sqlite();
        let url = smtp.url();
        let hub = common::hub_configured(&b, |c| {
            c.serve.smtp_url = Some(url);
            c.serve.smtp_from = Some("Integration Hub <hub@example.com>".into());
        })
        .await;
        let t = hub.create_tenant(Actor::System, "Bench").await.unwrap().id;
        let hook = CreateWebhook {
            kind: Some(DestinationKind::Email),
            recipients: vec!["ops@example.com".into()],
            events: vec!["ticket.*".into()],
            tenant_id: Some(t.clone()),
            ..Default::default()
        };
        hub.create_webhook(Actor::System, hook).await.unwrap();
        let worker = common::Worker::start(&hub);
        let start = Instant::now();
        let producers: Vec<_> = (0..CONCURRENCY)
            .map(|p| {
                let (hub, t) = (hub.clone(), t.clone());
                tokio::spawn(async move {
                    for i in (p..events).step_by(CONCURRENCY) {
                        let e = common::fixtures::numbered_ticket_event(&t, i);
                        Hub::publish(&hub, Actor::System, e).await.unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(600);
        while smtp.count() - before < events && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = start.elapsed().as_secs_f64();
        let got = smtp.count() - before;
        worker.stop().await;
        let rate = got as f64 / secs;
        println!("| smtp | raw ceiling: lettre sending plain messages to the local aiosmtpd, {CONCURRENCY} at once | {raw:.0} messages/s |");
        println!(
            "| sqlite | email destination, 1 recipient: {got} of {events} events rendered, sent (text + HTML, unsubscribe link) and received in {secs:.1} s | {rate:.0} emails/s ({:.0}% of the SMTP ceiling) |",
            100.0 * rate / raw
        );
    });
}
