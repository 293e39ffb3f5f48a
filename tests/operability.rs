//! Running apply as an operator does: Ctrl-C stops it cleanly and says how
//! to resume; `status` tells a running apply from a dead or failed one; a
//! lock wait names the session to wait for; an index build left running
//! by a killed apply is found and waited for, not silently; a lock_timeout
//! of 0 is refused; a --target that is not the stored plan's is refused;
//! a dry run of an empty phase says so; and an apply dropped by its caller
//! gives the apply lock back.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bellows::apply::{ApplyOptions, Blocker, Event, Observer, PhaseSel, Silent, apply};
use bellows::plan::Phase;
use bellows::spec;
use support::TestDb;

const V1: &str = "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      name: { type: text, nullable: false }\n    primary_key: [id]\n";
const V2: &str = "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      name: { type: text, nullable: false }\n      name_length: { type: integer, nullable: false, backfill: \"length(name) + 1\" }\n    primary_key: [id]\n";

async fn users_db(rows: i64) -> TestDb {
    let db = TestDb::new().await;
    let v1 = spec::read_str(std::path::Path::new("v1"), V1).expect("v1");
    db.exec(&bellows::sql::postgres::create_all(&v1).join(";\n"))
        .await;
    db.exec(&format!(
        "INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, {rows}) g"
    ))
    .await;
    db
}

fn bellows(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bellows"));
    c.args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn write_target(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("target.yaml");
    std::fs::write(&path, text).expect("write");
    let p = path.display().to_string();
    (dir, p)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn rows_done(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT coalesce(max(rows_done), 0) FROM bellows.steps")
        .fetch_one(&db.pool)
        .await
        .unwrap_or(0)
}

/// Waits until the backfill has done `rows`, then returns.
async fn wait_for_rows(db: &TestDb, child: &mut Child, rows: i64) {
    let t0 = Instant::now();
    while rows_done(db).await < rows {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the apply ended early: {status}");
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

/// Ctrl-C during a backfill: apply stops after the batch under way,
/// records where, releases the apply lock, exits 130 saying how to resume;
/// status says interrupted (exit 1); the same command resumes and fills
/// every row once. Progress lines never show more rows done than total.
#[tokio::test]
async fn ctrl_c_stops_after_the_batch_and_the_same_command_resumes() {
    let db = users_db(200_000).await;
    let (_dir, target) = write_target(V2);
    let out = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
    ])
    .output()
    .expect("expand");
    assert!(out.status.success(), "{}", text(&out));
    let migrate = [
        "apply",
        "--database-url",
        &db.url,
        "--phase",
        "migrate",
        "--batch-size",
        "2000",
        "--pause",
        "20ms",
    ];
    let mut child = bellows(&migrate).spawn().expect("migrate starts");
    wait_for_rows(&db, &mut child, 20_000).await;
    signal(&child, "-INT");
    let out = child.wait_with_output().expect("migrate ends");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.contains("stopped at your request in `backfill public.users.name_length")
            && said.contains("it goes on from its checkpoint on resume")
            && said.contains("run the same command again to resume"),
        "{said}"
    );
    for line in said
        .lines()
        .filter(|l| l.contains("backfilled ") && l.contains('/'))
    {
        let counts = line.split_whitespace().nth(1).expect("done/total");
        let (done, total) = counts.split_once('/').expect("done/total");
        let (done, total): (u64, u64) = (done.parse().expect("n"), total.parse().expect("n"));
        assert!(done <= total, "{line}");
        assert!(
            line.contains(" rows/s") && !line.contains('.'),
            "whole rates: {line}"
        );
    }
    let locks: i64 = sqlx::query_scalar("SELECT count(*) FROM bellows.apply_lock")
        .fetch_one(&db.pool)
        .await
        .expect("lock table");
    assert_eq!(locks, 0, "the apply lock is released");
    let st = bellows(&["status", "--database-url", &db.url])
        .output()
        .expect("status");
    assert_eq!(st.status.code(), Some(1), "{}", text(&st));
    let shown = text(&st);
    assert!(
        shown.contains("interrupted") && shown.contains("next: bellows apply --phase migrate"),
        "{shown}"
    );
    let partial: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE name_length IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert!(partial > 0 && partial < 200_000, "{partial}");
    let out = bellows(&migrate[..5]).output().expect("resume");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("before a resume"), "{}", text(&out));
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE name_length IS DISTINCT FROM length(name) + 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert_eq!(wrong, 0);
}

