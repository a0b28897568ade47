//! Business rules. The UI's server functions, the REST API and the CLI all call these functions, so a rule
//! lives in exactly one place. Errors are [`AppError`]s, ready for either boundary.

pub mod accounts;
pub mod api_keys;
pub mod apps;
pub mod audit;
pub mod browse;
pub mod deliveries;
pub mod events;
pub mod key_usage;
pub mod notices;
pub mod portal;
pub mod previews;
pub mod routing;
pub mod secrets;
pub mod streams;
pub mod unsubscribe;
pub mod webhooks;

use crate::model::{ApiKey, AppError, AppResult, Role, User};
use crate::server::auth::crypto::MasterKey;
use crate::server::auth::throttle::LoginThrottle;
use crate::server::config::{Config, DatabaseUrl};
use crate::server::delivery::policy::Breaker;
use crate::server::delivery::sender::Outbound;
use crate::server::delivery::worker::{WorkerContext, WorkerSettings};
use crate::server::store::Store;
use std::sync::Arc;

/// Everything a request handler needs, built once at start and shared.
pub struct Hub {
    pub store: Store,
    pub config: Config,
    pub master_key: MasterKey,
    pub throttle: LoginThrottle,
    pub usage: key_usage::UsageTracker,
    pub key_cache: api_keys::KeyCache,
    pub routes: routing::RoutingIndex,
    pub catalog: events::CatalogCache,
    pub known_tenants: KnownTenants,
    /// Suspended tenants as last read, for the API key check (`accounts::SuspendedTenants`).
    pub suspended: accounts::SuspendedTenants,
    pub metrics: Arc<crate::server::delivery::metrics::Metrics>,
    /// Open live streams per session.
    pub streams: streams::StreamCounts,
    pub limiter: crate::server::rate_limit::RateLimiter,
    /// The SSRF-guarded client deliveries and test-fires are sent with (built at open: one that cannot be built
    /// stops the start; there is no unguarded fallback).
    pub client: reqwest::Client,
    /// When coalesced operational notices were last sent.
    pub notices: notices::NoticeMemory,
    /// Sends email destinations' messages; None when SMTP is not configured.
    pub mailer: Option<Arc<crate::server::delivery::email::Mailer>>,
    /// Tenant ids whose deliveries changed, for the live Deliveries view (SSE).
    pub live: tokio::sync::broadcast::Sender<String>,
    /// Tenants whose change other instances have not heard of yet (see [`Hub::deliveries_changed`]).
    announce: PendingTenants,
    /// Turns true when the server begins to stop, so long-lived streams end and shutdown is not held up.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

pub type AppState = Arc<Hub>;

type PendingTenants = Arc<std::sync::Mutex<std::collections::HashSet<String>>>;

/// Tenants seen to exist, so publishing does not read the tenant row every time. Tenants are never deleted,
/// so a yes cannot go stale; the set is bounded so a flood of new tenants cannot grow it without end.
#[derive(Default)]
pub struct KnownTenants(std::sync::Mutex<std::collections::HashSet<String>>);

const KNOWN_TENANTS_MAX: usize = 100_000;

impl KnownTenants {
    fn contains(&self, tenant: &str) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(tenant)
    }

    fn insert(&self, tenant: &str) {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() >= KNOWN_TENANTS_MAX {
            set.clear();
        }
        set.insert(tenant.to_string());
    }
}

