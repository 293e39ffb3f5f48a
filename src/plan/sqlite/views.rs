//! Views on SQLite: a stored query, kept as written. A new one is made in
//! expand, a changed one made again there (SQLite has no CREATE OR
//! REPLACE), a dropped one dropped in contract. SQLite checks every view
//! when a table is renamed or a column dropped, and a rebuild drops the
//! table a view reads, so the views over a table a step rebuilds or drops
//! a column of are dropped and made again (as the target has them) in
//! that step's transaction (`around`).

use std::collections::BTreeSet;

use super::ddl::qi;
use super::{Planner, mentions, undo, write_step};
use crate::model::{QualifiedName, View};
use crate::plan::step::*;

pub(super) fn create_sql(name: &QualifiedName, v: &View) -> String {
    let columns = if v.columns.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = v.columns.iter().map(|c| qi(c.as_str())).collect();
        format!(" ({})", list.join(", "))
    };
    format!(
        "CREATE VIEW {}{columns} AS {}",
        qi(name.name.as_str()),
        v.query
    )
}

fn drop_sql(name: &QualifiedName) -> String {
    format!("DROP VIEW IF EXISTS {}", qi(name.name.as_str()))
}

fn names(query: &str, name: &QualifiedName) -> bool {
    mentions(query, &name.name)
}

/// The statements that drop the views over `table` (and the views over
/// those) before a step, and those that make them again after it, as the
/// target has them, each after the views it reads.
pub(super) struct Around {
    pub drops: Vec<String>,
    pub creates: Vec<String>,
}

impl Planner<'_> {
    pub(super) fn plan_views(&mut self) {
        let (cur, tgt) = (self.cur, self.tgt);
        for (name, v) in &tgt.views {
            match cur.views.get(name) {
                None => self.create_view(name, v),
                Some(live) if live.query != v.query || live.columns != v.columns => {
                    self.replace_view(name, live, v)
                }
                Some(_) => {}
            }
        }
        for name in cur.views.keys().filter(|n| !tgt.views.contains_key(*n)) {
            let shown = name.unqualified();
            self.steps.push(
                write_step(
                    ObjectKind::View,
                    shown.to_string(),
                    Action::Drop,
                    Phase::Contract,
                    format!("drop view {shown}"),
                )
                .sql(drop_sql(name))
                .removes(Resource::View(name.clone())),
            );
        }
    }

    /// What the view reads among the target's tables and views: made
    /// before it.
    fn reads(&self, v: &View) -> Vec<Resource> {
        let tables = self
            .tgt
            .tables
            .keys()
            .filter(|t| names(&v.query, t))
            .map(Resource::table);
        let views = self
            .tgt
            .views
            .keys()
            .filter(|w| names(&v.query, w))
            .map(|w| Resource::View(w.clone()));
        tables.chain(views).collect()
    }

    fn create_view(&mut self, name: &QualifiedName, v: &View) {
        let shown = name.unqualified();
        self.name_free(name, format!("new view {shown}"));
        let step = write_step(
            ObjectKind::View,
            shown.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create view {shown}"),
        );
        let undo = undo(
            ObjectKind::View,
            shown.to_string(),
            format!("drop view {shown}"),
        )
        .sql(drop_sql(name));
        self.push_view(name, v, step, undo);
    }

    /// Finishes `step`, which makes view `name` with query `v` (after what
    /// it already holds), and pushes it with its `undo`.
    fn push_view(&mut self, name: &QualifiedName, v: &View, step: Step, undo: Step) {
        let step = step
            .sql(create_sql(name, v))
            .provides(Resource::View(name.clone()))
            .requires_all(self.reads(v))
            .undo_with(vec![undo]);
        self.steps.push(step);
    }

    fn replace_view(&mut self, name: &QualifiedName, live: &View, v: &View) {
        let shown = name.unqualified();
        let step = write_step(
            ObjectKind::View,
            shown.to_string(),
            Action::Replace,
            Phase::Expand,
            format!("make view {shown} again with its new query"),
        )
        .hazard(
            HazardKind::OldAppVisible,
            format!(
                "SQLite keeps one query for {shown}: the old app reads the new one from expand on"
            ),
        )
        .sql(drop_sql(name));
        let undo = undo(
            ObjectKind::View,
            shown.to_string(),
            format!("give view {shown} its old query back"),
        )
        .sql(drop_sql(name))
        .sql(create_sql(name, live));
        self.push_view(name, v, step, undo);
    }

    /// The views a step on `table` must drop and make again.
    pub(super) fn views_around(&self, table: &QualifiedName) -> Around {
        let (cur, tgt) = (self.cur, self.tgt);
        let all: BTreeSet<&QualifiedName> = cur.views.keys().chain(tgt.views.keys()).collect();
        let query = |n: &QualifiedName| -> Vec<&str> {
            [cur.views.get(n), tgt.views.get(n)]
                .into_iter()
                .flatten()
                .map(|v| v.query.as_str())
                .collect()
        };
        let mut hit: BTreeSet<&QualifiedName> = BTreeSet::new();
        let mut reached = vec![table];
        while let Some(t) = reached.pop() {
            for v in &all {
                if !hit.contains(v) && query(v).iter().any(|q| names(q, t)) {
                    hit.insert(v);
                    reached.push(v);
                }
            }
        }
        let drops = hit.iter().map(|v| drop_sql(v)).collect();
        // Made again in an order where each comes after those it reads.
        let mut creates = Vec::new();
        let mut made: BTreeSet<&QualifiedName> = BTreeSet::new();
        let kept: Vec<(&QualifiedName, &View)> = hit
            .iter()
            .filter_map(|v| tgt.views.get_key_value(*v))
            .collect();
        while made.len() < kept.len() {
            let before = made.len();
            for (n, v) in &kept {
                let ready = kept
                    .iter()
                    .all(|(m, _)| m == n || made.contains(m) || !names(&v.query, m));
                if !made.contains(n) && ready {
                    creates.push(create_sql(n, v));
                    made.insert(n);
                }
            }
            if made.len() == before {
                // Views that read each other: SQLite's own order.
                for (n, v) in &kept {
                    if made.insert(n) {
                        creates.push(create_sql(n, v));
                    }
                }
            }
        }
        Around { drops, creates }
    }
}
