//! Names as users have them, through every phase on a real PostgreSQL:
//! parts with dots and quotes (never split on `.` after being printed),
//! and the longest names PostgreSQL keeps, for which every helper name
//! bellows derives (shadow columns, sync triggers and their functions,
//! NOT NULL checks, replacement indexes) must stay unique and within 63
//! bytes.

mod support;

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::introspect::{Options, introspect_url};
use bellows::plan::{HazardKind, Phase, PlanOptions, plan};
use bellows::spec;
use support::TestDb;

fn everything_allowed() -> ApplyOptions {
    ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        batch_size: Some(2),
        ..ApplyOptions::default()
    }
}

async fn replans_empty(db: &TestDb, target: &bellows::model::Schema, label: &str) {
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspect");
    let again = plan(&live.schema, target, &PlanOptions::default()).expect("re-plan");
    assert!(
        again.is_empty(),
        "{label}: a new plan is not empty: {:?}",
        again
            .steps
            .iter()
            .map(|s| &s.description)
            .collect::<Vec<_>>()
    );
}

// Table names quote a part with a dot; column, key and index names are
// taken literally.
const DOTTED_FROM: &str = r#"
tables:
  '"odd.schema"."a.b"':
    columns:
      i.d: { type: bigint }
      c.d: { type: integer }
      name: { type: text }
    primary_key: { name: a.b.pk, columns: [i.d] }
"#;

const DOTTED_TO: &str = r#"
tables:
  '"odd.schema"."a.b"':
    columns:
      i.d: { type: bigint }
      c.d: { type: bigint }
      name: { type: text, nullable: false, backfill: "coalesce(name, 'none')" }
      e.f: { type: text, nullable: false, backfill: "'x' || \"i.d\"::text" }
    primary_key: { name: a.b.pk, columns: [i.d] }
    indexes:
      ix.c.d: { columns: [c.d] }
      ix.e.f: { columns: [e.f], unique: true }
"#;

/// A schema, table, columns, key and indexes whose names contain dots:
/// retyped, backfilled, made NOT NULL, indexed, through all three phases,
/// and, separately, expanded and aborted.
#[tokio::test]
async fn names_with_dots_go_through_every_phase_and_abort() {
    let yaml = |t: &str| {
        spec::read_str(std::path::Path::new("dotted.yaml"), t).unwrap_or_else(|e| panic!("{e}"))
    };
    let (from, to) = (yaml(DOTTED_FROM).without_hints(), yaml(DOTTED_TO));
    for abort in [false, true] {
        let db = TestDb::new().await;
        db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
            .await;
        db.exec(r#"INSERT INTO "odd.schema"."a.b" ("i.d", "c.d", name) SELECT g, g, CASE WHEN g % 2 = 0 THEN 'n' || g END FROM generate_series(1, 50) g"#)
            .await;
        let opts = everything_allowed();
        if abort {
            apply(
                &db.url,
                Some(&to),
                PhaseSel::One(Phase::Expand),
                &opts,
                &Silent,
            )
            .await
            .unwrap_or_else(|e| panic!("expand: {e}"));
            apply(&db.url, None, PhaseSel::One(Phase::Migrate), &opts, &Silent)
                .await
                .unwrap_or_else(|e| panic!("migrate: {e}"));
            bellows::apply::abort(&db.url, &opts, &Silent)
                .await
                .unwrap_or_else(|e| panic!("abort: {e}"));
            replans_empty(&db, &from, "after abort").await;
        } else {
            apply(&db.url, Some(&to), PhaseSel::All, &opts, &Silent)
                .await
                .unwrap_or_else(|e| panic!("apply: {e}"));
            replans_empty(&db, &to, "after contract").await;
            let filled: i64 = sqlx::query_scalar(
                r#"SELECT count(*) FROM "odd.schema"."a.b" WHERE "e.f" = 'x' || "i.d"::text AND name IS NOT NULL"#,
            )
            .fetch_one(&db.pool)
            .await
            .expect("count");
            assert_eq!(filled, 50, "every row backfilled");
        }
    }
}

/// Two 62-byte column names that share their first 50 bytes, both
/// retyped and made NOT NULL, on a 63-byte table: every helper bellows
/// derives from them fits in 63 bytes and none collides (before, both got
/// the same shadow column and expand failed halfway with 42701).
#[tokio::test]
async fn long_names_that_share_a_prefix_get_distinct_helpers() {
    let table = "t".repeat(63);
    let a = format!("{}_first_col", "c".repeat(52));
    let b = format!("{}_other_col", "c".repeat(52));
    assert_eq!((a.len(), b.len()), (62, 62));
    // A 63-byte index on the first column: rebuilt on its shadow.
    let index = format!("{}_idx", &a[..59]);
    let from = format!(
        "tables:\n  {table}:\n    columns:\n      id: {{ type: bigint }}\n      {a}: {{ type: integer }}\n      {b}: {{ type: integer }}\n    primary_key: [id]\n    indexes:\n      {index}: {{ columns: [{a}] }}\n"
    );
    let to = from
        .replace(
            &format!("{a}: {{ type: integer }}"),
            &format!("{a}: {{ type: bigint, nullable: false, backfill: \"coalesce({a}, 0)\" }}"),
        )
        .replace(
            &format!("{b}: {{ type: integer }}"),
            &format!("{b}: {{ type: bigint, nullable: false, backfill: \"coalesce({b}, 0)\" }}"),
        );
    let from = spec::read_str(std::path::Path::new("from.yaml"), &from)
        .unwrap_or_else(|e| panic!("{e}"))
        .without_hints();
    let to = spec::read_str(std::path::Path::new("to.yaml"), &to).unwrap_or_else(|e| panic!("{e}"));
    let db = TestDb::new().await;
    db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
        .await;
    db.exec(&format!(
        "INSERT INTO {table} (id, {a}, {b}) SELECT g, g, g FROM generate_series(1, 20) g"
    ))
    .await;
    apply(
        &db.url,
        Some(&to),
        PhaseSel::All,
        &everything_allowed(),
        &Silent,
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    replans_empty(&db, &to, "long names").await;
}