/// An apply killed outright leaves its step "running" in the ledger:
/// status reads that as interrupted, not running, and exits 1; a failed
/// step reads as failed, also exit 1.
#[tokio::test]
async fn status_tells_a_dead_apply_and_a_failed_one_from_a_running_one() {
    let db = users_db(200_000).await;
    let (_dir, target) = write_target(V2);
    let out = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
    ])
    .output()
    .expect("expand");
    assert!(out.status.success(), "{}", text(&out));
    let mut child = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--phase",
        "migrate",
        "--batch-size",
        "2000",
        "--pause",
        "20ms",
    ])
    .spawn()
    .expect("migrate");
    wait_for_rows(&db, &mut child, 10_000).await;
    let running = bellows(&["status", "--database-url", &db.url, "--format", "json"])
        .output()
        .expect("status");
    let v: serde_json::Value = serde_json::from_slice(&running.stdout).expect("json");
    assert_eq!(v["activity"], "running", "{v}");
    assert_eq!(running.status.code(), Some(0));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let dead = bellows(&["status", "--database-url", &db.url, "--format", "json"])
        .output()
        .expect("status");
    let v: serde_json::Value = serde_json::from_slice(&dead.stdout).expect("json");
    assert_eq!(v["activity"], "interrupted", "{v}");
    assert!(
        v["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .any(|s| s["status"] == "interrupted"),
        "{v}"
    );
    assert_eq!(dead.status.code(), Some(1));
    // A failure: a unique index over duplicate names.
    let db2 = users_db(10).await;
    db2.exec("INSERT INTO users (name) VALUES ('user 1')").await;
    let (_dir2, unique) = write_target(&format!(
        "{V1}    indexes:\n      users_name_key: {{ columns: [name], unique: true }}\n"
    ));
    let out = bellows(&[
        "apply",
        "--database-url",
        &db2.url,
        "--target",
        &unique,
        "--phase",
        "expand",
    ])
    .output()
    .expect("expand");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let failed = bellows(&["status", "--database-url", &db2.url])
        .output()
        .expect("status");
    assert_eq!(failed.status.code(), Some(1));
    let shown = text(&failed);
    assert!(
        shown.contains("failed")
            && shown.contains("error 23505")
            && shown.contains("next: bellows apply --phase expand"),
        "{shown}"
    );
}

struct Waits(Mutex<Vec<Vec<Blocker>>>);

impl Observer for Waits {
    fn on(&self, e: Event<'_>) {
        if let Event::LockWait { blockers, .. } = e {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(blockers.to_vec());
        }
    }
}

/// While a step waits for its lock, the retry report names who holds it:
/// pid, application_name, state and the start of its query.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lock_wait_names_the_session_to_wait_for() {
    let db = users_db(100).await;
    let target = spec::read_str(
        std::path::Path::new("v2"),
        &V2.replace(", nullable: false, backfill: \"length(name) + 1\"", ""),
    )
    .expect("v2");
    let mut holder = db.pool.acquire().await.expect("conn");
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .expect("pid");
    sqlx::raw_sql(
        "SET application_name = 'blocker-app'; BEGIN; SELECT count(*) AS held FROM users;",
    )
    .execute(&mut *holder)
    .await
    .expect("hold");
    let waits = Waits(Mutex::new(Vec::new()));
    // The blockers are sampled at three quarters of the lock timeout: a
    // second leaves a loaded machine time to look while the step waits.
    let opts = ApplyOptions {
        lock_timeout: Duration::from_millis(1000),
        max_retries: 20,
        ..ApplyOptions::default()
    };
    let url = db.url.clone();
    let run = async {
        apply(
            &url,
            Some(&target),
            PhaseSel::One(Phase::Expand),
            &opts,
            &waits,
        )
        .await
    };
    // The lock is held until a retry has named who holds it (or for 30
    // seconds at most: then the assertion below says none did), not for
    // a fixed time a slow machine may use up before the first sample.
    let release = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let named = waits
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|b| !b.is_empty());
            if named {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sqlx::raw_sql("COMMIT")
            .execute(&mut *holder)
            .await
            .expect("release");
    };
    let (result, ()) = tokio::join!(run, release);
    result.expect("apply succeeds once the lock is released");
    let seen = waits.0.lock().expect("waits");
    let named: Vec<&Blocker> = seen.iter().flatten().collect();
    assert!(!named.is_empty(), "some retry named its blocker: {seen:?}");
    let b = named[0];
    assert_eq!(b.pid, holder_pid);
    assert_eq!(b.application_name, "blocker-app");
    assert_eq!(b.state, "idle in transaction");
    assert!(
        b.query.contains("SELECT count(*) AS held FROM users"),
        "{b}"
    );
}

