//! Round-trips real schemas through bellows, the check of issue 12:
//!
//! ```sh
//! cargo run --release --example real_schema -- pagila-schema.sql structure.sql
//! ```
//!
//! Each file (a `pg_dump --schema-only`, a Rails `db/structure.sql`) is
//! loaded with `psql` into a scratch database A; `bellows dump` of A must
//! plan to zero steps against A; `apply --phase all` of that dump onto an
//! empty database B must succeed and plan to zero steps again; and
//! `pg_dump --schema-only` of A and B must print the same lines (as sets:
//! comments, `SET` and `\` lines, blank lines and trailing commas set
//! aside, as migra's conformance README compares them). Prints a line per
//! file with the figures and the lines that differ; exits 1 when one fails.
//! Databases on the server TEST_DATABASE_URL names (default
//! postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.

#[path = "support/pg_dump.rs"]
mod pg_dump;
#[path = "support/scratch.rs"]
mod scratch;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::introspect::{Options, introspect_url};
use bellows::plan::{HazardKind, plan};
use bellows::spec::{self, WriteOptions};

type Error = Box<dyn std::error::Error>;

/// The number of steps from the live database at `url` to `yaml`.
async fn steps_to(url: &str, yaml: &str) -> Result<usize, Error> {
    let live = introspect_url(url, &Options::default()).await?;
    let mut target = spec::read_str(Path::new("dump.yaml"), yaml)?;
    bellows::introspect::canonicalize_url(url, &live.schema, &mut target).await?;
    Ok(plan(&live.schema, &target, &live.plan_options())?
        .steps
        .len())
}

async fn round_trip(file: &Path, n: usize) -> Result<String, Error> {
    let a_name = format!("bellows_real_a_{}_{n}", std::process::id());
    let b_name = format!("bellows_real_b_{}_{n}", std::process::id());
    scratch::with_database(&a_name, |a| async move {
        let load = Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &a, "-f"])
            .arg(file)
            .output()?;
        if !load.status.success() {
            return Err(format!("psql: {}", String::from_utf8_lossy(&load.stderr)).into());
        }
        let t = Instant::now();
        let live = introspect_url(&a, &Options::default()).await?;
        let yaml = spec::to_yaml(&live.schema, WriteOptions::default());
        let dumped = t.elapsed();
        let tables = live.schema.tables.len();
        let against_a = steps_to(&a, &yaml).await?;
        let whole_a = pg_dump::whole_schema(&a)?;
        scratch::with_database(&b_name, |b| async move {
            let target = spec::read_str(Path::new("dump.yaml"), &yaml)?;
            let opts = ApplyOptions {
                allow_hazards: HazardKind::ALL.to_vec(),
                ..ApplyOptions::default()
            };
            let t = Instant::now();
            apply(&b, Some(&target), PhaseSel::All, &opts, &Silent).await?;
            let applied = t.elapsed();
            let against_b = steps_to(&b, &yaml).await?;
            let whole_b = pg_dump::whole_schema(&b)?;
            let differ = pg_dump::differing(&whole_a, &whole_b);
            let ok = against_a == 0 && against_b == 0 && differ.is_empty();
            let line = format!(
                "{verdict} {file}: {tables} tables, {lines} pg_dump lines; dump {dumped:.2?}, plan against the source {against_a} steps; \
                 apply --phase all onto an empty database {applied:.2?}, then {against_b} steps; pg_dump lines that differ: {n}{list}",
                verdict = if ok { "pass" } else { "FAIL" },
                file = file.display(),
                lines = whole_a.len(),
                n = differ.len(),
                list = if differ.is_empty() {
                    String::new()
                } else {
                    format!("\n  {}", differ.join("\n  "))
                },
            );
            if ok { Ok(line) } else { Err(line.into()) }
        })
        .await
    })
    .await
}

#[tokio::main]
async fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: cargo run --release --example real_schema -- SCHEMA.sql...");
        std::process::exit(2);
    }
    let mut failed = false;
    for (n, f) in files.iter().enumerate() {
        match round_trip(Path::new(f), n).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                failed = true;
                println!("{e}");
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
