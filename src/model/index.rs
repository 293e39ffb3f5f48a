//! Indexes that are not the backing index of a constraint.

use super::ident::Ident;
use super::storage::StorageParams;

/// Sort direction of an index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// Where NULLs sort, when it differs from the default for the direction
/// (`NULLS LAST` for ASC, `NULLS FIRST` for DESC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NullsOrder {
    First,
    Last,
}

/// What one index key indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyTarget {
    Column(Ident),
    /// An SQL expression, e.g. `lower(email)`.
    Expression(String),
}

/// One key of an index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexKey {
    pub target: KeyTarget,
    pub order: SortOrder,
    /// `None` means the default for `order`.
    pub nulls: Option<NullsOrder>,
    pub opclass: Option<String>,
    pub collation: Option<Ident>,
}

impl IndexKey {
    pub fn column(name: Ident) -> Self {
        IndexKey {
            target: KeyTarget::Column(name),
            order: SortOrder::Asc,
            nulls: None,
            opclass: None,
            collation: None,
        }
    }

    /// The column the key is on, if it is on a column (not an expression).
    pub fn column_name(&self) -> Option<&Ident> {
        match &self.target {
            KeyTarget::Column(c) => Some(c),
            KeyTarget::Expression(_) => None,
        }
    }

    /// A key on a bare column with every option at its default.
    pub fn is_plain_column(&self) -> bool {
        matches!(self.target, KeyTarget::Column(_))
            && self.order == SortOrder::Asc
            && self.nulls.is_none()
            && self.opclass.is_none()
            && self.collation.is_none()
    }
}

/// The index access methods PostgreSQL ships; `btree` is the default.
pub const DEFAULT_INDEX_METHOD: &str = "btree";

/// An index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub unique: bool,
    /// Access method (`btree`, `hash`, `gin`, `gist`, `brin`, `spgist`, ...).
    pub method: String,
    pub keys: Vec<IndexKey>,
    /// Non-key columns (`INCLUDE (...)`).
    pub include: Vec<Ident>,
    /// Partial index predicate (`WHERE ...`).
    pub predicate: Option<String>,
    pub nulls_not_distinct: bool,
    /// `WITH (fillfactor = 70, ...)`.
    pub storage: StorageParams,
    pub renamed_from: Option<Ident>,
}

impl Index {
    /// The unique index a key over `columns` is built as.
    pub fn unique_on(columns: &[Ident], nulls_not_distinct: bool) -> Index {
        Index {
            unique: true,
            method: DEFAULT_INDEX_METHOD.to_string(),
            keys: columns.iter().cloned().map(IndexKey::column).collect(),
            include: Vec::new(),
            predicate: None,
            nulls_not_distinct,
            storage: StorageParams::default(),
            renamed_from: None,
        }
    }

    /// The columns of its keys, in order, when every key is a column;
    /// `None` when one is an expression.
    pub fn key_columns(&self) -> Option<Vec<Ident>> {
        self.keys.iter().map(|k| k.column_name().cloned()).collect()
    }
}

hint_free!(Index {
    unique,
    method,
    keys,
    include,
    predicate,
    nulls_not_distinct,
    storage,
} hints {
    renamed_from,
});
