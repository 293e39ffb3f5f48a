//! Backfills paced by the database's health, against real servers: a
//! streaming replica this test starts (a private primary and a replica of
//! it, whose replay it pauses) makes the backfill wait until the replica
//! has caught up; a throttle query pauses it, and a pause longer than
//! `max_pause` stops apply with its cause and resumes from the
//! checkpoint; batches grow to the batch time; and two fills of one table
//! write each row once.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bellows::apply::{ApplyError, ApplyOptions, Event, Observer, PauseCause, PhaseSel, apply};
use bellows::plan::Phase;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use support::TestDb;
use support::servers::Cluster;
use tokio::sync::Notify;

/// What a backfill reported, in order, and a bell rung at each pause.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    paused: Notify,
}

impl Observer for Log {
    fn on(&self, e: Event<'_>) {
        let line = match e {
            Event::BackfillProgress {
                finished: false, ..
            } => "batch".to_string(),
            Event::BackfillPaused { cause, .. } => {
                self.paused.notify_one();
                match cause {
                    PauseCause::ReplicaLag { replica, lag, .. } => {
                        format!("paused: lag of {replica} {}µs", lag.as_micros())
                    }
                    other => format!("paused: {other}"),
                }
            }
            Event::BackfillResumed { .. } => "resumed".to_string(),
            _ => return,
        };
        self.lines.lock().expect("lock").push(line);
    }
}

impl Log {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lock").clone()
    }
}

const T_V1: &str = "tables:\n  t:\n    columns:\n      id: { type: bigint, identity: always }\n      a: { type: text, nullable: false }\n    primary_key: [id]\n";

/// `T_V1` with a new NOT NULL column filled from `a`, and `more` tables.
fn t_v2(more: &str) -> String {
    format!(
        "tables:\n  t:\n    columns:\n      id: {{ type: bigint, identity: always }}\n      a: {{ type: text, nullable: false }}\n      len: {{ type: integer, nullable: false, backfill: length(a) }}\n    primary_key: [id]\n{more}"
    )
}

async fn seed_t(conn: &mut PgConnection, rows: u32, more: &str) {
    let v1 =
        bellows::spec::read_str(std::path::Path::new("v1"), &format!("{T_V1}{more}")).expect("v1");
    conn.execute(AssertSqlSafe(
        bellows::sql::postgres::create_all(&v1).join(";\n"),
    ))
    .await
    .expect("create");
    conn.execute(AssertSqlSafe(format!(
        "INSERT INTO t (a) SELECT 'row ' || g FROM generate_series(1, {rows}) g"
    )))
    .await
    .expect("rows");
}

async fn expand(url: &str, yaml: &str) {
    let target = bellows::spec::read_str(std::path::Path::new("v2"), yaml).expect("v2");
    apply(
        url,
        Some(&target),
        PhaseSel::One(Phase::Expand),
        &ApplyOptions::default(),
        &bellows::apply::Silent,
    )
    .await
    .expect("expand");
}

