//! Privileges (`GRANT ... ON TABLE | SEQUENCE ... TO role`) on the
//! relations bellows manages, for the roles the file names: by object
//! and grantee, each privilege with whether the grantee may grant it on.
//! Roles themselves stay outside bellows.

use super::ident::{Ident, QualifiedName};
use super::policy::PUBLIC_ROLE;

/// What a grant is on: `TABLE` covers tables, views and materialized
/// views, as in `GRANT ... ON TABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantObject {
    Table,
    Sequence,
}

impl GrantObject {
    pub fn keyword(self) -> &'static str {
        match self {
            GrantObject::Table => "TABLE",
            GrantObject::Sequence => "SEQUENCE",
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
        }
    }
}

/// The privileges of one grantee on one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantKey {
    pub object: QualifiedName,
    pub on: GrantObject,
    /// A role, or [`PUBLIC_ROLE`] for every role.
    pub grantee: Ident,
}

/// Privileges (`SELECT`, `INSERT`, ...: upper case, each one of
/// `GrantObject::privileges`), each with whether it may be granted on.
pub type Privileges = std::collections::BTreeMap<String, bool>;

impl GrantKey {
    /// `PUBLIC` or the quoted role, as GRANT and REVOKE take it.
    pub fn grantee_sql(&self) -> String {
        if self.grantee.as_str() == PUBLIC_ROLE {
            "PUBLIC".into()
        } else {
            crate::sql::quote_ident(self.grantee.as_str())
        }
    }
}
