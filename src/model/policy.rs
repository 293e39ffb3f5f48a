//! Row-level security: whether a table enforces it, and its policies,
//! which say which rows each role may see and write.

use super::{Ident, QualifiedName};

/// `ALTER TABLE ... ENABLE` / `FORCE ROW LEVEL SECURITY`. A table that
/// has neither is not in [`super::Schema::row_security`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RowSecurity {
    /// Policies apply to everyone but the table's owner and superusers;
    /// a role no policy grants rows sees none.
    pub enabled: bool,
    /// The owner too.
    pub forced: bool,
}

/// A policy, by table and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyKey {
    pub table: QualifiedName,
    pub name: Ident,
}

impl std::fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.name, self.table)
    }
}

/// The commands a policy applies to (`FOR ...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyCommand {
    #[default]
    All,
    Select,
    Insert,
    Update,
    Delete,
}

impl PolicyCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyCommand::All => "all",
            PolicyCommand::Select => "select",
            PolicyCommand::Insert => "insert",
            PolicyCommand::Update => "update",
            PolicyCommand::Delete => "delete",
        }
    }
}

/// The role name that stands for every role (`TO PUBLIC`).
pub const PUBLIC_ROLE: &str = "public";

/// A policy on a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// `AS RESTRICTIVE`: rows must pass it as well as some permissive
    /// policy; a permissive one (the default) grants rows on its own.
    pub restrictive: bool,
    pub command: PolicyCommand,
    /// The roles it applies to, sorted; [`PUBLIC_ROLE`] for every role.
    pub roles: Vec<Ident>,
    /// `USING (...)`: the rows it lets a role see (or update, delete).
    pub using: Option<String>,
    /// `WITH CHECK (...)`: the rows it lets a role write.
    pub with_check: Option<String>,
    pub comment: Option<String>,
}

impl Policy {
    /// The roles when none are named: every role.
    pub fn everyone() -> Vec<Ident> {
        vec![Ident::new(PUBLIC_ROLE).expect("a valid name")]
    }
}