async fn unfilled(url: &str) -> i64 {
    let mut c = PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar("SELECT count(*) FROM t WHERE len IS DISTINCT FROM length(a)")
        .fetch_one(&mut c)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_waits_while_a_replica_lags_and_finishes_after() {
    let primary = Cluster::start(
        "wal_level = replica\nmax_wal_senders = 4",
        "local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n",
        &[],
    );
    // It reports its position every second, so a caught-up replica is
    // seen as such within one.
    let replica = primary.replica("cluster_name = 'standby1'\nwal_receiver_status_interval = 1s");
    let url = primary.url("postgres");
    let mut conn = PgConnection::connect(&url).await.expect("primary");
    seed_t(&mut conn, 20_000, "").await;
    let caught_up = "SELECT coalesce(bool_and(replay_lsn >= pg_current_wal_flush_lsn()), false) FROM pg_stat_replication";
    let t0 = Instant::now();
    while !sqlx::query_scalar::<_, bool>(caught_up)
        .fetch_one(&mut conn)
        .await
        .expect("lag")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the replica did not catch up with the seed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    expand(&url, &t_v2("")).await;
    // From here on the replica receives the backfill's changes but does
    // not replay them: its lag grows with every batch.
    let mut standby = PgConnection::connect(&replica.url("postgres"))
        .await
        .expect("replica");
    standby
        .execute("SELECT pg_wal_replay_pause()")
        .await
        .expect("pause replay");
    let log = Log::default();
    let opts = ApplyOptions {
        batch_size: Some(500),
        pause: Some(Duration::from_millis(50)),
        max_replica_lag: Some(Duration::from_secs(1)),
        ..ApplyOptions::default()
    };
    let migrate = apply(&url, None, PhaseSel::One(Phase::Migrate), &opts, &log);
    let resume_replay = async {
        // (Were there never a pause, the assertions below say so.)
        let _ = tokio::time::timeout(Duration::from_secs(60), log.paused.notified()).await;
        // Held back a while longer, then let go.
        tokio::time::sleep(Duration::from_millis(500)).await;
        standby
            .execute("SELECT pg_wal_replay_resume()")
            .await
            .expect("resume replay");
    };
    let (done, ()) = tokio::join!(migrate, resume_replay);
    done.expect("migrate finishes once the replica caught up");
    let lines = log.lines();
    let paused = lines
        .iter()
        .position(|l| l.starts_with("paused"))
        .unwrap_or_else(|| panic!("the backfill never waited: {lines:?}"));
    let lag: u128 = lines[paused]
        .strip_prefix("paused: lag of standby1 ")
        .and_then(|l| l.strip_suffix("µs"))
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("not a pause for standby1's lag: {}", lines[paused]));
    assert!(lag > 1_000_000, "paused at a lag under the limit: {lag}µs");
    let resumed = lines
        .iter()
        .position(|l| l == "resumed")
        .unwrap_or_else(|| panic!("never resumed: {lines:?}"));
    assert!(
        paused > 0 && resumed > paused && lines[resumed + 1..].contains(&"batch".to_string()),
        "batches ran before the pause and after it, none during it: {lines:?}"
    );
    assert_eq!(unfilled(&url).await, 0, "every row is filled");
}

/// A table whose one row says whether the application is busy: the
/// throttle query reads it. Declared in the target too (or the plan
/// would drop it).
const PACING: &str = "  pacing:\n    columns:\n      busy: { type: boolean, nullable: false }\n";

async fn throttled_db(rows: u32) -> TestDb {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.expect("conn");
    seed_t(&mut conn, rows, PACING).await;
    db.exec("INSERT INTO pacing VALUES (true)").await;
    expand(&db.url, &t_v2(PACING)).await;
    db
}

