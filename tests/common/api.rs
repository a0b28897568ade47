//! A client of the REST API (`/api/v1`) of a hub served by [`super::serve`], authenticating with an API key.

use integration_hub::server::service::AppState;
use serde_json::Value;

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    /// The hub's own origin, which server functions require of a browser's call.
    pub origin: String,
}

impl Api {
    /// Serves the hub's router on a loopback port and returns a client of it.
    pub async fn serve(hub: &AppState) -> Api {
        let origin = hub.config.base_url.origin().ascii_serialization();
        Api { http: reqwest::Client::new(), base: super::serve(hub.clone()).await, origin }
    }

    /// Calls the server function `name` as the browser of the session in `cookie` (`hub_session=…`) does:
    /// the status and the answer's text.
    pub async fn server_fn(&self, cookie: &str, name: &str, body: Value) -> (u16, String) {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header(reqwest::header::COOKIE, cookie)
            .header(reqwest::header::ORIGIN, &self.origin)
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Sends `method path` with the key as a bearer token and `body` as JSON.
    pub async fn send(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> reqwest::Response {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self.http.request(method.parse().unwrap(), url).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// The status and the parsed answer (`null` when it is not JSON).
    pub async fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let (status, value, _) = self.call_text(method, path, key, body).await;
        (status, value)
    }

    /// The status, the parsed answer and its raw text (to check that something appears nowhere in it).
    pub async fn call_text(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value, String) {
        let res = self.send(method, path, key, body).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
    }
}
