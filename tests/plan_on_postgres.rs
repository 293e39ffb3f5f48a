//! Every fixture's plan, run for real: `from.yaml` is created on a fresh
//! PostgreSQL database, with rows in it, then each phase's steps run in
//! order (transactional steps in a transaction, CONCURRENTLY steps outside
//! one, backfills as batched DO blocks). Afterwards the database has the
//! structure of `to.yaml`: the same tables, columns, types, nullability,
//! keys, constraints and indexes.

mod support;

use bellows::introspect::{Options, introspect_url};
use bellows::model::{Schema, Table};
use bellows::plan::{PlanOptions, plan};
use bellows::render::backfill_sql;
use bellows::spec;
use std::path::PathBuf;

use sqlx::AssertSqlSafe;
use support::TestDb;

/// What must match after contract; expressions are printed by the server
/// in its own words, so they are compared through the plan instead.
fn shape(t: &Table) -> String {
    let mut cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} {} null={} identity={:?} default={}",
                c.name,
                c.ty,
                c.nullable,
                c.identity,
                c.default.is_some()
            )
        })
        .collect();
    cols.sort();
    format!(
        "columns {cols:?}\npk {:?}\nunique {:?}\nfk {:?}\nchecks {:?}\nindexes {:?}",
        t.primary_key.as_ref().map(|p| (&p.name, &p.columns)),
        t.uniques
            .iter()
            .map(|(n, u)| (n, &u.columns))
            .collect::<Vec<_>>(),
        t.foreign_keys
            .iter()
            .map(|(n, f)| (n, &f.columns, &f.ref_table, &f.ref_columns))
            .collect::<Vec<_>>(),
        t.checks.keys().collect::<Vec<_>>(),
        t.indexes
            .iter()
            .map(|(n, i)| (n, i.unique, i.keys.len()))
            .collect::<Vec<_>>(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_plan_runs_on_postgres_and_reaches_the_target() {
    let mut cases: Vec<(String, PathBuf, PathBuf)> = support::good_cases()
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("?")
                .to_string();
            (name, p.join("from.yaml"), p.join("to.yaml"))
        })
        .collect();
    // The README's example migration, too.
    cases.push((
        "examples/shop_v1 -> shop_v2".to_string(),
        "schemas/examples/shop_v1.yaml".into(),
        "schemas/examples/shop_v2.yaml".into(),
    ));
    let done = support::run_bounded(cases, |(name, from_path, to_path)| async move {
        let from: Schema = spec::read_file(&from_path)
            .expect("from.yaml")
            .without_hints();
        let to = spec::read_file(&to_path).expect("to.yaml");
        let db = TestDb::new().await;
        db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
            .await;
        support::seed(&db, &from).await;
        let p = plan(&from, &to, &PlanOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for step in &p.steps {
            let run = |sql: String| {
                let pool = db.pool.clone();
                let label = format!(
                    "{name}: step `{}` ({})",
                    step.description,
                    step.phase.name()
                );
                async move {
                    sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                        .execute(&pool)
                        .await
                        .unwrap_or_else(|e| panic!("{label} failed: {e}\n--- SQL ---\n{sql}"));
                }
            };
            if let Some(b) = &step.backfill {
                run(backfill_sql(b, 2)).await;
            } else if step.transactional {
                run(format!("BEGIN; {}; COMMIT", step.statements.join("; "))).await;
            } else {
                for s in &step.statements {
                    run(s.clone()).await;
                }
            }
        }
        let found = introspect_url(&db.url, &Options::default())
            .await
            .expect("introspection");
        let want = to.without_hints();
        assert_eq!(
            found.schema.tables.keys().collect::<Vec<_>>(),
            want.tables.keys().collect::<Vec<_>>(),
            "{name}: tables after contract"
        );
        for (t, wt) in &want.tables {
            assert_eq!(
                shape(&found.schema.tables[t]),
                shape(wt),
                "{name}: {t} after contract"
            );
        }
        assert_eq!(found.schema.enums, want.enums, "{name}: enums");
        assert!(
            found.unmanaged.is_empty(),
            "{name}: leftovers {:?}",
            found.unmanaged
        );
        // And the database, read back, needs nothing more: the server's
        // spelling of expressions is not a change.
        let again = plan(&found.schema, &want, &PlanOptions::default()).expect("re-plan");
        let left: Vec<_> = again.steps.iter().map(|s| s.description.clone()).collect();
        assert!(
            left.is_empty(),
            "{name}: after contract a new plan still wants {left:?}"
        );
    })
    .await;
    assert!(done >= 40, "ran {done} fixtures");
}

#[tokio::test]
async fn plan_against_a_live_database_respects_unmanaged_dependents() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, legacy text);
         CREATE VIEW user_emails AS SELECT id, legacy FROM users;",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("app.yaml");
    let run = |yaml: &str| {
        std::fs::write(&target, yaml).expect("write target");
        std::process::Command::new(env!("CARGO_BIN_EXE_bellows"))
            .args(["plan", "--database-url", &db.url, "--target"])
            .arg(&target)
            .args(["--exit-code"])
            .output()
            .expect("bellows runs")
    };
    let same = "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      email: { type: text, nullable: false }\n      legacy: { type: text }\n    primary_key: [id]\n";
    let out = run(same);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no changes: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 view (public.user_emails)"));
    let drop_legacy = same.replace("      legacy: { type: text }\n", "");
    let out = run(&drop_legacy);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dropping column public.users.legacy would break view public.user_emails"),
        "{err}"
    );
    let add_col = same.replace(
        "      legacy:",
        "      nickname: { type: text }\n      legacy:",
    );
    let out = run(&add_col);
    assert_eq!(out.status.code(), Some(1), "changes pending");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("ALTER TABLE public.users ADD COLUMN nickname text;")
    );
}
