//! Property: every plan bellows makes between two schemas runs to the end
//! on PostgreSQL. Random pairs of small related schemas (see
//! `support/random_schema.rs`) are created with rows, planned, and applied
//! through all three phases by the real executor; afterwards the database
//! has the target's structure and a new plan is empty. A refusal is fine
//! (counted by reason); a plan that fails partway, a planner bug, or a
//! database that does not reach the target is not.
//!
//! A fixed seed, so CI runs the same cases every time:
//!
//! ```sh
//! cargo test --test random_pairs                          # 300 cases
//! BELLOWS_RANDOM_PAIRS=10000 cargo test --release --test random_pairs -- --nocapture
//! BELLOWS_RANDOM_SEED=7 cargo test --test random_pairs    # other cases
//! ```
//!
//! A failure is shrunk to a small pair, printed as the two YAML files (a
//! ready fixture for `schemas/cases/`).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bellows::apply::{ApplyError, ApplyOptions, PhaseSel, Silent, apply};
use bellows::introspect::{Options, introspect_url};
use bellows::plan::{HazardKind, PlanError, PlanOptions, plan};
use bellows::spec;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use support::TestDb;
use support::random_schema::pair;

/// What one pair came to.
#[derive(Debug, Clone)]
enum Outcome {
    /// Applied to the end: this many steps.
    Ran(usize),
    /// The two schemas are the same.
    Nothing,
    /// bellows refused to plan, before changing anything.
    Refused(String),
    Failed(String),
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn options() -> ApplyOptions {
    ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        batch_size: Some(2),
        ..ApplyOptions::default()
    }
}

/// The kind of a refusal, for the summary.
fn reason(e: &PlanError) -> String {
    match e {
        PlanError::MissingBackfill { .. } => "a new NOT NULL column needs a backfill".into(),
        PlanError::NoKeyForBackfill { .. } => "a backfill needs a key to page by".into(),
        PlanError::Unsupported { what, .. } => {
            // What was asked, up to the first generated name (t1,
            // public.t1.c2, k4), and why, after the colon.
            let (asked, why) = what.split_once(": ").unwrap_or((what, ""));
            let head: Vec<&str> = asked
                .split_whitespace()
                .take_while(|w| !w.chars().any(|c| c.is_ascii_digit()) && !w.contains('.'))
                .collect();
            match why {
                "" => format!("unsupported: {}", head.join(" ")),
                why => format!("unsupported: {} …: {why}", head.join(" ")),
            }
        }
        PlanError::NameTaken { .. } => "a helper name is taken".into(),
        PlanError::NameHeld { .. } => "a new name is held until contract".into(),
        PlanError::BreaksUnmanaged { .. } => "breaks an unmanaged object".into(),
        other => other.to_string(),
    }
}

async fn check(bytes: Vec<u8>) -> Outcome {
    let (from, to) = pair(&bytes);
    let (from_yaml, to_yaml) = (from.yaml(), to.yaml());
    let from_schema = match spec::read_str(Path::new("from.yaml"), &from_yaml) {
        Ok(s) => s.without_hints(),
        Err(e) => return Outcome::Failed(format!("the generated from.yaml is invalid: {e}")),
    };
    let to_schema = match spec::read_str(Path::new("to.yaml"), &to_yaml) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("the generated to.yaml is invalid: {e}")),
    };
    let db = TestDb::new().await;
    let mut setup = bellows::sql::postgres::create_all(&from_schema);
    // The rows hold every foreign key, in whatever order they go in.
    setup.push("SET session_replication_role = replica".into());
    setup.extend(from.rows());
    setup.push("RESET session_replication_role".into());
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(setup.join(";\n")))
        .execute(&db.pool)
        .await
    {
        return Outcome::Failed(format!("setting up from.yaml with rows failed: {e}"));
    }
    // Planned as apply plans: against the database (which tables are
    // empty, the server's version).
    let live = match introspect_url(&db.url, &Options::default()).await {
        Ok(l) => l,
        Err(e) => return Outcome::Failed(format!("reading the database failed: {e}")),
    };
    let planned = match plan(&live.schema, &to_schema, &live.plan_options()) {
        Ok(p) => p,
        Err(errors) => {
            if let Some(bug) = errors.0.iter().find(|e| {
                matches!(
                    e,
                    PlanError::Cycle { .. } | PlanError::PhaseInversion { .. }
                )
            }) {
                return Outcome::Failed(bug.to_string());
            }
            return Outcome::Refused(reason(&errors.0[0]));
        }
    };
    if planned.is_empty() {
        return Outcome::Nothing;
    }
    if let Err(e) = apply(
        &db.url,
        Some(&to_schema),
        PhaseSel::All,
        &options(),
        &Silent,
    )
    .await
    {
        return match e {
            ApplyError::NoMigration { .. } => {
                Outcome::Failed("the plan has steps, but apply found none to run".into())
            }
            e => Outcome::Failed(format!("apply failed: {e}")),
        };
    }
    let found = match introspect_url(&db.url, &Options::default()).await {
        Ok(f) => f.schema,
        Err(e) => return Outcome::Failed(format!("reading the database back failed: {e}")),
    };
    let want = to_schema.without_hints();
    if found.tables.keys().collect::<Vec<_>>() != want.tables.keys().collect::<Vec<_>>() {
        return Outcome::Failed(format!(
            "tables after apply: {:?}, wanted {:?}",
            found.tables.keys().collect::<Vec<_>>(),
            want.tables.keys().collect::<Vec<_>>()
        ));
    }
    for (t, wt) in &want.tables {
        let (got, wanted) = (support::shape(&found.tables[t]), support::shape(wt));
        if got != wanted {
            return Outcome::Failed(format!("{t} after apply:\n{got}\nwanted:\n{wanted}"));
        }
    }
    for (column, query) in to.value_checks() {
        match sqlx::query_scalar::<_, Option<bool>>(sqlx::AssertSqlSafe(query.clone()))
            .fetch_one(&db.pool)
            .await
        {
            Ok(Some(true)) => {}
            Ok(_) => {
                return Outcome::Failed(format!(
                    "{column} lost its values: {query} is not true after apply"
                ));
            }
            Err(e) => return Outcome::Failed(format!("checking {column}'s values: {e}")),
        }
    }
    match plan(&found, &want, &PlanOptions::default()) {
        Ok(p) if p.is_empty() => Outcome::Ran(planned.steps.len()),
        Ok(p) => Outcome::Failed(format!(
            "after apply a new plan still wants: {:?}",
            p.steps.iter().map(|s| &s.description).collect::<Vec<_>>()
        )),
        Err(e) => Outcome::Failed(format!("re-planning after apply failed: {e}")),
    }
}

