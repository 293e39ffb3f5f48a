//! Extensions (`CREATE EXTENSION`).

use super::ident::Ident;

/// An installed extension; `None` fields are left to the database.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Extension {
    pub schema: Option<Ident>,
    pub version: Option<String>,
}
