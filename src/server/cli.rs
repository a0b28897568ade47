//! Entry point of the binary: parse the command line, then serve or run a one-shot admin command.

use super::config::{Cli, Command, Config, DatabaseUrl, KeyCommand, LogFormat, ServeArgs, TenantCommand, UserCommand};
use super::service::Actor;
use super::service::{AppState, Hub};
use super::store::Store;
use crate::model::{CreateApiKey, RateTier, Role, Scope};
use clap::Parser;
use std::process::ExitCode;

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.common.log, cli.common.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line on stderr: what is wrong and how to fix it.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A consistent copy of the SQLite database (`VACUUM INTO`, a snapshot that running writers do not disturb),
/// taken without migrating or otherwise changing the database; and the reminder that the copy's secrets open
/// only with the master key it was sealed under.
async fn backup(config: &Config, to: &std::path::Path) -> Result<(), String> {
    let DatabaseUrl::Sqlite(path) = &config.database else {
        return Err("backup copies a SQLite database; back PostgreSQL up with pg_dump".into());
    };
    if !path.exists() {
        return Err(format!("there is no database at {} to back up", path.display()));
    }
    if to.exists() {
        return Err(format!("{} exists already: name a new file", to.display()));
    }
    let store = Store::connect(&config.database).await?;
    let copied = store.backup_into(to).await.map_err(|e| format!("backup failed: {e}"));
    store.close().await;
    copied?;
    let key = match &config.master_key {
        Some(_) => "the master key in HUB_MASTER_KEY".to_string(),
        None => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            format!("{}", dir.join("master.key").display())
        }
    };
    println!("backed up {} to {}", path.display(), to.display());
    println!("keep {key} with it: the endpoints' secrets in the copy open only with that key");
    Ok(())
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::parse_args([])?));
    let serve = match &command {
        Command::Serve(s) => s.clone(),
        _ => ServeArgs::parse_args([])?,
    };
    let config = Config::from_args(&cli.common, serve)?;
    if let Command::Backup { to } = &command {
        return backup(&config, to).await;
    }
    // Everything that can be wrong with the configuration is found before the database is touched (and before
    // a first admin is made in it).
    let site = match &command {
        Command::Serve(_) => Some(leptos_options(&config)?),
        _ => None,
    };
    let hub = Hub::open(config).await?;
    let result = match command {
        Command::Serve(_) => match site {
            Some(options) => serve_forever(hub.clone(), options).await,
            None => Ok(()),
        },
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Backup { .. } => Ok(()),
        Command::Tenant(TenantCommand::Create { name }) => {
            let t = hub.create_tenant(Actor::System, &name).await.map_err(|e| e.to_string())?;
            println!("{}", t.id);
            Ok(())
        }
        Command::Tenant(TenantCommand::List) => {
            for t in hub.store.list_tenants().await.map_err(|e| e.to_string())? {
                println!("{}\t{}", t.id, t.name);
            }
            Ok(())
        }
        Command::User(UserCommand::Create { email, role, tenant, password }) => {
            let role = Role::parse(&role).unwrap_or(Role::Tenant);
            let generated = password.is_none().then(super::auth::password::generate);
            let pw = password.or_else(|| generated.clone()).unwrap_or_default();
            let u = hub.create_user(Actor::System, &email, &pw, role, tenant.as_deref()).await.map_err(|e| match e
                .fields
                .first()
            {
                Some(f) => format!("{}: {}", f.field, f.message),
                None => e.to_string(),
            })?;
            println!("{}", u.id);
            if let Some(p) = generated {
                println!("password: {p}");
            }
            Ok(())
        }
        Command::Key(KeyCommand::Create { tenant, name, scopes, tier, per_minute, per_hour }) => {
            let scopes = scopes
                .iter()
                .map(|s| Scope::parse(s).ok_or_else(|| format!("unknown scope {s:?}; known: {}", scope_names())))
                .collect::<Result<Vec<_>, _>>()?;
            let tier = tier
                .map(|t| {
                    RateTier::parse(&t)
                        .filter(|t| *t != RateTier::Custom)
                        .ok_or_else(|| format!("unknown tier {t:?}; use free, pro, enterprise or producer"))
                })
                .transpose()?;
            let custom = per_minute.is_some() || per_hour.is_some();
            let input = CreateApiKey {
                name,
                tenant_id: tenant,
                scopes,
                // No tier: the service picks the default for the key's kind (producer keys: `producer`).
                tier: if custom { Some(RateTier::Custom) } else { tier },
                rate_limit_per_minute: per_minute,
                rate_limit_per_hour: per_hour,
                ..Default::default()
            };
            let issued = hub.create_api_key(Actor::System, input).await.map_err(|e| match e.fields.first() {
                Some(f) => format!("{}: {}", f.field, f.message),
                None => e.to_string(),
            })?;
            println!("{}", issued.secret);
            // On stderr: scripts take the key from stdout (`KEY=$(integration-hub key create …)`).
            let k = &issued.key;
            eprintln!(
                "rate limits: {} (tier {})",
                RateTier::describe_limits(k.rate_limit_per_minute, k.rate_limit_per_hour),
                k.rate_tier().as_str()
            );
            Ok(())
        }
    };
    hub.store.close().await;
    result
}

