//! Event routing rules: which endpoint receives which event.
//!
//! Two layers decide whether an event is delivered to an endpoint:
//!
//! 1. **Event-type subscription** (`ticket.created`, `ticket.*`, `*`), checked with
//!    [`subscribed`] / [`event_type_matches`].
//! 2. **Payload filters** ([`Filter`]): `field operator value` conditions evaluated
//!    against the JSON event envelope; *all* must hold.
//!
//! This module is compiled both on the server (delivery routing) and in the WASM
//! front-end (live validation / "test this filter" preview), so it only depends on
//! `serde`, `serde_json` and `thiserror` and never does I/O. Evaluation (`eval`, with the `regex` engine) is
//! server-only: the browser never runs a filter, and a regex engine would be a large share of its bundle.
//!
//! Nothing in here may panic on user-controlled input: patterns, filters and
//! envelopes all come from API callers.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "ssr")]
mod eval;
#[cfg(feature = "ssr")]
pub use eval::{evaluate, CompiledFilters};

/// Maximum length of an event-type pattern (bytes; patterns are ASCII-only).
pub const MAX_EVENT_PATTERN_LEN: usize = 128;
/// Maximum length of a filter field path (characters).
pub const MAX_FIELD_LEN: usize = 256;
/// Maximum number of candidates in an `in` filter.
pub const MAX_IN_ITEMS: usize = 100;
/// Maximum length of a regex pattern (characters).
pub const MAX_REGEX_LEN: usize = 512;
/// Compiled-program size limit for regexes, so a hostile pattern cannot eat memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Event-type patterns
// ---------------------------------------------------------------------------

/// The prefix of the hub's operational notices' event types.
pub const HUB_NOTICE_PREFIX: &str = "hub.";

/// Does `event_type` match a subscription `pattern`?
///
/// * `*` matches every event type but the hub's own notices (`hub.*`, matched only by name).
/// * `prefix.*` matches event types that start with `prefix.` and have at least
///   one more character (`ticket.*` matches `ticket.created` and
///   `ticket.sla.breached`, but neither `ticket` nor `tickets.created`).
/// * anything else is an exact, case-sensitive comparison.
pub fn event_type_matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" {
        // The hub's own notices (`hub.*`) go only where they are asked for by name: an endpoint taking every
        // event of the host app has not asked to be told about its own failures as well.
        return !event_type.starts_with(HUB_NOTICE_PREFIX);
    }
    match pattern.strip_suffix('*') {
        // `prefix` keeps its trailing '.', which is what stops `tickets.*`-style
        // false positives: `ticket.` is not a prefix of `tickets.created`.
        Some(prefix) if prefix.ends_with('.') => event_type.len() > prefix.len() && event_type.starts_with(prefix),
        _ => pattern == event_type,
    }
}

/// Is an endpoint subscribed with `patterns` interested in `event_type`?
/// An empty pattern list subscribes to nothing.
pub fn subscribed(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| event_type_matches(p, event_type))
}

/// Validate a subscription pattern as typed by a user.
///
/// Accepted: `*`, or dot-separated segments of `[a-z0-9_]` with an optional
/// trailing `.*` (`ticket.created`, `ticket.*`, `ticket.sla.*`).
pub fn validate_event_pattern(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("event pattern must not be empty".to_string());
    }
    if p.len() > MAX_EVENT_PATTERN_LEN {
        return Err(format!("event pattern must be at most {MAX_EVENT_PATTERN_LEN} characters"));
    }
    if p == "*" {
        return Ok(());
    }
    let body = p.strip_suffix(".*").unwrap_or(p);
    for (i, seg) in body.split('.').enumerate() {
        if seg.is_empty() {
            return Err(format!(
                "event pattern \"{p}\" has an empty segment (segment {}); use names like \"ticket.created\" or \"ticket.*\"",
                i + 1
            ));
        }
        if let Some(bad) = seg.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
            let hint = if bad == '*' {
                "a wildcard is only allowed as the last segment (\"ticket.*\") or alone (\"*\")".to_string()
            } else {
                "only lowercase letters, digits and '_' are allowed between dots".to_string()
            };
            return Err(format!("event pattern \"{p}\" contains invalid character {bad:?}: {hint}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Payload filters
// ---------------------------------------------------------------------------

/// Comparison operator of a [`Filter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Equals,
    NotEquals,
    Contains,
    GreaterThan,
    LessThan,
    In,
    Regex,
}

impl FilterOp {
    /// Every operator, in UI display order (for drop-downs).
    pub const ALL: &'static [FilterOp] = &[
        FilterOp::Equals,
        FilterOp::NotEquals,
        FilterOp::Contains,
        FilterOp::GreaterThan,
        FilterOp::LessThan,
        FilterOp::In,
        FilterOp::Regex,
    ];

    /// The wire name (same as the serde representation).
    pub const fn as_str(self) -> &'static str {
        match self {
            FilterOp::Equals => "equals",
            FilterOp::NotEquals => "not_equals",
            FilterOp::Contains => "contains",
            FilterOp::GreaterThan => "greater_than",
            FilterOp::LessThan => "less_than",
            FilterOp::In => "in",
            FilterOp::Regex => "regex",
        }
    }

    /// Inverse of [`FilterOp::as_str`] (e.g. for a `<select>` value).
    pub fn from_name(s: &str) -> Option<FilterOp> {
        FilterOp::ALL.iter().copied().find(|op| op.as_str() == s)
    }
}

