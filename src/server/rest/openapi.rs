//! The OpenAPI 3 document of `/api/v1`, served at `/api/v1/openapi.json`. Schemas come from the model types
//! themselves (utoipa derives); operations from [`DOCS`], which a test keeps in step with the route table.

use super::{RouteSpec, ROUTES};
use crate::model::*;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, PathsBuilder, Ref, RefOr, Required, Schema};
use utoipa::IntoParams;

/// What an operation answers with on success.
#[derive(Clone, Copy)]
pub enum Answer {
    /// A single object of the named schema.
    One(&'static str),
    /// `{"data": [...], "next_cursor": string|null}`.
    Page(&'static str),
    /// `{"data": [...]}`.
    All(&'static str),
    /// An ad-hoc object: (property, schema) pairs.
    Fields(&'static [(&'static str, &'static str)]),
    Empty,
}

/// One documented operation.
pub struct Doc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub body: Option<&'static str>,
    pub status: u16,
    pub answer: Answer,
    pub query: Option<fn() -> Vec<utoipa::openapi::path::Parameter>>,
}

const fn doc(method: &'static str, path: &'static str, summary: &'static str, status: u16, answer: Answer) -> Doc {
    Doc { method, path, summary, body: None, status, answer, query: None }
}

const fn with_body(mut d: Doc, body: &'static str) -> Doc {
    d.body = Some(body);
    d
}

fn q<T: IntoParams>() -> Vec<utoipa::openapi::path::Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

pub const DOCS: &[Doc] = &[
    doc("GET", "/me", "The calling key and what it may do", 200, Answer::One("WhoAmI")),
    Doc { query: Some(q::<KeyListQuery>), ..doc("GET", "/keys", "List API keys", 200, Answer::All("ApiKey")) },
    with_body(
        doc("POST", "/keys", "Issue an API key (its secret is shown once)", 201, Answer::One("IssuedKey")),
        "CreateApiKey",
    ),
    doc("GET", "/keys/{id}", "One API key", 200, Answer::One("ApiKey")),
    with_body(doc("PATCH", "/keys/{id}", "Change an API key", 200, Answer::One("ApiKey")), "UpdateApiKey"),
    doc("DELETE", "/keys/{id}", "Delete an API key", 204, Answer::Empty),
    with_body(
        doc("POST", "/keys/{id}/rotate", "New secret, old one valid for a grace period", 200, Answer::One("IssuedKey")),
        "RotateApiKey",
    ),
    doc("POST", "/keys/{id}/revoke", "Revoke an API key", 200, Answer::One("ApiKey")),
    Doc {
        query: Some(q::<UsageQuery>),
        ..doc("GET", "/keys/{id}/usage", "An API key's requests per UTC day", 200, Answer::One("KeyUsage"))
    },
    Doc {
        query: Some(q::<WebhookListQuery>),
        ..doc("GET", "/webhooks", "List webhook endpoints", 200, Answer::Page("Webhook"))
    },
    with_body(doc("POST", "/webhooks", "Create a webhook endpoint", 201, Answer::One("Webhook")), "CreateWebhook"),
    doc("GET", "/webhooks/{id}", "One webhook endpoint", 200, Answer::One("Webhook")),
    with_body(
        doc("PATCH", "/webhooks/{id}", "Change a webhook endpoint", 200, Answer::One("Webhook")),
        "UpdateWebhook",
    ),
    doc("DELETE", "/webhooks/{id}", "Delete an endpoint (its queued deliveries are cancelled)", 204, Answer::Empty),
    doc("GET", "/webhooks/{id}/secret", "The signing secret(s)", 200, Answer::One("WebhookSecret")),
    doc(
        "GET",
        "/webhooks/{id}/headers",
        "The custom headers with their values (masked everywhere else)",
        200,
        Answer::One("WebhookHeaders"),
    ),
    with_body(
        doc("POST", "/webhooks/{id}/secret/rotate", "Rotate the signing secret", 200, Answer::One("WebhookSecret")),
        "RotateWebhookSecret",
    ),
    with_body(doc("POST", "/events", "Publish an event", 202, Answer::One("Published")), "PublishEvent"),
    with_body(
        doc(
            "POST",
            "/events/batch",
            "Publish up to 100 events",
            202,
            Answer::Fields(&[("accepted", "integer"), ("results", "[BatchItemResult]")]),
        ),
        "PublishBatch",
    ),
    Doc { query: Some(q::<EventListQuery>), ..doc("GET", "/events", "List events", 200, Answer::Page("Event")) },
    doc("GET", "/events/{id}", "One event with its deliveries", 200, Answer::One("EventWithDeliveries")),
    doc(
        "GET",
        "/event-types",
        "The event-type catalog (with the tenant's unregistered types)",
        200,
        Answer::All("EventType"),
    ),
    with_body(
        doc("POST", "/event-types", "Register an event type (admin-wide keys only)", 201, Answer::One("EventType")),
        "CreateEventType",
    ),
    with_body(
        doc(
            "PATCH",
            "/event-types/{name}",
            "Change an event type (admin-wide keys only)",
            200,
            Answer::One("EventType"),
        ),
        "UpdateEventType",
    ),
    doc(
        "POST",
        "/event-types/{name}/archive",
        "Archive an event type: publishing it is refused",
        200,
        Answer::One("EventType"),
    ),
    doc("POST", "/event-types/{name}/unarchive", "Unarchive an event type", 200, Answer::One("EventType")),
    Doc {
        query: Some(q::<DeliveryListQuery>),
        ..doc("GET", "/deliveries", "The delivery log", 200, Answer::Page("Delivery"))
    },
    doc("GET", "/deliveries/{id}", "One delivery with every attempt", 200, Answer::One("DeliveryDetail")),
    doc("POST", "/deliveries/{id}/replay", "Send a delivery again", 202, Answer::One("Delivery")),
    with_body(
        doc(
            "POST",
            "/webhooks/{id}/recover",
            "Replay an endpoint's failed deliveries since a time",
            202,
            Answer::Fields(&[("replayed", "integer")]),
        ),
        "RecoverRequest",
    ),
    with_body(
        doc(
            "POST",
            "/webhooks/{id}/test",
            "Send a test event now and return the answer",
            200,
            Answer::One("TestFireResult"),
        ),
        "TestFire",
    ),
    Doc {
        query: Some(q::<StatsQuery>),
        ..doc("GET", "/stats/deliveries", "Delivery statistics", 200, Answer::One("DeliveryStats"))
    },
    with_body(
        doc(
            "POST",
            "/events/{id}/resend",
            "Send an event again: to every endpoint subscribed now, or to `endpoint_id` (empty body: all)",
            202,
            Answer::One("Resent"),
        ),
        "ResendRequest",
    ),
    Doc {
        query: Some(q::<AuditQuery>),
        ..doc("GET", "/audit", "The audit trail, newest first", 200, Answer::Page("AuditEntry"))
    },
    Doc {
        query: Some(q::<IntegrationsQuery>),
        ..doc(
            "GET",
            "/integrations",
            "The tenant's connected apps, and every provider with whether it is configured",
            200,
            Answer::Fields(&[("data", "[Connection]"), ("providers", "[ProviderInfo]")]),
        )
    },
    with_body(
        doc(
            "POST",
            "/integrations/{id}/authorize",
            "Start connecting the provider `{id}` (e.g. `zoom`): open the returned URL in a browser signed in to the hub",
            200,
            Answer::One("AuthorizeUrl"),
        ),
        "AuthorizeRequest",
    ),
    doc("GET", "/integrations/{id}", "One connection (never its tokens)", 200, Answer::One("Connection")),
    with_body(
        doc(
            "PATCH",
            "/integrations/{id}",
            "Change a connection's settings (validated against the provider's schema) or switch it off or on",
            200,
            Answer::One("Connection"),
        ),
        "ConnectionSettingsUpdate",
    ),
    doc(
        "DELETE",
        "/integrations/{id}",
        "Disconnect: revoke at the provider where it can, delete the tokens",
        204,
        Answer::Empty,
    ),
    with_body(
        doc("POST", "/integrations/{id}/sync", "Sync now (full or incremental)", 202, Answer::One("SyncLog")),
        "SyncRequest",
    ),
    Doc {
        query: Some(q::<SyncLogQuery>),
        ..doc("GET", "/integrations/{id}/sync-logs", "A connection's sync logs, newest first", 200, Answer::Page("SyncLog"))
    },
];

/// `POST /events/batch` body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PublishBatch {
    pub events: Vec<PublishEvent>,
}

/// Every error: `{"error": {"code", "message", "fields"?}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: AppError,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Integration Hub API", description = "Webhooks and API keys for your SaaS."),
    components(schemas(
        WhoAmI,
        ApiKey,
        IssuedKey,
        CreateApiKey,
        UpdateApiKey,
        RotateApiKey,
        KeyUsage,
        UsageDay,
        UsageWindow,
        Webhook,
        DestinationKind,
        MessageTemplate,
        MessageField,
        CreateWebhook,
        UpdateWebhook,
        WebhookSecret,
        WebhookHeaders,
        RotateWebhookSecret,
        PublishEvent,
        PublishBatch,
        Published,
        BatchItemResult,
        Event,
        EventWithDeliveries,
        EventType,
        CreateEventType,
        UpdateEventType,
        Delivery,
        DeliveryDetail,
        RecoverRequest,
        TestFire,
        TestFireResult,
        DeliveryStats,
        Resent,
        ResendRequest,
        AuditEntry,
        ProviderId,
        ProviderInfo,
        ActionSummary,
        Connection,
        ConnectionStatus,
        ConnectionSettingsUpdate,
        AuthorizeRequest,
        AuthorizeUrl,
        SyncRequest,
        SyncKind,
        SyncStatus,
        SyncLog,
        RecordError,
        ErrorBody
    ))
)]
struct Components;

