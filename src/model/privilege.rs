//! Privileges (`GRANT ... ON TABLE | SEQUENCE | SCHEMA ... TO role`) on
//! the relations and schemas bellows manages, for the roles the file
//! names: by object and grantee, each privilege with whether the grantee
//! may grant it on. Roles themselves stay outside bellows.

use super::ident::{Ident, QualifiedName};
use super::policy::PUBLIC_ROLE;
use super::routine::RoutineKey;

/// What a grant is on: `TABLE` covers tables, views and materialized
/// views, as in `GRANT ... ON TABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantObject {
    Table,
    Sequence,
    Schema,
    /// A column of a table (`GRANT SELECT (c) ON TABLE t`).
    Column,
    /// A function or procedure.
    Routine,
    /// An enum, domain, range or composite type.
    Type,
}

impl GrantObject {
    pub fn keyword(self) -> &'static str {
        match self {
            GrantObject::Table => "TABLE",
            GrantObject::Sequence => "SEQUENCE",
            GrantObject::Schema => "SCHEMA",
            GrantObject::Column => "TABLE",
            GrantObject::Routine => "ROUTINE",
            GrantObject::Type => "TYPE",
        }
    }

    /// The privileges PostgreSQL has on such an object, in its order.
    pub fn privileges(self) -> &'static [&'static str] {
        match self {
            GrantObject::Table => &[
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
            ],
            GrantObject::Sequence => &["USAGE", "SELECT", "UPDATE"],
            GrantObject::Schema => &["USAGE", "CREATE"],
            GrantObject::Column => &["SELECT", "INSERT", "UPDATE", "REFERENCES"],
            GrantObject::Routine => &["EXECUTE"],
            GrantObject::Type => &["USAGE"],
        }
    }
}

/// The object a grant is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantOn {
    /// A table, view or materialized view (`Table`), or a sequence.
    Relation(QualifiedName, GrantObject),
    /// A column of a table.
    Column(QualifiedName, Ident),
    /// A schema of `schemas:` (not `public`, whose privileges are the
    /// server's).
    Schema(Ident),
    /// A function or procedure. PUBLIC holds EXECUTE on one unless
    /// revoked: only PUBLIC without it is stated, as a grant of nothing.
    Routine(RoutineKey),
    /// An enum, domain, range or composite type. PUBLIC holds USAGE on
    /// one unless revoked, stated as for a routine.
    Type(QualifiedName),
}

impl GrantOn {
    /// The kind of object, which says its privileges.
    pub fn kind(&self) -> GrantObject {
        match self {
            GrantOn::Relation(_, k) => *k,
            GrantOn::Column(..) => GrantObject::Column,
            GrantOn::Schema(_) => GrantObject::Schema,
            GrantOn::Routine(_) => GrantObject::Routine,
            GrantOn::Type(_) => GrantObject::Type,
        }
    }

    /// The relation, for a grant on one.
    pub fn relation(&self) -> Option<&QualifiedName> {
        match self {
            GrantOn::Relation(q, _) => Some(q),
            _ => None,
        }
    }
}

impl super::Schema {
    /// The owner this schema states for the object of `on` (a column's:
    /// its table's, or view's), and the key it is stated under.
    pub fn stated_owner(&self, on: &GrantOn) -> Option<(&GrantOn, &Ident)> {
        match on {
            // A column's table (or view) is a relation of kind `Table`.
            GrantOn::Column(t, _) => self
                .owners
                .get_key_value(&GrantOn::Relation(t.clone(), GrantObject::Table)),
            _ => self.owners.get_key_value(on),
        }
    }
}

impl std::fmt::Display for GrantOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrantOn::Relation(q, _) => write!(f, "{q}"),
            GrantOn::Column(q, c) => write!(f, "{q}.{}", super::quote_part(c.as_str())),
            GrantOn::Schema(s) => write!(f, "schema {}", super::quote_part(s.as_str())),
            GrantOn::Routine(k) => write!(f, "routine {k}"),
            GrantOn::Type(q) => write!(f, "type {q}"),
        }
    }
}

/// The privileges of one grantee on one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantKey {
    pub on: GrantOn,
    /// A role, or [`PUBLIC_ROLE`] for every role.
    pub grantee: Ident,
}

/// Privileges (`SELECT`, `INSERT`, ...: upper case, each one of
/// `GrantObject::privileges`), each with whether it may be granted on.
pub type Privileges = std::collections::BTreeMap<String, bool>;

impl GrantKey {
    /// What the grantee holds on a fresh object, before any GRANT or
    /// REVOKE: PUBLIC's EXECUTE on a routine and USAGE on a type (and on
    /// schema `public`, as PostgreSQL 15 makes it), nothing otherwise. A
    /// schema states PUBLIC's privileges there only when they differ from
    /// this (an empty set: revoked).
    pub fn fresh(&self) -> Privileges {
        let public = self.grantee.as_str() == PUBLIC_ROLE;
        match &self.on {
            // PostgreSQL 15's `public` schema: PUBLIC may use it, not
            // create in it.
            GrantOn::Schema(s) if public && s.as_str() == super::ident::DEFAULT_SCHEMA => {
                return Privileges::from([("USAGE".to_string(), false)]);
            }
            _ => {}
        }
        match self.on.kind() {
            GrantObject::Routine | GrantObject::Type if public => self
                .on
                .kind()
                .privileges()
                .iter()
                .map(|p| (p.to_string(), false))
                .collect(),
            _ => Privileges::new(),
        }
    }

    /// `PUBLIC` or the quoted role, as GRANT and REVOKE take it.
    pub fn grantee_sql(&self) -> String {
        if self.grantee.as_str() == PUBLIC_ROLE {
            "PUBLIC".into()
        } else {
            crate::sql::quote_ident(self.grantee.as_str())
        }
    }
}
