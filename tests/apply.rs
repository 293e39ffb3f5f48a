//! `apply` against a real PostgreSQL: every fixture through all three
//! phases; one apply at a time; a SIGKILL in the middle of a backfill,
//! resumed with every row filled exactly once; lock contention survived
//! without queueing other sessions for longer than lock_timeout; and no
//! INVALID index left behind by a failed concurrent build.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bellows::apply::{ApplyError, ApplyOptions, Event, Observer, PhaseSel, Silent, apply};
use bellows::introspect::{Options, introspect_url};
use bellows::plan::{HazardKind, Phase, PlanOptions, plan};
use bellows::spec;
use support::TestDb;

fn all_hazards() -> ApplyOptions {
    ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        batch_size: Some(2),
        ..ApplyOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_applies_phase_by_phase_and_leaves_nothing_to_do() {
    let done = support::run_bounded(support::good_cases(), |dir| async move {
        let (name, _, to, db) = support::fixture_db(&dir).await;
        let opts = all_hazards();
        // Between phases, both app versions must work (fixtures that
        // declare them: old_app.sql and new_app.sql).
        let clients: Vec<(&str, String)> = ["old_app.sql", "new_app.sql"]
            .iter()
            .filter_map(|f| {
                std::fs::read_to_string(dir.join(f))
                    .ok()
                    .map(|sql| (*f, sql))
            })
            .collect();
        for phase in Phase::ALL {
            apply(&db.url, Some(&to), PhaseSel::One(phase), &opts, &Silent)
                .await
                .unwrap_or_else(|e| match e {
                    // An empty plan has no migration to continue.
                    ApplyError::NoMigration { .. } => (),
                    other => panic!("{name}: {} failed: {other}", phase.name()),
                });
            if phase == Phase::Contract {
                continue;
            }
            for (client, sql) in &clients {
                if let Err(e) =
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {sql} ROLLBACK;")))
                        .execute(&db.pool)
                        .await
                {
                    panic!("{name}: after {}, {client} fails: {e}\n{sql}", phase.name());
                }
            }
        }
        // After contract only the new app is left.
        if let Some((_, sql)) = clients.iter().find(|(c, _)| *c == "new_app.sql")
            && let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; {sql} ROLLBACK;")))
                .execute(&db.pool)
                .await
        {
            panic!("{name}: after contract, new_app.sql fails: {e}");
        }
        let found = introspect_url(&db.url, &Options::default())
            .await
            .expect("introspect");
        // The target's views in the server's words, as `plan` reads them.
        let mut to = to.clone();
        bellows::introspect::canonicalize_url(&db.url, &found.schema, &mut to)
            .await
            .expect("the target's views");
        let again = plan(&found.schema, &to, &PlanOptions::default()).expect("re-plan");
        assert!(
            again.is_empty(),
            "{name}: a new plan after contract: {:?}",
            again
                .steps
                .iter()
                .map(|s| &s.description)
                .collect::<Vec<_>>()
        );
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM bellows.migrations WHERE state = 'in_flight'")
                .fetch_one(&db.pool)
                .await
                .unwrap_or(0);
        assert_eq!(open, 0, "{name}: the migration is recorded as done");
    })
    .await;
    let with_clients = std::fs::read_dir("schemas/cases")
        .expect("cases")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().join("old_app.sql").exists())
        })
        .count();
    assert!(
        done >= 40 && with_clients >= 10,
        "{done} fixtures, {with_clients} with app clients"
    );
}

const WRITES: &str = "  writes:\n    columns:\n      id: { type: bigint }\n";
const USERS_V1: &str = "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      name: { type: text, nullable: false }\n    primary_key: [id]\n";
const USERS_V2: &str = "tables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      name: { type: text, nullable: false }\n      name_length: { type: integer, nullable: false, backfill: \"length(name) + 1\" }\n    primary_key: [id]\n";

async fn users_db(rows: i64) -> TestDb {
    let db = TestDb::new().await;
    let v1 =
        spec::read_str(std::path::Path::new("v1"), &format!("{USERS_V1}{WRITES}")).expect("v1");
    db.exec(&bellows::sql::postgres::create_all(&v1).join(";\n"))
        .await;
    db.exec(&format!(
        "INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, {rows}) g"
    ))
    .await;
    db
}

