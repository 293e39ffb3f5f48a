//! The load side of the proofs under load: clients that keep querying
//! while a migration runs, a sampler of lock waits, and the per-window
//! figures (errors, latency percentiles, longest lock wait).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, PgPool};

/// The old app version, as a bit of `Shared::apps`.
pub const OLD: u8 = 1;
/// The new app version, as a bit of `Shared::apps`.
pub const NEW: u8 = 2;

#[derive(Default, Clone)]
pub struct Stats {
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub lock_wait_ms: u64,
}

pub struct Shared {
    /// Index of the current phase window, for attributing measurements.
    pub window: AtomicU8,
    /// Which app versions run now (bit OLD, bit NEW).
    pub apps: AtomicU8,
    pub stop: AtomicBool,
    pub stats: Mutex<BTreeMap<u8, Stats>>,
    /// The largest id the seed wrote: clients pick rows up to it.
    pub max_id: i64,
}

impl Shared {
    pub fn new(max_id: i64) -> Arc<Shared> {
        Arc::new(Shared {
            window: AtomicU8::new(0),
            apps: AtomicU8::new(OLD),
            stop: AtomicBool::new(false),
            stats: Mutex::new(BTreeMap::new()),
            max_id,
        })
    }
}

/// A client's next query, given the app version it runs as, its turn and
/// a random id among the seeded rows.
pub type Query = fn(version: u8, turn: u64, id: i64) -> String;

fn random(seed: &mut u64, max: i64) -> i64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    1 + (*seed % max.max(1) as u64) as i64
}

/// One client: the queries `next` gives, in the terms of whichever app
/// versions run now (alternating while both do), until told to stop.
pub async fn client(pool: PgPool, shared: Arc<Shared>, n: u64, next: Query) {
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
        let sql = next(version, turn, id);
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
pub async fn sampler(pool: PgPool, shared: Arc<Shared>) {
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

/// One report row per window: `(name, seconds it took)` in window order.
pub fn rows(
    shared: &Shared,
    approach: &str,
    windows: &[(String, f64)],
    intact: bool,
) -> Vec<serde_json::Value> {
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
    out
}

/// The report as a table on stdout.
pub fn print(report: &[serde_json::Value]) {
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
    for r in report {
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
}
