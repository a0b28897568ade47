//! Several statements of one transaction sent together. sqlx runs each SQLite connection on its own thread, and
//! every statement is a hop there and back; while the single writer is held, the hops (each waiting for a busy
//! runtime to poll the task again) cost more than the statements. On SQLite a script is one multi-statement
//! query (parameters renumbered so each statement keeps its own); on PostgreSQL, whose prepared statements
//! hold one statement each, the statements run one after another. [`Script::commit`] makes a whole transaction
//! one call: on SQLite `BEGIN`, the statements and `COMMIT`; on PostgreSQL one statement, the others as its
//! data-modifying `WITH` clauses.

use super::sql::{bind_all, Arg, Dialect};
use super::DbResult;
use sqlx::any::{Any, AnyRow};

/// SQLite's largest parameter number (SQLITE_MAX_VARIABLE_NUMBER of the bundled library), with room to spare.
const SQLITE_MAX_PARAMS: usize = 32_000;
/// Larger scripts run as a transaction, statement by statement: one statement of tens of thousands of
/// parameters (a big fan-out group) is encoded whole in memory, and four groups commit side by side.
const PG_ONE_STATEMENT_PARAMS: usize = 8_000;
/// Scripts up to this many parameters stay in the connection's statement cache.
const KEEP_PREPARED_PARAMS: usize = 2_000;

#[derive(Default)]
pub(crate) struct Script<'a> {
    stmts: Vec<(String, Vec<Arg<'a>>)>,
    /// Which statements' rows the caller wants (a `RETURNING` clause).
    returning: Vec<usize>,
    /// The text is the same every time (parameters carry the rows): keep it prepared on PostgreSQL too.
    constant_text: bool,
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
    /// A script whose statements' text does not depend on the data, worth keeping prepared.
    pub fn prepared(mut self) -> Self {
        self.constant_text = true;
        self
    }

    /// Adds a statement whose parameters are numbered `$1…` on their own.
    pub fn push(&mut self, sql: String, args: Vec<Arg<'a>>) {
        self.stmts.push((sql, args));
    }

    /// Adds a statement whose rows (`RETURNING …`) the caller reads; all such statements return the same columns.
    pub fn push_returning(&mut self, sql: String, args: Vec<Arg<'a>>) {
        self.returning.push(self.stmts.len());
        self.push(sql, args);
    }

    /// Runs every statement in order on `conn` and returns the rows they returned.
    pub async fn run(self, conn: &mut sqlx::AnyConnection, dialect: Dialect) -> DbResult<Vec<AnyRow>> {
        if dialect == Dialect::Postgres {
            let mut rows = Vec::new();
            for (sql, args) in self.stmts {
                rows.extend(bind_all(sqlx::query(&sql), args).fetch_all(&mut *conn).await?);
            }
            return Ok(rows);
        }
        self.run_sqlite(conn, "", "").await
    }

    /// Like [`Script::run`], but on PostgreSQL as one statement when it is small enough (one round trip
    /// inside the caller's transaction; see [`Script::into_one_statement`] for what that asks of the statements).
    pub async fn run_at_once(self, conn: &mut sqlx::AnyConnection, dialect: Dialect) -> DbResult<Vec<AnyRow>> {
        if dialect == Dialect::Postgres && self.fits_one_statement() {
            let keep = self.constant_text;
            let (sql, args) = self.into_one_statement();
            return bind_all(sqlx::query(&sql), args).persistent(keep).fetch_all(&mut *conn).await;
        }
        self.run(conn, dialect).await
    }

    /// Runs the statements as one transaction on a connection of `pool` and commits it; returns their rows.
    /// On SQLite the transaction is a single call (see the module comment); a failure rolls it back.
    pub async fn commit(self, pool: &sqlx::AnyPool, dialect: Dialect) -> DbResult<Vec<AnyRow>> {
        if dialect == Dialect::Postgres {
            if self.fits_one_statement() {
                // Not kept prepared unless the text is constant: a combined VALUES text is new for nearly every
                // batch, and a cache of them would hold megabytes on every connection.
                let keep = self.constant_text;
                let (sql, args) = self.into_one_statement();
                return bind_all(sqlx::query(&sql), args).persistent(keep).fetch_all(pool).await;
            }
            let mut tx = pool.begin().await?;
            let rows = self.run(&mut tx, dialect).await?;
            tx.commit().await?;
            return Ok(rows);
        }
        let mut guard = OpenTransaction(Some(pool.acquire().await?));
        let conn = guard.0.as_mut().ok_or(sqlx::Error::PoolClosed)?;
        match self.run_sqlite(conn, "BEGIN;\n", "COMMIT;").await {
            Ok(rows) => {
                guard.0 = None;
                Ok(rows)
            }
            Err(e) => {
                // A failed statement leaves the transaction open; SQLite may also have rolled it back already.
                let undone = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                if undone.is_ok() || undone.is_err_and(|r| r.to_string().contains("no transaction is active")) {
                    guard.0 = None;
                }
                Err(e)
            }
        }
    }

    /// Several statements, together small enough to be sent as one ([`Script::into_one_statement`]).
    fn fits_one_statement(&self) -> bool {
        let params: usize = self.stmts.iter().map(|(_, a)| a.len()).sum();
        self.stmts.len() > 1 && params <= PG_ONE_STATEMENT_PARAMS
    }

    /// PostgreSQL: the statements as data-modifying `WITH` clauses of one statement, which is one round trip and
    /// atomic without `BEGIN`/`COMMIT` (each of those is a round trip too). That statement is the last one, or,
    /// when rows were asked for, the union of those rows. A plain `SELECT` may only come last (an unread `WITH`
    /// query does not run), and no statement may depend on another's changes (they share one snapshot).
    fn into_one_statement(self) -> (String, Vec<Arg<'a>>) {
        let (mut sql, mut args) = (String::from("WITH "), Vec::new());
        let last = self.stmts.len() - 1;
        let main_is_last = self.returning.is_empty();
        for (i, (s, a)) in self.stmts.into_iter().enumerate() {
            if i == last && main_is_last {
                sql.truncate(sql.len() - 2);
                sql.push(' ');
                renumber(&s, args.len(), &mut sql);
            } else {
                sql.push_str(&format!("s{i} AS ("));
                renumber(&s, args.len(), &mut sql);
                sql.push_str("), ");
            }
            args.extend(a);
        }
        if !main_is_last {
            sql.truncate(sql.len() - 2);
            let union: Vec<String> = self.returning.iter().map(|i| format!("SELECT * FROM s{i}")).collect();
            sql.push(' ');
            sql.push_str(&union.join(" UNION ALL "));
        }
        (sql, args)
    }

    /// The SQLite form: as few multi-statement calls as the parameter limit allows, `head` before the first
    /// statement and `tail` after the last.
    async fn run_sqlite(self, conn: &mut sqlx::AnyConnection, head: &str, tail: &str) -> DbResult<Vec<AnyRow>> {
        let mut rows = Vec::new();
        if self.stmts.is_empty() && head.is_empty() {
            return Ok(rows);
        }
        let mut stmts = self.stmts.into_iter().peekable();
        let mut first = true;
        while first || stmts.peek().is_some() {
            let (mut sql, mut args) = (String::new(), Vec::new());
            if std::mem::take(&mut first) {
                sql.push_str(head);
            }
            while let Some((s, a)) =
                stmts.next_if(|(_, a)| args.is_empty() || args.len() + a.len() <= SQLITE_MAX_PARAMS)
            {
                renumber(&s, args.len(), &mut sql);
                sql.push_str(";\n");
                args.extend(a);
            }
            if stmts.peek().is_none() {
                sql.push_str(tail);
            }
            // Small scripts repeat (a group of a few events, a handful of attempts) and stay prepared; large ones
            // rarely repeat, and a statement cache full of them would hold megabytes.
            let keep = args.len() <= KEEP_PREPARED_PARAMS;
            rows.extend(bind_all(sqlx::query(&sql), args).persistent(keep).fetch_all(&mut *conn).await?);
        }
        Ok(rows)
    }
}

