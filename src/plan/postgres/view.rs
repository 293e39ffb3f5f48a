//! Views. A new view is made in expand, after what it reads; one the
//! target no longer has is dropped in contract, before what it reads.
//! A changed view that still gives every column it gave, with the same
//! types, plus new ones at the end, is replaced in place in expand
//! (`CREATE OR REPLACE VIEW`: the old app reads it as before); any other
//! change drops and makes it again in contract, in one transaction, with
//! every view over it. A change to a column a view reads (a drop, a type
//! change, the swap of a shadow column) drops and makes the views on it
//! again in the same transaction as the change (PostgreSQL refuses the
//! change under them): see [`Planner::views_around`].

use std::collections::{BTreeMap, BTreeSet};

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::{create_view, drop_view, view_options};

pub(super) struct Views;

/// A change to a view, kept until every view's change is known: which
/// views must go and come back together depends on all of them.
pub(super) enum ViewChange<'a> {
    Added(&'a QualifiedName, &'a View),
    Removed(&'a QualifiedName, &'a View),
    Altered(&'a QualifiedName, &'a View, &'a View),
}

impl Kind for Views {
    objects!(in schema.views: BTreeMap<QualifiedName, View>);

    fn same(_: &Planner<'_>, _: (), a: &View, b: &View) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, v: &'a View) {
        p.view_changes.push(ViewChange::Added(name, v));
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, v: &'a View) {
        p.view_changes.push(ViewChange::Removed(name, v));
    }

    fn altered<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, o: &'a View, n: &'a View) {
        p.view_changes.push(ViewChange::Altered(name, o, n));
    }

    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        p.check_view_reads();
        let changes = std::mem::take(&mut p.view_changes);
        // Views whose change needs them dropped and made again, and
        // materialized views to build beside the old ones.
        let mut replaced = BTreeSet::new();
        let mut beside = Vec::new();
        for c in &changes {
            if let ViewChange::Altered(name, o, n) = c
                && !p.views_done.contains(*name)
            {
                let redefined = o.query != n.query
                    || o.columns != n.columns
                    || o.is_materialized() != n.is_materialized();
                if redefined && n.is_materialized() {
                    beside.push((*name, *o, *n));
                } else if redefined && !in_place(o, n) {
                    replaced.insert((*name).clone());
                }
            }
        }
        if !replaced.is_empty() {
            p.replace_views(&replaced);
        }
        for (name, o, n) in beside {
            // Unless a view it reads was made again, and it with it.
            if !p.views_done.contains(name) {
                p.rebuild_beside(name, o, n);
            }
        }
        for c in changes {
            match c {
                ViewChange::Added(name, v) if !p.views_done.contains(name) => p.add_view(name, v),
                ViewChange::Removed(name, v) if !p.views_done.contains(name) => {
                    p.drop_view(name, v)
                }
                ViewChange::Altered(name, o, n) if !p.views_done.contains(name) => {
                    p.alter_view(name, o, n)
                }
                _ => {}
            }
        }
    }
}

/// Whether `CREATE OR REPLACE VIEW` can take `o` to `n`: the server knows
/// both views' columns, and `n` gives `o`'s, with their types, first.
pub(super) fn in_place(o: &View, n: &View) -> bool {
    if o.is_materialized() || n.is_materialized() {
        return false;
    }
    match (&o.facts, &n.facts) {
        (Some(of), Some(nf)) => nf.columns.starts_with(&of.columns),
        _ => false,
    }
}

/// `SET LOCAL search_path`: a view's names resolve as in a target file.
pub(super) const VIEW_SEARCH_PATH: &str = "SET LOCAL search_path = public";

