//! Every fixture's plan, run for real as the script `plan --format sql`
//! writes, through psql: `from.yaml` is created on a fresh PostgreSQL
//! database, with rows in it, then the script runs (transactional steps in
//! a transaction, CONCURRENTLY steps outside one, backfills one UPDATE per
//! batch). Afterwards the database has the structure of `to.yaml`: the
//! same tables, columns, types, nullability, keys, constraints and
//! indexes. And a backfill that takes longer than statement_timeout as a
//! whole runs, because the timeout applies per batch.

mod support;

use bellows::introspect::{Options, introspect_url};
use bellows::model::Schema;
use bellows::plan::{PlanOptions, plan};
use bellows::render::{SqlOptions, render_sql_with};
use bellows::spec;
use std::path::PathBuf;

use support::TestDb;

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
        support::ensure_roles(&db, &[&from, &to]).await;
        db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
            .await;
        support::seed(&db, &from).await;
        let kept = support::value_counts(&db, &from, &to).await;
        let p = plan(&from, &to, &PlanOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let script = render_sql_with(
            &p,
            &SqlOptions {
                batch_size: 2,
                ..SqlOptions::default()
            },
        );
        support::psql(&db.url, &script, &name);
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
                support::shape(&found.schema.tables[t]),
                support::shape(wt),
                "{name}: {t} after contract"
            );
        }
        assert_eq!(found.schema.enums, want.enums, "{name}: enums");
        assert_eq!(
            found.schema.views.keys().collect::<Vec<_>>(),
            want.views.keys().collect::<Vec<_>>(),
            "{name}: views after contract"
        );
        // The values went along: a kept, renamed or retyped column holds
        // as many values, as many distinct ones, as before.
        for (column, before, query) in &kept {
            let after: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .fetch_one(&db.pool)
                .await
                .unwrap_or_else(|e| panic!("{name}: {query}: {e}"));
            assert_eq!(
                &after, before,
                "{name}: {column} (values, distinct values) before and after"
            );
        }
        assert!(
            found.unmanaged.is_empty(),
            "{name}: leftovers {:?}",
            found.unmanaged
        );
        // And the database, read back, needs nothing more: the server's
        // spelling of expressions (and of views' queries) is not a change.
        let mut want = want;
        bellows::introspect::canonicalize_url(&db.url, &found.schema, &mut want)
            .await
            .expect("the target's views");
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
         CREATE MATERIALIZED VIEW user_emails AS SELECT id, legacy FROM users;
         CREATE RULE keep_legacy AS ON UPDATE TO users WHERE NEW.legacy IS NULL DO INSTEAD NOTHING;",
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
    let same = "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      email: { type: text, nullable: false }\n      legacy: { type: text }\n    primary_key: [id]\nmaterialized_views:\n  user_emails: SELECT id, legacy FROM users\n";
    let out = run(same);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no changes: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 rule (keep_legacy on public.users)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The materialized view is managed: the target must say what it reads.
    let drop_legacy = same.replace("      legacy: { type: text }\n", "");
    let out = run(&drop_legacy);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "materialized view public.user_emails reads column public.users.legacy, which the target no longer has"
        ),
        "{err}"
    );
    // The rule is not: dropping the column would break it.
    let out = run(&drop_legacy.replace(
        "  user_emails: SELECT id, legacy FROM users",
        "  user_emails: SELECT id FROM users",
    ));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "dropping column public.users.legacy would break rule keep_legacy on public.users"
        ),
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

/// `--format sql` gives each backfill batch its own statement_timeout: a
/// backfill that takes longer than the timeout as a whole still runs
/// (before, one SET statement_timeout covered a DO block with every batch
/// in it, and the server cancelled it partway).
#[tokio::test]
async fn a_rendered_backfill_longer_than_statement_timeout_runs_batch_by_batch() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE FUNCTION slow(i bigint) RETURNS bigint LANGUAGE sql VOLATILE AS $$ SELECT pg_sleep(0.0002); SELECT i * 2 $$;
         CREATE TABLE t (id bigint PRIMARY KEY);
         INSERT INTO t SELECT generate_series(1, 8000);",
    )
    .await;
    let read = |text: &str| spec::read_str(std::path::Path::new("t.yaml"), text).expect("schema");
    let from = read("tables:\n  t: { columns: { id: { type: bigint } }, primary_key: [id] }\n");
    let to = read(
        "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      v: { type: bigint, nullable: false, backfill: \"slow(id)\" }\n    primary_key: [id]\n",
    );
    let p = plan(&from, &to, &PlanOptions::default()).expect("plans");
    let script = render_sql_with(
        &p,
        &SqlOptions {
            statement_timeout: std::time::Duration::from_secs(1),
            batch_size: 500,
            ..SqlOptions::default()
        },
    );
    assert!(script.contains("SET statement_timeout = '1s'"), "{script}");
    let t0 = std::time::Instant::now();
    support::psql(&db.url, &script, "slow backfill");
    let took = t0.elapsed();
    assert!(
        took > std::time::Duration::from_secs(1),
        "the backfill took {took:?}, less than the timeout, so it proves nothing"
    );
    let (filled, wrong): (i64, i64) =
        sqlx::query_as("SELECT count(v), count(*) FILTER (WHERE v IS DISTINCT FROM id * 2) FROM t")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!((filled, wrong), (8000, 0));
}

