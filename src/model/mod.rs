//! The canonical schema model. Introspection and the YAML reader both
//! produce a `Schema`; diff, planner, renderers and executor speak only this.
//! Every collection is a sorted map so that output never depends on hash
//! order; columns keep their declared order.

/// `Hash` for a type that carries transition hints: every field but the
/// hints, so that a schema's hash is its canonical fingerprint (what a
/// database can hold); and `same_definition`, equality but for the hints.
/// The pattern names every field, so a new one cannot be left out.
macro_rules! hint_free {
    (hash $ty:ident { $($f:ident),* $(,)? } hints { $($h:ident),* $(,)? }) => {
        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                let $ty { $($f,)* $($h: _,)* } = self;
                $( $f.hash(state); )*
            }
        }
    };
    ($ty:ident { $($f:ident),* $(,)? } hints { $($h:ident),* $(,)? }) => {
        hint_free!(hash $ty { $($f),* } hints { $($h),* });
        impl $ty {
            /// Equal to `other` but for transition hints.
            pub fn same_definition(&self, other: &$ty) -> bool {
                let $ty { $($f,)* $($h: _,)* } = self;
                $( *$f == other.$f && )* true
            }
        }
    };
}

mod aggregate;
mod collation;
mod column;
mod comment;
mod composite_type;
mod constraint;
mod default_privilege;
mod domain;
mod enum_type;
mod extended_statistics;
mod extension;
mod fingerprint;
mod ident;
mod index;
pub mod naming;
mod partition;
mod policy;
mod privilege;
mod range_type;
mod routine;
mod sequence;
mod storage;
mod table;
mod trigger;
mod types;
mod unmanaged;
mod view;

use std::collections::{BTreeMap, BTreeSet};

pub use aggregate::Aggregate;
pub use collation::{Collation, CollationProvider};
pub use column::{Column, ColumnStorage, Compression, Identity, StatisticsTarget, StorageStrategy};
pub use comment::{CommentOn, Comments};
pub use composite_type::{Attribute, CompositeType};
pub use constraint::{
    Check, Deferrable, Exclusion, FkAction, FkMatch, ForeignKey, NotValid, PrimaryKey, Unique,
};
pub use default_privilege::{DefaultGrantKey, DefaultObjects};
pub use domain::Domain;
pub use enum_type::EnumType;
pub use extended_statistics::{ExtendedStatistics, StatisticsKind};
pub use extension::Extension;
pub use ident::{
    DEFAULT_SCHEMA, Ident, IdentError, MAX_IDENT_BYTES, QualifiedName, pair_to_yaml, parse_pair,
    quote_part, split_parts, split_parts_with,
};
pub use index::{DEFAULT_INDEX_METHOD, Index, IndexKey, KeyTarget, NullsOrder, SortOrder};
pub use partition::{PartitionBound, PartitionKey, PartitionOf, PartitionStrategy};
pub use policy::{PUBLIC_ROLE, Policy, PolicyCommand, PolicyKey, RowSecurity};
pub use privilege::{GrantKey, GrantObject, GrantOn, Privileges};
pub use range_type::{RangeType, default_multirange_name};
pub use routine::{
    Arg, ArgMode, Parallel, Routine, RoutineFacts, RoutineKey, RoutineKind, Volatility,
    is_sql_standard_body,
};
pub use sequence::{Sequence, SequenceOptions};
pub use storage::StorageParams;
pub use table::{ReplicaIdentity, Table};
pub use trigger::{Enabled, Timing, Trigger, TriggerKey};
pub use types::{BaseType, ColumnType, SerialKind, TypeSpec};
pub use unmanaged::{ColumnRef, Place, Unmanaged, UnmanagedKind, Via};
pub use view::{CheckOption, Materialized, View, ViewFacts, ViewGrant};

/// The database a schema lives in: it decides the SQL a plan speaks and
/// the rules that make it safe.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    #[default]
    Postgres,
    /// A SQLite file: one namespace, tables changed by `ALTER TABLE` where
    /// SQLite allows it and rebuilt where it does not.
    Sqlite,
}

impl Dialect {
    pub fn is_postgres(&self) -> bool {
        *self == Dialect::Postgres
    }
}

