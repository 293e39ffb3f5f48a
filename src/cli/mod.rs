//! The command line: clap definitions and the glue that calls the library
//! and renders what it returns. The only module that prints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `eprintln!` for the binary: every line goes through `secrets::scrub`.
macro_rules! errln {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::cli::secrets::scrub(&format!($($arg)*)))
    };
}

mod apply;
mod compare;
mod progress;
pub mod secrets;

use bellows::introspect;
use bellows::model::Schema;
use bellows::spec::{self, SpecError, WriteOptions};

const EXIT_CODES: &str = "\
Exit codes:
  0    success; for `plan --exit-code` and `diff --exit-code`: no changes
  1    changes pending (`--exit-code`), a stale plan (`plan --check`),
       hazards not allowed, drift between the database and the stored plan,
       a --target that is not the in-flight plan's; for `status`: a step
       failed or an apply was interrupted
  2    error: invalid input, a database error, or a command that cannot run
  130  `apply` or `abort` stopped by Ctrl-C or SIGTERM; the same command resumes";

/// bellows changes a live database's schema without downtime.
///
/// It compares the live database with a declarative YAML target schema and
/// plans the change in three phases of safe SQL: EXPAND (additive,
/// backward-compatible steps: new tables and columns, indexes built
/// concurrently, constraints added NOT VALID), MIGRATE (batched, resumable
/// backfills and constraint validation, while old and new application
/// versions run side by side) and CONTRACT (drops and the final swaps, once
/// the old application is gone). Each phase is applied on its own.
#[derive(Debug, Parser)]
#[command(name = "bellows", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preview the expand → migrate → contract plan from the current schema to the target.
    ///
    /// The current schema is a live database (--database-url) or a YAML file
    /// (--from, offline, no database needed). The plan lists each step's
    /// phase, SQL, the lock it takes and its hazards. Plans are
    /// deterministic: the same inputs give byte-identical output, so a plan
    /// can be committed with --out and checked in CI with --check.
    #[command(after_help = EXIT_CODES)]
    Plan(PlanArgs),
    /// Apply one phase of the plan to a live database.
    ///
    /// `--phase expand` stores the plan in the database's ledger (schema
    /// `bellows`) and runs the additive steps; `--phase migrate` and
    /// `--phase contract` run the stored plan's later phases after checking
    /// the live schema is what the previous phase left. Every lock-taking
    /// statement runs under a short lock_timeout and is retried with
    /// backoff; indexes are built CONCURRENTLY outside transactions;
    /// backfills run in small keyset-paginated batches and resume where they
    /// stopped after a crash. Only one apply runs per database at a time.
    #[command(after_help = EXIT_CODES)]
    Apply(ApplyArgs),
    /// Show the in-flight migration: its phase, each step's state, backfill progress.
    #[command(after_help = EXIT_CODES)]
    Status(StatusArgs),
    /// Undo an applied expand (and a partial migrate) of the in-flight migration.
    ///
    /// Leaves the schema as it was before expand. Refused once contract has
    /// started, since contract's drops cannot be undone.
    #[command(after_help = EXIT_CODES)]
    Abort(AbortArgs),
    /// Write a live database's schema as a YAML target file.
    ///
    /// The usual way to start: dump production, commit the file, then edit
    /// it to describe the next version. Objects of kinds bellows does not
    /// manage yet (views, functions, triggers, ...) are listed in a warning
    /// and never touched.
    #[command(after_help = EXIT_CODES)]
    Dump(DumpArgs),
    /// Show the difference between the current and the target schema, as a unified YAML diff.
    ///
    /// Both sides are normalized first (type aliases, implicit names), so
    /// only real differences show.
    #[command(after_help = EXIT_CODES)]
    Diff(DiffArgs),
    /// Check YAML target files offline and report every error with file:line:column.
    #[command(after_help = EXIT_CODES)]
    Validate(ValidateArgs),
    /// Print the JSON Schema of the YAML target format, for editor completion and checks.
    ///
    /// For example, with the YAML language server, save it as
    /// bellows.schema.json and start target files with
    /// `# yaml-language-server: $schema=bellows.schema.json`.
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The database: a URL (postgres://user@host:5432/app?sslmode=verify-full, or sqlite:app.db for a SQLite file) or a libpq keyword string ("host=db dbname=app"); falls back to DATABASE_URL, then to the PGHOST, PGDATABASE, ... variables. Passwords come from the string, PGPASSWORD or ~/.pgpass, and are never printed.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// PostgreSQL (the default).
    Postgres,
    /// A SQLite file.
    Sqlite,
}

