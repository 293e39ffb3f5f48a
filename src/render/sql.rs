//! Runnable SQL, per phase, as a psql script: each transactional step in
//! its own short transaction with SET LOCAL timeouts (which works through
//! PgBouncer's transaction pooling); CONCURRENTLY steps outside any
//! transaction; backfills as one UPDATE per batch, each its own statement
//! under statement_timeout, built by the same code apply runs.

use std::fmt::Write;
use std::time::Duration;

use crate::plan::{Plan, Step};
use crate::sql::postgres::BackfillSql;

/// The settings a script is written for; `apply`'s defaults unless given.
#[derive(Debug, Clone, Copy)]
pub struct SqlOptions {
    /// For steps that do not set their own.
    pub lock_timeout: Duration,
    /// For steps that do not set their own; per batch for backfills.
    pub statement_timeout: Duration,
    pub batch_size: u32,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(60),
            batch_size: 5000,
        }
    }
}

fn setting(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("'{}s'", ms / 1000)
    } else {
        format!("'{ms}ms'")
    }
}

fn timeouts(s: &Step, o: &SqlOptions, local: bool) -> String {
    let set = if local { "SET LOCAL" } else { "SET" };
    let (lock, stmt) = s.timeouts.or(o.lock_timeout, o.statement_timeout);
    format!(
        "{set} lock_timeout = {};\n{set} statement_timeout = {};\n",
        setting(lock),
        setting(stmt)
    )
}

/// The plan as a psql script with apply's default settings.
pub fn render_sql(plan: &Plan) -> String {
    render_sql_with(plan, &SqlOptions::default())
}

/// A script's first two lines: the fingerprints it goes from and to, and
/// how to run it.
pub(super) fn header(plan: &Plan, how_to_run: &str) -> String {
    format!(
        "-- bellows plan: current schema {} -> target {}\n-- {how_to_run}\n",
        plan.current_fingerprint, plan.target_fingerprint
    )
}

/// The plan as a psql script with the given settings.
pub fn render_sql_with(plan: &Plan, o: &SqlOptions) -> String {
    if plan.dialect == crate::model::Dialect::Sqlite {
        return super::sqlite_sql::render(plan, o);
    }
    let mut out = header(
        plan,
        "A psql script (psql -v ON_ERROR_STOP=1 -f ...). Run one phase at a time; each step is its own transaction or, where marked, runs outside one.",
    );
    let _ = writeln!(out, "\\set ON_ERROR_STOP on");
    each_step(&mut out, plan, |out, s| {
        if let Some(b) = &s.backfill {
            let _ = writeln!(
                out,
                "-- batched backfill: the batch bounds are read first, then \\gexec runs one UPDATE per {} rows, each its own transaction and statement (statement_timeout applies per batch)",
                o.batch_size
            );
            out.push_str(&timeouts(s, o, false));
            let _ = writeln!(out, "SET synchronous_commit = off;");
            let _ = writeln!(out, "{}", BackfillSql::new(b).psql_script(o.batch_size));
            let _ = writeln!(
                out,
                "RESET lock_timeout;\nRESET statement_timeout;\nRESET synchronous_commit;"
            );
        } else if s.transactional {
            out.push_str("BEGIN;\n");
            out.push_str(&timeouts(s, o, true));
            for stmt in &s.statements {
                let _ = writeln!(out, "{stmt};");
            }
            out.push_str("COMMIT;\n");
        } else {
            let _ = writeln!(out, "-- outside a transaction (CONCURRENTLY)");
            out.push_str(&timeouts(s, o, false));
            for stmt in &s.statements {
                let _ = writeln!(out, "{stmt};");
            }
            let _ = writeln!(out, "RESET lock_timeout;\nRESET statement_timeout;");
        }
    });
    out
}

/// A script's steps, phase by phase, each under a comment with its
/// number, description and hazards; `body` writes its SQL.
pub(super) fn each_step(out: &mut String, plan: &Plan, mut body: impl FnMut(&mut String, &Step)) {
    let mut n = 0;
    for (phase, steps) in plan.phases() {
        let _ = writeln!(out, "\n-- ===== {} =====", phase.name());
        for s in steps {
            n += 1;
            let _ = writeln!(out, "\n-- step {n}: {}", s.description);
            for h in &s.hazards {
                let _ = writeln!(out, "-- hazard {}: {}", h.kind.name(), h.message);
            }
            body(out, s);
        }
    }
}
