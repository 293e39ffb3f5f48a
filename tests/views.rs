//! Views against a real PostgreSQL: a query written differently from how
//! the server prints it is no change; what a view reads comes from the
//! catalog, so only the views over a changed column are rebuilt, a view
//! that keeps its columns is replaced in place in expand, and the old app
//! reads every view between the phases.

mod support;

use std::path::Path;

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::model::Schema;
use bellows::plan::{HazardKind, Phase};
use bellows::spec;
use support::{TestDb, outline, plan_live};

const SETUP: &str = "
    CREATE TABLE users (id bigint PRIMARY KEY, email varchar(50) NOT NULL, name text, score integer NOT NULL DEFAULT 0, legacy text);
    INSERT INTO users SELECT g, 'u' || g || '@x.y', 'n' || g, g, 'l' FROM generate_series(1, 50) g;
    CREATE VIEW emails AS SELECT id, email FROM users;
    CREATE VIEW names AS SELECT id, name FROM users WHERE name IS NOT NULL;
    CREATE VIEW name_count AS SELECT count(*) AS n FROM names;";

/// The tables of SETUP as YAML, `columns` replacing the users' columns.
fn tables(columns: &str) -> String {
    format!("tables:\n  users:\n    columns:\n{columns}    primary_key: [id]\n")
}

const COLUMNS: &str = "      id: { type: bigint }\n      email: { type: varchar(50), nullable: false }\n      name: { type: text }\n      score: { type: integer, nullable: false, default: 0 }\n      legacy: { type: text }\n";

/// The three views, written as a person would (not as the server prints).
const VIEWS: &str = "views:\n  emails: select id, email from users\n  names: |\n    SELECT id, name\n      FROM users\n     WHERE name IS NOT NULL;\n  name_count: SELECT count(*) AS n FROM names\n";

#[tokio::test]
async fn views_written_differently_from_the_server_are_no_change() {
    let db = TestDb::new().await;
    db.exec(SETUP).await;
    let (p, notes) = plan_live(&db, &format!("{}{VIEWS}", tables(COLUMNS))).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
    assert!(notes.is_empty(), "{notes:?}");
    // The canonicalization left nothing behind and changed nothing.
    let temp: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND relkind = 'v'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(temp, 0);
    // A real change to one view is seen, the others are still the same.
    let changed = VIEWS.replace(
        "select id, email from users",
        "select id, email from users where id > 10",
    );
    let (p, _) = plan_live(&db, &format!("{}{changed}", tables(COLUMNS))).await;
    assert_eq!(
        outline(&p),
        [
            "expand: replace view public.emails in place (it keeps its columns and adds new ones at the end)"
        ]
    );
}

