//! `tables:`: each table's columns, keys, unique constraints, indexes,
//! checks, exclusions and foreign keys. Reading one entry is in `read.rs`
//! (indexes in `index.rs`, checks and exclusions in `read_sql.rs`), the
//! checks across tables in `checks.rs`, writing in `write.rs`.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::*;
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::format::{ListOr, Scalar, TextOr};
use crate::spec::read::{Reader, duplicate, qname};
use crate::spec::write::{Writer, Y, key};

mod checks;
mod column_names;
mod extended_statistics;
mod identity;
mod index;
mod inherit;
mod partition;
pub(super) mod policy;
mod read;
mod read_sql;
mod replica;
pub(super) mod storage;
pub(super) mod trigger;
mod write;

use column_names::column_list;

/// The indexes of materialized view `name`, read as a table's are but
/// for the columns they name (see [`read::TableReader::open_columns`]).
pub(super) fn read_view_indexes(
    r: &mut Reader,
    name: &QualifiedName,
    indexes: OrderedMap<Checked<IndexSpec>>,
) -> std::collections::BTreeMap<Ident, Index> {
    let mut t = read::TableReader {
        diags: r.diags,
        places: &mut r.places,
        name,
        sequences: &mut r.schema.sequences,
        comments: &mut r.schema.comments,
        broken: BTreeSet::new(),
        open_columns: true,
    };
    let mut table = Table::default();
    let mut indexes = indexes;
    for (k, v) in &mut indexes.0 {
        if let Checked::Valid(spec) = v
            && let Some(r) = spec.renamed_from.take()
        {
            t.err(
                r.span(),
                format!("index `{}` of materialized view `{name}` has `renamed_from`, which a materialized view's index does not take: a renamed one is built under its new name", k.value),
            );
        }
    }
    t.read_indexes(&mut table, indexes);
    table.indexes
}

/// Storage parameters as `dump` writes them (a materialized view's too).
pub(super) fn write_storage(p: &StorageParams) -> Y {
    write::storage(p)
}

/// An index of a materialized view as `dump` writes it.
pub(super) fn write_view_index(i: &Index, comment: Option<&String>, w: &Writer) -> Y {
    write::index(i, comment, w)
}

pub use extended_statistics::{ExtendedStatisticsSpec, StatisticsKindSpec};
pub use policy::{PolicyCommandSpec, PolicySpec};
pub use trigger::{EnabledSpec, EventSpec, ForEachSpec, TimingSpec, TriggerSpec};