/// Dependencies are per column, and the planner sees every kind that
/// breaks an apply: a rule (not managed) over a column
/// refuses even a change that rewrites nothing (varchar(20) to
/// varchar(32), numeric(10,2) to numeric(12,2): PostgreSQL says 0A000), so
/// plan refuses it up front. Triggers are managed: one that names a
/// column in `UPDATE OF` or `WHEN` is dropped and made again around the
/// column's change; one whose function uses a column the target drops
/// (`NEW.col` in PL/pgSQL, a column's name among a C function's
/// arguments) is refused; a column no trigger mentions is dropped and
/// renamed.
#[tokio::test]
async fn dependents_stop_exactly_the_changes_that_would_break_them() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, code varchar(20), price numeric(10,2), a int, b int, c int,
                         title text, body text, tsv tsvector, spare text, other text);
         CREATE RULE priced AS ON UPDATE TO t WHERE NEW.code IS NULL AND NEW.price < 0 DO INSTEAD NOTHING;
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.a := coalesce(NEW.a, 0) + 1; RETURN NEW; END $$;
         CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TRIGGER t_upd BEFORE UPDATE OF b ON t FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TRIGGER t_when BEFORE UPDATE ON t FOR EACH ROW WHEN (NEW.c IS NULL) EXECUTE FUNCTION touch();
         CREATE TRIGGER t_tsv BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(tsv, 'pg_catalog.english', title, body);
         INSERT INTO t (id, code, price, a, b, c, title, body, spare, other) SELECT g, 'x', 1, g, g, g, 't', 'b', 's', 'o' FROM generate_series(1, 20) g;",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("app.yaml");
    let triggers = "    triggers:\n      t_touch: { timing: before, events: [insert], function: touch }\n      t_upd: { timing: before, events: [update], update_of: [b], function: touch }\n      t_when: { timing: before, events: [update], when: NEW.c IS NULL, function: touch }\n      t_tsv: { timing: before, events: [insert, update], function: pg_catalog.tsvector_update_trigger, arguments: [tsv, pg_catalog.english, title, body] }\n";
    let base = format!(
        "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      code: {{ type: varchar(20) }}\n      price: {{ type: \"numeric(10,2)\" }}\n      a: {{ type: integer }}\n      b: {{ type: integer }}\n      c: {{ type: integer }}\n      title: {{ type: text }}\n      body: {{ type: text }}\n      tsv: {{ type: tsvector }}\n      spare: {{ type: text }}\n      other: {{ type: text }}\n    primary_key: [id]\n{triggers}functions:\n  touch():\n    returns: trigger\n    language: plpgsql\n    body: \"BEGIN NEW.a := coalesce(NEW.a, 0) + 1; RETURN NEW; END\"\n"
    );
    let plan = |yaml: &str| plan_cli(&db.url, &target, yaml);
    let refused = |yaml: String, change: &str, by: &str| {
        let (code, _, err) = plan(&yaml);
        assert_eq!(code, Some(2), "{change} must be refused:\n{err}");
        assert!(
            err.contains(change) && err.contains(by),
            "{change} by {by}:\n{err}"
        );
    };
    // The live database and its dump are the same.
    let (code, out, err) = plan(&base);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("No changes"), "{out}");
    refused(
        base.replace("varchar(20)", "varchar(32)"),
        "changing the type of public.t.code from varchar(20) to varchar(32)",
        "rule priced on public.t (depends on column code)",
    );
    refused(
        base.replace("numeric(10,2)", "numeric(12,2)"),
        "changing the type of public.t.price",
        "rule priced on public.t (depends on column price)",
    );
    refused(
        base.replace("      a: { type: integer }\n", ""),
        "trigger t_touch on public.t calls public.touch, whose body refers to column a",
        "every write that fires it would fail",
    );
    refused(
        base.replace("      title: { type: text }\n", ""),
        "trigger t_tsv on public.t passes to pg_catalog.tsvector_update_trigger the name of column title",
        "which the target drops",
    );
    // A trigger on `b` goes with the column (the target drops both).
    let (code, out, err) = plan(&base.replace("      b: { type: integer }\n", "").replace(
        "      t_upd: { timing: before, events: [update], update_of: [b], function: touch }\n",
        "",
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("drop column public.t.b (in the same transaction, trigger t_upd dropped)"),
        "{out}"
    );
    // `c` is retyped through a swap: the trigger on it is made again.
    let (code, out, err) = plan(&base.replace("c: { type: integer }", "c: { type: bigint }"));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("trigger t_when dropped and made again"),
        "{out}"
    );
    // `a` is retyped through a swap: the trigger's NEW.a keeps working.
    let (code, _, err) = plan(&base.replace("a: { type: integer }", "a: { type: bigint }"));
    assert_eq!(code, Some(0), "{err}");
    // No trigger mentions `spare` or `other`: they are dropped and renamed,
    // and the plan runs to the end.
    let free = base.replace("      spare: { type: text }\n", "").replace(
        "other: { type: text }",
        "renamed: { type: text, renamed_from: other }",
    );
    let (code, _, err) = plan(&free);
    assert_eq!(code, Some(0), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args([
            "apply",
            "--database-url",
            &db.url,
            "--phase",
            "all",
            "--allow-hazard",
            "data-loss",
            "--target",
        ])
        .arg(&target)
        .output()
        .expect("bellows runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let renamed: i64 = sqlx::query_scalar("SELECT count(*) FROM t WHERE renamed = 'o'")
        .fetch_one(&db.pool)
        .await
        .expect("renamed column");
    assert_eq!(renamed, 20);
}

/// Publications and statistics objects on materialized views, which
/// bellows does not manage, stop exactly the changes that would break
/// them or leave them behind: a column in a publication's column list or
/// row filter is neither retyped (PostgreSQL would refuse it) nor
/// swapped; a published table is not built beside (the new one would not
/// be published), nor is a materialized view with a statistics object
/// built again. A table's statistics object is managed: swapping one of
/// its columns for its shadow makes it again after the swap. A rename, a
/// retype in place of a statistics object's column, and a drop of one
/// are planned; a new statistics object whose name an unmanaged one
/// holds is refused.
#[tokio::test]
async fn publications_and_statistics_objects_stop_what_would_lose_them() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, a int, b int, c int, code varchar(10), d varchar(10));
         CREATE TABLE plain (id bigint PRIMARY KEY, v int);
         SET client_min_messages = error;
         CREATE PUBLICATION cdc FOR TABLE t (id, a, code) WHERE (b > 0) WITH (publish = 'insert');
         CREATE PUBLICATION feed FOR TABLE plain;
         CREATE STATISTICS t_cd ON c, d FROM t;
         CREATE MATERIALIZED VIEW tv AS SELECT id, b FROM t;
         CREATE STATISTICS tv_s ON id, b FROM tv;",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("app.yaml");
    let t = "  t:\n    columns:\n      id: { type: bigint }\n      a: { type: integer }\n      b: { type: integer }\n      c: { type: integer }\n      code: { type: varchar(10) }\n      d: { type: varchar(10) }\n    primary_key: [id]\n    extended_statistics:\n      t_cd: { columns: [c, d] }\n";
    let plain = "  plain:\n    columns:\n      id: { type: bigint }\n      v: { type: integer }\n    primary_key: [id]\n";
    let base =
        format!("tables:\n{t}{plain}materialized_views:\n  tv:\n    query: SELECT id, b FROM t\n");
    let plan = |yaml: &str| plan_cli(&db.url, &target, yaml);
    let refused = |yaml: String, change: &str, by: &[&str]| {
        let (code, _, err) = plan(&yaml);
        assert_eq!(code, Some(2), "{change} must be refused:\n{err}");
        assert!(err.contains(change), "{change}:\n{err}");
        for b in by {
            assert!(err.contains(b), "{change} by {b}:\n{err}");
        }
    };
    let (code, out, err) = plan(&base);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("No changes"), "{out}");
    refused(
        base.replace("a: { type: integer }", "a: { type: bigint }"),
        "changing the type of public.t.a from integer to bigint",
        &["publication membership public.t in publication cdc (depends on column a)"],
    );
    refused(
        base.replace("b: { type: integer }", "b: { type: bigint }"),
        "changing the type of public.t.b",
        &["publication membership public.t in publication cdc (depends on column b)"],
    );
    refused(
        base.replace("code: { type: varchar(10) }", "code: { type: varchar(20) }"),
        "changing the type of public.t.code from varchar(10) to varchar(20)",
        &["publication membership public.t in publication cdc (depends on column code)"],
    );
    refused(
        base.replace(
            "plain:\n    columns:",
            "plain:\n    partition_by: hash (id)\n    columns:",
        )
        .replace(
            "materialized_views:",
            "  plain_0:\n    partition_of: plain\n    bound: WITH (MODULUS 1, REMAINDER 0)\nmaterialized_views:",
        ),
        "partitioning table public.plain",
        &[
            "publication membership public.plain in publication feed (is the live relation's, and would not follow it to its new copy)",
        ],
    );
    refused(
        base.replace(
            "query: SELECT id, b FROM t",
            "query: SELECT id, b, c FROM t",
        ),
        "building the new definition of materialized view public.tv beside it",
        &[
            "statistics object public.tv_s (is on column b, and would not follow it to its new copy)",
        ],
    );
    refused(
        base.replace(
            "      t_cd: { columns: [c, d] }\n",
            "      t_cd: { columns: [c, d] }\n      tv_s: { columns: [a, b] }\n",
        ),
        "creating statistics object public.tv_s, whose name is held by statistics object public.tv_s",
        &[],
    );
    // Widened in place, PostgreSQL rebuilds the statistics object; a drop
    // takes it along; a renamed table stays in its publications.
    for (yaml, what) in [
        (
            base.replace("d: { type: varchar(10) }", "d: { type: varchar(20) }"),
            "widen public.t.d",
        ),
        (
            base.replace("      c: { type: integer }\n", "").replace(
                "    extended_statistics:\n      t_cd: { columns: [c, d] }\n",
                "",
            ),
            "drop column public.t.c",
        ),
        (
            base.replace("c: { type: integer }", "c: { type: bigint }"),
            "make statistics object public.t_cd on public.t again over the new columns",
        ),
        (
            base.replace("  plain:\n", "  renamed:\n    renamed_from: plain\n"),
            "rename table public.plain to public.renamed",
        ),
    ] {
        let (code, out, err) = plan(&yaml);
        assert_eq!(code, Some(0), "{what}: {err}");
        assert!(out.contains(what), "{what}:\n{out}");
    }
}

