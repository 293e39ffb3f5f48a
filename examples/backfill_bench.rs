//! Backfill throughput: adding a NOT NULL column computed from another
//! column, by bellows (batched, checkpointed, with its sync trigger in
//! place, batches sized by `--batch-time`) against one plain `UPDATE` of
//! the same table on the same server, the physical limit for this work.
//! Also reports the longest batch, which bounds how long any row lock is
//! held.
//!
//!     cargo run --release --example backfill_bench -- [ROWS...] [--runs N] [--batch-size N] [--batch-time MS]
//!
//! Defaults: 500000 and 2000000 rows, 3 runs. Each size is seeded once
//! into a template database; every run gets a fresh copy of it. The two
//! contenders alternate (bellows first in odd runs, the UPDATE first in
//! even ones), so a machine that gets slower or faster during the
//! benchmark does not favour either; the ratio is of the medians.
//!
//! Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! to create, and afterwards drop, scratch databases.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bellows::apply::{ApplyOptions, Event, Observer, PhaseSel, apply};
use bellows::plan::Phase;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

type Error = Box<dyn std::error::Error>;

const V1: &str = "tables:\n  t:\n    columns:\n      id: { type: bigint, identity: always }\n      name: { type: text, nullable: false }\n      payload: { type: text }\n    primary_key: [id]\n";

#[derive(Default)]
struct Timing {
    last: Mutex<Option<Instant>>,
    longest: Mutex<Duration>,
    batches: Mutex<u64>,
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
            Event::BackfillProgress { finished, .. } => {
                let mut last = self.last.lock().expect("lock");
                if let Some(l) = *last
                    && !finished
                {
                    let mut longest = self.longest.lock().expect("lock");
                    *longest = (*longest).max(now - l);
                    *self.batches.lock().expect("lock") += 1;
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

struct Args {
    sizes: Vec<u64>,
    runs: usize,
    batch_size: Option<u32>,
    batch_time: Option<Duration>,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        sizes: Vec::new(),
        runs: 3,
        batch_size: None,
        batch_time: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => a.runs = value()?.parse()?,
            "--batch-size" => a.batch_size = Some(value()?.parse()?),
            "--batch-time" => a.batch_time = Some(Duration::from_millis(value()?.parse()?)),
            n => a
                .sizes
                .push(n.parse().map_err(|_| format!("not a row count: {n}"))?),
        }
    }
    if a.sizes.is_empty() {
        a.sizes = vec![500_000, 2_000_000];
    }
    Ok(a)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let a = args()?;
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let root = server
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .ok_or("TEST_DATABASE_URL needs a database path")?;
    let mut admin = PgConnection::connect(&server).await?;
    let pid = std::process::id();
    let template = format!("bellows_bf_tpl_{pid}");
    let scratch = format!("bellows_bf_run_{pid}");
    let mut result = Ok(());
    for &rows in &a.sizes {
        println!("== {rows} rows, {} runs", a.runs);
        let r = size(&mut admin, &root, &template, &scratch, rows, &a).await;
        for db in [&scratch, &template] {
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                )))
                .await?;
        }
        if let Err(e) = r {
            result = Err(e);
        }
    }
    result
}

async fn size(
    admin: &mut PgConnection,
    root: &str,
    template: &str,
    scratch: &str,
    rows: u64,
    a: &Args,
) -> Result<(), Error> {
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {template}")))
        .await?;
    seed(&format!("{root}/{template}"), rows).await?;
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *admin)
        .await?;
    let strategy = if version >= 150_000 {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    let mut ours = Vec::new();
    let mut plain = Vec::new();
    for run in 0..a.runs {
        let order = if run % 2 == 0 {
            ["bellows", "update"]
        } else {
            ["update", "bellows"]
        };
        for who in order {
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"
                )))
                .await?;
            // A file copy (PostgreSQL 15 would otherwise write the whole
            // copy to the WAL), then a checkpoint: every run starts with
            // no dirty buffers and no checkpoint due.
            admin
                .execute(AssertSqlSafe(format!(
                    "CREATE DATABASE {scratch} TEMPLATE {template}{strategy}"
                )))
                .await?;
            admin.execute("CHECKPOINT").await?;
            let url = format!("{root}/{scratch}");
            if who == "update" {
                let s = plain_update(&url).await?;
                println!(
                    "run {}: plain UPDATE {:.2}s = {:.0} rows/s (one transaction: every row stays locked until the end)",
                    run + 1,
                    s,
                    rows as f64 / s
                );
                plain.push(s);
            } else {
                let (s, longest, batches) = bellows_backfill(&url, a).await?;
                println!(
                    "run {}: bellows      {:.2}s = {:.0} rows/s ({batches} batches, longest {:.0} ms = {:.0}% of lock_timeout 2 s)",
                    run + 1,
                    s,
                    rows as f64 / s,
                    longest.as_secs_f64() * 1e3,
                    100.0 * longest.as_secs_f64() / 2.0,
                );
                ours.push(s);
            }
        }
    }
    let ratios: Vec<String> = ours
        .iter()
        .zip(&plain)
        .map(|(o, p)| format!("{:.0}%", 100.0 * p / o))
        .collect();
    let (m_ours, m_plain) = (median(&mut ours), median(&mut plain));
    println!(
        "ratio: bellows reaches {:.0}% of the plain UPDATE's throughput (medians {:.2}s and {:.2}s; run by run: {}) — target: at least 85%",
        100.0 * m_plain / m_ours,
        m_ours,
        m_plain,
        ratios.join(", ")
    );
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn seed(url: &str, rows: u64) -> Result<(), Error> {
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
    c.execute("CHECKPOINT").await?;
    c.close().await?;
    Ok(())
}

async fn plain_update(url: &str) -> Result<f64, Error> {
    let mut c = PgConnection::connect(url).await?;
    c.execute("ALTER TABLE t ADD COLUMN name_len integer")
        .await?;
    let t = Instant::now();
    c.execute("UPDATE t SET name_len = length(name)").await?;
    let took = t.elapsed().as_secs_f64();
    c.close().await?;
    Ok(took)
}

async fn bellows_backfill(url: &str, a: &Args) -> Result<(f64, Duration, u64), Error> {
    let v2 = bellows::spec::read_str(
        std::path::Path::new("v2"),
        &V1.replace("    primary_key", "      name_len: { type: integer, nullable: false, backfill: length(name) }\n    primary_key"),
    )?;
    let defaults = ApplyOptions::default();
    let opts = ApplyOptions {
        batch_size: a.batch_size,
        batch_time: a.batch_time.unwrap_or(defaults.batch_time),
        ..defaults
    };
    let timing = Timing::default();
    apply(url, Some(&v2), PhaseSel::One(Phase::Expand), &opts, &timing).await?;
    apply(url, None, PhaseSel::One(Phase::Migrate), &opts, &timing).await?;
    let took = *timing.total.lock().expect("lock");
    let longest = *timing.longest.lock().expect("lock");
    let batches = *timing.batches.lock().expect("lock");
    Ok((took.as_secs_f64(), longest, batches))
}