/// A whole database schema, of the kinds bellows manages. Its `Hash`
/// leaves out transition hints (see [`Schema::fingerprint`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// Namespaces other than `public`, whether or not anything is in them.
    pub schemas: BTreeSet<Ident>,
    pub extensions: BTreeMap<Ident, Extension>,
    pub enums: BTreeMap<QualifiedName, EnumType>,
    /// Domains: base types with a default, NOT NULL and checks.
    pub domains: BTreeMap<QualifiedName, Domain>,
    /// Range types, each with its multirange type.
    pub range_types: BTreeMap<QualifiedName, RangeType>,
    /// Composite types (a row of named attributes).
    pub composite_types: BTreeMap<QualifiedName, CompositeType>,
    /// Collations (`CREATE COLLATION`), which columns name.
    pub collations: BTreeMap<QualifiedName, Collation>,
    pub sequences: BTreeMap<QualifiedName, Sequence>,
    pub tables: BTreeMap<QualifiedName, Table>,
    pub views: BTreeMap<QualifiedName, View>,
    /// Functions and procedures, overloads apart.
    pub routines: BTreeMap<RoutineKey, Routine>,
    /// Aggregates of the plain kind, by name and argument types.
    pub aggregates: BTreeMap<RoutineKey, Aggregate>,
    /// Triggers on the tables, by table and name.
    pub triggers: BTreeMap<TriggerKey, Trigger>,
    /// Tables that enable or force row-level security.
    pub row_security: BTreeMap<QualifiedName, RowSecurity>,
    /// Row-level security policies, by table and name.
    pub policies: BTreeMap<PolicyKey, Policy>,
    /// Statistics objects (`CREATE STATISTICS`) on the tables.
    pub extended_statistics: BTreeMap<QualifiedName, ExtendedStatistics>,
    /// The roles whose privileges the schema states ([`PUBLIC_ROLE`] for
    /// PUBLIC): grants to others are left alone.
    pub roles: BTreeSet<Ident>,
    /// Privileges on its relations, by object and grantee.
    pub grants: BTreeMap<GrantKey, Privileges>,
    /// Default privileges, by owner, schema, kind of object and grantee.
    pub default_grants: BTreeMap<DefaultGrantKey, Privileges>,
    /// Owners the schema states (`ALTER ... OWNER TO`), by object (never
    /// a column); an object it does not list keeps its owner. A live
    /// schema lists those not owned by the role that read it.
    pub owners: BTreeMap<GrantOn, Ident>,
    /// Comments on objects whose model has no place for one.
    pub comments: Comments,
}

/// Each kind in turn; a kind added later is left out while it is empty,
/// so that a schema without it keeps the fingerprint it had before (a
/// migration in flight is recognized by it).
impl std::hash::Hash for Schema {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let Schema {
            schemas,
            extensions,
            enums,
            domains,
            range_types,
            composite_types,
            collations,
            sequences,
            tables,
            views,
            routines,
            aggregates,
            triggers,
            row_security,
            policies,
            extended_statistics,
            roles,
            grants,
            default_grants,
            owners,
            comments,
        } = self;
        schemas.hash(state);
        extensions.hash(state);
        enums.hash(state);
        sequences.hash(state);
        tables.hash(state);
        if !views.is_empty() {
            views.hash(state);
        }
        if !routines.is_empty() {
            routines.hash(state);
        }
        if !triggers.is_empty() {
            triggers.hash(state);
        }
        if !row_security.is_empty() {
            row_security.hash(state);
        }
        if !policies.is_empty() {
            policies.hash(state);
        }
        if !collations.is_empty() {
            collations.hash(state);
        }
        if !domains.is_empty() {
            domains.hash(state);
        }
        if !range_types.is_empty() {
            range_types.hash(state);
        }
        if !composite_types.is_empty() {
            composite_types.hash(state);
        }
        if !roles.is_empty() {
            roles.hash(state);
        }
        if !grants.is_empty() {
            grants.hash(state);
        }
        if !comments.is_empty() {
            comments.hash(state);
        }
        if !default_grants.is_empty() {
            default_grants.hash(state);
        }
        if !aggregates.is_empty() {
            aggregates.hash(state);
        }
        if !owners.is_empty() {
            ("owners", owners).hash(state);
        }
        if !extended_statistics.is_empty() {
            ("extended_statistics", extended_statistics).hash(state);
        }
    }
}

impl Schema {
    /// `ty` with each domain replaced by its base type, as the server
    /// reads a value of it in an expression.
    pub fn base_type(&self, ty: &ColumnType) -> ColumnType {
        let mut out = ty.clone();
        // A chain of domains is short; a cycle (which PostgreSQL cannot
        // hold) stops at the bound.
        for _ in 0..16 {
            match out.user_type().and_then(|u| self.domains.get(&u)) {
                Some(d) => {
                    let array = out.array;
                    out = d.ty.clone();
                    out.array |= array;
                }
                None => break,
            }
        }
        out
    }

