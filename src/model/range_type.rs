//! Range types (`CREATE TYPE name AS RANGE`): ranges of a subtype, with
//! the multirange type PostgreSQL makes beside each.

use super::{ColumnType, Ident};

/// A range type. What is left `None` is PostgreSQL's default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RangeType {
    pub subtype: ColumnType,
    /// A b-tree operator class other than the subtype's default.
    pub subtype_opclass: Option<String>,
    /// A collation other than the subtype's.
    pub collation: Option<Ident>,
    /// The canonical function, by name.
    pub canonical: Option<String>,
    /// The subtype difference function, by name.
    pub subtype_diff: Option<String>,
    /// The multirange type's name, when not the one PostgreSQL derives
    /// (see [`default_multirange_name`]).
    pub multirange: Option<Ident>,
}

/// The multirange type's name PostgreSQL derives from a range type's:
/// `multi` before the first `range` in it, else `_multirange` after it.
pub fn default_multirange_name(range: &str) -> String {
    match range.find("range") {
        Some(i) => format!("{}multi{}", &range[..i], &range[i..]),
        None => format!("{range}_multirange"),
    }
}
