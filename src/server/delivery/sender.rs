//! Sends one attempt: renders the body, signs it, POSTs it through the one pooled client, reads the answer.
//! The client resolves hosts itself and refuses private addresses (SSRF guard), then connects to exactly the
//! addresses it checked, so DNS rebinding cannot slip through. Redirects are not followed.

use super::sign::{legacy_signature, signature_header, SigningSecret};
use super::ssrf::{SsrfError, TargetPolicy};
use super::template::render_template;
use crate::model::{ContentType, DeliveryAttempt, ErrorKind, Webhook};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MAX_RESPONSE_BODY: usize = 64 * 1024;
pub const USER_AGENT: &str = concat!("IntegrationHub/", env!("CARGO_PKG_VERSION"), " (+webhooks)");

#[derive(Debug, thiserror::Error)]
#[error("DNS lookup of {0} failed: {1}")]
struct DnsError(String, std::io::Error);

struct GuardedResolver(TargetPolicy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(DnsError(host.clone(), e)) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            policy
                .check_all(addrs.iter().map(|a| a.ip()))
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

pub fn client(policy: TargetPolicy, max_idle_per_host: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(max_idle_per_host)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .user_agent(USER_AGENT)
        .build()
        .unwrap_or_default()
}

/// What the hub signs with: the current secret and, during a rotation, the previous one.
pub struct Secrets {
    pub current: SigningSecret,
    pub previous: Option<SigningSecret>,
}

/// The answer to one attempt (the worker decides what it means for the delivery).
pub struct Sent {
    pub attempt: DeliveryAttempt,
    pub retry_after: Option<String>,
}

fn classify(e: &reqwest::Error) -> ErrorKind {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.is::<SsrfError>() {
            return ErrorKind::SsrfBlocked;
        }
        if s.is::<DnsError>() {
            return ErrorKind::Dns;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return ErrorKind::Reset;
            }
        }
        src = s.source();
    }
    let text = format!("{e:?}").to_lowercase();
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if text.contains("tls") || text.contains("certificate") {
        ErrorKind::Tls
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if text.contains("connection closed") || text.contains("reset") || text.contains("incomplete message") {
        ErrorKind::Reset
    } else {
        ErrorKind::Other
    }
}

fn error_text(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// What is sent: the event id (the stable `webhook-id`), its type and its envelope as stored.
pub struct Message<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub envelope_json: &'a str,
}

/// Builds, signs and sends one attempt. Never panics; every failure becomes a recorded attempt.
pub async fn send(
    client: &reqwest::Client,
    policy: &TargetPolicy,
    hook: &Webhook,
    secrets: &Secrets,
    msg: &Message<'_>,
    attempt_no: u32,
) -> Sent {
    let (msg_id, envelope_json) = (msg.id, msg.envelope_json);
    let started = Instant::now();
    let now = chrono::Utc::now();
    let ts = now.timestamp();
    let mut attempt = DeliveryAttempt {
        id: crate::server::store::new_attempt_id(),
        delivery_id: String::new(),
        attempt: attempt_no,
        request_headers: Vec::new(),
        request_body: String::new(),
        response_status: None,
        response_headers: Vec::new(),
        response_body: None,
        response_truncated: false,
        duration_ms: 0,
        error_kind: None,
        error: None,
        next_retry_at: None,
        created_at: now.timestamp_millis(),
    };
    let fail = |mut a: DeliveryAttempt, kind: ErrorKind, msg: String| {
        a.error_kind = Some(kind);
        a.error = Some(msg);
        a.duration_ms = started.elapsed().as_millis() as u64;
        Sent { attempt: a, retry_after: None }
    };

    // The body: the envelope, or the endpoint's template rendered from it.
    let json_body = match &hook.template {
        None => envelope_json.to_string(),
        Some(t) => {
            let env: serde_json::Value = serde_json::from_str(envelope_json).unwrap_or_default();
            match render_template(t, &env) {
                Ok(b) => b,
                Err(e) => return fail(attempt, ErrorKind::Template, e),
            }
        }
    };
    let body = match hook.content_type {
        ContentType::Json => json_body,
        ContentType::Form => {
            format!("payload={}", url::form_urlencoded::byte_serialize(json_body.as_bytes()).collect::<String>())
        }
    };
    attempt.request_body = body.clone();

    let mut signers = vec![&secrets.current];
    signers.extend(secrets.previous.as_ref());
    let mut headers: Vec<(String, String)> = vec![
        ("content-type".into(), hook.content_type.as_str().into()),
        ("user-agent".into(), USER_AGENT.into()),
        ("webhook-id".into(), msg_id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        ("webhook-signature".into(), signature_header(&signers, msg_id, ts, body.as_bytes())),
        ("x-webhook-id".into(), msg_id.into()),
        ("x-webhook-event".into(), msg.event_type.into()),
        ("x-webhook-timestamp".into(), now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        ("x-webhook-signature-timestamp".into(), ts.to_string()),
        ("x-webhook-signature".into(), legacy_signature(&secrets.current, ts, body.as_bytes())),
    ];
    headers.extend(hook.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())));

    // The SSRF guard for IP literals (host names are checked by the resolver). Parsed once, sent as parsed.
    let url = match url::Url::parse(&hook.url) {
        Ok(u) => u,
        Err(e) => {
            attempt.request_headers = headers;
            return fail(attempt, ErrorKind::Other, format!("invalid endpoint URL: {e}"));
        }
    };
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(Err(e)) = literal.map(|ip| policy.check(ip)) {
        attempt.request_headers = headers;
        return fail(attempt, ErrorKind::SsrfBlocked, e.to_string());
    }

    let mut req = client.post(url).timeout(Duration::from_millis(u64::from(hook.timeout_ms))).body(body);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    attempt.request_headers = headers;
    let mut res = match req.send().await {
        Ok(r) => r,
        Err(e) => return fail(attempt, classify(&e), error_text(&e)),
    };
    attempt.response_status = Some(res.status().as_u16());
    attempt.response_headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut buf = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(c)) => {
                let room = MAX_RESPONSE_BODY - buf.len();
                if c.len() > room {
                    buf.extend_from_slice(&c[..room]);
                    attempt.response_truncated = true;
                    break;
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => break,
            Err(e) => {
                // The status arrived; a body cut short is recorded but does not change the outcome.
                attempt.error = Some(format!("reading the response body failed: {}", error_text(&e)));
                break;
            }
        }
    }
    // PostgreSQL text cannot hold NUL; both engines store the same replacement character instead.
    attempt.response_body = Some(String::from_utf8_lossy(&buf).replace('\0', "\u{FFFD}"));
    attempt.duration_ms = started.elapsed().as_millis() as u64;
    if !res.status().is_success() {
        attempt.error_kind = Some(ErrorKind::Status);
        attempt.error = Some(format!("endpoint answered {}", res.status()));
    }
    Sent { attempt, retry_after }
}
