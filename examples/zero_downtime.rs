//! Proof under load: an application keeps running through every phase.
//!
//!     cargo run --release --example zero_downtime [-- --scenario columns|keys --rows N --clients K --json FILE]
//!
//! `columns` (the default) seeds `accounts` (N rows, default 2,000,000; a secondary index, a
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
//! `keys` retypes the `integer` primary key of `accounts` (N rows) to
//! `bigint` while `orders` (N/2 rows) and `payments` (N/4) reference it,
//! their columns retyped with it; the clients insert parents and children
//! throughout. Its migrate runs first in a child process that is killed
//! (SIGKILL) partway through the backfills, then resumes. "Rows intact"
//! compares every seeded id and reference before and after.
//!
//! Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! to create, and afterwards drop, two scratch databases. Bounded: clients
//! stop when the migration ends.

#[path = "support/load.rs"]
mod load;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::plan::{HazardKind, Phase};
use load::{NEW, OLD};
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

/// The accounts' key and the columns that reference it, `integer` now.
const KEYS_V1: &str = r#"
tables:
  accounts:
    columns:
      id: { type: integer, identity: always }
      name: { type: text, nullable: false }
    primary_key: [id]
  orders:
    columns:
      id: { type: bigint, identity: always }
      account_id: { type: integer, nullable: false }
      total: { type: integer, nullable: false }
    primary_key: [id]
    indexes:
      orders_account_idx: { columns: [account_id] }
    foreign_keys:
      orders_account_fk: { columns: [account_id], references: { table: accounts, columns: [id] }, on_delete: cascade }
  payments:
    columns:
      id: { type: bigint, identity: always }
      account_id: { type: integer }
      amount: { type: integer, nullable: false }
    primary_key: [id]
    foreign_keys:
      payments_account_fk: { columns: [account_id], references: { table: accounts, columns: [id] }, on_delete: set_null }
"#;

/// What a plain diff tool would run for it: each a rewrite under ACCESS
/// EXCLUSIVE, the key's with its foreign keys checked again.
const KEYS_NAIVE: &[&str] = &[
    "ALTER TABLE orders ALTER COLUMN account_id TYPE bigint",
    "ALTER TABLE payments ALTER COLUMN account_id TYPE bigint",
    "ALTER TABLE accounts ALTER COLUMN id TYPE bigint",
];

/// One scenario: the schema before and after, how to seed it, the
/// clients' queries, the naive DDL, and the checksum of what must not
/// change.
struct Scenario {
    name: &'static str,
    v1: String,
    v2: String,
    naive: &'static [&'static str],
    seed: fn(i64) -> String,
    query: load::Query,
    checksum: fn(i64) -> String,
    /// Kill a first migrate partway through its backfills, then resume.
    kill_migrate: bool,
}

fn scenario(name: &str) -> Result<Scenario, String> {
    match name {
        "columns" => Ok(Scenario {
            name: "columns",
            v1: V1.to_string(),
            v2: V2.to_string(),
            naive: NAIVE,
            seed: |rows| {
                format!(
                    "INSERT INTO teams SELECT g FROM generate_series(1, 100) g;
                     INSERT INTO regions SELECT g FROM generate_series(1, 10) g;
                     INSERT INTO accounts (team_id, region_id, name, score, legacy)
                     SELECT 1 + g % 100, 1 + g % 10, 'account ' || g, g % 1000, 'l' || g FROM generate_series(1, {rows}) g"
                )
            },
            query: columns_query,
            // Columns the seed wrote that no version changes.
            checksum: |rows| {
                format!(
                    "SELECT count(*)::text || md5(string_agg(id::text || ':' || team_id::text || ':' || coalesce(region_id, 0)::text || ':' || created_at::text, ',' ORDER BY id)) FROM accounts WHERE id <= {rows}"
                )
            },
            kill_migrate: false,
        }),
        "keys" => Ok(Scenario {
            name: "keys",
            v1: KEYS_V1.to_string(),
            v2: KEYS_V1
                .replace(
                    "id: { type: integer, identity: always }",
                    "id: { type: bigint, identity: always }",
                )
                .replace("account_id: { type: integer", "account_id: { type: bigint"),
            naive: KEYS_NAIVE,
            seed: |rows| {
                format!(
                    "INSERT INTO accounts (name) SELECT 'account ' || g FROM generate_series(1, {rows}) g;
                     INSERT INTO orders (account_id, total) SELECT 1 + (g * 7) % {rows}, g % 100 FROM generate_series(1, {}) g;
                     INSERT INTO payments (account_id, amount) SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + (g * 13) % {rows} END, g % 50 FROM generate_series(1, {}) g",
                    rows / 2,
                    rows / 4
                )
            },
            query: keys_query,
            // Every seeded id and every reference to one, as text (the
            // same for integer and bigint).
            checksum: |rows| {
                format!(
                "SELECT (SELECT count(*)::text || md5(string_agg(id::text, ',' ORDER BY id)) FROM accounts WHERE id <= {rows})
                     || (SELECT count(*)::text || md5(string_agg(id::text || ':' || account_id::text || ':' || total::text, ',' ORDER BY id)) FROM orders WHERE id <= {})
                     || (SELECT count(*)::text || md5(string_agg(id::text || ':' || coalesce(account_id, 0)::text, ',' ORDER BY id)) FROM payments WHERE id <= {})",
                rows / 2,
                rows / 4
            )
            },
            kill_migrate: true,
        }),
        other => Err(format!("unknown scenario {other:?}: columns or keys")),
    }
}

