//! Table constraints: primary key, unique, foreign key, check, exclusion.

use super::ident::{Ident, QualifiedName};

/// `DEFERRABLE [INITIALLY DEFERRED]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Deferrable {
    #[default]
    No,
    InitiallyImmediate,
    InitiallyDeferred,
}

/// Whether a check or a foreign key is `NOT VALID`: enforced on new
/// writes, not proven on the rows that were there. Its hash is nothing
/// while the constraint is valid, so schemas keep the fingerprints they
/// had before validity was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotValid(pub bool);

impl std::hash::Hash for NotValid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if self.0 {
            true.hash(state);
        }
    }
}

/// The primary key: a named constraint over one or more columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    pub name: Ident,
    pub columns: Vec<Ident>,
    pub deferrable: Deferrable,
    pub renamed_from: Option<Ident>,
}

/// A unique constraint (as opposed to a unique index, see `Index`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    pub columns: Vec<Ident>,
    /// PostgreSQL 15+: `UNIQUE NULLS NOT DISTINCT`.
    pub nulls_not_distinct: bool,
    pub deferrable: Deferrable,
    pub renamed_from: Option<Ident>,
}

/// The `ON DELETE` / `ON UPDATE` action of a foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum FkAction {
    #[default]
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl FkAction {
    pub const ALL: [FkAction; 5] = [
        FkAction::NoAction,
        FkAction::Restrict,
        FkAction::Cascade,
        FkAction::SetNull,
        FkAction::SetDefault,
    ];

    /// The YAML spelling.
    pub fn keyword(self) -> &'static str {
        match self {
            FkAction::NoAction => "no_action",
            FkAction::Restrict => "restrict",
            FkAction::Cascade => "cascade",
            FkAction::SetNull => "set_null",
            FkAction::SetDefault => "set_default",
        }
    }

    /// The SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// `MATCH SIMPLE` (the default) or `MATCH FULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum FkMatch {
    #[default]
    Simple,
    Full,
}

/// A foreign key from some columns of this table to another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub columns: Vec<Ident>,
    pub ref_table: QualifiedName,
    pub ref_columns: Vec<Ident>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    pub match_type: FkMatch,
    pub deferrable: Deferrable,
    pub not_valid: NotValid,
    pub renamed_from: Option<Ident>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The boolean SQL expression, without the surrounding `CHECK (...)`.
    pub expression: String,
    pub no_inherit: bool,
    pub not_valid: NotValid,
    pub renamed_from: Option<Ident>,
}

/// An exclusion constraint: no two rows may have every element compare
/// true under its operator (`EXCLUDE USING gist (room WITH =, during WITH
/// &&)`). PostgreSQL keeps it with an index of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// What follows `EXCLUDE`: the index method, the elements with their
    /// operators, and any `INCLUDE`, `WITH (...)` or `WHERE (...)`, as the
    /// server prints it (`USING gist (c WITH &&)`).
    pub definition: String,
    pub deferrable: Deferrable,
    pub renamed_from: Option<Ident>,
}

/// A key that is not deferrable hashes as it did before deferrable
/// primary keys were modeled, so fingerprints of migrations in flight
/// stay the same.
impl std::hash::Hash for PrimaryKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let PrimaryKey {
            name,
            columns,
            deferrable,
            renamed_from: _,
        } = self;
        name.hash(state);
        columns.hash(state);
        if *deferrable != Deferrable::No {
            deferrable.hash(state);
        }
    }
}

impl PrimaryKey {
    /// Equal to `other` but for transition hints.
    pub fn same_definition(&self, other: &PrimaryKey) -> bool {
        self.name == other.name
            && self.columns == other.columns
            && self.deferrable == other.deferrable
    }
}
hint_free!(Unique { columns, nulls_not_distinct, deferrable } hints { renamed_from });
hint_free!(ForeignKey {
    columns,
    ref_table,
    ref_columns,
    on_delete,
    on_update,
    match_type,
    deferrable,
    not_valid,
} hints {
    renamed_from,
});
hint_free!(Check { expression, no_inherit, not_valid } hints { renamed_from });
hint_free!(Exclusion { definition, deferrable } hints { renamed_from });
