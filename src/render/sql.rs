//! Runnable SQL, per phase: each transactional step in its own short
//! transaction with SET LOCAL timeouts (works through PgBouncer's
//! transaction pooling); CONCURRENTLY steps outside any transaction;
//! backfills as a DO block that commits after every batch.

use std::fmt::Write;

use crate::plan::{Backfill, Phase, Plan, Step};
use crate::sql::quote_ident;

/// Default lock wait for steps that do not set their own, as `apply` does.
const DEFAULT_LOCK_TIMEOUT: &str = "2s";
const DEFAULT_STATEMENT_TIMEOUT: &str = "60s";

fn timeouts(s: &Step, local: bool) -> String {
    let set = if local { "SET LOCAL" } else { "SET" };
    let lock = s
        .timeouts
        .lock_timeout_ms
        .map_or(DEFAULT_LOCK_TIMEOUT.to_string(), |ms| format!("{ms}ms"));
    let stmt = match s.timeouts.statement_timeout_ms {
        Some(0) => "0".to_string(),
        Some(ms) => format!("'{ms}ms'"),
        None => format!("'{DEFAULT_STATEMENT_TIMEOUT}'"),
    };
    format!("{set} lock_timeout = '{lock}';\n{set} statement_timeout = {stmt};\n")
}

/// Keyset-paginated batches by primary key, committing after each, from
/// a DO block (PostgreSQL 11+ allows COMMIT there when run outside a
/// transaction). Runs again safely: only rows still NULL are touched.
pub fn backfill_sql(b: &Backfill, batch: u32) -> String {
    let t = b
        .table
        .split_once('.')
        .map(|(s, n)| format!("{}.{}", quote_ident(s), quote_ident(n)))
        .unwrap_or_else(|| quote_ident(&b.table));
    let keys: Vec<String> = b.key.iter().map(|k| quote_ident(k)).collect();
    let vars: Vec<String> = (1..=keys.len()).map(|i| format!("k{i}")).collect();
    let prev: Vec<String> = (1..=keys.len()).map(|i| format!("p{i}")).collect();
    let decls: String = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("k{n} {t}.{k}%TYPE; p{n} {t}.{k}%TYPE; ", n = i + 1))
        .collect();
    let kl = keys.join(", ");
    let after = format!("(p1 IS NULL OR ({kl}) > ({}))", prev.join(", "));
    let only = if b.only_null {
        format!(" AND {} IS NULL", quote_ident(&b.column))
    } else {
        String::new()
    };
    let copy_prev: String = (1..=keys.len())
        .map(|i| format!("p{i} := k{i}; "))
        .collect();
    format!(
        "DO $bellows$ DECLARE {decls}BEGIN LOOP \
SELECT {kl} INTO {vars} FROM (SELECT {kl} FROM {t} WHERE {after} ORDER BY {kl} LIMIT {batch}) b ORDER BY {desc} LIMIT 1; \
EXIT WHEN k1 IS NULL; \
UPDATE {t} SET {c} = ({e}) WHERE {after} AND ({kl}) <= ({varl}){only}; \
{copy_prev}k1 := NULL; COMMIT; END LOOP; END $bellows$",
        vars = vars.join(", "),
        varl = vars.join(", "),
        desc = keys
            .iter()
            .map(|k| format!("{k} DESC"))
            .collect::<Vec<_>>()
            .join(", "),
        c = quote_ident(&b.column),
        e = b.expression,
    )
}

pub fn render_sql(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- bellows plan: current schema {} -> target {}",
        plan.current_fingerprint, plan.target_fingerprint
    );
    let _ = writeln!(
        out,
        "-- Run one phase at a time; each step is its own transaction or, where marked, runs outside one."
    );
    let mut n = 0;
    for phase in Phase::ALL {
        let steps: Vec<&Step> = plan.phase(phase).collect();
        if steps.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n-- ===== {} =====", phase.name());
        for s in steps {
            n += 1;
            let _ = writeln!(out, "\n-- step {n}: {}", s.description);
            for h in &s.hazards {
                let _ = writeln!(out, "-- hazard {}: {}", h.kind.name(), h.message);
            }
            if let Some(b) = &s.backfill {
                let _ = writeln!(
                    out,
                    "-- batched backfill, committing after each batch (run outside a transaction)"
                );
                out.push_str(&timeouts(s, false));
                let _ = writeln!(out, "{};", backfill_sql(b, 5000));
                let _ = writeln!(out, "RESET lock_timeout;\nRESET statement_timeout;");
            } else if s.transactional {
                out.push_str("BEGIN;\n");
                out.push_str(&timeouts(s, true));
                for stmt in &s.statements {
                    let _ = writeln!(out, "{stmt};");
                }
                out.push_str("COMMIT;\n");
            } else {
                let _ = writeln!(out, "-- outside a transaction (CONCURRENTLY)");
                out.push_str(&timeouts(s, false));
                for stmt in &s.statements {
                    let _ = writeln!(out, "{stmt};");
                }
                let _ = writeln!(out, "RESET lock_timeout;\nRESET statement_timeout;");
            }
        }
    }
    out
}