/// A mix of single-row INSERT, UPDATE by id, SELECT by id and SELECT by
/// id from the view, in the terms of app version `version`.
fn columns_query(version: u8, turn: u64, id: i64) -> String {
    let team = 1 + id % 100;
    match (version, turn % 4) {
        // Both versions read the view the same way.
        (_, 3) => format!("SELECT id, name, score FROM account_scores WHERE id = {id}"),
        (OLD, 0) => format!(
            "INSERT INTO accounts (team_id, region_id, name, score, legacy) VALUES ({team}, 1, 'old {id}', 1, 'x')"
        ),
        (OLD, 1) => {
            format!("UPDATE accounts SET score = score + 1, name = 'old ' || id WHERE id = {id}")
        }
        (OLD, _) => format!("SELECT id, name, score, legacy FROM accounts WHERE id = {id}"),
        (_, 0) => format!(
            "INSERT INTO accounts (team_id, region_id, display_name, score, name_len) VALUES ({team}, 2, 'new {id}', 2, 6)"
        ),
        (_, 1) => format!(
            "UPDATE accounts SET score = score + 1, display_name = 'new ' || id WHERE id = {id}"
        ),
        (_, _) => format!("SELECT id, display_name, score, name_len FROM accounts WHERE id = {id}"),
    }
}

