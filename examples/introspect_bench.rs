//! Introspection cost as a schema grows: N tables (about 10 columns, 2
//! indexes and 1 foreign key each) for N = 100, 1000, 5000, reporting the
//! time and number of catalog queries per N, over one session and over
//! two sharing the queries on one snapshot (as `plan` and `dump` read).
//! The time per table should stay flat: bellows reads each object kind
//! with one query.
//!
//!     cargo run --release --example introspect_bench [-- 100 1000 5000]
//!
//! Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! to create, and afterwards drop, a scratch database.

use std::time::{Duration, Instant};

use bellows::introspect::Options;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

#[path = "support/scratch.rs"]
mod scratch;

fn table_ddl(i: usize) -> String {
    let fk = if i == 0 {
        String::new()
    } else {
        format!(
            ", CONSTRAINT t{i}_parent_fk FOREIGN KEY (parent_id) REFERENCES t{} (id)",
            i - 1
        )
    };
    format!(
        "CREATE TABLE t{i} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            parent_id bigint,
            name text NOT NULL,
            email varchar(200),
            score integer NOT NULL DEFAULT 0,
            price numeric(12,2),
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            payload jsonb,
            tags text[]{fk});
         CREATE INDEX t{i}_name_idx ON t{i} (name);
         CREATE INDEX t{i}_created_idx ON t{i} (created_at DESC) WHERE active;"
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![100, 1000, 5000];
    }
    sizes.sort_unstable();
    let db = format!("bellows_bench_{}", std::process::id());
    scratch::with_database(&db, |url| async move { run(&url, &sizes).await }).await
}

async fn run(url: &str, sizes: &[usize]) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = PgConnection::connect(url).await?;
    println!(
        "{:>7} {:>9} {:>12} {:>14} {:>13} {:>8} {:>11}",
        "tables", "objects", "introspect", "per table", "two sessions", "queries", "connect"
    );
    let mut created = 0;
    for &n in sizes {
        while created < n {
            let batch: Vec<String> = (created..n.min(created + 200)).map(table_ddl).collect();
            conn.execute(AssertSqlSafe(batch.join("\n"))).await?;
            created = n.min(created + 200);
        }
        conn.execute("VACUUM ANALYZE").await?;
        // Medians of 5 runs each, one session and two alternating, after
        // one warm-up of each; connecting is timed apart.
        let mut one: Vec<Duration> = Vec::new();
        let mut two: Vec<Duration> = Vec::new();
        let mut connects: Vec<Duration> = Vec::new();
        let mut queries = 0;
        let mut objects = 0;
        let bellows::conn::Target::Postgres(info) = bellows::conn::Target::parse(url)? else {
            return Err("introspect_bench measures PostgreSQL: give a postgres:// URL".into());
        };
        for run in 0..12 {
            let shared = run % 2 == 1;
            let start = Instant::now();
            let mut c = info.connect().await?;
            let connected = start.elapsed();
            // Connected before the clock starts, as the first.
            let helper = if shared {
                Some(info.connect().await?)
            } else {
                None
            };
            let start = Instant::now();
            let found = bellows::introspect::postgres::introspect_with(
                &mut c,
                helper.map(|h| std::future::ready(Some(h))),
                &Options::default(),
            )
            .await?;
            let took = start.elapsed();
            let _ = c.close().await;
            assert_eq!(found.schema.tables.len(), n);
            assert_eq!(found.sessions, if shared { 2 } else { 1 });
            queries = found.queries;
            objects = found
                .schema
                .tables
                .values()
                .map(|t| {
                    1 + t.columns.len()
                        + t.indexes.len()
                        + t.foreign_keys.len()
                        + usize::from(t.primary_key.is_some())
                })
                .sum();
            if run > 1 {
                if shared {
                    two.push(took);
                } else {
                    one.push(took);
                    connects.push(connected);
                }
            }
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (m1, m2) = (median(&mut one), median(&mut two));
        println!(
            "{:>7} {:>9} {:>10.1}ms {:>12.1}µs {:>11.1}ms {:>8} {:>9.1}ms",
            n,
            objects,
            m1.as_secs_f64() * 1e3,
            m1.as_secs_f64() * 1e6 / n as f64,
            m2.as_secs_f64() * 1e3,
            queries,
            median(&mut connects).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
