//! Which storage strategy PostgreSQL gives a column of each built-in
//! type (`pg_type.typstorage`), as PostgreSQL 12 to 18 define them.

use super::super::{BaseType, ColumnType};
use crate::model::StorageStrategy;

/// Built-in types kept in the row (fixed length): they take no other
/// strategy and no compression.
const PLAIN: &[&str] = &[
    "uuid",
    "money",
    "tsquery",
    "point",
    "line",
    "lseg",
    "box",
    "circle",
    "oid",
    "regclass",
    "regtype",
    "regproc",
    "regprocedure",
    "regnamespace",
    "regrole",
    "regconfig",
    "regoper",
    "regoperator",
    "regdictionary",
    "regcollation",
    "pg_lsn",
    "name",
    "char",
    "xid",
    "xid8",
    "cid",
    "tid",
    "macaddr",
    "macaddr8",
    "aclitem",
];

/// Built-in types compressed but kept in the row while they fit.
const MAIN: &[&str] = &["inet", "cidr"];

impl ColumnType {
    /// The strategy PostgreSQL gives a column of this built-in type;
    /// `None` for a user type (see `Schema::default_storage`).
    pub fn default_storage(&self) -> Option<StorageStrategy> {
        if self.array {
            return Some(StorageStrategy::Extended);
        }
        Some(match &self.base {
            BaseType::SmallInt
            | BaseType::Integer
            | BaseType::BigInt
            | BaseType::Real
            | BaseType::Double
            | BaseType::Boolean
            | BaseType::Date
            | BaseType::Time { .. }
            | BaseType::Timestamp { .. }
            | BaseType::Interval { .. } => StorageStrategy::Plain,
            BaseType::Numeric(_) => StorageStrategy::Main,
            BaseType::Text
            | BaseType::Varchar(_)
            | BaseType::Char(_)
            | BaseType::Bytea
            | BaseType::Bit(_)
            | BaseType::Varbit(_) => StorageStrategy::Extended,
            BaseType::Named {
                schema: None, name, ..
            } => match name.as_str() {
                n if PLAIN.contains(&n) => StorageStrategy::Plain,
                n if MAIN.contains(&n) => StorageStrategy::Main,
                _ => StorageStrategy::Extended,
            },
            BaseType::Named { .. } => return None,
        })
    }
}