fn throttled(max_pause: Duration) -> ApplyOptions {
    ApplyOptions {
        throttle_query: Some("SELECT busy FROM pacing".into()),
        max_pause,
        ..ApplyOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_waits_while_the_throttle_query_says_so() {
    let db = throttled_db(5000).await;
    let log = Log::default();
    let opts = throttled(Duration::from_secs(60));
    let migrate = apply(&db.url, None, PhaseSel::One(Phase::Migrate), &opts, &log);
    let calm_down = async {
        let _ = tokio::time::timeout(Duration::from_secs(60), log.paused.notified()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        db.exec("UPDATE pacing SET busy = false").await;
    };
    let (done, ()) = tokio::join!(migrate, calm_down);
    done.expect("migrate");
    let lines = log.lines();
    assert_eq!(
        lines[..2],
        [
            "paused: --throttle-query returned true: SELECT busy FROM pacing".to_string(),
            "resumed".to_string()
        ],
        "it waited before its first batch: {lines:?}"
    );
    assert!(lines.len() > 2, "batches after: {lines:?}");
    assert_eq!(unfilled(&db.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_longer_than_max_pause_stops_apply_and_the_same_command_goes_on() {
    let db = throttled_db(3000).await;
    let t0 = Instant::now();
    let e = apply(
        &db.url,
        None,
        PhaseSel::One(Phase::Migrate),
        &throttled(Duration::from_millis(800)),
        &bellows::apply::Silent,
    )
    .await
    .expect_err("stops");
    assert!(
        matches!(e, ApplyError::PausedTooLong { .. }),
        "not a pause that lasted too long: {e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("--throttle-query returned true") && text.contains("--max-pause"),
        "{text}"
    );
    assert!(t0.elapsed() < Duration::from_secs(30));
    let status: String =
        sqlx::query_scalar("SELECT status FROM bellows.steps WHERE error LIKE '%max-pause%'")
            .fetch_one(&db.pool)
            .await
            .expect("the step says why it stopped");
    assert_eq!(status, "interrupted");
    // A throttle query that cannot say yes or no stops it too, saying so.
    let broken = ApplyOptions {
        throttle_query: Some("SELECT 1".into()),
        ..ApplyOptions::default()
    };
    let e = apply(
        &db.url,
        None,
        PhaseSel::One(Phase::Migrate),
        &broken,
        &bellows::apply::Silent,
    )
    .await
    .expect_err("not a boolean");
    assert!(
        e.to_string().contains("not a boolean") && e.to_string().contains("SELECT 1"),
        "{e}"
    );
    db.exec("UPDATE pacing SET busy = false").await;
    apply(
        &db.url,
        None,
        PhaseSel::One(Phase::Migrate),
        &throttled(Duration::from_secs(60)),
        &bellows::apply::Silent,
    )
    .await
    .expect("goes on once the application is calm");
    assert_eq!(unfilled(&db.url).await, 0);
}

#[tokio::test]
async fn batches_grow_to_the_batch_time() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.expect("conn");
    seed_t(&mut conn, 40_000, "").await;
    expand(&db.url, &t_v2("")).await;
    let log = Log::default();
    let opts = ApplyOptions {
        max_replica_lag: None,
        ..ApplyOptions::default()
    };
    apply(&db.url, None, PhaseSel::One(Phase::Migrate), &opts, &log)
        .await
        .expect("migrate");
    let batches = log.lines().len();
    // The first takes 1,000 rows and each next one up to twice as many
    // while under the batch time: 40 batches if they never grew.
    assert!(
        (2..=12).contains(&batches),
        "{batches} batches for 40,000 rows"
    );
    assert_eq!(unfilled(&db.url).await, 0);
}

#[tokio::test]
async fn two_fills_of_one_table_write_each_row_once() {
    let db = TestDb::new().await;
    // A trigger counts every row an UPDATE writes: two passes would
    // write each row twice. The target keeps it, so the plan leaves it.
    const COUNT: &str = "BEGIN INSERT INTO writes VALUES (NEW.id); RETURN NEW; END";
    let counted = format!(
        "    triggers:\n      count_writes: {{ timing: after, events: [update], function: count_writes }}\n  writes:\n    columns:\n      id: {{ type: bigint }}\nfunctions:\n  count_writes():\n    returns: trigger\n    language: plpgsql\n    body: \"{COUNT}\"\n"
    );
    let from = "tables:\n  u:\n    columns:\n      id: { type: bigint, identity: always }\n      a: { type: text }\n      n: { type: integer }\n    primary_key: [id]\n  writes:\n    columns:\n      id: { type: bigint }\n";
    let to = format!(
        "tables:\n  u:\n    columns:\n      id: {{ type: bigint, identity: always }}\n      b: {{ type: text, renamed_from: a }}\n      n: {{ type: bigint }}\n    primary_key: [id]\n{counted}"
    );
    let from = bellows::spec::read_str(std::path::Path::new("from"), from).expect("from");
    db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
        .await;
    db.exec(&format!(
        "INSERT INTO u (a, n) SELECT 'row ' || g, g FROM generate_series(1, 3000) g;
         CREATE FUNCTION count_writes() RETURNS trigger LANGUAGE plpgsql AS $${COUNT}$$;
         CREATE TRIGGER count_writes AFTER UPDATE ON u FOR EACH ROW EXECUTE FUNCTION count_writes();"
    ))
    .await;
    expand(&db.url, &to).await;
    let log = Log::default();
    apply(
        &db.url,
        None,
        PhaseSel::One(Phase::Migrate),
        &ApplyOptions::default(),
        &log,
    )
    .await
    .expect("migrate");
    let (writes, rows, wrong): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM writes), (SELECT count(DISTINCT id) FROM writes), \
         (SELECT count(*) FROM u WHERE b IS DISTINCT FROM a OR n_bellows_new IS DISTINCT FROM n)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(
        (writes, rows, wrong),
        (3000, 3000, 0),
        "one pass wrote each row once and filled both columns"
    );
}
