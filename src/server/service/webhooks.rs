//! Webhook endpoints: validation (ranges, SSRF, headers, filters, templates), CRUD, secrets sealed at rest with
//! rotation. Used by the REST API and the UI alike.

use super::audit::Audited;
use super::{Actor, Hub};
use crate::model::filter::{validate_event_pattern, validate_filter, FilterOp};
use crate::model::webhook::is_reserved_header;
use crate::model::webhook::limits;
use crate::model::Paged;
use crate::model::{
    AppError, AppResult, ContentType, CreateWebhook, DestinationKind, EndpointCounts, RotateWebhookSecret,
    UpdateWebhook, Validator, Webhook, WebhookListQuery, WebhookSecret,
};
use crate::server::delivery::message;
use crate::server::delivery::sign::SigningSecret;
use crate::server::delivery::ssrf;
use crate::server::delivery::worker::WorkerEvents;
use crate::server::store::{new_id, now_ms, AttemptRecord, AutoDisabled, SealedSecrets};
use futures::future::BoxFuture;
use serde_json::json;

const DEFAULT_GRACE_SECONDS: u64 = 24 * 3600;

/// A sample envelope for validating templates at save time.
pub fn sample_envelope(event_type: &str, data: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "id": "evt_sample", "type": event_type, "timestamp": "2026-01-01T00:00:00Z",
        "tenant_id": "ten_sample", "data": data,
    })
}

/// Rendering (with what bounds a render's memory and output) lives with the sender, which renders every delivery.
pub use crate::server::delivery::template::render_template;

fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    v: &mut Validator,
    field: &str,
    value: T,
    (lo, hi, _): (T, T, T),
) {
    v.check(value >= lo && value <= hi, field, format!("must be between {lo} and {hi}"));
}