impl Planner<'_> {
    fn add_view(&mut self, name: &QualifiedName, v: &View) {
        let kind = v.kind_name();
        self.claim(&name.schema, &name.name, || format!("new {kind} {name}"));
        let mut provides = vec![Resource::View(name.clone())];
        for i in v.materialized.iter().flat_map(|m| m.indexes.keys()) {
            self.claim(&name.schema, i, || format!("new index {i} on {name}"));
            provides.push(Resource::index(&name.schema, i));
        }
        let mut step = new_step(
            ObjectKind::View,
            name.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create {kind} {name}"),
        )
        .sql(VIEW_SEARCH_PATH)
        .sql_all(create_view(name, v, false))
        .requires(Resource::Schema(name.schema.clone()))
        .requires_all(self.view_requirements(v))
        .provides_all(provides)
        .undo_with(vec![
            undo_step(
                ObjectKind::View,
                name.to_string(),
                format!("drop {kind} {name}"),
            )
            .sql(format!("DROP {} IF EXISTS {}", v.sql_kind(), qt(name)))
            .removes(Resource::View(name.clone())),
        ]);
        if v.is_materialized() {
            // Filled as it is made, which may take long: nobody waits for
            // a view no one reads yet.
            step = step.lock(LockLevel::None, Cost::Scan);
            step.timeouts.statement_timeout_ms = Some(0);
        }
        self.push(step);
    }

    fn drop_view(&mut self, name: &QualifiedName, v: &View) {
        let kind = v.kind_name();
        self.guard_unmanaged(name, Affects::Table, format!("dropping {kind} {name}"));
        let requires = self.live_reads(v);
        self.push(
            new_step(
                ObjectKind::View,
                name.to_string(),
                Action::Drop,
                Phase::Contract,
                format!("drop {kind} {name}"),
            )
            .sql(drop_view(name, v))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .hazard(HazardKind::UntrackedDependencies, drop_hazard(name, v))
            .requires_all(requires)
            // Before its schema, if that goes too.
            .requires(Resource::Schema(name.schema.clone()))
            .removes(Resource::View(name.clone())),
        );
    }

    fn alter_view(&mut self, name: &QualifiedName, o: &View, n: &View) {
        // A change in place: ACCESS EXCLUSIVE on the view, for a moment.
        let alter = |description: String| {
            new_step(
                ObjectKind::View,
                name.to_string(),
                Action::Alter,
                Phase::Expand,
                description,
            )
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires(Resource::View(name.clone()))
        };
        if o.query != n.query || o.columns != n.columns {
            // In place (see `finish`): the old app's columns stay as they were.
            let requires = self.view_requirements(n);
            self.push(
                alter(format!(
                    "replace view {name} in place (it keeps its columns and adds new ones at the end)"
                ))
                .sql(VIEW_SEARCH_PATH)
                .sql_all(create_view(name, &View { comment: None, ..n.clone() }, true))
                .requires_all(requires)
                .undo_stays(format!(
                    "view {name} keeps its new query: it still gives every column the old app reads"
                )),
            );
        } else if view_options(o) != view_options(n) {
            self.push(
                alter(format!("change the options of view {name}"))
                    .sql_all(options_change(name, o, n))
                    .undo_with(vec![
                        undo_step(
                            ObjectKind::View,
                            name.to_string(),
                            format!("restore the options of view {name}"),
                        )
                        .sql_all(options_change(name, n, o)),
                    ]),
            );
        }
        if let (Some(om), Some(nm)) = (&o.materialized, &n.materialized) {
            self.matview_storage(name, &om.storage, &nm.storage);
            self.view_indexes(name, om, nm);
        }
        if o.comment != n.comment {
            self.push(comment_step(
                n.kind_name(),
                name,
                o.comment.as_deref(),
                n.comment.as_deref(),
                Resource::View(name.clone()),
            ));
        }
    }

    /// Views that change in a way `CREATE OR REPLACE` cannot make: in
    /// contract, in one transaction, they go with every view over them,
    /// and come back as the target has them.
    fn replace_views(&mut self, roots: &BTreeSet<QualifiedName>) {
        let names: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
        let around = self
            .views_over(roots.clone(), &[], Phase::Contract)
            .unlisted(&names);
        let mut step = new_step(
            ObjectKind::View,
            names.join(", "),
            Action::Replace,
            Phase::Contract,
            format!(
                "replace view{} {} once the old app is gone ({})",
                if roots.len() == 1 { "" } else { "s" },
                names.join(", "),
                if roots
                    .iter()
                    .all(|r| self.cur.views.get(r).is_some_and(View::is_materialized))
                {
                    "a materialized view becomes a plain one"
                } else {
                    "CREATE OR REPLACE cannot make the change: a column goes, moves or changes type"
                }
            ),
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata);
        for r in roots {
            if let Some(v) = self.tgt.views.get(r) {
                step = step.requires_all(self.view_requirements(v));
            }
        }
        self.push(around.wrap(step, Vec::new()));
    }
}