/// A parent and a child inserted together, a child of a random parent, an
/// update by id and a join by id: the same for both versions (the names
/// stay; until contract both write values that fit `integer`).
fn keys_query(version: u8, turn: u64, id: i64) -> String {
    match turn % 4 {
        0 => format!(
            "WITH a AS (INSERT INTO accounts (name) VALUES ('v{version} {id}') RETURNING id) INSERT INTO orders (account_id, total) SELECT id, 1 FROM a"
        ),
        1 => format!("INSERT INTO payments (account_id, amount) VALUES ({id}, 5)"),
        2 => format!("UPDATE accounts SET name = 'u{version} ' || id WHERE id = {id}"),
        _ => format!(
            "SELECT a.name, count(o.id) FROM accounts a LEFT JOIN orders o ON o.account_id = a.id WHERE a.id = {id} GROUP BY a.name"
        ),
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sc = scenario(&arg("--scenario").unwrap_or_else(|| "columns".into()))?;
    // The child a `keys` run kills: it only runs migrate.
    if let Some(url) = arg("--child-migrate") {
        let target = bellows::spec::read_str(std::path::Path::new("v2"), &sc.v2)?;
        apply(
            &url,
            Some(&target),
            PhaseSel::One(Phase::Migrate),
            &options(),
            &Silent,
        )
        .await?;
        return Ok(());
    }
    let rows = num("--rows", 2_000_000) as i64;
    let clients = num("--clients", 8) as usize;
    let json_path = arg("--json").unwrap_or_else(|| format!("zero_downtime_{}.json", sc.name));
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let root = server
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .ok_or("TEST_DATABASE_URL needs a database path")?;
    let mut admin = PgConnection::connect(&server).await?;
    let mut report = Vec::new();
    for approach in ["bellows", "naive"] {
        let db = format!("bellows_zd_{}_{approach}_{}", sc.name, std::process::id());
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .await?;
        let url = format!("{root}/{db}");
        let r = run(&sc, approach, &url, rows, clients).await;
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .await?;
        report.extend(r?);
    }
    load::print(&report);
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("\nwritten to {json_path}");
    Ok(())
}

fn options() -> ApplyOptions {
    ApplyOptions {
        allow_hazards: vec![HazardKind::DataLoss],
        ..ApplyOptions::default()
    }
}

async fn seed(sc: &Scenario, url: &str, rows: i64) -> Result<(), Box<dyn std::error::Error>> {
    let v1 = bellows::spec::read_str(std::path::Path::new("v1"), &sc.v1)?;
    let mut c = PgConnection::connect(url).await?;
    c.execute(AssertSqlSafe(
        bellows::sql::postgres::create_all(&v1).join(";\n"),
    ))
    .await?;
    sqlx::raw_sql(AssertSqlSafe((sc.seed)(rows)))
        .execute(&mut c)
        .await?;
    c.execute("VACUUM ANALYZE").await?;
    Ok(())
}

async fn checksum(sc: &Scenario, pool: &PgPool, rows: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(AssertSqlSafe((sc.checksum)(rows)))
        .fetch_one(pool)
        .await
}

/// Migrate in a child process, killed with SIGKILL once its backfills
/// have written `rows` rows; then migrate again here, which resumes.
/// Returns the rows the killed one had done.
async fn killed_then_resumed(
    sc: &Scenario,
    pool: &PgPool,
    url: &str,
    target: &bellows::model::Schema,
    rows: i64,
) -> Result<i64, Box<dyn std::error::Error>> {
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["--scenario", sc.name, "--child-migrate", url])
        .spawn()?;
    let t0 = Instant::now();
    let done = loop {
        let done: i64 =
            sqlx::query_scalar("SELECT coalesce(sum(rows_done), 0)::int8 FROM bellows.steps")
                .fetch_one(pool)
                .await
                .unwrap_or(0);
        if done >= rows {
            break done;
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("the migrate to be killed ended first ({status})").into());
        }
        if t0.elapsed() > Duration::from_secs(600) {
            return Err("the backfills did not reach the point to kill".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill()?;
    child.wait()?;
    println!(
        "{}: migrate killed (SIGKILL) after {done} rows backfilled; resuming",
        sc.name
    );
    apply(
        url,
        Some(target),
        PhaseSel::One(Phase::Migrate),
        &options(),
        &Silent,
    )
    .await?;
    Ok(done)
}

async fn run(
    sc: &Scenario,
    approach: &str,
    url: &str,
    rows: i64,
    clients: usize,
) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    seed(sc, url, rows).await?;
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32 + 2)
        .connect(url)
        .await?;
    let before = checksum(sc, &pool, rows).await?;
    let shared = load::Shared::new(rows);
    let mut tasks = Vec::new();
    for n in 0..clients {
        tasks.push(tokio::spawn(load::client(
            pool.clone(),
            shared.clone(),
            n as u64,
            sc.query,
        )));
    }
    tasks.push(tokio::spawn(load::sampler(pool.clone(), shared.clone())));
    let target = bellows::spec::read_str(std::path::Path::new("v2"), &sc.v2)?;
    let mut windows: Vec<(String, f64)> = Vec::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    if approach == "bellows" {
        for (i, phase) in Phase::ALL.into_iter().enumerate() {
            shared.window.store(i as u8, Ordering::Relaxed);
            let t = Instant::now();
            let name = phase.name().to_string();
            if phase == Phase::Migrate && sc.kill_migrate {
                killed_then_resumed(sc, &pool, url, &target, rows / 2).await?;
            } else {
                apply(
                    url,
                    Some(&target),
                    PhaseSel::One(phase),
                    &options(),
                    &Silent,
                )
                .await?;
            }
            windows.push((name, t.elapsed().as_secs_f64()));
            match phase {
                // A rolling deploy: the new app joins after expand...
                Phase::Expand => shared.apps.store(OLD | NEW, Ordering::Relaxed),
                // ...and the old one is gone before contract.
                Phase::Migrate => shared.apps.store(NEW, Ordering::Relaxed),
                Phase::Contract => {}
            }
        }
        // The database is the target now: a new plan has nothing to do.
        // (The target's views in the server's words, as `plan` reads them.)
        let found = bellows::introspect::introspect_url(url, &Default::default()).await?;
        let mut target = target.clone();
        bellows::introspect::canonicalize_url(url, &found.schema, &mut target).await?;
        let again = bellows::plan::plan(&found.schema, &target, &Default::default())?;
        if let Some(s) = again.steps.first() {
            return Err(
                format!("{}: a new plan after contract: {}", sc.name, s.description).into(),
            );
        }
        println!(
            "{}: after contract the database is the target (a new plan is empty)",
            sc.name
        );
    } else {
        shared.window.store(0, Ordering::Relaxed);
        let t = Instant::now();
        let mut c = PgConnection::connect(url).await?;
        // A statement that fails (a deadlock with a client) is run again
        // until it passes, as an operator would; the failures are told.
        for stmt in sc.naive {
            let mut failed = 0;
            while let Err(e) = c.execute(*stmt).await {
                failed += 1;
                if failed == 1 {
                    println!("{}: naive `{stmt}` failed ({e}); running it again", sc.name);
                }
                if failed == 20 {
                    return Err(e.into());
                }
            }
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
    let after = checksum(sc, &pool, rows).await?;
    let out = load::rows(&shared, approach, &windows, before == after);
    pool.close().await;
    Ok(out)
}
