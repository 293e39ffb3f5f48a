//! SQLite end to end, on files in a temporary directory (no server): a
//! file's dump plans to nothing against it and makes the same file again;
//! the example shop goes from version 1 to 2 phase by phase with rows in
//! it, which survive; abort undoes expand; a rebuild that would break a
//! foreign key is rolled back and names the row; what SQLite cannot hold
//! is refused before anything runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

fn bellows(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bellows runs")
}

fn ok(args: &[&str]) -> String {
    let out = bellows(args);
    assert!(
        out.status.success(),
        "bellows {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `bellows apply --database-url URL ARGS…`, which must succeed.
fn apply(url: &str, args: &[&str]) -> String {
    let mut all = vec!["apply", "--database-url", url];
    all.extend_from_slice(args);
    ok(&all)
}

/// `bellows apply --phase all` toward `target`, allowing `hazards`;
/// it must succeed.
fn apply_all(url: &str, target: &str, hazards: &[&str]) -> String {
    let mut args = vec!["--target", target, "--phase", "all"];
    for h in hazards {
        args.extend(["--allow-hazard", h]);
    }
    apply(url, &args)
}

fn url(p: &Path) -> String {
    format!("sqlite:{}", p.display())
}

/// Runs SQL on the file through sqlite's own library (sqlx), foreign
/// keys as the statements say.
fn sql(file: &Path, statements: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::{Connection, Row};
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}?mode=rwc", file.display()))
            .await
            .expect("opens");
        let mut rows = Vec::new();
        for s in statements.split(";\n").filter(|s| !s.trim().is_empty()) {
            for r in sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"))
            {
                rows.push(
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<Option<String>, _>(i)
                                .ok()
                                .flatten()
                                .or_else(|| {
                                    r.try_get::<Option<i64>, _>(i)
                                        .ok()
                                        .flatten()
                                        .map(|n| n.to_string())
                                })
                                .unwrap_or_else(|| "NULL".into())
                        })
                        .collect(),
                );
            }
        }
        rows
    })
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("app.db");
    (dir, file)
}

const V1: &str = "schemas/examples/sqlite/shop_v1.yaml";
const V2: &str = "schemas/examples/sqlite/shop_v2.yaml";

#[test]
fn a_files_dump_plans_to_nothing_and_makes_the_same_file() {
    let (dir, file) = temp();
    sql(
        &file,
        r#"CREATE TABLE "Teams" (id INTEGER PRIMARY KEY AUTOINCREMENT, name text NOT NULL COLLATE NOCASE, CONSTRAINT teams_name UNIQUE (name));
CREATE TABLE users (id integer PRIMARY KEY, team_id integer REFERENCES "Teams" ON DELETE SET NULL, email varchar(200) NOT NULL UNIQUE,
  score real DEFAULT (0.5), n numeric(10,2) CHECK (n >= 0), total real GENERATED ALWAYS AS (score * 2) STORED, blob_col,
  CONSTRAINT pos CHECK (score > -1));
CREATE TABLE pairs (a text NOT NULL, b integer NOT NULL, c text DEFAULT 'x', d text DEFAULT ('(' || 'y'), PRIMARY KEY (a, b));
CREATE INDEX users_email_lower ON users (lower(email)) WHERE team_id IS NOT NULL;
CREATE UNIQUE INDEX users_team ON users (team_id DESC, email);
CREATE VIEW scored ("who", mail) AS SELECT id, email FROM users WHERE score > 0;
CREATE VIEW top_scored AS SELECT who FROM scored ORDER BY who LIMIT 3;
CREATE TABLE typed (id INTEGER PRIMARY KEY, label TEXT NOT NULL, weight REAL, raw ANY) STRICT;
CREATE TABLE pairs_by_key (k text NOT NULL, v integer, PRIMARY KEY (k)) WITHOUT ROWID;
INSERT INTO "Teams"(name) VALUES ('a')"#,
    );
    let dump = ok(&["dump", "--database-url", &url(&file)]);
    let yaml = dir.path().join("dump.yaml");
    std::fs::write(&yaml, &dump).expect("writes");
    let plan = ok(&[
        "plan",
        "--database-url",
        &url(&file),
        "--target",
        yaml.to_str().expect("utf-8"),
    ]);
    assert!(plan.contains("No changes"), "{dump}\n{plan}");
    let copy = dir.path().join("copy.db");
    apply_all(&url(&copy), yaml.to_str().expect("utf-8"), &[]);
    assert_eq!(ok(&["dump", "--database-url", &url(&copy)]), dump);
}

