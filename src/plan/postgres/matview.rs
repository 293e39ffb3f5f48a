//! Materialized views. A new one is made, and filled, in expand, with its
//! indexes. One whose query changes (or a plain view that becomes one)
//! is built and filled beside it under a name of its own in expand, its
//! indexes built `CONCURRENTLY`, while the old app reads the old one; in
//! contract it is filled again (with rows as of then), and in one short
//! transaction the old one is dropped and the new one takes its name, with the views over it dropped and made again
//! around the swap. An index added, dropped or changed on a materialized
//! view whose query stays goes as a table's does.

use std::collections::BTreeSet;

use super::view::VIEW_SEARCH_PATH;
use super::view_around::ownership;
use super::view_reads::reads;
use super::*;
use crate::diff::postgres::normalize_for;
use crate::sql::postgres::{create_view, drop_view};

impl Planner<'_> {
    /// `name` goes from `o` to the materialized view `n` with a new
    /// query (or from a plain view): built beside, swapped in contract.
    pub(super) fn rebuild_beside(&mut self, name: &QualifiedName, o: &View, n: &View) {
        let schema = name.schema.clone();
        let purpose = format!("the new definition of materialized view {name}");
        self.guard_unmanaged(
            name,
            Affects::Rebuild,
            format!("building {purpose} beside it"),
        );
        let tmp = self.helper(
            &[Space::Relation(schema.clone())],
            &[name.name.as_str()],
            "bellows_new",
            purpose.clone(),
        );
        let beside = QualifiedName::new(schema.clone(), tmp.clone());
        let without_indexes = View {
            comment: None,
            materialized: Some(Materialized {
                indexes: Default::default(),
                storage: n
                    .materialized
                    .as_ref()
                    .map(|m| m.storage.clone())
                    .unwrap_or_default(),
            }),
            ..n.clone()
        };
        let mut build = new_step(
            ObjectKind::View,
            beside.to_string(),
            Action::Build,
            Phase::Expand,
            format!("build {purpose} beside it, as {beside} (the old app reads the old one until contract)"),
        )
        .sql(VIEW_SEARCH_PATH)
        .sql_all(create_view(&beside, &without_indexes, false))
        .lock(LockLevel::None, Cost::Scan)
        .requires(Resource::Schema(schema.clone()))
        .requires_all(self.view_requirements(n))
        .provides(Resource::View(beside.clone()))
        .undo_with(vec![
            undo_step(
                ObjectKind::View,
                beside.to_string(),
                format!("drop {beside}, the new definition of materialized view {name}"),
            )
            .sql(format!("DROP MATERIALIZED VIEW IF EXISTS {}", qt(&beside)))
            .removes(Resource::View(beside.clone())),
        ]);
        // Filling it may take long; nobody waits for it.
        build.timeouts.statement_timeout_ms = Some(0);
        self.push(build);
        // Its indexes, concurrently, under names of their own until the swap.
        let mut renames = Vec::new();
        let mut built = Vec::new();
        for (i, ix) in n.materialized.iter().flat_map(|m| &m.indexes) {
            let tmp_ix = self.helper(
                &[Space::Relation(schema.clone())],
                &[i.as_str()],
                "bellows_new",
                format!("index {i} of {purpose}"),
            );
            self.create_index(&beside, &tmp_ix, ix, i, Phase::Expand);
            // After the view it is on (which is no table to require).
            if let Some(s) = self.steps.last_mut() {
                s.requires.push(Resource::View(beside.clone()));
            }
            renames.push(format!(
                "ALTER INDEX {}.{} RENAME TO {}",
                qi(&schema),
                qi(&tmp_ix),
                qi(i)
            ));
            built.push(Resource::index(&schema, &tmp_ix));
        }
        // Filled again just before the swap, so that it brings in the rows
        // as of contract, not as of expand: it locks only the new view,
        // which nobody reads yet.
        let mut refresh = new_step(
            ObjectKind::View,
            beside.to_string(),
            Action::Refresh,
            Phase::Contract,
            format!(
                "fill {beside} again, so that what the swap brings in holds the rows as of contract"
            ),
        )
        .sql(format!("REFRESH MATERIALIZED VIEW {}", qt(&beside)))
        .lock(LockLevel::None, Cost::Scan)
        .requires(Resource::View(beside.clone()))
        .requires_all(built.clone())
        .provides(Resource::Refreshed(beside.clone()));
        refresh.timeouts.statement_timeout_ms = Some(0);
        self.push(refresh);
        // The swap, with every view over it out of the way: the live ones
        // dropped and made again, new ones made there (not in expand,
        // where they would read the old definition).
        let over: BTreeSet<QualifiedName> = self
            .all_views()
            .filter(|(v, view)| *v != name && reads(view, name, None))
            .map(|(v, _)| v.clone())
            .collect();
        let around = self.views_over(over, &[], Phase::Contract);
        let mut change = vec![
            drop_view(name, o),
            format!(
                "ALTER MATERIALIZED VIEW {} RENAME TO {}",
                qt(&beside),
                qi(&name.name)
            ),
        ];
        change.extend(renames);
        if let Some(c) = &n.comment {
            change.push(format!(
                "COMMENT ON MATERIALIZED VIEW {} IS {}",
                qt(name),
                comment_literal(Some(c))
            ));
        }
        change.extend(self.take_back_defaults(name));
        if let Some(f) = &o.facts {
            change.extend(ownership(name, n, f));
        }
        let step = new_step(
            ObjectKind::View,
            name.to_string(),
            Action::Replace,
            Phase::Contract,
            format!("swap in {purpose}, built beside it as {beside}"),
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::Refreshed(beside))
        .requires_all(built)
        .provides(Resource::View(name.clone()));
        self.push(around.wrap(step, change));
        // A plain view's INSTEAD OF triggers go with it.
        self.triggers_done.extend(
            self.cur
                .triggers
                .keys()
                .filter(|k| k.table == *name)
                .cloned(),
        );
        self.views_done.insert(name.clone());
    }

    /// The indexes of materialized view `name`, whose query stays: added
    /// ones built concurrently in expand, dropped ones dropped
    /// concurrently in contract, changed ones built under a new name and
    /// swapped in contract.
    pub(super) fn view_indexes(
        &mut self,
        name: &QualifiedName,
        o: &Materialized,
        n: &Materialized,
    ) {
        for (i, ix) in &n.indexes {
            match o.indexes.get(i) {
                None => {
                    self.create_index(name, i, ix, i, Phase::Expand);
                }
                Some(old) if !same_view_index(old, ix) => self.replace_index(name, i, old, ix),
                Some(_) => {}
            }
        }
        for (i, ix) in &o.indexes {
            if !n.indexes.contains_key(i) {
                self.drop_index(name, i, ix, false);
            }
        }
    }
}

