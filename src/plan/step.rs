//! Steps: the typed unit of a plan. A step knows its phase, its SQL, whether
//! it may run in a transaction, the lock it takes and what that lock costs,
//! its hazards and timeouts, and what it provides, requires and removes
//! (the graph orders steps by those).

use serde::{Deserialize, Serialize};

use super::LockLevel;
pub use super::resource::Resource;
use crate::model::{Ident, QualifiedName};

/// The three phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Additive, backward-compatible: the old app keeps working.
    Expand,
    /// Data work while old and new apps run side by side.
    Migrate,
    /// The breaking tail, once the old app is gone.
    Contract,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Expand, Phase::Migrate, Phase::Contract];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Migrate => "migrate",
            Phase::Contract => "contract",
        }
    }
}

/// What kind of object a step acts on; also the tie-break order inside a
/// phase (namespaces and types before tables, tables before their parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Schema,
    Extension,
    Enum,
    Collation,
    Range,
    Domain,
    /// Composite types: after the domains their attributes may be of.
    Composite,
    Sequence,
    /// Functions and procedures: made before the tables whose defaults,
    /// checks and indexes may call them; dropped after what used them.
    Function,
    Table,
    Column,
    SyncTrigger,
    PrimaryKey,
    Unique,
    Check,
    Exclusion,
    ForeignKey,
    Index,
    /// Statistics objects (`CREATE STATISTICS`).
    Statistics,
    View,
    Trigger,
    /// Row-level security: a table's flags and its policies.
    Policy,
    /// Privileges granted on a relation.
    Grant,
    /// Who owns an object.
    Owner,
    Comment,
}

/// What a step does to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Rename,
    Alter,
    AddValue,
    Build,
    Attach,
    /// A partition taken out of its partitioned table.
    Detach,
    Backfill,
    /// A materialized view filled again.
    Refresh,
    /// The planner's statistics gathered again (`ANALYZE`).
    Analyze,
    Validate,
    AddNotNullCheck,
    SetNotNull,
    DropNotNullCheck,
    Swap,
    Replace,
    Own,
    Drop,
    DropCompatibility,
    /// A step of an abort.
    Undo,
}

/// A step's identity: kind, object and action. Unique within a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StepId {
    pub kind: ObjectKind,
    /// The object, as `schema.table[.part]`.
    pub object: String,
    pub action: Action,
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {:?} {}", self.action, self.kind, self.object)
    }
}

/// How long the lock is held, in kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// A catalog change: milliseconds once the lock is granted.
    Metadata,
    /// Reads a sample of the rows (`ANALYZE`): reads and writes go on.
    Sample,
    /// Reads the whole table (validation, concurrent index build), writes go on.
    Scan,
    /// Rewrites the table: held for the whole rewrite.
    Rewrite,
    /// Many short transactions, each holding row locks on one batch.
    Batched,
    /// Fills a materialized view made again: held until its query has run.
    Fill,
    /// Reads every value it checks while it holds a lock that makes
    /// writes wait (a domain's constraint): reads go on.
    Verify,
    /// Builds an index over every row while it holds the lock (an
    /// exclusion constraint, which has no concurrent way): reads and
    /// writes wait for the whole build.
    Build,
    /// Reads every row while it holds a lock that stops reads and writes
    /// (SET NOT NULL without a proving check, the largest value of a
    /// column no index leads with).
    Read,
}

/// The lock a step takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub level: LockLevel,
    pub cost: Cost,
}

/// Typed hazards; `apply` refuses destructive ones unless allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HazardKind {
    /// Rows or column values (or a sequence's counter) are gone after the step.
    DataLoss,
    /// The table is rewritten under an exclusive lock.
    TableRewrite,
    /// An exclusive lock is held for longer than a metadata change.
    LongLock,
    /// An index goes: queries that used it may slow down sharply.
    IndexDropped,
    /// Objects the planner cannot see (function bodies, an extension's
    /// members, code naming a schema) may still use what is dropped.
    UntrackedDependencies,
    /// A CHECK, foreign key or key constraint goes: the database stops
    /// enforcing it; no row is lost.
    ConstraintDropped,
    /// An index is built: I/O and time proportional to the table.
    IndexBuild,
    /// A full scan to validate a constraint (writes continue).
    ValidationScan,
    /// Existing rows may violate the new rule: the step can fail.
    MayFail,
    /// Cannot be undone by `abort`.
    Irreversible,
    /// Old-app writes that break the new rule start failing after expand.
    OldAppVisible,
    /// PUBLIC, every role there is and will be, is given a privilege.
    AccessWidened,
}