#[test]
fn the_shop_moves_phase_by_phase_with_its_rows() {
    let (_dir, file) = temp();
    let u = url(&file);
    apply(&u, &["--target", V1, "--phase", "all"]);
    sql(
        &file,
        "INSERT INTO teams(name) VALUES ('core');
INSERT INTO users(team_id, email, name, old_score) VALUES (1, 'Ann@x.io', 'Ann', '3'), (1, 'bo@x.io', NULL, NULL);
INSERT INTO orders(user_id, status, quantity) VALUES (1, 'paid', 2), (2, 'pending', 1)",
    );
    apply(&u, &["--target", V2, "--phase", "expand"]);
    // The new app writes the new column; the old app's rows get it in migrate.
    sql(
        &file,
        "INSERT INTO users(team_id, email, display_name, handle) VALUES (1, 'cy@x.io', 'Cy', 'cy')",
    );
    apply(&u, &["--phase", "migrate"]);
    let refused = bellows(&["apply", "--database-url", &u, "--phase", "contract"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("table-rewrite"));
    apply(
        &u,
        &[
            "--phase",
            "contract",
            "--allow-hazard",
            "table-rewrite",
            "--allow-hazard",
            "data-loss",
        ],
    );
    assert_eq!(
        sql(
            &file,
            "SELECT id, display_name, handle FROM users ORDER BY id"
        ),
        vec![
            vec!["1".to_string(), "Ann".into(), "ann@x.io".into()],
            // NULL until migrate filled it from the email.
            vec!["2".into(), "bo@x.io".into(), "bo@x.io".into()],
            vec!["3".into(), "Cy".into(), "cy".into()],
        ]
    );
    assert_eq!(
        sql(&file, "SELECT count(*) FROM orders"),
        vec![vec!["2".to_string()]]
    );
    assert!(ok(&["plan", "--database-url", &u, "--target", V2]).contains("No changes"));
    assert!(ok(&["status", "--database-url", &u]).contains("done; last completed phase: contract"));
    // The rebuilt tables enforce what the target says.
    let c = sql(
        &file,
        "PRAGMA foreign_keys = ON;\nSELECT count(*) FROM pragma_foreign_key_check",
    );
    assert_eq!(c, vec![vec!["0".to_string()]]);
}

#[test]
fn abort_takes_expand_and_migrate_back() {
    let (_dir, file) = temp();
    let u = url(&file);
    apply(&u, &["--target", V1, "--phase", "all"]);
    let before = ok(&["dump", "--database-url", &u]);
    apply(&u, &["--target", V2, "--phase", "expand"]);
    assert_ne!(ok(&["dump", "--database-url", &u]), before);
    ok(&["abort", "--database-url", &u]);
    assert_eq!(ok(&["dump", "--database-url", &u]), before);
    // Again with rows, after migrate filled the new column.
    sql(
        &file,
        "INSERT INTO users(email, name) VALUES ('a@x.io', 'A')",
    );
    let before = ok(&["dump", "--database-url", &u]);
    apply(&u, &["--target", V2, "--phase", "expand"]);
    apply(&u, &["--phase", "migrate"]);
    ok(&["abort", "--database-url", &u]);
    assert_eq!(ok(&["dump", "--database-url", &u]), before);
    assert_eq!(
        sql(&file, "SELECT email, name FROM users"),
        vec![vec!["a@x.io".to_string(), "A".into()]]
    );
}

/// A file whose kid row 2 names a parent that is not there (written with
/// foreign keys off), and a target that adds the foreign key: its rebuild
/// must fail on that row. Returns the target file.
fn kid_without_parent(dir: &Path, file: &Path) -> PathBuf {
    sql(
        file,
        "CREATE TABLE parents (id integer PRIMARY KEY);
CREATE TABLE kids (id integer PRIMARY KEY, parent_id integer, note text);
INSERT INTO parents VALUES (1);
INSERT INTO kids VALUES (1, 1, 'a'), (2, 7, 'b')",
    );
    let target = dir.join("t.yaml");
    std::fs::write(
        &target,
        "tables:
  parents:
    columns: { id: { type: integer } }
    primary_key: [id]
  kids:
    columns:
      id: { type: integer }
      parent_id: { type: integer }
      note: { type: text }
    primary_key: [id]
    foreign_keys:
      kids_parent_fk: { columns: [parent_id], references: { table: parents, columns: [id] } }
",
    )
    .expect("writes");
    target
}

#[test]
fn a_rebuild_that_breaks_a_foreign_key_is_rolled_back_and_names_the_row() {
    let (dir, file) = temp();
    let u = url(&file);
    let target = kid_without_parent(dir.path(), &file);
    let before = ok(&["dump", "--database-url", &u]);
    let out = bellows(&[
        "apply",
        "--database-url",
        &u,
        "--target",
        target.to_str().expect("utf-8"),
        "--phase",
        "all",
        "--allow-hazard",
        "table-rewrite",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("kids rowid 2 has no row in parents"), "{err}");
    assert_eq!(ok(&["dump", "--database-url", &u]), before);
    // status says so, and exits non-zero while a step has failed.
    let status = bellows(&["status", "--database-url", &u]);
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stdout).contains("failed"));
    sql(&file, "DELETE FROM kids WHERE id = 2");
    apply(
        &u,
        &["--phase", "contract", "--allow-hazard", "table-rewrite"],
    );
    assert!(
        ok(&[
            "plan",
            "--database-url",
            &u,
            "--target",
            target.to_str().expect("utf-8")
        ])
        .contains("No changes")
    );
}

