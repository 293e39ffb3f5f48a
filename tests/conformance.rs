//! The migra conformance corpus (../shared/conformance, or the folder
//! `BELLOWS_CONFORMANCE_DIR` names), run the way its README asks: load
//! b.sql and dump it; load a.sql; `apply --phase all` a to that dump; then a new plan of a is empty and a's dump equals b's.
//! Each case that gets that far is also compared as the README's step 5
//! asks: `pg_dump --schema-only` of a and of b, as sets of lines, which
//! sees the kinds bellows does not manage yet; the count is reported.
//! A case may instead be refused at planning time with a clear reason
//! (a change that would break an object bellows does not manage, or an
//! unsupported change), never fail halfway through a plan.
//!
//! Not part of `cargo test` (the corpus is another project's data and is
//! not in this repository): run it with `cargo test --test conformance`.

#[path = "../examples/support/pg_dump.rs"]
mod pg_dump;
mod support;

use std::path::{Path, PathBuf};

use bellows::apply::{ApplyError, ApplyOptions, PhaseSel, Silent, apply};
use bellows::introspect::{Options, introspect_url};
use bellows::model::Schema;
use bellows::plan::{HazardKind, PlanOptions, plan};
use bellows::spec::{self, WriteOptions};
use support::TestDb;

/// The dump with each table's columns sorted: PostgreSQL cannot move a
/// column without a rewrite, so a column added by a migration comes last.
fn dump_ignoring_column_order(s: &Schema) -> String {
    let mut s = s.clone();
    for t in s.tables.values_mut() {
        t.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    spec::to_yaml(&s, WriteOptions::default())
}

async fn load(db: &TestDb, sql: &Path) {
    db.role("schemainspect_test_role").await;
    db.exec(&std::fs::read_to_string(sql).expect("fixture SQL"))
        .await;
}

#[derive(Debug)]
enum Outcome {
    /// Planned, applied, re-planned empty, same dump; with the lines
    /// `pg_dump --schema-only` prints for only one of the two databases
    /// (`-` a's, `+` b's): none when the whole schema matches.
    RoundTrips(Vec<String>),
    Refused(String),
}

async fn run_case(dir: PathBuf) -> (String, Outcome) {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_string();
    let b = TestDb::new().await;
    load(&b, &dir.join("b.sql")).await;
    let b_schema = introspect_url(&b.url, &Options::default())
        .await
        .expect("introspect b")
        .schema;
    let target = spec::read_str(
        Path::new("b.yaml"),
        &spec::to_yaml(&b_schema, WriteOptions::default()),
    )
    .expect("b's dump reads back");
    let a = TestDb::new().await;
    load(&a, &dir.join("a.sql")).await;
    let opts = ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        ..ApplyOptions::default()
    };
    match apply(&a.url, Some(&target), PhaseSel::All, &opts, &Silent).await {
        Ok(()) => {}
        Err(ApplyError::Plan(e)) => return (name, Outcome::Refused(e.to_string())),
        Err(other) => panic!("{name}: apply failed after it started (a wrong plan): {other}"),
    }
    let a_schema = introspect_url(&a.url, &Options::default())
        .await
        .expect("introspect a")
        .schema;
    let mut target = target;
    bellows::introspect::canonicalize_url(&a.url, &a_schema, &mut target)
        .await
        .expect("the target's views");
    let again = plan(&a_schema, &target, &PlanOptions::default()).expect("re-plan");
    assert!(
        again.is_empty(),
        "{name}: a new plan is not empty: {:?}",
        again
            .steps
            .iter()
            .map(|s| &s.description)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        dump_ignoring_column_order(&a_schema),
        dump_ignoring_column_order(&b_schema),
        "{name}: a's dump differs from b's"
    );
    let whole = |url: &str| pg_dump::whole_schema(url).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (wa, wb) = (whole(&a.url), whole(&b.url));
    (name, Outcome::RoundTrips(pg_dump::differing(&wa, &wb)))
}