/// Writes the v2 target to a temporary file and runs expand to it.
fn expand_to_v2(db: &TestDb) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("v2.yaml");
    std::fs::write(&target, format!("{USERS_V2}{WRITES}")).expect("write");
    let out = cli(db, &target, &["--phase", "expand"])
        .wait_with_output()
        .expect("expand");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, target)
}

fn cli(db: &TestDb, target: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(["apply", "--database-url", &db.url, "--target"])
        .arg(target)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bellows starts")
}

#[tokio::test]
async fn a_killed_backfill_resumes_and_fills_every_row_exactly_once() {
    let db = users_db(200_000).await;
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("v2.yaml");
    // Count every write to the new column: a row written twice would show.
    // (Installed before expand: a change between phases would be drift.)
    // The target declares the trigger's function, or the plan drops it.
    const COUNT: &str = "BEGIN IF to_jsonb(NEW)->'name_length' IS DISTINCT FROM to_jsonb(OLD)->'name_length' THEN INSERT INTO writes (id) VALUES (NEW.id); END IF; RETURN NEW; END";
    std::fs::write(
        &target,
        format!(
            "{USERS_V2}{WRITES}functions:\n  count_writes():\n    returns: trigger\n    language: plpgsql\n    body: \"{COUNT}\"\n"
        ),
    )
    .expect("write");
    db.exec(&format!(
        "CREATE FUNCTION count_writes() RETURNS trigger LANGUAGE plpgsql AS $${COUNT}$$;
         CREATE TRIGGER count_writes AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION count_writes();"
    ))
    .await;
    let out = cli(&db, &target, &["--phase", "expand"])
        .wait_with_output()
        .expect("expand");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = cli(
        &db,
        &target,
        &[
            "--phase",
            "migrate",
            "--batch-size",
            "2000",
            "--pause",
            "20ms",
        ],
    );
    let t0 = Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar("SELECT coalesce(max(rows_done), 0) FROM bellows.steps")
            .fetch_one(&db.pool)
            .await
            .expect("ledger");
        if done >= 40_000 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the backfill did not progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let partial: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE name_length IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert!(
        partial > 0 && partial < 200_000,
        "killed in the middle: {partial} rows filled"
    );
    // The dead process's lock is taken over at once (same host, pid gone).
    let out = cli(
        &db,
        &target,
        &["--phase", "migrate", "--batch-size", "5000"],
    )
    .wait_with_output()
    .expect("resume");
    assert!(
        out.status.success(),
        "resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (filled, wrong): (i64, i64) = sqlx::query_as("SELECT count(name_length), count(*) FILTER (WHERE name_length IS DISTINCT FROM length(name) + 1) FROM users")
        .fetch_one(&db.pool)
        .await
        .expect("check");
    assert_eq!((filled, wrong), (200_000, 0));
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT id FROM writes GROUP BY id HAVING count(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .expect("writes");
    assert_eq!(twice, 0, "rows backfilled more than once");
    let out = cli(&db, &target, &["--phase", "contract"])
        .wait_with_output()
        .expect("contract");
    assert!(
        out.status.success(),
        "contract: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn two_applies_started_together_one_runs_the_other_fails_at_once() {
    let db = users_db(100_000).await;
    let (_dir, target) = expand_to_v2(&db);
    let slow = [
        "--phase",
        "migrate",
        "--batch-size",
        "1000",
        "--pause",
        "10ms",
    ];
    let a = cli(&db, &target, &slow);
    let b = cli(&db, &target, &slow);
    let (oa, ob) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    let codes = [oa.status.code(), ob.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(2)),
        "one wins, one fails: {codes:?}"
    );
    let loser = if oa.status.code() == Some(2) {
        &oa
    } else {
        &ob
    };
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(
        err.contains("another apply is running on this database: pid"),
        "{err}"
    );
}

struct Waits(Mutex<u32>);

impl Observer for Waits {
    fn on(&self, e: Event<'_>) {
        if let Event::LockWait { .. } = e {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lock_contention_is_waited_out_without_queueing_other_sessions() {
    let db = users_db(1000).await;
    let target = spec::read_str(
        std::path::Path::new("v2"),
        &format!(
            "{}{WRITES}",
            USERS_V2.replace(", nullable: false, backfill: \"length(name) + 1\"", "")
        ),
    )
    .expect("v2");
    // A long transaction that read the table holds ACCESS SHARE: ADD
    // COLUMN's ACCESS EXCLUSIVE must wait for it.
    let mut holder = db.pool.acquire().await.expect("conn");
    sqlx::raw_sql("BEGIN; SELECT count(*) FROM users;")
        .execute(&mut *holder)
        .await
        .expect("hold");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Another session keeps reading; it must never wait long behind apply.
    let reader = {
        let pool = db.pool.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let _: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
                    .fetch_one(&pool)
                    .await
                    .expect("read");
                worst = worst.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            worst
        })
    };
    let waits = Waits(Mutex::new(0));
    let opts = ApplyOptions {
        lock_timeout: Duration::from_millis(200),
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
    // Released once apply has hit the lock and is waiting it out (on a
    // busy machine apply may take long to get there), or after 30 s.
    let release = async {
        let start = Instant::now();
        while *waits.0.lock().expect("waits") == 0 && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        sqlx::raw_sql("COMMIT")
            .execute(&mut *holder)
            .await
            .expect("release");
    };
    let (result, ()) = tokio::join!(run, release);
    result.expect("apply succeeds once the lock is released");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = reader.await.expect("reader");
    assert!(
        *waits.0.lock().expect("waits") >= 1,
        "apply waited and retried"
    );
    assert!(
        worst < Duration::from_millis(200 + 150),
        "a reader waited {worst:?}, more than lock_timeout"
    );
}

#[tokio::test]
async fn a_failed_unique_index_build_leaves_no_invalid_index_and_resumes() {
    let db = users_db(10).await;
    db.exec("INSERT INTO users (name) VALUES ('user 1')").await;
    let target = spec::read_str(
        std::path::Path::new("v2"),
        &format!("{USERS_V1}    indexes:\n      users_name_key: {{ columns: [name], unique: true }}\n{WRITES}"),
    )
    .expect("v2");
    let err = apply(
        &db.url,
        Some(&target),
        PhaseSel::One(Phase::Expand),
        &ApplyOptions::default(),
        &Silent,
    )
    .await
    .expect_err("duplicates make the build fail");
    assert!(err.to_string().contains("23505"), "{err}");
    let invalid: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        .fetch_one(&db.pool)
        .await
        .expect("q");
    assert_eq!(invalid, 0, "no INVALID index remains");
    db.exec("DELETE FROM users WHERE id = 11").await;
    apply(
        &db.url,
        Some(&target),
        PhaseSel::One(Phase::Expand),
        &ApplyOptions::default(),
        &Silent,
    )
    .await
    .expect("the re-run resumes the failed step and finishes");
    let status = bellows::apply::status(&db.url).await.expect("status");
    assert_eq!(status.completed_phase.as_deref(), Some("expand"));
    assert!(
        status
            .steps
            .iter()
            .all(|s| s.status == bellows::apply::StepState::Done)
    );
}

#[tokio::test]
async fn destructive_steps_are_refused_before_anything_runs() {
    let db = users_db(10).await;
    let target = spec::read_str(std::path::Path::new("v0"), &format!("tables:\n  users:\n    columns:\n      id: {{ type: bigint, identity: always }}\n    primary_key: [id]\n{WRITES}")).expect("v0");
    let before = introspect_url(&db.url, &Options::default())
        .await
        .expect("read");
    let err = apply(
        &db.url,
        Some(&target),
        PhaseSel::All,
        &ApplyOptions::default(),
        &Silent,
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, ApplyError::HazardsRefused { .. }), "{err}");
    assert!(
        err.to_string().contains("drop column public.users.name"),
        "{err}"
    );
    let after = introspect_url(&db.url, &Options::default())
        .await
        .expect("read");
    assert_eq!(before.schema, after.schema, "nothing ran");
    let dry = ApplyOptions {
        dry_run: true,
        ..all_hazards()
    };
    apply(&db.url, Some(&target), PhaseSel::All, &dry, &Silent)
        .await
        .expect("dry run");
    let ledger: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('bellows.migrations')::text")
            .fetch_one(&db.pool)
            .await
            .expect("q");
    assert_eq!(
        ledger, None,
        "a dry run changes nothing, not even the ledger"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expand_and_migrate_then_abort_restore_the_starting_schema() {
    let done = support::run_bounded(
        support::good_cases().into_iter().enumerate().collect(),
        |(n, dir)| async move {
            let (name, _, to, db) = support::fixture_db(&dir).await;
            let before = introspect_url(&db.url, &Options::default())
                .await
                .expect("read");
            let opts = all_hazards();
            match apply(
                &db.url,
                Some(&to),
                PhaseSel::One(Phase::Expand),
                &opts,
                &Silent,
            )
            .await
            {
                Ok(()) => {}
                Err(e) => panic!("{name}: expand: {e}"),
            }
            // Every other case also runs migrate before aborting.
            if n % 2 == 0 {
                let _ = apply(&db.url, None, PhaseSel::One(Phase::Migrate), &opts, &Silent).await;
            }
            match bellows::apply::abort(&db.url, &opts, &Silent).await {
                Ok(_) | Err(ApplyError::NoMigration { .. }) => {}
                Err(e) => panic!("{name}: abort: {e}"),
            }
            let after = introspect_url(&db.url, &Options::default())
                .await
                .expect("read");
            // Added enum values and widened types stay (see undo_target).
            let (expected, _) = bellows::apply::undo_target(&before.schema, &after.schema);
            let back = plan(&after.schema, &expected, &PlanOptions::default()).expect("plan");
            assert!(
                back.is_empty(),
                "{name}: after abort, still differs: {:?}",
                back.steps
                    .iter()
                    .map(|s| &s.description)
                    .collect::<Vec<_>>()
            );
            assert!(
                after.unmanaged.is_empty(),
                "{name}: abort left {:?}",
                after.unmanaged
            );
        },
    )
    .await;
    assert!(done >= 40, "aborted {done} fixtures");
}

#[tokio::test]
async fn a_crash_during_a_concurrent_index_build_is_recovered() {
    let db = users_db(300_000).await;
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("v2.yaml");
    std::fs::write(
        &target,
        format!("{USERS_V1}    indexes:\n      users_name_idx: {{ expression: \"md5(name || id::text)\" }}\n{WRITES}"),
    )
    .expect("write");
    let mut child = cli(&db, &target, &["--phase", "expand"]);
    // Wait until the build is under way, then kill both the process and
    // its server session, as a crash of the machine running apply would.
    let t0 = Instant::now();
    loop {
        let building: Option<i32> = match sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND state = 'active' LIMIT 1",
        )
        .fetch_optional(&db.pool)
        .await
        {
            Ok(b) => b,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("pg_stat_activity: {e}");
            }
        };
        if let Some(pid) = building {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            let _: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(&db.pool)
                .await
                .expect("terminate");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the index build never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Let the server finish cleaning up the terminated backend.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let leftovers: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        .fetch_one(&db.pool)
        .await
        .expect("q");
    let out = cli(&db, &target, &["--phase", "expand"])
        .wait_with_output()
        .expect("re-run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        leftovers > 0,
        "the crash left an INVALID index to recover from"
    );
    assert!(
        stderr.contains("dropped the INVALID leftover index public.users_name_idx"),
        "{stderr}"
    );
    let invalid: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        .fetch_one(&db.pool)
        .await
        .expect("q");
    assert_eq!(invalid, 0, "no INVALID index remains");
    let valid: bool = sqlx::query_scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_name_idx'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the index exists");
    assert!(valid);
}

#[tokio::test]
async fn drift_between_phases_is_refused_with_what_differs() {
    let db = users_db(100).await;
    let (_dir, target) = expand_to_v2(&db);
    // Someone changes the schema by hand between the phases.
    db.exec("ALTER TABLE writes ADD COLUMN note text").await;
    let out = cli(&db, &target, &["--phase", "migrate"])
        .wait_with_output()
        .expect("migrate");
    assert_eq!(out.status.code(), Some(1), "drift is exit 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("drift") && err.contains("+      note: { type: text }"),
        "{err}"
    );
    let status = Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(["status", "--database-url", &db.url, "--format", "json"])
        .output()
        .expect("status");
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!(v["completed_phase"], "expand");
    assert_eq!(v["state"], "in_flight");
    let migrate_steps: Vec<&serde_json::Value> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["phase"] == "migrate")
        .collect();
    assert!(
        !migrate_steps.is_empty() && migrate_steps.iter().all(|s| s["status"] == "pending"),
        "nothing of migrate ran: {v}"
    );
}

/// A migration started by a bellows that fingerprinted schemas another
/// way (an upgrade between phases) goes on with the same target, which is
/// recognised by the target schema the ledger stored; another target is
/// still refused.
#[tokio::test]
async fn a_migration_with_an_older_fingerprint_goes_on_with_the_same_target() {
    let db = users_db(10).await;
    let (dir, target) = expand_to_v2(&db);
    db.exec(
        "UPDATE bellows.migrations SET target_fingerprint = '0123456789abcdef', \
         plan = jsonb_set(plan, '{target_fingerprint}', '\"0123456789abcdef\"')",
    )
    .await;
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        format!("{USERS_V2}{WRITES}      note: {{ type: text }}\n"),
    )
    .expect("write");
    let out = cli(&db, &other, &["--phase", "migrate"])
        .wait_with_output()
        .expect("migrate");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is not the target of migration"), "{err}");
    let out = cli(&db, &target, &["--phase", "migrate"])
        .wait_with_output()
        .expect("migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// abort undoes exactly what the migration's steps made. Objects made by
/// hand after expand are never touched: a table with rows, a column and an
/// index on an existing table; and an object of the migration that has
/// something hand-made in or on it (an index on its new column, a column
/// in its new table) is left in place and reported, by the dry run too.
#[tokio::test]
async fn abort_never_touches_what_the_migration_did_not_create() {
    let db = users_db(100).await;
    let target = spec::read_str(
        std::path::Path::new("v2"),
        &format!(
            "{}      nickname: {{ type: text }}\n      plan: {{ type: text }}\n    primary_key: [id]\n    indexes:\n      users_name_idx: {{ columns: [name] }}\n  audit:\n    columns:\n      id: {{ type: bigint }}\n    primary_key: [id]\n  events:\n    columns:\n      id: {{ type: bigint }}\n    primary_key: [id]\n{WRITES}",
            USERS_V1.replace("    primary_key: [id]\n", "")
        ),
    )
    .expect("v2");
    apply(
        &db.url,
        Some(&target),
        PhaseSel::One(Phase::Expand),
        &all_hazards(),
        &Silent,
    )
    .await
    .expect("expand");
    db.exec(
        "CREATE TABLE mine (x int); INSERT INTO mine SELECT generate_series(1, 1000);
         ALTER TABLE users ADD COLUMN note text;
         CREATE INDEX users_note_idx ON users (note);
         CREATE INDEX users_nickname_hand ON users (lower(nickname));
         ALTER TABLE audit ADD COLUMN extra int;",
    )
    .await;
    let preview = Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(["abort", "--dry-run", "--database-url", &db.url])
        .output()
        .expect("dry run");
    let shown = String::from_utf8_lossy(&preview.stdout);
    assert!(preview.status.success(), "{shown}");
    for expected in [
        "drop index users_name_idx",
        "drop column public.users.plan",
        "drop table public.events",
        "column public.users.nickname was added by this migration, but index users_nickname_hand",
        "table public.audit was created by this migration, but now also has column extra",
    ] {
        assert!(
            shown.contains(expected),
            "dry run lacks `{expected}`:\n{shown}"
        );
    }
    assert!(
        !shown.contains("mine") && !shown.contains("note"),
        "{shown}"
    );
    let report = bellows::apply::abort(&db.url, &all_hazards(), &Silent)
        .await
        .expect("abort");
    assert_eq!(report.left.len(), 2, "{:?}", report.left);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM mine")
        .fetch_one(&db.pool)
        .await
        .expect("the hand-made table is there");
    assert_eq!(rows, 1000);
    let present = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(sql)
                .fetch_one(&pool)
                .await
                .expect("catalog")
        }
    };
    assert!(present("SELECT to_regclass('users_note_idx') IS NOT NULL").await);
    assert!(present("SELECT to_regclass('users_nickname_hand') IS NOT NULL").await);
    assert!(present("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'note')").await);
    assert!(present("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname')").await, "left in place: a hand-made index uses it");
    assert!(
        present("SELECT to_regclass('audit') IS NOT NULL").await,
        "left in place: it has a hand-made column"
    );
    assert!(
        present("SELECT to_regclass('users_name_idx') IS NULL").await,
        "the migration's index is gone"
    );
    assert!(
        present("SELECT to_regclass('events') IS NULL").await,
        "the migration's table is gone"
    );
    assert!(present("SELECT NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'plan')").await);
    let states: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, state FROM bellows.migrations ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("ledger");
    assert_eq!(
        states,
        vec![
            ("apply".to_string(), "aborted".to_string()),
            ("abort".to_string(), "done".to_string())
        ]
    );
}

/// An abort that stops partway (here: it cannot get its lock) is resumed
/// by running abort again; meanwhile apply refuses to go on with the
/// migration being aborted.
#[tokio::test]
async fn an_interrupted_abort_resumes_where_it_stopped() {
    let db = users_db(10).await;
    let target = spec::read_str(
        std::path::Path::new("v2"),
        &format!(
            "{}      a: {{ type: text }}\n      b: {{ type: text }}\n    primary_key: [id]\n{WRITES}",
            USERS_V1.replace("    primary_key: [id]\n", "")
        ),
    )
    .expect("v2");
    apply(
        &db.url,
        Some(&target),
        PhaseSel::One(Phase::Expand),
        &all_hazards(),
        &Silent,
    )
    .await
    .expect("expand");
    let mut holder = db.pool.acquire().await.expect("conn");
    sqlx::raw_sql("BEGIN; SELECT count(*) FROM users;")
        .execute(&mut *holder)
        .await
        .expect("hold");
    let impatient = ApplyOptions {
        lock_timeout: Duration::from_millis(100),
        max_retries: 0,
        ..all_hazards()
    };
    let err = bellows::apply::abort(&db.url, &impatient, &Silent)
        .await
        .expect_err("the lock is held");
    assert!(matches!(err, ApplyError::LockTimeout { .. }), "{err}");
    let err = apply(
        &db.url,
        None,
        PhaseSel::One(Phase::Migrate),
        &all_hazards(),
        &Silent,
    )
    .await
    .expect_err("being aborted");
    assert!(err.to_string().contains("being aborted"), "{err}");
    sqlx::raw_sql("COMMIT")
        .execute(&mut *holder)
        .await
        .expect("release");
    let report = bellows::apply::abort(&db.url, &all_hazards(), &Silent)
        .await
        .expect("the abort finishes");
    assert_eq!(report.steps.len(), 2);
    let cols: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name IN ('a', 'b')",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(cols, 0);
}

/// A column made identity (and one computed by a new expression) on a
/// table with rows: the identity's counter starts past the largest value
/// the column holds, so the next insert does not collide with a row;
/// the generated column holds its new expression's values for every row.
#[tokio::test]
async fn a_column_made_identity_counts_on_from_its_largest_value() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE tickets (id integer PRIMARY KEY, qty integer, doubled integer GENERATED ALWAYS AS (qty * 2) STORED);
         INSERT INTO tickets (id, qty) SELECT g, g FROM generate_series(1, 5) g;",
    )
    .await;
    let to = spec::read_str(
        std::path::Path::new("to.yaml"),
        "tables:\n  tickets:\n    columns:\n      id: { type: integer, identity: by_default }\n      qty: { type: integer }\n      doubled: { type: integer, generated: qty * 3 }\n    primary_key: [id]\n",
    )
    .expect("target");
    apply(&db.url, Some(&to), PhaseSel::All, &all_hazards(), &Silent)
        .await
        .expect("apply");
    let id: i32 = sqlx::query_scalar("INSERT INTO tickets (qty) VALUES (6) RETURNING id")
        .fetch_one(&db.pool)
        .await
        .expect("an insert without an id");
    assert_eq!(id, 6, "the counter goes on from the largest id");
    let wrong: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE doubled IS DISTINCT FROM qty * 3")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(wrong, 0, "every row computed by the new expression");
}

/// A migration started by a bellows that read no owners nor storage
/// parameters stored phase schemas and a target without them: a later
/// bellows that reads them finishes it, not taking what the first could
/// not see for drift or for work left undone. (Simulated: they are set
/// by hand after expand, where that bellows would not have seen them.)
#[tokio::test]
async fn a_migration_stored_before_owners_and_storage_were_read_finishes() {
    let db = users_db(10).await;
    let (_dir, target) = expand_to_v2(&db);
    db.role("bellows_old_owner").await;
    db.exec(
        "ALTER TABLE writes SET (fillfactor = 70);
         ALTER TABLE writes OWNER TO bellows_old_owner;",
    )
    .await;
    for phase in ["migrate", "contract"] {
        let out = cli(&db, &target, &["--phase", phase])
            .wait_with_output()
            .expect("apply");
        assert!(
            out.status.success(),
            "{phase}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What the file does not state stays as it is; the next plan resets
    // the parameters the file leaves out.
    let owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname = 'writes'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("owner");
    assert_eq!(owner, "bellows_old_owner");
    let out = Command::new(env!("CARGO_BIN_EXE_bellows"))
        .args(["plan", "--database-url", &db.url, "--target"])
        .arg(&target)
        .output()
        .expect("plan");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ALTER TABLE public.writes RESET (fillfactor);") && !text.contains("OWNER"),
        "{text}"
    );
}