fn scope_names() -> String {
    Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The Leptos runtime options built into the binary, with the hub's own address.
fn leptos_options(config: &Config) -> Result<leptos::config::LeptosOptions, String> {
    let mut options = super::site::leptos_options()?;
    options.site_addr = config.serve.addr;
    Ok(options)
}

async fn serve_forever(hub: AppState, options: leptos::config::LeptosOptions) -> Result<(), String> {
    let generated = hub
        .bootstrap(&hub.config.serve.admin_email, hub.config.serve.admin_password.as_deref())
        .await
        .map_err(|e| format!("cannot create the first admin: {e}"))?;
    if let Some(pw) = generated {
        // Printed once, on the first start only, straight to stderr: logs are shipped, indexed and kept, and a
        // password must not travel with them. The log only says where to look.
        let email = &hub.config.serve.admin_email;
        eprintln!(
            "\ncreated the first admin {email} with a generated password (shown once, not logged):\n\n    {pw}\n"
        );
        tracing::warn!(%email, "created the first admin with a generated password; it was printed once on stderr");
    }
    let readiness = super::app::Readiness::starting();
    let app = super::app::router_with_readiness(hub.clone(), options, readiness.clone());
    let listener = tokio::net::TcpListener::bind(hub.config.serve.addr)
        .await
        .map_err(|e| format!("cannot listen on {} (HUB_ADDR): {e}", hub.config.serve.addr))?;
    tracing::info!(addr = %hub.config.serve.addr, db = ?hub.store.dialect(), "listening on {}", hub.config.base_url);
    if hub.config.serve.base_url.is_none() && hub.config.serve.addr.ip().is_unspecified() {
        // The cross-site check compares a browser's Origin with the base URL exactly; http://0.0.0.0:… is
        // nobody's origin, so every sign-in would be refused.
        let fix = "set HUB_BASE_URL to the URL people open, or the browser UI's sign-in is refused as cross-site";
        tracing::warn!("HUB_BASE_URL is not set and HUB_ADDR listens on every interface: {fix}");
    }
    let metrics_listener = match hub.config.serve.metrics_addr {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} (HUB_METRICS_ADDR): {e}"))?;
            tracing::info!(%addr, "metrics on http://{addr}/metrics");
            Some(l)
        }
        None => None,
    };
    let sweeper = periodic(&hub, 3600, |hub| async move {
        if let Err(e) = hub.store.delete_expired_sessions().await {
            tracing::warn!(error = %e, "session cleanup failed");
        }
        hub.limiter.prune();
    });
    // Other instances on the same PostgreSQL database announce endpoint and catalog changes.
    let change_listener = tokio::spawn(hub.clone().listen_for_changes());
    // API key usage is counted in memory and written in batches (never a write per request).
    let usage_flusher = periodic(&hub, 3, |hub| async move {
        if let Err(e) = hub.flush_key_usage().await {
            tracing::warn!(error = %e, "API key usage flush failed; will retry");
        }
    });
    // Retention runs where deliveries are worked on; batches are small, so it never holds up the worker.
    let pruner = hub.config.serve.worker.then(|| {
        periodic(&hub, 600, |hub| async move {
            match hub.prune_at(crate::server::store::now_ms()).await {
                Ok(p) if p.deliveries + p.events > 0 => {
                    tracing::info!(deliveries = p.deliveries, events = p.events, "retention: pruned old rows")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention pass failed; will retry"),
            }
        })
    });
    // Operational notices about keys expiring soon; each key's is claimed once across instances.
    let key_notices = hub.config.serve.worker.then(|| {
        periodic(&hub, 3600, |hub| async move {
            if let Err(e) = hub.notify_expiring_keys(crate::server::store::now_ms()).await {
                tracing::warn!(error = %e, "the expiring-keys check failed; will retry");
            }
        })
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopping = hub.stopping.clone();
    let worker = hub.config.serve.worker.then(|| crate::server::delivery::worker::spawn(hub.worker_context(), stop_rx));
    let metrics_server = metrics_listener.map(|l| {
        let app = super::app::metrics_router(hub.clone());
        // Closes with the main listener (after the drain), so the last scrapes still see this instance.
        let mut stopped = stop_tx.subscribe();
        tokio::spawn(async move {
            let serve = axum::serve(l, app.into_make_service_with_connect_info::<std::net::SocketAddr>());
            let _ = serve.with_graceful_shutdown(async move { drop(stopped.wait_for(|s| *s).await) }).await;
        })
    });
    let drain = std::time::Duration::from_secs(hub.config.serve.drain_seconds);
    // Everything is up: from here /readyz answers 200 (while the database does).
    readiness.set_ready();
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Draining: /readyz says 503 (and live streams end) while requests are still served for
            // HUB_DRAIN_SECONDS, so a load balancer takes this instance out before its listener closes.
            stopping.send_replace(true);
            if !drain.is_zero() {
                tracing::info!(seconds = drain.as_secs(), "draining: /readyz answers 503, still serving");
                tokio::time::sleep(drain).await;
            }
            tracing::info!("shutting down: no new claims, finishing in-flight deliveries");
            let _ = stop_tx.send(true);
        })
        .await
        .map_err(|e| format!("server error: {e}"));
    if let Some(m) = metrics_server {
        let _ = m.await;
    }
    if let Some(w) = worker {
        let _ = w.await;
    }
    sweeper.abort();
    usage_flusher.abort();
    for task in [pruner, key_notices].into_iter().flatten() {
        task.abort();
    }
    change_listener.abort();
    if let Err(e) = hub.flush_key_usage().await {
        tracing::warn!(error = %e, "final API key usage flush failed");
    }
    tracing::info!("stopped");
    served
}

/// Runs `job` every `secs` seconds (first at once) until aborted.
fn periodic<F, Fut>(hub: &AppState, secs: u64, job: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let hub = hub.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(secs));
        loop {
            tick.tick().await;
            job(hub.clone()).await;
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
