//! Command line and `HUB_*` environment: parsed once at start into [`Config`] and passed down, so nothing
//! deeper reads the environment. Bad values stop the process with one line that says what to fix.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "integration-hub", version, about = "Webhooks and API keys for your SaaS, self-hosted")]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Database: sqlite://path/to/hub.db (embedded, default) or postgres://user@host/db (scale-out).
    #[arg(long, env = "HUB_DATABASE_URL", default_value = "sqlite://data/hub.db", global = true)]
    pub database_url: String,
    /// 32-byte key (64 hex chars) that encrypts secrets at rest. Generated next to the SQLite file when absent;
    /// required for PostgreSQL.
    #[arg(long, env = "HUB_MASTER_KEY", hide_env_values = true, global = true)]
    pub master_key: Option<String>,
    /// Log filter, e.g. `info` or `integration_hub=debug,info`.
    #[arg(long, env = "HUB_LOG", default_value = "info", global = true)]
    pub log: String,
    #[arg(long, env = "HUB_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
// Parsed once at start and dropped soon after: the size of `Serve` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the UI, the REST API and the delivery worker (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Copy the SQLite database, consistently and while the hub runs, into a new file (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create an API key and print it once (for bootstrapping automation).
    Create {
        /// Tenant id; omit for an admin-wide key.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        name: String,
        /// Comma-separated, e.g. events:write,webhooks:read
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// free, pro, enterprise, producer (ignored when --per-minute/--per-hour are given). Default: producer
        /// (6,000/min, 300,000/h) for keys with events:write and admin-wide keys, free (60/min) for the others.
        #[arg(long)]
        tier: Option<String>,
        /// Custom limit per minute.
        #[arg(long)]
        per_minute: Option<u32>,
        /// Custom limit per hour.
        #[arg(long)]
        per_hour: Option<u32>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user and print its id. Without --password a password is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "tenant"], default_value = "tenant")]
        role: String,
        /// Required for tenant users.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, env = "HUB_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HUB_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Public base URL (used for links, the connected apps' OAuth redirect URI `<base>/oauth/callback`, and to
    /// decide whether cookies are Secure). Defaults to http://<addr>.
    #[arg(long, env = "HUB_BASE_URL")]
    pub base_url: Option<String>,
    /// The first admin, created on first start when no admin exists.
    #[arg(long, env = "HUB_ADMIN_EMAIL", default_value = "admin@localhost")]
    pub admin_email: String,
    /// Password of the first admin; generated and printed once when absent.
    #[arg(long, env = "HUB_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Password hashes (sign-ins, new users) computed at once, each ~19 MiB and a core; more sign-ins wait up to
    /// 5 s for a slot, then get 429. Default: the number of cores.
    #[arg(long, env = "HUB_MAX_CONCURRENT_HASHES", default_value_t = default_concurrent_hashes(),
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_concurrent_hashes: usize,
    /// Proxies whose X-Forwarded-For is believed (comma-separated CIDRs).
    #[arg(long, env = "HUB_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Private/loopback webhook targets that are nevertheless allowed (comma-separated CIDRs; e.g. for tests).
    #[arg(long, env = "HUB_ALLOW_PRIVATE_TARGETS", default_value = "")]
    pub allow_private_targets: String,
    /// Send deliveries through this HTTP proxy (http://host:port, e.g. an egress gateway). HTTP_PROXY and the
    /// like are never used; targets the SSRF guard refuses are refused before the proxy is asked.
    #[arg(long, env = "HUB_EGRESS_PROXY", hide_env_values = true)]
    pub egress_proxy: Option<String>,
    /// Run the delivery worker in this instance (`false` for API-only instances).
    #[arg(long, env = "HUB_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub worker: bool,
    /// Deliveries in flight at once.
    #[arg(long, env = "HUB_WORKER_CONCURRENCY", default_value_t = 256)]
    pub worker_concurrency: usize,
    /// How long a claimed delivery stays reserved before another worker may take it (crash recovery).
    #[arg(long, env = "HUB_LEASE_SECONDS", default_value_t = 90)]
    pub lease_seconds: u64,
    /// Enforce each endpoint's own rate limit (switch off only for trusted receivers, e.g. benchmarks).
    #[arg(long, env = "HUB_ENDPOINT_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set)]
    pub endpoint_rate_limits: bool,
    /// How often a delivery worker announces itself (ms). An endpoint's rate limit is shared among the workers
    /// seen within three heartbeats, each sending its share.
    #[arg(long, env = "HUB_HEARTBEAT_MS", default_value_t = 5_000,
          value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(100..=300_000))]
    pub heartbeat_ms: u64,
    /// Multiplies retry delays (tests use a small value instead of waiting minutes).
    #[arg(long, env = "HUB_RETRY_TIME_SCALE", default_value_t = 1.0)]
    pub retry_time_scale: f64,
    /// Circuit breaker: disable an endpoint after this many dead-lettered deliveries in a row (0 = never).
    #[arg(long, env = "HUB_BREAKER_FAILURES", default_value_t = 100)]
    pub breaker_failures: u32,
    /// Circuit breaker: disable an endpoint whose every attempt has failed for this long (0 = never).
    #[arg(long, env = "HUB_BREAKER_PERIOD_SECONDS", default_value_t = 5 * 24 * 3600)]
    pub breaker_period_seconds: u64,
    /// Days finished deliveries (with their attempts) and events are kept.
    #[arg(long, env = "HUB_RETENTION_DAYS", default_value_t = 30)]
    pub retention_days: u32,
    /// Days test-fire deliveries are kept.
    #[arg(long, env = "HUB_TEST_RETENTION_DAYS", default_value_t = 7)]
    pub test_retention_days: u32,
    /// Days an API key's daily usage rollups are kept (the charts reach back 90); 0 = kept for ever.
    #[arg(long, env = "HUB_USAGE_RETENTION_DAYS", default_value_t = 400)]
    pub usage_retention_days: u32,
    /// Endpoints one tenant may have (not counting deleted ones); also bounds the deliveries one event fans out
    /// to. 0 = no limit.
    #[arg(long, env = "HUB_MAX_ENDPOINTS_PER_TENANT", default_value_t = 1000)]
    pub max_endpoints_per_tenant: u32,
    /// Endpoints one tenant may point at the same host, so a tenant cannot aim the hub's fan-out at one victim.
    /// 0 = no limit.
    #[arg(long, env = "HUB_MAX_ENDPOINTS_PER_HOST", default_value_t = 25)]
    pub max_endpoints_per_host: u32,
    /// Regular-expression filters one tenant's endpoints may hold in all (each compiles to at most 1 MB).
    /// 0 = no limit.
    #[arg(long, env = "HUB_MAX_REGEX_FILTERS_PER_TENANT", default_value_t = 100)]
    pub max_regex_filters_per_tenant: u32,
    /// Bearer token that `GET /metrics` on the main address requires (at least 16 characters). Unset: the main
    /// address does not serve metrics (404); use --metrics-addr.
    #[arg(long, env = "HUB_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A separate address serving only `GET /metrics` (e.g. 127.0.0.1:9100), without a token unless
    /// --metrics-token is set too. Keep it on loopback or a private network.
    #[arg(long, env = "HUB_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds between the checks a live Deliveries stream makes that its session still holds (it also checks
    /// before each event); a signed-out or expired session's stream ends within this.
    #[arg(long, env = "HUB_STREAM_RECHECK_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_recheck_seconds: u64,
    /// Live Deliveries streams one session may hold open at once (each is a connection and a subscription);
    /// past it a new one is refused with 429. 0 = no limit.
    #[arg(long, env = "HUB_MAX_STREAMS_PER_SESSION", default_value_t = 8)]
    pub max_streams_per_session: u32,
    /// Portal links of one tenant that may be open (not revoked, not expired) at once. 0 = no limit.
    #[arg(long, env = "HUB_MAX_PORTAL_LINKS_PER_TENANT", default_value_t = 100)]
    pub max_portal_links_per_tenant: u32,
    /// Seconds an invite or password-reset link opens for (it also opens only once); default 72 hours.
    #[arg(long, env = "HUB_USER_LINK_TTL_SECONDS", default_value_t = 259_200,
          value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub user_link_ttl_seconds: u64,
    /// Unregistered event types one tenant may have recorded (when it accepts them): each is a catalog row a
    /// producer makes just by publishing a new name. Past it, a new unknown type is refused with 422. 0 = no limit.
    #[arg(long, env = "HUB_MAX_UNREGISTERED_TYPES_PER_TENANT", default_value_t = 1000)]
    pub max_unregistered_types_per_tenant: u32,
    /// Seconds between SIGTERM and closing the listener, during which `/readyz` answers 503 so a load balancer
    /// stops sending new requests while everything is still served.
    #[arg(long, env = "HUB_DRAIN_SECONDS", default_value_t = 0)]
    pub drain_seconds: u64,
    /// The SMTP server email destinations send through: `smtps://user:pass@host:465` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtp://host:25` (plain, e.g. a local relay).
    /// Unset: email destinations cannot be created.
    #[arg(long, env = "HUB_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From address of every email, e.g. `Integration Hub <hub@example.com>`; required with HUB_SMTP_URL.
    #[arg(long, env = "HUB_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// A tenant id that also receives every operational notice (`hub.*` events: endpoint disabled, delivery
    /// dead-lettered, key expiring, quota reached) of every tenant, for the operators to route.
    #[arg(long, env = "HUB_OPS_TENANT")]
    pub ops_tenant: Option<String>,
    /// Days before an API key expires that its tenant gets `hub.api_key.expiring`. 0 = never.
    #[arg(long, env = "HUB_KEY_EXPIRY_NOTICE_DAYS", default_value_t = 7)]
    pub key_expiry_notice_days: u32,
}

