//! Code samples, written once here and shown on each event type and in the API reference: publishing an event
//! (curl, Node, Python, Go, Rust) and receiving a delivery verified by the stock Standard Webhooks library of
//! each language. `tests/samples.rs` runs the curl, Node and Python ones against a real hub, so what a reader
//! copies is what was tested.
//!
//! Conventions every sample shares: the API key comes from `HUB_API_KEY`, the endpoint's signing secret from
//! `WEBHOOK_SECRET`, a receiver listens on `PORT` (default 8000), prints `verified <webhook-id> <type>` or
//! `refused: <reason>`, and answers 204 or 400.

use serde_json::Value;

/// The library versions the samples name (the same ones the tests install: package.json, scripts/samples-deps.sh).
pub const STANDARDWEBHOOKS_NPM: &str = "1.3.0";
pub const STANDARDWEBHOOKS_PYPI: &str = "1.3.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleLang {
    Curl,
    Node,
    Python,
    Go,
    Rust,
}

impl SampleLang {
    pub const ALL: [SampleLang; 5] =
        [SampleLang::Curl, SampleLang::Node, SampleLang::Python, SampleLang::Go, SampleLang::Rust];

    pub fn label(self) -> &'static str {
        match self {
            SampleLang::Curl => "curl",
            SampleLang::Node => "Node.js",
            SampleLang::Python => "Python",
            SampleLang::Go => "Go",
            SampleLang::Rust => "Rust",
        }
    }

    /// A stable id for the UI (tab ids, test ids).
    pub fn id(self) -> &'static str {
        match self {
            SampleLang::Curl => "curl",
            SampleLang::Node => "node",
            SampleLang::Python => "python",
            SampleLang::Go => "go",
            SampleLang::Rust => "rust",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// `POST /api/v1/events` with an API key.
    Publish,
    /// A receiver checking each delivery's signature.
    Verify,
}

impl SampleKind {
    /// The languages with a sample of this kind (a shell has no Standard Webhooks library to verify with).
    pub fn languages(self) -> &'static [SampleLang] {
        match self {
            SampleKind::Publish => &SampleLang::ALL,
            SampleKind::Verify => &[SampleLang::Node, SampleLang::Python, SampleLang::Go, SampleLang::Rust],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SampleKind::Publish => "Publish this event",
            SampleKind::Verify => "Receive and verify a delivery",
        }
    }
}

/// What a sample is about: the hub's address (as the reader's browser sees it) and the event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleInput<'a> {
    pub base_url: &'a str,
    pub event_type: &'a str,
    pub data: &'a Value,
}

/// One sample: the file name it runs as and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub file_name: &'static str,
    pub text: String,
}

