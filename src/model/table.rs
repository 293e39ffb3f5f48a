//! Tables: ordered columns and the constraints and indexes on them.

use std::collections::BTreeMap;

use super::column::Column;
use super::constraint::{Check, Exclusion, ForeignKey, PrimaryKey, Unique};
use super::ident::{Ident, QualifiedName};
use super::index::Index;
use super::partition::{PartitionKey, PartitionOf};
use super::storage::StorageParams;

/// `REPLICA IDENTITY`: which old values of an updated or deleted row
/// logical replication writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ReplicaIdentity {
    /// The primary key's columns (none without one).
    #[default]
    Default,
    /// Every column.
    Full,
    /// None: a table in a publication takes no UPDATE or DELETE.
    Nothing,
    /// The columns of this unique index (one on NOT NULL columns, not
    /// partial, not deferrable).
    Index(Ident),
}

/// A table. Columns keep their order (it is part of the table's shape);
/// everything else is keyed by name, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub primary_key: Option<PrimaryKey>,
    pub uniques: BTreeMap<Ident, Unique>,
    pub foreign_keys: BTreeMap<Ident, ForeignKey>,
    pub checks: BTreeMap<Ident, Check>,
    pub exclusions: BTreeMap<Ident, Exclusion>,
    pub indexes: BTreeMap<Ident, Index>,
    pub comment: Option<String>,
    /// `UNLOGGED`: not written to the WAL, so faster to write, emptied
    /// after a crash and not replicated.
    pub unlogged: bool,
    /// `PARTITION BY ...`: a partitioned table, whose rows its partitions
    /// hold.
    pub partition_by: Option<PartitionKey>,
    /// `PARTITION OF parent ...`: a partition, whose columns are its
    /// parent's (its own `columns` stay empty).
    pub partition_of: Option<PartitionOf>,
    /// `INHERITS (parent, ...)`: the tables, in order, whose columns this
    /// one has besides its own (and whose rows a query of a parent sees
    /// with theirs). Its `columns` hold them all.
    pub inherits: Vec<QualifiedName>,
    /// SQLite's `STRICT`: each value must be of its column's type.
    pub strict: bool,
    /// SQLite's `WITHOUT ROWID`: the rows are kept in primary key order.
    pub without_rowid: bool,
    /// `WITH (fillfactor = 70, autovacuum_enabled = false, ...)`.
    pub storage: StorageParams,
    /// What logical replication writes of an updated or deleted row.
    pub replica_identity: ReplicaIdentity,
    /// Hint: the table used to be called so.
    pub renamed_from: Option<QualifiedName>,
}

impl Table {
    /// Leaves out transition hints (`renamed_from`, `backfill`).
    pub(super) fn drop_hints(&mut self) {
        self.renamed_from = None;
        for c in &mut self.columns {
            c.renamed_from = None;
            c.backfill = None;
        }
        if let Some(pk) = &mut self.primary_key {
            pk.renamed_from = None;
        }
        self.uniques
            .values_mut()
            .for_each(|u| u.renamed_from = None);
        self.foreign_keys
            .values_mut()
            .for_each(|f| f.renamed_from = None);
        self.checks.values_mut().for_each(|c| c.renamed_from = None);
        self.exclusions
            .values_mut()
            .for_each(|x| x.renamed_from = None);
        self.indexes
            .values_mut()
            .for_each(|i| i.renamed_from = None);
    }
}

/// A logged, unpartitioned table without exclusion constraints hashes as
/// it did before persistence, exclusions and partitioning were modeled,
/// so that fingerprints of migrations in flight stay the same.
impl std::hash::Hash for Table {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let Table {
            columns,
            primary_key,
            uniques,
            foreign_keys,
            checks,
            exclusions,
            indexes,
            comment,
            unlogged,
            partition_by,
            partition_of,
            inherits,
            strict,
            without_rowid,
            storage,
            replica_identity,
            renamed_from: _,
        } = self;
        columns.hash(state);
        primary_key.hash(state);
        uniques.hash(state);
        foreign_keys.hash(state);
        checks.hash(state);
        indexes.hash(state);
        comment.hash(state);
        if *unlogged {
            unlogged.hash(state);
        }
        if !exclusions.is_empty() {
            exclusions.hash(state);
        }
        if partition_by.is_some() {
            partition_by.hash(state);
        }
        if partition_of.is_some() {
            partition_of.hash(state);
        }
        if !inherits.is_empty() {
            ("inherits", inherits).hash(state);
        }
        if *strict {
            ("strict", strict).hash(state);
        }
        if *without_rowid {
            ("without_rowid", without_rowid).hash(state);
        }
        storage.hash(state);
        if *replica_identity != ReplicaIdentity::Default {
            ("replica_identity", replica_identity).hash(state);
        }
    }
}

impl Table {
    /// Equal to `other` but for transition hints and column order (which
    /// a database cannot change without rewriting the table).
    pub fn same_definition(&self, other: &Table) -> bool {
        let Table {
            columns,
            primary_key,
            uniques,
            foreign_keys,
            checks,
            exclusions,
            indexes,
            comment,
            unlogged,
            partition_by,
            partition_of,
            inherits,
            strict,
            without_rowid,
            storage,
            replica_identity,
            renamed_from: _,
        } = self;
        columns.len() == other.columns.len()
            && columns.iter().all(|c| {
                other
                    .column(c.name.as_str())
                    .is_some_and(|o| c.same_definition(o))
            })
            && match (primary_key, &other.primary_key) {
                (Some(a), Some(b)) => a.same_definition(b),
                (a, b) => a.is_none() && b.is_none(),
            }
            && same_map(uniques, &other.uniques, Unique::same_definition)
            && same_map(
                foreign_keys,
                &other.foreign_keys,
                ForeignKey::same_definition,
            )
            && same_map(checks, &other.checks, Check::same_definition)
            && same_map(exclusions, &other.exclusions, Exclusion::same_definition)
            && same_map(indexes, &other.indexes, Index::same_definition)
            && *comment == other.comment
            && *unlogged == other.unlogged
            && *partition_by == other.partition_by
            && *partition_of == other.partition_of
            && *inherits == other.inherits
            && *strict == other.strict
            && *without_rowid == other.without_rowid
            && *storage == other.storage
            && *replica_identity == other.replica_identity
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// This (live) table's column that a target's column `c` is: of its
    /// name, or of the one it is renamed from.
    pub fn column_for(&self, c: &Column) -> Option<&Column> {
        self.column(c.name.as_str()).or_else(|| {
            c.renamed_from
                .as_ref()
                .and_then(|r| self.column(r.as_str()))
        })
    }

    /// Names of every constraint, which share one namespace per table.
    pub fn constraint_names(&self) -> impl Iterator<Item = &Ident> {
        self.primary_key
            .iter()
            .map(|pk| &pk.name)
            .chain(self.uniques.keys())
            .chain(self.foreign_keys.keys())
            .chain(self.checks.keys())
            .chain(self.exclusions.keys())
    }
}

/// Same keys, and values equal by `same`.
fn same_map<K: Ord, V>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>, same: fn(&V, &V) -> bool) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
}
