//! Plans as text (for people), SQL (runnable, per phase), JSON (for tools)
//! and Markdown (for review comments). Deterministic: the same plan gives
//! the same bytes.

mod sql;
mod sqlite_sql;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::plan::{Cost, HazardKind, Phase, Plan, Step};

pub use sql::{SqlOptions, render_sql, render_sql_with};

fn phase_blurb(p: Phase) -> &'static str {
    match p {
        Phase::Expand => {
            "additive, backward-compatible: run before deploying the new app; the old app keeps working"
        }
        Phase::Migrate => "data work: run while old and new app versions both serve traffic",
        Phase::Contract => "the breaking tail: run once the old app version is gone",
    }
}

fn lock_line(s: &Step) -> String {
    let cost = match s.lock.cost {
        Cost::Metadata => "catalog change only",
        Cost::Sample => "reads a sample of the rows; reads and writes go on",
        Cost::Scan => "scans the table; reads and writes go on",
        Cost::Rewrite => "REWRITES the table",
        Cost::Batched => "short transactions, one per batch",
        Cost::Fill => "held while a materialized view is filled again",
        Cost::Verify => "held while every value is read: writes WAIT, reads go on",
        Cost::Build => "held while an index is built over every row: reads and writes WAIT",
        Cost::Read => "held while every row is read: reads and writes WAIT",
    };
    let mut line = format!("{}, {cost}", s.lock.level.sql_name());
    if !s.transactional {
        line.push_str("; runs outside a transaction");
    }
    line
}

fn timeout_line(s: &Step) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(ms) = s.timeouts.lock_timeout_ms {
        parts.push(format!("lock_timeout {}s", ms / 1000));
    }
    if let Some(ms) = s.timeouts.lock_timeout_cap_ms {
        parts.push(format!(
            "lock_timeout at most {ms}ms (locks two tables: gives way in a deadlock)"
        ));
    }
    match s.timeouts.statement_timeout_ms {
        Some(0) => parts.push("no statement_timeout".to_string()),
        Some(ms) => parts.push(format!("statement_timeout {}s", ms / 1000)),
        None => {}
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Counts of steps per phase and of hazards per kind.
fn summary(plan: &Plan) -> String {
    if plan.steps.is_empty() {
        return "No changes: the current schema already matches the target.".to_string();
    }
    let per_phase: Vec<String> = Phase::ALL
        .iter()
        .map(|p| format!("{} {}", plan.phase(*p).count(), p.name()))
        .collect();
    let mut hazards: BTreeMap<HazardKind, usize> = BTreeMap::new();
    for h in plan.steps.iter().flat_map(|s| &s.hazards) {
        *hazards.entry(h.kind).or_default() += 1;
    }
    let hz: Vec<String> = hazards
        .iter()
        .map(|(k, n)| format!("{n} {}", k.name()))
        .collect();
    let n = plan.steps.len();
    format!(
        "{n} step{}: {}{}",
        if n == 1 { "" } else { "s" },
        per_phase.join(", "),
        if hz.is_empty() {
            String::new()
        } else {
            format!("; hazards: {}", hz.join(", "))
        }
    )
}

/// The human plan: phase headers, each step's SQL, lock and hazards.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bellows plan (current schema {}, target {})",
        plan.current_fingerprint, plan.target_fingerprint
    );
    let mut n = 0;
    for (phase, steps) in plan.phases() {
        let _ = writeln!(
            out,
            "\n== {} ({} step{}) ==",
            phase.name().to_uppercase(),
            steps.len(),
            if steps.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "   {}", phase_blurb(phase));
        for s in steps {
            n += 1;
            let _ = writeln!(out, "\n{n}. {}", s.description);
            let _ = writeln!(out, "   lock: {}", lock_line(s));
            if let Some(t) = timeout_line(s) {
                let _ = writeln!(out, "   timeouts: {t}");
            }
            // A statement of several lines (a view's query) keeps its
            // margin on each.
            for stmt in &s.statements {
                for line in format!("{stmt};").lines() {
                    let _ = writeln!(out, "{}", format!("   | {line}").trim_end());
                }
            }
            for h in &s.hazards {
                let _ = writeln!(out, "   ! {}: {}", h.kind.name(), h.message);
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary(plan));
    out
}

/// For review comments: valid CommonMark, one numbered item per step
/// with its hazards and its SQL inside it.
pub fn render_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### bellows plan\n\n{}\n", md_escape(&summary(plan)));
    let _ = writeln!(
        out,
        "Current schema `{}` → target `{}`.",
        plan.current_fingerprint, plan.target_fingerprint
    );
    let mut n = 0;
    for (phase, steps) in plan.phases() {
        let _ = writeln!(out, "\n#### {} — {}\n", phase.name(), phase_blurb(phase));
        for s in steps {
            n += 1;
            // A list item's content is indented by its marker's width:
            // `10. ` is four wide, so three spaces would end the item.
            let marker = format!("{n}. ");
            let pad = " ".repeat(marker.len());
            let _ = writeln!(
                out,
                "{marker}**{}** — {}",
                md_escape(&s.description),
                lock_line(s)
            );
            for h in &s.hazards {
                let _ = writeln!(
                    out,
                    "{pad}- ⚠️ `{}`: {}",
                    h.kind.name(),
                    md_escape(&h.message)
                );
            }
            if s.statements.is_empty() {
                continue;
            }
            let fence = fence_for(&s.statements);
            let _ = writeln!(out, "{pad}{fence}sql");
            for stmt in &s.statements {
                let text = format!("{stmt};");
                for line in text.lines() {
                    let _ = writeln!(out, "{pad}{line}");
                }
            }
            let _ = writeln!(out, "{pad}{fence}");
        }
    }
    out
}

/// A code fence longer than any run of backticks in the text.
fn fence_for(statements: &[String]) -> String {
    let longest = statements
        .iter()
        .flat_map(|s| s.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text with the characters CommonMark would read as markup escaped; a
/// code span (between backticks) is left as it is, and so is an
/// underscore inside a word (`full_name`), which is never emphasis.
fn md_escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let intraword = word(i.checked_sub(1)) && word(Some(i + 1));
        if c == '`' {
            in_code = !in_code;
            out.push(c);
        } else if !in_code && ("\\*[]<>#!|~&".contains(c) || (c == '_' && !intraword)) {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Stable JSON: `version`, the two fingerprints, and `steps`, each with
/// `id {kind, object, action}`, `phase`, `description`, `statements`,
/// `transactional`, `lock {level, cost}`, `hazards [{kind, message}]`,
/// `timeouts`, optional `backfill`, `provides`, `requires`, `removes`.
pub fn render_json(plan: &Plan) -> String {
    // Plain data of strings, numbers and enums: serializing cannot fail.
    serde_json::to_string_pretty(plan).unwrap_or_default() + "\n"
}