/// The sample of `kind` in `lang`, or None when that language has none of this kind.
pub fn sample(kind: SampleKind, lang: SampleLang, input: &SampleInput<'_>) -> Option<Sample> {
    let url = format!("{}/api/v1/events", input.base_url.trim_end_matches('/'));
    let body = serde_json::json!({ "type": input.event_type, "data": input.data });
    let pretty = serde_json::to_string_pretty(&body).unwrap_or_default();
    let t = input.event_type;
    let (file_name, text) = match (kind, lang) {
        (SampleKind::Publish, SampleLang::Curl) => (
            "publish.sh",
            format!(
                "# Publishes one `{t}` event. Run: HUB_API_KEY=ihk_live_… sh publish.sh\n\
                 curl -sS --fail-with-body -X POST {url} \\\n  \
                 -H \"Authorization: Bearer $HUB_API_KEY\" \\\n  \
                 -H 'Content-Type: application/json' \\\n  \
                 --data-binary @- <<'JSON'\n{pretty}\nJSON\n",
                url = shell_quote(&url)
            ),
        ),
        (SampleKind::Publish, SampleLang::Node) => (
            "publish.mjs",
            format!(
                "// Publishes one `{t}` event (Node 18+). Run: HUB_API_KEY=ihk_live_… node publish.mjs\n\
                 const res = await fetch({url}, {{\n  \
                 method: \"POST\",\n  \
                 headers: {{ Authorization: `Bearer ${{process.env.HUB_API_KEY}}`, \"Content-Type\": \"application/json\" }},\n  \
                 body: JSON.stringify({body}),\n\
                 }});\n\
                 console.log(res.status, await res.text());\n\
                 if (!res.ok) process.exit(1);\n",
                url = js_string(&url),
                body = indent(&pretty, "  ")
            ),
        ),
        (SampleKind::Publish, SampleLang::Python) => (
            "publish.py",
            format!(
                "# Publishes one `{t}` event (standard library only). Run: HUB_API_KEY=ihk_live_… python3 publish.py\n\
                 import json\nimport os\nimport urllib.request\n\n\
                 event = {event}\n\
                 request = urllib.request.Request(\n    \
                 {url},\n    \
                 data=json.dumps(event).encode(),\n    \
                 method=\"POST\",\n    \
                 headers={{\"Authorization\": \"Bearer \" + os.environ[\"HUB_API_KEY\"], \"Content-Type\": \"application/json\"}},\n\
                 )\n\
                 # A 4xx or 5xx answer raises urllib.error.HTTPError, whose body says what was wrong.\n\
                 with urllib.request.urlopen(request) as response:\n    \
                 print(response.status, response.read().decode())\n",
                url = js_string(&url),
                event = python_literal(&body, 0)
            ),
        ),
        (SampleKind::Publish, SampleLang::Go) => (
            "publish.go",
            format!(
                "// Publishes one `{t}` event. Run: HUB_API_KEY=ihk_live_… go run publish.go\n\
                 package main\n\n\
                 import (\n\t\"fmt\"\n\t\"io\"\n\t\"log\"\n\t\"net/http\"\n\t\"os\"\n\t\"strings\"\n)\n\n\
                 const event = {event}\n\n\
                 func main() {{\n\t\
                 req, err := http.NewRequest(\"POST\", {url}, strings.NewReader(event))\n\t\
                 if err != nil {{\n\t\tlog.Fatal(err)\n\t}}\n\t\
                 req.Header.Set(\"Authorization\", \"Bearer \"+os.Getenv(\"HUB_API_KEY\"))\n\t\
                 req.Header.Set(\"Content-Type\", \"application/json\")\n\t\
                 res, err := http.DefaultClient.Do(req)\n\t\
                 if err != nil {{\n\t\tlog.Fatal(err)\n\t}}\n\t\
                 defer res.Body.Close()\n\t\
                 answer, _ := io.ReadAll(res.Body)\n\t\
                 fmt.Println(res.StatusCode, string(answer))\n\t\
                 if res.StatusCode >= 300 {{\n\t\tos.Exit(1)\n\t}}\n\
                 }}\n",
                url = js_string(&url),
                event = go_string(&pretty)
            ),
        ),
        (SampleKind::Publish, SampleLang::Rust) => (
            "publish.rs",
            format!(
                "// Publishes one `{t}` event. Cargo.toml: reqwest = {{ version = \"0.12\", features = [\"json\"] }},\n\
                 // serde_json = \"1\", tokio = {{ version = \"1\", features = [\"full\"] }}\n\
                 #[tokio::main]\n\
                 async fn main() -> Result<(), Box<dyn std::error::Error>> {{\n    \
                 let key = std::env::var(\"HUB_API_KEY\")?;\n    \
                 let event = serde_json::json!({event});\n    \
                 let res = reqwest::Client::new().post({url}).bearer_auth(key).json(&event).send().await?;\n    \
                 println!(\"{{}} {{}}\", res.status(), res.text().await?);\n    \
                 Ok(())\n\
                 }}\n",
                url = js_string(&url),
                event = indent(&pretty, "    ")
            ),
        ),
        (SampleKind::Verify, SampleLang::Node) => (
            "verify.mjs",
            format!(
                "// Receives deliveries and checks their signature with the Standard Webhooks library.\n\
                 // npm install standardwebhooks@{STANDARDWEBHOOKS_NPM}   Run: WEBHOOK_SECRET=whsec_… node verify.mjs\n\
                 import http from \"node:http\";\n\
                 import {{ Webhook }} from \"standardwebhooks\";\n\n\
                 const webhook = new Webhook(process.env.WEBHOOK_SECRET);\n\
                 const port = Number(process.env.PORT ?? 8000);\n\n\
                 http\n  \
                 .createServer((req, res) => {{\n    \
                 const chunks = [];\n    \
                 req.on(\"data\", (chunk) => chunks.push(chunk));\n    \
                 req.on(\"end\", () => {{\n      \
                 // Verify the raw body exactly as received: parsing and re-serialising it breaks the signature.\n      \
                 const body = Buffer.concat(chunks).toString(\"utf8\");\n      \
                 try {{\n        \
                 const event = webhook.verify(body, req.headers);\n        \
                 console.log(`verified ${{req.headers[\"webhook-id\"]}} ${{event.type}}`);\n        \
                 res.writeHead(204).end();\n      \
                 }} catch (err) {{\n        \
                 console.log(`refused: ${{err.message}}`);\n        \
                 res.writeHead(400).end();\n      \
                 }}\n    \
                 }});\n  \
                 }})\n  \
                 .listen(port, () => console.log(`listening on ${{port}}`));\n"
            ),
        ),
        (SampleKind::Verify, SampleLang::Python) => (
            "verify.py",
            format!(
                "# Receives deliveries and checks their signature with the Standard Webhooks library.\n\
                 # pip install standardwebhooks=={STANDARDWEBHOOKS_PYPI}   Run: WEBHOOK_SECRET=whsec_… python3 verify.py\n\
                 import os\n\
                 from http.server import BaseHTTPRequestHandler, HTTPServer\n\n\
                 from standardwebhooks.webhooks import Webhook, WebhookVerificationError\n\n\
                 webhook = Webhook(os.environ[\"WEBHOOK_SECRET\"])\n\n\n\
                 class Receiver(BaseHTTPRequestHandler):\n    \
                 def do_POST(self):\n        \
                 # Verify the raw body exactly as received: parsing and re-serialising it breaks the signature.\n        \
                 body = self.rfile.read(int(self.headers.get(\"Content-Length\", 0)))\n        \
                 try:\n            \
                 event = webhook.verify(body, dict(self.headers))\n        \
                 except WebhookVerificationError as err:\n            \
                 print(f\"refused: {{err}}\", flush=True)\n            \
                 self.send_response(400)\n        \
                 else:\n            \
                 print(f\"verified {{self.headers['webhook-id']}} {{event['type']}}\", flush=True)\n            \
                 self.send_response(204)\n        \
                 self.end_headers()\n\n    \
                 def log_message(self, *args):\n        \
                 pass\n\n\n\
                 port = int(os.environ.get(\"PORT\", 8000))\n\
                 print(f\"listening on {{port}}\", flush=True)\n\
                 HTTPServer((\"\", port), Receiver).serve_forever()\n"
            ),
        ),
        (SampleKind::Verify, SampleLang::Go) => (
            "verify.go",
            "// Receives deliveries and checks their signature with the Standard Webhooks library.\n\
             // go get github.com/standard-webhooks/standard-webhooks/libraries   Run: WEBHOOK_SECRET=whsec_… go run verify.go\n\
             package main\n\n\
             import (\n\t\"fmt\"\n\t\"io\"\n\t\"log\"\n\t\"net/http\"\n\t\"os\"\n\n\t\
             standardwebhooks \"github.com/standard-webhooks/standard-webhooks/libraries/go\"\n)\n\n\
             func main() {\n\t\
             webhook, err := standardwebhooks.NewWebhook(os.Getenv(\"WEBHOOK_SECRET\"))\n\t\
             if err != nil {\n\t\tlog.Fatal(err)\n\t}\n\t\
             http.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) {\n\t\t\
             // Verify the raw body exactly as received: parsing and re-serialising it breaks the signature.\n\t\t\
             body, err := io.ReadAll(r.Body)\n\t\t\
             if err == nil {\n\t\t\terr = webhook.Verify(body, r.Header)\n\t\t}\n\t\t\
             if err != nil {\n\t\t\tfmt.Println(\"refused:\", err)\n\t\t\tw.WriteHeader(http.StatusBadRequest)\n\t\t\treturn\n\t\t}\n\t\t\
             fmt.Println(\"verified\", r.Header.Get(\"webhook-id\"))\n\t\t\
             w.WriteHeader(http.StatusNoContent)\n\t\
             })\n\t\
             port := os.Getenv(\"PORT\")\n\t\
             if port == \"\" {\n\t\tport = \"8000\"\n\t}\n\t\
             fmt.Println(\"listening on\", port)\n\t\
             log.Fatal(http.ListenAndServe(\":\"+port, nil))\n\
             }\n"
                .to_string(),
        ),
        (SampleKind::Verify, SampleLang::Rust) => (
            "verify.rs",
            "// Receives deliveries and checks their signature with the Standard Webhooks library.\n\
             // Cargo.toml: standardwebhooks = \"1\", axum = \"0.8\", tokio = { version = \"1\", features = [\"full\"] }\n\
             use axum::{body::Bytes, http::{HeaderMap, StatusCode}, routing::post, Router};\n\
             use std::sync::Arc;\n\n\
             #[tokio::main]\n\
             async fn main() {\n    \
             let secret = std::env::var(\"WEBHOOK_SECRET\").expect(\"WEBHOOK_SECRET\");\n    \
             let webhook = Arc::new(standardwebhooks::Webhook::new(&secret).expect(\"a whsec_… secret\"));\n    \
             // Verify the raw body exactly as received: parsing and re-serialising it breaks the signature.\n    \
             let receive = move |headers: HeaderMap, body: Bytes| async move {\n        \
             match webhook.verify(&body, &headers) {\n            \
             Ok(()) => {\n                \
             println!(\"verified {:?}\", headers.get(\"webhook-id\"));\n                \
             StatusCode::NO_CONTENT\n            \
             }\n            \
             Err(err) => {\n                \
             println!(\"refused: {err}\");\n                \
             StatusCode::BAD_REQUEST\n            \
             }\n        \
             }\n    \
             };\n    \
             let port = std::env::var(\"PORT\").unwrap_or_else(|_| \"8000\".into());\n    \
             let listener = tokio::net::TcpListener::bind(format!(\"0.0.0.0:{port}\")).await.unwrap();\n    \
             axum::serve(listener, Router::new().fallback(post(receive))).await.unwrap();\n\
             }\n"
                .to_string(),
        ),
        (SampleKind::Verify, SampleLang::Curl) => return None,
    };
    Some(Sample { file_name, text })
}

