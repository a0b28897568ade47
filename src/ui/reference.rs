//! The API reference, generated from the OpenAPI document of `/api/v1`: operations grouped by resource, their
//! parameters, bodies and answers, the schemas, code samples, and a "try it" form per operation.
//!
//! A native page rather than a bundled viewer: Swagger UI, Redoc and Scalar all apply inline styles, which the
//! pages' Content-Security-Policy (`style-src 'self'`, server/app.rs) refuses, and loosening it for one page
//! would loosen it where a session cookie lives. The key pasted for "try it" stays in this page's memory: it is
//! not saved anywhere and is sent only as the `Authorization` header of the request being tried.

use super::samples::CodeSamples;
use super::style::*;
use crate::server_fns::devtools::api_reference;
use leptos::prelude::*;
use leptos_meta::Title;
use serde_json::Value;

/// One operation of the document.
#[derive(Clone, Debug, PartialEq)]
struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    params: Vec<Param>,
    body: Option<String>,
    responses: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
struct Param {
    name: String,
    location: String,
    required: bool,
    kind: String,
    description: String,
}

/// A schema's name, or a readable type for an inline one (`string`, `[Webhook]`, `a | b`).
fn type_of(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            return list.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    let kind = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => "object".into(),
    };
    match s.get("items") {
        Some(items) if kind.starts_with("array") => format!("[{}]", type_of(items)),
        _ => kind,
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The operations grouped by resource (the first segment after `/api/v1`), in the document's order.
fn operations(doc: &Value) -> Vec<(String, Vec<Operation>)> {
    let mut groups: Vec<(String, Vec<Operation>)> = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return groups };
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, op) in item {
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: text(p, "name"),
                            location: text(p, "in"),
                            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                            kind: p.get("schema").map(type_of).unwrap_or_default(),
                            description: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op.pointer("/requestBody/content/application~1json/schema").map(type_of);
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|rs| rs.iter().map(|(code, r)| (code.clone(), text(r, "description"))).collect())
                .unwrap_or_default();
            let operation = Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                params,
                body,
                responses,
            };
            let group = path.trim_start_matches("/api/v1/").split('/').next().unwrap_or_default().to_string();
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, ops)) => ops.push(operation),
                None => groups.push((group, vec![operation])),
            }
        }
    }
    groups
}

/// A schema's property.
#[derive(Clone, Debug, PartialEq)]
struct Field {
    name: String,
    kind: String,
    required: bool,
    description: String,
}

