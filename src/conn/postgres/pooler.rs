//! Statements that stay safe behind a transaction-pooling PgBouncer.

use sqlx::postgres::PgArguments;
use sqlx::{Postgres, SqlSafeStr};

// ---------------------------------------------------------------------------
// Statements that stay safe behind a transaction-pooling PgBouncer.
//
// Between transactions, a pooler in transaction mode may hand this
// client's server session to another client, and give this client another
// session. So:
// - a statement with parameters goes out unnamed, never as a named
//   prepared statement the server session keeps (`sqlx_s_1 already
//   exists`): use these functions, never `sqlx::query` directly;
// - such a statement runs inside an explicit transaction, because the
//   driver parses it and executes it in two round trips;
// - session settings are only made with SET LOCAL, inside a transaction.
// ---------------------------------------------------------------------------

/// A statement with parameters, unnamed.
pub fn query<'q>(sql: impl SqlSafeStr) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    sqlx::query(sql).persistent(false)
}

/// A statement whose result is one column, unnamed.
pub fn query_scalar<'q, O>(
    sql: impl SqlSafeStr,
) -> sqlx::query::QueryScalar<'q, Postgres, O, PgArguments>
where
    (O,): for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_scalar(sql).persistent(false)
}

/// A statement whose rows map to a tuple, unnamed.
pub fn query_as<'q, O>(sql: impl SqlSafeStr) -> sqlx::query::QueryAs<'q, Postgres, O, PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as(sql).persistent(false)
}

#[cfg(test)]
mod pooler_rules {
    /// Every statement with parameters goes through `query`, `query_scalar`
    /// or `query_as` above: a direct `sqlx::query` would prepare a named
    /// statement, which breaks behind a transaction pooler.
    #[test]
    fn no_statement_bypasses_the_unnamed_helpers() {
        let mut offenders = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                // SQLite's modules talk to no pooler.
                if path.ends_with("conn/postgres/pooler.rs")
                    || path.components().any(|c| c.as_os_str() == "sqlite")
                    || path.extension().is_none_or(|e| e != "rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable");
                for (n, line) in text.lines().enumerate() {
                    for bad in [
                        "sqlx::query(",
                        "sqlx::query_scalar(",
                        "sqlx::query_as(",
                        "sqlx::query_with(",
                    ] {
                        if line.contains(bad) {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "use crate::conn::postgres::{{query, query_scalar, query_as}} instead:\n{}",
            offenders.join("\n")
        );
    }
}
