//! Introspection against a real PostgreSQL: whatever is loaded, the model
//! read from the database equals the model parsed from its dump, the dump
//! is deterministic, objects bellows does not manage are named, and the
//! database is left untouched.

mod support;

use std::path::{Path, PathBuf};

use bellows::introspect::{self, Introspection, Options, UnmanagedKind};
use bellows::model::Schema;
use bellows::spec::{self, WriteOptions};
use support::TestDb;

const CONFORMANCE: &str = "../shared/conformance/migra";

/// A fingerprint of the catalog: equal before and after means untouched.
const FINGERPRINT: &str = "
    SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
        SELECT oid::text || relname || relkind::text || coalesce(relacl::text, '') FROM pg_class
        UNION ALL SELECT attrelid::text || attname || atttypid::text || attnotnull::text FROM pg_attribute
        UNION ALL SELECT oid::text || proname FROM pg_proc
        UNION ALL SELECT oid::text || conname || convalidated::text FROM pg_constraint
        UNION ALL SELECT oid::text || typname FROM pg_type
        UNION ALL SELECT oid::text || nspname FROM pg_namespace
    ) s(x)";

async fn fingerprint(db: &TestDb) -> String {
    sqlx::query_scalar(FINGERPRINT)
        .fetch_one(&db.pool)
        .await
        .expect("catalog fingerprint")
}

async fn read(db: &TestDb, schemas: &[&str]) -> Introspection {
    let opts = Options {
        schemas: schemas.iter().map(|s| s.to_string()).collect(),
    };
    introspect::introspect_url(&db.url, &opts)
        .await
        .unwrap_or_else(|e| panic!("introspection of {} failed: {e}", db.name))
}

/// The core property: introspect, dump, parse the dump: same model; dump
/// twice: same bytes; the catalog did not change. Returns the result.
async fn round_trip(db: &TestDb, label: &str) -> Introspection {
    let before = fingerprint(db).await;
    let first = read(db, &[]).await;
    let dump = spec::to_yaml(&first.schema, WriteOptions::default());
    let parsed = spec::read_str(Path::new(label), &dump).unwrap_or_else(|e| {
        panic!("{label}: the dump does not read back:\n{e}\n--- dump ---\n{dump}")
    });
    assert_model_eq(&parsed, &first.schema, label, &dump);
    let second = read(db, &[]).await;
    let dump2 = spec::to_yaml(&second.schema, WriteOptions::default());
    assert_eq!(dump, dump2, "{label}: two dumps differ");
    assert_eq!(
        first.unmanaged, second.unmanaged,
        "{label}: unmanaged objects differ between reads"
    );
    assert_eq!(
        fingerprint(db).await,
        before,
        "{label}: introspection changed the catalog"
    );
    first
}

fn assert_model_eq(parsed: &Schema, introspected: &Schema, label: &str, dump: &str) {
    if parsed == introspected {
        return;
    }
    for (name, t) in &introspected.tables {
        match parsed.tables.get(name) {
            Some(p) if p == t => {}
            Some(p) => panic!(
                "{label}: table {name} differs after dump and parse\nintrospected: {t:#?}\nparsed: {p:#?}\n--- dump ---\n{dump}"
            ),
            None => panic!("{label}: table {name} lost in the dump\n--- dump ---\n{dump}"),
        }
    }
    panic!(
        "{label}: models differ\nintrospected: {introspected:#?}\nparsed: {parsed:#?}\n--- dump ---\n{dump}"
    );
}

/// Counts, straight from the catalog, of kinds bellows must report.
async fn count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count query")
}

