//! What `bellows plan` costs against a live database, and how close that
//! is to the floor: the catalog queries any planner has to run.
//!
//!     cargo build --release
//!     cargo run --release --example plan_bench              # N = 2000
//!     cargo run --release --example plan_bench -- 100 2000 10000
//!
//! For each N, a scratch database with N synthetic tables (ten columns
//! with defaults, a primary key, an index, a check and a foreign key each;
//! dropped afterwards) and the same schema as a target file, so the plan
//! is empty. Then:
//!
//! - `bellows dump` and `bellows plan` as whole processes (the release
//!   binary beside this example): median wall time of five runs after a
//!   warm-up, and plan's peak resident memory;
//! - the floor: connecting as bellows does, then the eight catalog
//!   queries a planner needs, written as plainly as possible (with the
//!   server formatting types, defaults, constraints and indexes, which is
//!   the only exact source of those), median of five, in this process;
//! - `ratio`: plan's wall time over the floor's;
//! - the split of plan's work, each part timed alone in this process
//!   (median of seven): parsing the target file, reading the database
//!   (connecting included), planning with nothing to do, planning a change
//!   of 2 N steps (a column and an index added to every table), and one
//!   fingerprint.
//!
//! Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bellows::introspect::{Options, introspect_url};
use bellows::model::{ColumnType, Ident, Index, IndexKey, Schema};
use bellows::plan::{fingerprint, plan};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

#[path = "support/scratch.rs"]
mod scratch;
#[path = "support/synthetic.rs"]
mod synthetic;

type Error = Box<dyn std::error::Error>;

/// The catalog queries a planner needs, as plainly as they can be
/// written; `{S}` is the filter on user schemas.
const FLOOR: &[&str] = &[
    "SELECT nspname FROM pg_namespace n WHERE {S}",
    "SELECT n.nspname, t.typname, e.enumlabel FROM pg_enum e
       JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {S}",
    "SELECT n.nspname, c.relname, s.* FROM pg_sequence s
       JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {S}",
    "SELECT n.nspname, c.relname, c.relkind FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {S}",
    "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
            a.attidentity, pg_get_expr(d.adbin, d.adrelid)
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND {S}",
    "SELECT con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid)
       FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace WHERE {S}",
    "SELECT i.indrelid, pg_get_indexdef(i.indexrelid)
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {S}",
    "SELECT d.objoid, d.objsubid, d.description FROM pg_description d
       JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {S}",
];

const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                            AND n.nspname NOT LIKE 'pg\\_toast%'";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .map_err(|_| format!("`{a}` is not a number of tables"))
        })
        .collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        sizes = vec![2000];
    }
    let bin = bellows_binary()?;
    let dir = tempfile::tempdir()?;
    println!(
        "{:>6} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} | {:>7} {:>7} {:>8} {:>9} {:>6}",
        "tables",
        "dump ms",
        "plan ms",
        "floor ms",
        "ratio",
        "peak MiB",
        "KB/table",
        "parse",
        "read",
        "plan 0",
        "plan 2N",
        "fp"
    );
    for n in sizes {
        let db = format!("bellows_plan_bench_{}_{n}", std::process::id());
        let (bin, dir) = (&bin, dir.path());
        scratch::with_database(&db, |url| async move { measure(bin, &url, n, dir).await }).await?;
    }
    Ok(())
}