    /// The storage strategy PostgreSQL gives a column of `ty` unless told
    /// otherwise, through domains; `None` where it is not
    /// known here (an extension's type).
    pub fn default_storage(&self, ty: &ColumnType) -> Option<StorageStrategy> {
        let base = self.base_type(ty);
        match base.user_type() {
            _ if base.array => Some(StorageStrategy::Extended),
            Some(u) if self.enums.contains_key(&u) => Some(StorageStrategy::Plain),
            Some(u)
                if self.composite_types.contains_key(&u) || self.range_types.contains_key(&u) =>
            {
                Some(StorageStrategy::Extended)
            }
            _ => base.default_storage(),
        }
    }

    /// The columns of table `name`: a partition's are those of the table
    /// at the root of its partition tree.
    pub fn table_columns(&self, name: &QualifiedName) -> &[Column] {
        let mut at = name;
        // A tree is shallow; a cycle (which the server cannot hold and the
        // reader refuses) stops at the bound.
        for _ in 0..64 {
            match self.tables.get(at) {
                Some(t) => match &t.partition_of {
                    Some(p) => at = &p.parent,
                    None => return &t.columns,
                },
                None => break,
            }
        }
        &[]
    }

    /// The columns a table inheriting from `parents` (in order) gets from
    /// them: each parent's in its order, one of a name shared by two.
    pub fn inherited_columns(&self, parents: &[QualifiedName]) -> Vec<Column> {
        let mut out: Vec<Column> = Vec::new();
        for p in parents {
            for c in self.tables.get(p).map_or(&[][..], |t| &t.columns) {
                if !out.iter().any(|o| o.name == c.name) {
                    out.push(c.inherited());
                }
            }
        }
        out
    }

    /// The column `name` of table `t` as a parent of it has it (the first
    /// that does), if any: the one `t`'s column is inherited from.
    pub fn parent_column(&self, t: &Table, name: &Ident) -> Option<&Column> {
        t.inherits
            .iter()
            .filter_map(|p| self.tables.get(p))
            .find_map(|p| p.columns.iter().find(|c| c.name == *name))
    }

    /// The tables that inherit from `parent`.
    pub fn children_of<'s>(
        &'s self,
        parent: &'s QualifiedName,
    ) -> impl Iterator<Item = (&'s QualifiedName, &'s Table)> + 's {
        self.tables
            .iter()
            .filter(move |(_, t)| t.inherits.contains(parent))
    }

    /// Whether the schema defines the type `name` (an enum, a domain, a
    /// range type or its multirange type).
    pub fn defines_type(&self, name: &QualifiedName) -> bool {
        self.enums.contains_key(name)
            || self.domains.contains_key(name)
            || self.range_types.contains_key(name)
            || self.composite_types.contains_key(name)
            || self.multirange_of(name).is_some()
    }

    /// The range type whose multirange type is `name`.
    pub fn multirange_of(&self, name: &QualifiedName) -> Option<&QualifiedName> {
        self.range_types
            .iter()
            .find(|(q, r)| {
                q.schema == name.schema
                    && match &r.multirange {
                        Some(m) => m == &name.name,
                        None => default_multirange_name(q.name.as_str()) == name.name.as_str(),
                    }
            })
            .map(|(q, _)| q)
    }

    /// The namespaces objects of this schema live in, except `public`.
    pub fn used_schemas(&self) -> BTreeSet<Ident> {
        let mut out = BTreeSet::new();
        let names = self
            .enums
            .keys()
            .chain(self.domains.keys())
            .chain(self.range_types.keys())
            .chain(self.composite_types.keys())
            .chain(self.collations.keys())
            .chain(self.sequences.keys())
            .chain(self.tables.keys())
            .chain(self.views.keys())
            .chain(self.routines.keys().map(|k| &k.name));
        for n in names {
            if n.schema.as_str() != DEFAULT_SCHEMA {
                out.insert(n.schema.clone());
            }
        }
        for e in self.extensions.values() {
            if let Some(s) = &e.schema
                && s.as_str() != DEFAULT_SCHEMA
            {
                out.insert(s.clone());
            }
        }
        out
    }

    /// A copy without transition hints (`renamed_from`, `backfill`): what a
    /// database can hold, and what introspection gives back.
    pub fn without_hints(&self) -> Schema {
        let mut s = self.clone();
        for t in s.tables.values_mut() {
            t.drop_hints();
        }
        s
    }
}
