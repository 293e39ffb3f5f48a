//! Views: a stored query with a few options. The query is compared as
//! the server prints it (`pg_get_viewdef`); what a view reads and the
//! columns it gives are facts the server knows, carried beside the
//! definition but not part of it.

use super::{ColumnRef, Ident};

/// `WITH [LOCAL | CASCADED] CHECK OPTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckOption {
    Local,
    Cascaded,
}

impl CheckOption {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOption::Local => "local",
            CheckOption::Cascaded => "cascaded",
        }
    }
}

/// A view. Equality and the hash leave out [`View::facts`].
#[derive(Debug, Clone, Eq)]
pub struct View {
    /// The query (a SELECT), without a trailing `;`, trimmed; names in
    /// it resolve with `search_path = public`, as everywhere in a target.
    pub query: String,
    /// Names for its columns in place of those the query gives (`CREATE
    /// VIEW v (a, b)`); empty for none. The server folds them into the
    /// query as aliases, so a live view never has them.
    pub columns: Vec<Ident>,
    pub check_option: Option<CheckOption>,
    pub security_barrier: bool,
    /// `security_invoker` (PostgreSQL 15): the caller's privileges apply.
    pub security_invoker: bool,
    pub comment: Option<String>,
    /// What the server says about the query, when it has read it: from
    /// introspection for a live view, from a canonicalization for a
    /// target's; `None` for a file nothing checked.
    pub facts: Option<ViewFacts>,
}

/// What a view's query reads and gives, as the server resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ViewFacts {
    /// The tables' columns (and, with `column: None`, the relations:
    /// tables and other views) it reads, sorted.
    pub reads: Vec<ColumnRef>,
    /// Its columns, in order: name and type as `format_type` prints it.
    pub columns: Vec<(Ident, String)>,
    /// Privileges granted on it to others than its owner, which a view
    /// dropped and made again must be given again (bellows does not
    /// manage privileges yet, but does not lose them).
    pub grants: Vec<ViewGrant>,
    /// Its owner, when that is not the user who read it: a view made
    /// again is given back to it.
    pub owner: Option<Ident>,
}

/// `GRANT privilege ON view TO grantee [WITH GRANT OPTION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewGrant {
    /// `SELECT`, `INSERT`, ...
    pub privilege: String,
    /// A role, or `None` for PUBLIC.
    pub grantee: Option<Ident>,
    pub grantable: bool,
}

hint_free!(View { query, columns, check_option, security_barrier, security_invoker, comment } hints { facts });

impl PartialEq for View {
    fn eq(&self, other: &View) -> bool {
        self.same_definition(other)
    }
}

impl View {
    /// A plain view of `query` (normalized: see [`View::normalize`]).
    pub fn new(query: &str) -> View {
        View {
            query: View::normalize(query),
            columns: Vec::new(),
            check_option: None,
            security_barrier: false,
            security_invoker: false,
            comment: None,
            facts: None,
        }
    }

    /// The query as compared: surrounding blanks and trailing `;` gone.
    pub fn normalize(query: &str) -> String {
        query.trim().trim_end_matches(';').trim_end().to_string()
    }
}
