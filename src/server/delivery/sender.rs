//! Sends one attempt: renders the body, signs it, POSTs it through the one pooled client, reads the answer.
//! The client resolves hosts itself and refuses private addresses (SSRF guard), then connects to exactly the
//! addresses it checked, so DNS rebinding cannot slip through. Redirects are not followed. Proxies from the
//! environment are never used (a proxy resolves the target's name itself, out of the guard's sight); an
//! operator's egress proxy is, after the sender has resolved and checked the target's addresses.
//!
//! What an attempt records as its error is one stable sentence per kind of failure: the details (the hub's
//! resolver and connection errors, resolved addresses, OS error numbers) describe the hub's own network, so
//! they are logged at debug level and not shown to tenants.

use super::secrets::Secrets;
use super::sign::{legacy_signature, signature_header};
use super::ssrf::{SsrfError, TargetPolicy};
use super::template::render_template;
use crate::model::webhook::is_reserved_header;
use crate::model::{ContentType, DeliveryAttempt, DestinationKind, ErrorKind, Webhook};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MAX_RESPONSE_BODY: usize = 64 * 1024;
pub const USER_AGENT: &str = concat!("IntegrationHub/", env!("CARGO_PKG_VERSION"), " (+webhooks)");

#[derive(Debug, thiserror::Error)]
#[error("DNS lookup of {0} failed: {1}")]
struct DnsError(String, std::io::Error);

struct GuardedResolver {
    policy: TargetPolicy,
    /// The egress proxy's host: the operator's choice, so the one name resolved without the guard. (With a proxy
    /// every connection goes to it; targets are checked by [`send`] instead.)
    proxy_host: Option<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let trusted = self.proxy_host.as_deref() == Some(name.as_str());
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(DnsError(host.clone(), e)) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            if !trusted {
                policy
                    .check_all(addrs.iter().map(|a| a.ip()))
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The client every delivery and test-fire is sent with. An error is a configuration the hub cannot start with
/// (there is no unguarded fallback).
pub fn client(policy: TargetPolicy, max_idle_per_host: usize) -> Result<reqwest::Client, String> {
    let proxy_host = policy.egress_proxy().and_then(|u| u.host_str()).map(str::to_string);
    // `no_proxy` first: HTTP_PROXY, HTTPS_PROXY and ALL_PROXY would otherwise carry every request, target name
    // and all, to a proxy, and the guarded resolver would never see the target.
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some(proxy) = policy.egress_proxy() {
        let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| format!("HUB_EGRESS_PROXY: {e}"))?;
        builder = builder.proxy(proxy);
    }
    builder
        .dns_resolver(Arc::new(GuardedResolver { policy, proxy_host }))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(max_idle_per_host)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client deliveries are sent with: {e}"))
}

/// The answer to one attempt (the worker decides what it means for the delivery).
pub struct Sent {
    pub attempt: DeliveryAttempt,
    /// A "slow down" answer's wait: `Retry-After`, or a platform's own hint (Discord's `retry_after`).
    pub retry_after: Option<String>,
    /// What a platform's answer means beyond its status code.
    pub rule: Option<Rule>,
}

/// A platform's answer read by its documented rules ([`super::chat`], [`super::email`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Sending again cannot succeed (`invalid_payload`, SMTP 5xx): dead-letter now, with this reason.
    Permanent(String),
    /// The destination no longer exists (Slack `channel_is_archived`, Discord's unknown webhook): dead-letter
    /// and switch the endpoint off, with this reason.
    Gone(String),
    /// Delivered, but the platform's budget is spent: send nothing more to this endpoint for this long.
    Hold(Duration),
}

/// What an attempt is sent through: the guarded HTTP client and the SSRF policy it enforces, the mailer
/// when SMTP is configured, and what a connected app's actions need (the worker's only: see [`send`]).
#[derive(Clone, Copy)]
pub struct Outbound<'a> {
    pub client: &'a reqwest::Client,
    pub policy: &'a TargetPolicy,
    pub mailer: Option<&'a super::email::Mailer>,
    pub apps: Option<&'a crate::server::apps::actions::AppsContext>,
}

/// An attempt about to be made, numbered, with nothing recorded yet.
pub fn new_attempt(attempt_no: u32) -> DeliveryAttempt {
    DeliveryAttempt {
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
        created_at: chrono::Utc::now().timestamp_millis(),
    }
}

