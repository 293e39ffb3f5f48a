//! Domains: a base type with a default, NOT NULL and named checks, which
//! every column of the domain obeys.

use std::collections::BTreeMap;

use super::{ColumnType, Ident};

/// A domain (`CREATE DOMAIN name AS type ...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain {
    /// The base type (itself possibly a domain).
    pub ty: ColumnType,
    /// A collation other than the base type's.
    pub collation: Option<Ident>,
    /// The default for columns of the domain that have none of their own.
    pub default: Option<String>,
    pub not_null: bool,
    /// Named checks, each a boolean expression over `VALUE`.
    pub checks: BTreeMap<Ident, String>,
}
