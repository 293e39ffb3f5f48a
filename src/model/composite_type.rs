//! Composite types (`CREATE TYPE name AS (attribute type, ...)`): a row
//! of named, typed attributes, as a column's type or a function's.

use super::{ColumnType, Ident};

/// One attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    pub name: Ident,
    pub ty: ColumnType,
    /// A collation other than the type's default.
    pub collation: Option<Ident>,
}

/// A composite type: its attributes, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CompositeType {
    pub attributes: Vec<Attribute>,
    pub comment: Option<String>,
}