async fn assert_unmanaged_reported(db: &TestDb, found: &Introspection, label: &str) {
    let n = |kinds: &[UnmanagedKind]| {
        found
            .unmanaged
            .iter()
            .filter(|u| kinds.contains(&u.kind))
            .count() as i64
    };
    let views = count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema')").await;
    let matviews = count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND n.nspname NOT IN ('pg_catalog', 'information_schema')").await;
    let triggers = count(db, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").await;
    let functions = count(db, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')").await;
    let domains = count(db, "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND n.nspname NOT IN ('pg_catalog', 'information_schema')").await;
    let policies = count(db, "SELECT count(*) FROM pg_policy").await;
    assert_eq!(n(&[UnmanagedKind::View]), views, "{label}: views");
    assert_eq!(
        n(&[UnmanagedKind::MaterializedView]),
        matviews,
        "{label}: materialized views"
    );
    assert_eq!(n(&[UnmanagedKind::Trigger]), triggers, "{label}: triggers");
    assert_eq!(
        n(&[
            UnmanagedKind::Function,
            UnmanagedKind::Procedure,
            UnmanagedKind::Aggregate
        ]),
        functions,
        "{label}: functions"
    );
    assert_eq!(n(&[UnmanagedKind::Domain]), domains, "{label}: domains");
    assert_eq!(n(&[UnmanagedKind::Policy]), policies, "{label}: policies");
    if !found.unmanaged.is_empty() {
        let summary = found
            .unmanaged_summary()
            .expect("a summary when something is unmanaged");
        for u in &found.unmanaged {
            let shown = summary.contains(&u.identity) || summary.contains(", ...");
            assert!(shown, "{label}: {u} missing from the warning: {summary}");
        }
    }
}

async fn ensure_fixture_role(db: &TestDb) {
    // Roles are cluster-wide; tests run in parallel, so tolerate the race.
    db.exec(
        "DO $$ BEGIN CREATE ROLE schemainspect_test_role;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .await;
}

fn conformance_cases() -> Vec<PathBuf> {
    let dir = Path::new(CONFORMANCE);
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "the conformance corpus is expected at {} (shared/ beside the repository): {e}",
            dir.display()
        )
    });
    let mut cases: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
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
                ensure_fixture_role(&db).await;
                db.exec(&sql).await;
                let found = round_trip(&db, &label).await;
                assert_unmanaged_reported(&db, &found, &label).await;
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
    assert!(
        done.iter().any(|(_, _, unmanaged)| *unmanaged > 0),
        "no fixture had unmanaged objects"
    );
}