/// Runs every case, four at a time.
async fn run_all(cases: Vec<Vec<u8>>) -> Vec<Outcome> {
    let slots = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, bytes) in cases.into_iter().enumerate() {
        let slots = slots.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("semaphore open");
            (i, check(bytes).await)
        });
    }
    let mut out: Vec<(usize, Outcome)> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(x) => out.push(x),
            Err(e) => panic!("a case panicked: {e}"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, o)| o).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_schema_pairs_plan_and_apply_to_the_end() {
    let cases = env_number("BELLOWS_RANDOM_PAIRS", 300) as usize;
    let seed = env_number("BELLOWS_RANDOM_SEED", 20_261_124);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = proptest::collection::vec(proptest::num::u8::ANY, 0..96);
    let mut trees = Vec::with_capacity(cases);
    for _ in 0..cases {
        trees.push(strategy.new_tree(&mut runner).expect("a case"));
    }
    // One case, shown in full: BELLOWS_RANDOM_CASE=<n from the summary>.
    if let Ok(n) = std::env::var("BELLOWS_RANDOM_CASE") {
        let n: usize = n.parse().expect("BELLOWS_RANDOM_CASE is a case number");
        let bytes = trees[n].current();
        let (from, to) = pair(&bytes);
        let outcome = check(bytes).await;
        panic!(
            "case {n}: {outcome:?}\n--- from.yaml ---\n{}\n--- to.yaml ---\n{}",
            from.yaml(),
            to.yaml()
        );
    }
    let started = std::time::Instant::now();
    let outcomes = run_all(trees.iter().map(|t| t.current()).collect()).await;

    let mut ran = 0;
    let mut steps = 0;
    let mut nothing = 0;
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed: Vec<usize> = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        match o {
            Outcome::Ran(n) => {
                ran += 1;
                steps += n;
            }
            Outcome::Nothing => nothing += 1,
            Outcome::Refused(r) => *refused.entry(r.clone()).or_default() += 1,
            Outcome::Failed(_) => failed.push(i),
        }
    }
    eprintln!(
        "{cases} random pairs (seed {seed}) in {:.1} s: {ran} applied to the end ({steps} steps), {nothing} with nothing to do, {} refused, {} failed",
        started.elapsed().as_secs_f64(),
        refused.values().sum::<usize>(),
        failed.len()
    );
    for (r, n) in &refused {
        eprintln!("  refused {n}×: {r}");
    }
    for &i in &failed {
        if let Outcome::Failed(w) = &outcomes[i] {
            eprintln!("  failed (case {i}): {}", w.lines().next().unwrap_or(""));
        }
    }
    let Some(&first) = failed.first() else {
        assert!(
            ran * 2 >= cases,
            "only {ran} of {cases} pairs were applied: the generator makes too few plans that run"
        );
        return;
    };
    // Shrink the first failure to a small pair that still fails.
    let mut tree = trees.swap_remove(first);
    let mut why = match &outcomes[first] {
        Outcome::Failed(w) => w.clone(),
        _ => unreachable!("a failure"),
    };
    let mut best = tree.current();
    let mut still_fails = true;
    for _ in 0..300 {
        let moved = if still_fails {
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !moved {
            break;
        }
        match check(tree.current()).await {
            Outcome::Failed(w) => {
                why = w;
                best = tree.current();
                still_fails = true;
            }
            _ => still_fails = false,
        }
    }
    let (from, to) = pair(&best);
    panic!(
        "{} of {cases} random pairs failed; the first, shrunk:\n\n{why}\n\n--- from.yaml ---\n{}\n--- to.yaml ---\n{}",
        failed.len(),
        from.yaml(),
        to.yaml()
    );
}
