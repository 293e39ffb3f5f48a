//! A SQLite plan as a script for the `sqlite3` shell: each step in its own
//! `BEGIN IMMEDIATE` transaction, a rebuild with the PRAGMAs and
//! transaction it brings, a backfill as one UPDATE of every row still
//! NULL (apply runs the same UPDATE in rowid batches).

use std::fmt::Write;

use super::sql::SqlOptions;
use crate::plan::{FOREIGN_KEY_CHECK, Plan};
use crate::sql::sqlite::update;

/// Fails the script (with `.bail on`) when the rebuild broke a foreign
/// key: SQLite has no RAISE outside triggers, so the error is that of
/// `json()` on a text that is not JSON, named in the comment above it.
const FAIL_ON_BROKEN_KEY: &str = "SELECT CASE WHEN EXISTS (SELECT 1 FROM pragma_foreign_key_check) THEN json('a row breaks a foreign key: ROLLBACK') END;";

pub(super) fn render(plan: &Plan, o: &SqlOptions) -> String {
    let mut out = super::sql::header(
        plan,
        "A sqlite3 script (sqlite3 FILE < plan.sql). Run one phase at a time; each step is its own write transaction, a rebuild brings its own.",
    );
    let _ = writeln!(out, ".bail on");
    let _ = writeln!(out, ".timeout {}", o.lock_timeout.as_millis());
    super::sql::each_step(&mut out, plan, |out, s| {
        if let Some(b) = &s.backfill {
            let _ = writeln!(
                out,
                "-- apply runs this UPDATE in batches of rowids, each its own transaction; here it is one"
            );
            let _ = writeln!(out, "BEGIN IMMEDIATE;\n{};\nCOMMIT;", update(b, "true"));
        } else if s.transactional {
            out.push_str("BEGIN IMMEDIATE;\n");
            for stmt in &s.statements {
                let _ = writeln!(out, "{stmt};");
            }
            out.push_str("COMMIT;\n");
        } else {
            for stmt in &s.statements {
                let _ = writeln!(out, "{stmt};");
                if stmt == FOREIGN_KEY_CHECK {
                    let _ = writeln!(
                        out,
                        "-- the rows listed above break a foreign key: this stops the script before COMMIT (\"malformed JSON\"), and the rebuild is rolled back\n{FAIL_ON_BROKEN_KEY}"
                    );
                }
            }
        }
    });
    out
}
