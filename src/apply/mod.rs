//! `apply`: runs a plan against a live database one phase at a time.
//! State lives in the ledger, so a phase resumes where it stopped after a
//! crash; every lock-taking statement runs under a short lock timeout and
//! is retried with backoff and jitter; backfills go in checkpointed
//! batches. Progress is reported to an `Observer`: the library itself
//! prints nothing. What is decided here is the same for every database;
//! how it is done on one is its driver's (`driver.rs`, `postgres/`).

mod abort;
mod driver;
mod interrupt;
mod ledger;
mod ledger_row;
mod pace;
mod postgres;
mod run;
mod sqlite;
mod state;
mod status;
mod steps;

use std::time::Duration;

pub use abort::{AbortReport, abort, abort_preview, undo_target};
pub use driver::{Blocker, Holder, LEASE};
pub use interrupt::Interrupt;
pub use pace::PauseCause;
pub use run::apply;
pub use state::{MigrationState, StepState};
pub use status::{Activity, Status, StepStatus, status};

/// Opens the database `url` names with its dialect's driver, binds it to
/// `$db` while `$body` runs, and closes it after. A new dialect is one
/// arm here. `make`: the database may be made if it is not there (a
/// SQLite file, by `apply`); status and abort do not make one.
macro_rules! on_driver {
    ($url:expr, |$db:ident| $body:expr) => {
        on_driver!($url, false, |$db| $body)
    };
    ($url:expr, $make:expr, |$db:ident| $body:expr) => {
        match crate::conn::Target::parse($url)? {
            crate::conn::Target::Postgres(info) => {
                let $db = &crate::apply::postgres::PgDriver::open(info).await?;
                let r = $body.await;
                crate::apply::driver::Driver::close($db).await;
                r
            }
            crate::conn::Target::Sqlite(info) => {
                let $db = &crate::apply::sqlite::SqliteDriver::open(*info, $make).await?;
                let r = $body.await;
                crate::apply::driver::Driver::close($db).await;
                r
            }
        }
    };
}
use on_driver;

use crate::conn::{ConnError, DbError};
use crate::introspect::IntrospectError;
use crate::model::QualifiedName;
use crate::plan::{HazardKind, Phase, PlanErrors, Step};

/// Which phase(s) to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseSel {
    One(Phase),
    /// All three in order: for development databases.
    All,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub lock_timeout: Duration,
    pub statement_timeout: Duration,
    pub max_retries: u32,
    /// Rows in every backfill batch (`--batch-size`); `None`: as many as
    /// hold `batch_time`.
    pub batch_size: Option<u32>,
    /// What one backfill batch should take (`--batch-time`): the size
    /// follows it, batch after batch; never more than a quarter of
    /// `lock_timeout`, since a batch holds its row locks until it commits.
    pub batch_time: Duration,
    /// A rest after every backfill batch (`--pause`).
    pub pause: Option<Duration>,
    /// Backfills wait while a streaming replica replays further behind
    /// than this (`--max-replica-lag`); `None`: replicas are not watched.
    pub max_replica_lag: Option<Duration>,
    /// SQL that returns one boolean, run between backfill batches: true
    /// pauses the backfill (`--throttle-query`).
    pub throttle_query: Option<String>,
    /// A backfill paused for this long stops the apply, with the cause
    /// (`--max-pause`); it goes on from its checkpoint when run again.
    pub max_pause: Duration,
    pub allow_hazards: Vec<HazardKind>,
    pub dry_run: bool,
    /// Stop requests (the CLI's Ctrl-C); nobody asks by default.
    pub interrupt: Interrupt,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(60),
            max_retries: 10,
            batch_size: None,
            batch_time: Duration::from_millis(200),
            pause: None,
            max_replica_lag: Some(Duration::from_secs(5)),
            throttle_query: None,
            max_pause: Duration::from_secs(30 * 60),
            allow_hazards: Vec::new(),
            dry_run: false,
            interrupt: Interrupt::new(),
        }
    }
}

/// What happens, as it happens.
#[derive(Debug)]
pub enum Event<'a> {
    PhaseStarted {
        phase: Phase,
        steps: usize,
    },
    StepStarted {
        number: usize,
        step: &'a Step,
    },
    /// Done in an earlier run.
    StepSkipped {
        number: usize,
        step: &'a Step,
    },
    /// `--dry-run`: what would run.
    WouldRun {
        number: usize,
        step: &'a Step,
    },
    /// `--dry-run`: this phase has no steps.
    NothingToRun {
        phase: Phase,
    },
    /// A lock was not granted within lock_timeout; waiting before retry.
    /// `blockers` are the sessions that held it up (when the wait lasted
    /// long enough to look).
    LockWait {
        step: &'a Step,
        attempt: u32,
        max: u32,
        wait: Duration,
        blockers: &'a [Blocker],
    },
    /// An index build from an earlier, killed apply still runs on the
    /// server; apply waits for it.
    BuildUnderWay {
        index: QualifiedName,
        pid: i32,
        running_for: Duration,
        phase: String,
        /// The statement that stops it instead.
        stop: String,
    },
    /// Behind a transaction pooler a statement outside a transaction cannot
    /// get its own timeouts: it runs with the server's.
    PoolerTimeouts {
        step: &'a Step,
        lock_timeout: String,
        statement_timeout: String,
    },
    /// A failed concurrent build left an INVALID index, now dropped.
    InvalidIndexDropped {
        index: QualifiedName,
    },
    /// After each batch. `done` counts rows since the backfill began
    /// (`before` of them in earlier runs); `total` is the table's rows
    /// when this run began, which rows inserted meanwhile may exceed.
    BackfillProgress {
        step: &'a Step,
        done: u64,
        total: u64,
        before: u64,
        finished: bool,
    },
    /// A backfill waits before its next batch (reported again when the
    /// cause changes).
    BackfillPaused {
        step: &'a Step,
        cause: &'a PauseCause,
    },
    /// It goes on after a pause.
    BackfillResumed {
        step: &'a Step,
        paused_for: Duration,
    },
    StepFinished {
        number: usize,
        step: &'a Step,
        elapsed: Duration,
    },
    PhaseFinished {
        phase: Phase,
    },
    /// An abort runs its undo steps.
    AbortStarted {
        steps: usize,
    },
    NothingToDo,
    /// Something the user should know that does not stop the run.
    Notice {
        text: &'a str,
    },
}