/// An attempt that failed before or while sending.
pub fn failed(mut attempt: DeliveryAttempt, started: Instant, kind: ErrorKind, msg: String) -> Sent {
    attempt.error_kind = Some(kind);
    attempt.error = Some(msg);
    attempt.duration_ms = started.elapsed().as_millis() as u64;
    Sent { attempt, retry_after: None, rule: None }
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

fn refused(e: &reqwest::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            return true;
        }
        src = s.source();
    }
    false
}

/// What the tenant is told: fixed wording per kind, nothing of the hub's network.
fn tenant_message(kind: ErrorKind, e: Option<&reqwest::Error>, timeout_ms: u32) -> String {
    match kind {
        ErrorKind::Timeout => format!("timed out after {timeout_ms} ms"),
        ErrorKind::Connect if e.is_some_and(refused) => "connection refused".into(),
        ErrorKind::Connect => "could not connect to the endpoint".into(),
        ErrorKind::Dns => "the endpoint's host name could not be resolved".into(),
        ErrorKind::Tls => "TLS handshake failed".into(),
        ErrorKind::Reset => "the connection was closed before the answer was complete".into(),
        ErrorKind::SsrfBlocked => "target address is not allowed".into(),
        ErrorKind::Status | ErrorKind::Template | ErrorKind::Other => "the request could not be sent".into(),
    }
}

/// The tenant's message for a request error; the detail goes to the debug log.
fn request_failure(hook: &Webhook, e: &reqwest::Error) -> (ErrorKind, String) {
    let kind = classify(e);
    tracing::debug!(webhook = %hook.id, kind = kind.as_str(), error = %error_text(e), "delivery attempt failed");
    (kind, tenant_message(kind, Some(e), hook.timeout_ms))
}

/// What is sent: the event id (the stable `webhook-id`), its type and its envelope as stored, and the delivery
/// it is an attempt of (None for a test-fire).
pub struct Message<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub envelope_json: &'a str,
    pub delivery_id: Option<&'a str>,
}

/// Sends one attempt to wherever the endpoint's kind says. Never panics; every failure becomes a recorded attempt.
pub async fn send(out: Outbound<'_>, hook: &Webhook, secrets: &Secrets, msg: &Message<'_>, attempt_no: u32) -> Sent {
    // The other kinds' futures are boxed: each delivery is a spawned task holding this future, and a plain
    // webhook's task should not carry the size of an SMTP exchange.
    match hook.kind {
        DestinationKind::Webhook => send_webhook(out, hook, secrets, msg, attempt_no).await,
        DestinationKind::Slack | DestinationKind::Discord | DestinationKind::Teams => {
            Box::pin(super::chat::send(out, hook, msg, attempt_no)).await
        }
        DestinationKind::Email => match out.mailer {
            Some(mailer) => Box::pin(mailer.send(hook, msg, attempt_no)).await,
            None => failed(
                new_attempt(attempt_no),
                Instant::now(),
                ErrorKind::Other,
                "email is not configured on this hub (HUB_SMTP_URL)".into(),
            ),
        },
        DestinationKind::App => match out.apps {
            Some(apps) => Box::pin(crate::server::apps::actions::send(out, apps, hook, msg, attempt_no)).await,
            // A test-fire: a connected app's actions change real records at the provider, so only the worker
            // sends them, for real events.
            None => failed(
                new_attempt(attempt_no),
                Instant::now(),
                ErrorKind::Other,
                "a connected app's actions are sent for real events only (Sync now sends past ones)".into(),
            ),
        },
    }
}

/// A signed webhook: the envelope or the endpoint's body template, Standard Webhooks headers, custom headers.
async fn send_webhook(
    out: Outbound<'_>,
    hook: &Webhook,
    secrets: &Secrets,
    msg: &Message<'_>,
    attempt_no: u32,
) -> Sent {
    let (msg_id, envelope_json) = (msg.id, msg.envelope_json);
    let started = Instant::now();
    let now = chrono::Utc::now();
    let ts = now.timestamp();
    let attempt = new_attempt(attempt_no);

    // The body: the envelope, or the endpoint's template rendered from it.
    let json_body = match &hook.template {
        None => envelope_json.to_string(),
        Some(t) => {
            let env: serde_json::Value = serde_json::from_str(envelope_json).unwrap_or_default();
            match render_template(t, &env) {
                Ok(b) => b,
                Err(e) => return failed(attempt, started, ErrorKind::Template, e),
            }
        }
    };
    let body = match hook.content_type {
        ContentType::Json => json_body,
        ContentType::Form => {
            format!("payload={}", url::form_urlencoded::byte_serialize(json_body.as_bytes()).collect::<String>())
        }
    };

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
    // Endpoints saved before a name was reserved may still carry it: it is not sent.
    headers.extend(
        hook.headers.iter().filter(|(k, _)| !is_reserved_header(k)).map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
    );
    post(out, hook, attempt, started, headers, body).await
}

