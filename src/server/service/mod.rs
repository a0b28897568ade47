//! Business rules. The UI's server functions, the REST API and the CLI all call these functions, so a rule
//! lives in exactly one place. Errors are [`AppError`]s, ready for either boundary.

pub mod accounts;

use crate::model::AppError;
use crate::server::auth::crypto::MasterKey;
use crate::server::auth::throttle::LoginThrottle;
use crate::server::config::{Config, DatabaseUrl};
use crate::server::store::Store;
use std::sync::Arc;

/// Everything a request handler needs, built once at start and shared.
pub struct Hub {
    pub store: Store,
    pub config: Config,
    pub master_key: MasterKey,
    pub throttle: LoginThrottle,
}

pub type AppState = Arc<Hub>;

impl Hub {
    /// Connects, migrates and loads the master key: everything that can fail on bad configuration.
    pub async fn open(config: Config) -> Result<AppState, String> {
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        let key = match (&config.master_key, &config.database) {
            (Some(k), _) => *k,
            (None, DatabaseUrl::Sqlite(path)) => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                MasterKey::load_or_create(&dir.join("master.key"))?
            }
            (None, DatabaseUrl::Postgres(_)) => return Err("HUB_MASTER_KEY is required with PostgreSQL".into()),
        };
        Ok(Arc::new(Hub { store, config, master_key: MasterKey::new(&key), throttle: LoginThrottle::default() }))
    }
}

/// Database failures are logged here with their detail and reach the caller as a plain 500.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::internal()
    }
}