/// Equal but for hints and the server's spelling of expressions.
pub(super) fn same_view_index(a: &Index, b: &Index) -> bool {
    let norm = |i: &Index| {
        let mut i = i.clone();
        i.renamed_from = None;
        i.predicate = i.predicate.as_deref().map(|p| normalize_for(p, &|_| None));
        for k in &mut i.keys {
            if let KeyTarget::Expression(e) = &k.target {
                k.target = KeyTarget::Expression(normalize_for(e, &|_| None));
            }
        }
        i
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use crate::model::{QualifiedName, ViewFacts};
    use crate::plan::{Cost, HazardKind, Phase, PlanOptions, plan};
    use crate::testing::{plans_to, refused_between, schema};

    const T: &str =
        "tables: { t: { columns: { id: { type: bigint }, a: { type: varchar(10) } } } }\n";

    #[test]
    fn a_new_materialized_view_is_filled_in_expand_with_its_indexes_and_a_dropped_one_goes_in_contract()
     {
        plans_to(
            &format!("{T}materialized_views: {{ old: SELECT id FROM t }}"),
            &format!(
                "{T}materialized_views: {{ m: {{ query: 'SELECT id, a FROM t', indexes: {{ m_id: {{ columns: [id], unique: true }} }} }} }}"
            ),
            "
            expand: create materialized view public.m
                SET LOCAL search_path = public
                CREATE MATERIALIZED VIEW public.m AS
            SELECT id, a FROM t
                CREATE UNIQUE INDEX m_id ON public.m USING btree (id)
            contract: drop materialized view public.old
                DROP MATERIALIZED VIEW public.old
            ",
        );
    }

    #[test]
    fn a_materialized_view_over_a_widened_column_is_filled_again_under_a_long_lock_hazard() {
        let from = schema(&format!(
            "{T}materialized_views: {{ m: 'SELECT id, a FROM t' }}"
        ));
        let to = schema(&format!(
            "{}materialized_views: {{ m: 'SELECT id, a FROM t' }}",
            T.replace("varchar(10)", "varchar(20)")
        ));
        let p = plan(&from, &to, &PlanOptions::default()).expect("plans");
        let widen = p
            .steps
            .iter()
            .find(|s| s.description.starts_with("widen public.t.a"))
            .expect("a widening step");
        assert_eq!(widen.phase, Phase::Expand);
        assert_eq!(widen.lock.cost, Cost::Fill, "{widen:?}");
        assert!(
            widen
                .hazards
                .iter()
                .any(|h| h.kind == HazardKind::LongLock && h.message.contains("public.m")),
            "{widen:?}"
        );
        assert!(
            widen
                .statements
                .iter()
                .any(|s| s.starts_with("CREATE MATERIALIZED VIEW public.m ")),
            "{widen:?}"
        );
    }

    #[test]
    fn a_new_view_over_a_redefined_materialized_view_is_made_at_the_swap() {
        let from = schema(&format!(
            "{T}materialized_views: {{ m: 'SELECT id FROM t' }}"
        ));
        let to = schema(&format!(
            "{T}materialized_views: {{ m: 'SELECT id, a FROM t' }}\nviews: {{ v: 'SELECT a FROM m' }}"
        ));
        let p = plan(&from, &to, &PlanOptions::default()).expect("plans");
        let swap = p
            .steps
            .iter()
            .find(|s| s.description.starts_with("swap in"))
            .expect("a swap");
        assert_eq!(swap.phase, Phase::Contract);
        assert!(
            swap.statements
                .iter()
                .any(|s| s.starts_with("CREATE VIEW public.v ")),
            "{swap:?}"
        );
        assert!(
            !p.steps
                .iter()
                .any(|s| s.phase == Phase::Expand && s.description.contains("public.v")),
            "the view is not made in expand, over the old definition"
        );
    }

    #[test]
    fn an_index_on_a_column_the_query_does_not_give_is_refused() {
        let from = schema(T);
        let mut to = schema(&format!(
            "{T}materialized_views: {{ m: {{ query: 'SELECT id FROM t', indexes: {{ m_a: {{ columns: [a] }} }} }} }}"
        ));
        let m = to
            .views
            .get_mut(&QualifiedName::parse("m").expect("name"))
            .expect("the view");
        m.facts = Some(ViewFacts {
            columns: vec![(
                crate::model::Ident::new("id").expect("name"),
                "bigint".into(),
            )],
            ..ViewFacts::default()
        });
        refused_between(
            &from,
            &to,
            "index m_a of materialized view public.m is on column a, which the view's query does not give (it gives id)",
        );
    }
}