impl Hub {
    /// Connects, migrates and loads the master key: everything that can fail on bad configuration.
    pub async fn open(config: Config) -> Result<AppState, String> {
        crate::release_freed_memory_promptly();
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        let sealed = store.a_sealed_secret().await.map_err(|e| format!("cannot read the database: {e}"))?;
        let key = match (&config.master_key, &config.database) {
            (Some(k), _) => *k,
            (None, DatabaseUrl::Sqlite(path)) => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                let file = dir.join("master.key");
                // A new key would open none of the secrets already sealed: every delivery would fail to sign.
                if sealed.is_some() && !file.exists() {
                    return Err(format!(
                        "{} is missing but the database holds secrets sealed with it: restore that file from the \
                         same backup as the database (or set HUB_MASTER_KEY to the key it held)",
                        file.display()
                    ));
                }
                MasterKey::load_or_create(&file)?
            }
            (None, DatabaseUrl::Postgres(_)) => return Err("HUB_MASTER_KEY is required with PostgreSQL".into()),
        };
        let master_key = MasterKey::new(&key);
        if let Some((id, secret)) = &sealed {
            if !secrets::key_opens(&master_key, id, secret) {
                return Err("the master key does not open the secrets in this database: restore the master key they \
                            were sealed with (HUB_MASTER_KEY, or master.key beside the SQLite file)"
                    .into());
            }
        }
        secrets::reseal_at_start(&store, &master_key).await?;
        let concurrency = config.serve.worker_concurrency.max(1);
        let client = crate::server::delivery::sender::client(config.target_policy.clone(), concurrency)?;
        let mailer = crate::server::delivery::email::Mailer::from_config(&config, &master_key)?.map(Arc::new);
        let hub = Arc::new(Hub {
            store,
            config,
            master_key,
            throttle: LoginThrottle::default(),
            usage: Default::default(),
            key_cache: Default::default(),
            routes: Default::default(),
            catalog: Default::default(),
            known_tenants: Default::default(),
            suspended: Default::default(),
            metrics: Default::default(),
            streams: Default::default(),
            limiter: Default::default(),
            client,
            notices: Default::default(),
            mailer,
            live: tokio::sync::broadcast::channel(1024).0,
            announce: Default::default(),
            stopping: tokio::sync::watch::channel(false).0,
        });
        hub.seed_catalog().await.map_err(|e| format!("cannot seed the event-type catalog: {e}"))?;
        // Connected apps' "Sync now" runs a stopped hub left `running` (`apps::sync`).
        if let Err(e) = crate::server::apps::sync::interrupt_abandoned(&hub.store).await {
            tracing::warn!(error = %e, "sync runs left running could not be marked interrupted");
        }
        Ok(hub)
    }
}

impl Hub {
    /// What test-fires and previews are sent through.
    pub fn outbound(&self) -> Outbound<'_> {
        // No connected apps: a test-fire never changes real records at a provider.
        let (client, policy, mailer) = (&self.client, &self.config.target_policy, self.mailer.as_deref());
        Outbound { client, policy, mailer, apps: None }
    }

    /// What the delivery worker is given: the parts of the hub it needs, and the hub to report to.
    pub fn worker_context(self: &Arc<Self>) -> WorkerContext {
        let serve = &self.config.serve;
        WorkerContext {
            store: self.store.clone(),
            client: self.client.clone(),
            mailer: self.mailer.clone(),
            master_key: self.master_key.clone(),
            metrics: self.metrics.clone(),
            settings: WorkerSettings {
                concurrency: serve.worker_concurrency.max(1),
                lease_ms: (serve.lease_seconds.max(1) * 1000) as i64,
                retry_time_scale: serve.retry_time_scale,
                endpoint_rate_limits: serve.endpoint_rate_limits,
                heartbeat: std::time::Duration::from_millis(serve.heartbeat_ms),
                breaker: Breaker {
                    failures: serve.breaker_failures,
                    period_ms: (serve.breaker_period_seconds as i64).saturating_mul(1000),
                },
                target_policy: self.config.target_policy.clone(),
            },
            events: self.clone(),
            apps: Some(self.clone()),
        }
    }

    /// Announces that these tenants' deliveries changed: to this instance's live views and, with `everywhere`,
    /// to the other instances on the same PostgreSQL database.
    pub fn deliveries_changed(&self, tenants: &[&str], everywhere: bool) {
        for t in tenants {
            let _ = self.live.send((*t).to_string());
        }
        if everywhere && self.store.dialect() == crate::server::store::Dialect::Postgres {
            // Other instances hear of a tenant at most every ANNOUNCE_EVERY: the worker records hundreds of
            // batches a second, and each NOTIFY is a round trip and a commit PostgreSQL serialises.
            let mut pending = self.announce.lock().unwrap_or_else(|p| p.into_inner());
            let first = pending.is_empty();
            pending.extend(tenants.iter().map(|t| (*t).to_string()));
            if first {
                tokio::spawn(announce_later(self.store.clone(), self.announce.clone()));
            }
        }
    }
}

const ANNOUNCE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Tells the other instances, after a short wait, of every tenant whose deliveries changed meanwhile.
async fn announce_later(store: Store, pending: PendingTenants) {
    tokio::time::sleep(ANNOUNCE_EVERY).await;
    let tenants: Vec<String> = pending.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
    for t in tenants {
        if let Err(e) = store.notify(crate::server::store::DELIVERIES_CHANNEL, &t).await {
            tracing::debug!(error = %e, "cannot announce a delivery change");
        }
    }
}

