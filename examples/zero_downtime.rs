//! Proof under load: an application keeps running through every phase.
//!
//!     cargo run --release --example zero_downtime [-- --rows N --clients K --json FILE]
//!
//! Seeds `accounts` (N rows, default 2,000,000; a secondary index, a
//! foreign key to `teams`, a view over it and a trigger on it), runs K clients (default 8) through a pool for
//! the whole run, and migrates it with bellows phase by phase: the old app
//! runs from the start until migrate ends, the new app from the end of
//! expand to the end, contract sees only the new app. Then, on a fresh copy
//! of the same data, the same change as the naive DDL a plain diff tool
//! emits, under the same load (old app until the DDL is done, new app
//! after). Reports per phase: client errors, queries, p50/p99/max latency,
//! the longest lock wait seen in pg_stat_activity, migration time, and
//! whether any row was lost. Writes the table as JSON too.
//!
//! Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! to create, and afterwards drop, two scratch databases. Bounded: clients
//! stop when the migration ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::plan::{HazardKind, Phase};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

/// The trigger on `accounts` both versions have, and its function.
macro_rules! clamp {
    (trigger) => {
        r#"    triggers:
      accounts_clamp: { timing: before, events: [update], update_of: [score], function: accounts_clamp }
"#
    };
    (function) => {
        r#"functions:
  accounts_clamp():
    returns: trigger
    language: plpgsql
    body: |
      BEGIN
        NEW.score := greatest(NEW.score, 0);
        RETURN NEW;
      END
"#
    };
}

const V1: &str = concat!(
    r#"
tables:
  teams:
    columns:
      id: { type: bigint }
    primary_key: [id]
  regions:
    columns:
      id: { type: bigint }
    primary_key: [id]
  accounts:
    columns:
      id: { type: bigint, identity: always }
      team_id: { type: bigint, nullable: false }
      region_id: { type: bigint }
      name: { type: text, nullable: false }
      score: { type: integer, nullable: false, default: 0 }
      legacy: { type: text }
      created_at: { type: timestamptz, nullable: false, default: now() }
    primary_key: [id]
    indexes:
      accounts_team_idx: { columns: [team_id] }
    foreign_keys:
      accounts_team_fk: { columns: [team_id], references: { table: teams, columns: [id] } }
"#,
    clamp!(trigger),
    r#"views:
  account_scores: SELECT id, name, score FROM accounts
"#,
    clamp!(function)
);

/// add a NOT NULL column with a backfill, an index, a foreign key, a
/// CHECK, int -> bigint on a non-key column, a rename, a drop; and the
/// view over the retyped and the renamed column, and the trigger on
/// `UPDATE OF` the retyped one, rebuilt on the new ones.
const V2: &str = concat!(
    r#"
tables:
  teams:
    columns:
      id: { type: bigint }
    primary_key: [id]
  regions:
    columns:
      id: { type: bigint }
    primary_key: [id]
  accounts:
    columns:
      id: { type: bigint, identity: always }
      team_id: { type: bigint, nullable: false }
      region_id: { type: bigint }
      display_name: { type: text, nullable: false, renamed_from: name }
      score: { type: bigint, nullable: false, default: 0 }
      created_at: { type: timestamptz, nullable: false, default: now() }
      name_len: { type: integer, nullable: false, backfill: length(name) }
    primary_key: [id]
    indexes:
      accounts_team_idx: { columns: [team_id] }
      accounts_created_idx: { columns: [created_at] }
    checks:
      accounts_score_positive: "score >= 0"
    foreign_keys:
      accounts_team_fk: { columns: [team_id], references: { table: teams, columns: [id] } }
      accounts_region_fk: { columns: [region_id], references: { table: regions, columns: [id] } }
"#,
    clamp!(trigger),
    r#"views:
  account_scores: SELECT id, display_name AS name, score FROM accounts
"#,
    clamp!(function)
);

/// What a plain diff tool would run: one step, rewrites and long locks included.
const NAIVE: &[&str] = &[
    "DROP VIEW account_scores",
    "DROP TRIGGER accounts_clamp ON accounts",
    "ALTER TABLE accounts ADD COLUMN name_len integer NOT NULL DEFAULT floor(random() * 100)::integer",
    "CREATE INDEX accounts_created_idx ON accounts (created_at)",
    "ALTER TABLE accounts ALTER COLUMN score TYPE bigint",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_region_fk FOREIGN KEY (region_id) REFERENCES regions (id)",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_score_positive CHECK (score >= 0)",
    "ALTER TABLE accounts RENAME COLUMN name TO display_name",
    "ALTER TABLE accounts DROP COLUMN legacy",
    "CREATE VIEW account_scores AS SELECT id, display_name AS name, score FROM accounts",
    "CREATE TRIGGER accounts_clamp BEFORE UPDATE OF score ON accounts FOR EACH ROW EXECUTE FUNCTION accounts_clamp()",
];