#[tokio::test]
async fn only_the_views_over_a_changed_column_are_rebuilt_and_the_old_app_reads_them_throughout() {
    let db = TestDb::new().await;
    db.exec(SETUP).await;
    // Owners and privileges bellows does not manage survive the rebuilds.
    db.exec(
        "DO $$ BEGIN CREATE ROLE bellows_test_reader; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         GRANT SELECT ON names TO bellows_test_reader;
         GRANT SELECT ON emails TO PUBLIC;
         ALTER VIEW name_count OWNER TO bellows_test_reader;
         GRANT SELECT ON names TO bellows_test_reader;",
    )
    .await;
    // email widened in place (emails reads it), name retyped through a
    // shadow (names and, over it, name_count), legacy dropped (no view).
    let columns = COLUMNS
        .replace("varchar(50)", "varchar(100)")
        .replace("name: { type: text }", "name: { type: varchar(40) }")
        .replace("      legacy: { type: text }\n", "");
    let yaml = format!("{}{VIEWS}", tables(&columns));
    let (p, notes) = plan_live(&db, &yaml).await;
    assert!(notes.is_empty(), "{notes:?}");
    let steps = outline(&p);
    let rebuilding: Vec<&String> = steps.iter().filter(|s| s.contains("dropped")).collect();
    assert_eq!(
        rebuilding,
        [
            "expand: widen public.users.email from varchar(50) to varchar(100) (no rewrite) (in the same transaction, view public.emails dropped and made again)",
            "contract: swap public.users.name_bellows_new in for public.users.name (in the same transaction, views public.name_count, public.names dropped and made again)",
        ],
        "{steps:#?}"
    );
    assert!(
        steps.contains(&"contract: drop column public.users.legacy".to_string()),
        "{steps:#?}"
    );
    let target = spec::read_str(Path::new("target.yaml"), &yaml).expect("target");
    let opts = ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        batch_size: Some(7),
        ..ApplyOptions::default()
    };
    let old_app = "SELECT email FROM emails WHERE id = 3; SELECT n FROM name_count; SELECT name FROM names WHERE id = 4; INSERT INTO users (id, email, name) VALUES (1000, 'o@x.y', 'old');";
    for phase in Phase::ALL {
        apply(&db.url, Some(&target), PhaseSel::One(phase), &opts, &Silent)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", phase.name()));
        if phase != Phase::Contract {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {old_app} ROLLBACK;")))
                .execute(&db.pool)
                .await
                .unwrap_or_else(|e| panic!("after {}, the old app fails: {e}", phase.name()));
        }
    }
    let (n, typ): (i64, String) = sqlx::query_as(
        "SELECT (SELECT n FROM name_count), format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'names'::regclass AND attname = 'name'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("views after contract");
    assert_eq!((n, typ.as_str()), (50, "character varying(40)"));
    let (reader, public, owner): (bool, bool, String) = sqlx::query_as(
        "SELECT has_table_privilege('bellows_test_reader', 'names', 'SELECT'),
                has_table_privilege('public', 'emails', 'SELECT'),
                pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'name_count'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .expect("privileges after contract");
    assert_eq!(
        (reader, public, owner.as_str()),
        (true, true, "bellows_test_reader"),
        "owners and grants kept"
    );
    let (p, _) = plan_live(&db, &yaml).await;
    assert!(p.is_empty(), "after contract: {:?}", outline(&p));
    // Roles are the cluster's: this one goes with what it holds here.
    db.exec("DROP OWNED BY bellows_test_reader; DROP ROLE bellows_test_reader")
        .await;
}

#[tokio::test]
async fn a_view_the_server_cannot_read_yet_is_compared_as_written_with_a_note() {
    let db = TestDb::new().await;
    db.exec(SETUP).await;
    let columns = format!("{COLUMNS}      nickname: {{ type: text }}\n");
    let views = VIEWS.replace(
        "select id, email from users",
        "select id, email, nickname from users",
    );
    let yaml = format!("{}{views}", tables(&columns));
    let (p, notes) = plan_live(&db, &yaml).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("view public.emails") && notes[0].contains("nickname"),
        "{notes:?}"
    );
    let steps = outline(&p);
    assert_eq!(
        steps,
        [
            "expand: add column public.users.nickname",
            "contract: replace view public.emails once the old app is gone (CREATE OR REPLACE cannot make the change: a column goes, moves or changes type)",
        ]
    );
    let target: Schema = spec::read_str(Path::new("target.yaml"), &yaml).expect("target");
    let opts = ApplyOptions::default();
    apply(&db.url, Some(&target), PhaseSel::All, &opts, &Silent)
        .await
        .expect("applies");
    let (p, notes) = plan_live(&db, &yaml).await;
    assert!(
        p.is_empty() && notes.is_empty(),
        "{:?} {notes:?}",
        outline(&p)
    );
}

/// `plan --from --target --dev-url`: between two files, a scratch database
/// reads both files' views, so a dump's text against a hand-written query
/// is no change, and a column no view reads is dropped without touching
/// the views (as a plan against a live database); the scratch database is
/// left as it was.
#[tokio::test]
async fn an_offline_plan_reads_views_in_a_scratch_database() {
    let dev = TestDb::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let dump =
        "views:\n  emails: |-\n    SELECT users.id,\n        users.email\n       FROM users\n";
    let from = dir.path().join("from.yaml");
    std::fs::write(&from, format!("{}{dump}", tables(COLUMNS))).expect("write");
    let target = dir.path().join("to.yaml");
    let plan = |to: &str, dev_url: Option<&str>| {
        std::fs::write(&target, to).expect("write");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bellows"));
        cmd.args(["plan", "--from"])
            .arg(&from)
            .arg("--target")
            .arg(&target);
        if let Some(url) = dev_url {
            cmd.args(["--dev-url", url]);
        }
        let out = cmd.output().expect("bellows runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let written = format!(
        "{}views:\n  emails: select id, email from users\n",
        tables(COLUMNS)
    );
    assert!(
        plan(&written, None).contains("replace view public.emails"),
        "without a server the texts differ"
    );
    let same = plan(&written, Some(&dev.url));
    assert!(same.contains("No changes"), "{same}");
    let no_legacy = format!(
        "{}views:\n  emails: select id, email from users\n",
        tables(&COLUMNS.replace("      legacy: { type: text }\n", ""))
    );
    let dropped = plan(&no_legacy, Some(&dev.url));
    assert!(
        dropped.contains("drop column public.users.legacy\n"),
        "{dropped}"
    );
    assert!(!dropped.contains("DROP VIEW"), "{dropped}");
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    )
    .fetch_one(&dev.pool)
    .await
    .expect("count");
    assert_eq!(left, 0, "the scratch database is left empty");
}
