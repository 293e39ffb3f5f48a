//! Objects bellows reads but does not manage (yet): what they are, where
//! their names live and which managed columns they depend on, so a plan
//! can refuse a change that would break one and never takes its name.

use std::fmt;

use super::{Ident, QualifiedName};

/// Kinds of object bellows reads but does not manage (yet). They are
/// reported, and nothing bellows does ever drops or alters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnmanagedKind {
    View,
    ForeignTable,
    Partition,
    InheritedTable,
    Function,
    Procedure,
    Aggregate,
    Trigger,
    EventTrigger,
    Collation,
    Policy,
    Rule,
    ExclusionConstraint,
    ForeignKeyToUnmanaged,
    /// A sequence owned by a table bellows does not manage (the `serial`
    /// of a table that inherits): the table's, as the table is.
    SequenceOfUnmanagedTable,
    InvalidIndex,
    /// A table's place in a publication (logical replication): with its
    /// column list and row filter, if any.
    PublicationMembership,
    /// `CREATE STATISTICS`: statistics over several columns of a table.
    StatisticsObject,
}

impl UnmanagedKind {
    /// Singular and plural nouns for messages.
    pub fn nouns(self) -> (&'static str, &'static str) {
        use UnmanagedKind::*;
        match self {
            View => ("view", "views"),
            ForeignTable => ("foreign table", "foreign tables"),
            Partition => ("partition", "partitions"),
            InheritedTable => ("table that inherits", "tables that inherit"),
            Function => ("function", "functions"),
            Procedure => ("procedure", "procedures"),
            Aggregate => ("aggregate", "aggregates"),
            Trigger => ("trigger", "triggers"),
            EventTrigger => ("event trigger", "event triggers"),
            Collation => ("collation", "collations"),
            Policy => ("row-level security policy", "row-level security policies"),
            Rule => ("rule", "rules"),
            ExclusionConstraint => ("exclusion constraint", "exclusion constraints"),
            ForeignKeyToUnmanaged => (
                "foreign key to an unmanaged table",
                "foreign keys to unmanaged tables",
            ),
            SequenceOfUnmanagedTable => (
                "sequence owned by an unmanaged table",
                "sequences owned by unmanaged tables",
            ),
            PublicationMembership => ("publication membership", "publication memberships"),
            StatisticsObject => ("statistics object", "statistics objects"),
            InvalidIndex => (
                "invalid index (a failed concurrent build)",
                "invalid indexes (failed concurrent builds)",
            ),
        }
    }
}

/// How a dependency is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// The catalog records it: the database refuses to drop or retype
    /// the column while the object exists.
    Catalog,
    /// A trigger's function refers to the column (`NEW.col`, or its name
    /// among the trigger's arguments): nothing stops a drop, but the
    /// trigger fails at its next run.
    Body,
    /// It follows the table (or column) itself, not its name: a rename
    /// keeps it, a drop takes it along, but a table built beside and
    /// swapped in, or a column swapped for its shadow, is without it (a
    /// publication's membership, a statistics object).
    Identity,
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
    /// A statistics object's: per schema, apart from relations.
    Statistics(QualifiedName),
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
    /// The managed tables and columns it depends on (as the catalog
    /// records them), so a plan can refuse a change that would break it.
    pub depends_on: Vec<ColumnRef>,
    /// Its SQL as the database keeps it, where a plan may make it again
    /// word for word around a change (SQLite's triggers, around a table
    /// rebuild).
    pub definition: Option<String>,
}

impl fmt::Display for Unmanaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.nouns().0, self.identity)
    }
}