/// Who performs an action: a signed-in person (UI), an API key (REST) or the hub itself (CLI, bootstrap).
/// Every service call takes one, and every tenant rule is answered here.
pub enum Actor<'a> {
    User(&'a User),
    Key(&'a ApiKey),
    System,
}

impl Actor<'_> {
    /// For the audit log.
    pub fn id(&self) -> &str {
        match self {
            Actor::User(u) => &u.id,
            Actor::Key(k) => &k.id,
            Actor::System => "system",
        }
    }

    /// The single tenant this actor is confined to; None for admins, admin-wide keys and the system.
    pub fn own_tenant(&self) -> Option<&str> {
        match self {
            Actor::User(u) if u.role != Role::Admin => u.tenant_id.as_deref(),
            Actor::Key(k) => k.tenant_id.as_deref(),
            _ => None,
        }
    }

    /// Whether a record of `tenant` (None: admin-wide) is visible to this actor.
    pub fn sees_tenant(&self, tenant: Option<&str>) -> bool {
        match self.own_tenant() {
            None => !matches!(self, Actor::User(u) if u.role != Role::Admin),
            Some(own) => tenant == Some(own),
        }
    }

    /// The same actor again (a cheap copy of the reference).
    pub fn clone_of<'b>(a: &Actor<'b>) -> Actor<'b> {
        match a {
            Actor::User(u) => Actor::User(u),
            Actor::Key(k) => Actor::Key(k),
            Actor::System => Actor::System,
        }
    }

    /// Portal-link sessions are for a tenant's endpoints and deliveries; `what` (API keys, users) is refused.
    pub fn refuse_portal(&self, what: &str) -> AppResult<()> {
        match self {
            Actor::User(u) if u.role == Role::Portal => {
                Err(AppError::forbidden(format!("A portal link does not give access to {what}.")))
            }
            _ => Ok(()),
        }
    }

    pub fn require_admin(&self) -> AppResult<()> {
        match self {
            Actor::User(u) if u.role == Role::Admin => Ok(()),
            Actor::System => Ok(()),
            _ => Err(AppError::forbidden("only admins can do this")),
        }
    }
}

impl Hub {
    /// Which tenant a new record belongs to; None = admin-wide (only for actors not confined to a tenant).
    /// Naming another tenant than one's own is a 404, as if it did not exist.
    pub async fn target_tenant(&self, actor: &Actor<'_>, requested: Option<&str>) -> AppResult<Option<String>> {
        let requested = requested.filter(|t| !t.is_empty());
        let tenant = match (actor.own_tenant(), requested) {
            (Some(own), None) => Some(own.to_string()),
            (Some(own), Some(t)) if t == own => Some(own.to_string()),
            (Some(_), Some(_)) => return Err(AppError::not_found("tenant")),
            (None, t) => t.map(str::to_string),
        };
        if let Some(t) = &tenant {
            if !self.known_tenants.contains(t) {
                if self.store.get_tenant(t).await?.is_none() {
                    return Err(AppError::field("tenant_id", format!("no tenant {t}")));
                }
                self.known_tenants.insert(t);
            }
        }
        Ok(tenant)
    }

    /// Like [`Hub::target_tenant`], for records that always belong to a tenant.
    pub async fn require_target_tenant(&self, actor: &Actor<'_>, requested: Option<&str>) -> AppResult<String> {
        self.target_tenant(actor, requested)
            .await?
            .ok_or_else(|| AppError::field("tenant_id", "is required for admin-wide keys and admins"))
    }

    /// The tenant a list is confined to (None: every tenant, for unconfined actors that name none).
    pub fn list_tenant(&self, actor: &Actor<'_>, requested: Option<&str>) -> AppResult<Option<String>> {
        match (actor.own_tenant(), requested.filter(|t| !t.is_empty())) {
            (Some(own), Some(t)) if t != own => Err(AppError::not_found("tenant")),
            (Some(own), _) => Ok(Some(own.to_string())),
            (None, t) => Ok(t.map(str::to_string)),
        }
    }

    /// One audit row; every mutation calls this.
    pub async fn audit(
        &self,
        actor: &Actor<'_>,
        tenant: Option<&str>,
        action: &str,
        target: &str,
        detail: &str,
    ) -> AppResult<()> {
        let e = audit::Audited { tenant, action, target, detail, ..Default::default() };
        self.audit_entry(actor, e).await
    }
}

/// Database failures are logged here with their detail and reach the caller as a plain 500.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL refuses NUL in text (22021) and out-of-range numbers (22003): the input's fault, not ours.
        if let Some(code) = e.as_database_error().and_then(|d| d.code()) {
            match code.as_ref() {
                "22021" | "22P05" => return AppError::bad_request("text must not contain NUL characters"),
                "22003" => return AppError::bad_request("a number is out of range"),
                _ => {}
            }
        }
        tracing::error!(error = %e, "database error");
        AppError::internal()
    }
}