#[test]
fn what_sqlite_cannot_hold_is_refused_with_what_to_write_instead() {
    let (_dir, file) = temp();
    let out = bellows(&[
        "plan",
        "--database-url",
        &url(&file),
        "--target",
        "schemas/examples/shop_v1.yaml",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such SQLite file"), "{err}");
    // status does not make the file either.
    assert!(
        !bellows(&["status", "--database-url", &url(&file)])
            .status
            .success()
    );
    assert!(!file.exists());
    // Nor does a dry run of apply.
    let dry = bellows(&[
        "apply",
        "--database-url",
        &url(&file),
        "--target",
        V1,
        "--phase",
        "all",
        "--dry-run",
    ]);
    assert!(!dry.status.success());
    assert!(!file.exists());
    sql(&file, "CREATE TABLE t (a integer)");
    let out = bellows(&[
        "plan",
        "--database-url",
        &url(&file),
        "--target",
        "schemas/examples/shop_v1.yaml",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "enums in the target",
        "extensions in the target",
        "a comment",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
}

#[test]
fn the_sql_script_runs_in_the_sqlite3_shell_and_reaches_the_target() {
    let (_dir, file) = temp();
    let u = url(&file);
    apply(&u, &["--target", V1, "--phase", "all"]);
    sql(
        &file,
        "INSERT INTO teams(name) VALUES ('core');\nINSERT INTO users(team_id, email, name) VALUES (1, 'Ann@x.io', 'Ann')",
    );
    let script = ok(&[
        "plan",
        "--database-url",
        &u,
        "--target",
        V2,
        "--format",
        "sql",
    ]);
    let out = sqlite3_shell(&file, &script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok(&["plan", "--database-url", &u, "--target", V2]).contains("No changes"));
    assert_eq!(
        sql(&file, "SELECT handle FROM users"),
        vec![vec!["ann@x.io".to_string()]]
    );
}

/// Runs `script` with the `sqlite3` shell on `file`.
fn sqlite3_shell(file: &Path, script: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("sqlite3")
        .arg(file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("the sqlite3 shell is needed for this test ({e}): `apt install sqlite3` (.ci/run installs it)")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("the script is written");
    child.wait_with_output().expect("sqlite3 ends")
}

#[test]
fn the_sql_script_stops_before_a_rebuild_that_breaks_a_foreign_key_commits() {
    let (dir, file) = temp();
    let u = url(&file);
    let target = kid_without_parent(dir.path(), &file);
    let before = ok(&["dump", "--database-url", &u]);
    let script = ok(&[
        "plan",
        "--database-url",
        &u,
        "--target",
        target.to_str().expect("utf-8"),
        "--format",
        "sql",
    ]);
    let out = sqlite3_shell(&file, &script);
    assert!(
        !out.status.success(),
        "the script went on past a broken foreign key"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("kids|2|parents|0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(ok(&["dump", "--database-url", &u]), before);
}

#[test]
fn strict_and_without_rowid_tables_are_kept_and_changed_with_their_rows() {
    let (dir, file) = temp();
    let u = url(&file);
    sql(
        &file,
        "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL);
CREATE TABLE tags (name text NOT NULL PRIMARY KEY, uses integer) WITHOUT ROWID;
INSERT INTO notes VALUES (1, 'a'), (2, 'bb');
INSERT INTO tags VALUES ('x', 1), ('yy', 2)",
    );
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        "tables:
  notes:
    columns:
      id: { type: integer }
      body: { type: text, nullable: false }
    primary_key: [id]
    strict: true
  tags:
    columns:
      name: { type: text, nullable: false }
      uses: { type: integer }
      size: { type: integer, nullable: false, backfill: length(name) }
    primary_key: [name]
    without_rowid: true
",
    )
    .expect("writes");
    let t = target.to_str().expect("utf-8");
    let plan = ok(&["plan", "--database-url", &u, "--target", t]);
    assert!(
        plan.contains("rebuild table notes: makes it STRICT"),
        "{plan}"
    );
    apply_all(&u, t, &["table-rewrite"]);
    assert!(ok(&["plan", "--database-url", &u, "--target", t]).contains("No changes"));
    assert_eq!(
        sql(&file, "SELECT name, size FROM tags ORDER BY name"),
        vec![
            vec!["x".to_string(), "1".into()],
            vec!["yy".into(), "2".into()]
        ]
    );
    // STRICT holds: a value of another type is refused.
    let refused =
        std::panic::catch_unwind(|| sql(&file, "INSERT INTO notes VALUES ('three', 'c')"));
    assert!(refused.is_err(), "a STRICT table took text for an integer");
    // A STRICT table takes only SQLite's own type names.
    std::fs::write(&target, "tables:\n  notes:\n    columns: { id: { type: bigint } }\n    primary_key: [id]\n    strict: true\n").expect("writes");
    let out = bellows(&["plan", "--database-url", &u, "--target", t]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("type `bigint` in a STRICT table"));
}

#[test]
fn a_retyped_column_takes_its_backfill_in_the_rebuild() {
    let (dir, file) = temp();
    let u = url(&file);
    sql(
        &file,
        "CREATE TABLE prices (id integer PRIMARY KEY, amount text);
INSERT INTO prices VALUES (1, '1,500'), (2, '20')",
    );
    let target = dir.path().join("t.yaml");
    std::fs::write(
        &target,
        "tables:
  prices:
    columns:
      id: { type: integer }
      amount: { type: integer, backfill: \"CAST(replace(amount, ',', '') AS integer)\" }
      label: { type: text, default: \"'(' || 'x'\" }
    primary_key: [id]
",
    )
    .expect("writes");
    let t = target.to_str().expect("utf-8");
    apply_all(&u, t, &["table-rewrite"]);
    assert_eq!(
        sql(
            &file,
            "SELECT amount, typeof(amount) FROM prices ORDER BY id"
        ),
        vec![
            vec!["1500".to_string(), "integer".into()],
            vec!["20".into(), "integer".into()]
        ]
    );
    assert!(ok(&["plan", "--database-url", &u, "--target", t]).contains("No changes"));
}

/// Every hazard, allowed: the corpus is about reaching the target.
fn all_hazards() -> Vec<String> {
    bellows::plan::HazardKind::ALL
        .iter()
        .flat_map(|k| ["--allow-hazard".to_string(), k.name().to_string()])
        .collect()
}

fn run(args: &[&str], extra: &[String]) -> Output {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(extra.iter().cloned());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    bellows(&refs)
}

fn first_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find(|l| l.contains("error"))
        .unwrap_or_else(|| err.lines().next().unwrap_or(""))
        .trim()
        .to_string()
}

/// Two rows a table, parents first: values by declared type, the first
/// rows' keys for foreign keys; a row a CHECK or key refuses is left out.
fn seed(file: &Path, dump: &str) {
    let schema = bellows::spec::read_str(Path::new("dump"), dump).expect("a dump reads back");
    let mut order: Vec<&bellows::model::QualifiedName> = Vec::new();
    while order.len() < schema.tables.len() {
        let before = order.len();
        for (n, t) in &schema.tables {
            let ready = t
                .foreign_keys
                .values()
                .all(|f| &f.ref_table == n || order.contains(&&f.ref_table));
            if !order.contains(&n) && ready {
                order.push(n);
            }
        }
        if order.len() == before {
            let rest: Vec<_> = schema
                .tables
                .keys()
                .filter(|n| !order.contains(n))
                .collect();
            order.extend(rest);
        }
    }
    let mut statements = Vec::new();
    for n in order {
        let t = &schema.tables[n];
        let cols: Vec<&bellows::model::Column> =
            t.columns.iter().filter(|c| c.generated.is_none()).collect();
        if cols.is_empty() {
            continue;
        }
        for i in 1..=2 {
            let values: Vec<String> = cols
                .iter()
                .map(|c| {
                    let ty = c.ty.to_string();
                    if ty.starts_with("json") {
                        "'{}'".into()
                    } else if ty.contains("int") || ty.contains("serial") {
                        i.to_string()
                    } else if ty.contains("bool") {
                        "1".into()
                    } else if ty.starts_with("numeric")
                        || ty.contains("real")
                        || ty.contains("double")
                    {
                        format!("{i}.5")
                    } else if ty.contains("date") || ty.contains("time") {
                        format!("'2024-01-0{i}'")
                    } else {
                        format!("'v{i}'")
                    }
                })
                .collect();
            statements.push(format!(
                "INSERT OR IGNORE INTO \"{}\" ({}) VALUES ({})",
                n.name,
                cols.iter()
                    .map(|c| format!("\"{}\"", c.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                values.join(", ")
            ));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display()))
            .await
            .expect("opens");
        for s in statements {
            // A CHECK, a foreign key or a default SQLite cannot evaluate
            // refuses the row: the table stays with fewer rows.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(s)).execute(&mut c).await;
        }
    });
}

/// The planner's fixtures on SQLite: each one whose `from` SQLite can
/// make and whose change it can plan goes through expand, migrate and
/// contract on a file with rows, re-plans empty and dumps its target; the
/// others are listed with the reason (a kind SQLite lacks, or SQL in
/// PostgreSQL's words that SQLite's grammar refuses).
#[test]
fn every_fixture_sqlite_can_express_goes_through_all_phases() {
    let hazards = all_hazards();
    let mut through = Vec::new();
    let mut cannot = Vec::new();
    let mut failed = Vec::new();
    let dirs = support::good_cases();
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let (from, to) = (dir.join("from.yaml"), dir.join("to.yaml"));
        let (from, to) = (from.to_str().expect("utf-8"), to.to_str().expect("utf-8"));
        let (_tmp, file) = temp();
        let u = url(&file);
        let made = run(
            &[
                "apply",
                "--database-url",
                &u,
                "--target",
                from,
                "--phase",
                "all",
            ],
            &hazards,
        );
        if !made.status.success() {
            cannot.push(format!("{name}: from: {}", first_error(&made)));
            continue;
        }
        seed(&file, &ok(&["dump", "--database-url", &u]));
        let plan = bellows(&["plan", "--database-url", &u, "--target", to]);
        if !plan.status.success() {
            cannot.push(format!("{name}: to: {}", first_error(&plan)));
            continue;
        }
        let mut step_failed = None;
        let nothing = String::from_utf8_lossy(&plan.stdout).contains("No changes");
        for (i, phase) in ["expand", "migrate", "contract"]
            .into_iter()
            .enumerate()
            .filter(|_| !nothing)
        {
            let mut args = vec!["apply", "--database-url", &u, "--phase", phase];
            if i == 0 {
                args.extend(["--target", to]);
            }
            let out = run(&args, &hazards);
            let err = String::from_utf8_lossy(&out.stderr);
            // The fixture's SQL is PostgreSQL's (its functions, its
            // grammar): SQLite refuses it when the step runs.
            let postgres_sql = [
                "no such function",
                "syntax error",
                "unrecognized token",
                "prohibited in CHECK",
            ]
            .iter()
            .any(|m| err.contains(m));
            if !out.status.success() && postgres_sql {
                cannot.push(format!("{name}: {phase}: {}", first_error(&out)));
                step_failed = Some(String::new());
                break;
            }
            if !out.status.success() {
                step_failed = Some(format!(
                    "{name}: {phase}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                break;
            }
        }
        if let Some(f) = step_failed {
            if !f.is_empty() {
                failed.push(f);
            }
            continue;
        }
        let again = ok(&["plan", "--database-url", &u, "--target", to]);
        if !again.contains("No changes") {
            failed.push(format!("{name}: plans again after contract:\n{again}"));
            continue;
        }
        let dump = ok(&["dump", "--database-url", &u]);
        let live = bellows::spec::read_str(Path::new("dump"), &dump).expect("the dump reads back");
        let target = bellows::spec::read_file(Path::new(to)).expect("the target reads");
        let target = bellows::plan::as_stored(&target, bellows::model::Dialect::Sqlite);
        // A column added in place comes last, as on PostgreSQL: the
        // order of columns is not compared.
        let in_order = |s: &bellows::model::Schema| {
            let mut s = s.without_hints();
            for t in s.tables.values_mut() {
                t.columns.sort_by(|a, b| a.name.cmp(&b.name));
            }
            s.fingerprint()
        };
        if in_order(&live) != in_order(&target) {
            failed.push(format!("{name}: the dump is not the target:\n{dump}"));
            continue;
        }
        through.push(name);
    }
    println!(
        "SQLite: {} of {} fixtures go through all three phases",
        through.len(),
        dirs.len()
    );
    println!(
        "cannot be expressed on SQLite ({}):\n  {}",
        cannot.len(),
        cannot.join("\n  ")
    );
    assert!(
        failed.is_empty(),
        "{} fixture(s) failed on SQLite:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
    assert!(
        through.len() >= 63,
        "only {} fixtures went through: {through:?}",
        through.len()
    );
}

/// Polls the ledger until `pred` holds of step `pos`'s (status, rows_done).
fn wait_for_step(file: &Path, pos: i64, pred: impl Fn(&str, i64) -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let rows = sql(
            file,
            &format!(
                "SELECT status, rows_done FROM bellows_steps WHERE migration_id = (SELECT max(id) FROM bellows_migrations) AND position = {pos}"
            ),
        );
        if let Some(r) = rows.first()
            && pred(&r[0], r[1].parse().unwrap_or(0))
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// Runs bellows and kills it (SIGKILL) `after` the ledger shows `pred`.
fn killed_while(
    args: &[&str],
    file: &Path,
    pos: i64,
    pred: impl Fn(&str, i64) -> bool,
    after: std::time::Duration,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("bellows starts");
    let reached = wait_for_step(file, pos, pred);
    std::thread::sleep(after);
    // SIGKILL: no handler runs, nothing is rolled back by bellows.
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(
        reached,
        "the step never got where the kill was meant to hit"
    );
    // A write transaction cut short leaves its journal for the next open
    // to roll back.
    let journal = file.with_extension("db-journal");
    println!(
        "killed {:?}: journal left {} bytes",
        args[4],
        journal.metadata().map(|m| m.len()).unwrap_or(0)
    );
    assert_eq!(
        sql(file, "PRAGMA integrity_check"),
        vec![vec!["ok".to_string()]]
    );
}

/// A file with table `events` (`id`, `body`) made by bellows and `rows`
/// rows whose body is `body` (an SQL expression of `i`); returns the path
/// of a target that adds `size`, NOT NULL, backfilled from the body, with
/// `more` (YAML lines of the table) besides.
fn events(dir: &Path, file: &Path, rows: u32, body: &str, more: &str) -> String {
    let v1 = dir.join("v1.yaml");
    let v2 = dir.join("v2.yaml");
    let table = "tables:
  events:
    columns:
      id: { type: integer }
      body: { type: text, nullable: false }
";
    std::fs::write(&v1, format!("{table}    primary_key: [id]\n")).expect("writes");
    std::fs::write(
        &v2,
        format!(
            "{table}      size: {{ type: integer, nullable: false, backfill: length(body) }}\n    primary_key: [id]\n{more}"
        ),
    )
    .expect("writes");
    let v1 = v1.to_str().expect("utf-8");
    apply_all(&url(file), v1, &[]);
    sql(
        file,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO events (id, body) SELECT i, {body} FROM n"
        ),
    );
    v2.to_str().expect("utf-8").to_string()
}

/// kill -9 in the middle of a backfill and of a table rebuild: the file
/// stays whole (SQLite's journal undoes the open transaction), the
/// ledger says where it stopped, and the same command finishes the job.
#[test]
fn killed_mid_backfill_and_mid_rebuild_the_file_stays_whole_and_resumes() {
    let (dir, file) = temp();
    let u = url(&file);
    let rows = 300_000;
    let v2 = events(
        dir.path(),
        &file,
        rows,
        "printf('%.*c', 40 + i % 50, 'x')",
        "",
    );
    let v2 = v2.as_str();
    apply(&u, &["--target", v2, "--phase", "expand"]);

    // The backfill (step 2): killed once some batches are in.
    killed_while(
        &[
            "apply",
            "--database-url",
            &u,
            "--phase",
            "migrate",
            "--batch-size",
            "500",
            "--pause",
            "2ms",
        ],
        &file,
        1,
        |_, done| done >= 5_000,
        std::time::Duration::ZERO,
    );
    let filled: i64 = sql(&file, "SELECT count(size) FROM events")[0][0]
        .parse()
        .expect("count");
    assert!(
        filled >= 5_000 && filled < i64::from(rows),
        "{filled} rows filled when killed"
    );
    apply(&u, &["--phase", "migrate"]);
    assert_eq!(
        sql(
            &file,
            "SELECT count(*) FROM events WHERE size IS NULL OR size <> length(body)"
        ),
        vec![vec!["0".to_string()]]
    );

    // The rebuild (step 3): killed once it runs. Its transaction holds
    // every write until COMMIT, so a kill before it leaves the table as
    // it was, and one after it leaves the step done.
    let before = ok(&["dump", "--database-url", &u]);
    killed_while(
        &[
            "apply",
            "--database-url",
            &u,
            "--phase",
            "contract",
            "--allow-hazard",
            "table-rewrite",
        ],
        &file,
        2,
        |status, _| status == "running",
        // The copy of 300,000 rows takes a few hundred milliseconds
        // here: the kill lands in it.
        std::time::Duration::from_millis(120),
    );
    let after = ok(&["dump", "--database-url", &u]);
    let status = sql(
        &file,
        "SELECT status FROM bellows_steps WHERE position = 2 ORDER BY migration_id DESC LIMIT 1",
    );
    println!("the rebuild was killed with its step {}", status[0][0]);
    if status[0][0] == "done" {
        assert_ne!(
            after, before,
            "the ledger says done, the table must be rebuilt"
        );
    } else {
        assert_eq!(
            after, before,
            "a rebuild cut short leaves the table as it was"
        );
        assert_eq!(
            sql(
                &file,
                "SELECT count(*) FROM sqlite_schema WHERE name = 'events_bellows_new'"
            ),
            vec![vec!["0".to_string()]]
        );
    }
    apply(
        &u,
        &["--phase", "contract", "--allow-hazard", "table-rewrite"],
    );
    assert!(ok(&["plan", "--database-url", &u, "--target", v2]).contains("No changes"));
    assert_eq!(
        sql(&file, "SELECT count(*) FROM events"),
        vec![vec![rows.to_string()]]
    );
}

/// An application keeps writing (an insert and an update at a time, in
/// their own transactions, with SQLite's usual busy timeout) while the
/// three phases run, a backfill and a table rebuild among them: the old
/// version until migrate is done, the new one (which writes the new
/// column) from expand on. Every write succeeds, and every row, old or
/// new, ends up filled.
#[test]
fn writers_keep_working_through_all_three_phases() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let (dir, file) = temp();
    let u = url(&file);
    let v2 = events(
        dir.path(),
        &file,
        50_000,
        "printf('body %d', i)",
        "    checks:
      events_size_positive: size > 0
    indexes:
      events_size_idx: { columns: [size] }
",
    );
    let v2 = v2.as_str();
    let stop = Arc::new(AtomicBool::new(false));
    let new_app = Arc::new(AtomicBool::new(false));
    let (writes, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (file, stop, new_app) = (file.clone(), stop.clone(), new_app.clone());
        let (writes, failures) = (writes.clone(), failures.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use sqlx::ConnectOptions;
                let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&file)
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .connect()
                    .await
                    .expect("the app connects");
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let id = 1 + (i * 7919) % 50000;
                    let sql = match (i.is_multiple_of(2), new_app.load(Ordering::Relaxed)) {
                        (true, false) => format!("INSERT INTO events (body) VALUES ('old {i}')"),
                        (true, true) => format!(
                            "INSERT INTO events (body, size) VALUES ('new {i}', length('new {i}'))"
                        ),
                        (false, false) => {
                            format!("UPDATE events SET body = body || '.' WHERE id = {id}")
                        }
                        (false, true) => format!(
                            "UPDATE events SET body = body || '.', size = length(body) + 1 WHERE id = {id}"
                        ),
                    };
                    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut c)
                        .await
                    {
                        Ok(_) => writes.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("app write failed: {e}");
                            failures.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            });
        })
    };
    // The app is under way before each phase starts.
    let under_way = |n: u64| {
        let seen = writes.load(Ordering::Relaxed);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while writes.load(Ordering::Relaxed) < seen + n {
            assert!(
                std::time::Instant::now() < deadline,
                "the app stopped writing"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    };
    under_way(3);
    apply(&u, &["--target", v2, "--phase", "expand"]);
    under_way(3);
    apply(&u, &["--phase", "migrate", "--batch-size", "1000"]);
    // Both versions ran until migrate was done; now the old one retires
    // (a write the writer began as the old app ends first).
    new_app.store(true, Ordering::Relaxed);
    let seen = writes.load(Ordering::Relaxed) + failures.load(Ordering::Relaxed);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while writes.load(Ordering::Relaxed) + failures.load(Ordering::Relaxed) < seen + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the app stopped writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    apply(
        &u,
        &["--phase", "contract", "--allow-hazard", "table-rewrite"],
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("the app thread ends");
    let (writes, failures) = (
        writes.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
    );
    println!("the app wrote {writes} times while the phases ran; {failures} writes failed");
    assert_eq!(failures, 0);
    assert!(writes >= 9, "the app hardly wrote ({writes})");
    assert_eq!(
        sql(&file, "SELECT count(*) FROM events WHERE size IS NULL"),
        vec![vec!["0".to_string()]]
    );
    assert!(ok(&["plan", "--database-url", &u, "--target", v2]).contains("No changes"));
}

/// The file's own triggers (bellows leaves them alone) survive a table
/// rebuild word for word, on the table and on others that name it; a
/// change that would break one is refused, naming it.
#[test]
fn triggers_survive_a_rebuild_and_a_change_that_would_break_one_is_refused() {
    let (dir, file) = temp();
    let u = url(&file);
    sql(
        &file,
        "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, name text);
CREATE TABLE audit (id integer PRIMARY KEY, what text);
CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit (what) VALUES (NEW.email); END;
CREATE TRIGGER audit_count AFTER INSERT ON audit BEGIN UPDATE users SET name = name WHERE id = 0; END;
INSERT INTO users (email, name) VALUES ('a@x.io', 'A')",
    );
    let triggers = "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name";
    let before = sql(&file, triggers);
    let target = dir.path().join("t.yaml");
    let write = |body: &str| std::fs::write(&target, body).expect("writes");
    let t = target.to_str().expect("utf-8");
    write(
        "tables:
  users:
    columns:
      id: { type: integer }
      email: { type: text, nullable: false }
      name: { type: text }
      handle: { type: text, nullable: false, backfill: lower(email) }
    primary_key: [id]
    checks:
      users_email_at: \"email LIKE '%@%'\"
  audit:
    columns:
      id: { type: integer }
      what: { type: text }
    primary_key: [id]
",
    );
    apply_all(&u, t, &["table-rewrite"]);
    assert_eq!(sql(&file, triggers), before);
    sql(
        &file,
        "INSERT INTO users (email, handle) VALUES ('b@x.io', 'b')",
    );
    assert_eq!(
        sql(&file, "SELECT what FROM audit ORDER BY id"),
        vec![vec!["a@x.io".to_string()], vec!["b@x.io".into()]]
    );
    assert!(ok(&["plan", "--database-url", &u, "--target", t]).contains("No changes"));

    // Dropping the column a trigger names, or the table one writes to.
    write(
        "tables:
  users:
    columns:
      id: { type: integer }
      email: { type: text, nullable: false }
      handle: { type: text, nullable: false }
    primary_key: [id]
    checks:
      users_email_at: \"email LIKE '%@%'\"
",
    );
    let out = bellows(&["plan", "--database-url", &u, "--target", t]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("dropping column name of users would break trigger audit_count"),
        "{err}"
    );
    assert!(
        err.contains("dropping table audit would break trigger users_audit"),
        "{err}"
    );
}