fn default_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl ServeArgs {
    /// Parses serve flags from an argument list (plus `HUB_*` env), for embedding and tests.
    pub fn parse_args<I: IntoIterator<Item = &'static str>>(args: I) -> Result<Self, String> {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let argv = std::iter::once("integration-hub").chain(args);
        Wrapper::try_parse_from(argv).map(|w| w.serve).map_err(|e| e.to_string())
    }
}

/// Validated configuration, built once from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub master_key: Option<[u8; 32]>,
    pub serve: ServeArgs,
    pub base_url: url::Url,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub target_policy: crate::server::delivery::ssrf::TargetPolicy,
    /// Connected apps' providers as this deployment configures them (`HUB_OAUTH_<PROVIDER>_*`, read once).
    pub apps: crate::server::apps::providers::Providers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// Path of the SQLite file.
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(format!("HUB_DATABASE_URL {url:?} has no file path; use sqlite://data/hub.db"));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url::Url::parse(url).map_err(|e| format!("HUB_DATABASE_URL is not a valid PostgreSQL URL: {e}"))?;
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        Err(format!(
            "HUB_DATABASE_URL {:?} is not supported; use sqlite://path/hub.db or postgres://user@host/db",
            redact_url(url)
        ))
    }
}

/// Drops a password from a URL before it is printed.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