/// Receives progress; the CLI renders it.
pub trait Observer: Send + Sync {
    fn on(&self, event: Event<'_>);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn on(&self, _: Event<'_>) {}
}

/// Why apply stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("cannot {what} in the ledger (schema bellows): {source}")]
    Ledger {
        what: &'static str,
        #[source]
        source: DbError,
    },
    #[error(
        "the ledger cannot be read ({0}): another bellows version wrote it, or it was changed by hand; finish or abort the migration with the bellows version that started it"
    )]
    CorruptLedger(String),
    #[error("another apply is running on this database: pid {} on {}, since {}; wait for it, or if that process is gone, retry after {}s", .0.pid, .0.host, .0.since, LEASE.as_secs())]
    Locked(Holder),
    #[error(
        "migration {id} is in flight (last completed phase: {phase}) for a different target; finish it with `apply --phase migrate|contract` or undo it with `abort` first"
    )]
    InFlight { id: i64, phase: String },
    #[error(
        "there is no in-flight migration to run {phase} for; start one with `apply --phase expand --target FILE`"
    )]
    NoMigration { phase: &'static str },
    #[error("migration {id} cannot run {wanted} now: {why}")]
    WrongPhase {
        id: i64,
        wanted: &'static str,
        why: String,
    },
    #[error("`apply --phase expand` (or `all`) needs --target FILE")]
    NeedTarget,
    #[error(
        "--target is not the target of migration {id}, which is in flight: later phases run the plan stored at expand. Pass the same file, or none; to change course, `bellows abort` and start again"
    )]
    TargetMismatch { id: i64 },
    #[error(
        "the database changed since the last phase ended (drift); nothing was run. What differs:\n{diff}"
    )]
    Drift { diff: String },
    #[error("refusing to run steps with hazards that are not allowed; nothing was run:\n{}\nallow them with --allow-hazard KIND", steps.join("\n"))]
    HazardsRefused { steps: Vec<String> },
    #[error(transparent)]
    Plan(#[from] PlanErrors),
    #[error(transparent)]
    Introspect(#[from] IntrospectError),
    #[error("step `{step}` failed{}: {message}\n  statement: {statement}\n  the step is marked failed in the ledger; fix the cause and run apply again to resume", sqlstate.as_ref().map(|s| format!(" (SQLSTATE {s})")).unwrap_or_default())]
    Step {
        step: String,
        statement: String,
        sqlstate: Option<String>,
        message: String,
    },
    #[error(
        "step `{step}` could not get its lock in {attempts} tries of lock_timeout each; other sessions held conflicting locks{}. Run apply again later, or raise --max-retries", if blockers.is_empty() { String::new() } else { format!(":\n  {}", blockers.iter().map(|b| b.to_string()).collect::<Vec<_>>().join("\n  ")) }
    )]
    LockTimeout {
        step: String,
        attempts: u32,
        blockers: Vec<Blocker>,
    },
    #[error("stopped at your request {at}; run the same command again to resume")]
    Interrupted { at: String },
    #[error(
        "a backfill waited {:.1}s, longer than --max-pause, because {cause}. It stopped {at}; once the cause is gone run the same command again, or raise --max-pause", waited.as_secs_f64()
    )]
    PausedTooLong {
        step: String,
        waited: Duration,
        cause: String,
        at: String,
    },
    #[error(
        "--throttle-query failed{}: {message}\n  query: {query}\n  it must return one row with one boolean (true pauses the backfill); the backfill stopped {at}, and goes on from there when run again", sqlstate.as_ref().map(|s| format!(" (SQLSTATE {s})")).unwrap_or_default()
    )]
    ThrottleQuery {
        query: String,
        sqlstate: Option<String>,
        message: String,
        at: String,
    },
    #[error("after {phase}, the database does not have what the phase should leave: {missing}")]
    Verify {
        phase: &'static str,
        missing: String,
    },
}

impl ApplyError {
    fn ledger(what: &'static str) -> impl FnOnce(sqlx::Error) -> ApplyError {
        move |source| ApplyError::Ledger {
            what,
            source: DbError(source),
        }
    }
}
