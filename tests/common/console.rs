//! What the console's tests start from: a hub served on loopback with two tenants, Acme and Globex, and a
//! signed-in user of Acme whose browser calls server functions.

use super::api::Api;
use super::fixtures::signed_in_user;
use super::Backend;
use integration_hub::server::service::{Actor, AppState};
use serde_json::Value;

pub struct Console {
    /// The engine's name, for assertion messages.
    pub n: &'static str,
    pub hub: AppState,
    pub api: Api,
    pub acme: String,
    pub globex: String,
    /// Acme's signed-in user's cookie.
    pub cookie: String,
    _b: Backend,
}

impl Console {
    pub async fn start(b: Backend) -> Console {
        let hub = super::hub(&b).await;
        let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
        let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap().id;
        let token = signed_in_user(&hub, &acme).await;
        let api = Api::serve(&hub).await;
        Console { n: b.name, hub, api, acme, globex, cookie: format!("hub_session={token}"), _b: b }
    }

    /// Calls a server function as Acme's user: the status and the answer's text.
    pub async fn call(&self, name: &str, body: Value) -> (u16, String) {
        self.api.server_fn(&self.cookie, name, body).await
    }

    /// Calls a server function as Acme's user: the status and the parsed answer (`null` when not JSON).
    pub async fn call_json(&self, name: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.call(name, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
