//! What views read: the relations and columns of a view's query (as the
//! server resolved them, or as its text names them), what a new or kept
//! view needs before it is made or dropped, and the checks that refuse a
//! target view reading what the target no longer has.

use std::collections::BTreeSet;

use super::*;
use crate::sql::postgres::query_relations;

/// The relations `v` reads: as the server resolved them, or as its text
/// names them.
pub(super) fn relations_read(v: &View) -> BTreeSet<QualifiedName> {
    match &v.facts {
        Some(f) => f.reads.iter().map(|r| r.table.clone()).collect(),
        None => query_relations(&v.query).into_iter().collect(),
    }
}

/// Whether `v` reads column `column` of `table` (with `None`, anything
/// of it). Without the server's word, naming the table counts.
pub(super) fn reads(v: &View, table: &QualifiedName, column: Option<&Ident>) -> bool {
    match (&v.facts, column) {
        (Some(f), Some(c)) => f
            .reads
            .iter()
            .any(|r| &r.table == table && r.column.as_ref() == Some(c)),
        _ => relations_read(v).contains(table),
    }
}

impl Planner<'_> {
    /// What a new or replaced view `v` (in the target) needs first: the
    /// views and tables it reads, and the columns (all of a table's, when
    /// the server has not said which).
    pub(super) fn view_requirements(&self, v: &View) -> Vec<Resource> {
        let mut out = Vec::new();
        for r in relations_read(v) {
            if self.tgt.views.contains_key(&r) {
                out.push(Resource::View(r));
            } else if let Some(t) = self.tgt.tables.get(&r) {
                match &v.facts {
                    Some(f) => out.extend(
                        f.reads
                            .iter()
                            .filter(|x| x.table == r)
                            .filter_map(|x| x.column.as_ref())
                            .map(|c| Resource::column(&r, c)),
                    ),
                    None => out.extend(t.columns.iter().map(|c| Resource::column(&r, &c.name))),
                }
                out.push(Resource::Table(r));
            }
        }
        out
    }

    /// A view of the target that reads what the target does not have
    /// would fail when made, or block a drop: refused with what it reads.
    /// So is an option the server does not know.
    pub(super) fn check_view_reads(&mut self) {
        let mut errors = Vec::new();
        let old_server = self.server_version.is_some_and(|v| v < 150000);
        for (name, v) in &self.tgt.views {
            if old_server && v.security_invoker {
                errors.push(PlanError::Unsupported {
                    object: format!("view {name}"),
                    what: "security_invoker on a server older than PostgreSQL 15".into(),
                    hint: "leave the option out (the view then runs with its owner's privileges), or upgrade the server".into(),
                });
            }
        }
        for (name, v) in &self.tgt.views {
            let missing = |r: &QualifiedName| {
                !self.tgt.views.contains_key(r)
                    && !self.tgt.tables.contains_key(r)
                    && (self.cur.views.contains_key(r) || self.cur.tables.contains_key(r))
            };
            for r in relations_read(v) {
                if missing(&r) {
                    errors.push(PlanError::ViewReadsGone {
                        view: format!("{} {name}", v.kind_name()),
                        gone: r.to_string(),
                    });
                }
            }
            let Some(f) = &v.facts else { continue };
            for (i, ix) in v.materialized.iter().flat_map(|m| &m.indexes) {
                let gives = |c: &Ident| f.columns.iter().any(|(n, _)| n == c);
                let named = ix.keys.iter().filter_map(|k| k.column_name());
                for c in named.chain(&ix.include).filter(|c| !gives(c)) {
                    let list: Vec<&str> = f.columns.iter().map(|(n, _)| n.as_str()).collect();
                    errors.push(PlanError::ViewIndexColumn {
                        view: name.to_string(),
                        index: i.to_string(),
                        column: c.to_string(),
                        gives: list.join(", "),
                    });
                }
            }
            for x in &f.reads {
                let (Some(c), Some(t)) = (&x.column, self.tgt.tables.get(&x.table)) else {
                    continue;
                };
                if t.column(c.as_str()).is_none() {
                    errors.push(PlanError::ViewReadsGone {
                        view: format!("{} {name}", v.kind_name()),
                        gone: format!("column {}", col_name(&x.table, c)),
                    });
                }
            }
        }
        for e in errors {
            self.error(e);
        }
    }

    /// What a live view reads, for a step that must run before any of it
    /// goes.
    pub(super) fn live_reads(&self, v: &View) -> Vec<Resource> {
        let mut out = Vec::new();
        for x in v.facts.iter().flat_map(|f| &f.reads) {
            if self.cur.views.contains_key(&x.table) {
                out.push(Resource::View(x.table.clone()));
            } else if let Some(c) = &x.column {
                out.push(Resource::column(&x.table, c));
            } else {
                out.push(Resource::Table(x.table.clone()));
            }
        }
        out
    }
}