/// A table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Columns in table order: name to definition.
    #[serde(default)]
    pub columns: OrderedMap<Checked<ColumnSpec>>,
    /// Column list, or `{ name, columns }` to name the constraint
    /// (default `<table>_pkey`).
    pub primary_key: Option<Located<ListOr<Vec<Located<String>>, PrimaryKeySpec>>>,
    /// Unique constraints: name to a column list or to options.
    #[serde(default)]
    pub unique: OrderedMap<Checked<ListOr<Vec<Located<String>>, UniqueSpec>>>,
    /// Indexes: name to definition.
    #[serde(default)]
    pub indexes: OrderedMap<Checked<IndexSpec>>,
    /// Check constraints: name to a boolean SQL expression or to options.
    #[serde(default)]
    pub checks: OrderedMap<Checked<Located<TextOr<CheckSpec>>>>,
    /// Exclusion constraints: name to what follows `EXCLUDE`
    /// (`USING gist (room WITH =, during WITH &&)`), or to options.
    #[serde(default)]
    pub exclusions: OrderedMap<Checked<Located<TextOr<ExclusionSpec>>>>,
    /// Foreign keys: name to definition.
    #[serde(default)]
    pub foreign_keys: OrderedMap<Checked<ForeignKeySpec>>,
    /// Triggers: name to definition.
    #[serde(default)]
    pub triggers: OrderedMap<Checked<TriggerSpec>>,
    /// `ENABLE ROW LEVEL SECURITY`: roles see and write only the rows a
    /// policy grants them (the owner all of them, unless forced).
    #[serde(default)]
    pub row_security: bool,
    /// `FORCE ROW LEVEL SECURITY`: the policies bind the owner too.
    #[serde(default)]
    pub force_row_security: bool,
    /// Row-level security policies: name to definition.
    #[serde(default)]
    pub policies: OrderedMap<Checked<PolicySpec>>,
    /// Statistics objects (`CREATE STATISTICS`): name to definition.
    #[serde(default)]
    pub extended_statistics: OrderedMap<Checked<ExtendedStatisticsSpec>>,
    /// `UNLOGGED`: not written to the WAL (faster writes; emptied after a
    /// crash, not replicated).
    #[serde(default)]
    pub unlogged: bool,
    /// SQLite's `STRICT`: each value must be of its column's type (`int`,
    /// `integer`, `real`, `text`, `blob` or `any`).
    #[serde(default)]
    pub strict: bool,
    /// SQLite's `WITHOUT ROWID`: the rows are kept in primary key order.
    #[serde(default)]
    pub without_rowid: bool,
    /// `PARTITION BY`: the table's rows live in its partitions, routed by
    /// this key: `range (created_at)`, `list (region)`, `hash (id)`.
    pub partition_by: Option<Located<String>>,
    /// `PARTITION OF`: the partitioned table this is a partition of. A
    /// partition has its parent's columns (it lists none); it may have
    /// indexes and constraints of its own.
    pub partition_of: Option<Located<String>>,
    /// A partition's bound: `FROM ('2024-01-01') TO ('2025-01-01')`,
    /// `IN ('eu', 'uk')`, `WITH (modulus 4, remainder 0)` (what follows
    /// `FOR VALUES`), or `DEFAULT`.
    pub bound: Option<Located<String>>,
    /// `INHERITS`: the tables whose columns this one has besides its own
    /// (a query of a parent sees the rows of the tables that inherit from
    /// it). A parent's column is not listed again unless this table gives
    /// it something of its own: a default, `nullable: false`, a comment.
    pub inherits: Option<Vec<Located<String>>>,
    /// Storage parameters: `{ fillfactor: 70, autovacuum_vacuum_scale_factor:
    /// 0.01 }` (`WITH (...)`; not on a partitioned table).
    #[serde(default)]
    pub with: OrderedMap<Located<Scalar>>,
    /// `REPLICA IDENTITY` for logical replication: `default` (the primary
    /// key), `full`, `nothing`, or `{ index: name }` (a unique index or
    /// constraint on NOT NULL columns).
    pub replica_identity: Option<Located<TextOr<ReplicaIndexSpec>>>,
    pub comment: Option<String>,
    /// Hint: the table's previous name; makes the change a rename.
    pub renamed_from: Option<Located<String>>,
}