/// A new NOT NULL column without a default or backfill: on a table that
/// has no rows, planned against the database, it is one plain ADD COLUMN
/// (marked may-fail and old-app-visible); on a table with rows it is
/// refused, naming that table only. If rows appear between plan and run,
/// the step fails and its transaction leaves nothing behind.
#[tokio::test]
async fn a_not_null_column_on_an_empty_table_is_added_in_one_step() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE accounts (id bigint PRIMARY KEY);
         CREATE TABLE orders (id bigint PRIMARY KEY);
         INSERT INTO orders VALUES (1);",
    )
    .await;
    let read = |text: &str| spec::read_str(std::path::Path::new("t.yaml"), text).expect("schema");
    let both = read(
        "tables:
  accounts: { columns: { id: { type: bigint }, region: { type: text, nullable: false } }, primary_key: [id] }
  orders: { columns: { id: { type: bigint }, region: { type: text, nullable: false } }, primary_key: [id] }
",
    );
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspection");
    assert!(
        live.empty_tables
            .iter()
            .map(|t| t.to_string())
            .eq(["public.accounts"]),
        "{:?}",
        live.empty_tables
    );
    let refused = plan(&live.schema, &both, &live.plan_options()).expect_err("orders has a row");
    let text = refused.to_string();
    assert!(
        text.contains("public.orders.region") && !text.contains("public.accounts"),
        "{text}"
    );
    let accounts_only = read(
        "tables:
  accounts: { columns: { id: { type: bigint }, region: { type: text, nullable: false } }, primary_key: [id] }
  orders: { columns: { id: { type: bigint } }, primary_key: [id] }
",
    );
    let p = plan(&live.schema, &accounts_only, &live.plan_options()).expect("plans");
    assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
    let step = &p.steps[0];
    assert_eq!(
        step.statements,
        ["ALTER TABLE public.accounts ADD COLUMN region text NOT NULL"]
    );
    let kinds: Vec<&str> = step.hazards.iter().map(|h| h.kind.name()).collect();
    assert_eq!(kinds, ["may-fail", "old-app-visible"]);

    // `bellows plan` takes empty tables from the statistics and asks the
    // server about a table's file only when the plan depends on it: here
    // the statistics hold both tables empty (never vacuumed nor
    // analyzed), and the file of `orders` says otherwise.
    let pages: Vec<i32> =
        sqlx::query_scalar("SELECT relpages FROM pg_class WHERE relname IN ('accounts', 'orders')")
            .fetch_all(&db.pool)
            .await
            .expect("relpages");
    assert_eq!(pages, [0, 0], "the statistics hold both tables empty");
    let dir = tempfile::tempdir().expect("tmp");
    let cli_plan = |name: &str, yaml: &str| {
        let target = dir.path().join(name);
        std::fs::write(&target, yaml).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bellows"))
            .args(["plan", "--database-url", &db.url, "--target"])
            .arg(&target)
            .output()
            .expect("bellows runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = cli_plan(
        "both.yaml",
        "tables:
  accounts: { columns: { id: { type: bigint }, region: { type: text, nullable: false } }, primary_key: [id] }
  orders: { columns: { id: { type: bigint }, region: { type: text, nullable: false } }, primary_key: [id] }
",
    );
    assert!(!ok, "orders has a row: {err}");
    assert!(
        err.contains("public.orders.region") && !err.contains("public.accounts"),
        "{err}"
    );
    let (ok, out, err) = cli_plan(
        "accounts.yaml",
        "tables:
  accounts: { columns: { id: { type: bigint }, region: { type: text, nullable: false } }, primary_key: [id] }
  orders: { columns: { id: { type: bigint } }, primary_key: [id] }
",
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("ALTER TABLE public.accounts ADD COLUMN region text NOT NULL"),
        "{out}"
    );

    // A row arrives before the step runs: it fails, changing nothing.
    db.exec("INSERT INTO accounts VALUES (1)").await;
    let script = render_sql_with(&p, &SqlOptions::default());
    let file = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(file.path(), &script).expect("write");
    let out = std::process::Command::new("psql")
        .arg(&db.url)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(file.path())
        .output()
        .expect("psql runs");
    assert!(
        !out.status.success(),
        "the step fails once the table has a row"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("contains null values"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let columns: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'region'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(columns, 0, "a failed step leaves nothing behind");
}

/// An identity or stored generated column added to a table: PostgreSQL
/// fills it for every row as it adds it, a rewrite under ACCESS
/// EXCLUSIVE, which expand never does. On a table with rows that is
/// refused with the way round it; on one the statistics and the server
/// hold empty it is the one ADD COLUMN, and apply makes it.
#[tokio::test]
async fn an_identity_or_generated_column_is_added_to_an_empty_table_only() {
    use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
         CREATE TABLE orders (id bigint PRIMARY KEY, name text);
         INSERT INTO orders VALUES (1, 'a');",
    )
    .await;
    let columns =
        "num: { type: bigint, identity: always }, slug: { type: text, generated: lower(name) }";
    let read = |text: &str| spec::read_str(std::path::Path::new("t.yaml"), text).expect("schema");
    let both = read(&format!(
        "tables:
  accounts: {{ columns: {{ id: {{ type: bigint }}, name: {{ type: text }}, {columns} }}, primary_key: [id] }}
  orders: {{ columns: {{ id: {{ type: bigint }}, name: {{ type: text }}, {columns} }}, primary_key: [id] }}
"
    ));
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspection");
    let refused = plan(&live.schema, &both, &live.plan_options()).expect_err("orders has a row");
    let text = refused.to_string();
    assert!(
        text.contains("adding an identity column to an existing table (PostgreSQL rewrites the table) (public.orders.num)")
            && text.contains("adding a stored generated column to an existing table (PostgreSQL rewrites the table) (public.orders.slug)")
            && !text.contains("public.accounts"),
        "{text}"
    );
    let accounts_only = read(&format!(
        "tables:
  accounts: {{ columns: {{ id: {{ type: bigint }}, name: {{ type: text }}, {columns} }}, primary_key: [id] }}
  orders: {{ columns: {{ id: {{ type: bigint }}, name: {{ type: text }} }}, primary_key: [id] }}
"
    ));
    let p = plan(&live.schema, &accounts_only, &live.plan_options()).expect("plans");
    let statements = support::statements(&p);
    assert_eq!(
        statements,
        [
            "ALTER TABLE public.accounts ADD COLUMN num bigint GENERATED ALWAYS AS IDENTITY NOT NULL",
            "ALTER TABLE public.accounts ADD COLUMN slug text GENERATED ALWAYS AS (lower(name)) STORED",
        ],
        "{:?}",
        p.steps
    );
    assert!(
        p.steps
            .iter()
            .all(|s| s.phase == bellows::plan::Phase::Expand && s.hazards.is_empty()),
        "{:?}",
        p.steps
    );
    apply(
        &db.url,
        Some(&accounts_only),
        PhaseSel::All,
        &ApplyOptions::default(),
        &Silent,
    )
    .await
    .expect("applies");
    db.exec("INSERT INTO accounts (id, name) VALUES (1, 'Ann')")
        .await;
    let row: (i64, String) = sqlx::query_as("SELECT num, slug FROM accounts")
        .fetch_one(&db.pool)
        .await
        .expect("the new columns fill themselves");
    assert_eq!(row, (1, "ann".to_string()));
}

/// A renamed or retyped column that gains a default: rows that exist keep
/// their values (the new column starts without the default, so the
/// backfill fills them), and a row the old app inserts between expand and
/// contract, not naming the new column, is copied into it, not defaulted.
#[tokio::test]
async fn a_new_default_on_a_renamed_or_retyped_column_overwrites_no_value() {
    use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
    use bellows::plan::{HazardKind, Phase};
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, visits integer);
         INSERT INTO users (name, visits) SELECT 'u' || i, i FROM generate_series(1, 50) i;",
    )
    .await;
    let to = spec::read_str(
        std::path::Path::new("to.yaml"),
        "tables:
  users:
    columns:
      id: { type: bigint, identity: always }
      display_name: { type: text, renamed_from: name, default: \"'anonymous'\" }
      visits: { type: bigint, default: 0 }
    primary_key: [id]
",
    )
    .expect("target");
    let opts = ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        ..ApplyOptions::default()
    };
    for phase in [Phase::Expand, Phase::Migrate, Phase::Contract] {
        apply(&db.url, Some(&to), PhaseSel::One(phase), &opts, &Silent)
            .await
            .unwrap_or_else(|e| panic!("{phase:?}: {e}"));
        if phase == Phase::Expand {
            // The old app, which knows `name` and an integer `visits`.
            db.exec("INSERT INTO users (name, visits) VALUES ('old app', 7)")
                .await;
        }
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT display_name, visits FROM users ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("rows");
    assert_eq!(rows.len(), 51);
    for (i, (name, visits)) in rows.iter().take(50).enumerate() {
        assert_eq!(
            (name.as_str(), *visits),
            (format!("u{}", i + 1).as_str(), i as i64 + 1)
        );
    }
    assert_eq!(rows[50], ("old app".to_string(), 7));
    // After contract the defaults are the target's.
    db.exec("INSERT INTO users DEFAULT VALUES").await;
    let fresh: (String, i64) =
        sqlx::query_as("SELECT display_name, visits FROM users ORDER BY id DESC LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .expect("new row");
    assert_eq!(fresh, ("anonymous".to_string(), 0));
}

/// After a column is widened in place (PostgreSQL drops its statistics
/// and changes no row, so autovacuum has no reason to gather them), one
/// is retyped through a shadow, and a table is built beside with a new
/// partitioning, the query planner has statistics for every one of them
/// as soon as contract is done, without waiting for autovacuum. So do
/// the statistics objects: one made new, one over the widened column
/// (PostgreSQL keeps it but empties it), one over the retyped column
/// (made again after the swap) and one on the table built beside (made
/// in the swap's transaction). A new plan then has nothing to do.
#[tokio::test]
async fn the_planner_has_statistics_for_every_change_after_contract() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE t (id bigint PRIMARY KEY, code varchar(10), n integer, note text);
         INSERT INTO t SELECT i, 'c' || (i % 50), i % 7, 'x' || (i % 7 % 3) FROM generate_series(1, 2000) i;
         CREATE STATISTICS t_code_note ON code, note FROM t;
         CREATE STATISTICS t_n_note (dependencies) ON n, note FROM t;
         CREATE TABLE m (id bigint, at date NOT NULL, PRIMARY KEY (id, at));
         INSERT INTO m SELECT i, date '2024-01-01' + (i % 300) FROM generate_series(1, 2000) i;
         CREATE STATISTICS m_id_at ON id, at FROM m;
         ANALYZE t; ANALYZE m;",
    )
    .await;
    let to = spec::read_str(
        std::path::Path::new("to.yaml"),
        "tables:
  t:
    columns:
      id: { type: bigint }
      code: { type: varchar(20) }
      n: { type: bigint }
      note: { type: text }
    primary_key: [id]
    extended_statistics:
      t_code_note: { columns: [code, note] }
      t_n_note: { columns: [n, note], kinds: [dependencies] }
      t_id_code: { expressions: [lower(code)] }
  m:
    columns:
      id: { type: bigint }
      at: { type: date, nullable: false }
    primary_key: [id, at]
    partition_by: range (at)
    extended_statistics:
      m_id_at: { columns: [id, at] }
  m_all:
    partition_of: m
    bound: DEFAULT
",
    )
    .expect("target");
    support::dump::apply_all_and_read(&db, &to).await;
    let held: Vec<(String, bool)> = sqlx::query_as(
        "SELECT statistics_name::text,
                n_distinct IS NOT NULL OR dependencies IS NOT NULL OR most_common_vals IS NOT NULL
           FROM pg_stats_ext WHERE schemaname = 'public'
         UNION ALL
         SELECT statistics_name::text, most_common_vals IS NOT NULL OR n_distinct IS NOT NULL
           FROM pg_stats_ext_exprs WHERE schemaname = 'public'
          ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("pg_stats_ext");
    for name in ["m_id_at", "t_code_note", "t_id_code", "t_n_note"] {
        assert!(
            held.iter().any(|(n, some)| n == name && *some),
            "{name} holds no statistics: {held:?}"
        );
    }
    let stats: Vec<(String, String)> = sqlx::query_as(
        "SELECT tablename::text, attname::text FROM pg_stats
          WHERE schemaname = 'public' AND tablename IN ('t', 'm', 'm_all') ORDER BY 1, 2",
    )
    .fetch_all(&db.pool)
    .await
    .expect("pg_stats");
    let stats: Vec<String> = stats.into_iter().map(|(t, c)| format!("{t}.{c}")).collect();
    for want in [
        "t.code", "t.n", "t.note", "m.id", "m.at", "m_all.id", "m_all.at",
    ] {
        assert!(
            stats.contains(&want.to_string()),
            "{want} has no statistics: {stats:?}"
        );
    }
}

