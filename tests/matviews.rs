//! Materialized views against a real PostgreSQL: a dump plans to
//! nothing; a redefined one is built beside the old one while the old app
//! reads the old rows, and swapped in at contract with the rows as of
//! then, its indexes, comment and privileges, and the view over it; abort
//! after expand leaves nothing of what was built beside.

mod support;

use bellows::apply::{ApplyOptions, PhaseSel, Silent, abort, apply};
use bellows::plan::{HazardKind, Phase};
use bellows::spec;
use support::{TestDb, outline, plan_live};

const SETUP: &str = "
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, amount integer NOT NULL);
    INSERT INTO orders SELECT g, g % 5, g FROM generate_series(1, 100) g;
    CREATE MATERIALIZED VIEW totals AS
      SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id;
    CREATE UNIQUE INDEX totals_customer ON totals (customer_id);
    COMMENT ON MATERIALIZED VIEW totals IS 'per customer';
    CREATE VIEW big AS SELECT customer_id FROM totals WHERE total > 1000;
    REVOKE ALL ON totals FROM PUBLIC;
    GRANT SELECT ON totals TO schemainspect_test_role;";

/// SETUP as a target file, written the way a person would.
const TARGET: &str = "
tables:
  orders:
    columns:
      id: { type: bigint }
      customer_id: { type: bigint, nullable: false }
      amount: { type: integer, nullable: false }
    primary_key: [id]
materialized_views:
  totals:
    query: SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id
    indexes:
      totals_customer: { columns: [customer_id], unique: true }
    comment: per customer
views:
  big: SELECT customer_id FROM totals WHERE total > 1000
";

/// TARGET with a count of orders in the view, and an index on it.
fn redefined() -> String {
    TARGET
        .replace(
            "sum(amount) AS total FROM",
            "sum(amount) AS total, count(*) AS orders FROM",
        )
        .replace(
            "      totals_customer: { columns: [customer_id], unique: true }\n",
            "      totals_customer: { columns: [customer_id], unique: true }\n      totals_orders: { columns: [orders] }\n",
        )
}

async fn setup() -> TestDb {
    let db = TestDb::new().await;
    support::dump::ensure_fixture_role(&db).await;
    db.exec(SETUP).await;
    db
}

/// SETUP with the expand of the change to [`redefined`] applied.
async fn expanded() -> TestDb {
    let db = setup().await;
    let to =
        spec::read_str(std::path::Path::new("target.yaml"), &redefined()).expect("target reads");
    apply(
        &db.url,
        Some(&to),
        PhaseSel::One(Phase::Expand),
        &opts(),
        &Silent,
    )
    .await
    .expect("expand");
    db
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        ..ApplyOptions::default()
    }
}

/// Relations whose name says bellows built them beside another.
async fn leftovers(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relname LIKE '%bellows_new' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("query")
}

#[tokio::test]
async fn a_dump_and_a_target_written_by_hand_plan_to_nothing() {
    let db = setup().await;
    let (p, notes) = plan_live(&db, TARGET).await;
    assert!(p.is_empty(), "{:?} {notes:?}", outline(&p));
    let live = bellows::introspect::introspect_url(&db.url, &Default::default())
        .await
        .expect("introspect");
    let dumped = spec::to_yaml(&live.schema, Default::default());
    let (p, _) = plan_live(&db, &dumped).await;
    assert!(p.is_empty(), "{:?}\n{dumped}", outline(&p));
}

#[tokio::test]
async fn a_redefined_materialized_view_is_swapped_in_at_contract_with_rows_as_of_then() {
    let db = expanded().await;
    // The old app reads the old view; the new one waits beside it.
    let total: i64 = sqlx::query_scalar("SELECT total FROM totals WHERE customer_id = 1")
        .fetch_one(&db.pool)
        .await
        .expect("the old view answers");
    assert_eq!(total, (1..=100).filter(|g| g % 5 == 1).sum::<i64>());
    assert_eq!(
        leftovers(&db).await,
        [
            "totals_bellows_new",
            "totals_customer_bellows_new",
            "totals_orders_bellows_new"
        ]
    );
    // Rows written after expand are in what contract swaps in.
    db.exec("INSERT INTO orders VALUES (1000, 99, 7)").await;
    for phase in [Phase::Migrate, Phase::Contract] {
        apply(&db.url, None, PhaseSel::One(phase), &opts(), &Silent)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", phase.name()));
    }
    let (total, orders): (i64, i64) =
        sqlx::query_as("SELECT total, orders FROM totals WHERE customer_id = 99")
            .fetch_one(&db.pool)
            .await
            .expect("the new view answers");
    assert_eq!((total, orders), (7, 1));
    assert!(leftovers(&db).await.is_empty());
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'totals' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("query");
    assert_eq!(indexes, ["totals_customer", "totals_orders"]);
    let (comment, role, public, big): (Option<String>, bool, bool, i64) = sqlx::query_as(
        "SELECT obj_description('totals'::regclass, 'pg_class'),
                has_table_privilege('schemainspect_test_role', 'totals', 'SELECT'),
                has_table_privilege('public', 'totals', 'SELECT'),
                (SELECT count(*) FROM big)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("query");
    assert_eq!(comment.as_deref(), Some("per customer"));
    assert!(role && !public, "the grants come back as they were");
    assert_eq!(big, 3, "the view over it is made again");
    let (p, _) = plan_live(&db, &redefined()).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
}

#[tokio::test]
async fn abort_after_expand_drops_what_was_built_beside() {
    let db = expanded().await;
    assert!(!leftovers(&db).await.is_empty());
    abort(&db.url, &opts(), &Silent).await.expect("abort");
    assert!(leftovers(&db).await.is_empty());
    let (p, _) = plan_live(&db, TARGET).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
}
