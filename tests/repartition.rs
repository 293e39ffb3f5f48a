//! A table partitioned (and one made plain again) while writers insert,
//! update (keys and partition keys too) and delete rows: after migrate
//! the table built beside holds exactly the live table's rows, and after
//! contract the swapped-in table holds them under the old name.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::plan::{HazardKind, Phase};
use support::TestDb;

const ROWS: i64 = 20_000;
const WRITERS: usize = 4;

const FROM: &str = "tables:
  m:
    columns:
      id: { type: bigint }
      at: { type: date, nullable: false }
      v: { type: integer, nullable: false, default: 0 }
    primary_key: [id]
  e:
    columns:
      id: { type: bigint }
      at: { type: date, nullable: false }
      v: { type: integer, nullable: false, default: 0 }
    primary_key: [id, at]
    partition_by: range (at)
  e_early:
    partition_of: e
    bound: FROM (MINVALUE) TO ('2006-01-01')
  e_late:
    partition_of: e
    bound: FROM ('2006-01-01') TO (MAXVALUE)
";

const TO: &str = "tables:
  m:
    columns:
      id: { type: bigint }
      at: { type: date, nullable: false }
      v: { type: integer, nullable: false, default: 0 }
    primary_key: [id, at]
    partition_by: range (at)
  m_early:
    partition_of: m
    bound: FROM (MINVALUE) TO ('2006-01-01')
  m_late:
    partition_of: m
    bound: FROM ('2006-01-01') TO ('2007-01-01')
  m_rest:
    partition_of: m
    bound: DEFAULT
  e:
    columns:
      id: { type: bigint }
      at: { type: date, nullable: false }
      v: { type: integer, nullable: false, default: 0 }
    primary_key: [id, at]
";

/// A small xorshift generator: the writers need spread, not quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One writer's statement on table `t`: an insert of a new key, an update
/// of a value, of the partition key (the row moves to another partition)
/// or of the key itself, or a delete.
fn statement(rng: &mut Rng, t: &str, next_id: &AtomicU64) -> String {
    let id = 1 + rng.below(ROWS as u64);
    let day = rng.below(1500);
    match rng.below(6) {
        0 => format!(
            "INSERT INTO {t} (id, at, v) VALUES ({}, date '2004-01-01' + {day}, 1)",
            next_id.fetch_add(1, Ordering::Relaxed)
        ),
        1 | 2 => format!("UPDATE {t} SET v = v + 1 WHERE id = {id}"),
        3 => format!("UPDATE {t} SET at = date '2004-01-01' + {day} WHERE id = {id}"),
        4 => format!(
            "UPDATE {t} SET id = {} WHERE id = {id}",
            next_id.fetch_add(1, Ordering::Relaxed)
        ),
        _ => format!("DELETE FROM {t} WHERE id = {id}"),
    }
}

/// Applies `yaml` to `db`, phase by phase (`PhaseSel::All` for every one),
/// with every hazard allowed and batches of `batch` rows.
async fn apply_to(db: &TestDb, yaml: &str, phase: PhaseSel, batch: u32) {
    let target =
        bellows::spec::read_str(std::path::Path::new("t.yaml"), yaml).expect("the test's YAML");
    let opts = ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        batch_size: Some(batch),
        ..ApplyOptions::default()
    };
    apply(&db.url, Some(&target), phase, &opts, &Silent)
        .await
        .unwrap_or_else(|e| panic!("{phase:?}: {e}"));
}

async fn rows_differ(db: &TestDb, a: &str, b: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM ((SELECT id, at, v FROM {a} EXCEPT ALL SELECT id, at, v FROM {b}) \
         UNION ALL (SELECT id, at, v FROM {b} EXCEPT ALL SELECT id, at, v FROM {a})) d"
    )))
    .fetch_one(&db.pool)
    .await
    .expect("compare")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_written_while_a_table_is_repartitioned_arrive_exactly_once() {
    let db = TestDb::new().await;
    apply_to(&db, FROM, PhaseSel::All, 500).await;
    for t in ["m", "e"] {
        db.exec(&format!(
            "INSERT INTO {t} (id, at, v) SELECT i, date '2004-01-01' + (i % 1500)::int, 0 FROM generate_series(1, {ROWS}) i"
        ))
        .await;
    }
    apply_to(&db, TO, PhaseSel::One(Phase::Expand), 500).await;

    let stop = Arc::new(AtomicBool::new(false));
    let next_id = Arc::new(AtomicU64::new(10 * ROWS as u64));
    let written = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (pool, stop, next_id, written) = (
            db.pool.clone(),
            stop.clone(),
            next_id.clone(),
            written.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1));
            while !stop.load(Ordering::Relaxed) {
                let t = if rng.below(2) == 0 { "m" } else { "e" };
                let sql = statement(&mut rng, t, &next_id);
                // A key taken by another writer's move is that writer's
                // luck, not the migration's: only other errors count.
                match sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&pool)
                    .await
                {
                    Ok(_) => {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.to_string().contains("duplicate key") => {}
                    Err(e) => panic!("a writer failed: {sql}: {e}"),
                }
            }
        }));
    }
    apply_to(&db, TO, PhaseSel::One(Phase::Migrate), 500).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("a writer");
    }
    let writes = written.load(Ordering::Relaxed);
    assert!(
        writes > 100,
        "the writers wrote while migrate ran: {writes}"
    );
    eprintln!("{writes} writes while migrate copied the rows");
    for t in ["m", "e"] {
        let diff = rows_differ(&db, t, &format!("{t}_bellows_new")).await;
        assert_eq!(
            diff, 0,
            "{t}: rows differ between the live table and the copy after {writes} writes"
        );
    }
    let before: Vec<i64> = row_counts(&db).await;
    apply_to(&db, TO, PhaseSel::One(Phase::Contract), 500).await;
    assert_eq!(row_counts(&db).await, before, "rows after the swap");
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT relname || ':' || relkind::text FROM pg_class WHERE relname IN ('m', 'e') ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("kinds");
    assert_eq!(kinds, ["e:r", "m:p"]);
    let (again, _) = support::plan_live(&db, TO).await;
    assert!(
        again.is_empty(),
        "a plan after contract: {:?}",
        support::outline(&again)
    );
}

/// The number of rows of each table.
async fn row_counts(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for t in ["m", "e"] {
        out.push(
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                .fetch_one(&db.pool)
                .await
                .expect("count"),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_truncated_while_it_is_repartitioned_stays_empty() {
    let db = TestDb::new().await;
    apply_to(&db, FROM, PhaseSel::All, 500).await;
    db.exec("INSERT INTO m (id, at) SELECT i, date '2005-06-01' FROM generate_series(1, 100) i")
        .await;
    apply_to(&db, TO, PhaseSel::One(Phase::Expand), 500).await;
    // Rows the sync trigger copied, then a TRUNCATE, then one more row.
    db.exec("UPDATE m SET v = 1; TRUNCATE m; INSERT INTO m (id, at) VALUES (7, '2006-06-06')")
        .await;
    for phase in [Phase::Migrate, Phase::Contract] {
        apply_to(&db, TO, PhaseSel::One(phase), 500).await;
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM m")
        .fetch_all(&db.pool)
        .await
        .expect("rows");
    assert_eq!(ids, [7], "only the row written after the TRUNCATE");
}
