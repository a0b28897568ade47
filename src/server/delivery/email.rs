//! Email destinations: one message per recipient over the hub's SMTP server (`HUB_SMTP_URL`), HTML and plain
//! text, with a one-click unsubscribe link per recipient (RFC 8058; [`crate::server::service::unsubscribe`]).
//!
//! An attempt sends the event's message to every recipient of the endpoint and records it readably: what each
//! recipient was sent (subject and text part, not the MIME), and the mail server's reply to each. The replies are
//! read by SMTP's own rules: 2xx delivered, 4xx try again later (the attempt is retried on the endpoint's
//! schedule), 5xx never (dead-lettered at once, [`Rule::Permanent`]).

use super::message;
use super::sender::{failed, new_attempt, Message, Rule, Sent};
use crate::model::destination::{platform_limits, truncate_chars};
use crate::model::{DeliveryAttempt, ErrorKind, RenderedMessage, Webhook};
use crate::server::auth::unsubscribe_link::{self, LinkKey};
use crate::server::html::escape;
use futures::StreamExt;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};
use std::time::{Duration, Instant};

/// How long the mail server may take over any one step (connecting, each command, the message). Bounded per
/// step by the transport rather than per attempt from outside: an attempt cut off mid-transaction would hand
/// the pool a connection in an unknown state.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Recipients of one attempt sent at once (each over its own pooled connection).
const RECIPIENTS_AT_ONCE: usize = 4;
/// Connections kept open to the mail server; many servers refuse more than a few from one client.
const MAX_CONNECTIONS: u32 = 8;

