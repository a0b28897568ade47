//! A small JSON Schema validator for event payloads: `type` (string or list), `properties`, `required`,
//! `enum`, `items`, `minimum`/`maximum`. Enough to catch a producer sending the wrong shape, with a message
//! that names the path.

use serde_json::Value;

pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "data", 0)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(expected: &str, v: &Value) -> bool {
    let actual = type_name(v);
    expected == actual || (expected == "number" && actual == "integer")
}

fn check(schema: &Value, value: &Value, path: &str, depth: usize) -> Result<(), String> {
    if depth > 32 {
        return Ok(());
    }
    let Some(s) = schema.as_object() else { return Ok(()) };
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, value) => {
            return Err(format!("{path} must be {t}, got {}", type_name(value)));
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, value)) => {
            let names: Vec<_> = ts.iter().filter_map(Value::as_str).collect();
            return Err(format!("{path} must be {}, got {}", names.join(" or "), type_name(value)));
        }
        _ => {}
    }
    if let Some(Value::Array(options)) = s.get("enum") {
        if !options.contains(value) {
            let shown: Vec<String> = options.iter().map(Value::to_string).collect();
            return Err(format!("{path} must be one of {}", shown.join(", ")));
        }
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), value.as_f64()) {
        if n < min {
            return Err(format!("{path} must be at least {min}"));
        }
    }
    if let (Some(max), Some(n)) = (s.get("maximum").and_then(Value::as_f64), value.as_f64()) {
        if n > max {
            return Err(format!("{path} must be at most {max}"));
        }
    }
    if let Some(obj) = value.as_object() {
        if let Some(Value::Array(req)) = s.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    return Err(format!("{path}.{r} is required"));
                }
            }
        }
        if let Some(Value::Object(props)) = s.get("properties") {
            for (k, sub) in props {
                if let Some(v) = obj.get(k) {
                    check(sub, v, &format!("{path}.{k}"), depth + 1)?;
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(items, v, &format!("{path}.{i}"), depth + 1)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_the_subset() {
        let schema = json!({"type": "object", "required": ["ticket"], "properties": {
            "ticket": {"type": "object", "required": ["id", "priority"], "properties": {
                "id": {"type": "string"}, "priority": {"enum": ["low", "high"]}, "n": {"type": "number", "minimum": 0}}},
            "tags": {"type": "array", "items": {"type": "string"}}}});
        assert!(validate(&schema, &json!({"ticket": {"id": "t1", "priority": "low", "n": 2}})).is_ok());
        assert_eq!(validate(&schema, &json!({})).unwrap_err(), "data.ticket is required");
        assert_eq!(
            validate(&schema, &json!({"ticket": {"id": 5, "priority": "low"}})).unwrap_err(),
            "data.ticket.id must be string, got integer"
        );
        assert!(validate(&schema, &json!({"ticket": {"id": "t", "priority": "mid"}})).unwrap_err().contains("one of"));
        assert!(validate(&schema, &json!({"ticket": {"id": "t", "priority": "low", "n": -1}})).is_err());
        assert_eq!(
            validate(&schema, &json!({"ticket": {"id": "t", "priority": "low"}, "tags": ["a", 1]})).unwrap_err(),
            "data.tags.1 must be string, got integer"
        );
        assert!(validate(&json!({"type": ["string", "null"]}), &Value::Null).is_ok());
    }
}
