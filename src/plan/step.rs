//! Steps: the typed unit of a plan. A step knows its phase, its SQL, whether
//! it may run in a transaction, the lock it takes and what that lock costs,
//! its hazards and timeouts, and what it provides, requires and removes
//! (the graph orders steps by those).

use serde::{Deserialize, Serialize};

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
    Sequence,
    Table,
    Column,
    SyncTrigger,
    PrimaryKey,
    Unique,
    Check,
    ForeignKey,
    Index,
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
    Backfill,
    Validate,
    AddNotNullCheck,
    SetNotNull,
    DropNotNullCheck,
    Swap,
    Own,
    Drop,
    DropCompatibility,
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

/// PostgreSQL's table lock levels, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockLevel {
    /// Takes no table lock worth naming (new objects, namespaces, types).
    None,
    /// Row locks on the rows a batch updates (plus ROW EXCLUSIVE, which
    /// conflicts with no ordinary read or write).
    RowExclusive,
    ShareUpdateExclusive,
    ShareRowExclusive,
    AccessExclusive,
}

impl LockLevel {
    pub fn sql_name(self) -> &'static str {
        match self {
            LockLevel::None => "no table lock",
            LockLevel::RowExclusive => "ROW EXCLUSIVE (row locks per batch)",
            LockLevel::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockLevel::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockLevel::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }
}

/// How long the lock is held, in kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// A catalog change: milliseconds once the lock is granted.
    Metadata,
    /// Reads the whole table (validation, concurrent index build), writes go on.
    Scan,
    /// Rewrites the table: held for the whole rewrite.
    Rewrite,
    /// Many short transactions, each holding row locks on one batch.
    Batched,
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
    /// Data (or an object holding it) is gone after the step.
    DataLoss,
    /// The table is rewritten under an exclusive lock.
    TableRewrite,
    /// An exclusive lock is held for longer than a metadata change.
    LongLock,
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
}

impl HazardKind {
    /// Destructive hazards need `--allow-hazard KIND` to apply.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            HazardKind::DataLoss | HazardKind::TableRewrite | HazardKind::LongLock
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            HazardKind::DataLoss => "data-loss",
            HazardKind::TableRewrite => "table-rewrite",
            HazardKind::LongLock => "long-lock",
            HazardKind::IndexBuild => "index-build",
            HazardKind::ValidationScan => "validation-scan",
            HazardKind::MayFail => "may-fail",
            HazardKind::Irreversible => "irreversible",
            HazardKind::OldAppVisible => "old-app-visible",
        }
    }
}

/// A hazard with the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazard {
    pub kind: HazardKind,
    pub message: String,
}

/// Something a step needs to exist, creates, or makes disappear.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Resource {
    Schema(String),
    Extension(String),
    Type(String),
    Sequence(String),
    Table(String),
    Column(String),
    /// A column whose existing rows have been filled.
    Filled(String),
    /// A column known NOT NULL.
    NotNull(String),
    Constraint(String),
    Index(String),
    Trigger(String),
}

impl Resource {
    pub fn table(q: &QualifiedName) -> Resource {
        Resource::Table(q.to_string())
    }
    pub fn column(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Column(format!("{q}.{c}"))
    }
    pub fn filled(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Filled(format!("{q}.{c}"))
    }
    pub fn not_null(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::NotNull(format!("{q}.{c}"))
    }
    pub fn constraint(q: &QualifiedName, c: &Ident) -> Resource {
        Resource::Constraint(format!("{q}.{c}"))
    }
    pub fn index(schema: &Ident, name: &Ident) -> Resource {
        Resource::Index(format!("{schema}.{name}"))
    }
}

/// A batched backfill: `UPDATE table SET col = expr` in keyset-paginated
/// batches by primary key, each its own transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    pub table: String,
    /// Primary-key columns, the keyset.
    pub key: Vec<String>,
    pub column: String,
    pub expression: String,
    /// Only rows where the column is still NULL are touched (so a re-run
    /// and rows filled by the sync trigger are not done twice).
    pub only_null: bool,
}

/// Statement timeouts a step needs; `None` means the apply default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Milliseconds to wait for the lock; `None`: apply's `--lock-timeout`.
    pub lock_timeout_ms: Option<u64>,
    /// Milliseconds the statement may run; `Some(0)`: unlimited (index
    /// builds, validation); `None`: apply's `--statement-timeout`.
    pub statement_timeout_ms: Option<u64>,
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
}