/// An apply future its caller drops (a timeout, a cancelled task in a
/// service that embeds bellows) gives the apply lock back: the process
/// lives on, so without that its next apply would be refused by its own
/// lock. On PostgreSQL and on SQLite, each dropped in the middle of a
/// paced backfill; the same phase then resumes and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_apply_gives_the_lock_back() {
    let target = spec::read_str(std::path::Path::new("v2"), V2).expect("v2");
    let opts = ApplyOptions {
        batch_size: Some(10),
        pause: Some(Duration::from_millis(100)),
        ..ApplyOptions::default()
    };
    let (expand, migrate) = (PhaseSel::One(Phase::Expand), PhaseSel::One(Phase::Migrate));
    let dropped_mid_backfill = |url: String| {
        let (target, opts) = (target.clone(), opts.clone());
        async move {
            apply(&url, Some(&target), expand, &opts, &Silent)
                .await
                .expect("expand");
            let dropped = tokio::time::timeout(
                Duration::from_millis(1000),
                apply(&url, None, migrate, &opts, &Silent),
            )
            .await;
            assert!(
                dropped.is_err(),
                "the backfill was still running: {dropped:?}"
            );
        }
    };

    let db = users_db(1000).await;
    dropped_mid_backfill(db.url.clone()).await;
    let t0 = Instant::now();
    while support::dump::count(&db, "SELECT count(*) FROM bellows.apply_lock").await > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the lock is still held"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    apply(&db.url, None, migrate, &ApplyOptions::default(), &Silent)
        .await
        .expect("the next apply in this process takes the lock and resumes");

    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let v1 = spec::read_str(std::path::Path::new("v1"), V1).expect("v1");
    apply(&url, Some(&v1), PhaseSel::All, &opts, &Silent)
        .await
        .expect("v1");
    let mut file = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("a second connection");
    sqlx::raw_sql(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000)
         INSERT INTO users (name) SELECT 'user ' || n FROM g",
    )
    .execute(&mut file)
    .await
    .expect("rows");
    dropped_mid_backfill(url.clone()).await;
    let t0 = Instant::now();
    loop {
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM bellows_apply_lock")
            .fetch_one(&mut file)
            .await
            .expect("read the lock");
        if held == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the lock is still held"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    apply(&url, None, migrate, &ApplyOptions::default(), &Silent)
        .await
        .expect("the next apply in this process takes the lock and resumes");
}

/// A concurrent index build keeps running on the server when the apply
/// that started it is killed. The next apply finds it, says so (pid, how
/// long), waits for it, and finishes.
#[tokio::test]
async fn an_index_build_left_by_a_killed_apply_is_reported_and_waited_for() {
    let db = users_db(100_000).await;
    // A transaction holding a snapshot from before the build: the build
    // waits for it at its end, so it is still under way (however fast
    // the machine) until this test lets it finish.
    let mut old_snapshot = db.pool.begin().await.expect("begin");
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *old_snapshot)
        .await
        .expect("repeatable read");
    sqlx::query("SELECT count(*) FROM users")
        .execute(&mut *old_snapshot)
        .await
        .expect("a snapshot");
    let (_dir, target) = write_target(&format!(
        "{V1}    indexes:\n      users_slow_idx: {{ expression: \"md5(md5(md5(name || id::text)))\" }}\n"
    ));
    let expand = [
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
    ];
    let mut child = bellows(&expand).spawn().expect("expand");
    let t0 = Instant::now();
    loop {
        let building: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND state = 'active' LIMIT 1",
        )
        .fetch_optional(&db.pool)
        .await
        .expect("activity");
        if building.is_some() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the build never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The process dies; its server session goes on building.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // The next apply says it waits for that build; then the build may end.
    let mut rerun = bellows(&expand).spawn().expect("re-run");
    let stderr = rerun.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut said = String::new();
    let waiting = "the build of index public.users_slow_idx from an earlier apply still runs on the server (pid ";
    while !said.contains(waiting) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => said.push_str(&format!("{line}\n")),
            Err(e) => {
                let sessions: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT state, wait_event, left(query, 120) FROM pg_stat_activity WHERE datname = current_database()",
                )
                .fetch_all(&db.pool)
                .await
                .unwrap_or_default();
                panic!("no word of the earlier build ({e}): {said}\nsessions: {sessions:#?}")
            }
        }
    }
    old_snapshot.commit().await.expect("commit");
    let status = rerun.wait().expect("re-run ends");
    said.extend(rx.try_iter().map(|l| format!("{l}\n")));
    assert!(status.success(), "{said}");
    let valid: bool = sqlx::query_scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_slow_idx'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the index exists");
    assert!(valid);
}

