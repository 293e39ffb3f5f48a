//! Hazards mean what they say: each drop carries the hazard of what it
//! really takes away, and `apply` refuses exactly the destructive ones
//! until `--allow-hazard` names them, on a real PostgreSQL.

mod support;

use std::process::{Command, Output};

use bellows::introspect::{Options, introspect_url};
use bellows::plan::{HazardKind, plan};
use bellows::spec;
use support::TestDb;

const FROM: &str = r#"
schemas: [crypto]
extensions: { pgcrypto: { schema: crypto } }
tables:
  teams:
    columns:
      id: { type: bigint }
    primary_key: [id]
  users:
    columns:
      id: { type: bigint }
      team_id: { type: bigint }
      name: { type: text }
      age: { type: integer }
      note: { type: text }
    primary_key: [id]
    checks:
      users_age_sane: "age >= 0"
    foreign_keys:
      users_team_fk: { columns: [team_id], references: { table: teams, columns: [id] } }
    indexes:
      users_name_idx: { columns: [name] }
  tags:
    columns:
      id: { type: bigint }
    primary_key: [id]
"#;

/// What each drop in `FROM -> to` carries, by step title.
fn hazards_by_step(to: &str) -> Vec<(String, Vec<&'static str>)> {
    let from = spec::read_str(std::path::Path::new("from.yaml"), FROM).expect("from");
    let to = spec::read_str(std::path::Path::new("to.yaml"), to).expect("to");
    let p = plan(&from, &to, &Default::default()).expect("plan");
    p.steps
        .iter()
        .map(|s| {
            (
                s.description.clone(),
                s.hazards.iter().map(|h| h.kind.name()).collect(),
            )
        })
        .collect()
}