impl Hub {
    fn validate_webhook(&self, v: &mut Validator, w: &Webhook) {
        if w.kind.is_http() {
            match ssrf::validate_webhook_url(&w.url) {
                Ok(target) => {
                    if let Some(ip) = target.ip_literal {
                        if let Err(e) = self.config.target_policy.check(ip) {
                            v.push("url", e.to_string());
                        }
                    }
                }
                Err(e) => v.push("url", e),
            }
        } else {
            v.check(w.url.is_empty(), "url", "an email destination has recipients, not a URL");
        }
        self.validate_destination(v, w);
        v.check(!w.name.trim().is_empty(), "name", "is required");
        v.check(w.name.chars().count() <= 100, "name", "must be at most 100 characters");
        v.check(w.description.chars().count() <= 1000, "description", "must be at most 1000 characters");
        v.check(!w.events.is_empty(), "events", "subscribe to at least one event type (or `*`)");
        v.check(w.events.len() <= limits::MAX_EVENTS, "events", format!("at most {} entries", limits::MAX_EVENTS));
        for e in &w.events {
            if let Err(m) = validate_event_pattern(e) {
                v.push("events", format!("{e:?}: {m}"));
            }
        }
        v.check(w.filters.len() <= limits::MAX_FILTERS, "filters", format!("at most {} filters", limits::MAX_FILTERS));
        for (i, f) in w.filters.iter().enumerate() {
            if let Err(m) = validate_filter(f) {
                v.push(&format!("filters.{i}"), m);
            }
        }
        v.check(w.headers.len() <= limits::MAX_HEADERS, "headers", format!("at most {} headers", limits::MAX_HEADERS));
        for (name, value) in &w.headers {
            if is_reserved_header(name) {
                v.push("headers", format!("{name} is reserved (set by the hub, or about the connection)"));
            } else if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                v.push("headers", format!("{name:?} is not a valid header name"));
            }
            if http::HeaderValue::from_str(value).is_err() || value.len() > 4096 {
                v.push("headers", format!("the value of {name} is not a valid header value"));
            }
        }
        check_range(v, "max_retries", w.max_retries, limits::MAX_RETRIES);
        check_range(v, "retry_delay_seconds", w.retry_delay_seconds, limits::RETRY_DELAY_SECONDS);
        v.check(w.backoff_factor.is_finite(), "backoff_factor", "must be a number");
        check_range(v, "backoff_factor", w.backoff_factor, limits::BACKOFF_FACTOR);
        check_range(v, "timeout_ms", w.timeout_ms, limits::TIMEOUT_MS);
        check_range(v, "rate_limit_per_minute", w.rate_limit_per_minute, limits::RATE_LIMIT_PER_MINUTE);
        if let Some(t) = &w.template {
            if t.len() > limits::MAX_TEMPLATE_LEN {
                v.push("template", format!("must be at most {} bytes", limits::MAX_TEMPLATE_LEN));
            } else if let Err(e) = render_template(t, &sample_envelope("sample.event", serde_json::json!({}))) {
                // Undefined fields of the sample are fine; syntax errors are not.
                if !e.contains("undefined") {
                    v.push("template", e);
                }
            }
        }
    }

    /// What only some kinds have: recipients (email), a message template (chat and email), and the body
    /// options only a plain webhook uses.
    fn validate_destination(&self, v: &mut Validator, w: &Webhook) {
        use crate::model::destination::{platform_limits::MAX_RECIPIENTS, valid_email};
        if w.kind == DestinationKind::Email {
            v.check(!w.recipients.is_empty(), "recipients", "add at least one recipient");
            v.check(w.recipients.len() <= MAX_RECIPIENTS, "recipients", format!("at most {MAX_RECIPIENTS} recipients"));
            for r in w.recipients.iter().filter(|r| !valid_email(r)) {
                v.push("recipients", format!("{r:?} is not an email address"));
            }
            let mut seen = std::collections::HashSet::new();
            for r in w.recipients.iter().filter(|r| !seen.insert(r.to_ascii_lowercase())) {
                v.push("recipients", format!("{r} is listed twice"));
            }
            if self.mailer.is_none() {
                v.push("kind", "email is not configured on this hub (HUB_SMTP_URL and HUB_SMTP_FROM)");
            }
        } else {
            v.check(w.recipients.is_empty(), "recipients", "only an email destination has recipients");
        }
        if w.kind.is_message() {
            v.check(w.template.is_none(), "template", "a body template is for webhook destinations; use message");
            v.check(w.headers.is_empty(), "headers", "custom headers are for webhook destinations");
            v.check(w.content_type == ContentType::Json, "content_type", "is for webhook destinations");
        } else {
            v.check(w.message.is_none(), "message", "a message template is for chat and email destinations");
        }
        if let Some(m) = &w.message {
            for (field, e) in message::check_template(m) {
                v.push(&field, e);
            }
        }
    }

    /// The tenant's quotas (see `ServeArgs`): endpoints in all, endpoints at one host, regex filters in all.
    /// Counted over the tenant's other live endpoints, so editing one never counts it twice.
    async fn check_quotas(&self, w: &Webhook, creating: bool) -> AppResult<()> {
        let serve = &self.config.serve;
        let others: Vec<Webhook> =
            self.store.live_webhooks(&w.tenant_id).await?.into_iter().filter(|o| o.id != w.id).collect();
        let max = serve.max_endpoints_per_tenant as usize;
        if creating && max > 0 && others.len() >= max {
            let setting = json!({"setting": "HUB_MAX_ENDPOINTS_PER_TENANT"});
            self.notify_quota(Some(&w.tenant_id), "endpoints_per_tenant", max as u64, setting).await;
            return Err(AppError::conflict(format!(
                "this tenant already has {max} endpoints, its limit (HUB_MAX_ENDPOINTS_PER_TENANT): delete one first"
            )));
        }
        let host = |u: &str| url::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        // (Email endpoints have no URL; they count towards the tenant's endpoints only.)
        let max = serve.max_endpoints_per_host as usize;
        if let Some(h) = host(&w.url).filter(|_| max > 0) {
            if others.iter().filter(|o| host(&o.url).as_deref() == Some(h.as_str())).count() >= max {
                return Err(AppError::field(
                    "url",
                    format!("this tenant already has {max} endpoints at {h}, the most one host may receive"),
                ));
            }
        }
        let regexes = |hook: &Webhook| hook.filters.iter().filter(|f| f.operator == FilterOp::Regex).count();
        let max = serve.max_regex_filters_per_tenant as usize;
        let used: usize = others.iter().map(regexes).sum();
        if max > 0 && regexes(w) > 0 && used + regexes(w) > max {
            return Err(AppError::field(
                "filters",
                format!("this tenant's endpoints may hold {max} regex filters in all ({used} in use by others)"),
            ));
        }
        Ok(())
    }

    /// The tenant's endpoints changed: its routes are read afresh here and on every other instance.
    fn invalidate(&self, tenant: &str) {
        self.routes.invalidate(tenant);
        self.broadcast_route_change(tenant);
    }

    pub async fn create_webhook(&self, actor: Actor<'_>, input: CreateWebhook) -> AppResult<Webhook> {
        let tenant_id = self.require_target_tenant(&actor, input.tenant_id.as_deref()).await?;
        let now = now_ms();
        let kind = input.kind.unwrap_or_default();
        refuse_app_kind(kind)?;
        let default_name = match kind {
            DestinationKind::Email => input.recipients.first().cloned(),
            _ => url::Url::parse(&input.url).ok().and_then(|u| u.host_str().map(str::to_string)),
        };
        let w = Webhook {
            id: new_id("wh"),
            tenant_id,
            name: input
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .or(default_name)
                .unwrap_or_default()
                .trim()
                .to_string(),
            kind,
            url: input.url.trim().to_string(),
            recipients: input.recipients.iter().map(|r| r.trim().to_string()).collect(),
            message: input.message.clone(),
            description: input.description.clone().unwrap_or_default(),
            events: input.events.clone(),
            filters: input.filters.clone(),
            headers: input.headers.clone(),
            content_type: input.content_type.unwrap_or_default(),
            template: input.template.clone().filter(|t| !t.trim().is_empty()),
            max_retries: input.max_retries.unwrap_or(limits::MAX_RETRIES.2),
            retry_delay_seconds: input.retry_delay_seconds.unwrap_or(limits::RETRY_DELAY_SECONDS.2),
            backoff_factor: input.backoff_factor.unwrap_or(limits::BACKOFF_FACTOR.2),
            timeout_ms: input.timeout_ms.unwrap_or(limits::TIMEOUT_MS.2),
            rate_limit_per_minute: input.rate_limit_per_minute.unwrap_or(kind.default_rate_limit_per_minute()),
            is_active: input.is_active.unwrap_or(true),
            disabled_reason: None,
            created_by: Some(actor.id().to_string()),
            created_at: now,
            updated_at: now,
            last_triggered_at: None,
            last_error_at: None,
            last_error: None,
            total_delivered: 0,
            total_failed: 0,
        };
        let mut v = Validator::default();
        self.validate_webhook(&mut v, &w);
        let secret = match input.secret.as_deref() {
            Some(s) => SigningSecret::parse(s).map_err(|e| v.push("secret", e.to_string())).ok(),
            None => Some(SigningSecret::generate()),
        };
        v.finish()?;
        self.check_quotas(&w, true).await?;
        let secret = secret.ok_or_else(AppError::internal)?;
        let stored = Webhook { headers: self.seal_headers(&w.id, &w.headers), ..w.clone() };
        self.store.insert_webhook(&stored, &self.seal_secret(&w.id, &secret.expose())).await?;
        self.audit(&actor, Some(&w.tenant_id), "webhook.created", &w.id, &w.url).await?;
        self.invalidate(&w.tenant_id);
        Ok(w.masked())
    }

    pub async fn list_webhooks(&self, actor: Actor<'_>, q: WebhookListQuery) -> AppResult<Vec<Webhook>> {
        let tenant = self.list_tenant(&actor, q.tenant_id.as_deref())?;
        if q.status.as_deref().is_some_and(|s| !s.is_empty() && s != "active" && s != "disabled") {
            return Err(AppError::field("status", "must be `active` or `disabled`"));
        }
        let limit = q.page_limit() as usize;
        // Subscriptions are patterns (`ticket.*`), matched here rather than in SQL, so a page is filled from
        // as many store pages as it takes: a short page must mean the list has ended, never a silent cut.
        let et = q.event_type.clone().filter(|t| !t.trim().is_empty());
        let mut q = q;
        let mut out = Vec::new();
        loop {
            let batch = self.store.list_webhooks(tenant.as_deref(), &q, limit as i64).await?;
            let more = batch.len() == limit;
            q.cursor = batch.last().map(|w| w.id.clone());
            out.extend(
                batch
                    .into_iter()
                    .filter(|w| et.as_deref().is_none_or(|t| crate::model::filter::subscribed(&w.events, t.trim())))
                    .map(Webhook::masked),
            );
            if !more || out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The overview's counts of the actor's tenant's endpoints (or `tenant`'s, for an admin).
    pub async fn endpoint_counts(&self, actor: Actor<'_>, tenant: Option<&str>) -> AppResult<EndpointCounts> {
        let tenant = self.list_tenant(&actor, tenant)?;
        Ok(self.store.endpoint_counts(tenant.as_deref()).await?)
    }

    /// Another tenant's endpoint is a 404, as if it did not exist. Header values are masked.
    pub async fn get_webhook(&self, actor: &Actor<'_>, id: &str) -> AppResult<Webhook> {
        Ok(self.stored_webhook(actor, id).await?.masked())
    }

    /// An endpoint a person or key may change: a connected app's hidden endpoint is the connection's (made,
    /// changed and removed with it), so it is not found here.
    async fn changeable_webhook(&self, actor: &Actor<'_>, id: &str) -> AppResult<Webhook> {
        let w = self.stored_webhook(actor, id).await?;
        if w.kind == DestinationKind::App {
            return Err(AppError::not_found("webhook"));
        }
        Ok(w)
    }

    /// [`Hub::get_webhook`] as stored: header values sealed (never to be answered with).
    pub(crate) async fn stored_webhook(&self, actor: &Actor<'_>, id: &str) -> AppResult<Webhook> {
        let w = self.store.get_webhook(id, actor.own_tenant()).await?;
        w.filter(|w| actor.sees_tenant(Some(&w.tenant_id))).ok_or_else(|| AppError::not_found("webhook"))
    }

    pub async fn update_webhook(&self, actor: Actor<'_>, id: &str, p: UpdateWebhook) -> AppResult<Webhook> {
        let mut w = self.changeable_webhook(&actor, id).await?;
        if let Some(kind) = p.kind {
            refuse_app_kind(kind)?;
        }
        let was = w.clone().masked();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(x) = p.$f.clone() { w.$f = x; } )* };
        }
        set!(name, kind, url, recipients, description, events, filters, content_type, max_retries);
        set!(retry_delay_seconds);
        if let Some(m) = p.message.clone() {
            w.message = m;
        }
        set!(backoff_factor, timeout_ms, rate_limit_per_minute);
        if let Some(t) = p.template.clone() {
            w.template = t.filter(|t| !t.trim().is_empty());
        }
        if let Some(a) = p.is_active {
            w.is_active = a;
            if a {
                // Re-enabling is the user's answer to an automatic disable.
                w.disabled_reason = None;
            }
        }
        let mut v = Validator::default();
        // Header values are validated in clear (kept ones were when they were set), and stored sealed.
        let mut check = Webhook { headers: Default::default(), ..w.clone() };
        if let Some(sent) = &p.headers {
            let (sealed, clear) = self.merge_headers(&w.id, &w.headers, sent, &mut v);
            (w.headers, check.headers) = (sealed, clear);
        } else {
            check.headers = w.headers.keys().map(|n| (n.clone(), "kept".to_string())).collect();
        }
        self.validate_webhook(&mut v, &check);
        v.finish()?;
        self.check_quotas(&w, false).await?;
        w.updated_at = now_ms();
        self.store.update_webhook(&w).await?;
        let action = match p.is_active {
            Some(true) => "webhook.enabled",
            Some(false) => "webhook.disabled",
            None => "webhook.updated",
        };
        let (tenant, name) = (Some(w.tenant_id.as_str()), Some(w.name.as_str()));
        let audited = Audited { tenant, action, target: &w.id, name, detail: &w.url, ..Default::default() };
        self.audit_update(&actor, audited, &was, &w.clone().masked()).await?;
        self.invalidate(&w.tenant_id);
        if p.is_active == Some(true) && self.store.resume_paused(Some(&w.id)).await? > 0 {
            self.deliveries_changed(&[w.tenant_id.as_str()], true);
            self.wake_workers().await;
        }
        Ok(w.masked())
    }

    /// Soft delete: pending deliveries are cancelled, history stays readable.
    pub async fn delete_webhook(&self, actor: Actor<'_>, id: &str) -> AppResult<()> {
        let w = self.changeable_webhook(&actor, id).await?.masked();
        let cancelled = self.store.delete_webhook(&w.id).await?;
        let detail = format!("{} ({cancelled} pending deliveries cancelled)", w.url);
        self.audit(&actor, Some(&w.tenant_id), "webhook.deleted", &w.id, &detail).await?;
        self.invalidate(&w.tenant_id);
        Ok(())
    }

    pub async fn webhook_secret(&self, actor: Actor<'_>, id: &str) -> AppResult<WebhookSecret> {
        let w = self.changeable_webhook(&actor, id).await?.masked();
        let sealed = self.store.webhook_secrets(&w.id).await?.ok_or_else(|| AppError::not_found("webhook"))?;
        self.audit(&actor, Some(&w.tenant_id), "webhook.secret_viewed", &w.id, "").await?;
        self.open_secrets(&sealed)
    }

    /// New signing secret; during the grace period both are used to sign (two signatures per request).
    pub async fn rotate_webhook_secret(
        &self,
        actor: Actor<'_>,
        id: &str,
        r: RotateWebhookSecret,
    ) -> AppResult<WebhookSecret> {
        let w = self.changeable_webhook(&actor, id).await?.masked();
        let new = match r.secret.as_deref() {
            Some(s) => SigningSecret::parse(s).map_err(|e| AppError::field("secret", e.to_string()))?,
            None => SigningSecret::generate(),
        };
        let grace = r.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        if grace > 30 * 24 * 3600 {
            return Err(AppError::field("grace_seconds", "must be at most 30 days"));
        }
        let old = self.store.webhook_secrets(&w.id).await?.ok_or_else(|| AppError::not_found("webhook"))?;
        let sealed = SealedSecrets {
            webhook_id: w.id.clone(),
            current: self.seal_secret(&w.id, &new.expose()),
            previous: (grace > 0).then_some(old.current),
            previous_expires_at: (grace > 0).then(|| now_ms() + grace as i64 * 1000),
        };
        self.store.set_webhook_secrets(&w.id, &sealed).await?;
        self.audit(&actor, Some(&w.tenant_id), "webhook.secret_rotated", &w.id, &format!("grace {grace}s")).await?;
        self.open_secrets(&sealed)
    }
}