/// `ALTER VIEW` statements that take view `name`'s options from those of
/// `o` to those of `n`: SET what `n` has, RESET what only `o` had.
fn options_change(name: &QualifiedName, o: &View, n: &View) -> Vec<String> {
    let mut out = Vec::new();
    let set = view_options(n);
    if !set.is_empty() {
        out.push(format!("ALTER VIEW {} SET ({})", qt(name), set.join(", ")));
    }
    let reset: Vec<&str> = [
        (
            "check_option",
            o.check_option.is_some() && n.check_option.is_none(),
        ),
        (
            "security_barrier",
            o.security_barrier && !n.security_barrier,
        ),
        (
            "security_invoker",
            o.security_invoker && !n.security_invoker,
        ),
    ]
    .into_iter()
    .filter_map(|(option, gone)| gone.then_some(option))
    .collect();
    if !reset.is_empty() {
        out.push(format!(
            "ALTER VIEW {} RESET ({})",
            qt(name),
            reset.join(", ")
        ));
    }
    out
}

pub(super) fn drop_hazard(name: &QualifiedName, v: &View) -> String {
    format!(
        "drops {} {name}: queries and functions that read it fail from then on",
        v.kind_name()
    )
}

#[cfg(test)]
mod tests {
    use crate::model::{ColumnRef, Ident, QualifiedName, Schema, Via, ViewFacts};
    use crate::testing::{plans_between, plans_to, refused, refused_between, schema};

    /// `yaml` with what the server would say of its view `v`: it reads
    /// these columns of `public.t` and gives these columns.
    fn known_in(yaml: &str, reads: &[&str], gives: &[(&str, &str)]) -> Schema {
        let mut s = schema(yaml);
        let t = QualifiedName::parse("t").expect("name");
        let v = s
            .views
            .get_mut(&QualifiedName::parse("v").expect("name"))
            .expect("precondition: the view is in the schema");
        v.facts = Some(ViewFacts {
            reads: reads
                .iter()
                .map(|c| ColumnRef {
                    table: t.clone(),
                    column: Some(Ident::new(*c).expect("name")),
                    via: Via::Catalog,
                })
                .collect(),
            columns: gives
                .iter()
                .map(|(n, ty)| (Ident::new(*n).expect("name"), ty.to_string()))
                .collect(),
            ..ViewFacts::default()
        });
        s
    }

    /// [`known_in`] with the table `T` and these `views`.
    fn known(views: &str, reads: &[&str], gives: &[(&str, &str)]) -> Schema {
        known_in(&format!("{T}views: {{ {views} }}"), reads, gives)
    }

    const T: &str = "tables: { t: { columns: { id: { type: bigint }, a: { type: text }, b: { type: text } } } }\n";

    #[test]
    fn a_new_view_comes_after_the_columns_it_reads_and_a_dropped_one_before_they_go() {
        plans_to(
            "tables: { t: { columns: { id: { type: bigint } } } }\nviews: { old: SELECT id FROM t }",
            &format!("{T}views: {{ v: 'SELECT id, a FROM t' }}"),
            "
            expand: add column public.t.a
                ALTER TABLE public.t ADD COLUMN a text
            expand: add column public.t.b
                ALTER TABLE public.t ADD COLUMN b text
            expand: create view public.v
                SET LOCAL search_path = public
                CREATE VIEW public.v AS
            SELECT id, a FROM t
            contract: drop view public.old
                DROP VIEW public.old
            ",
        );
    }

    #[test]
    fn a_view_that_keeps_its_columns_is_replaced_in_place_in_expand() {
        let from = known("v: 'SELECT id FROM t'", &["id"], &[("id", "bigint")]);
        let (reads, gives) = (["id", "a"], [("id", "bigint"), ("a", "text")]);
        let to = known("v: 'SELECT id, a FROM t'", &reads, &gives);
        plans_between(
            &from,
            &to,
            "
            expand: replace view public.v in place (it keeps its columns and adds new ones at the end)
                SET LOCAL search_path = public
                CREATE OR REPLACE VIEW public.v AS
            SELECT id, a FROM t
            ",
        );
    }

    #[test]
    fn a_view_whose_columns_change_is_replaced_in_contract_with_the_views_over_it() {
        let (id, a) = (("id", "bigint"), ("a", "text"));
        let w = "w: 'SELECT a FROM v'";
        let from = known(
            &format!("v: 'SELECT id, a FROM t', {w}"),
            &["id", "a"],
            &[id, a],
        );
        let to = known(
            &format!("v: 'SELECT a, id FROM t', {w}"),
            &["id", "a"],
            &[a, id],
        );
        plans_between(
            &from,
            &to,
            "
            contract: replace view public.v once the old app is gone (CREATE OR REPLACE cannot make the change: a column goes, moves or changes type) (in the same transaction, view public.w dropped and made again)
                DROP VIEW public.w
                DROP VIEW public.v
                SET LOCAL search_path = public
                CREATE VIEW public.v AS
            SELECT a, id FROM t
                CREATE VIEW public.w AS
            SELECT a FROM v
            ",
        );
    }

