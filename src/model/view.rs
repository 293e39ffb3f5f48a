//! Views: a stored query with a few options. The query is compared as
//! the server prints it (`pg_get_viewdef`); what a view reads and the
//! columns it gives are facts the server knows, carried beside the
//! definition but not part of it. A materialized view is a view whose
//! rows are stored, with indexes of its own.

use std::collections::BTreeMap;

use super::{ColumnRef, Ident, Index, StorageParams};

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

/// A view, plain or materialized. Equality and the hash leave out
/// [`View::facts`].
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
    /// `Some` for a materialized view (which has none of the options
    /// above): its rows are stored when it is made.
    pub materialized: Option<Materialized>,
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

/// What a materialized view has that a plain one does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Materialized {
    /// Its indexes (a unique one lets `REFRESH ... CONCURRENTLY` run), by
    /// name; they live in the view's schema like a table's.
    pub indexes: BTreeMap<Ident, Index>,
    /// `WITH (fillfactor = 70, autovacuum_enabled = false, ...)`: a
    /// table's storage parameters.
    pub storage: StorageParams,
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

/// A plain view hashes as it did before materialized views were modeled,
/// so that a schema's fingerprint (which a migration in flight is
/// recognized by) does not change.
impl std::hash::Hash for View {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let View {
            query,
            columns,
            check_option,
            security_barrier,
            security_invoker,
            comment,
            materialized,
            facts: _,
        } = self;
        query.hash(state);
        columns.hash(state);
        check_option.hash(state);
        security_barrier.hash(state);
        security_invoker.hash(state);
        comment.hash(state);
        if let Some(m) = materialized {
            m.hash(state);
        }
    }
}

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
            materialized: None,
            facts: None,
        }
    }

    /// Equal to `other` but for what the server says of them, and for
    /// the indexes' transition hints.
    pub fn same_definition(&self, other: &View) -> bool {
        let indexes_same = match (&self.materialized, &other.materialized) {
            (Some(a), Some(b)) => {
                a.indexes.len() == b.indexes.len()
                    && a.indexes
                        .iter()
                        .zip(&b.indexes)
                        .all(|((an, ai), (bn, bi))| an == bn && ai.same_definition(bi))
            }
            (None, None) => true,
            _ => false,
        };
        self.query == other.query
            && self.columns == other.columns
            && self.check_option == other.check_option
            && self.security_barrier == other.security_barrier
            && self.security_invoker == other.security_invoker
            && self.comment == other.comment
            && indexes_same
            && self.materialized.as_ref().map(|m| &m.storage)
                == other.materialized.as_ref().map(|m| &m.storage)
    }

    pub fn is_materialized(&self) -> bool {
        self.materialized.is_some()
    }

    /// `VIEW` or `MATERIALIZED VIEW`, for the statements that name the
    /// kind (`DROP`, `COMMENT ON`, `ALTER ... OWNER`).
    pub fn sql_kind(&self) -> &'static str {
        if self.is_materialized() {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        }
    }

    /// "view" or "materialized view", for messages.
    pub fn kind_name(&self) -> &'static str {
        if self.is_materialized() {
            "materialized view"
        } else {
            "view"
        }
    }

    /// The query as compared: surrounding blanks and trailing `;` gone.
    pub fn normalize(query: &str) -> String {
        query.trim().trim_end_matches(';').trim_end().to_string()
    }
}
