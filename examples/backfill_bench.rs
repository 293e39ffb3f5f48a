//! Backfill throughput: adding a NOT NULL column computed from another
//! column of a 500,000-row table, by bellows (batched, checkpointed, with
//! its sync trigger in place) against one plain `UPDATE` of the same
//! table on the same server, the physical limit for this work. Also
//! reports the longest batch, which bounds how long any row lock is held.
//!
//!     cargo run --release --example backfill_bench [-- ROWS [BATCH]]
//!
//! Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! to create, and afterwards drop, a scratch database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bellows::apply::{ApplyOptions, Event, Observer, PhaseSel, apply};
use bellows::plan::Phase;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

const V1: &str = "tables:\n  t:\n    columns:\n      id: { type: bigint, identity: always }\n      name: { type: text, nullable: false }\n      payload: { type: text }\n    primary_key: [id]\n";

struct Timing {
    last: Mutex<Option<Instant>>,
    longest: Mutex<Duration>,
    started: Mutex<Option<Instant>>,
    total: Mutex<Duration>,
}

impl Observer for Timing {
    fn on(&self, e: Event<'_>) {
        let now = Instant::now();
        match e {
            Event::StepStarted { step, .. } if step.backfill.is_some() => {
                *self.started.lock().expect("lock") = Some(now);
                *self.last.lock().expect("lock") = Some(now);
            }
            Event::BackfillProgress { .. } => {
                let mut last = self.last.lock().expect("lock");
                if let Some(l) = *last {
                    let mut longest = self.longest.lock().expect("lock");
                    *longest = (*longest).max(now - l);
                }
                *last = Some(now);
            }
            Event::StepFinished { step, .. } if step.backfill.is_some() => {
                if let Some(s) = *self.started.lock().expect("lock") {
                    *self.total.lock().expect("lock") = now - s;
                }
            }
            _ => {}
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = args.first().copied().unwrap_or(500_000);
    let batch = args.get(1).copied().unwrap_or(5000) as u32;
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let root = server
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .ok_or("TEST_DATABASE_URL needs a database path")?;
    let mut admin = PgConnection::connect(&server).await?;
    let mut result = Ok(());
    let mut secs = Vec::new();
    for (label, db) in [
        ("bellows", format!("bellows_bf_a_{}", std::process::id())),
        ("update", format!("bellows_bf_b_{}", std::process::id())),
    ] {
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .await?;
        let url = format!("{root}/{db}");
        let r = run(label, &url, rows, batch).await;
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .await?;
        match r {
            Ok((line, s)) => {
                println!("{line}");
                secs.push(s);
            }
            Err(e) => result = Err(e),
        }
    }
    if let [ours, plain] = secs[..] {
        println!(
            "ratio        : bellows reaches {:.0}% of the plain UPDATE's throughput (target: at least 70%)",
            100.0 * plain / ours
        );
    }
    result
}

async fn seed(url: &str, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    let v1 = bellows::spec::read_str(std::path::Path::new("v1"), V1)?;
    let mut c = PgConnection::connect(url).await?;
    c.execute(AssertSqlSafe(
        bellows::sql::postgres::create_all(&v1).join(";\n"),
    ))
    .await?;
    c.execute(AssertSqlSafe(format!(
        "INSERT INTO t (name, payload) SELECT 'name ' || g, repeat('x', 100) FROM generate_series(1, {rows}) g"
    )))
    .await?;
    c.execute("VACUUM ANALYZE t").await?;
    Ok(())
}

async fn run(
    label: &str,
    url: &str,
    rows: u64,
    batch: u32,
) -> Result<(String, f64), Box<dyn std::error::Error>> {
    seed(url, rows).await?;
    if label == "update" {
        let mut c = PgConnection::connect(url).await?;
        c.execute("ALTER TABLE t ADD COLUMN name_len integer")
            .await?;
        let t = Instant::now();
        c.execute("UPDATE t SET name_len = length(name)").await?;
        let took = t.elapsed();
        return Ok((
            format!(
                "plain UPDATE : {rows} rows in {:.2}s = {:.0} rows/s (one transaction: every row stays locked until the end)",
                took.as_secs_f64(),
                rows as f64 / took.as_secs_f64()
            ),
            took.as_secs_f64(),
        ));
    }
    let v2 = bellows::spec::read_str(
        std::path::Path::new("v2"),
        &V1.replace("    primary_key", "      name_len: { type: integer, nullable: false, backfill: length(name) }\n    primary_key"),
    )?;
    let opts = ApplyOptions {
        batch_size: batch,
        ..ApplyOptions::default()
    };
    let timing = Timing {
        last: Mutex::new(None),
        longest: Mutex::new(Duration::ZERO),
        started: Mutex::new(None),
        total: Mutex::new(Duration::ZERO),
    };
    apply(url, Some(&v2), PhaseSel::One(Phase::Expand), &opts, &timing).await?;
    apply(url, None, PhaseSel::One(Phase::Migrate), &opts, &timing).await?;
    let took = *timing.total.lock().expect("lock");
    let longest = *timing.longest.lock().expect("lock");
    let line = format!(
        "bellows      : {rows} rows in {:.2}s = {:.0} rows/s (batches of {batch}; longest batch {:.0} ms = {:.0}% of lock_timeout {:.0} ms)",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        longest.as_secs_f64() * 1e3,
        100.0 * longest.as_secs_f64() / opts.lock_timeout.as_secs_f64(),
        opts.lock_timeout.as_secs_f64() * 1e3
    );
    Ok((line, took.as_secs_f64()))
}