/// POSTs `body` with `headers` to the endpoint's URL through the guarded client and records the answer (its
/// body up to [`MAX_RESPONSE_BODY`]).
pub async fn post(
    out: Outbound<'_>,
    hook: &Webhook,
    attempt: DeliveryAttempt,
    started: Instant,
    headers: Vec<(String, String)>,
    body: String,
) -> Sent {
    request(out, hook, reqwest::Method::POST, &hook.url, attempt, started, headers, body).await
}

/// Sends `method` to `target` (the endpoint's URL, or for a connected app a path under it) with `headers` and
/// `body` through the guarded client, within the endpoint's timeout, and records the answer (its body up to
/// [`MAX_RESPONSE_BODY`]). Every HTTP kind goes through here, so the SSRF guard, the egress proxy check and the
/// timeout hold for all of them.
#[allow(clippy::too_many_arguments)]
pub async fn request(
    out: Outbound<'_>,
    hook: &Webhook,
    method: reqwest::Method,
    target: &str,
    mut attempt: DeliveryAttempt,
    started: Instant,
    headers: Vec<(String, String)>,
    body: String,
) -> Sent {
    let policy = out.policy;
    attempt.request_body = body.clone();
    let fail = |a: DeliveryAttempt, kind: ErrorKind, msg: String| failed(a, started, kind, msg);

    // The SSRF guard for IP literals (host names are checked by the resolver). Parsed once, sent as parsed.
    let url = match url::Url::parse(target) {
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
        tracing::debug!(webhook = %hook.id, error = %e, "delivery target refused");
        attempt.request_headers = headers;
        return fail(attempt, ErrorKind::SsrfBlocked, tenant_message(ErrorKind::SsrfBlocked, None, 0));
    }
    // Through an egress proxy the guarded resolver only ever resolves the proxy: check the target here, before
    // the proxy is asked to connect. (The proxy resolves the name again; it is the operator's, and should refuse
    // internal addresses too.)
    if let (Some(_), Some(url::Host::Domain(host))) = (policy.egress_proxy(), url.host()) {
        let port = url.port_or_known_default().unwrap_or(80);
        let within = Duration::from_millis(u64::from(hook.timeout_ms));
        let checked = match tokio::time::timeout(within, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => {
                policy.check_all(addrs.map(|a| a.ip())).map_err(|e| (ErrorKind::SsrfBlocked, e.to_string()))
            }
            Ok(Err(e)) => Err((ErrorKind::Dns, e.to_string())),
            Err(_) => Err((ErrorKind::Timeout, "the DNS lookup timed out".to_string())),
        };
        if let Err((kind, detail)) = checked {
            tracing::debug!(webhook = %hook.id, kind = kind.as_str(), error = %detail, "delivery target refused");
            attempt.request_headers = headers;
            return fail(attempt, kind, tenant_message(kind, None, hook.timeout_ms));
        }
    }

    let mut req = out.client.request(method, url).timeout(Duration::from_millis(u64::from(hook.timeout_ms))).body(body);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    attempt.request_headers = headers;
    let mut res = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let (kind, msg) = request_failure(hook, &e);
            return fail(attempt, kind, msg);
        }
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
                let (_, msg) = request_failure(hook, &e);
                attempt.error = Some(format!("reading the response body failed: {msg}"));
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
    Sent { attempt, retry_after, rule: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The egress proxy is the operator's, so its name may resolve to a private address; every other name is
    /// still checked.
    #[tokio::test]
    async fn only_the_egress_proxy_name_resolves_past_the_guard() {
        let policy = TargetPolicy::default().with_egress_proxy(Some("http://localhost:3128")).unwrap();
        let proxy = GuardedResolver { policy: policy.clone(), proxy_host: Some("localhost".into()) };
        assert!(proxy.resolve("localhost".parse().unwrap()).await.is_ok());
        let target = GuardedResolver { policy, proxy_host: Some("proxy.internal".into()) };
        let err = target.resolve("localhost".parse().unwrap()).await.err().expect("refused");
        assert!(err.is::<SsrfError>(), "{err}");
    }

    #[test]
    fn a_client_builds_with_and_without_an_egress_proxy() {
        assert!(client(TargetPolicy::default(), 4).is_ok());
        let via = TargetPolicy::default().with_egress_proxy(Some("http://user:secret@proxy.internal:3128")).unwrap();
        assert!(client(via, 4).is_ok());
    }
}
