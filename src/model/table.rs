//! Tables: ordered columns and the constraints and indexes on them.

use std::collections::BTreeMap;

use super::column::Column;
use super::constraint::{Check, ForeignKey, PrimaryKey, Unique};
use super::ident::{Ident, QualifiedName};
use super::index::Index;

/// A table. Columns keep their order (it is part of the table's shape);
/// everything else is keyed by name, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub primary_key: Option<PrimaryKey>,
    pub uniques: BTreeMap<Ident, Unique>,
    pub foreign_keys: BTreeMap<Ident, ForeignKey>,
    pub checks: BTreeMap<Ident, Check>,
    pub indexes: BTreeMap<Ident, Index>,
    pub comment: Option<String>,
    /// Hint: the table used to be called so.
    pub renamed_from: Option<QualifiedName>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// Names of every constraint, which share one namespace per table.
    pub fn constraint_names(&self) -> impl Iterator<Item = &Ident> {
        self.primary_key
            .iter()
            .map(|pk| &pk.name)
            .chain(self.uniques.keys())
            .chain(self.foreign_keys.keys())
            .chain(self.checks.keys())
    }
}