/// The hub's connection to its SMTP server, and what every message is sent as.
pub struct Mailer {
    /// The From mailbox as configured (`HUB_SMTP_FROM`).
    pub from: String,
    sender: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Message-IDs are made in the From address's domain.
    id_domain: String,
    /// The hub's public address, which unsubscribe links point at.
    base_url: url::Url,
    links: LinkKey,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the transport: its connection details hold the SMTP password.
        f.debug_struct("Mailer").field("from", &self.from).finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `HUB_SMTP_URL`/`HUB_SMTP_FROM` describe, or None when SMTP is not configured. An error is a
    /// configuration the hub cannot start with; it never shows the URL's password.
    pub fn from_config(
        config: &crate::server::config::Config,
        master_key: &crate::server::auth::crypto::MasterKey,
    ) -> Result<Option<Mailer>, String> {
        let Some(raw) = config.serve.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        // The parse error never repeats the input (which may hold a password); the redacted form is shown after.
        let url = url::Url::parse(raw).map_err(|e| format!("HUB_SMTP_URL is not a valid URL: {e}"))?;
        let shown = crate::server::config::redact_url(raw);
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err(format!(
                "HUB_SMTP_URL {shown} must start with smtps:// (TLS), or smtp:// (with ?tls=required for STARTTLS)"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("HUB_SMTP_URL {shown} names no mail server"));
        }
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        if !matches!(tls.as_deref(), None | Some("required" | "opportunistic")) {
            return Err(format!("HUB_SMTP_URL {shown}: tls must be `required` or `opportunistic`"));
        }
        let from = config.serve.smtp_from.as_deref().map(str::trim).filter(|f| !f.is_empty()).ok_or(
            "HUB_SMTP_FROM is required with HUB_SMTP_URL: the address every email comes from, e.g. \
             `Integration Hub <hub@example.com>`",
        )?;
        let sender: Mailbox = from.parse().map_err(|e| {
            format!("HUB_SMTP_FROM {from:?} is not a mailbox ({e}); e.g. `Integration Hub <hub@example.com>`")
        })?;
        let pool = PoolConfig::new()
            .max_size(u32::try_from(config.serve.worker_concurrency).unwrap_or(1).clamp(1, MAX_CONNECTIONS));
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(raw)
            .map_err(|e| format!("HUB_SMTP_URL {shown}: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(pool)
            .build();
        Ok(Some(Mailer {
            from: from.to_string(),
            id_domain: sender.email.domain().to_string(),
            sender,
            transport,
            base_url: config.base_url.clone(),
            links: LinkKey::new(master_key),
        }))
    }

    /// Sends this event's message to each of the endpoint's recipients, one message each with its own
    /// unsubscribe link. A retry sends to every recipient again, those already served included, with the same
    /// Message-IDs, so mail clients can tell it is the same mail.
    pub async fn send(&self, hook: &Webhook, msg: &Message<'_>, attempt_no: u32) -> Sent {
        let started = Instant::now();
        let attempt = new_attempt(attempt_no);
        let rendered = match message::render_stored(hook.message.as_ref(), msg.envelope_json) {
            Ok(m) => m,
            Err(e) => return failed(attempt, started, ErrorKind::Template, e),
        };
        if hook.recipients.is_empty() {
            let reason = "the endpoint has no recipients".to_string();
            let mut sent = failed(attempt, started, ErrorKind::Other, reason.clone());
            sent.rule = Some(Rule::Permanent(reason));
            return sent;
        }
        // The sends are made first and then driven a few at a time: a stream's `map` closure returning futures
        // that borrow its argument is not provably `Send`, which the worker's spawned task needs.
        let sends: Vec<_> = hook.recipients.iter().map(|r| self.send_one(hook, msg.id, &rendered, r)).collect();
        let outcomes: Vec<Outcome> = futures::stream::iter(sends).buffered(RECIPIENTS_AT_ONCE).collect().await;
        record(attempt, started, &self.from, outcomes)
    }

    /// One recipient's message, sent.
    async fn send_one(&self, hook: &Webhook, event_id: &str, m: &RenderedMessage, recipient: &str) -> Outcome {
        let url = unsubscribe_link::link(&self.base_url, &self.links.token(&hook.id, recipient));
        let parts = parts(m, &url);
        let message_id = message_id(&hook.id, event_id, recipient, &self.id_domain);
        let mut out = Outcome {
            recipient: recipient.to_string(),
            subject: parts.subject.clone(),
            text: parts.text.clone(),
            message_id: message_id.clone(),
            result: Ok(Reply { code: 0, text: String::new() }),
        };
        let Ok(address) = recipient.parse::<lettre::Address>() else {
            out.result = Err(Failure::Invalid(format!("{recipient} is not an email address")));
            return out;
        };
        let header = |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
        let built = lettre::Message::builder()
            .from(self.sender.clone())
            .to(Mailbox::new(None, address))
            .subject(parts.subject)
            .message_id(Some(message_id))
            // RFC 2369 and RFC 8058: mail clients show an unsubscribe button, and may POST to the link at once.
            .raw_header(header("List-Unsubscribe", format!("<{url}>")))
            .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
            // RFC 3834: no vacation replies or other automatic answers to a notification.
            .raw_header(header("Auto-Submitted", "auto-generated".into()))
            .multipart(MultiPart::alternative_plain_html(parts.text, parts.html));
        let email = match built {
            Ok(e) => e,
            Err(e) => {
                out.result = Err(Failure::Invalid(format!("the message to {recipient} could not be built: {e}")));
                return out;
            }
        };
        out.result = match self.transport.send(email).await {
            Ok(reply) => Ok(Reply { code: code_of(reply.code()), text: reply.message().collect::<Vec<_>>().join(" ") }),
            Err(e) => Err(failure(hook, recipient, &e)),
        };
        out
    }
}

impl Mailer {
    /// Sends one message of the hub's own (an invite or reset link) to `to`, plain text and HTML; the error says
    /// why it was not taken, without the server's address or credentials.
    pub async fn send_notice(&self, to: &str, subject: &str, text: String, html: String) -> Result<(), String> {
        let address = to.parse::<lettre::Address>().map_err(|_| format!("{to} is not an email address"))?;
        let email = lettre::Message::builder()
            .from(self.sender.clone())
            .to(Mailbox::new(None, address))
            .subject(subject)
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("the message could not be built: {e}"))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_timeout() => {
                Err(format!("the mail server did not answer within {} s", SMTP_TIMEOUT.as_secs()))
            }
            Err(e) => match e.status() {
                Some(code) => Err(format!("the mail server refused it ({})", code_of(code))),
                None => Err("the mail server could not be reached".to_string()),
            },
        }
    }
}

/// What one recipient's send came to.
struct Outcome {
    recipient: String,
    subject: String,
    text: String,
    message_id: String,
    result: Result<Reply, Failure>,
}

/// The mail server's reply to a message: its code and text.
struct Reply {
    code: u16,
    text: String,
}

