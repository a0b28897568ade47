//! The SQL both engines share: the dialect's few differences, bind values, and WHERE clauses of only the
//! filters given.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The `i`-th (1-based) bind placeholder. SQLite gets anonymous `?` (bound in order): for `$n` sqlx looks
    /// every parameter up by name, which made statements with thousands of parameters quadratic.
    pub(crate) fn param(self, i: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${i}"),
        }
    }

    /// The deliveries table read through the queue's partial index (pending and retrying rows). SQLite would
    /// rather walk a tenant's or an endpoint's whole log by their indexes than the small queue.
    pub(crate) fn queue_table(self) -> &'static str {
        match self {
            Dialect::Sqlite => "deliveries INDEXED BY deliveries_due",
            Dialect::Postgres => "deliveries",
        }
    }

    /// `p1, p2, … pn` for an `IN (…)` list.
    pub(crate) fn list(self, n: usize) -> String {
        (1..=n).map(|i| self.param(i)).collect::<Vec<_>>().join(", ")
    }

    /// `head (p1 … pcols), (…) tail` for `rows` rows, each parameter used once, in order.
    pub(crate) fn values_sql(self, head: &str, rows: usize, cols: usize, tail: &str) -> String {
        let mut sql = String::with_capacity(head.len() + tail.len() + rows * cols * 6);
        sql.push_str(head);
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..cols {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.param(r * cols + c + 1));
            }
            sql.push(')');
        }
        sql.push_str(tail);
        sql
    }
}

/// A WHERE clause of only the filters actually given. `(? IS NULL OR col = ?)` would keep one SQL text, but
/// then neither engine can pick the index that fits the filter (an endpoint's log scanned the whole table).
pub(crate) struct Conditions {
    dialect: Dialect,
    /// Parameters of the same statement before these (another `Conditions` bound first).
    before: usize,
    sql: Vec<String>,
    args: Vec<Arg<'static>>,
}

impl Conditions {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Conditions { dialect, before: 0, sql: Vec::new(), args: Vec::new() }
    }

    /// Conditions for a later part of the statement `first` begins: numbered after its parameters, and bound
    /// after them.
    pub(crate) fn after(first: &Conditions) -> Self {
        Conditions {
            dialect: first.dialect,
            before: first.before + first.args.len(),
            sql: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds `col op ?` when the value is present.
    pub(crate) fn text(&mut self, col: &str, op: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.args.push(Arg::Owned(Some(v.to_string())));
            self.sql.push(format!("{col} {op} {}", self.dialect.param(self.before + self.args.len())));
        }
        self
    }

    pub(crate) fn int(&mut self, col: &str, op: &str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.args.push(Arg::Int(Some(v)));
            self.sql.push(format!("{col} {op} {}", self.dialect.param(self.before + self.args.len())));
        }
        self
    }

    /// A condition of several parameters: each `?` in `sql` becomes the next placeholder, bound to the next of
    /// `values` (an OR across columns, a keyset over two).
    pub(crate) fn expr(&mut self, sql: &str, values: Vec<Arg<'static>>) -> &mut Self {
        let mut parts = sql.split('?');
        let mut text = parts.next().unwrap_or_default().to_string();
        for (part, v) in parts.zip(values) {
            self.args.push(v);
            text.push_str(&self.dialect.param(self.before + self.args.len()));
            text.push_str(part);
        }
        self.sql.push(text);
        self
    }

    /// A fixed condition without parameters.
    pub(crate) fn raw(&mut self, cond: &str) -> &mut Self {
        self.sql.push(cond.to_string());
        self
    }

    /// `WHERE … ` (or nothing), then `tail` with the next placeholder for a final LIMIT.
    pub(crate) fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    /// The placeholder after the conditions' own.
    pub(crate) fn next_param(&self) -> String {
        self.dialect.param(self.before + self.args.len() + 1)
    }

    pub(crate) fn bind<'q>(&'q self, mut q: Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>> {
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Str(v) => q.bind(*v),
                Arg::Owned(v) => q.bind(v.as_deref()),
            };
        }
        q
    }
}

/// A bind value.
pub(crate) enum Arg<'a> {
    Int(Option<i64>),
    Str(Option<&'a str>),
    Owned(Option<String>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Str(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Str(v)
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Owned(Some(v))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Arg::Owned(v)
    }
}

pub(crate) fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    args: Vec<Arg<'q>>,
) -> Query<'q, Any, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Str(v) => q.bind(v),
            Arg::Owned(v) => q.bind(v),
        };
    }
    q
}
