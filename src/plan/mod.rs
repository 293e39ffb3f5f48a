//! The planner: the diff of the current and the target schema becomes
//! expand → migrate → contract steps of safe SQL, ordered by a dependency
//! graph. Rules are per dialect and per object kind (`postgres/`).

mod build;
mod graph;
mod postgres;
mod resource;
mod sqlite;
pub mod step;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

pub use postgres::{LockLevel, binary_coercible};
pub use sqlite::{FOREIGN_KEY_CHECK, ROWID as SQLITE_ROWID};
pub use step::*;

use crate::model::Unmanaged;
use crate::model::{Dialect, QualifiedName, Schema};

/// A plan: the ordered steps and the fingerprints of the schemas it goes
/// between, so that applying it to a database that moved is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Format version of the JSON rendering.
    pub version: u32,
    /// Fingerprint of the normalized current schema.
    pub current_fingerprint: String,
    /// Fingerprint of the normalized target schema.
    pub target_fingerprint: String,
    /// The database it is for; PostgreSQL's plans leave it out.
    #[serde(default, skip_serializing_if = "Dialect::is_postgres")]
    pub dialect: Dialect,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.phase == phase)
    }

    /// Each phase that has steps, in order, with its steps.
    pub fn phases(&self) -> impl Iterator<Item = (Phase, Vec<&Step>)> {
        Phase::ALL
            .into_iter()
            .map(|p| (p, self.phase(p).collect::<Vec<_>>()))
            .filter(|(_, steps)| !steps.is_empty())
    }
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A new NOT NULL column needs values for the existing rows.
    #[error(
        "column {column}: it is NOT NULL and new, so the rows {table} has need a value, but it has neither `default:` nor `backfill:`; add `backfill: <SQL expression>` (e.g. computed from other columns) or a `default:` (a table with no rows needs neither: bellows sees that when it plans against the database)"
    )]
    MissingBackfill { table: String, column: String },
    /// A backfill needs a key, or a server that scans ranges of pages.
    #[error(
        "table {table} has no primary key or unique key over NOT NULL columns, and {why} needs a batched backfill: without a key it goes by ranges of pages, which PostgreSQL {server} cannot read without scanning the whole table each batch (TID range scans came in 14); add a primary key first (a separate migration)"
    )]
    NoKeyForBackfill {
        table: String,
        why: String,
        server: String,
    },
    /// A change bellows cannot make safely (yet).
    #[error("unsupported: {what} ({object}); {hint}")]
    Unsupported {
        object: String,
        what: String,
        hint: String,
    },
    /// A helper object's name is taken by an existing object.
    #[error(
        "bellows needs the name `{name}` for {purpose}, but {holder} already has it; rename that object first, or drop it if it is left over from an earlier bellows run"
    )]
    NameTaken {
        name: String,
        purpose: String,
        holder: String,
    },
    /// A new object's name is held by an object this plan drops only in
    /// contract.
    #[error(
        "{what} needs the name {name}, which {holder} holds until contract drops it (new objects are made in expand); give the new one another name, or drop {holder} in a migration of its own first"
    )]
    NameHeld {
        name: String,
        what: String,
        holder: String,
    },
    /// The change would break an object bellows does not manage.
    #[error(
        "{change} would break {dependents}, which bellows does not manage; change or drop those first, by hand or in a separate migration"
    )]
    BreaksUnmanaged { change: String, dependents: String },
    /// Planner bug: an edge from a later phase to an earlier one.
    #[error(
        "planner bug: `{after}` ({after_phase}) depends on `{before}` ({before_phase}), which runs in a later phase"
    )]
    PhaseInversion {
        before: String,
        before_phase: &'static str,
        after: String,
        after_phase: &'static str,
    },
    /// A view the target keeps reads a table, view or column the target
    /// no longer has: making it again (or leaving it) would fail. `view`
    /// is "view NAME" or "materialized view NAME".
    #[error(
        "{view} reads {gone}, which the target no longer has; change the view's query in the target (to the new name, if it was renamed), or drop the view in the same change"
    )]
    ViewReadsGone { view: String, gone: String },
    /// An index of a materialized view names a column its query does
    /// not give: building it would fail.
    #[error(
        "index {index} of materialized view {view} is on column {column}, which the view's query does not give (it gives {gives}); name one of those, or add the column to the query"
    )]
    ViewIndexColumn {
        view: String,
        index: String,
        column: String,
        gives: String,
    },
    /// A policy the target keeps names a column the target drops: the
    /// drop would fail under it (and the policy would mean nothing).
    #[error(
        "policy {policy} names column {column}, which the target drops; change the policy's `using` / `with_check` in the target so it no longer does, or drop the policy"
    )]
    PolicyUsesGone { policy: String, column: String },
    /// A trigger the target keeps would use a column the target drops:
    /// every write that fires it would then fail.
    #[error(
        "trigger {trigger} {how} column {column}, which the target drops, so every write that fires it would fail; change the trigger or its function in the target so it no longer does, or drop the trigger"
    )]
    TriggerUsesGone {
        trigger: String,
        column: String,
        how: String,
    },
    /// Planner bug: the steps depend on each other in a cycle.
    #[error("planner bug: these steps depend on each other in a cycle: {}", steps.join(", "))]
    Cycle { steps: Vec<String> },
}