#[tokio::test]
async fn hostile_identifiers_survive_dump_and_parse() {
    let db = TestDb::new().await;
    db.exec(r#"
        CREATE SCHEMA "Odd.Schema";
        CREATE TYPE "Odd.Schema"."Mood ""quoted""" AS ENUM ('ok', 'not ok', 'it''s', 'true', '');
        CREATE TABLE "Odd.Schema"."select" (
            "user" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            "Mixed Case" text NOT NULL DEFAULT 'a: b # c',
            "ünïcödé 名前" varchar(20),
            "with ""quotes""" "Odd.Schema"."Mood ""quoted""",
            "order" int CHECK ("order" > 0),
            " lead" text,
            "null" boolean DEFAULT true
        );
        CREATE UNIQUE INDEX "idx: weird, name" ON "Odd.Schema"."select" (lower("Mixed Case") DESC NULLS LAST, "order");
        CREATE TABLE "table" (id serial PRIMARY KEY, "ref" bigint REFERENCES "Odd.Schema"."select" ("user") ON DELETE SET NULL);
        COMMENT ON TABLE "table" IS 'line one
line two "quoted" \ backslash';
        COMMENT ON COLUMN "table"."ref" IS '';
    "#).await;
    let found = round_trip(&db, "hostile").await;
    let names: Vec<String> = found.schema.tables.keys().map(|k| k.to_string()).collect();
    assert_eq!(names, vec!["\"Odd.Schema\".select", "public.table"]);
    let t = found.schema.tables.values().next().expect("a table");
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        cols,
        vec![
            "user",
            "Mixed Case",
            "ünïcödé 名前",
            "with \"quotes\"",
            "order",
            " lead",
            "null"
        ]
    );
    let e = found.schema.enums.values().next().expect("an enum");
    assert_eq!(
        e.values,
        vec!["ok", "not ok", "it's", "true", ""]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn examples_load_and_dump_to_the_same_structure() {
    for file in [
        "schemas/examples/shop_v1.yaml",
        "schemas/examples/shop_v2.yaml",
    ] {
        let target = spec::read_file(Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
        let db = TestDb::new().await;
        let ddl = bellows::sql::postgres::create_all(&target).join(";\n");
        db.exec(&ddl).await;
        let found = round_trip(&db, file).await;
        assert!(found.unmanaged.is_empty(), "{file}: {:?}", found.unmanaged);
        let want = target.without_hints();
        // Expressions are printed by the server (`'free'::text`), so
        // compare the structure: names, types, nullability, keys.
        assert_eq!(
            found.schema.tables.keys().collect::<Vec<_>>(),
            want.tables.keys().collect::<Vec<_>>(),
            "{file}"
        );
        assert_eq!(found.schema.enums, want.enums, "{file}");
        assert_eq!(found.schema.sequences, want.sequences, "{file}");
        for (name, t) in &want.tables {
            let got = &found.schema.tables[name];
            let shape = |t: &bellows::model::Table| {
                t.columns
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            c.ty.clone(),
                            c.nullable,
                            c.identity,
                            c.default.is_some(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(shape(got), shape(t), "{file}: columns of {name}");
            assert_eq!(
                got.primary_key, t.primary_key,
                "{file}: primary key of {name}"
            );
            assert_eq!(
                got.uniques, t.uniques,
                "{file}: unique constraints of {name}"
            );
            assert_eq!(
                got.foreign_keys, t.foreign_keys,
                "{file}: foreign keys of {name}"
            );
            assert_eq!(
                got.indexes.keys().collect::<Vec<_>>(),
                t.indexes.keys().collect::<Vec<_>>(),
                "{file}: indexes of {name}"
            );
            assert_eq!(
                got.checks.keys().collect::<Vec<_>>(),
                t.checks.keys().collect::<Vec<_>>(),
                "{file}: checks of {name}"
            );
            assert_eq!(got.comment, t.comment, "{file}: comment of {name}");
        }
    }
}

#[tokio::test]
async fn schema_scope_limits_what_is_read() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE SCHEMA a; CREATE SCHEMA b; CREATE TABLE a.t (id int); CREATE TABLE b.t (id int);
             CREATE SCHEMA bellows; CREATE TABLE bellows.ledger (id int);",
    )
    .await;
    let all = read(&db, &[]).await;
    let names: Vec<String> = all.schema.tables.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        names,
        vec!["a.t", "b.t"],
        "the ledger schema is never part of the model"
    );
    let only_b = read(&db, &["b"]).await;
    assert_eq!(
        only_b
            .schema
            .tables
            .keys()
            .map(|k| k.to_string())
            .collect::<Vec<_>>(),
        vec!["b.t"]
    );
    let err = introspect::introspect_url(
        &db.url,
        &Options {
            schemas: vec!["nope".into()],
        },
    )
    .await;
    assert!(matches!(err, Err(introspect::IntrospectError::NoSuchSchema(s)) if s == "nope"));
}

#[tokio::test]
async fn dependencies_of_unmanaged_objects_name_their_columns() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, a text, b text);
             CREATE VIEW v AS SELECT id, a FROM t;
             CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             CREATE TRIGGER trg BEFORE UPDATE OF b ON t FOR EACH ROW EXECUTE FUNCTION f();",
    )
    .await;
    let found = read(&db, &[]).await;
    let view = found
        .unmanaged
        .iter()
        .find(|u| u.kind == UnmanagedKind::View)
        .expect("the view is reported");
    let cols: Vec<Option<&str>> = view
        .depends_on
        .iter()
        .map(|d| d.column.as_ref().map(|c| c.as_str()))
        .collect();
    assert!(
        cols.contains(&Some("a")) && cols.contains(&Some("id")) && !cols.contains(&Some("b")),
        "{view:?}"
    );
    let trg = found
        .unmanaged
        .iter()
        .find(|u| u.kind == UnmanagedKind::Trigger)
        .expect("the trigger is reported");
    assert!(
        trg.depends_on
            .iter()
            .any(|d| d.column.as_ref().map(|c| c.as_str()) == Some("b")),
        "{trg:?}"
    );
    assert_eq!(found.queries, 10, "one query per kind, whatever the size");
}

#[tokio::test]
async fn dump_command_writes_yaml_and_warns_about_unmanaged_objects() {
    let db = TestDb::new().await;
    db.exec("CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);
             CREATE VIEW active AS SELECT * FROM users;").await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bellows"))
            .args(["dump", "--database-url", &db.url])
            .output()
            .expect("bellows runs")
    };
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        yaml,
        "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      email: { type: text, nullable: false }\n    primary_key: [id]\n    unique:\n      users_email_key: [email]\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 view (public.active)"), "{stderr}");
    assert_eq!(run().stdout, yaml.as_bytes(), "dump is deterministic");
}