const OLD: u8 = 1;
const NEW: u8 = 2;

#[derive(Default, Clone)]
struct Stats {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    lock_wait_ms: u64,
}

struct Shared {
    /// Index of the current phase window, for attributing measurements.
    window: AtomicU8,
    /// Which app versions run now (bit OLD, bit NEW).
    apps: AtomicU8,
    stop: AtomicBool,
    stats: Mutex<BTreeMap<u8, Stats>>,
    max_id: i64,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = arg("--rows", 2_000_000) as i64;
    let clients = arg("--clients", 8) as usize;
    let json_path = {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == "--json")
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| "zero_downtime.json".into())
    };
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let root = server
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .ok_or("TEST_DATABASE_URL needs a database path")?;
    let mut admin = PgConnection::connect(&server).await?;
    let mut report = Vec::new();
    for approach in ["bellows", "naive"] {
        let db = format!("bellows_zd_{approach}_{}", std::process::id());
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .await?;
        let url = format!("{root}/{db}");
        let r = run(approach, &url, rows, clients).await;
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .await?;
        report.extend(r?);
    }
    println!(
        "\n{:<8} {:<9} {:>7} {:>9} {:>8} {:>8} {:>9} {:>10} {:>9}  rows intact",
        "approach",
        "phase",
        "errors",
        "queries",
        "p50 ms",
        "p99 ms",
        "max ms",
        "lock wait",
        "took s"
    );
    for r in &report {
        println!(
            "{:<8} {:<9} {:>7} {:>9} {:>8.1} {:>8.1} {:>9.1} {:>8} ms {:>9.2}  {}",
            r["approach"].as_str().unwrap_or(""),
            r["phase"].as_str().unwrap_or(""),
            r["errors"],
            r["queries"],
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
            r["max_ms"].as_f64().unwrap_or(0.0),
            r["max_lock_wait_ms"],
            r["migration_s"].as_f64().unwrap_or(0.0),
            r["rows_intact"],
        );
        if let Some(e) = r["first_error"].as_str() {
            println!("{:>20} first error: {e}", "");
        }
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("\nwritten to {json_path}");
    Ok(())
}

async fn seed(url: &str, rows: i64) -> Result<(), Box<dyn std::error::Error>> {
    let v1 = bellows::spec::read_str(std::path::Path::new("v1"), V1)?;
    let mut c = PgConnection::connect(url).await?;
    c.execute(AssertSqlSafe(
        bellows::sql::postgres::create_all(&v1).join(";\n"),
    ))
    .await?;
    c.execute("INSERT INTO teams SELECT g FROM generate_series(1, 100) g; INSERT INTO regions SELECT g FROM generate_series(1, 10) g").await?;
    c.execute(AssertSqlSafe(format!(
        "INSERT INTO accounts (team_id, region_id, name, score, legacy)
         SELECT 1 + g % 100, 1 + g % 10, 'account ' || g, g % 1000, 'l' || g FROM generate_series(1, {rows}) g"
    )))
    .await?;
    c.execute("VACUUM ANALYZE").await?;
    Ok(())
}

/// Columns the seed wrote that no version changes: their checksum must hold.
async fn checksum(pool: &PgPool, max_id: i64) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as("SELECT count(*), md5(string_agg(id::text || ':' || team_id::text || ':' || coalesce(region_id, 0)::text || ':' || created_at::text, ',' ORDER BY id)) FROM accounts WHERE id <= $1")
        .bind(max_id)
        .fetch_one(pool)
        .await
}

fn random(seed: &mut u64, max: i64) -> i64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    1 + (*seed % max.max(1) as u64) as i64
}