async fn measure(bin: &Path, url: &str, n: usize, dir: &Path) -> Result<(), Error> {
    let mut conn = PgConnection::connect(url).await?;
    for start in (0..n).step_by(200) {
        let batch: Vec<String> = (start..n.min(start + 200)).map(synthetic::ddl).collect();
        conn.execute(AssertSqlSafe(batch.join("\n"))).await?;
    }
    conn.execute("VACUUM ANALYZE").await?;
    conn.close().await?;
    let target = dir.join(format!("t{n}.yaml"));
    synthetic::generate(n, &target)?;
    let target_arg = target.to_string_lossy().into_owned();

    // The whole processes.
    let dump = process(bin, &["dump", "--database-url", url, "-o", "/dev/null"])?;
    let plan_runs = process(
        bin,
        &[
            "plan",
            "--database-url",
            url,
            "--target",
            &target_arg,
            "--exit-code",
        ],
    )?;

    // The floor, in this process.
    let bellows::conn::Target::Postgres(info) = bellows::conn::Target::parse(url)? else {
        return Err("plan_bench measures PostgreSQL: give a postgres:// URL".into());
    };
    let floor = median_async(5, || async {
        let mut c = info.connect().await?;
        for q in FLOOR {
            sqlx::raw_sql(AssertSqlSafe(q.replace("{S}", USER_SCHEMAS)))
                .fetch_all(&mut c)
                .await?;
        }
        c.close().await?;
        Ok(())
    })
    .await?;

    // The split, in this process.
    let parse = median(7, || {
        bellows::spec::read_file(&target)
            .map(|_| ())
            .map_err(Error::from)
    })?;
    let read = median_async(7, || async {
        introspect_url(url, &Options::default()).await?;
        Ok(())
    })
    .await?;
    let current = introspect_url(url, &Options::default()).await?;
    let wanted = bellows::spec::read_file(&target)?;
    let opts = current.plan_options();
    if !plan(&current.schema, &wanted, &opts)?.is_empty() {
        return Err("the synthetic database does not plan to nothing against its file".into());
    }
    let grown = grown(&wanted);
    let plan_none = median(7, || {
        plan(&current.schema, &wanted, &opts)?;
        Ok(())
    })?;
    let plan_grow = median(7, || {
        plan(&current.schema, &grown, &opts)?;
        Ok(())
    })?;
    let fp = median(7, || {
        std::hint::black_box(fingerprint(&current.schema));
        Ok(())
    })?;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{n:>6} {:>8.0} {:>8.0} {:>8.0} {:>6.2} {:>8.1} {:>8.1} | {:>7.1} {:>7.1} {:>8.1} {:>9.1} {:>6.1}",
        ms(dump.wall),
        ms(plan_runs.wall),
        ms(floor),
        plan_runs.wall.as_secs_f64() / floor.as_secs_f64(),
        plan_runs.peak_kib as f64 / 1024.0,
        plan_runs.peak_kib as f64 * 1.024 / n as f64,
        ms(parse),
        ms(read),
        ms(plan_none),
        ms(plan_grow),
        ms(fp),
    );
    Ok(())
}

/// The release binary beside this example.
fn bellows_binary() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("bellows"))
        .ok_or("cannot tell where the target directory is")?;
    if !bin.exists() {
        return Err(format!(
            "{} is not built: run `cargo build --release` first",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

/// A whole process, five runs after a warm-up: median wall time, and the
/// largest peak resident memory of the runs.
struct Runs {
    wall: Duration,
    peak_kib: u64,
}

fn process(bin: &Path, args: &[&str]) -> Result<Runs, Error> {
    let mut walls = Vec::new();
    let mut peak = 0;
    for run in 0..6 {
        let (wall, kib) = run_once(bin, args)?;
        if run > 0 {
            walls.push(wall);
            peak = peak.max(kib);
        }
    }
    walls.sort();
    Ok(Runs {
        wall: walls[walls.len() / 2],
        peak_kib: peak,
    })
}

/// Runs `bin args` to its end; its wall time and peak resident memory
/// (KiB), from the kernel's accounting of that child alone.
fn run_once(bin: &Path, args: &[&str]) -> Result<(Duration, u64), Error> {
    let t0 = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data the kernel fills in; `pid` is our
    // own child, which nothing else waits for (the `Child` is not used
    // again).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t0.elapsed();
    if waited != pid {
        return Err(format!(
            "waiting for {}: {}",
            bin.display(),
            std::io::Error::last_os_error()
        )
        .into());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!(
            "`bellows {}` failed (status {status}); run it by hand to see why",
            args.join(" ")
        )
        .into());
    }
    Ok((wall, usage.ru_maxrss as u64))
}

/// Median of `runs` runs of `f`, after one warm-up.
fn median(runs: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<Duration, Error> {
    f()?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        f()?;
        times.push(t0.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

async fn median_async<F, Fut>(runs: usize, mut f: F) -> Result<Duration, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    f().await?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        f().await?;
        times.push(t0.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// The target of the 2 N-step plan: every table gains a nullable `note`
/// column and an index on it.
fn grown(current: &Schema) -> Schema {
    let mut target = current.clone();
    let note = Ident::new("note").expect("a valid name");
    for (name, table) in &mut target.tables {
        table.columns.push(bellows::model::Column::new(
            note.clone(),
            ColumnType::parse("text").expect("a known type"),
        ));
        let index = Ident::new(format!("{}_note_idx", name.name.as_str())).expect("a valid name");
        table.indexes.insert(
            index,
            Index {
                unique: false,
                method: bellows::model::DEFAULT_INDEX_METHOD.to_string(),
                keys: vec![IndexKey::column(note.clone())],
                include: Vec::new(),
                predicate: None,
                nulls_not_distinct: false,
                storage: Default::default(),
                renamed_from: None,
            },
        );
    }
    target
}
