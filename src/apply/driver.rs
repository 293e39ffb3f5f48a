//! The seam between apply and a database. Apply's phases, abort and
//! status decide what runs and in which order; a dialect's driver says
//! how: where the ledger is kept, how the one-apply-at-a-time lock is
//! held, how a step runs (its transaction, its timeouts, its batches) and
//! which errors are worth a retry. PostgreSQL's driver is in `postgres/`.

use std::time::Duration;

use super::state::{Migration, MigrationState, StepMark, StepState};
use super::status::StepStatus;
use super::{ApplyError, ApplyOptions, Observer};
use crate::introspect::Introspection;
use crate::plan::{Phase, Plan, Step};

/// Where a database keeps what apply remembers: each migration (its plan,
/// state, last completed phase and the schema that phase left), each
/// abort, and a row per step (status, error, backfill checkpoint).
/// Implemented once, in `ledger.rs`, for every dialect's `LedgerStore`.
pub(crate) trait Ledger {
    /// Whether the ledger exists (nothing was ever applied if not).
    async fn exists(&self) -> Result<bool, ApplyError>;
    /// Creates the ledger, or brings an older one up to date.
    async fn ensure(&self) -> Result<(), ApplyError>;
    /// The migration that is in flight or being aborted, if any.
    async fn in_flight(&self) -> Result<Option<Migration>, ApplyError>;
    /// The abort of migration `of`, if one was started.
    async fn abort_of(&self, of: i64) -> Result<Option<Migration>, ApplyError>;
    /// Stores a new migration with one pending row per step.
    async fn create(
        &self,
        plan: &Plan,
        target_yaml: &str,
        start_yaml: &str,
    ) -> Result<i64, ApplyError>;
    /// Records the abort of migration `of`, whose undo steps are `plan`,
    /// and marks `of` as being aborted, both or neither.
    async fn create_abort(&self, of: i64, plan: &Plan) -> Result<i64, ApplyError>;
    /// The abort finished: it is done, and the migration it undid aborted.
    async fn finish_abort(&self, abort: i64, of: i64) -> Result<(), ApplyError>;
    /// The rows of migration `id`'s steps, in order.
    async fn step_rows(&self, id: i64) -> Result<Vec<StepRow>, ApplyError>;
    /// Records `mark` for step `pos` of migration `id`: its status, and
    /// the error (message, SQLSTATE) that stopped it, if any.
    async fn set_status(&self, id: i64, pos: usize, mark: StepMark<'_>) -> Result<(), ApplyError>;
    /// Records `phase` as completed, with the schema it left (as YAML);
    /// contract ends the migration.
    async fn complete_phase(&self, id: i64, phase: Phase, schema: &str) -> Result<(), ApplyError>;
    /// The latest migration (or abort) and its steps, read together.
    async fn latest(&self) -> Result<Option<(LatestRow, Vec<StepStatus>)>, ApplyError>;
}

/// One apply (or abort) at a time per database: a row of the ledger that
/// names its holder.
pub(crate) trait Locking {
    /// The held apply lock.
    type Lock: HeldLock;

    /// Who holds the apply lock, if anyone.
    async fn holder(&self) -> Result<Option<Holder>, ApplyError>;
    /// Takes the apply lock, or says at once who holds it
    /// (`ApplyError::Locked`); takes over a lock whose holder is gone.
    async fn lock(&self) -> Result<Self::Lock, ApplyError>;
}

/// The apply lock while it is held, kept alive by a heartbeat. `release`
/// gives it back; dropped without that (a panic, a cancelled task), it is
/// released in the background, or expires after `LEASE`.
pub(crate) trait HeldLock {
    async fn release(self);
}

/// A database apply can run a plan on.
pub(crate) trait Driver: Ledger + Locking {
    /// The live schema.
    async fn read_live(&self) -> Result<Introspection, ApplyError>;

    /// Puts the `pending` views and routines of `target` in the server's
    /// words (see `introspect::to_canonicalize`); returns notes on those
    /// it could not read yet.
    async fn canonicalize(
        &self,
        target: &mut crate::model::Schema,
        pending: &crate::introspect::Pending,
    ) -> Result<Vec<String>, ApplyError>;