/// `GENERATED ... AS IDENTITY`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySpec {
    /// `GENERATED ALWAYS AS IDENTITY`
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`
    ByDefault,
}

/// An identity column with its sequence's options (each left out takes
/// PostgreSQL's default for the column's type).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityOptionsSpec {
    /// `always` or `by_default`.
    pub generated: IdentitySpec,
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub cache: Option<i64>,
    #[serde(default)]
    pub cycle: bool,
}

/// A column.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The SQL type, any spelling PostgreSQL accepts (`int`, `varchar(20)`,
    /// `timestamptz`, `text[]`, `serial`, a user type).
    #[serde(rename = "type")]
    pub ty: Located<String>,
    /// Whether NULL is allowed (default true; primary-key and identity
    /// columns are never nullable).
    pub nullable: Option<Located<bool>>,
    /// Default value, as an SQL expression: `0`, `now()`, `"'free'"`.
    pub default: Option<Located<String>>,
    /// `always`, `by_default`, or `{ generated, start, increment,
    /// min_value, max_value, cache, cycle }`.
    pub identity: Option<Located<TextOr<IdentityOptionsSpec>>>,
    /// `GENERATED ALWAYS AS (expression) STORED`.
    pub generated: Option<Located<String>>,
    pub collation: Option<Located<String>>,
    pub comment: Option<String>,
    /// `SET STATISTICS`: how many common values and histogram buckets
    /// ANALYZE keeps for the planner (0 to 10000; default: the server's
    /// `default_statistics_target`).
    pub statistics: Option<Located<i64>>,
    /// `SET STORAGE`: `plain`, `extended`, `external` or `main` (default:
    /// the type's).
    pub storage: Option<Located<String>>,
    /// `SET COMPRESSION`: `pglz` or `lz4` (default: the server's
    /// `default_toast_compression`).
    pub compression: Option<Located<String>>,
    /// The planner's estimates ANALYZE takes instead of its own:
    /// `{ n_distinct: -0.05, n_distinct_inherited: 1000 }` (`SET (...)`).
    #[serde(default)]
    pub with: OrderedMap<Located<Scalar>>,
    /// Hint: the column's previous name; makes the change a rename.
    pub renamed_from: Option<Located<String>>,
    /// Hint: SQL expression the migrate phase fills existing rows with.
    pub backfill: Option<Located<String>>,
}

/// `REPLICA IDENTITY USING INDEX`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaIndexSpec {
    pub index: Located<String>,
}

/// A named primary key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrimaryKeySpec {
    pub name: Option<Located<String>>,
    pub columns: Vec<Located<String>>,
    /// `DEFERRABLE`: uniqueness may be checked at commit (a foreign key
    /// cannot reference such a key).
    #[serde(default)]
    pub deferrable: Option<Located<bool>>,
    /// `DEFERRABLE INITIALLY DEFERRED`.
    #[serde(default)]
    pub initially_deferred: bool,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

/// A unique constraint with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UniqueSpec {
    pub columns: Vec<Located<String>>,
    /// `UNIQUE NULLS NOT DISTINCT` (PostgreSQL 15+).
    #[serde(default)]
    pub nulls_not_distinct: bool,
    #[serde(default)]
    pub deferrable: Option<Located<bool>>,
    #[serde(default)]
    pub initially_deferred: bool,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

/// Sort direction of an index key.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderSpec {
    Asc,
    Desc,
}

/// Where NULLs sort in an index key.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NullsSpec {
    First,
    Last,
}

/// One index key with options: exactly one of `column` and `expression`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexKeySpec {
    pub column: Option<Located<String>>,
    pub expression: Option<Located<String>>,
    pub order: Option<OrderSpec>,
    pub nulls: Option<NullsSpec>,
    /// Operator class, e.g. `text_pattern_ops`.
    pub opclass: Option<String>,
    pub collation: Option<Located<String>>,
}

/// An index: exactly one of `columns`, `expression` and `keys`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    /// Plain column keys.
    pub columns: Option<Vec<Located<String>>>,
    /// A single expression key, e.g. `lower(email)`.
    pub expression: Option<Located<String>>,
    /// Keys with options (order, nulls, opclass, collation).
    pub keys: Option<Vec<Located<IndexKeySpec>>>,
    #[serde(default)]
    pub unique: bool,
    /// Access method: `btree` (default), `hash`, `gin`, `gist`, `brin`, ...
    pub method: Option<String>,
    /// Non-key columns (`INCLUDE`).
    #[serde(default)]
    pub include: Vec<Located<String>>,
    /// Partial index predicate, as SQL.
    #[serde(rename = "where")]
    pub predicate: Option<Located<String>>,
    #[serde(default)]
    pub nulls_not_distinct: bool,
    /// Storage parameters of the access method: `{ fillfactor: 70 }`,
    /// `{ fastupdate: false }` (`WITH (...)`).
    #[serde(default)]
    pub with: OrderedMap<Located<Scalar>>,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

