//! Comments on the objects that carry none in their own model: schemas,
//! types, collations, sequences, indexes, table constraints and
//! statistics objects. Kept
//! apart from the objects (tables, columns, views, routines, triggers,
//! policies and composite types carry theirs), so that a comment never
//! makes two definitions differ: a new one is a `COMMENT ON`, never a
//! rebuild.

use std::collections::BTreeMap;

use super::{Ident, QualifiedName, Schema};

/// The object a comment is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommentOn {
    /// A schema of `schemas:` (not `public`, whose comment is the server's).
    Schema(Ident),
    /// An enum or range type.
    Type(QualifiedName),
    Domain(QualifiedName),
    Collation(QualifiedName),
    Sequence(QualifiedName),
    /// An index of a table or materialized view, by schema and name.
    Index(QualifiedName),
    /// A table's primary key, unique, check, exclusion or foreign key.
    Constraint(QualifiedName, Ident),
    /// A statistics object.
    Statistics(QualifiedName),
}

/// Comments by object.
pub type Comments = BTreeMap<CommentOn, String>;

impl std::fmt::Display for CommentOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommentOn::Schema(s) => write!(f, "schema {}", super::quote_part(s.as_str())),
            CommentOn::Type(q) => write!(f, "type {q}"),
            CommentOn::Domain(q) => write!(f, "domain {q}"),
            CommentOn::Collation(q) => write!(f, "collation {q}"),
            CommentOn::Sequence(q) => write!(f, "sequence {q}"),
            CommentOn::Index(q) => write!(f, "index {q}"),
            CommentOn::Statistics(q) => write!(f, "statistics {q}"),
            CommentOn::Constraint(t, c) => {
                write!(f, "constraint {} on {t}", super::quote_part(c.as_str()))
            }
        }
    }
}

impl Schema {
    /// Whether `q` is an enum, domain, range or composite type here.
    pub fn has_type(&self, q: &QualifiedName) -> bool {
        self.enums.contains_key(q)
            || self.domains.contains_key(q)
            || self.range_types.contains_key(q)
            || self.composite_types.contains_key(q)
    }

    /// Whether the object `on` names is in this schema.
    pub fn has(&self, on: &CommentOn) -> bool {
        match on {
            CommentOn::Schema(s) => self.schemas.contains(s),
            CommentOn::Type(q) => self.enums.contains_key(q) || self.range_types.contains_key(q),
            CommentOn::Domain(q) => self.domains.contains_key(q),
            CommentOn::Collation(q) => self.collations.contains_key(q),
            CommentOn::Sequence(q) => self.sequences.contains_key(q),
            CommentOn::Index(q) => {
                let in_schema = |t: &QualifiedName| t.schema == q.schema;
                self.tables
                    .iter()
                    .any(|(t, v)| in_schema(t) && v.indexes.contains_key(&q.name))
                    || self.views.iter().any(|(v, view)| {
                        in_schema(v)
                            && view
                                .materialized
                                .as_ref()
                                .is_some_and(|m| m.indexes.contains_key(&q.name))
                    })
            }
            CommentOn::Constraint(t, c) => self.tables.get(t).is_some_and(|t| {
                t.primary_key.as_ref().is_some_and(|p| &p.name == c)
                    || t.uniques.contains_key(c)
                    || t.checks.contains_key(c)
                    || t.exclusions.contains_key(c)
                    || t.foreign_keys.contains_key(c)
            }),
            CommentOn::Statistics(q) => self.extended_statistics.contains_key(q),
        }
    }
}