/// Every reason a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanErrors(pub Vec<PlanError>);

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Tables with no rows, and which tables the planner asked about: a
/// caller that took the list from the server's statistics (cheap, but
/// possibly stale) confirms only the tables asked about that it holds
/// empty, and plans again if one is not.
#[derive(Debug, Clone, Default)]
pub struct EmptyTables {
    known: BTreeSet<QualifiedName>,
    asked: std::cell::RefCell<BTreeSet<QualifiedName>>,
}

impl EmptyTables {
    pub fn new(known: BTreeSet<QualifiedName>) -> Self {
        EmptyTables {
            known,
            asked: Default::default(),
        }
    }

    /// Whether `table` has no rows (remembered as asked).
    pub fn contains(&self, table: &QualifiedName) -> bool {
        self.asked.borrow_mut().insert(table.clone());
        self.known.contains(table)
    }

    /// The tables held empty.
    pub fn known(&self) -> &BTreeSet<QualifiedName> {
        &self.known
    }

    /// The tables held empty that the planner asked about.
    pub fn asked_and_empty(&self) -> Vec<QualifiedName> {
        self.asked
            .borrow()
            .iter()
            .filter(|t| self.known.contains(*t))
            .cloned()
            .collect()
    }
}

impl From<BTreeSet<QualifiedName>> for EmptyTables {
    fn from(known: BTreeSet<QualifiedName>) -> Self {
        EmptyTables::new(known)
    }
}

/// What the planner knows besides the two schemas.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Objects bellows does not manage, with what they depend on; a change
    /// that would break one is refused.
    pub unmanaged: Vec<Unmanaged>,
    /// Tables known to have no rows: a new NOT NULL column needs no
    /// values for them.
    pub empty_tables: EmptyTables,
    /// The server's `server_version_num`, when planning against one.
    pub server_version: Option<u32>,
    /// The database the plan is for (offline plans: PostgreSQL).
    pub dialect: Dialect,
    /// The roles the server has, when planning against one: a grant to
    /// another is refused before anything runs.
    pub server_roles: Option<BTreeSet<crate::model::Ident>>,
    /// The roles the role planning (and applying) is a member of, itself
    /// included (every one, for a superuser), when planning against a
    /// server: default privileges for another cannot be set.
    pub member_of: Option<BTreeSet<crate::model::Ident>>,
    /// The role planning (and applying), when planning against a server:
    /// it owns every object the live schema's `owners` does not list.
    pub current_user: Option<crate::model::Ident>,
    /// The storage strategy of each user type the live columns are of,
    /// when planning against a server: an extension's type's is known
    /// only so.
    pub type_storage: BTreeMap<QualifiedName, crate::model::StorageStrategy>,
}

/// Plans the change from `current` to `target` for `opts.dialect`.
pub fn plan(current: &Schema, target: &Schema, opts: &PlanOptions) -> Result<Plan, PlanErrors> {
    let target = &*as_stored(target, opts.dialect);
    let steps = || {
        let steps = match opts.dialect {
            Dialect::Postgres => postgres::steps(current, target, opts),
            Dialect::Sqlite => sqlite::steps(current, target, opts),
        }
        .map_err(PlanErrors)?;
        graph::order(steps).map_err(|e| PlanErrors(vec![e]))
    };
    let fingerprints = || (fingerprint(current), fingerprint(target));
    // The fingerprints are a walk of both schemas that nothing else
    // waits on: for large schemas they are taken on a second thread while
    // the steps are planned.
    let ((current_fingerprint, target_fingerprint), steps) =
        if current.tables.len() + target.tables.len() >= PARALLEL_FINGERPRINTS {
            std::thread::scope(|s| {
                let taken = s.spawn(fingerprints);
                let steps = steps();
                match taken.join() {
                    Ok(f) => (f, steps),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        } else {
            (fingerprints(), steps())
        };
    Ok(Plan {
        version: 1,
        current_fingerprint,
        target_fingerprint,
        dialect: opts.dialect,
        steps: steps?,
    })
}

/// From how many tables (current and target together) `plan` takes the
/// fingerprints on a thread of their own: below, a thread costs more
/// than it saves.
const PARALLEL_FINGERPRINTS: usize = 400;

/// `target` as `dialect` stores it, where a file's words mean something
/// narrower there (SQLite's identity key is its rowid); what the
/// database would read back after the plan.
pub fn as_stored(target: &Schema, dialect: Dialect) -> std::borrow::Cow<'_, Schema> {
    match dialect {
        Dialect::Postgres => std::borrow::Cow::Borrowed(target),
        Dialect::Sqlite => sqlite::as_stored(target),
    }
}

/// A stable fingerprint of a schema's canonical model (see
/// [`Schema::fingerprint`]).
pub fn fingerprint(schema: &Schema) -> String {
    schema.fingerprint()
}