fn schema_ref(name: &str) -> RefOr<Schema> {
    match name {
        "integer" => ObjectBuilder::new().schema_type(Type::Integer).into(),
        n if n.starts_with('[') => ArrayBuilder::new().items(schema_ref(&n[1..n.len() - 1])).into(),
        n => Ref::from_schema_name(n).into(),
    }
}

fn answer_schema(a: Answer) -> Option<RefOr<Schema>> {
    let list = |item: &str, cursor: bool| {
        let mut o = ObjectBuilder::new().property("data", ArrayBuilder::new().items(schema_ref(item))).required("data");
        if cursor {
            let next = ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]));
            o = o.property("next_cursor", next).required("next_cursor");
        }
        o.into()
    };
    match a {
        Answer::One(n) => Some(schema_ref(n)),
        Answer::Page(n) => Some(list(n, true)),
        Answer::All(n) => Some(list(n, false)),
        Answer::Fields(fields) => {
            let mut o = ObjectBuilder::new();
            for (name, schema) in fields {
                o = o.property(*name, schema_ref(schema)).required(*name);
            }
            Some(o.into())
        }
        Answer::Empty => None,
    }
}

fn operation(route: &RouteSpec, d: &Doc) -> utoipa::openapi::path::Operation {
    let json = |s: RefOr<Schema>| ContentBuilder::new().schema(Some(s)).build();
    let mut ok = ResponseBuilder::new().description(d.summary);
    if let Some(s) = answer_schema(d.answer) {
        ok = ok.content("application/json", json(s));
    }
    let mut responses = ResponsesBuilder::new().response(d.status.to_string(), ok.build());
    for (code, why) in [
        ("400", "Malformed request"),
        ("401", "Missing or invalid API key"),
        ("403", "The key lacks the scope, or its IP is not allowed"),
        ("404", "No such resource (or another tenant's)"),
        ("405", "Method not allowed on this path"),
        ("409", "Conflict with the resource's state"),
        ("413", "Body larger than 1 MB"),
        ("422", "Validation failed; `fields` says where"),
        ("429", "Rate limited; see Retry-After"),
    ] {
        let r = ResponseBuilder::new().description(why).content("application/json", json(schema_ref("ErrorBody")));
        responses = responses.response(code, r.build());
    }
    let scope = route.scope.map_or("any key".to_string(), |s| format!("scope `{}`", s.as_str()));
    let mut op = OperationBuilder::new()
        .summary(Some(d.summary))
        .description(Some(format!("Requires {scope}.")))
        .operation_id(Some(format!("{}{}", d.method.to_lowercase(), d.path.replace(['/', '{', '}', '-'], "_"))))
        .responses(responses.build())
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    // Every `{…}` segment is a required string: `{id}`, and an event type's `{name}`.
    for name in d.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    for p in d.query.map(|f| f()).unwrap_or_default() {
        op = op.parameter(p);
    }
    if let Some(body) = d.body {
        // Bodies that may be left empty (rotate, test-fire) still document their shape.
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json(schema_ref(body)))
                .required(Some(Required::True))
                .build(),
        ));
    }
    op.build()
}

/// The document: one operation per route of [`ROUTES`].
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for route in ROUTES {
        let Some(d) = DOCS.iter().find(|d| d.method == route.method && d.path == route.path) else { continue };
        let method = match d.method {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            _ => HttpMethod::Put,
        };
        paths = paths.path(format!("/api/v1{}", d.path), PathItem::new(method, operation(route, d)));
    }
    let mut doc = <Components as utoipa::OpenApi>::openapi();
    doc.paths = paths.build();
    if let Some(c) = doc.components.as_mut() {
        c.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
    doc
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented_and_every_reference_resolves() {
        for r in super::ROUTES {
            assert!(
                super::DOCS.iter().any(|d| d.method == r.method && d.path == r.path),
                "{} {} is not in the OpenAPI document",
                r.method,
                r.path
            );
        }
        let json = serde_json::to_string(&super::document()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let schemas = v["components"]["schemas"].as_object().unwrap();
        for cap in json.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &cap[..cap.find('"').unwrap()];
            assert!(schemas.contains_key(name), "missing schema {name}");
        }
    }
}