/// What the delivery worker reports goes through the same rules as a person's action: the audit log, the
/// routing index, the live views.
impl WorkerEvents for Hub {
    fn deliveries_changed(&self, tenants: &[&str]) {
        Hub::deliveries_changed(self, tenants, true);
    }

    fn endpoint_disabled(&self, d: AutoDisabled) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tracing::warn!(webhook = %d.webhook_id, reason = %d.reason, "endpoint disabled automatically");
            self.invalidate(&d.tenant_id);
            let audited =
                self.audit(&Actor::System, Some(&d.tenant_id), "webhook.auto_disabled", &d.webhook_id, &d.reason);
            if audited.await.is_err() {
                tracing::warn!(webhook = %d.webhook_id, "the automatic disabling could not be written to the audit log");
            }
            self.notify_endpoint_disabled(&d).await;
        })
    }

    fn dead_lettered<'a>(&'a self, records: &'a [&'a AttemptRecord]) -> BoxFuture<'a, ()> {
        Box::pin(self.notify_dead_letters(records))
    }
}

/// `app` endpoints are made by connecting an app (Connected apps), never through the endpoint API or form.
fn refuse_app_kind(kind: DestinationKind) -> AppResult<()> {
    if kind == DestinationKind::App {
        return Err(AppError::field("kind", "`app` endpoints are made by connecting an app (Connected apps)"));
    }
    Ok(())
}
