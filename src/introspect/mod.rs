//! Reading a live database into the canonical model. One module per
//! dialect; this one holds what they share: options, the result (the model
//! plus the objects bellows does not manage), and errors.

pub mod postgres;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::conn::{ConnError, DbError, Target};
use crate::model::{Ident, QualifiedName, Schema};

/// The schema bellows keeps its ledger in: never part of the model.
pub const LEDGER_SCHEMA: &str = "bellows";

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Limit to these schemas; empty means every non-system schema.
    pub schemas: Vec<String>,
}

/// Kinds of object bellows reads but does not manage (yet). They are
/// reported, and nothing bellows does ever drops or alters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnmanagedKind {
    View,
    MaterializedView,
    ForeignTable,
    PartitionedTable,
    Partition,
    InheritedTable,
    UnloggedTable,
    Function,
    Procedure,
    Aggregate,
    Trigger,
    EventTrigger,
    Domain,
    CompositeType,
    RangeType,
    Collation,
    Policy,
    RowLevelSecurity,
    Rule,
    ExclusionConstraint,
    ForeignKeyToUnmanaged,
    InvalidIndex,
    Privileges,
}

impl UnmanagedKind {
    /// Singular and plural nouns for messages.
    pub fn nouns(self) -> (&'static str, &'static str) {
        use UnmanagedKind::*;
        match self {
            View => ("view", "views"),
            MaterializedView => ("materialized view", "materialized views"),
            ForeignTable => ("foreign table", "foreign tables"),
            PartitionedTable => ("partitioned table", "partitioned tables"),
            Partition => ("partition", "partitions"),
            InheritedTable => ("table that inherits", "tables that inherit"),
            UnloggedTable => (
                "unlogged table (persistence)",
                "unlogged tables (persistence)",
            ),
            Function => ("function", "functions"),
            Procedure => ("procedure", "procedures"),
            Aggregate => ("aggregate", "aggregates"),
            Trigger => ("trigger", "triggers"),
            EventTrigger => ("event trigger", "event triggers"),
            Domain => ("domain", "domains"),
            CompositeType => ("composite type", "composite types"),
            RangeType => ("range type", "range types"),
            Collation => ("collation", "collations"),
            Policy => ("row-level security policy", "row-level security policies"),
            RowLevelSecurity => (
                "table with row-level security enabled",
                "tables with row-level security enabled",
            ),
            Rule => ("rule", "rules"),
            ExclusionConstraint => ("exclusion constraint", "exclusion constraints"),
            ForeignKeyToUnmanaged => (
                "foreign key to an unmanaged table",
                "foreign keys to unmanaged tables",
            ),
            InvalidIndex => (
                "invalid index (a failed concurrent build)",
                "invalid indexes (failed concurrent builds)",
            ),
            Privileges => (
                "table with granted privileges",
                "tables with granted privileges",
            ),
        }
    }
}

/// How a dependency is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// The catalog records it (`pg_depend`): PostgreSQL refuses to drop or
    /// retype the column while the object exists.
    Catalog,
    /// A trigger's function refers to the column (`NEW.col`, or its name
    /// among the trigger's arguments): nothing stops a drop, but the
    /// trigger fails at its next run.
    Body,
}

/// A column (or, with `column: None`, a whole table) something depends on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColumnRef {
    pub table: QualifiedName,
    pub column: Option<Ident>,
    pub via: Via,
}

/// Where an object's name lives, for the names bellows gives its own
/// helper objects (which must not take one that is in use).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// A schema-level name (relations, functions, types).
    Schema(QualifiedName),
    /// A name of a table's own (triggers, policies, rules, constraints).
    Table { table: QualifiedName, name: Ident },
    /// Database-wide (event triggers), or a property of a table.
    Other,
}

/// One object bellows leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmanaged {
    pub kind: UnmanagedKind,
    /// The database's own identity text, e.g. `public.f(integer)` or
    /// `trg on public.t`.
    pub identity: String,
    /// Its name, typed.
    pub place: Place,
    /// The managed tables and columns it depends on (from `pg_depend`), so
    /// a plan can refuse a change that would break it.
    pub depends_on: Vec<ColumnRef>,
}

/// What introspection found.
#[derive(Debug, Clone, Default)]
pub struct Introspection {
    pub schema: Schema,
    /// Sorted by kind, then identity.
    pub unmanaged: Vec<Unmanaged>,
    /// How many catalog queries it took (constant, whatever the size).
    pub queries: usize,
    /// Managed tables that had no page, so no row, when read.
    pub empty_tables: BTreeSet<QualifiedName>,
    /// `server_version_num` (150004 for 15.4).
    pub server_version: u32,
}

impl Introspection {
    /// What the planner needs to know of the live database besides its
    /// schema.
    pub fn plan_options(&self) -> crate::plan::PlanOptions {
        crate::plan::PlanOptions {
            unmanaged: self.unmanaged.clone(),
            empty_tables: self.empty_tables.clone(),
            server_version: Some(self.server_version),
        }
    }
}

impl Introspection {
    /// One line per kind: `not managed by bellows: 3 views (public.a, public.b, public.c), ...`.
    /// `None` when everything is managed.
    pub fn unmanaged_summary(&self) -> Option<String> {
        if self.unmanaged.is_empty() {
            return None;
        }
        let mut by_kind: BTreeMap<UnmanagedKind, Vec<&str>> = BTreeMap::new();
        for u in &self.unmanaged {
            by_kind.entry(u.kind).or_default().push(&u.identity);
        }
        let parts: Vec<String> = by_kind
            .iter()
            .map(|(kind, names)| {
                let (one, many) = kind.nouns();
                let noun = if names.len() == 1 { one } else { many };
                let shown: Vec<&str> = names.iter().take(5).copied().collect();
                let more = if names.len() > 5 { ", ..." } else { "" };
                format!("{} {noun} ({}{more})", names.len(), shown.join(", "))
            })
            .collect();
        Some(format!(
            "not managed by bellows (left untouched): {}",
            parts.join("; ")
        ))
    }
}

/// Why introspection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// The connection string is wrong, or no connection could be made.
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// A catalog query failed.
    #[error("reading {what} from the catalog failed: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: DbError,
    },
    /// `--schema` named a schema that does not exist.
    #[error("schema `{0}` does not exist in this database")]
    NoSuchSchema(String),
    /// The catalog holds something the model cannot represent faithfully.
    #[error("{object}: {detail}")]
    Unrepresentable { object: String, detail: String },
    /// The server is older than bellows supports.
    #[error("PostgreSQL {0} is not supported: bellows needs PostgreSQL 12 or later")]
    OldServer(String),
}

/// Connects to the database a connection string names and reads its
/// schema (see [`Target::parse`] for what the string may be).
pub async fn introspect_url(url: &str, opts: &Options) -> Result<Introspection, IntrospectError> {
    introspect_target(&Target::parse(url)?, opts).await
}

/// Connects to `target` and reads its schema.
pub async fn introspect_target(
    target: &Target,
    opts: &Options,
) -> Result<Introspection, IntrospectError> {
    match target {
        Target::Postgres(info) => {
            use sqlx::Connection;
            let mut conn = info.connect().await?;
            let r = postgres::introspect(&mut conn, opts).await;
            let _ = conn.close().await;
            r
        }
    }
}

impl fmt::Display for Unmanaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.nouns().0, self.identity)
    }
}