pub fn parse_master_key(s: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(s.trim()).map_err(|_| {
        "HUB_MASTER_KEY must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`".to_string()
    })?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "HUB_MASTER_KEY must be 32 bytes (64 hex characters) but is {} bytes; generate one with `openssl rand -hex 32`",
            b.len()
        )
    })
}

pub fn parse_cidr_list(s: &str, what: &str) -> Result<Vec<ipnet::IpNet>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{what}: {p:?} is not an IP address or CIDR"))
        })
        .collect()
}

impl Config {
    pub fn from_args(common: &CommonArgs, serve: ServeArgs) -> Result<Self, String> {
        let database = DatabaseUrl::parse(&common.database_url)?;
        let master_key = common.master_key.as_deref().map(parse_master_key).transpose()?;
        if matches!(database, DatabaseUrl::Postgres(_)) && master_key.is_none() {
            return Err("HUB_MASTER_KEY is required with PostgreSQL (64 hex chars; `openssl rand -hex 32`)".into());
        }
        let base = serve.base_url.clone().unwrap_or_else(|| format!("http://{}", serve.addr));
        let base_url = url::Url::parse(&base).map_err(|e| format!("HUB_BASE_URL {base:?} is not a URL: {e}"))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(format!("HUB_BASE_URL {base:?} must start with http:// or https://"));
        }
        let trusted_proxies = parse_cidr_list(&serve.trusted_proxies, "HUB_TRUSTED_PROXIES")?;
        if serve.metrics_token.as_ref().is_some_and(|t| t.trim().len() < 16) {
            return Err(
                "HUB_METRICS_TOKEN must be at least 16 characters; generate one with `openssl rand -hex 32`".into()
            );
        }
        let target_policy = crate::server::delivery::ssrf::TargetPolicy::parse_allow_list(&serve.allow_private_targets)
            .map_err(|e| format!("HUB_ALLOW_PRIVATE_TARGETS: {e}"))?
            .with_egress_proxy(serve.egress_proxy.as_deref())
            .map_err(|e| format!("HUB_EGRESS_PROXY: {e}"))?;
        let apps = crate::server::apps::providers::Providers::from_env();
        Ok(Config { database, master_key, serve, base_url, trusted_proxies, target_policy, apps })
    }

    /// The one redirect URI every provider sends people back to (`<HUB_BASE_URL>/oauth/callback`); it is what
    /// the operator registers with each provider.
    pub fn oauth_redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.base_url.as_str().trim_end_matches('/'))
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(DatabaseUrl::parse("sqlite://data/hub.db").unwrap(), DatabaseUrl::Sqlite("data/hub.db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(), DatabaseUrl::Sqlite("/tmp/x.db".into()));
        assert!(DatabaseUrl::parse("postgres://u@localhost/test").is_ok());
        let err = DatabaseUrl::parse("mysql://x").unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn master_key_length_is_checked() {
        assert!(parse_master_key(&"ab".repeat(32)).is_ok());
        let err = parse_master_key(&"ab".repeat(16)).unwrap_err();
        assert!(err.contains("is 16 bytes"), "{err}");
        assert!(parse_master_key("zz").unwrap_err().contains("64 hex"));
    }

    #[test]
    fn password_is_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:****@h/db");
    }
}