enum Failure {
    /// The server answered no: 4xx (try again later) or 5xx (never).
    Refused { reply: Reply, permanent: bool },
    /// The hub's credentials were refused: the operator's to fix, so the delivery waits rather than dying.
    SignIn(Reply),
    /// No answer: the connection failed, broke, or timed out (said without the hub's network details).
    Network { kind: ErrorKind, message: String },
    /// The message could not be made (a stored address that is not one).
    Invalid(String),
}

/// SMTP reply codes of a refused sign-in (RFC 4954): never about the recipient.
const SIGN_IN_CODES: [u16; 4] = [530, 534, 535, 538];

fn code_of(code: lettre::transport::smtp::response::Code) -> u16 {
    code.to_string().parse().unwrap_or(0)
}

/// Reads a failed send: a reply is kept as the server said it; anything else becomes one fixed sentence per kind
/// of failure (the detail, about the hub's own network, goes to the debug log).
fn failure(hook: &Webhook, recipient: &str, e: &lettre::transport::smtp::Error) -> Failure {
    use std::error::Error as _;
    if let Some(code) = e.status() {
        let reply = Reply { code: code_of(code), text: e.source().map(|s| s.to_string()).unwrap_or_default() };
        if SIGN_IN_CODES.contains(&reply.code) {
            return Failure::SignIn(reply);
        }
        return Failure::Refused { reply, permanent: e.is_permanent() };
    }
    tracing::debug!(webhook = %hook.id, recipient, error = %e, "sending an email failed");
    let io_kind = {
        let mut src = e.source();
        let mut found = None;
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                found = Some(io.kind());
                break;
            }
            src = s.source();
        }
        found
    };
    use std::io::ErrorKind as Io;
    let (kind, message) = if e.is_timeout() || io_kind == Some(Io::TimedOut) {
        (ErrorKind::Timeout, format!("the mail server did not answer within {} s", SMTP_TIMEOUT.as_secs()))
    } else if e.is_tls() {
        (ErrorKind::Tls, "the TLS handshake with the mail server failed".to_string())
    } else if io_kind == Some(Io::ConnectionRefused) {
        (ErrorKind::Connect, "the mail server refused the connection".to_string())
    } else if matches!(io_kind, Some(Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof))
    {
        (ErrorKind::Reset, "the connection to the mail server was closed before it answered".to_string())
    } else if e.is_response() {
        (ErrorKind::Other, "the mail server's answer could not be read".to_string())
    } else if e.is_client() {
        (ErrorKind::Other, "the message could not be handed to the mail server".to_string())
    } else {
        (ErrorKind::Connect, "could not connect to the mail server".to_string())
    };
    Failure::Network { kind, message }
}