fn without(lines: &[&str]) -> String {
    FROM.lines()
        .filter(|l| !lines.iter().any(|x| l.trim_start().starts_with(x)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_drop_carries_the_hazard_of_what_it_takes_away() {
    let to = without(&[
        "schemas:",
        "extensions:",
        "checks:",
        "users_age_sane:",
        "foreign_keys:",
        "users_team_fk:",
        "indexes:",
        "users_name_idx:",
        "note:",
    ])
    .replace(
        "  tags:\n    columns:\n      id: { type: bigint }\n    primary_key: [id]",
        "  tags:\n    columns:\n      id: { type: bigint }",
    );
    let got = hazards_by_step(&to);
    let expect: &[(&str, &[&str])] = &[
        (
            "drop constraint users_age_sane on public.users",
            &["constraint-dropped"],
        ),
        (
            "drop foreign key users_team_fk on public.users",
            &["constraint-dropped"],
        ),
        (
            "drop index users_name_idx on public.users",
            &["index-dropped"],
        ),
        (
            "drop constraint tags_pkey on public.tags",
            &["constraint-dropped", "index-dropped"],
        ),
        ("drop column public.users.note", &["data-loss"]),
        ("drop extension pgcrypto", &["untracked-dependencies"]),
        ("drop schema crypto", &["untracked-dependencies"]),
    ];
    for (title, kinds) in expect {
        let found = got
            .iter()
            .find(|(t, _)| t == title)
            .unwrap_or_else(|| panic!("no step {title:?} in {got:#?}"));
        assert_eq!(&found.1, kinds, "{title}");
    }
    // Dropping a CHECK or a foreign key loses no row: no step says so.
    assert!(
        got.iter()
            .filter(|(t, _)| t.contains("users_age_sane") || t.contains("users_team_fk"))
            .all(|(_, k)| !k.contains(&"data-loss")),
        "{got:#?}"
    );
}

#[test]
fn only_destructive_hazards_need_consent() {
    assert!(HazardKind::IndexDropped.is_destructive());
    assert!(HazardKind::UntrackedDependencies.is_destructive());
    assert!(HazardKind::DataLoss.is_destructive());
    assert!(!HazardKind::ConstraintDropped.is_destructive());
    // Every hazard is listed once, with a description, for --help.
    let mut names: Vec<&str> = HazardKind::ALL.iter().map(|k| k.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), HazardKind::ALL.len());
    let help = bellows(&["apply", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    // README's table lists each one, saying whether apply refuses it.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for k in HazardKind::ALL {
        let gate = if k.is_destructive() {
            "refused unless allowed"
        } else {
            "reported"
        };
        let row = format!("| `{}` | {gate} |", k.name());
        assert!(readme.contains(&row), "README's hazard table lacks {row}");
    }
    for k in HazardKind::ALL {
        assert!(
            help.contains(&format!("- {}:", k.name())),
            "--help lacks {}",
            k.name()
        );
    }
}

fn bellows(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(args)
        .output()
        .expect("bellows runs")
}

/// `bellows apply --phase all` to `target`, allowing these hazards.
fn apply_all(url: &str, target: &str, allow: &[&str]) -> Output {
    let mut args = vec![
        "apply",
        "--database-url",
        url,
        "--phase",
        "all",
        "--target",
        target,
    ];
    for a in allow {
        args.extend(["--allow-hazard", a]);
    }
    bellows(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// On a live database: dropping a CHECK and a foreign key runs without
/// any `--allow-hazard`; dropping an index or an extension is refused,
/// naming the hazard, until it is allowed; then the plan runs to the end.
#[tokio::test]
async fn apply_refuses_exactly_the_destructive_drops_until_allowed() {
    let db = TestDb::new().await;
    let from = spec::read_str(std::path::Path::new("from.yaml"), FROM).expect("from");
    db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
        .await;
    support::seed(&db, &from).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    };

    // Constraints only: no consent needed.
    let weaker = write(
        "weaker.yaml",
        &without(&[
            "checks:",
            "users_age_sane:",
            "foreign_keys:",
            "users_team_fk:",
        ]),
    );
    let out = apply_all(&db.url, &weaker, &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // An index and an extension (and its schema): refused, nothing runs.
    let target = write(
        "target.yaml",
        &without(&[
            "schemas:",
            "extensions:",
            "checks:",
            "users_age_sane:",
            "foreign_keys:",
            "users_team_fk:",
            "indexes:",
            "users_name_idx:",
        ]),
    );
    let before = introspect_url(&db.url, &Options::default())
        .await
        .expect("read");
    let out = apply_all(&db.url, &target, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in ["index-dropped", "untracked-dependencies", "--allow-hazard"] {
        assert!(err.contains(needle), "refusal lacks {needle}: {err}");
    }
    let after = introspect_url(&db.url, &Options::default())
        .await
        .expect("read");
    assert_eq!(before.schema, after.schema, "nothing ran");

    // Allowing one of the two is not enough.
    let out = apply_all(&db.url, &target, &["index-dropped"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("untracked-dependencies"),
        "{}",
        stderr(&out)
    );

    let out = apply_all(
        &db.url,
        &target,
        &["index-dropped", "untracked-dependencies"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bellows(&["plan", "--database-url", &db.url, "--target", &target]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No changes"), "re-plan is empty: {text}");
}

const PARTITIONED: &str = r#"
tables:
  accounts:
    columns:
      id: { type: bigint }
    primary_key: [id]
  events:
    columns:
      id: { type: bigint }
      account_id: { type: bigint }
      region: { type: text }
    partition_by: list (region)
  events_eu:
    partition_of: events
    bound: IN ('eu')
  events_rest:
    partition_of: events
    bound: DEFAULT
"#;

/// On a partitioned table with rows, what PostgreSQL can only do under a
/// lock that stops writes is a `long-lock` step `apply` refuses until
/// allowed: a foreign key (no NOT VALID form there), a partition attached
/// beside a default partition with rows (scanned under ACCESS
/// EXCLUSIVE). Then the plan runs to the end, rows in their partitions.
/// A unique constraint there is refused in the plan, with the way round.
#[tokio::test]
async fn partitioned_tables_take_long_locks_only_with_consent() {
    let db = TestDb::new().await;
    let from = spec::read_str(std::path::Path::new("from.yaml"), PARTITIONED).expect("from");
    db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
        .await;
    db.exec(
        "INSERT INTO accounts VALUES (1), (2);
         INSERT INTO events VALUES (1, 1, 'eu'), (2, 2, 'us'), (3, 1, 'jp')",
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    };
    let with_fk = PARTITIONED.replace(
        "    partition_by: list (region)\n",
        "    partition_by: list (region)\n    foreign_keys:\n      events_account_fk: { columns: [account_id], references: { table: accounts, columns: [id] } }\n",
    );
    let target = write(
        "target.yaml",
        &format!("{with_fk}  events_us:\n    partition_of: events\n    bound: IN ('us', 'ca')\n"),
    );
    let out = apply_all(&db.url, &target, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in ["long-lock", "NOT VALID", "events_rest"] {
        assert!(err.contains(needle), "refusal lacks {needle}: {err}");
    }
    // The row of the new bound in the default partition stops the
    // attach, as the hazard says; once moved out, the plan runs.
    let out = apply_all(&db.url, &target, &["long-lock"]);
    assert!(
        !out.status.success() && stderr(&out).contains("would be violated"),
        "the 'us' row is in the default: {}",
        stderr(&out)
    );
    db.exec("DELETE FROM events WHERE region = 'us'").await;
    let out = apply_all(&db.url, &target, &["long-lock"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bellows(&["plan", "--database-url", &db.url, "--target", &target]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No changes"), "re-plan is empty: {text}");
    let fk: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint WHERE conname = 'events_account_fk' AND convalidated",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert!(fk >= 1, "the foreign key is there and valid");

    let unique = write(
        "unique.yaml",
        &PARTITIONED.replace(
            "    partition_by: list (region)\n",
            "    partition_by: list (region)\n    unique:\n      events_id_key: [id, region]\n",
        ),
    );
    let out = bellows(&["plan", "--database-url", &db.url, "--target", &unique]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("declare a unique index instead"),
        "{}",
        stderr(&out)
    );
}
