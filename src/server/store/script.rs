//! Several statements of one transaction sent together. sqlx runs each SQLite connection on its own thread, and
//! every statement is a hop there and back; while the single writer is held, the hops (each waiting for a busy
//! runtime to poll the task again) cost more than the statements. On SQLite a script is one multi-statement
//! query (parameters renumbered so each statement keeps its own); on PostgreSQL, whose prepared statements
//! hold one statement each, the statements run one after another.

use super::{DbResult, Dialect};
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;

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

/// SQLite's largest parameter number (SQLITE_MAX_VARIABLE_NUMBER of the bundled library), with room to spare.
const SQLITE_MAX_PARAMS: usize = 32_000;
/// Scripts up to this many parameters stay in the connection's statement cache.
const KEEP_PREPARED_PARAMS: usize = 2_000;

#[derive(Default)]
pub(crate) struct Script<'a> {
    stmts: Vec<(String, Vec<Arg<'a>>)>,
}

fn bind_all<'q>(mut q: Query<'q, Any, AnyArguments<'q>>, args: Vec<Arg<'q>>) -> Query<'q, Any, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Str(v) => q.bind(v),
            Arg::Owned(v) => q.bind(v),
        };
    }
    q
}

/// `sql` with every `$n` turned into `$(n + offset)`. Only for the store's own statements, which hold no `$`
/// inside literals.
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
}

impl<'a> Script<'a> {
    /// Adds a statement whose parameters are numbered `$1…` on their own.
    pub fn push(&mut self, sql: String, args: Vec<Arg<'a>>) {
        self.stmts.push((sql, args));
    }

    /// Runs every statement in order on `conn` and returns the rows they returned.
    pub async fn run(self, conn: &mut sqlx::AnyConnection, dialect: Dialect) -> DbResult<Vec<AnyRow>> {
        let mut rows = Vec::new();
        if dialect == Dialect::Postgres {
            for (sql, args) in self.stmts {
                rows.extend(bind_all(sqlx::query(&sql), args).fetch_all(&mut *conn).await?);
            }
            return Ok(rows);
        }
        let mut stmts = self.stmts.into_iter().peekable();
        while stmts.peek().is_some() {
            let (mut sql, mut args) = (String::new(), Vec::new());
            while let Some((s, a)) =
                stmts.next_if(|(_, a)| args.is_empty() || args.len() + a.len() <= SQLITE_MAX_PARAMS)
            {
                renumber(&s, args.len(), &mut sql);
                sql.push_str(";\n");
                args.extend(a);
            }
            // Small scripts repeat (a group of a few events, a handful of attempts) and stay prepared; large ones
            // rarely repeat, and a statement cache full of them would hold megabytes.
            let keep = args.len() <= KEEP_PREPARED_PARAMS;
            rows.extend(bind_all(sqlx::query(&sql), args).persistent(keep).fetch_all(&mut *conn).await?);
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn parameters_move_by_the_offset() {
        let mut out = String::new();
        renumber("UPDATE t SET a = $1, b = $12 WHERE c = $2", 10, &mut out);
        assert_eq!(out, "UPDATE t SET a = $11, b = $22 WHERE c = $12");
    }
}