/// `s` as a single-quoted POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `s` as a double-quoted string literal that JavaScript, Python, Go and Rust all read alike: serde_json escapes
/// only `"`, `\\` and control characters (which no address or event type holds) and writes the rest as itself.
fn js_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A Go string constant holding `json`: a raw string when it has no backquote, else an interpreted one.
fn go_string(json: &str) -> String {
    if json.contains('`') {
        js_string(json)
    } else {
        format!("`{json}`")
    }
}

/// Indents every line but the first by `pad` (the first continues the line it is placed on).
fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.to_string() } else { format!("{pad}{l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `v` as a Python literal (`None`, `True`, dicts and lists), laid out like pretty JSON.
fn python_literal(v: &Value, depth: usize) -> String {
    let pad = "    ".repeat(depth + 1);
    let close = "    ".repeat(depth);
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => js_string(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|x| format!("{pad}{}", python_literal(x, depth + 1))).collect();
            format!("[\n{},\n{close}]", inner.join(",\n"))
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let inner: Vec<String> =
                map.iter().map(|(k, x)| format!("{pad}{}: {}", js_string(k), python_literal(x, depth + 1))).collect();
            format!("{{\n{},\n{close}}}", inner.join(",\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(data: &Value) -> SampleInput<'_> {
        SampleInput { base_url: "https://hub.example/", event_type: "ticket.created", data }
    }

    #[test]
    fn every_language_of_each_kind_has_a_sample_naming_the_event_and_the_address() {
        let data = serde_json::json!({"ticket": {"id": "T-1", "open": true, "tags": [], "owner": null}});
        for kind in [SampleKind::Publish, SampleKind::Verify] {
            for lang in SampleLang::ALL {
                let s = sample(kind, lang, &input(&data));
                assert_eq!(s.is_some(), kind.languages().contains(&lang), "{kind:?} {lang:?}");
                let Some(s) = s else { continue };
                if kind == SampleKind::Publish {
                    assert!(s.text.contains("https://hub.example/api/v1/events"), "{lang:?}: {}", s.text);
                    assert!(s.text.contains("ticket.created") && s.text.contains("T-1"), "{lang:?}");
                    assert!(s.text.contains("HUB_API_KEY"), "{lang:?}");
                } else {
                    assert!(s.text.contains("WEBHOOK_SECRET"), "{lang:?}");
                }
            }
        }
    }

    #[test]
    fn python_gets_python_literals_and_the_shell_a_quoted_address() {
        let data = serde_json::json!({"a": true, "b": null, "c": [1, "x"]});
        let py = sample(SampleKind::Publish, SampleLang::Python, &input(&data)).unwrap().text;
        assert!(py.contains("\"a\": True") && py.contains("\"b\": None"), "{py}");
        let odd = SampleInput { base_url: "http://h/it's", ..input(&data) };
        let sh = sample(SampleKind::Publish, SampleLang::Curl, &odd).unwrap().text;
        assert!(sh.contains(r"'http://h/it'\''s/api/v1/events'"), "{sh}");
        assert_eq!(go_string("a`b"), "\"a`b\"");
    }
}