/// A check constraint with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Boolean SQL expression.
    pub expression: Located<String>,
    #[serde(default)]
    pub no_inherit: bool,
    /// `NOT VALID`: enforced on new writes only; the rows already there
    /// are not checked (what `dump` writes for such a constraint).
    #[serde(default)]
    pub not_valid: bool,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

/// An exclusion constraint with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionSpec {
    /// What follows `EXCLUDE`: `USING method (element WITH operator, ...)`,
    /// optionally `WHERE (predicate)`.
    pub definition: Located<String>,
    #[serde(default)]
    pub deferrable: Option<Located<bool>>,
    #[serde(default)]
    pub initially_deferred: bool,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

/// `ON DELETE` / `ON UPDATE` action.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FkActionSpec {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

/// `MATCH` type of a foreign key.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FkMatchSpec {
    Simple,
    Full,
}

/// What a foreign key points at.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferencesSpec {
    /// `name` or `schema.name`.
    pub table: Located<String>,
    pub columns: Vec<Located<String>>,
}

/// A foreign key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeySpec {
    pub columns: Vec<Located<String>>,
    pub references: Located<ReferencesSpec>,
    pub on_delete: Option<FkActionSpec>,
    pub on_update: Option<FkActionSpec>,
    #[serde(rename = "match")]
    pub match_type: Option<FkMatchSpec>,
    pub deferrable: Option<Located<bool>>,
    #[serde(default)]
    pub initially_deferred: bool,
    /// `NOT VALID`: enforced on new writes only; the rows already there
    /// are not checked (what `dump` writes for such a constraint).
    #[serde(default)]
    pub not_valid: bool,
    pub renamed_from: Option<Located<String>>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, tables: OrderedMap<Checked<TableSpec>>) {
    let names: BTreeSet<QualifiedName> = tables
        .0
        .iter()
        .filter_map(|(k, _)| QualifiedName::parse(&k.value).ok())
        .collect();
    for (k, v) in partition::parents_first(tables.0) {
        let Some(name) = qname(r.diags, &k, "table") else {
            continue;
        };
        if let Some(&first) = r.places.tables.get(&name) {
            duplicate(r.diags, &k, &format!("table `{name}`"), first);
            continue;
        }
        r.places.tables.insert(name.clone(), k.span);
        let Checked::Valid(mut spec) = v else {
            r.places.broken_tables.insert(name, None);
            continue;
        };
        let Ok(partition_of) = partition::read_partition_of(r, &name, &spec) else {
            r.places.broken_tables.insert(name, None);
            continue;
        };
        let Ok(inherits) = inherit::read_inherits(r, &name, &spec, &names) else {
            r.places.broken_tables.insert(name, None);
            continue;
        };
        let triggers = std::mem::take(&mut spec.triggers);
        let policies = std::mem::take(&mut spec.policies);
        let statistics = std::mem::take(&mut spec.extended_statistics);
        let flags = RowSecurity {
            enabled: spec.row_security,
            forced: spec.force_row_security,
        };
        // A composite type's name is a relation's too: that clash is
        // reported by the relation namespace below.
        if let Some(first) = r
            .types
            .get(&name)
            .filter(|_| !r.schema.composite_types.contains_key(&name))
        {
            r.diags.push(
                Diagnostic::new(k.span(), format!("table `{name}` has the same name as a type"))
                    .help(format!(
                        "a table's row type shares the type namespace; the type is at line {}, column {}",
                        first.start.line, first.start.column
                    )),
            );
        }
        r.places.claim_relation(
            r.diags,
            &name.schema,
            &name.name,
            format!("table `{name}`"),
            k.span,
        );
        if let Some(from) = &spec.renamed_from {
            r.renames.push((name.clone(), from.span));
        }
        for (c, spec_c) in spec.columns.0.iter() {
            if let Checked::Valid(col) = spec_c
                && checks::typo_candidate(&mut r.typo_candidates, &col.ty.value)
            {
                r.type_uses
                    .push((name.clone(), c.value.clone(), col.ty.clone()));
            }
        }
        let partition_by = spec.partition_by.take();
        let (partition_of, inherited) = partition_of.unzip();
        let (inherits, from_parents) = inherits.unzip();
        let mut t = read::TableReader {
            diags: r.diags,
            places: &mut r.places,
            name: &name,
            sequences: &mut r.schema.sequences,
            comments: &mut r.schema.comments,
            broken: BTreeSet::new(),
            open_columns: false,
        };
        let (mut table, table_fks) = t.read(spec, inherited.or(from_parents).unwrap_or_default());
        table.inherits = inherits.unwrap_or_default();
        if !t.broken.is_empty() {
            let broken = std::mem::take(&mut t.broken);
            r.places.broken_tables.insert(name.clone(), Some(broken));
        }
        for (fk_name, refs) in table_fks {
            r.fks.push((name.clone(), fk_name, refs));
        }
        table.partition_by = partition::read_partition_by(r, &name, &partition_by, &table.columns);
        if let (Some(at), false) = (&partition_by, table.storage.is_empty()) {
            r.diags.push(
                Diagnostic::new(at.span(), format!("table `{name}` is partitioned, and PostgreSQL keeps no storage parameters (`with:`) on a partitioned table"))
                    .help("give them to its partitions, each in its own `with:`"),
            );
        }
        if let (Some(key), Some(at)) = (&table.partition_by, &partition_by) {
            partition::check_unique_keys(r, &name, &table, key, at);
        }
        if partition_by.is_some() && table.partition_by.is_none() {
            r.places.broken_tables.insert(name.clone(), None);
        }
        trigger::read(r, &name, Some(&table), triggers);
        policy::read(r, &name, flags, policies);
        extended_statistics::read(r, &name, &table, statistics);
        if partition_of.is_some() {
            // The parent's columns, lent while the partition's own keys,
            // indexes and triggers were read against them.
            table.columns.clear();
            table.partition_of = partition_of;
        }
        r.schema.tables.insert(name, table);
    }
}