/// `bellows plan` of `yaml` (written to `target`) against `url`: its exit
/// code, standard output and standard error.
fn plan_cli(url: &str, target: &std::path::Path, yaml: &str) -> (Option<i32>, String, String) {
    std::fs::write(target, yaml).expect("write target");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(["plan", "--database-url", url, "--target"])
        .arg(target)
        .output()
        .expect("bellows runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Tables that inherit are read, dumped and planned: a parent column
/// dropped while one child keeps it as its own (its values stay) and
/// another lets it go, a column added to the parent reaching every
/// child, a child's own default changed, a new child made under the
/// parent. The plan converges and the kept values are there.
#[tokio::test]
async fn tables_that_inherit_change_with_their_parent() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE base (id bigserial, at timestamptz DEFAULT now(), e int, note text);
         CREATE TABLE a (a1 int, a2 int, note text DEFAULT 'a') INHERITS (base);
         CREATE TABLE b () INHERITS (base);
         CREATE INDEX b_e ON b (e);
         CREATE VIEW bv AS SELECT id, e FROM b;
         INSERT INTO a (a1, e) VALUES (1, 5);
         INSERT INTO b (e) VALUES (7);",
    )
    .await;
    let found = support::dump::round_trip(&db, "inheritance").await;
    assert!(found.unmanaged.is_empty(), "{:?}", found.unmanaged);
    // base holds no row of its own, but a NOT NULL column added to it
    // reaches its children's rows: it does not count as empty.
    let names: Vec<&str> = found.empty_tables.iter().map(|q| q.name.as_str()).collect();
    assert!(!names.contains(&"base"), "{names:?}");
    let yaml = "
tables:
  base:
    columns:
      id: { type: bigserial }
      at: { type: timestamptz, default: now() }
      note: { type: text }
      k: { type: integer, nullable: false, default: 0 }
  a:
    inherits: [base]
    columns:
      a1: { type: integer }
      e: { type: integer }
      note: { type: text, default: \"'b'::text\" }
  b:
    inherits: [base]
  c:
    inherits: [base]
    columns:
      x: { type: text }
    checks:
      c_x: \"x <> ''\"
views:
  bv: SELECT id FROM b
";
    let (p, _) = support::plan_live(&db, yaml).await;
    let sql = support::statements(&p);
    for want in [
        "ALTER TABLE ONLY public.base DROP COLUMN e",
        "ALTER TABLE public.b DROP COLUMN e",
        "ALTER TABLE public.a DROP COLUMN a2",
        "CREATE TABLE public.c (x text, CONSTRAINT c_x CHECK (x <> '')) INHERITS (public.base)",
    ] {
        assert!(sql.contains(&want), "{want} missing from {sql:#?}");
    }
    let drop = p
        .steps
        .iter()
        .find(|s| s.statements.iter().any(|q| q.contains("ONLY public.base")))
        .expect("the drop of base.e");
    assert!(
        drop.hazards.iter().any(|h| h
            .message
            .contains("there and in public.b, public.c (which inherit it)")),
        "{:?}",
        drop.hazards
    );
    // b's view over e is out of the way while it goes, and back after.
    assert!(
        drop.statements.iter().any(|q| q == "DROP VIEW public.bv"),
        "{:#?}",
        drop.statements
    );
    // The parent's new column reaches the children through the parent.
    assert_eq!(
        sql.iter().filter(|q| q.contains("ADD COLUMN k")).count(),
        1,
        "{sql:#?}"
    );
    // The view as the server words it, as `plan` reads it.
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspect");
    let mut target = spec::read_str(std::path::Path::new("target.yaml"), yaml).expect("reads");
    bellows::introspect::canonicalize_url(&db.url, &live.schema, &mut target)
        .await
        .expect("canonicalize");
    support::dump::apply_all_and_read(&db, &target).await;
    let kept: (i32, i32, Option<String>) = sqlx::query_as("SELECT e, k, note FROM a")
        .fetch_one(&db.pool)
        .await
        .expect("a's row");
    assert_eq!(kept, (5, 0, Some("a".to_string())), "a keeps e and gets k");
    assert_eq!(column_names(&db, "b").await, ["id", "at", "note", "k"]);
}

/// The columns of table `table` on the server, in their order.
async fn column_names(db: &TestDb, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT attname::text FROM pg_attribute
          WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    )
    .bind(table)
    .fetch_all(&db.pool)
    .await
    .expect("the table's columns")
}

