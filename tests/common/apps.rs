//! The connected-apps rig: a hub whose one provider answers at the real OAuth server ([`super::oauth`],
//! tests/oauth) and at that provider's stand-in ([`super::providers`]), with the hub's client registered there and
//! an admin to act as; with or without a delivery worker. Each test file adds what only it needs as an extension
//! trait of its own.
//!
//! ```ignore
//! let rig = Rig::delivering(&b, Provider::HubSpot).await;
//! let tenant = rig.tenant("Acme").await;
//! let c = rig.connect(&tenant, Value::Null).await;
//! rig.publish(&tenant, "contact.created", data).await;
//! ```

use super::oauth::{ClientAuth, ClientReg, OAuthServer};
use super::providers::{Provider, ProviderStandIn};
use super::{Backend, Worker};
use integration_hub::model::{
    Connection, ConnectionSettingsUpdate, PublishEvent, Role, SyncKind, SyncLog, SyncLogQuery, SyncRequest, User,
};
use integration_hub::server::apps::providers::Providers;
use integration_hub::server::service::{Actor, AppState};
use serde_json::{json, Value};
use std::time::Duration;

/// The admin's session the authorize flow is bound to.
const SESSION: &str = "session-hash-of-the-admin";

/// A hub whose `provider` is the local OAuth server and stand-in.
pub struct Rig {
    pub hub: AppState,
    pub oauth: OAuthServer,
    pub api: ProviderStandIn,
    pub admin: User,
    pub provider: Provider,
    /// Delivers published trigger events to the connections; without it only Sync now sends anything.
    pub worker: Option<Worker>,
}

/// How each provider's client authenticates at its token endpoint, as the providers document it.
pub fn client_auth(p: Provider) -> ClientAuth {
    match p {
        Provider::GoogleCalendar | Provider::Zoom | Provider::Salesforce => ClientAuth::Basic,
        Provider::Outlook | Provider::HubSpot | Provider::Mailchimp => ClientAuth::Post,
    }
}

impl Rig {
    /// The rig without a delivery worker.
    pub async fn start(b: &Backend, provider: Provider) -> Rig {
        let oauth = OAuthServer::start(&[]).await;
        let api = ProviderStandIn::start(provider, &oauth).await;
        let mut client = ClientReg::new(&format!("hub-{}", provider.id()), "client-secret", "http://placeholder/")
            .auth(client_auth(provider));
        let mut vars = oauth.env_for(provider.id(), &client);
        if provider == Provider::Salesforce {
            // Salesforce names the API's address in the token answer.
            client = client.token_extras(json!({"instance_url": api.base()}));
        } else {
            vars.push((format!("HUB_OAUTH_{}_API_BASE", provider.id().to_uppercase()), api.base().to_string()));
        }
        let hub = super::hub_configured(b, |c| c.apps = Providers::from_vars(vars)).await;
        client.redirect_uris = vec![hub.oauth_redirect_uri()];
        oauth.register(&client).await;
        // Named after the provider: some tests run several rigs on one database.
        let email = format!("root-{}@hub.test", provider.id());
        let admin = hub.create_user(Actor::System, &email, "admin-password-1", Role::Admin, None).await.unwrap();
        Rig { hub, oauth, api, admin, provider, worker: None }
    }

    /// The rig with a delivery worker running (stop it with [`Rig::stop`]).
    pub async fn delivering(b: &Backend, provider: Provider) -> Rig {
        let mut rig = Rig::start(b, provider).await;
        rig.worker = Some(Worker::start(&rig.hub));
        rig
    }

    /// A tenant of its own, named after the provider too (several rigs may share a database).
    pub async fn tenant(&self, name: &str) -> String {
        let name = format!("{name} {}", self.provider.id());
        self.hub.create_tenant(Actor::System, &name).await.unwrap().id
    }

    /// Connects the tenant as its admin would: the authorize URL, the provider's sign-in and consent, the
    /// callback; then the connection's `settings` unless they are `Value::Null`.
    pub async fn connect(&self, tenant: &str, settings: Value) -> Connection {
        let actor = Actor::User(&self.admin);
        let url =
            self.hub.begin_app_authorize(actor, Some(tenant), self.provider.id(), Some(SESSION)).await.unwrap().url;
        let (code, state) = self.oauth.follow_authorize(&url).await;
        let connected = self.hub.complete_app_authorize(&self.admin, SESSION, &state, Some(&code), None).await;
        let c = connected
            .unwrap_or_else(|e| panic!("{}: the callback failed: {}", self.provider.id(), e.message))
            .connection;
        if settings.is_null() {
            return c;
        }
        let u = ConnectionSettingsUpdate { settings: Some(settings), enabled: None };
        self.hub.update_app_connection(Actor::User(&self.admin), &c.id, u).await.unwrap()
    }

    /// Publishes an event for the tenant; returns its id. Event ids sort by their millisecond, so the next one
    /// waits for the next millisecond (the order a run sends them in is the order they were published).
    pub async fn publish(&self, tenant: &str, event_type: &str, data: Value) -> String {
        let e =
            PublishEvent { event_type: event_type.into(), data, tenant_id: Some(tenant.into()), ..Default::default() };
        let id = self.hub.publish(Actor::System, e).await.unwrap().id;
        tokio::time::sleep(Duration::from_millis(2)).await;
        id
    }

    /// Asks, as the admin, for a run of `kind` on the connection; returns its log as it starts.
    pub async fn sync(&self, connection: &str, kind: SyncKind) -> SyncLog {
        let started = self.hub.request_app_sync(Actor::User(&self.admin), connection, SyncRequest { kind }).await;
        started.unwrap()
    }

    /// The connection's sync logs, oldest first.
    pub async fn logs(&self, connection: &str) -> Vec<SyncLog> {
        let q = SyncLogQuery { limit: Some(500), ..Default::default() };
        let mut logs = self.hub.app_sync_logs(Actor::User(&self.admin), connection, &q).await.unwrap().data;
        logs.reverse();
        logs
    }

    /// Stops the delivery worker, if there is one, and waits for it.
    pub async fn stop(mut self) {
        if let Some(w) = self.worker.take() {
            w.stop().await;
        }
    }
}
