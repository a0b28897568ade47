//! Event payloads checked against their type's JSON Schema, with the complete validator of the `jsonschema`
//! crate (every keyword of drafts 4 to 2020-12, `format` asserted). Server side only: the browser never
//! validates payloads, so the crate stays out of the WASM bundle.
//!
//! A schema may refer only inside itself (`#/definitions/…`, `#/$defs/…`): the crate is built without its HTTP
//! and file resolvers and [`NoRemote`] refuses every other URI, so saving a schema with a remote `$ref` is a
//! 422 and a schema can never make the hub fetch a URL or read a file.
#![cfg(feature = "ssr")]

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

/// Refuses every external reference (the crate's default would try to fetch them when built with its
/// resolvers; ours are off, and this keeps the refusal in the hub's own words).
struct NoRemote;

impl Retrieve for NoRemote {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("remote references are not allowed ({uri}); put the definition under \"$defs\" and refer to it as \"#/$defs/…\"").into())
    }
}

/// Compiles a schema once (the catalog keeps the result per type). The message names what is wrong with it.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("must be a JSON object".into());
    }
    jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(NoRemote)
        .build(schema)
        .map_err(|e| format!("is not a valid JSON Schema: {e}"))
}

/// Checks `value` (an event's `data`), naming the first offending place as a dotted path from `data`:
/// `data.ticket.id: "x" does not match "^T-"`.
pub fn check(validator: &Validator, value: &Value) -> Result<(), String> {
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(e) => {
            let mut path = String::from("data");
            for segment in e.instance_path().iter() {
                path.push('.');
                path.push_str(&segment.to_string());
            }
            // A missing field is named by its own path, as producers look for it: `data.ticket.id is required`.
            if let jsonschema::error::ValidationErrorKind::Required { property: Value::String(p) } = e.kind() {
                return Err(format!("{path}.{p} is required"));
            }
            Err(format!("{path}: {e}"))
        }
    }
}

/// Compiles and checks in one go (saving a type checks its example this way).
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(&compile(schema)?, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_path_and_knows_the_whole_standard() {
        let schema = json!({"type": "object", "required": ["ticket"], "additionalProperties": false,
            "definitions": {"id": {"type": "string", "pattern": "^T-[0-9]+$"}},
            "properties": {
                "ticket": {"type": "object", "required": ["id"], "properties": {
                    "id": {"$ref": "#/definitions/id"}, "email": {"type": "string", "format": "email"}}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "amount": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}}});
        assert!(validate(&schema, &json!({"ticket": {"id": "T-1"}, "tags": ["a"], "amount": 3})).is_ok());
        assert_eq!(validate(&schema, &json!({})).unwrap_err(), "data.ticket is required");
        let e = validate(&schema, &json!({"ticket": {"id": "x"}})).unwrap_err();
        assert!(e.starts_with("data.ticket.id: \"x\" does not match"), "{e}");
        assert!(validate(&schema, &json!({"ticket": {"id": "T-1"}, "extra": 1})).unwrap_err().contains("extra"));
        let e = validate(&schema, &json!({"ticket": {"id": "T-1", "email": "nope"}})).unwrap_err();
        assert!(e.starts_with("data.ticket.email:"), "{e}");
        assert!(validate(&schema, &json!({"ticket": {"id": "T-1"}, "amount": 2.5})).is_err());
        assert_eq!(
            validate(&schema, &json!({"ticket": {"id": "T-1"}, "tags": ["a", 1]})).unwrap_err(),
            "data.tags.1: 1 is not of type \"string\""
        );
    }

    #[test]
    fn refuses_remote_references_and_broken_schemas() {
        let e = compile(&json!({"$ref": "https://example.com/schema.json"})).unwrap_err();
        assert!(e.contains("remote references are not allowed"), "{e}");
        assert!(compile(&json!({"$ref": "file:///etc/passwd"})).is_err());
        assert!(compile(&json!({"type": "strin"})).unwrap_err().starts_with("is not a valid JSON Schema"));
        assert!(compile(&json!("object")).is_err());
    }
}
