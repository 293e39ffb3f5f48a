//! Backfills of tables without a primary key: by a unique key over NOT
//! NULL columns when there is one, else by ranges of pages. Under a
//! writing application, killed in the middle, the table rewritten by
//! VACUUM FULL, and resumed, every row is filled exactly once.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bellows::plan::{PlanOptions, plan};
use bellows::spec;
use support::TestDb;

const V1: &str = "tables:
  events:
    columns:
      n: { type: bigint, nullable: false }
      payload: { type: text }
  writes:
    columns:
      n: { type: bigint }
# The function of the trigger that counts writes (made by the test).
functions:
  count_writes():
    returns: trigger
    language: plpgsql
    body: BEGIN IF to_jsonb(NEW)->'kind' IS DISTINCT FROM to_jsonb(OLD)->'kind' THEN INSERT INTO writes (n) VALUES (NEW.n); END IF; RETURN NEW; END
";

const V2: &str = "tables:
  events:
    columns:
      n: { type: bigint, nullable: false }
      payload: { type: text }
      kind: { type: text, nullable: false, backfill: \"'k' || n\" }
  writes:
    columns:
      n: { type: bigint }
functions:
  count_writes():
    returns: trigger
    language: plpgsql
    body: BEGIN IF to_jsonb(NEW)->'kind' IS DISTINCT FROM to_jsonb(OLD)->'kind' THEN INSERT INTO writes (n) VALUES (NEW.n); END IF; RETURN NEW; END
";

fn apply(db: &TestDb, target: &std::path::Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(["apply", "--database-url", &db.url, "--target"])
        .arg(target)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bellows starts")
}

fn succeeds(child: std::process::Child, what: &str) {
    let out = child.wait_with_output().expect("bellows runs");
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_a_key_is_backfilled_by_pages_under_writes_and_resumes() {
    const ROWS: i64 = 60_000;
    let db = TestDb::new().await;
    let v1 = spec::read_str(std::path::Path::new("v1"), V1).expect("v1");
    db.exec(&bellows::sql::postgres::create_all(&v1).join(";\n"))
        .await;
    db.exec(&format!(
        "INSERT INTO events (n, payload) SELECT g, 'p' FROM generate_series(1, {ROWS}) g;
         ANALYZE events;
         -- Every change of kind, by row: a row written twice would show
         -- (the trigger's function is in V1).
         CREATE TRIGGER count_writes AFTER UPDATE ON events FOR EACH ROW EXECUTE FUNCTION count_writes();"
    ))
    .await;
    let v2 = spec::read_str(std::path::Path::new("v2"), V2).expect("v2");
    let p = plan(&v1, &v2, &PlanOptions::default()).expect("plans");
    let fill = p
        .steps
        .iter()
        .find(|s| s.backfill.is_some())
        .expect("a backfill");
    assert!(
        fill.description.contains("by ranges of pages"),
        "{}",
        fill.description
    );
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("v2.yaml");
    std::fs::write(&target, V2).expect("write");
    succeeds(apply(&db, &target, &["--phase", "expand"]), "expand");

    // The application writes all along: updates move rows to other pages
    // (the table's pages are full), inserts add rows at the end.
    let app = db.pool.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let writer = tokio::spawn(async move {
        let mut i: i64 = 0;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            i += 1;
            let sql = format!(
                "UPDATE events SET payload = payload || 'x' WHERE n = {}; INSERT INTO events (n, payload) VALUES ({}, 'new')",
                (i * 7919) % ROWS + 1,
                ROWS + i
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&app)
                .await
                .expect("the application's writes go on");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        i
    });

    let mut child = apply(
        &db,
        &target,
        &[
            "--phase",
            "migrate",
            "--batch-size",
            "1000",
            "--pause",
            "5ms",
        ],
    );
    let t0 = Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar("SELECT coalesce(max(rows_done), 0) FROM bellows.steps")
            .fetch_one(&db.pool)
            .await
            .expect("ledger");
        if done >= ROWS / 3 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the backfill did not progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let checkpoint: Vec<String> = sqlx::query_scalar(
        "SELECT checkpoint FROM bellows.steps WHERE checkpoint IS NOT NULL ORDER BY position LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a checkpoint");
    assert!(
        checkpoint.len() == 2 && checkpoint[0].parse::<u64>().is_ok_and(|p| p > 0),
        "the checkpoint is a page and the table's file: {checkpoint:?}"
    );
    // Someone rewrites the table meanwhile: its rows move to other pages
    // (filled ones, whose old versions are dead, leave room before the
    // checkpoint). The resume must notice and start over, not skip them.
    db.exec("VACUUM FULL events").await;
    succeeds(
        apply(
            &db,
            &target,
            &["--phase", "migrate", "--batch-size", "3000"],
        ),
        "resume",
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.await.expect("writer");
    assert!(writes > 10, "the application wrote meanwhile ({writes})");

    let (rows, wrong): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE kind IS DISTINCT FROM 'k' || n) FROM events",
    )
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert_eq!(wrong, 0, "{wrong} of {rows} rows not filled right");
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT n FROM writes GROUP BY n HAVING count(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .expect("writes");
    assert_eq!(twice, 0, "rows written more than once");
    succeeds(apply(&db, &target, &["--phase", "contract"]), "contract");
}