/// `--lock-timeout 0` means "wait forever" to PostgreSQL: refused, with
/// `none` as the explicit way to ask for it; a --target that is not the
/// stored plan's is refused for later phases; a dry run of an empty phase
/// says so.
#[tokio::test]
async fn risky_or_mistaken_options_are_refused_and_empty_phases_say_so() {
    let db = users_db(10).await;
    let (_dir, target) =
        write_target(&V2.replace(", nullable: false, backfill: \"length(name) + 1\"", ""));
    let zero = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
        "--lock-timeout",
        "0",
    ])
    .output()
    .expect("runs");
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        text(&zero).contains("0 means wait forever"),
        "{}",
        text(&zero)
    );
    let none = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
        "--lock-timeout",
        "none",
        "--dry-run",
    ])
    .output()
    .expect("runs");
    assert!(none.status.success(), "{}", text(&none));
    assert!(
        text(&none).contains("warning: --lock-timeout none"),
        "{}",
        text(&none)
    );
    let out = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
    ])
    .output()
    .expect("expand");
    assert!(out.status.success(), "{}", text(&out));
    // This plan adds a nullable column: nothing to migrate.
    let dry = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--phase",
        "migrate",
        "--dry-run",
    ])
    .output()
    .expect("dry run");
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        text(&dry).contains("migrate has no steps: nothing would run"),
        "{}",
        text(&dry)
    );
    let (_other_dir, other) = write_target(V1);
    let mismatch = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &other,
        "--phase",
        "migrate",
    ])
    .output()
    .expect("runs");
    assert_eq!(mismatch.status.code(), Some(1), "{}", text(&mismatch));
    assert!(
        text(&mismatch).contains("--target is not the target of migration"),
        "{}",
        text(&mismatch)
    );
    let same = bellows(&[
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "migrate",
    ])
    .output()
    .expect("runs");
    assert!(
        same.status.success(),
        "the stored plan's own target is fine: {}",
        text(&same)
    );
}

/// A second Ctrl-C cancels the statement under way (here a long index
/// build) instead of waiting for it; the INVALID leftover is dropped and
/// the step runs again on resume.
#[tokio::test]
async fn a_second_ctrl_c_cancels_the_statement_under_way() {
    let db = users_db(400_000).await;
    let (_dir, target) = write_target(&format!(
        "{V1}    indexes:\n      users_slow_idx: {{ expression: \"md5(md5(md5(name || id::text)))\" }}\n"
    ));
    let expand = [
        "apply",
        "--database-url",
        &db.url,
        "--target",
        &target,
        "--phase",
        "expand",
    ];
    let child = bellows(&expand).spawn().expect("expand");
    let t0 = Instant::now();
    loop {
        let building: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND state = 'active' LIMIT 1",
        )
        .fetch_optional(&db.pool)
        .await
        .expect("activity");
        if building.is_some() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the build never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stopped = Instant::now();
    signal(&child, "-INT");
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal(&child, "-INT");
    let out = child.wait_with_output().expect("expand ends");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.contains("cancelling the statement under way"),
        "{said}"
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "it did not wait for the build"
    );
    let invalid: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        .fetch_one(&db.pool)
        .await
        .expect("q");
    assert_eq!(invalid, 0, "no INVALID index is left behind");
    let out = bellows(&expand).output().expect("resume");
    assert!(out.status.success(), "{}", text(&out));
}
