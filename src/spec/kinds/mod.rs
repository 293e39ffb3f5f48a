//! The kinds of object a target file holds, one module each: its YAML
//! types, how an entry is read into the model (with every error located)
//! and how the model is written back. The list below is the one place
//! that names them: it makes the file's top-level keys (`SchemaFile`),
//! the order they are read in, and the order `dump` writes them in.

use schemars::JsonSchema;
use serde::Deserialize;

use super::de::{Checked, Located, OrderedMap};
use super::read::Reader;
use super::write::{Writer, Y};
use crate::model::Schema;

mod aggregate;
mod collation;
mod column_privilege;
mod composite_type;
mod default_privilege;
mod domain;
mod enum_type;
mod extension;
mod namespace;
mod owner;
mod privilege;
mod range_type;
pub(super) mod routine;
pub(super) mod sequence;
pub(super) mod table;
mod view;

pub use aggregate::AggregateSpec;
pub use collation::{CollationProviderSpec, CollationSpec};
pub use composite_type::{AttributeSpec, CompositeTypeSpec};
pub use domain::DomainSpec;
pub use enum_type::{EnumMapSpec, EnumSpec};
pub use extension::{ExtensionSpec, ExtensionsSpec};
pub use namespace::{SchemaSpec, SchemasSpec};
pub use range_type::RangeTypeSpec;
pub use routine::{FunctionSpec, ParallelSpec, ProcedureSpec, SecuritySpec, VolatilitySpec};
pub use sequence::SequenceSpec;
pub use table::*;
pub use view::{CheckOptionSpec, MaterializedViewEntry, MaterializedViewSpec, ViewEntry, ViewSpec};

/// Declares the kinds: each is a top-level key of the file, with its
/// type, read and written by the two functions named after `=>`.
macro_rules! kinds {
    ($( $(#[$doc:meta])* $key:ident: $ty:ty => $read:path, $write:path; )*) => {
        /// A bellows target schema: the whole truth for the kinds of object
        /// bellows manages. Names are taken literally (case is kept); a table or
        /// type name without a schema is in `public`.
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        #[schemars(title = "bellows target schema")]
        pub struct SchemaFile {
            $( $(#[$doc])* #[serde(default)] pub $key: $ty, )*
        }

        /// Reads each kind's part of `file`, in the order listed.
        pub(super) fn read_all(r: &mut Reader, file: SchemaFile) {
            $( $read(r, file.$key); )*
        }

        /// Each kind's part of `schema`, under its key, in the order
        /// listed; a kind with nothing to write is left out.
        pub(super) fn write_all(schema: &Schema, w: &Writer) -> Vec<(String, Y)> {
            let mut doc = Vec::new();
            $(
                if let Some(y) = $write(schema, w) {
                    doc.push((stringify!($key).to_string(), y));
                }
            )*
            doc
        }
    };
}

kinds! {
    /// Schemas (namespaces) besides `public`: a list of names, or name to
    /// `{ comment }`. Those that tables, enums or sequences are in need
    /// not be listed.
    schemas: Option<SchemasSpec> => namespace::read, namespace::write;
    /// Extensions: a list of names, or a mapping of name to options.
    extensions: Option<ExtensionsSpec> => extension::read, extension::write;
    /// Enum types: name to the list of labels, in sort order, or to
    /// `{ values, comment }`.
    enums: OrderedMap<Checked<EnumSpec>> => enum_type::read, enum_type::write;
    /// Collations: name to `{ provider, locale, ctype, deterministic }`.
    collations: OrderedMap<Checked<CollationSpec>> => collation::read, collation::write;
    /// Range types: name to `{ subtype, subtype_opclass, collation,
    /// canonical, subtype_diff, multirange_type_name }`.
    range_types: OrderedMap<Checked<RangeTypeSpec>> => range_type::read, range_type::write;
    /// Domains: name to `{ type, nullable, default, collation, checks }`.
    domains: OrderedMap<Checked<DomainSpec>> => domain::read, domain::write;
    /// Composite types: name to `{ attributes, comment }`, the attributes
    /// in order, each name to its type or to `{ type, collation }`.
    composite_types: OrderedMap<Checked<CompositeTypeSpec>> => composite_type::read, composite_type::write;
    /// Sequences that are not behind a `serial` column.
    sequences: OrderedMap<Checked<SequenceSpec>> => sequence::read, sequence::write;
    /// Tables: `name` or `schema.name` to its definition.
    tables: OrderedMap<Checked<TableSpec>> => table::read, table::write;
    /// Views: name to the query (a block string `|`), or to a mapping
    /// with `query` and options.
    views: OrderedMap<Checked<ViewEntry>> => view::read, view::write;
    /// Materialized views: name to the query, or to a mapping with
    /// `query`, `indexes` and `comment`.
    materialized_views: OrderedMap<Checked<MaterializedViewEntry>> => view::read_materialized, view::write_materialized;
    /// Functions: the signature (`name(arg type, ...)`) to the definition,
    /// whose `body` is a block string `|`. Overloads are distinct entries.
    functions: OrderedMap<Checked<FunctionSpec>> => routine::read_functions, routine::write_functions;
    /// Procedures: as functions, without `returns`.
    procedures: OrderedMap<Checked<ProcedureSpec>> => routine::read_procedures, routine::write_procedures;
    /// Aggregates: the signature (`name(arg type, ...)`) to `{ sfunc,
    /// stype, finalfunc, combinefunc, initcond, parallel, comment }`.
    aggregates: OrderedMap<Checked<AggregateSpec>> => aggregate::read, aggregate::write;
    /// The roles whose privileges `grants` states (`public` for PUBLIC);
    /// other roles' privileges are left alone. Roles are made outside
    /// bellows.
    roles: Option<Vec<Located<String>>> => privilege::read_roles, privilege::write_roles;
    /// Privileges: a table, view or sequence to `{ role: [privilege,
    /// ...] }` (`select`, `insert`, ..., `all`; `with grant option` after
    /// one).
    grants: OrderedMap<Checked<privilege::GrantsSpec>> => privilege::read_grants, privilege::write_grants;
    /// Default privileges: `for role owner` (objects the role makes in
    /// every schema) or `for role owner in schema name`, to each kind of
    /// object (`tables`, `sequences`, `functions`, `types`, `schemas`) to
    /// `{ role: [privilege, ...] }`, as under `grants`.
    default_privileges: OrderedMap<Checked<default_privilege::DefaultPrivilegesSpec>> => default_privilege::read, default_privilege::write;
    /// Owners: an object, named as under `grants`, to the role that owns
    /// it (`ALTER ... OWNER TO`). An object not listed keeps its owner.
    owners: OrderedMap<Located<String>> => owner::read, owner::write;
}