/// The attempt as recorded: each recipient's message and reply, and what they come to together. Any recipient
/// that may yet be served (4xx, no answer) makes the attempt one to retry; otherwise one refused for good (5xx)
/// ends the delivery; otherwise every recipient has it.
fn record(mut attempt: DeliveryAttempt, started: Instant, from: &str, outcomes: Vec<Outcome>) -> Sent {
    let subject = outcomes.first().map(|o| o.subject.clone()).unwrap_or_default();
    attempt.request_headers = vec![("from".into(), from.to_string()), ("subject".into(), subject)];
    let mut bodies = Vec::new();
    let mut replies = Vec::new();
    let (mut retry, mut permanent, mut network) = (Vec::new(), Vec::new(), None);
    let (mut retry_code, mut permanent_code, mut ok_code) = (None, None, None);
    for o in &outcomes {
        attempt.request_headers.push(("to".into(), o.recipient.clone()));
        attempt.request_headers.push(("message-id".into(), o.message_id.clone()));
        bodies.push(format!("To: {}\nSubject: {}\n\n{}", o.recipient, o.subject, o.text));
        let r = &o.recipient;
        match &o.result {
            Ok(reply) => {
                ok_code = Some(reply.code);
                replies.push(format!("{r}: {} {}", reply.code, reply.text));
            }
            Err(Failure::Refused { reply, permanent: true }) => {
                permanent_code = permanent_code.or(Some(reply.code));
                permanent.push(format!("the mail server refused {r}: {} {}", reply.code, reply.text));
                replies.push(format!("{r}: {} {}", reply.code, reply.text));
            }
            Err(Failure::Refused { reply, permanent: false }) => {
                retry_code = retry_code.or(Some(reply.code));
                retry.push(format!("the mail server deferred {r}: {} {}", reply.code, reply.text));
                replies.push(format!("{r}: {} {}", reply.code, reply.text));
            }
            Err(Failure::SignIn(reply)) => {
                retry_code = retry_code.or(Some(reply.code));
                retry.push(format!("the mail server refused the hub's sign-in: {} {}", reply.code, reply.text));
                replies.push(format!("{r}: {} {}", reply.code, reply.text));
            }
            Err(Failure::Network { kind, message }) => {
                network = network.or(Some(*kind));
                retry.push(format!("{r}: {message}"));
                replies.push(format!("{r}: {message}"));
            }
            Err(Failure::Invalid(message)) => {
                permanent.push(message.clone());
                replies.push(format!("{r}: {message}"));
            }
        }
    }
    attempt.request_body = bodies.join("\n\n----------\n\n");
    attempt.response_body = Some(replies.join("\n").replace('\0', "\u{FFFD}"));
    attempt.duration_ms = started.elapsed().as_millis() as u64;
    let mut rule = None;
    if !retry.is_empty() {
        attempt.response_status = retry_code;
        attempt.error_kind = Some(network.unwrap_or(ErrorKind::Status));
        attempt.error = Some(retry.join("; "));
    } else if !permanent.is_empty() {
        let reason = permanent.join("; ");
        attempt.response_status = permanent_code;
        attempt.error_kind = Some(if permanent_code.is_some() { ErrorKind::Status } else { ErrorKind::Other });
        attempt.error = Some(reason.clone());
        rule = Some(Rule::Permanent(reason));
    } else {
        attempt.response_status = ok_code;
    }
    Sent { attempt, retry_after: None, rule }
}

/// The same Message-ID for the same event, endpoint and recipient, however often it is sent: a retry (or a
/// replay) is recognisably the same mail. The endpoint is part of it because two endpoints may send the same
/// event to the same address as two different messages. Hashed, so the address does not show in it.
fn message_id(webhook_id: &str, event_id: &str, recipient: &str, domain: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(webhook_id)
        .chain_update("\n")
        .chain_update(event_id)
        .chain_update("\n")
        .chain_update(recipient.to_ascii_lowercase())
        .finalize();
    format!("<{}@{domain}>", hex::encode(&digest[..16]))
}

/// One email's parts for a rendered message: the subject, the plain-text body and the HTML body, each with
/// the recipient's unsubscribe link (the preview shows these with a placeholder link).
pub struct EmailParts {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Builds the parts of one email from a rendered message.
pub fn parts(m: &RenderedMessage, unsubscribe_url: &str) -> EmailParts {
    EmailParts { subject: subject(&m.title), text: text_part(m, unsubscribe_url), html: html_part(m, unsubscribe_url) }
}

/// One line (a rendered title may hold line breaks or other control characters) within the subject limit.
fn subject(title: &str) -> String {
    let line: String = title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&line, platform_limits::EMAIL_SUBJECT)
}

fn text_part(m: &RenderedMessage, unsubscribe_url: &str) -> String {
    let mut sections = vec![m.title.clone()];
    if !m.text.is_empty() {
        sections.push(m.text.clone());
    }
    if !m.fields.is_empty() {
        sections.push(m.fields.iter().map(|(name, value)| format!("{name}: {value}")).collect::<Vec<_>>().join("\n"));
    }
    if let Some(link) = &m.link {
        sections.push(link.clone());
    }
    // "-- " (with the space) is where mail clients see a signature begin.
    sections.push(format!("-- \n{}\nUnsubscribe: {unsubscribe_url}", m.footer));
    sections.join("\n\n")
}

/// Escaped, with its line breaks kept.
fn escape_lines(s: &str) -> String {
    escape(s).replace("\r\n", "\n").replace('\n', "<br>\n")
}

