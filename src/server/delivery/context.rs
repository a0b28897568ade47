//! What the delivery worker is given, and what it reports back: a narrow context instead of the whole hub.

use super::metrics::Metrics;
use super::policy::Breaker;
use super::ssrf::TargetPolicy;
use crate::server::auth::crypto::MasterKey;
use crate::server::store::{AttemptRecord, AutoDisabled, Store};
use futures::future::BoxFuture;
use std::sync::Arc;

/// What the worker needs, and nothing more.
#[derive(Clone)]
pub struct WorkerContext {
    pub store: Store,
    /// The SSRF-guarded client deliveries are sent with.
    pub client: reqwest::Client,
    /// Sends email destinations' messages; None when SMTP is not configured.
    pub mailer: Option<Arc<super::email::Mailer>>,
    /// Opens the endpoints' sealed secrets.
    pub master_key: MasterKey,
    pub metrics: Arc<Metrics>,
    pub settings: WorkerSettings,
    pub events: Arc<dyn WorkerEvents>,
    /// What connected apps' actions need (the store, fresh tokens); None: app endpoints' deliveries fail.
    pub apps: Option<Arc<crate::server::apps::actions::AppsContext>>,
}

/// The worker's part of the configuration.
#[derive(Clone)]
pub struct WorkerSettings {
    /// Deliveries sent at once.
    pub concurrency: usize,
    pub lease_ms: i64,
    /// Shrinks retry delays (tests).
    pub retry_time_scale: f64,
    /// Whether endpoints' own rate limits apply.
    pub endpoint_rate_limits: bool,
    /// How often the worker announces itself; endpoints' rate limits are shared among the workers alive.
    pub heartbeat: std::time::Duration,
    pub breaker: Breaker,
    pub target_policy: TargetPolicy,
}

/// What the worker tells the rest of the hub.
pub trait WorkerEvents: Send + Sync {
    /// These tenants' deliveries changed (attempts were recorded), for live views on every instance.
    fn deliveries_changed(&self, tenants: &[&str]);
    /// An endpoint was switched off while its attempts were recorded (410 Gone, the circuit breaker).
    fn endpoint_disabled(&self, disabled: AutoDisabled) -> BoxFuture<'_, ()>;
    /// These deliveries gave up (recorded as failed): the tenants are told (operational notices).
    fn dead_lettered<'a>(&'a self, records: &'a [&'a AttemptRecord]) -> BoxFuture<'a, ()>;
}

impl WorkerContext {
    /// What deliveries are sent through.
    pub fn outbound(&self) -> super::sender::Outbound<'_> {
        super::sender::Outbound {
            client: &self.client,
            policy: &self.settings.target_policy,
            mailer: self.mailer.as_deref(),
            apps: self.apps.as_deref(),
        }
    }
}