impl HazardKind {
    /// Every hazard, destructive ones first: the CLI's list and help.
    pub const ALL: [HazardKind; 12] = [
        HazardKind::DataLoss,
        HazardKind::TableRewrite,
        HazardKind::LongLock,
        HazardKind::IndexDropped,
        HazardKind::UntrackedDependencies,
        HazardKind::ConstraintDropped,
        HazardKind::IndexBuild,
        HazardKind::ValidationScan,
        HazardKind::MayFail,
        HazardKind::Irreversible,
        HazardKind::OldAppVisible,
        HazardKind::AccessWidened,
    ];

    /// Destructive hazards need `--allow-hazard KIND` to apply.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            HazardKind::DataLoss
                | HazardKind::TableRewrite
                | HazardKind::LongLock
                | HazardKind::IndexDropped
                | HazardKind::UntrackedDependencies
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            HazardKind::DataLoss => "data-loss",
            HazardKind::TableRewrite => "table-rewrite",
            HazardKind::LongLock => "long-lock",
            HazardKind::IndexDropped => "index-dropped",
            HazardKind::UntrackedDependencies => "untracked-dependencies",
            HazardKind::ConstraintDropped => "constraint-dropped",
            HazardKind::IndexBuild => "index-build",
            HazardKind::ValidationScan => "validation-scan",
            HazardKind::MayFail => "may-fail",
            HazardKind::Irreversible => "irreversible",
            HazardKind::OldAppVisible => "old-app-visible",
            HazardKind::AccessWidened => "access-widened",
        }
    }

    /// One line for `--help` and README: what the hazard means.
    pub fn description(self) -> &'static str {
        match self {
            HazardKind::DataLoss => {
                "rows, column values or a sequence's counter are gone (drop table, column or sequence)"
            }
            HazardKind::TableRewrite => {
                "the table is rewritten while it is locked against reads and writes"
            }
            HazardKind::LongLock => "an exclusive lock is held for longer than a catalog change",
            HazardKind::IndexDropped => {
                "an index goes (drop index, or drop the key constraint that owns one): queries that used it may slow down sharply"
            }
            HazardKind::UntrackedDependencies => {
                "what goes may still be used by something bellows cannot see: an extension's members, a type or schema named in function bodies"
            }
            HazardKind::ConstraintDropped => {
                "a CHECK, foreign key, unique or primary key constraint goes: the database stops enforcing it; no row is lost"
            }
            HazardKind::IndexBuild => {
                "an index is built concurrently: I/O and time in proportion to the table"
            }
            HazardKind::ValidationScan => {
                "a constraint is validated by a full scan while writes go on"
            }
            HazardKind::MayFail => {
                "existing rows may break the new rule; the step then fails and changes nothing"
            }
            HazardKind::Irreversible => "abort cannot undo the step",
            HazardKind::OldAppVisible => {
                "from expand on, old-app writes that break the new rule fail"
            }
            HazardKind::AccessWidened => {
                "PUBLIC (every role there is and will be) is given a privilege on an object that exists, or by default on those a role makes"
            }
        }
    }
}

/// A hazard with the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazard {
    pub kind: HazardKind,
    pub message: String,
}

/// A batched backfill: `UPDATE table SET col = expr` in batches, each its
/// own transaction: keyset-paginated by a unique key over NOT NULL
/// columns (the primary key first), or, without one, by ranges of pages.
/// One pass may fill several columns of the table (`also`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    pub table: QualifiedName,
    /// The key columns, the keyset; none: by ranges of pages (`ctid`).
    pub key: Vec<Ident>,
    pub column: Ident,
    pub expression: String,
    /// Only rows where the column is still NULL are touched (so a re-run
    /// and rows filled by the sync trigger are not done twice).
    pub only_null: bool,
    /// More columns the same pass fills, each from its expression (absent
    /// from plans that fill one column, and from plans stored by bellows
    /// versions before passes were shared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Fill>,
    /// Rows copied into another table instead of a column filled (a
    /// table built beside, with another partitioning): each batch inserts
    /// its rows there. `column` and `expression` then name the first key
    /// column, and `only_null` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyRows>,
}

/// Where a copying backfill puts the rows of its table, and how a row
/// copied twice (once by the batch, once by the sync trigger) is known:
/// by a unique index of the destination over `conflict`, the source's key
/// and the destination's partition key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRows {
    pub into: QualifiedName,
    /// The columns copied, by name (the same in both tables).
    pub columns: Vec<Ident>,
    pub conflict: Vec<Ident>,
}

/// One more column a backfill's pass fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub column: Ident,
    pub expression: String,
}

impl Backfill {
    /// Whether it pages by physical position (the table has no key).
    pub fn by_position(&self) -> bool {
        self.key.is_empty()
    }