/// Each schema with its properties.
fn schemas(doc: &Value) -> Vec<(String, Vec<Field>)> {
    let Some(all) = doc.pointer("/components/schemas").and_then(Value::as_object) else { return Vec::new() };
    all.iter()
        .map(|(name, s)| {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let props = s
                .get("properties")
                .and_then(Value::as_object)
                .map(|ps| {
                    ps.iter()
                        .map(|(p, v)| Field {
                            name: p.clone(),
                            kind: type_of(v),
                            required: required.contains(&p.as_str()),
                            description: text(v, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            (name.clone(), props)
        })
        .collect()
}

fn method_badge(method: &str) -> &'static str {
    match method {
        "GET" => badge("green"),
        "PATCH" => badge("amber"),
        "DELETE" => badge("red"),
        _ => badge("gray"),
    }
}

#[component]
pub fn ReferencePage() -> impl IntoView {
    let doc = Resource::new(|| (), |_| api_reference());
    let key = RwSignal::new(String::new());
    let example = serde_json::json!({"ticket": {"id": "T-1", "title": "Printer on fire"}});
    view! {
        <Title text="API reference"/>
        <div class="mx-auto max-w-5xl space-y-8">
            <div>
                <h1 class="text-2xl font-semibold">"API reference"</h1>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    "Every route of " <code class="font-mono">"/api/v1"</code> ", from " <a class="text-indigo-700 underline dark:text-indigo-300" href="/api/v1/openapi.json">"the OpenAPI document"</a>
                    ". Send an API key as " <code class="font-mono">"Authorization: Bearer ihk_live_…"</code> "; each route names the scope it needs."
                </p>
            </div>
            <section aria-labelledby="try-key-title" class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                <h2 id="try-key-title" class="text-lg font-semibold">"Try it"</h2>
                <label for="reference-key" class=LABEL>"API key"</label>
                <input id="reference-key" type="password" autocomplete="off" spellcheck="false" class=INPUT_CLASS placeholder="ihk_live_…"
                    aria-describedby="reference-key-hint" prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev))/>
                <p id="reference-key-hint" class="mt-1 text-xs text-slate-600 dark:text-slate-400">
                    "Kept in this page's memory only: never saved, and sent only as the bearer token of the requests you try here."
                </p>
            </section>
            <section aria-labelledby="samples-title" class="rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                <h2 id="samples-title" class="mb-3 text-lg font-semibold">"Code samples"</h2>
                <CodeSamples event_type="ticket.created" data=example/>
            </section>
            <Suspense fallback=|| view! { <p class="text-sm">"Loading the API description…"</p> }>
                {move || doc.get().map(|r| match r {
                    Err(e) => view! { <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                    Ok(doc) => view! { <Document doc=doc key=key/> }.into_any(),
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn Document(doc: Value, key: RwSignal<String>) -> impl IntoView {
    let groups = operations(&doc);
    let schemas = schemas(&doc);
    view! {
        <nav aria-label="Resources" class="flex flex-wrap gap-2">
            {groups.iter().map(|(g, _)| view! { <a href=format!("#group-{g}") class=CHIP>{g.clone()}</a> }).collect_view()}
            <a href="#schemas" class=CHIP>"schemas"</a>
        </nav>
        {groups.into_iter().map(|(group, ops)| view! {
            <section aria-labelledby=format!("group-{group}") class="space-y-2">
                <h2 id=format!("group-{group}") class="text-lg font-semibold">{group.clone()}</h2>
                {ops.into_iter().map(|op| view! { <OperationCard op=op key=key/> }).collect_view()}
            </section>
        }).collect_view()}
        <section aria-labelledby="schemas" class="space-y-2">
            <h2 id="schemas" class="text-lg font-semibold">"Schemas"</h2>
            {schemas.into_iter().map(|(name, props)| view! {
                <details id=format!("schema-{name}") class="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                    <summary class="cursor-pointer font-mono text-sm font-semibold">{name.clone()}</summary>
                    {if props.is_empty() {
                        view! { <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">"No named fields."</p> }.into_any()
                    } else {
                        view! {
                            <table class="mt-2 w-full text-left text-sm">
                                <caption class="sr-only">{format!("Fields of {name}")}</caption>
                                <thead><tr><th scope="col" class="py-1 pr-3">"Field"</th><th scope="col" class="py-1 pr-3">"Type"</th><th scope="col" class="py-1">"Description"</th></tr></thead>
                                <tbody>
                                    {props.into_iter().map(|f| view! {
                                        <tr class="border-t border-slate-200 dark:border-slate-800">
                                            <td class="py-1 pr-3 font-mono">{f.name}{f.required.then_some(" (required)")}</td>
                                            <td class="py-1 pr-3 font-mono text-xs">{f.kind}</td>
                                            <td class="py-1 text-slate-600 dark:text-slate-300">{f.description}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                </details>
            }).collect_view()}
        </section>
    }
}

/// One operation: what it takes and answers, and a form that sends it with the pasted key.
#[component]
fn OperationCard(op: Operation, key: RwSignal<String>) -> impl IntoView {
    let id = format!("{}{}", op.method.to_lowercase(), op.path.replace(['/', '{', '}', '-'], "_"));
    let inputs: Vec<(Param, RwSignal<String>)> =
        op.params.iter().map(|p| (p.clone(), RwSignal::new(String::new()))).collect();
    let body = RwSignal::new(if op.body.is_some() { "{}".to_string() } else { String::new() });
    let answer = RwSignal::new(None::<(u16, String)>);
    let (method, path) = (op.method.clone(), op.path.clone());
    let fields = inputs.clone();
    let send = Action::new_local(move |_: &()| {
        let (method, key) = (method.clone(), key.get_untracked());
        let mut url = path.clone();
        let mut query = Vec::new();
        for (p, v) in &fields {
            let v = v.get_untracked();
            if v.is_empty() {
                continue;
            }
            let enc = js_encode(&v);
            if p.location == "path" {
                url = url.replace(&format!("{{{}}}", p.name), &enc);
            } else {
                query.push(format!("{}={enc}", p.name));
            }
        }
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let body = Some(body.get_untracked()).filter(|b| !b.trim().is_empty());
        async move { try_request(&method, &url, &key, body).await }
    });
    Effect::new(move |_| {
        if let Some(r) = send.value().get() {
            answer.set(Some(r));
        }
    });
    let responses = op.responses.clone();
    view! {
        <details class="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10" data-testid="operation" data-operation=id.clone()>
            <summary class="cursor-pointer">
                <span class=method_badge(&op.method)>{op.method.clone()}</span>
                <code class="ml-2 font-mono text-sm">{op.path.clone()}</code>
                <span class="ml-2 text-sm text-slate-600 dark:text-slate-300">{op.summary.clone()}</span>
            </summary>
            <div class="mt-3 space-y-3 text-sm">
                <p>{op.description.clone()}</p>
                {op.body.clone().map(|b| view! {
                    <p>"Body: " <a class="font-mono text-indigo-700 underline dark:text-indigo-300" href=format!("#schema-{}", b.trim_start_matches('[').trim_end_matches(']'))>{b.clone()}</a></p>
                })}
                <ul class="flex flex-wrap gap-1" aria-label="Answers">
                    {responses.into_iter().map(|(code, d)| view! { <li class=CHIP title=d>{code}</li> }).collect_view()}
                </ul>
                <form class="space-y-2 rounded-md bg-slate-50 p-3 dark:bg-slate-800/50" on:submit=move |ev| { ev.prevent_default(); send.dispatch(()); }>
                    {inputs.into_iter().map(|(p, v)| {
                        let field = format!("{id}-{}", p.name);
                        let label = format!("{} ({}{}, {})", p.name, p.location, if p.required { ", required" } else { "" }, p.kind);
                        view! {
                            <div>
                                <label for=field.clone() class=LABEL>{label}</label>
                                <input id=field type="text" class=INPUT_CLASS title=p.description prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev))/>
                            </div>
                        }
                    }).collect_view()}
                    {op.body.is_some().then(|| view! {
                        <div>
                            <label for=format!("{id}-body") class=LABEL>"Body (JSON)"</label>
                            <textarea id=format!("{id}-body") rows="5" class=format!("{INPUT_CLASS} font-mono") prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                        </div>
                    })}
                    <button type="submit" class=SECONDARY_BUTTON disabled=move || send.pending().get()>
                        {move || if send.pending().get() { "Sending…" } else { "Send request" }}
                    </button>
                </form>
                {move || answer.get().map(|(status, text)| view! {
                    <div data-testid="try-answer">
                        <p class="font-medium">"Answer: " <span data-testid="try-status">{status}</span></p>
                        <pre class="mt-1 max-h-80 overflow-auto rounded-md bg-slate-100 p-3 text-xs dark:bg-slate-800" tabindex="0"><code>{text}</code></pre>
                    </div>
                })}
            </div>
        </details>
    }
}

/// `encodeURIComponent` for a path or query value.
fn js_encode(v: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        String::from(js_sys::encode_uri_component(v))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        v.to_string()
    }
}

/// Sends the request from the browser with the key as its bearer token: (status, body, pretty when JSON).
/// Status 0 means the request could not be sent at all.
async fn try_request(method: &str, url: &str, key: &str, body: Option<String>) -> (u16, String) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;
        let failed = |what: &str| (0, format!("The request could not be sent: {what}"));
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        let headers = match web_sys::Headers::new() {
            Ok(h) => h,
            Err(_) => return failed("no headers"),
        };
        if !key.trim().is_empty() && headers.set("Authorization", &format!("Bearer {}", key.trim())).is_err() {
            return failed("the key is not a valid header value");
        }
        if let Some(b) = &body {
            let _ = headers.set("Content-Type", "application/json");
            init.set_body(&wasm_bindgen::JsValue::from_str(b));
        }
        init.set_headers(&headers);
        // Same origin only, and no cookie: what is tried is what the key alone may do.
        init.set_credentials(web_sys::RequestCredentials::Omit);
        let Ok(request) = web_sys::Request::new_with_str_and_init(url, &init) else { return failed("bad address") };
        let Ok(res) = JsFuture::from(window().fetch_with_request(&request)).await else {
            return failed("the network refused it");
        };
        let res: web_sys::Response = res.unchecked_into();
        let text = match res.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let pretty = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or(text);
        (res.status(), pretty)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, url, key, body);
        (0, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_becomes_groups_of_operations_and_schemas() {
        let doc = serde_json::json!({
            "paths": {
                "/api/v1/keys/{id}/usage": {"get": {"summary": "Usage", "description": "Requires scope `keys:read`.",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                                   {"name": "window", "in": "query", "schema": {"$ref": "#/components/schemas/UsageWindow"}}],
                    "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}},
                "/api/v1/events": {"post": {"summary": "Publish", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishEvent"}}}}}}
            },
            "components": {"schemas": {"UsageWindow": {"type": "string", "enum": ["7d", "30d"]},
                "Page": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}}, "next": {"type": ["string", "null"]}}}}}
        });
        let groups = operations(&doc);
        // Paths come in the document's (sorted) order.
        assert_eq!(groups.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["events", "keys"]);
        let usage = &groups[1].1[0];
        assert_eq!((usage.method.as_str(), usage.params.len(), usage.responses.len()), ("GET", 2, 2));
        assert_eq!(usage.params[1].kind, "UsageWindow");
        assert_eq!(groups[0].1[0].body.as_deref(), Some("PublishEvent"));
        let s = schemas(&doc);
        let page = s.iter().find(|(n, _)| n == "Page").unwrap();
        assert_eq!((page.1[0].name.as_str(), page.1[0].kind.as_str(), page.1[0].required), ("data", "[Webhook]", true));
        assert_eq!(page.1[1].kind, "string | null");
        assert_eq!(type_of(&doc["components"]["schemas"]["UsageWindow"]), "7d | 30d");
    }
}