impl fmt::Display for FilterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition on the event envelope.
///
/// `field` is a dot path into the envelope (`data.priority`,
/// `data.customer.tier`, `data.items.0.sku` — numeric segments index arrays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Filter {
    pub field: String,
    pub operator: FilterOp,
    pub value: Value,
}

/// Why an event did not pass an endpoint's filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("filter #{} rejected the event: {reason}", .index + 1)]
pub struct FilterRejection {
    /// 0-based index of the failing filter in the filter list.
    pub index: usize,
    pub filter: Filter,
    /// Human-readable explanation, e.g. `data.amount is missing`.
    pub reason: String,
}

/// Validate a filter as entered by a user. Error messages are meant to be shown
/// next to the offending field in the UI.
pub fn validate_filter(f: &Filter) -> Result<(), String> {
    validate_field_path(&f.field)?;
    match f.operator {
        FilterOp::Equals | FilterOp::NotEquals | FilterOp::Contains => Ok(()),
        FilterOp::In => match &f.value {
            Value::Array(items) if items.len() <= MAX_IN_ITEMS => Ok(()),
            Value::Array(items) => Err(format!("\"in\" accepts at most {MAX_IN_ITEMS} values (got {})", items.len())),
            _ => Err("\"in\" needs a list of values, e.g. [\"high\", \"urgent\"]".to_string()),
        },
        FilterOp::Regex => match &f.value {
            // The browser checks the length only; the server compiles the pattern on save and answers with the
            // compiler's message as the same field error.
            #[cfg(feature = "ssr")]
            Value::String(p) => eval::build_regex(p).map(|_| ()),
            #[cfg(not(feature = "ssr"))]
            Value::String(p) => regex_within_length(p),
            _ => Err("\"regex\" needs a regular expression string".to_string()),
        },
        FilterOp::GreaterThan | FilterOp::LessThan => match &f.value {
            Value::Number(_) | Value::String(_) => Ok(()),
            _ => Err(format!("\"{}\" needs a number (or a string for alphabetical comparison)", f.operator)),
        },
    }
}

/// A regex pattern is at most [`MAX_REGEX_LEN`] characters (checked before anything compiles it).
fn regex_within_length(pattern: &str) -> Result<(), String> {
    if pattern.chars().count() > MAX_REGEX_LEN {
        return Err(format!("regular expression must be at most {MAX_REGEX_LEN} characters"));
    }
    Ok(())
}