/// A self-contained layout (inline styles, no images or other outside assets, tables for the mail clients
/// that lay out nothing else): a bar in the event's tone, the title, the text, the fields, a button for the
/// link, and a footer with the unsubscribe link.
fn html_part(m: &RenderedMessage, unsubscribe_url: &str) -> String {
    let tone = format!("#{:06X}", m.tone.rgb());
    let font = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
    let mut body = format!(
        "<h1 style=\"margin:0 0 12px;font-size:20px;line-height:1.3;color:#18181b;\">{}</h1>\n",
        escape_lines(&m.title)
    );
    if !m.text.is_empty() {
        body.push_str(&format!(
            "<p style=\"margin:0 0 16px;font-size:15px;line-height:1.5;color:#27272a;\">{}</p>\n",
            escape_lines(&m.text)
        ));
    }
    if !m.fields.is_empty() {
        body.push_str(
            "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" \
             style=\"border-collapse:collapse;margin:0 0 16px;font-size:14px;line-height:1.4;\">\n",
        );
        for (name, value) in &m.fields {
            body.push_str(&format!(
                "<tr><td style=\"padding:4px 16px 4px 0;color:#71717a;vertical-align:top;white-space:nowrap;\">{}</td>\
                 <td style=\"padding:4px 0;color:#18181b;vertical-align:top;\">{}</td></tr>\n",
                escape(name),
                escape_lines(value)
            ));
        }
        body.push_str("</table>\n");
    }
    if let Some(link) = &m.link {
        body.push_str(&format!(
            "<p style=\"margin:8px 0 0;\"><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;\
             background:{tone};color:#ffffff;text-decoration:none;border-radius:6px;font-size:14px;\
             font-weight:600;\">View details</a></p>\n",
            escape(link)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\n\
         <body style=\"margin:0;padding:0;background:#f4f4f5;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f4f5;\">\
         <tr><td align=\"center\" style=\"padding:24px 12px;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:600px;\
         background:#ffffff;border:1px solid #e4e4e7;border-radius:8px;{font};\">\n\
         <tr><td style=\"height:6px;line-height:6px;font-size:0;background:{tone};border-radius:8px 8px 0 0;\">&nbsp;</td></tr>\n\
         <tr><td style=\"padding:24px;\">\n{body}</td></tr>\n\
         <tr><td style=\"padding:16px 24px;border-top:1px solid #e4e4e7;font-size:12px;line-height:1.5;color:#71717a;\">\
         {footer}<br>\nYou receive this as a recipient of these notifications. \
         <a href=\"{unsubscribe}\" style=\"color:#71717a;text-decoration:underline;\">Unsubscribe</a></td></tr>\n\
         </table>\n</td></tr></table>\n</body></html>\n",
        title = escape(&subject(&m.title)),
        footer = escape(&m.footer),
        unsubscribe = escape(unsubscribe_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tone;

    fn rendered(title: &str, text: &str) -> RenderedMessage {
        RenderedMessage {
            title: title.into(),
            text: text.into(),
            fields: vec![("Status".into(), "open".into()), ("Priority".into(), "<b>high</b>".into())],
            link: Some("https://app.example.com/t/1?a=1&b=2".into()),
            tone: Tone::Bad,
            footer: "ticket.created · evt_1".into(),
            timestamp: "2026-03-14T09:12:44Z".into(),
        }
    }

    #[test]
    fn email_parts_carry_the_message_and_the_unsubscribe_link() {
        let p = parts(&rendered("Ticket created: #1 Printer", "It is\non fire"), "https://hub/unsubscribe/t.s");
        assert_eq!(p.subject, "Ticket created: #1 Printer");
        for part in [&p.text, &p.html] {
            assert!(part.contains("https://hub/unsubscribe/t.s"), "{part}");
            assert!(part.contains("Printer") && part.contains("ticket.created · evt_1"), "{part}");
        }
        assert!(p.text.contains("It is\non fire") && p.text.contains("Status: open"), "{}", p.text);
        assert!(p.html.contains("It is<br>\non fire"), "line breaks kept: {}", p.html);
        assert!(p.html.contains("#DC2626"), "the bad tone's bar: {}", p.html);
        assert!(p.html.contains("href=\"https://app.example.com/t/1?a=1&amp;b=2\""), "{}", p.html);
        assert!(!p.html.contains("src=") && !p.html.contains("<link"), "no outside assets");
    }

    #[test]
    fn email_html_escapes_everything_the_event_supplies() {
        let m = RenderedMessage {
            link: Some("https://x.example/\"><script>alert(1)</script>".into()),
            footer: "<i>f</i>".into(),
            ..rendered("<script>alert('t')</script>", "a & <img src=x onerror=alert(1)>")
        };
        let p = parts(&m, "https://hub/unsubscribe/\"><b>");
        let html = &p.html;
        for raw in ["<script", "<img", "<b>", "<i>"] {
            assert!(!html.contains(raw), "{raw} unescaped in {html}");
        }
        // Attribute values cannot be closed from inside.
        assert!(html.contains("href=\"https://x.example/&quot;&gt;&lt;script&gt;"), "{html}");
        assert!(html.contains("href=\"https://hub/unsubscribe/&quot;&gt;&lt;b&gt;\""), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;"), "{html}");
        assert!(html.contains("a &amp; &lt;img src=x onerror=alert(1)&gt;"), "{html}");
        assert!(html.contains("&lt;b&gt;high&lt;/b&gt;"), "field values too: {html}");
        // The text part is plain text: shown as it is.
        assert!(p.text.contains("<script>alert('t')</script>"), "{}", p.text);
    }

    #[test]
    fn email_subject_is_one_line_within_the_limit() {
        assert_eq!(subject("a\r\nb\tc\u{0}d  e"), "a b c d e");
        let long = subject(&"é".repeat(500));
        assert_eq!(long.chars().count(), platform_limits::EMAIL_SUBJECT);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn email_parts_leave_out_what_the_message_lacks() {
        let m = RenderedMessage { title: "T".into(), footer: "x · evt".into(), ..Default::default() };
        let p = parts(&m, "https://hub/u");
        assert_eq!(p.text, "T\n\n-- \nx · evt\nUnsubscribe: https://hub/u");
        assert!(!p.html.contains("View details") && !p.html.contains("border-collapse"), "no button, no fields");
    }

    #[test]
    fn email_message_ids_are_stable_per_event_endpoint_and_recipient() {
        let id = message_id("wh_1", "evt_1", "a@example.com", "example.com");
        assert!(id.starts_with('<') && id.ends_with("@example.com>") && !id.contains("a@example.com"), "{id}");
        assert_eq!(id, message_id("wh_1", "evt_1", "A@Example.com", "example.com"));
        assert_ne!(id, message_id("wh_1", "evt_2", "a@example.com", "example.com"));
        assert_ne!(id, message_id("wh_1", "evt_1", "b@example.com", "example.com"));
        assert_ne!(id, message_id("wh_2", "evt_1", "a@example.com", "example.com"));
    }

    fn config(args: &[&'static str]) -> crate::server::config::Config {
        use crate::server::config::{CommonArgs, Config, LogFormat, ServeArgs};
        let common = CommonArgs {
            database_url: "sqlite://data/hub.db".into(),
            master_key: None,
            log: "warn".into(),
            log_format: LogFormat::Text,
        };
        Config::from_args(&common, ServeArgs::parse_args(args.iter().copied()).unwrap()).unwrap()
    }

    fn mailer(args: &[&'static str]) -> Result<Option<Mailer>, String> {
        let key = crate::server::auth::crypto::MasterKey::new(&[7; 32]);
        Mailer::from_config(&config(args), &key)
    }

    /// The transport's pool starts a task: a runtime is needed.
    #[tokio::test]
    async fn email_mailer_is_built_only_from_a_valid_url_and_sender() {
        assert!(mailer(&[]).unwrap().is_none(), "no SMTP: no mailer");
        let m = mailer(&["--smtp-url", "smtp://127.0.0.1:2525", "--smtp-from", "Hub <hub@example.com>"]);
        let m = m.unwrap().expect("a mailer");
        assert_eq!((m.from.as_str(), m.id_domain.as_str()), ("Hub <hub@example.com>", "example.com"));
        assert!(!format!("{m:?}").contains("2525"), "its Debug shows no connection details");
        for url in ["smtps://u:hunter2@mail.example.com", "smtp://u:hunter2@mail.example.com:587?tls=required"] {
            assert!(mailer(&["--smtp-url", url, "--smtp-from", "hub@example.com"]).unwrap().is_some(), "{url}");
        }
        let refused = |args: &[&'static str], says: &str| {
            let e = mailer(args).expect_err("refused");
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("hunter2"), "the password shows: {e}");
        };
        let from = ["--smtp-from", "hub@example.com"];
        refused(&["--smtp-url", "not a url", from[0], from[1]], "HUB_SMTP_URL is not a valid URL");
        refused(&["--smtp-url", "http://u:hunter2@mail.example.com", from[0], from[1]], "must start with smtps://");
        refused(&["--smtp-url", "smtp://u:hunter2@mail.example.com?tls=maybe", from[0], from[1]], "tls must be");
        refused(&["--smtp-url", "smtp://u:hunter2@mail.example.com"], "HUB_SMTP_FROM is required");
        refused(&["--smtp-url", "smtp://u:hunter2@mail.example.com", "--smtp-from", "hub"], "is not a mailbox");
        refused(
            &["--smtp-url", "smtp://u:hunter2@mail.example.com", "--smtp-from", "a@b.c, d@e.f"],
            "is not a mailbox",
        );
    }

    fn outcome(recipient: &str, result: Result<Reply, Failure>) -> Outcome {
        Outcome {
            recipient: recipient.into(),
            subject: "S".into(),
            text: format!("text for {recipient}"),
            message_id: format!("<{recipient}>"),
            result,
        }
    }

    fn ok() -> Result<Reply, Failure> {
        Ok(Reply { code: 250, text: "2.0.0 Ok: queued as 1".into() })
    }

    fn refused(code: u16, text: &str, permanent: bool) -> Result<Reply, Failure> {
        Err(Failure::Refused { reply: Reply { code, text: text.into() }, permanent })
    }

    #[test]
    fn email_attempts_record_each_recipient_readably() {
        let sent = record(
            new_attempt(1),
            Instant::now(),
            "Hub <hub@x.com>",
            vec![outcome("a@x.com", ok()), outcome("b@x.com", ok())],
        );
        let a = &sent.attempt;
        assert!(a.succeeded() && sent.rule.is_none(), "{a:?}");
        assert_eq!(a.response_status, Some(250));
        assert_eq!(
            a.response_body.as_deref(),
            Some("a@x.com: 250 2.0.0 Ok: queued as 1\nb@x.com: 250 2.0.0 Ok: queued as 1")
        );
        assert!(a.request_body.contains("To: a@x.com\nSubject: S\n\ntext for a@x.com"), "{}", a.request_body);
        assert!(a.request_body.contains("To: b@x.com"), "{}", a.request_body);
        let names: Vec<&str> = a.request_headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["from", "subject", "to", "message-id", "to", "message-id"]);
    }

    #[test]
    fn email_replies_decide_retry_or_dead_letter() {
        let judge = |outcomes| record(new_attempt(1), Instant::now(), "h@x.com", outcomes);
        // A 5xx alone ends the delivery, with the server's words.
        let sent = judge(vec![outcome("a@x.com", ok()), outcome("r@x.com", refused(550, "5.1.1 No such user", true))]);
        assert_eq!(sent.attempt.response_status, Some(550));
        assert_eq!(sent.rule, Some(Rule::Permanent("the mail server refused r@x.com: 550 5.1.1 No such user".into())));
        assert!(!sent.attempt.succeeded());
        // A 4xx anywhere makes it one to retry, even beside a 5xx.
        let sent = judge(vec![
            outcome("t@x.com", refused(451, "4.3.0 Try again later", false)),
            outcome("r@x.com", refused(550, "5.1.1 No such user", true)),
        ]);
        assert_eq!((sent.attempt.response_status, sent.rule), (Some(451), None));
        assert_eq!(sent.attempt.error_kind, Some(ErrorKind::Status));
        assert!(sent.attempt.error.as_deref().unwrap().contains("deferred t@x.com: 451 4.3.0 Try again later"));
        // No answer at all: retried, said plainly.
        let net =
            Err(Failure::Network { kind: ErrorKind::Connect, message: "could not connect to the mail server".into() });
        let sent = judge(vec![outcome("a@x.com", net)]);
        assert_eq!(
            (sent.attempt.response_status, sent.attempt.error_kind, sent.rule),
            (None, Some(ErrorKind::Connect), None)
        );
        // A refused sign-in is the operator's to fix: retried, not dead-lettered.
        let sent = judge(vec![outcome("a@x.com", Err(Failure::SignIn(Reply { code: 535, text: "5.7.8 bad".into() })))]);
        assert_eq!((sent.attempt.response_status, sent.rule), (Some(535), None));
    }
}