/// One client: a mix of single-row INSERT, UPDATE by id, SELECT by id and
/// SELECT by id from the view, in the terms of whichever app versions run
/// now.
async fn client(pool: PgPool, shared: Arc<Shared>, n: u64) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (n + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut turn = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        turn += 1;
        let apps = shared.apps.load(Ordering::Relaxed);
        let version = if apps == OLD | NEW {
            if turn.is_multiple_of(2) { OLD } else { NEW }
        } else {
            apps
        };
        let id = random(&mut seed, shared.max_id);
        let team = 1 + id % 100;
        let sql = match (version, turn % 4) {
            // Both versions read the view the same way.
            (_, 3) => format!("SELECT id, name, score FROM account_scores WHERE id = {id}"),
            (OLD, 0) => format!(
                "INSERT INTO accounts (team_id, region_id, name, score, legacy) VALUES ({team}, 1, 'old {id}', 1, 'x')"
            ),
            (OLD, 1) => format!(
                "UPDATE accounts SET score = score + 1, name = 'old ' || id WHERE id = {id}"
            ),
            (OLD, _) => format!("SELECT id, name, score, legacy FROM accounts WHERE id = {id}"),
            (_, 0) => format!(
                "INSERT INTO accounts (team_id, region_id, display_name, score, name_len) VALUES ({team}, 2, 'new {id}', 2, 6)"
            ),
            (_, 1) => format!(
                "UPDATE accounts SET score = score + 1, display_name = 'new ' || id WHERE id = {id}"
            ),
            (_, _) => {
                format!("SELECT id, display_name, score, name_len FROM accounts WHERE id = {id}")
            }
        };
        let window = shared.window.load(Ordering::Relaxed);
        let t = Instant::now();
        let r = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&pool).await;
        let us = t.elapsed().as_micros() as u64;
        let mut stats = shared.stats.lock().unwrap_or_else(|p| p.into_inner());
        let s = stats.entry(window).or_default();
        s.latencies_us.push(us);
        if let Err(e) = r {
            s.errors += 1;
            s.first_error.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Samples pg_stat_activity: the longest any session has waited for a lock.
async fn sampler(pool: PgPool, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        let wait: Option<f64> = sqlx::query_scalar(
            "SELECT (extract(epoch FROM max(now() - state_change)) * 1000)::float8 FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or(None);
        if let Some(ms) = wait {
            let window = shared.window.load(Ordering::Relaxed);
            let mut stats = shared.stats.lock().unwrap_or_else(|p| p.into_inner());
            let s = stats.entry(window).or_default();
            s.lock_wait_ms = s.lock_wait_ms.max(ms as u64);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

async fn run(
    approach: &str,
    url: &str,
    rows: i64,
    clients: usize,
) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    seed(url, rows).await?;
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32 + 2)
        .connect(url)
        .await?;
    let before = checksum(&pool, rows).await?;
    let shared = Arc::new(Shared {
        window: AtomicU8::new(0),
        apps: AtomicU8::new(OLD),
        stop: AtomicBool::new(false),
        stats: Mutex::new(BTreeMap::new()),
        max_id: rows,
    });
    let mut tasks = Vec::new();
    for n in 0..clients {
        tasks.push(tokio::spawn(client(pool.clone(), shared.clone(), n as u64)));
    }
    tasks.push(tokio::spawn(sampler(pool.clone(), shared.clone())));
    let target = bellows::spec::read_str(std::path::Path::new("v2"), V2)?;
    let opts = ApplyOptions {
        allow_hazards: vec![HazardKind::DataLoss],
        ..ApplyOptions::default()
    };
    let mut windows: Vec<(String, f64)> = Vec::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    if approach == "bellows" {
        for (i, phase) in Phase::ALL.into_iter().enumerate() {
            shared.window.store(i as u8, Ordering::Relaxed);
            let t = Instant::now();
            apply(url, Some(&target), PhaseSel::One(phase), &opts, &Silent).await?;
            windows.push((phase.name().to_string(), t.elapsed().as_secs_f64()));
            match phase {
                // A rolling deploy: the new app joins after expand...
                Phase::Expand => shared.apps.store(OLD | NEW, Ordering::Relaxed),
                // ...and the old one is gone before contract.
                Phase::Migrate => shared.apps.store(NEW, Ordering::Relaxed),
                Phase::Contract => {}
            }
        }
    } else {
        shared.window.store(0, Ordering::Relaxed);
        let t = Instant::now();
        let mut c = PgConnection::connect(url).await?;
        for stmt in NAIVE {
            c.execute(*stmt).await?;
        }
        windows.push(("ddl".to_string(), t.elapsed().as_secs_f64()));
        shared.apps.store(NEW, Ordering::Relaxed);
        shared.window.store(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        windows.push(("after".to_string(), 0.0));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let after = checksum(&pool, rows).await?;
    let intact = before == after;
    let stats = shared
        .stats
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut out = Vec::new();
    for (i, (name, took)) in windows.iter().enumerate() {
        let mut s = stats.get(&(i as u8)).cloned().unwrap_or_default();
        s.latencies_us.sort_unstable();
        out.push(serde_json::json!({
            "approach": approach,
            "phase": name,
            "errors": s.errors,
            "queries": s.latencies_us.len(),
            "p50_ms": percentile(&s.latencies_us, 0.50),
            "p99_ms": percentile(&s.latencies_us, 0.99),
            "max_ms": percentile(&s.latencies_us, 1.0),
            "max_lock_wait_ms": s.lock_wait_ms,
            "migration_s": took,
            "rows_intact": intact,
            "first_error": s.first_error,
        }));
    }
    pool.close().await;
    Ok(out)
}