    /// Every column the pass fills, with its expression, first to last.
    pub fn fills(&self) -> impl Iterator<Item = (&Ident, &str)> {
        std::iter::once((&self.column, self.expression.as_str()))
            .chain(self.also.iter().map(|f| (&f.column, f.expression.as_str())))
    }
}

/// Statement timeouts a step needs; `None` means the apply default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Milliseconds to wait for the lock; `None`: apply's `--lock-timeout`.
    pub lock_timeout_ms: Option<u64>,
    /// Milliseconds the statement may run; `Some(0)`: unlimited (index
    /// builds, validation); `None`: apply's `--statement-timeout`.
    pub statement_timeout_ms: Option<u64>,
    /// The most the lock wait may be, whatever `--lock-timeout` says: a
    /// step that locks two tables one after the other can close a lock
    /// cycle with a client's transaction, and PostgreSQL aborts whichever
    /// of the two has waited `deadlock_timeout` (1 s by default) first.
    /// Waiting less than that, the step gives way (and is retried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_timeout_cap_ms: Option<u64>,
}

impl Timeouts {
    /// The lock and statement timeouts in milliseconds: the step's own,
    /// else the defaults given (apply's `--lock-timeout` and
    /// `--statement-timeout`).
    pub fn or(&self, lock: std::time::Duration, statement: std::time::Duration) -> (u64, u64) {
        let lock = self.lock_timeout_ms.unwrap_or(lock.as_millis() as u64);
        (
            self.lock_timeout_cap_ms.map_or(lock, |cap| lock.min(cap)),
            self.statement_timeout_ms
                .unwrap_or(statement.as_millis() as u64),
        )
    }
}

/// How `abort` takes a step back. Each step that expand or migrate runs
/// says so itself, so abort undoes exactly what the migration did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Undo {
    /// Nothing to take back (a validation, a backfill of a column that
    /// goes away with the column).
    Nothing,
    /// These steps take it back, in order. Each says in `removes` what it
    /// drops: abort leaves an object in place, and says why, when it is
    /// no longer as the migration left it.
    Steps { steps: Vec<Step> },
    /// It stays after abort: PostgreSQL cannot take it back cheaply, and
    /// the old app accepts it.
    Stays { reason: String },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: StepId,
    pub phase: Phase,
    pub description: String,
    pub statements: Vec<String>,
    /// False for `CONCURRENTLY` statements, which cannot run in a transaction.
    pub transactional: bool,
    pub lock: Lock,
    pub hazards: Vec<Hazard>,
    pub timeouts: Timeouts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<Backfill>,
    pub provides: Vec<Resource>,
    pub requires: Vec<Resource>,
    pub removes: Vec<Resource>,
    /// How abort takes it back; contract steps have none (abort is refused
    /// once contract starts), and neither do plans stored by bellows
    /// versions before undo was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Undo>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoutineKey;

    fn q(s: &str, n: &str) -> QualifiedName {
        QualifiedName::new(Ident::new(s).expect("ok"), Ident::new(n).expect("ok"))
    }

    #[test]
    fn resources_round_trip_through_json_with_hostile_names() {
        let t = q("odd.schema", "a.b\"c");
        let c = Ident::new("i.d").expect("ok");
        for r in [
            Resource::Schema(Ident::new("s.x").expect("ok")),
            Resource::table(&t),
            Resource::column(&t, &c),
            Resource::swapped(&t, &c),
            Resource::validated(&t, &c),
            Resource::constraint_gone(&t, &c),
            Resource::index_gone(&t.schema, &c),
            Resource::Trigger(t.clone()),
            Resource::ViewGone(t.clone()),
            Resource::Function(RoutineKey {
                name: q("odd.schema", "f(x"),
                args: vec![
                    crate::model::ColumnType::parse("integer").expect("ok"),
                    crate::model::ColumnType::parse("\"My Type\"[]").expect("ok"),
                ],
            }),
            Resource::Function(RoutineKey {
                name: q("public", "f"),
                args: Vec::new(),
            }),
        ] {
            let json = serde_json::to_string(&r).expect("serializes");
            let back: Resource = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, r, "{json}");
        }
    }

    #[test]
    fn plans_stored_before_typed_resources_still_read() {
        let t = q("public", "users");
        let c = Ident::new("email").expect("ok");
        let old = |kind: &str, name: &str| {
            serde_json::from_str::<Resource>(&format!(r#"{{"kind":"{kind}","name":"{name}"}}"#))
                .expect("reads")
        };
        assert_eq!(
            old("constraint", "public.users.email:gone"),
            Resource::constraint_gone(&t, &c)
        );
        assert_eq!(
            old("column", "public.users.email:swapped"),
            Resource::swapped(&t, &c)
        );
        assert_eq!(
            old("column", "public.users.email"),
            Resource::column(&t, &c)
        );
    }
}