/// A connection whose hand-made transaction has not been settled: dropped like this (the caller was cancelled,
/// or the rollback failed) it is closed instead of going back to the pool, and SQLite rolls the rest back.
struct OpenTransaction(Option<sqlx::pool::PoolConnection<Any>>);

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn statements_become_clauses_of_the_last() {
        let mut s = super::Script::default();
        s.push("INSERT INTO a VALUES ($1, $2)".into(), vec![1.into(), 2.into()]);
        s.push("UPDATE b SET x = $1".into(), vec![3.into()]);
        s.push("SELECT pg_notify($1, '')".into(), vec!["c".into()]);
        let (sql, args) = s.into_one_statement();
        assert_eq!(
            sql,
            "WITH s0 AS (INSERT INTO a VALUES ($1, $2)), s1 AS (UPDATE b SET x = $3) SELECT pg_notify($4, '')"
        );
        assert_eq!(args.len(), 4);

        let mut s = super::Script::default();
        s.push_returning("UPDATE w SET n = $1 RETURNING id".into(), vec![1.into()]);
        s.push("INSERT INTO a VALUES ($1)".into(), vec![2.into()]);
        s.push_returning("UPDATE w SET n = $1 RETURNING id".into(), vec![3.into()]);
        let (sql, _) = s.into_one_statement();
        assert_eq!(
            sql,
            "WITH s0 AS (UPDATE w SET n = $1 RETURNING id), s1 AS (INSERT INTO a VALUES ($2)), \
             s2 AS (UPDATE w SET n = $3 RETURNING id) SELECT * FROM s0 UNION ALL SELECT * FROM s2"
        );
    }

    #[test]
    fn parameters_move_by_the_offset() {
        let mut out = String::new();
        renumber("UPDATE t SET a = $1, b = $12 WHERE c = $2", 10, &mut out);
        assert_eq!(out, "UPDATE t SET a = $11, b = $22 WHERE c = $12");
    }
}