impl DialectArg {
    pub fn dialect(self) -> bellows::model::Dialect {
        match self {
            DialectArg::Postgres => bellows::model::Dialect::Postgres,
            DialectArg::Sqlite => bellows::model::Dialect::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Grouped by phase, with SQL, locks and hazards; for people.
    Text,
    /// Runnable SQL per phase, with the timeouts each step needs.
    Sql,
    /// Stable, documented JSON; for tools.
    Json,
    /// For code-review comments.
    Markdown,
}

/// What `plan` and `diff` compare: the current schema (a live database,
/// or a file) and the target.
#[derive(Debug, Args)]
pub struct Compared {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Read the current schema from this YAML file instead of a live database (offline; the database settings are then not used).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// With --from: a scratch PostgreSQL database (empty, say) where the server reads both files' views, materialized views and functions, as a plan against a live database has them read: each file's tables are made there in a transaction that is rolled back.
    #[arg(long, value_name = "URL", requires = "from")]
    pub dev_url: Option<String>,
    /// With --from: the database the plan is for (a live database's URL says it otherwise).
    #[arg(long, value_enum, value_name = "DIALECT", requires = "from")]
    pub dialect: Option<DialectArg>,
    /// The target schema.
    #[arg(long, value_name = "FILE")]
    pub target: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub compared: Compared,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Write the plan to FILE (to commit it for review) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Compare the plan with the committed FILE; exit 1 with a unified diff when it is stale.
    #[arg(long, value_name = "FILE", conflicts_with = "out")]
    pub check: Option<PathBuf>,
    /// Exit 1 when the plan is not empty.
    #[arg(long)]
    pub exit_code: bool,
    /// Limit introspection to this schema (repeatable).
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,
    /// With --format sql: the lock_timeout of steps that do not set their own, as apply's flag.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub lock_timeout: String,
    /// With --format sql: the statement_timeout of steps that do not set their own (per batch for backfills), as apply's flag.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub statement_timeout: String,
    /// With --format sql: rows per backfill batch, as apply's flag.
    #[arg(long, value_name = "ROWS", default_value_t = 5000)]
    pub batch_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// Additive, backward-compatible steps.
    Expand,
    /// Backfills and constraint validation.
    Migrate,
    /// Drops and final swaps, once the old application is gone.
    Contract,
    /// All three in order; for development databases.
    All,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The target schema (needed for --phase expand and all; later phases use the stored plan).
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Which phase to run.
    #[arg(long, value_enum)]
    pub phase: Phase,
    /// How long one statement may wait for a lock before it gives up and retries (on SQLite, for another connection's write: its busy timeout); `none` for no limit (PostgreSQL's 0, which bellows refuses as a number).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub lock_timeout: String,
    /// How long one statement (or one backfill batch) may run; index builds and validations run without one.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub statement_timeout: String,
    /// How often a statement that timed out waiting for a lock is retried.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_retries: u32,
    /// How long one backfill batch should take: each batch is its own short transaction, holding its rows' locks until it commits, and the next batch is sized from the last one's rate to take this long (at most a quarter of --lock-timeout).
    #[arg(long, value_name = "DURATION", default_value = "200ms")]
    pub batch_time: String,
    /// Rows in every backfill batch, fixed, instead of sizing batches by --batch-time.
    #[arg(long, value_name = "ROWS")]
    pub batch_size: Option<u32>,
    /// Pause between backfill batches, to leave room for the application.
    #[arg(long, value_name = "DURATION")]
    pub pause: Option<String>,
    /// Backfills wait while a streaming replica replays further behind than this (as the primary sees it); `none` to not watch replicas.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub max_replica_lag: String,
    /// SQL run between backfill batches, returning one boolean: true pauses the backfill (for the load signals a team already watches). Runs read-only, under --statement-timeout.
    #[arg(long, value_name = "SQL")]
    pub throttle_query: Option<String>,
    /// A backfill paused longer than this stops apply with the cause; the same command goes on from its checkpoint.
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub max_pause: String,
    /// Run steps with this hazard (repeatable); without it, steps with a destructive hazard (data-loss, table-rewrite, long-lock, index-dropped, untracked-dependencies) are refused before anything runs. The others are only reported.
    #[arg(long = "allow-hazard", value_name = "KIND", value_parser = hazard_values())]
    pub allow_hazards: Vec<String>,
    /// Print what would run, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct AbortArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Print the undo steps with their SQL, and what would be left in place; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long one undo statement may wait for a lock before it gives up and retries (`none`: no limit).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub lock_timeout: String,
    /// How often an undo statement that timed out waiting for a lock is retried.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_retries: u32,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Dump only this schema (repeatable); all non-system schemas by default.
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color when stdout is a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub compared: Compared,
    /// When to color the diff.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Exit 1 when the schemas differ.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Target files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What went wrong, rendered by `main`; the exit code follows from it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Problems already printed in full (located YAML errors).
    #[error("{0}")]
    Reported(String),
    /// The command line is wrong: what to pass instead.
    #[error("{0}")]
    Usage(String),
    /// Anything else, with its chain of causes.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Validate(a) => validate(&a),
        Command::Schema(a) => {
            write_output(a.output.as_deref(), &spec::json_schema())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff(a) => compare::diff(&a),
        Command::Plan(a) => compare::plan(&a),
        Command::Apply(a) => apply::apply_cmd(&a),
        Command::Status(a) => apply::status_cmd(&a),
        Command::Abort(a) => apply::abort_cmd(&a),
        Command::Dump(a) => dump(&a),
    }
}

/// libpq's variables that name a server: with one of them set and no
/// URL, the environment alone says where to connect, as for psql.
const PG_ENV: &[&str] = &["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER"];

/// The connection string: --database-url, DATABASE_URL, or (as an empty
/// keyword string) the PG* environment. Its secrets are registered for
/// scrubbing before anything can print them.
pub(crate) fn database_url(db: &DatabaseArgs, command: &str) -> Result<String, CliError> {
    let text = match &db.database_url {
        Some(u) => u.clone(),
        None if PG_ENV.iter().any(|v| std::env::var_os(v).is_some()) => String::new(),
        None => {
            return Err(CliError::Usage(format!(
                "`bellows {command}` needs a database: pass --database-url URL, or set DATABASE_URL, or PGHOST/PGDATABASE/... as for psql"
            )));
        }
    };
    let target =
        bellows::conn::Target::parse(&text).map_err(|e| CliError::Other(anyhow::Error::from(e)))?;
    secrets::register(&target);
    Ok(text)
}

/// For commands that can also read the current schema from a file.
pub(crate) fn or_from(command: &'static str) -> impl FnOnce(CliError) -> CliError {
    move |e| match e {
        CliError::Usage(_) => CliError::Usage(format!(
            "`bellows {command}` needs the current schema: --from FILE, or a database (--database-url URL, DATABASE_URL, or PGHOST/PGDATABASE/... as for psql)"
        )),
        other => other,
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(anyhow::anyhow!("cannot start the async runtime: {e}")))
}

/// Reads a live database; the warning about unmanaged objects goes to stderr.
pub(crate) fn introspect(url: &str, schemas: &[String]) -> Result<Schema, CliError> {
    let found = runtime()?
        .block_on(introspect::introspect_url(url, &scope(schemas)))
        .map_err(anyhow::Error::from)?;
    warn_unmanaged(&found);
    Ok(found.schema)
}

/// Puts the target's views and routines in the words of the server at
/// `url` (so a query or argument list written differently from how the
/// server prints it is no change); notes on those it cannot read yet go
/// to stderr.
pub(crate) async fn in_server_words(
    url: &str,
    live: &Schema,
    target: &mut Schema,
) -> Result<(), CliError> {
    let notes = introspect::canonicalize_url(url, live, target)
        .await
        .map_err(anyhow::Error::from)?;
    for n in notes {
        errln!("note: {n}");
    }
    Ok(())
}

/// Both files' views and routines in the words of the scratch database `--dev-url`
/// names, if it does; notes go to stderr.
pub(crate) fn in_dev_words(
    dev_url: Option<&str>,
    current: &mut Schema,
    target: &mut Schema,
) -> Result<(), CliError> {
    let Some(url) = dev_url else {
        return Ok(());
    };
    runtime()?.block_on(async {
        for schema in [current, target] {
            let notes = introspect::canonicalize_offline_url(url, schema)
                .await
                .map_err(anyhow::Error::from)?;
            for n in notes {
                errln!("note: {n}");
            }
        }
        Ok(())
    })
}

/// Introspection limited to `schemas` (all of them when empty).
pub(crate) fn scope(schemas: &[String]) -> introspect::Options {
    introspect::Options {
        schemas: schemas.to_vec(),
        ..introspect::Options::default()
    }
}

/// Says on stderr which objects in the database bellows does not manage.
pub(crate) fn warn_unmanaged(found: &introspect::Introspection) {
    if let Some(summary) = found.unmanaged_summary() {
        errln!("warning: {summary}");
    }
}

fn dump(a: &DumpArgs) -> Result<ExitCode, CliError> {
    let url = database_url(&a.db, "dump")?;
    let schema = introspect(&url, &a.schemas)?;
    write_output(
        a.output.as_deref(),
        &spec::to_yaml(&schema, WriteOptions::default()),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn read_target(path: &Path) -> Result<Schema, CliError> {
    spec::read_file(path).map_err(|e| match e {
        SpecError::Invalid(d) => CliError::Reported(d.to_string()),
        other => CliError::Other(other.into()),
    })
}

fn validate(a: &ValidateArgs) -> Result<ExitCode, CliError> {
    let mut failures = Vec::new();
    let mut out = std::io::stdout().lock();
    for path in &a.files {
        match spec::read_file(path) {
            Ok(s) => {
                let _ = writeln!(
                    out,
                    "{}: ok ({} table{}, {} enum{}, {} sequence{})",
                    path.display(),
                    s.tables.len(),
                    plural(s.tables.len()),
                    s.enums.len(),
                    plural(s.enums.len()),
                    s.sequences.len(),
                    plural(s.sequences.len()),
                );
            }
            Err(SpecError::Invalid(d)) => failures.push(d.to_string()),
            Err(e) => failures.push(with_causes(&e)),
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::Reported(failures.join("\n\n")))
    }
}

/// `error: message`, then each cause on its own line, leaving out a cause
/// the line before already says (some errors repeat their source).
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = format!("error: {e}");
    let mut last = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !last.contains(&text) {
            out.push_str(&format!("\n  caused by: {text}"));
        }
        last = text;
        cause = c.source();
    }
    out
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(crate) fn write_output(path: Option<&Path>, text: &str) -> Result<(), CliError> {
    let text = &secrets::scrub(text);
    match path {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::Other(anyhow::anyhow!("cannot write {}: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .map_err(anyhow::Error::from)?;
            Ok(())
        }
    }
}

/// The hazards `--allow-hazard` takes, each with what it means, for `--help`.
fn hazard_values() -> clap::builder::PossibleValuesParser {
    use bellows::plan::HazardKind;
    clap::builder::PossibleValuesParser::new(HazardKind::ALL.map(|k| {
        let help = if k.is_destructive() {
            format!("refused unless allowed: {}", k.description())
        } else {
            format!("reported only: {}", k.description())
        };
        clap::builder::PossibleValue::new(k.name()).help(help)
    }))
}