    /// Column `b` of `t` dropped under view `v` (`query`), which the
    /// server says reads `reads`.
    fn dropping_b(query: &str, reads: &[&str]) -> (Schema, Schema) {
        let from = known(&format!("v: '{query}'"), reads, &[]);
        let to = known_in(
            &format!(
                "tables: {{ t: {{ columns: {{ id: {{ type: bigint }}, a: {{ type: text }} }} }} }}\nviews: {{ v: '{query}' }}"
            ),
            reads,
            &[],
        );
        (from, to)
    }

    #[test]
    fn a_column_no_view_reads_is_dropped_without_touching_the_views() {
        let (from, to) = dropping_b("SELECT id, a FROM t", &["id", "a"]);
        plans_between(
            &from,
            &to,
            "
            contract: drop column public.t.b
                ALTER TABLE public.t DROP COLUMN b
            ",
        );
    }

    #[test]
    fn a_kept_view_that_reads_a_dropped_column_is_refused() {
        let (from, to) = dropping_b("SELECT id, b FROM t", &["id", "b"]);
        refused_between(
            &from,
            &to,
            "view public.v reads column public.t.b, which the target no longer has",
        );
    }

    #[test]
    fn a_kept_view_over_a_dropped_table_is_refused() {
        refused(
            &format!("{T}views: {{ v: 'SELECT id FROM t' }}"),
            "views: { v: 'SELECT 1 AS one FROM t' }",
            "view public.v reads public.t, which the target no longer has",
        );
    }

    #[test]
    fn a_view_the_target_drops_stays_for_the_old_app_until_contract() {
        let widened = T.replace("a: { type: text }", "a: { type: varchar(10) }");
        let from = known_in(
            &format!("{widened}views: {{ v: 'SELECT id, a FROM t' }}"),
            &["id", "a"],
            &[],
        );
        let to = schema(&T.replace("a: { type: text }", "a: { type: varchar(20) }"));
        plans_between(
            &from,
            &to,
            "
            expand: widen public.t.a from varchar(10) to varchar(20) (no rewrite) (in the same transaction, view public.v dropped and made again)
                DROP VIEW public.v
                ALTER TABLE public.t ALTER COLUMN a TYPE varchar(20)
                SET LOCAL search_path = public
                CREATE VIEW public.v AS
            SELECT id, a FROM t
            expand: gather the planner's statistics of public.t (a) again (PostgreSQL discards them with the change)
                ANALYZE public.t (a)
            contract: drop view public.v
                DROP VIEW public.v
            ",
        );
    }

    #[test]
    fn a_view_goes_before_its_schema_and_with_the_table_it_reads() {
        plans_to(
            "tables: { app.t: { columns: { id: { type: bigint } } } }\nviews: { app.v: SELECT id FROM app.t, app.w: SELECT 1 AS one }",
            "",
            "
            contract: drop table app.t (in the same transaction, view app.v dropped)
                DROP VIEW app.v
                DROP TABLE app.t
            contract: drop view app.w
                DROP VIEW app.w
            contract: drop schema app
                DROP SCHEMA app
            ",
        );
    }

    #[test]
    fn security_invoker_is_refused_before_postgresql_15() {
        let from = schema(T);
        let to = schema(&format!(
            "{T}views: {{ v: {{ query: 'SELECT id FROM t', security_invoker: true }} }}"
        ));
        let on = |version| {
            let opts = crate::plan::PlanOptions {
                server_version: Some(version),
                ..Default::default()
            };
            crate::plan::plan(&from, &to, &opts).map_err(|e| e.to_string())
        };
        let e = on(140010).expect_err("refused on 14");
        assert!(
            e.contains("security_invoker on a server older than PostgreSQL 15"),
            "{e}"
        );
        assert!(on(150004).is_ok());
    }

    #[test]
    fn options_are_set_and_reset_in_place() {
        plans_to(
            &format!("{T}views: {{ v: {{ query: 'SELECT id FROM t', security_barrier: true }} }}"),
            &format!("{T}views: {{ v: {{ query: 'SELECT id FROM t', check_option: local }} }}"),
            "
            expand: change the options of view public.v
                ALTER VIEW public.v SET (check_option = local)
                ALTER VIEW public.v RESET (security_barrier)
            ",
        );
    }
}