    /// Runs a step to its end: in its transaction (or outside any, or in
    /// batches), under the step's timeouts, retried while its lock is not
    /// granted. On `Ok` the ledger shows the step done.
    async fn run_step(&self, s: &StepRun<'_>) -> Result<(), ApplyError>;

    /// What a failed statement's SQLSTATE means to apply.
    fn error_class(&self, sqlstate: Option<&str>) -> ErrorClass;

    async fn close(&self);
}

/// A step to run, and what its run is given.
#[derive(Clone, Copy)]
pub(crate) struct StepRun<'a> {
    /// The ledger record (migration or abort) it belongs to.
    pub id: i64,
    /// Its position in the record.
    pub pos: usize,
    pub step: &'a Step,
    /// Its row before this run (a backfill goes on from its checkpoint).
    pub row: &'a StepRow,
    pub opts: &'a ApplyOptions,
    pub obs: &'a dyn Observer,
}

impl StepRun<'_> {
    /// The step's lock and statement timeouts in milliseconds: its own,
    /// else the apply's.
    pub fn timeouts(&self) -> (u64, u64) {
        self.step
            .timeouts
            .or(self.opts.lock_timeout, self.opts.statement_timeout)
    }

    /// Where a stop inside the step leaves it, for the message.
    pub fn resumes(&self) -> String {
        format!(
            "during `{}`, which runs again on resume",
            self.step.description
        )
    }
}

/// What a failed statement's error means to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// The lock was not granted within the lock timeout: worth a retry.
    LockNotGranted,
    /// Cancelled (on a stop request, or by a statement timeout).
    Cancelled,
    /// The object cannot be dropped: something else depends on it.
    DependentsExist,
    Other,
}

/// A statement the database refused, as apply reports it.
#[derive(Debug, Clone)]
pub(crate) struct StatementError {
    pub class: ErrorClass,
    pub sqlstate: Option<String>,
    /// The server's message with its detail and hint, which often name
    /// the row at fault.
    pub message: String,
}

/// One step's row in the ledger.
#[derive(Debug, Clone)]
pub(crate) struct StepRow {
    pub status: StepState,
    pub checkpoint: Option<Vec<String>>,
    pub rows_done: i64,
}

impl StepRow {
    pub fn pending() -> StepRow {
        StepRow {
            status: StepState::Pending,
            checkpoint: None,
            rows_done: 0,
        }
    }
}

/// The latest migration or abort, for `status`.
pub(crate) struct LatestRow {
    pub id: i64,
    pub kind: String,
    pub aborts: Option<i64>,
    pub state: MigrationState,
    pub completed_phase: Option<String>,
}

/// How long a lock lives without a heartbeat before another apply may
/// take it over (the holder died without releasing it).
pub const LEASE: Duration = Duration::from_secs(30);

/// Who holds the apply lock.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Holder {
    pub host: String,
    pub pid: i32,
    pub since: String,
    /// The heartbeat is older than the lease: the holder is gone.
    pub expired: bool,
}

impl Holder {
    /// Whether the holder still runs: its heartbeat is fresh and, on this
    /// host, its process exists.
    pub fn alive(&self) -> bool {
        !self.expired && (self.host != this_host() || process_exists(self.pid))
    }
}

/// This machine's name, as a lock holder records it.
pub(crate) fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string())
}

fn process_exists(pid: i32) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A session that holds a lock a statement of the apply waits for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Blocker {
    pub pid: i32,
    pub application_name: String,
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// The start of its current or last query.
    pub query: String,
    /// How long its transaction has been open, in whole seconds.
    pub transaction_seconds: i64,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let app = if self.application_name.is_empty() {
            "no application_name".to_string()
        } else {
            format!("application_name {}", self.application_name)
        };
        write!(
            f,
            "pid {} ({app}, {}, transaction open {}s): {}",
            self.pid, self.state, self.transaction_seconds, self.query
        )
    }
}
