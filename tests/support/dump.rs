//! The dump round trip every introspection test checks: introspect, dump,
//! parse the dump back: the same model; two dumps are the same bytes; the
//! catalog is untouched; and every object of a kind bellows does not
//! manage is named in the warning.

use std::path::Path;

use bellows::introspect::{self, Introspection, Options, UnmanagedKind};
use bellows::model::Schema;
use bellows::spec::{self, WriteOptions};

use super::TestDb;

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

pub async fn fingerprint(db: &TestDb) -> String {
    sqlx::query_scalar(FINGERPRINT)
        .fetch_one(&db.pool)
        .await
        .expect("catalog fingerprint")
}

pub async fn read(db: &TestDb, schemas: &[&str]) -> Introspection {
    let opts = Options {
        schemas: schemas.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    };
    introspect::introspect_url(&db.url, &opts)
        .await
        .unwrap_or_else(|e| panic!("introspection of {} failed: {e}", db.name))
}

/// The core property: introspect, dump, parse the dump: same model; dump
/// twice: same bytes; the catalog did not change. Returns the result.
pub async fn round_trip(db: &TestDb, label: &str) -> Introspection {
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

pub fn assert_model_eq(parsed: &Schema, introspected: &Schema, label: &str, dump: &str) {
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
pub async fn count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count query")
}

pub async fn assert_unmanaged_reported(db: &TestDb, found: &Introspection, label: &str) {
    let n = |kinds: &[UnmanagedKind]| {
        found
            .unmanaged
            .iter()
            .filter(|u| kinds.contains(&u.kind))
            .count() as i64
    };
    let views = count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')").await;
    let matviews = count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND n.nspname NOT IN ('pg_catalog', 'information_schema')").await;
    // A partitioned table's trigger has a copy on each partition, which
    // is the parent's.
    let triggers = count(db, "SELECT count(*) FROM pg_trigger tg WHERE NOT tgisinternal AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_trigger'::regclass AND d.objid = tg.oid AND d.deptype = 'P')").await;
    let routines = count(db, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')").await;
    let aggregates = count(db, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind NOT IN ('f', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')").await;
    let domains = count(db, "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND n.nspname NOT IN ('pg_catalog', 'information_schema')").await;
    let policies = count(db, "SELECT count(*) FROM pg_policy").await;
    assert_eq!(n(&[UnmanagedKind::View]), 0, "{label}: views are managed");
    assert_eq!(
        found.schema.views.len() as i64,
        views,
        "{label}: views and materialized views in the model"
    );
    assert_eq!(
        found
            .schema
            .views
            .values()
            .filter(|v| v.is_materialized())
            .count() as i64,
        matviews,
        "{label}: materialized views in the model"
    );
    assert_eq!(
        n(&[UnmanagedKind::Trigger]) + found.schema.triggers.len() as i64,
        triggers,
        "{label}: triggers, managed or reported"
    );
    assert_eq!(
        n(&[UnmanagedKind::Function, UnmanagedKind::Procedure]),
        0,
        "{label}: functions and procedures are managed"
    );
    assert_eq!(
        found.schema.routines.len() as i64,
        routines,
        "{label}: functions and procedures in the model"
    );
    assert_eq!(
        n(&[UnmanagedKind::Aggregate]),
        aggregates,
        "{label}: aggregates"
    );
    assert_eq!(
        found.schema.domains.len() as i64,
        domains,
        "{label}: domains in the model"
    );
    assert_eq!(
        n(&[UnmanagedKind::Policy]) + found.schema.policies.len() as i64,
        policies,
        "{label}: policies, managed or reported"
    );
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

pub async fn ensure_fixture_role(db: &TestDb) {
    // Roles are cluster-wide; tests run in parallel, so tolerate the race.
    db.exec(
        "DO $$ BEGIN CREATE ROLE schemainspect_test_role;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .await;
}

/// The dump of what `found` read: it holds each of `wants`, reads back,
/// and plans to nothing against the database it was read from.
pub fn dump_holding(found: &Introspection, wants: &[&str]) -> String {
    let yaml = spec::to_yaml(&found.schema, WriteOptions::default());
    for want in wants {
        assert!(yaml.contains(want), "{want}\nnot in:\n{yaml}");
    }
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("the dump reads back");
    let p = bellows::plan::plan(&found.schema, &back, &found.plan_options()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
    yaml
}

/// Applies `target` to the database, every phase and every hazard
/// allowed, and reads it again: it plans to nothing against `target`.
pub async fn apply_all_and_read(db: &TestDb, target: &Schema) -> Introspection {
    let opts = bellows::apply::ApplyOptions {
        allow_hazards: bellows::plan::HazardKind::ALL.to_vec(),
        ..Default::default()
    };
    bellows::apply::apply(
        &db.url,
        Some(target),
        bellows::apply::PhaseSel::All,
        &opts,
        &bellows::apply::Silent,
    )
    .await
    .expect("applies");
    let after = read(db, &[]).await;
    let p = bellows::plan::plan(&after.schema, target, &after.plan_options()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
    after
}