fn validate_field_path(field: &str) -> Result<(), String> {
    if field.is_empty() {
        return Err("field must not be empty (e.g. \"data.priority\")".to_string());
    }
    if field.chars().count() > MAX_FIELD_LEN {
        return Err(format!("field must be at most {MAX_FIELD_LEN} characters"));
    }
    if field.split('.').any(str::is_empty) {
        return Err(format!(
            "field \"{field}\" has an empty segment; use dot-separated names like \"data.customer.tier\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::eval::{int_float_cmp, lookup};
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::cmp::Ordering;

    fn f(field: &str, operator: FilterOp, value: Value) -> Filter {
        Filter { field: field.to_string(), operator, value }
    }

    fn env() -> Value {
        json!({
            "id": "evt_1",
            "type": "ticket.created",
            "data": {
                "priority": "high",
                "amount": 42,
                "ratio": 0.5,
                "tags": ["vip", "billing", 7],
                "customer": { "tier": "gold", "name": "ACME Corp" },
                "items": [ { "sku": "A-1" }, { "sku": "B-2" } ],
                "nothing": null,
                "flag": true,
                "0": "zero-key"
            }
        })
    }

    fn reason(filters: &[Filter]) -> String {
        match evaluate(filters, &env()) {
            Err(r) => r.reason,
            Ok(()) => panic!("expected rejection"),
        }
    }

    // ---- event type patterns ----

    #[test]
    fn wildcard_examples() {
        assert!(event_type_matches("ticket.created", "ticket.created"));
        assert!(!event_type_matches("ticket.created", "ticket.updated"));
        assert!(!event_type_matches("ticket.created", "ticket.created.x"));
        assert!(event_type_matches("ticket.*", "ticket.created"));
        assert!(event_type_matches("ticket.*", "ticket.sla.breached"));
        assert!(!event_type_matches("ticket.*", "ticket"));
        assert!(!event_type_matches("ticket.*", "ticket."));
        assert!(!event_type_matches("ticket.*", "tickets.created"));
        assert!(!event_type_matches("ticket.*", "xticket.created"));
        assert!(event_type_matches("ticket.sla.*", "ticket.sla.breached"));
        assert!(!event_type_matches("ticket.sla.*", "ticket.created"));
        assert!(event_type_matches("*", "anything.at.all"));
        assert!(event_type_matches("*", ""));
        assert!(!event_type_matches("*", "hub.endpoint.disabled"), "notices only by name");
        assert!(event_type_matches("hub.*", "hub.endpoint.disabled"));
        // A bare trailing '*' without a dot is not a wildcard, only a literal.
        assert!(!event_type_matches("ticket*", "tickets"));
        assert!(event_type_matches("ticket*", "ticket*"));
        assert!(!event_type_matches("", "ticket"));
    }

    #[test]
    fn subscribed_any_pattern() {
        let p = vec!["user.created".to_string(), "ticket.*".to_string()];
        assert!(subscribed(&p, "user.created"));
        assert!(subscribed(&p, "ticket.closed"));
        assert!(!subscribed(&p, "user.deleted"));
        assert!(!subscribed(&[], "user.created"));
    }

    #[test]
    fn validate_patterns() {
        for ok in ["*", "ticket", "ticket.created", "ticket.*", "ticket.sla.*", "a_1.b_2", "v2.x"] {
            assert_eq!(validate_event_pattern(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "ticket.",
            ".ticket",
            "ticket..created",
            "Ticket.created",
            "ticket-created",
            "ticket.*.created",
            "*.created",
            "ticket*",
            "**",
            ".*",
            "ticket.**",
            "tické.x",
            "ticket created",
        ] {
            assert!(validate_event_pattern(bad).is_err(), "{bad:?} should fail");
        }
        assert!(validate_event_pattern(&"a".repeat(128)).is_ok());
        let e = validate_event_pattern(&"a".repeat(129)).unwrap_err();
        assert!(e.contains("128"), "{e}");
        let e = validate_event_pattern("ticket.*.x").unwrap_err();
        assert!(e.contains("wildcard"), "{e}");
    }

    // ---- op names / serde ----

    #[test]
    fn op_names_roundtrip() {
        assert_eq!(FilterOp::ALL.len(), 7);
        for op in FilterOp::ALL {
            let ser = serde_json::to_value(op).unwrap();
            assert_eq!(ser, Value::String(op.as_str().to_string()));
            assert_eq!(FilterOp::from_name(op.as_str()), Some(*op));
            assert_eq!(op.to_string(), op.as_str());
        }
        assert_eq!(FilterOp::from_name("Equals"), None);
        let filt: Filter =
            serde_json::from_value(json!({"field": "data.amount", "operator": "greater_than", "value": 10})).unwrap();
        assert_eq!(filt.operator, FilterOp::GreaterThan);
        assert!(serde_json::from_value::<Filter>(json!({"field": "a", "operator": "greaterThan", "value": 1})).is_err());
    }

    // ---- validate_filter ----

    #[test]
    fn validate_filter_rules() {
        assert!(validate_filter(&f("data.priority", FilterOp::Equals, json!("high"))).is_ok());
        assert!(validate_filter(&f("", FilterOp::Equals, json!(1))).is_err());
        assert!(validate_filter(&f("data..x", FilterOp::Equals, json!(1))).is_err());
        assert!(validate_filter(&f(".data", FilterOp::Equals, json!(1))).is_err());
        assert!(validate_filter(&f("data.", FilterOp::Equals, json!(1))).is_err());
        assert!(validate_filter(&f(&"a".repeat(256), FilterOp::Equals, json!(1))).is_ok());
        assert!(validate_filter(&f(&"a".repeat(257), FilterOp::Equals, json!(1))).is_err());

        assert!(validate_filter(&f("a", FilterOp::In, json!(["x"]))).is_ok());
        assert!(validate_filter(&f("a", FilterOp::In, json!([]))).is_ok());
        let e = validate_filter(&f("a", FilterOp::In, json!("x"))).unwrap_err();
        assert!(e.contains("list"), "{e}");
        let many: Vec<u32> = (0..101).collect();
        assert!(validate_filter(&f("a", FilterOp::In, json!(many))).is_err());
        let hundred: Vec<u32> = (0..100).collect();
        assert!(validate_filter(&f("a", FilterOp::In, json!(hundred))).is_ok());

        assert!(validate_filter(&f("a", FilterOp::Regex, json!("^v[0-9]+$"))).is_ok());
        let e = validate_filter(&f("a", FilterOp::Regex, json!("(unclosed"))).unwrap_err();
        assert!(e.starts_with("invalid regular expression"), "{e}");
        assert!(validate_filter(&f("a", FilterOp::Regex, json!(5))).is_err());
        assert!(validate_filter(&f("a", FilterOp::Regex, json!("a".repeat(513)))).is_err());
        assert!(validate_filter(&f("a", FilterOp::Regex, json!("a".repeat(512)))).is_ok());
        // Compiles to far more than 1 MiB.
        let e = validate_filter(&f("a", FilterOp::Regex, json!(r"\w{1000}\w{1000}"))).unwrap_err();
        assert!(e.contains("too complex"), "{e}");

        assert!(validate_filter(&f("a", FilterOp::GreaterThan, json!(1.5))).is_ok());
        assert!(validate_filter(&f("a", FilterOp::LessThan, json!("2024-01-01"))).is_ok());
        assert!(validate_filter(&f("a", FilterOp::GreaterThan, json!(true))).is_err());
        assert!(validate_filter(&f("a", FilterOp::LessThan, json!(null))).is_err());
        assert!(validate_filter(&f("a", FilterOp::Contains, json!({"k": 1}))).is_ok());
    }

    // ---- lookup ----

    #[test]
    fn path_lookup() {
        let e = env();
        assert_eq!(lookup(&e, "data.customer.tier"), Some(&json!("gold")));
        assert_eq!(lookup(&e, "data.items.1.sku"), Some(&json!("B-2")));
        assert_eq!(lookup(&e, "data.items.2.sku"), None);
        assert_eq!(lookup(&e, "data.items.+1.sku"), None);
        assert_eq!(lookup(&e, "data.items.x"), None);
        assert_eq!(lookup(&e, "data.items.99999999999999999999999"), None);
        assert_eq!(lookup(&e, "data.0"), Some(&json!("zero-key")));
        assert_eq!(lookup(&e, "data.priority.x"), None);
        assert_eq!(lookup(&e, "data.nothing"), Some(&Value::Null));
        assert_eq!(lookup(&e, ""), None);
    }

    // ---- evaluate ----

    #[test]
    fn equals_and_reason() {
        assert!(evaluate(&[f("data.priority", FilterOp::Equals, json!("high"))], &env()).is_ok());
        let r = evaluate(&[f("data.priority", FilterOp::Equals, json!("low"))], &env()).unwrap_err();
        assert_eq!(r.index, 0);
        assert_eq!(r.reason, "data.priority is \"high\", expected equals \"low\"");
        assert_eq!(r.to_string(), format!("filter #1 rejected the event: {}", r.reason));
    }

    #[test]
    fn numeric_equality_across_int_float() {
        assert!(evaluate(&[f("data.amount", FilterOp::Equals, json!(42.0))], &env()).is_ok());
        assert!(evaluate(&[f("data.amount", FilterOp::NotEquals, json!(42.0))], &env()).is_err());
        assert!(evaluate(&[f("data.ratio", FilterOp::Equals, json!(0.5))], &env()).is_ok());
        let big = json!({"n": 9007199254740993u64});
        assert!(evaluate(&[f("n", FilterOp::Equals, json!(9007199254740992.0))], &big).is_err());
        assert!(evaluate(&[f("n", FilterOp::Equals, json!(9007199254740993u64))], &big).is_ok());
        let neg = json!({"n": -1});
        assert!(evaluate(&[f("n", FilterOp::Equals, json!(u64::MAX))], &neg).is_err());
        assert!(evaluate(&[f("n", FilterOp::LessThan, json!(u64::MAX))], &neg).is_ok());
        // Nested structures compare numerically too.
        let nested = json!({"o": {"a": [1, 2.0]}});
        assert!(evaluate(&[f("o", FilterOp::Equals, json!({"a": [1.0, 2]}))], &nested).is_ok());
        assert!(evaluate(&[f("o", FilterOp::Equals, json!({"a": [1.0]}))], &nested).is_err());
        assert!(evaluate(&[f("o", FilterOp::Equals, json!({"b": [1, 2]}))], &nested).is_err());
        // Types don't coerce.
        assert!(evaluate(&[f("data.amount", FilterOp::Equals, json!("42"))], &env()).is_err());
    }

    #[test]
    fn int_float_cmp_exact() {
        assert_eq!(int_float_cmp(1, 1.0), Some(Ordering::Equal));
        assert_eq!(int_float_cmp(1, 1.5), Some(Ordering::Less));
        assert_eq!(int_float_cmp(2, 1.5), Some(Ordering::Greater));
        assert_eq!(int_float_cmp(-1, -1.5), Some(Ordering::Greater));
        assert_eq!(int_float_cmp(-2, -1.5), Some(Ordering::Less));
        assert_eq!(int_float_cmp(i128::MAX, 1e300), Some(Ordering::Less));
        assert_eq!(int_float_cmp(i128::MIN, -1e300), Some(Ordering::Greater));
        assert_eq!(int_float_cmp(0, f64::NAN), None);
    }

    #[test]
    fn missing_fails_for_every_operator() {
        for op in FilterOp::ALL {
            let value = match op {
                FilterOp::In => json!(["x"]),
                FilterOp::Regex => json!("x"),
                _ => json!("x"),
            };
            let r = evaluate(&[f("data.missing", *op, value)], &env()).unwrap_err();
            assert_eq!(r.reason, "data.missing is missing", "{op}");
        }
        let r = evaluate(&[f("data.amount", FilterOp::Equals, json!(1))], &json!({})).unwrap_err();
        assert_eq!(r.reason, "data.amount is missing");
    }

    #[test]
    fn null_is_present() {
        assert!(evaluate(&[f("data.nothing", FilterOp::Equals, json!(null))], &env()).is_ok());
        assert!(evaluate(&[f("data.nothing", FilterOp::NotEquals, json!("x"))], &env()).is_ok());
    }

    #[test]
    fn contains_semantics() {
        let ok = |field: &str, v: Value| evaluate(&[f(field, FilterOp::Contains, v)], &env());
        assert!(ok("data.customer.name", json!("ACME")).is_ok());
        assert!(ok("data.customer.name", json!("acme")).is_err()); // case-sensitive
        assert!(ok("data.customer.name", json!("")).is_ok());
        assert!(ok("data.tags", json!("vip")).is_ok());
        assert!(ok("data.tags", json!(7.0)).is_ok());
        assert!(ok("data.tags", json!("vi")).is_err());
        assert!(ok("data.items", json!({"sku": "A-1"})).is_ok());
        let r = ok("data.amount", json!(4)).unwrap_err();
        assert!(r.reason.contains("type mismatch"), "{}", r.reason);
        let r = ok("data.customer.name", json!(1)).unwrap_err();
        assert!(r.reason.contains("type mismatch"), "{}", r.reason);
        let r = ok("data.customer", json!("gold")).unwrap_err();
        assert!(r.reason.contains("type mismatch"), "{}", r.reason);
    }

    #[test]
    fn ordering_semantics() {
        let run = |field: &str, op, v: Value| evaluate(&[f(field, op, v)], &env());
        assert!(run("data.amount", FilterOp::GreaterThan, json!(41)).is_ok());
        assert!(run("data.amount", FilterOp::GreaterThan, json!(41.9)).is_ok());
        assert!(run("data.amount", FilterOp::GreaterThan, json!(42)).is_err());
        assert!(run("data.amount", FilterOp::LessThan, json!(42)).is_err());
        assert!(run("data.amount", FilterOp::LessThan, json!(42.01)).is_ok());
        assert!(run("data.ratio", FilterOp::LessThan, json!(1)).is_ok());
        assert!(run("data.customer.tier", FilterOp::GreaterThan, json!("aaa")).is_ok());
        assert!(run("data.customer.tier", FilterOp::LessThan, json!("silver")).is_ok());
        assert!(run("data.customer.tier", FilterOp::LessThan, json!("gold")).is_err());
        let r = run("data.amount", FilterOp::GreaterThan, json!("10")).unwrap_err();
        assert_eq!(
            r.reason,
            "data.amount is 42, expected greater_than \"10\" (type mismatch: cannot compare number with string)"
        );
        let r = run("data.flag", FilterOp::LessThan, json!(1)).unwrap_err();
        assert!(r.reason.contains("type mismatch"), "{}", r.reason);
        let r = run("data.amount", FilterOp::LessThan, json!(10)).unwrap_err();
        assert_eq!(r.reason, "data.amount is 42, expected less_than 10");
    }

    #[test]
    fn in_semantics() {
        let run = |field: &str, v: Value| evaluate(&[f(field, FilterOp::In, v)], &env());
        assert!(run("data.priority", json!(["low", "high"])).is_ok());
        assert!(run("data.priority", json!(["low"])).is_err());
        assert!(run("data.priority", json!([])).is_err());
        assert!(run("data.amount", json!([1, 42.0])).is_ok());
        // Unvalidated non-array value must fail gracefully.
        let r = run("data.priority", json!("high")).unwrap_err();
        assert!(r.reason.contains("invalid"), "{}", r.reason);
    }

    #[test]
    fn regex_semantics() {
        let run = |field: &str, v: Value| evaluate(&[f(field, FilterOp::Regex, v)], &env());
        assert!(run("data.customer.name", json!("^ACME")).is_ok());
        assert!(run("data.customer.name", json!("^acme")).is_err());
        assert!(run("data.customer.name", json!("(?i)^acme")).is_ok());
        let r = run("data.amount", json!("4")).unwrap_err();
        assert!(r.reason.contains("type mismatch"), "{}", r.reason);
        let r = run("data.priority", json!("(")).unwrap_err();
        assert!(r.reason.contains("invalid regular expression"), "{}", r.reason);
        let r = run("data.priority", json!(1)).unwrap_err();
        assert!(r.reason.contains("invalid"), "{}", r.reason);
    }

    #[test]
    fn first_failing_filter_reported() {
        let filters = vec![
            f("data.priority", FilterOp::Equals, json!("high")),
            f("data.amount", FilterOp::GreaterThan, json!(100)),
            f("data.missing", FilterOp::Equals, json!(1)),
        ];
        let r = evaluate(&filters, &env()).unwrap_err();
        assert_eq!(r.index, 1);
        assert_eq!(r.filter, filters[1]);
        assert!(evaluate(&[], &env()).is_ok());
        assert_eq!(reason(&filters[2..]), "data.missing is missing");
    }

    #[test]
    fn reason_truncates_huge_values() {
        let e = json!({"s": "x".repeat(10_000)});
        let r = evaluate(&[f("s", FilterOp::Equals, json!("y"))], &e).unwrap_err();
        assert!(r.reason.chars().count() < 200, "{}", r.reason.len());
        assert!(r.reason.contains('…'));
        // Multi-byte chars are cut on a char boundary (would panic otherwise).
        let e = json!({"s": "é".repeat(500)});
        assert!(evaluate(&[f("s", FilterOp::Equals, json!("y"))], &e).is_err());
    }

    #[test]
    fn compiled_filters() {
        let c = CompiledFilters::new(vec![
            f("data.customer.name", FilterOp::Regex, json!("Corp$")),
            f("data.tags", FilterOp::Contains, json!("vip")),
        ])
        .unwrap();
        assert_eq!(c.len(), 2);
        assert!(!c.is_empty());
        assert_eq!(c.filters().count(), 2);
        assert!(c.evaluate(&env()).is_ok());
        let r = c.evaluate(&json!({"data": {"customer": {"name": "Bob"}}})).unwrap_err();
        assert_eq!(r.index, 0);
        assert_eq!(r.reason, "data.customer.name is \"Bob\", expected regex \"Corp$\"");

        let e = CompiledFilters::new(vec![f("a", FilterOp::Equals, json!(1)), f("b", FilterOp::Regex, json!("["))])
            .unwrap_err();
        assert!(e.starts_with("filter #2 (b): invalid regular expression"), "{e}");
        assert!(CompiledFilters::new(vec![]).unwrap().is_empty());
    }

    // ---- property tests ----

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from), // non-finite becomes null
            "[a-z0-9 .*()\\[\\]\\\\?+é]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-c0-2]{1,2}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_op() -> impl Strategy<Value = FilterOp> {
        prop::sample::select(FilterOp::ALL)
    }

    const SEG: &str = "[a-z0-9_]{1,6}(\\.[a-z0-9_]{1,6}){0,2}";

    proptest! {
        #[test]
        fn star_matches_anything_but_notices(s in ".*") {
            prop_assert_eq!(event_type_matches("*", &s), !s.starts_with("hub."));
        }

        #[test]
        fn prefix_wildcard_matches_exactly_longer_prefixed(
            p in SEG,
            suffix in "[a-z0-9_.]{0,8}",
            other in "[a-z0-9_.]{0,16}",
        ) {
            let pat = format!("{p}.*");
            prop_assert!(validate_event_pattern(&pat).is_ok());
            let dotted = format!("{p}.");
            for s in [format!("{p}.{suffix}"), other.clone(), p.clone(), format!("{p}{suffix}")] {
                let expected = s.starts_with(&dotted) && s.len() > dotted.len();
                prop_assert_eq!(event_type_matches(&pat, &s), expected, "pattern {} vs {}", pat, s);
            }
        }

        #[test]
        fn exact_pattern_matches_only_itself(p in SEG, s in "[a-z0-9_.]{0,16}") {
            prop_assert!(validate_event_pattern(&p).is_ok());
            prop_assert!(event_type_matches(&p, &p));
            prop_assert_eq!(event_type_matches(&p, &s), s == p);
        }

        #[test]
        fn pattern_validation_never_panics(p in ".{0,140}", s in ".{0,20}") {
            let _ = validate_event_pattern(&p);
            let _ = event_type_matches(&p, &s);
        }

        #[test]
        fn evaluator_never_panics(
            envelope in arb_json(),
            field in "[a-c0-2.+]{0,8}",
            op in arb_op(),
            value in arb_json(),
        ) {
            let filter = Filter { field, operator: op, value };
            let _ = validate_filter(&filter);
            let _ = evaluate(std::slice::from_ref(&filter), &envelope);
            if let Ok(c) = CompiledFilters::new(vec![filter]) {
                let _ = c.evaluate(&envelope);
            }
        }

        #[test]
        fn equals_not_equals_complementary(v in arb_json(), w in arb_json()) {
            let envelope = serde_json::json!({"data": {"f": v.clone()}});
            let eq = evaluate(&[f("data.f", FilterOp::Equals, w.clone())], &envelope).is_ok();
            let ne = evaluate(&[f("data.f", FilterOp::NotEquals, w)], &envelope).is_ok();
            prop_assert!(eq != ne);
            // Reflexive.
            prop_assert!(evaluate(&[f("data.f", FilterOp::Equals, v)], &envelope).is_ok());
        }

        #[test]
        fn in_single_equals_equals(v in arb_json(), w in arb_json()) {
            let envelope = serde_json::json!({"data": {"f": v}});
            let eq = evaluate(&[f("data.f", FilterOp::Equals, w.clone())], &envelope).is_ok();
            let inn = evaluate(&[f("data.f", FilterOp::In, Value::Array(vec![w]))], &envelope).is_ok();
            prop_assert_eq!(eq, inn);
        }
    }
}
