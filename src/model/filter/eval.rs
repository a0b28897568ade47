//! Evaluating payload filters against an event (server only: routing and the "test this filter" preview run here).

use super::{validate_filter, Filter, FilterOp, FilterRejection, REGEX_SIZE_LIMIT};
use regex::{Regex, RegexBuilder};
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// Rendered JSON values in rejection reasons are cut to this many characters so a
/// huge payload cannot blow up delivery logs or the UI.
const MAX_RENDERED_VALUE: usize = 120;

/// Compile a user regex with the same limits everywhere (validation, compile
/// time and ad-hoc evaluation), so what validates is exactly what runs.
pub(super) fn build_regex(pattern: &str) -> Result<Regex, String> {
    super::regex_within_length(pattern)?;
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT).build().map_err(
        |e| match e {
            regex::Error::CompiledTooBig(_) => {
                "regular expression is too complex (compiled size limit exceeded)".to_string()
            }
            // The syntax error text is multi-line with a caret pointing at the
            // problem; that is useful in the UI, so keep it.
            other => format!("invalid regular expression: {other}"),
        },
    )
}

/// Resolve a dot path. Object keys win over array indices, so a key literally
/// named `"0"` still works on objects.
pub(super) fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = root;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(map) => map.get(seg)?,
            Value::Array(items) => {
                // `usize::from_str` accepts a leading '+', which we don't want in paths.
                if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                items.get(seg.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// Filters with their regexes compiled once, for the hot delivery path.
#[derive(Debug, Clone)]
pub struct CompiledFilters {
    filters: Vec<(Filter, Option<Regex>)>,
}

impl CompiledFilters {
    /// Validate and compile. The error names the failing filter (1-based, as in
    /// the UI) and its field.
    pub fn new(filters: Vec<Filter>) -> Result<Self, String> {
        let mut out = Vec::with_capacity(filters.len());
        for (i, f) in filters.into_iter().enumerate() {
            validate_filter(&f).map_err(|e| format!("filter #{} ({}): {e}", i + 1, f.field))?;
            let re = match (&f.operator, &f.value) {
                (FilterOp::Regex, Value::String(p)) => {
                    Some(build_regex(p).map_err(|e| format!("filter #{} ({}): {e}", i + 1, f.field))?)
                }
                _ => None,
            };
            out.push((f, re));
        }
        Ok(CompiledFilters { filters: out })
    }

    /// The filters, in order.
    pub fn filters(&self) -> impl Iterator<Item = &Filter> {
        self.filters.iter().map(|(f, _)| f)
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// All filters must hold; returns the first one that does not.
    pub fn evaluate(&self, envelope: &Value) -> Result<(), FilterRejection> {
        for (index, (filter, re)) in self.filters.iter().enumerate() {
            check_one(filter, re.as_ref(), envelope).map_err(|reason| FilterRejection {
                index,
                filter: filter.clone(),
                reason,
            })?;
        }
        Ok(())
    }
}

/// Convenience: evaluate unvalidated filters directly (regexes are compiled on
/// every call; invalid filters simply fail). Use [`CompiledFilters`] on hot paths.
pub fn evaluate(filters: &[Filter], envelope: &Value) -> Result<(), FilterRejection> {
    for (index, filter) in filters.iter().enumerate() {
        let result = match (&filter.operator, &filter.value) {
            (FilterOp::Regex, Value::String(p)) => match build_regex(p) {
                Ok(re) => check_one(filter, Some(&re), envelope),
                Err(e) => Err(e),
            },
            _ => check_one(filter, None, envelope),
        };
        result.map_err(|reason| FilterRejection { index, filter: filter.clone(), reason })?;
    }
    Ok(())
}

/// Evaluate one filter; `Err` carries the human-readable reason.
fn check_one(f: &Filter, re: Option<&Regex>, envelope: &Value) -> Result<(), String> {
    let field = &f.field;
    // Missing fails for every operator (including not_equals): a filter on a
    // field the event does not carry should not silently let it through.
    let Some(actual) = lookup(envelope, field) else {
        return Err(format!("{field} is missing"));
    };
    let op = f.operator;
    let expected = &f.value;
    let mismatch = || format!("{field} is {}, expected {op} {}", render(actual), render(expected));
    let type_mismatch = |what: &str| {
        format!("{field} is {}, expected {op} {} (type mismatch: {what})", render(actual), render(expected))
    };

    match op {
        FilterOp::Equals => json_eq(actual, expected).then_some(()).ok_or_else(mismatch),
        FilterOp::NotEquals => (!json_eq(actual, expected)).then_some(()).ok_or_else(mismatch),
        FilterOp::Contains => match (actual, expected) {
            (Value::String(hay), Value::String(needle)) => {
                hay.contains(needle.as_str()).then_some(()).ok_or_else(mismatch)
            }
            (Value::String(_), _) => Err(type_mismatch("a text field can only contain a string value")),
            (Value::Array(items), _) => items.iter().any(|v| json_eq(v, expected)).then_some(()).ok_or_else(mismatch),
            _ => Err(type_mismatch(&format!("contains needs a string or list field, got {}", type_name(actual)))),
        },
        FilterOp::GreaterThan | FilterOp::LessThan => {
            let ord = match (actual, expected) {
                (Value::Number(a), Value::Number(b)) => num_cmp(a, b),
                (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
                _ => {
                    return Err(type_mismatch(&format!(
                        "cannot compare {} with {}",
                        type_name(actual),
                        type_name(expected)
                    )))
                }
            };
            let want = if op == FilterOp::GreaterThan { Ordering::Greater } else { Ordering::Less };
            (ord == Some(want)).then_some(()).ok_or_else(mismatch)
        }
        FilterOp::In => match expected {
            Value::Array(items) => items.iter().any(|v| json_eq(actual, v)).then_some(()).ok_or_else(mismatch),
            _ => Err(format!("filter on {field} is invalid: \"in\" needs a list of values")),
        },
        FilterOp::Regex => {
            let Some(re) = re else {
                return Err(format!("filter on {field} is invalid: \"regex\" needs a regular expression string"));
            };
            match actual {
                Value::String(s) => re.is_match(s).then_some(()).ok_or_else(mismatch),
                _ => Err(type_mismatch(&format!("regex needs a string field, got {}", type_name(actual)))),
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Compact JSON rendering for reasons, truncated on a char boundary.
fn render(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= MAX_RENDERED_VALUE {
        return s;
    }
    let mut out: String = s.chars().take(MAX_RENDERED_VALUE).collect();
    out.push('…');
    out
}

/// JSON equality where numbers compare by value across int/float (`1 == 1.0`),
/// recursively through arrays and objects.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Exact numeric comparison. Going through `f64` for everything would make
/// 9007199254740993 equal 9007199254740992, so integers stay integers and
/// int-vs-float is compared exactly.
fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => int_float_cmp(x, b.as_f64()?),
        (None, Some(y)) => int_float_cmp(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn as_int(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Compare an integer with a float without losing precision.
pub(super) fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^127 is exactly representable; anything at/above it exceeds every i128.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // In range and integral, so the cast is exact.
    let ti = t as i128;
    Some(match i.cmp(&ti) {
        Ordering::Equal if f > t => Ordering::Less,
        Ordering::Equal if f < t => Ordering::Greater,
        o => o,
    })
}
