//! Helpers for the planner's rule tests: a rule's test states the two
//! schemas (YAML, as a user writes them) and the plan it expects, or why
//! the change is refused. Each helper checks its own precondition first,
//! so a test cannot pass by testing nothing.

use std::path::Path;

use crate::model::Schema;
use crate::plan::{PlanOptions, plan};

/// A schema from YAML; `""` is the empty schema.
pub fn schema(yaml: &str) -> Schema {
    if yaml.trim().is_empty() {
        return Schema::default();
    }
    crate::spec::read_str(Path::new("test.yaml"), yaml)
        .unwrap_or_else(|e| panic!("the test's YAML is invalid: {e}"))
}

/// One line a step, `phase: description`, then its statements indented.
fn outline(from: &Schema, to: &Schema) -> Result<String, String> {
    let p = plan(from, to, &PlanOptions::default()).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for s in &p.steps {
        out.push_str(&format!("{}: {}\n", s.phase.name(), s.description));
        for q in &s.statements {
            out.push_str(&format!("    {q}\n"));
        }
    }
    Ok(out)
}

/// The outline of the plan from `from` to `to` (see [`plans_to`]); a
/// refusal fails the test.
#[track_caller]
pub fn outline_of(from: &str, to: &str) -> String {
    outline(&schema(from), &schema(to)).unwrap_or_else(|e| panic!("refused: {e}"))
}

/// Strips the indentation common to `text`'s lines and blank edges.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().skip_while(|l| l.trim().is_empty()).collect();
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let lines = &lines[..end];
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("").trim_end()))
        .collect()
}

/// Planning `from` → `to` gives exactly the steps `expected` outlines
/// (see `outline`), in order; and planning `to` → `to` gives none.
#[track_caller]
pub fn plans_to(from: &str, to: &str, expected: &str) {
    plans_between(&schema(from), &schema(to), expected);
}

/// [`plans_to`] for schemas built by the test (with what the server
/// would know of them, say).
#[track_caller]
pub fn plans_between(from: &Schema, to: &Schema, expected: &str) {
    assert_ne!(from, to, "precondition: the two schemas differ");
    let got = outline(from, to).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(got, dedent(expected), "the plan differs; got:\n{got}");
    assert_eq!(
        outline(to, to).as_deref(),
        Ok(""),
        "a schema planned against itself has steps"
    );
}

/// Planning `from` → `to` is refused, with a reason that contains `why`.
#[track_caller]
pub fn refused(from: &str, to: &str, why: &str) {
    refused_between(&schema(from), &schema(to), why);
}

/// [`refused`] for schemas built by the test.
#[track_caller]
pub fn refused_between(from: &Schema, to: &Schema, why: &str) {
    assert_ne!(from, to, "precondition: the two schemas differ");
    match outline(from, to) {
        Ok(steps) => panic!("planned instead of refused:\n{steps}"),
        Err(e) => assert!(e.contains(why), "refused, but not for {why:?}: {e}"),
    }
}