/// The corpus's cases, sorted; a missing corpus fails with where to put it.
fn conformance_cases() -> Vec<PathBuf> {
    let root = PathBuf::from(
        std::env::var("BELLOWS_CONFORMANCE_DIR")
            .unwrap_or_else(|_| "../shared/conformance/migra".to_string()),
    );
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| {
            panic!(
                "the conformance corpus is expected at {} ({e}); it is migra's tests/FIXTURES \
                 folder (one subfolder per case with a.sql and b.sql): set BELLOWS_CONFORMANCE_DIR \
                 to where it is",
                root.display()
            )
        })
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("a.sql").exists())
        .collect();
    cases.sort();
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migra_fixtures_round_trip_through_dump() {
    let cases = conformance_cases();
    assert!(
        cases.len() >= 20,
        "expected the migra corpus, found {} cases",
        cases.len()
    );
    let mut tasks = tokio::task::JoinSet::new();
    // A few databases at a time: the server has a connection limit.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    for case in cases {
        for side in ["a.sql", "b.sql"] {
            let path = case.join(side);
            let slots = slots.clone();
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await.expect("semaphore open");
                let label = format!(
                    "{}/{}",
                    path.parent()
                        .and_then(|p| p.file_name())
                        .and_then(|n| n.to_str())
                        .unwrap_or("?"),
                    side
                );
                let sql = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let db = TestDb::new().await;
                support::dump::ensure_fixture_role(&db).await;
                db.exec(&sql).await;
                let found = support::dump::round_trip(&db, &label).await;
                support::dump::assert_unmanaged_reported(&db, &found, &label).await;
                (label, found.schema.tables.len(), found.unmanaged.len())
            });
        }
    }
    let mut done = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(x) => done.push(x),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a fixture task failed: {e}"),
        }
    }
    assert!(
        done.iter().any(|(_, tables, _)| *tables > 0),
        "no fixture produced any table"
    );
    // Every object of the corpus is managed since tables that inherit
    // are (they were the last left alone): one left alone again is a
    // regression. (Reporting unmanaged objects is tested in `introspect`.)
    let unmanaged: Vec<&String> = done
        .iter()
        .filter(|(_, _, unmanaged)| *unmanaged > 0)
        .map(|(label, _, _)| label)
        .collect();
    assert!(
        unmanaged.is_empty(),
        "fixtures with objects bellows leaves alone: {unmanaged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migra_cases_round_trip_or_are_refused_with_a_reason() {
    let cases = conformance_cases();
    let results = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = results.clone();
    support::run_bounded(cases, move |dir| {
        let sink = sink.clone();
        async move {
            let r = run_case(dir).await;
            sink.lock().expect("results").push(r);
        }
    })
    .await;
    let mut results = results
        .lock()
        .expect("results")
        .drain(..)
        .collect::<Vec<_>>();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let passed = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::RoundTrips(_)))
        .count();
    let whole = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::RoundTrips(d) if d.is_empty()))
        .count();
    let report: Vec<String> = results
        .iter()
        .map(|(n, o)| match o {
            Outcome::RoundTrips(d) if d.is_empty() => format!("  pass     {n}"),
            Outcome::RoundTrips(d) => format!(
                "  partial  {n}: the whole schema differs in {} lines: {}",
                d.len(),
                d.iter().take(4).cloned().collect::<Vec<_>>().join(" | ")
            ),
            Outcome::Refused(why) => {
                format!("  refused  {n}: {}", why.lines().next().unwrap_or(""))
            }
        })
        .collect();
    println!(
        "conformance: {passed}/{} round-trip, {whole} of them with the whole schema (pg_dump) the same\n{}",
        results.len(),
        report.join("\n")
    );
    for (n, o) in &results {
        if let Outcome::Refused(why) = o {
            assert!(
                why.contains("unsupported") || why.contains("does not manage"),
                "{n}: refused without a clear reason: {why}"
            );
        }
    }
    assert_eq!(results.len(), 26, "all 26 cases ran");
    assert!(
        passed == 26,
        "round-trips regressed to {passed}:\n{}",
        report.join("\n")
    );
    assert!(
        whole == 26,
        "whole-schema matches regressed to {whole}:\n{}",
        report.join("\n")
    );
}
