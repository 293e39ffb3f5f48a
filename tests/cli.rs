//! The command line as a user meets it: help texts, exit codes, and the
//! offline commands on the bundled examples.

use std::process::{Command, Output};

fn bellows(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the bellows binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const COMMANDS: &[&str] = &[
    "plan", "apply", "status", "abort", "dump", "diff", "validate", "schema",
];

#[test]
fn top_level_help_lists_every_command_and_the_exit_codes() {
    let out = bellows(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for c in COMMANDS {
        assert!(
            help.contains(&format!("\n  {c} ")),
            "`{c}` missing from --help:\n{help}"
        );
    }
    assert!(
        help.contains("EXPAND") && help.contains("CONTRACT"),
        "{help}"
    );
    assert!(
        help.contains("Exit codes:") && help.contains("2    error") && help.contains("130"),
        "{help}"
    );
}

#[test]
fn every_command_has_a_help_page() {
    for c in COMMANDS {
        let out = bellows(&[c, "--help"]);
        assert!(out.status.success(), "`bellows {c} --help` failed");
        let help = text(&out.stdout);
        assert!(
            help.lines().count() >= 5,
            "`bellows {c} --help` is too thin:\n{help}"
        );
    }
    let plan = text(&bellows(&["plan", "--help"]).stdout);
    for flag in [
        "--database-url",
        "--from",
        "--target",
        "--format",
        "--out",
        "--check",
        "--exit-code",
        "DATABASE_URL",
    ] {
        assert!(plan.contains(flag), "plan --help lacks {flag}:\n{plan}");
    }
    let apply = text(&bellows(&["apply", "--help"]).stdout);
    for flag in [
        "--phase",
        "--lock-timeout",
        "--max-retries",
        "--batch-size",
        "--batch-time",
        "--max-replica-lag",
        "--throttle-query",
        "--max-pause",
        "--allow-hazard",
        "--dry-run",
    ] {
        assert!(apply.contains(flag), "apply --help lacks {flag}:\n{apply}");
    }
}

#[test]
fn validate_accepts_the_examples() {
    let out = bellows(&[
        "validate",
        "schemas/examples/shop_v1.yaml",
        "schemas/examples/shop_v2.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("shop_v2.yaml: ok (5 tables"));
}

#[test]
fn validate_reports_located_errors_with_exit_2() {
    let out = bellows(&[
        "validate",
        "schemas/examples/shop_v1.yaml",
        "tests/yaml_errors/multiple_errors.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--> tests/yaml_errors/multiple_errors.yaml:9:28"),
        "{err}"
    );
    assert!(err.contains("errors found"), "{err}");
    // The valid file is still confirmed.
    assert!(text(&out.stdout).contains("shop_v1.yaml: ok"));
}

/// A backfill's pacing is checked before anything connects.
#[test]
fn pacing_that_cannot_hold_is_refused_saying_why() {
    for (args, why) in [
        (
            vec!["--batch-time", "1s"],
            "at most a quarter of --lock-timeout (2000ms here); give 500ms or less",
        ),
        (vec!["--batch-time", "0ms"], "give a duration such as 200ms"),
        (vec!["--batch-size", "0"], "a batch needs at least one row"),
        (
            vec!["--max-replica-lag", "0s"],
            "`none` to not watch replicas",
        ),
        (vec!["--max-pause", "soon"], "--max-pause"),
    ] {
        let mut all = vec![
            "apply",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/x",
            "--phase",
            "migrate",
        ];
        all.extend(args.iter().copied());
        let out = bellows(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(!err.contains("cannot connect"), "{args:?}: {err}");
    }
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = bellows(&["validate", "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/file.yaml"));
}

#[test]
fn schema_prints_a_json_schema_of_the_format() {
    let out = bellows(&["schema"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["title"], "bellows target schema");
    let props = v["properties"].as_object().expect("top-level properties");
    for k in [
        "schemas",
        "extensions",
        "enums",
        "sequences",
        "tables",
        "views",
    ] {
        assert!(props.contains_key(k), "JSON Schema lacks `{k}`");
    }
    assert_eq!(
        v["additionalProperties"], false,
        "unknown keys must be refused"
    );
}

#[test]
fn diff_shows_the_change_between_the_examples() {
    let out = bellows(&[
        "diff",
        "--from",
        "schemas/examples/shop_v1.yaml",
        "--target",
        "schemas/examples/shop_v2.yaml",
        "--exit-code",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d = text(&out.stdout);
    assert!(
        d.contains("-  order_status: [pending, paid, shipped]"),
        "{d}"
    );
    assert!(
        d.contains("+  order_status: [pending, paid, shipped, refunded]"),
        "{d}"
    );
    assert!(!d.contains("\x1b["), "no color when not on a terminal");
    let same = bellows(&[
        "diff",
        "--from",
        "schemas/examples/shop_v1.yaml",
        "--target",
        "schemas/examples/shop_v1.yaml",
        "--exit-code",
    ]);
    assert_eq!(same.status.code(), Some(0));
}

#[test]
fn commands_that_need_a_database_say_so_with_exit_2() {
    for cmd in ["apply --phase expand", "status", "abort", "dump"] {
        let args: Vec<&str> = cmd.split(' ').collect();
        let out = bellows(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = text(&out.stderr);
        assert!(err.contains("needs a database"), "{cmd}: {err}");
    }
    let out = bellows(&[
        "status",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

/// `plan` reads the target file while it connects; a mistake in the file
/// is still what it reports, whether the database is missing, refuses
/// the connection, or answers.
#[test]
fn plan_reports_a_bad_target_before_any_database_problem() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "tables:\n  t:\n    columns:\n      id: { type: intt }\n",
    )
    .expect("write the file");
    let bad = bad.to_string_lossy().into_owned();
    for db in [
        vec![],
        vec!["--database-url", "postgres://nobody@127.0.0.1:1/x"],
    ] {
        let mut args = vec!["plan", "--target", bad.as_str()];
        args.extend(db.iter().copied());
        let out = bellows(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("unknown type `intt`"), "{args:?}: {err}");
        assert!(
            !err.contains("cannot connect") && !err.contains("needs the current schema"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_readme_format_example_is_valid() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let start = readme.find("```yaml\n").expect("a yaml block in README") + 8;
    let len = readme[start..].find("```").expect("closed yaml block");
    let example = &readme[start..start + len];
    if let Err(e) =
        bellows::spec::read_str(std::path::Path::new("README.md (yaml example)"), example)
    {
        panic!("the README's YAML example must be valid:\n{e}");
    }
}

/// Planning between two files says nothing about a database.
#[test]
fn an_offline_plan_with_nothing_to_do_does_not_speak_of_a_database() {
    let out = bellows(&[
        "plan",
        "--from",
        "schemas/examples/shop_v1.yaml",
        "--target",
        "schemas/examples/shop_v1.yaml",
    ]);
    assert!(out.status.success());
    let said = text(&out.stdout);
    assert!(
        said.contains("No changes: the current schema already matches the target.")
            && !said.contains("database"),
        "{said}"
    );
}