/// The checks across tables, once every entry is read: renames, type
/// names that look like typos, foreign keys against what they reference.
pub(in crate::spec) fn check_all(r: &mut Reader) {
    checks::check_table_renames(r.diags, &r.schema, &r.renames);
    checks::check_type_typos(r.diags, &r.schema, &r.type_uses);
    for (table, fk_name, refs) in std::mem::take(&mut r.fks) {
        checks::check_foreign_key(r.diags, &mut r.schema, &r.places, &table, &fk_name, refs);
    }
}

pub(super) fn write(schema: &Schema, w: &Writer) -> Option<Y> {
    if schema.tables.is_empty() {
        return None;
    }
    Some(Y::Block(
        schema
            .tables
            .iter()
            .map(|(name, t)| {
                let inherited = schema.inherited_columns(&t.inherits);
                let mut y = write::table(name, t, &inherited, &schema.comments, w);
                if let Y::Block(m) = &mut y {
                    if let Some(triggers) = trigger::write(schema, name) {
                        m.push(("triggers".into(), triggers));
                    }
                    m.extend(policy::write_flags(schema, name));
                    if let Some(policies) = policy::write(schema, name) {
                        m.push(("policies".into(), policies));
                    }
                    if let Some(s) = extended_statistics::write(schema, name) {
                        m.push(("extended_statistics".into(), s));
                    }
                }
                (key(&name.to_yaml_key()), y)
            })
            .collect(),
    ))
}

/// The default `serial` gives a column, as PostgreSQL prints it.
pub fn nextval_default(seq: &QualifiedName) -> String {
    let text = if seq.schema.as_str() == DEFAULT_SCHEMA {
        crate::sql::quote_ident(seq.name.as_str())
    } else {
        format!(
            "{}.{}",
            crate::sql::quote_ident(seq.schema.as_str()),
            crate::sql::quote_ident(seq.name.as_str())
        )
    };
    format!("nextval({}::regclass)", crate::sql::quote_literal(&text))
}