/// Inheritance over levels and from two parents, on a real server: a
/// column the grandparent gains reaches the grandchild through its
/// parent; a column dropped from one of two parents stays in the child
/// (its own now, values kept); a new grandchild is made under its parent
/// with all it inherits. The plan converges.
#[tokio::test]
async fn inheritance_over_levels_and_from_two_parents() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE g (id int NOT NULL);
         CREATE TABLE o (z text DEFAULT 'z');
         CREATE TABLE p (pv int) INHERITS (g);
         CREATE TABLE c (cv int) INHERITS (p, o);
         INSERT INTO c (id, pv, z, cv) VALUES (1, 2, 'kept', 3);",
    )
    .await;
    support::dump::round_trip(&db, "inheritance over levels").await;
    let yaml = "
tables:
  g:
    columns:
      id: { type: integer, nullable: false }
      at: { type: date, default: \"'2026-01-01'::date\" }
  o:
    columns:
      w: { type: text }
  p:
    inherits: [g]
    columns:
      pv: { type: integer }
  c:
    inherits: [p, o]
    columns:
      z: { type: text, default: \"'z'::text\" }
      cv: { type: integer }
  q:
    inherits: [p]
    columns:
      qv: { type: integer }
";
    let (p, _) = support::plan_live(&db, yaml).await;
    let sql = support::statements(&p);
    for want in [
        "ALTER TABLE ONLY public.o DROP COLUMN z",
        "CREATE TABLE public.q (qv integer) INHERITS (public.p)",
    ] {
        assert!(sql.contains(&want), "{want} missing from {sql:#?}");
    }
    assert_eq!(
        sql.iter().filter(|q| q.contains("ADD COLUMN at")).count(),
        1,
        "the grandparent's column is added once: {sql:#?}"
    );
    let target = spec::read_str(std::path::Path::new("target.yaml"), yaml).expect("reads");
    support::dump::apply_all_and_read(&db, &target).await;
    let row: (i32, String, String) = sqlx::query_as("SELECT id, z, at::text FROM c")
        .fetch_one(&db.pool)
        .await
        .expect("c's row");
    assert_eq!(row, (1, "kept".into(), "2026-01-01".into()));
    // (Made in expand before or after g gains `at`: either way q has it.)
    let mut q_columns = column_names(&db, "q").await;
    q_columns.sort();
    assert_eq!(q_columns, ["at", "id", "pv", "qv"]);
}
