//! Statistics objects (`CREATE STATISTICS`). Making or dropping one is a
//! catalog change under SHARE UPDATE EXCLUSIVE on its table: reads and
//! writes go on. A changed one is dropped and made again in one expand
//! transaction (abort puts the old one back); a new target or name alone
//! is one `ALTER STATISTICS`, which locks no table. An object holds
//! nothing until its table is analyzed: the `analyze` pass gathers the
//! table's statistics right after one is made on a table with rows.
//!
//! PostgreSQL drops an object with any of its columns. An object over a
//! column that contract swaps for its shadow (retyped or renamed) is made
//! again after the swap, over the new column; one on a table built beside
//! is made on the new table in the swap's transaction (`rebuild/swap.rs`).

use std::collections::BTreeMap;

use super::constraint::{column_types, mentions};
use super::kind::{Kind, objects};
use super::*;
use crate::diff::postgres::normalize_for;
use crate::sql::postgres::{create_statistics, drop_statistics, statistics_target};

pub(super) struct ExtendedStatisticsKind;

impl Kind for ExtendedStatisticsKind {
    objects!(in schema.extended_statistics: BTreeMap<QualifiedName, ExtendedStatistics>, renamed);

    /// The same definition, and not lost to a swap of one of its columns.
    fn same(p: &Planner<'_>, _: (), a: &ExtendedStatistics, b: &ExtendedStatistics) -> bool {
        same_definition(p, a, b) && a.target == b.target && p.statistics_swaps(b).is_empty()
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), key: &'a QualifiedName, s: &'a ExtendedStatistics) {
        if !p.rebuilds(&s.table) {
            p.make_statistics(key, None, s);
        }
    }

    /// One on a dropped table goes with it, one on a table built beside
    /// with the live table.
    fn removed<'a>(p: &mut Planner<'a>, _: (), key: &'a QualifiedName, s: &'a ExtendedStatistics) {
        let (cur, tgt) = (p.cur, p.tgt);
        let stays = tgt.tables.contains_key(&s.table) && !p.rebuilds(&s.table)
            || tgt
                .tables
                .values()
                .any(|t| t.renamed_from.as_ref() == Some(&s.table));
        if !stays {
            return;
        }
        let mut step = new_step(
            ObjectKind::Statistics,
            key.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop statistics object {key} on {}", s.table),
        )
        .sql(drop_statistics(key))
        .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
        .removes(Resource::Statistics(key.clone()));
        // Before the columns it is on go (they would take it along).
        if let Some(t) = cur.tables.get(&s.table) {
            for c in &t.columns {
                if names_column(s, &c.name) {
                    step = step.requires(Resource::column(&s.table, &c.name));
                }
            }
        }
        p.push(step);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        key: &'a QualifiedName,
        o: &'a ExtendedStatistics,
        n: &'a ExtendedStatistics,
    ) {
        if p.rebuilds(&n.table) {
            return;
        }
        if same_definition(p, o, n) && p.statistics_swaps(n).is_empty() {
            return p.push(
                new_step(
                    ObjectKind::Statistics,
                    key.to_string(),
                    Action::Alter,
                    Phase::Expand,
                    format!("set the statistics target of statistics object {key}"),
                )
                .sql(statistics_target(key, n.target))
                .lock(LockLevel::None, Cost::Metadata)
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Statistics,
                        key.to_string(),
                        format!("set the statistics target of statistics object {key} back"),
                    )
                    .sql(statistics_target(key, o.target))
                    .lock(LockLevel::None, Cost::Metadata),
                ]),
            );
        }
        p.make_statistics(key, Some(o), n);
    }

    /// ALTER STATISTICS ... RENAME locks no table; like every rename but
    /// a table's, it waits for contract.
    fn rename<'a>(
        p: &mut Planner<'a>,
        _: (),
        from: &'a QualifiedName,
        to: &'a QualifiedName,
        o: &'a ExtendedStatistics,
    ) -> bool {
        // On a table built beside, the swap makes it under its new name.
        if p.rebuilds(&o.table) {
            return true;
        }
        p.push(
            new_step(
                ObjectKind::Statistics,
                to.to_string(),
                Action::Rename,
                Phase::Contract,
                format!("rename statistics object {from} to {}", to.name),
            )
            .sql(format!(
                "ALTER STATISTICS {} RENAME TO {}",
                qt(from),
                qi(&to.name)
            ))
            .lock(LockLevel::None, Cost::Metadata)
            .requires(Resource::Statistics(from.clone()))
            .removes(Resource::Statistics(from.clone()))
            .provides(Resource::Statistics(to.clone())),
        );
        true
    }
}

/// Whether `s` is on column `c`, as a column or in an expression.
fn names_column(s: &ExtendedStatistics, c: &Ident) -> bool {
    s.columns.contains(c) || s.expressions.iter().any(|e| mentions(e, c.as_str()))
}

/// Equal but for the name, the target, and the server's spelling of
/// expressions (each read over its own table); the table compared by its
/// live name.
fn same_definition(p: &Planner<'_>, a: &ExtendedStatistics, b: &ExtendedStatistics) -> bool {
    if a.table != p.cur_name(&b.table)
        || a.kinds != b.kinds
        || a.columns != b.columns
        || a.expressions.len() != b.expressions.len()
    {
        return false;
    }
    let (Some(at), Some(bt)) = (p.cur.tables.get(&a.table), p.tgt.tables.get(&b.table)) else {
        return a.expressions == b.expressions;
    };
    let (ac, bc) = (column_types(p.cur, at), column_types(p.tgt, bt));
    a.expressions
        .iter()
        .zip(&b.expressions)
        .all(|(x, y)| x == y || normalize_for(x, &ac) == normalize_for(y, &bc))
}

impl Planner<'_> {
    /// The swaps of `s`'s columns for their shadows (retyped or renamed)
    /// that it must be made again after: each takes the old column, and
    /// the object with it.
    fn statistics_swaps(&self, s: &ExtendedStatistics) -> Vec<Resource> {
        self.moved
            .iter()
            .filter(|((t, c), _)| *t == s.table && names_column(s, c))
            .map(|((t, _), m)| Resource::swapped(t, &m.from))
            .collect()
    }

    /// Makes `n` under `key` (dropping `old`, its live definition, first
    /// when there is one): in expand, after its table and the columns
    /// this plan adds; in migrate when it is on a column migrate fills
    /// (so that the ANALYZE after it sees the values); in contract after
    /// the swaps that take its columns.
    fn make_statistics(
        &mut self,
        key: &QualifiedName,
        old: Option<&ExtendedStatistics>,
        n: &ExtendedStatistics,
    ) {
        // A name an object bellows does not manage holds (one on a
        // materialized view, say) would fail the step midway.
        if old.is_none()
            && let Some(u) = self
                .unmanaged
                .iter()
                .find(|u| u.place == Place::Statistics(key.clone()))
        {
            return self.error(PlanError::Unsupported {
                object: key.to_string(),
                what: format!("creating statistics object {key}, whose name is held by {u}"),
                hint: "bellows does not manage that one; give the new one another name, or drop or rename that one by hand first".into(),
            });
        }
        let swaps = self.statistics_swaps(n);
        let mut needs = vec![Resource::table(&n.table)];
        let mut phase = Phase::Expand;
        if !swaps.is_empty() {
            phase = Phase::Contract;
            needs.extend(swaps);
        } else if let Some(t) = self.tgt.tables.get(&n.table) {
            for c in t.columns.iter().filter(|c| names_column(n, &c.name)) {
                needs.push(Resource::column(&n.table, &c.name));
                if self.filled.contains(&(n.table.clone(), c.name.clone())) {
                    phase = Phase::Migrate;
                    needs.push(Resource::filled(&n.table, &c.name));
                }
            }
        }
        let mut sql = Vec::new();
        if old.is_some() {
            sql.push(drop_statistics(key));
        }
        sql.extend(create_statistics(key, n));
        let what = match (old, phase) {
            (None, _) => format!("create statistics object {key} on {}", n.table),
            (Some(_), Phase::Contract) => format!(
                "make statistics object {key} on {} again over the new columns (the old ones took it along)",
                n.table
            ),
            (Some(_), _) => format!(
                "make statistics object {key} on {} again as the target has it",
                n.table
            ),
        };
        let mut step = new_step(
            ObjectKind::Statistics,
            key.to_string(),
            if old.is_some() {
                Action::Replace
            } else {
                Action::Create
            },
            phase,
            what,
        )
        .sql_all(sql)
        .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
        .requires_all(needs)
        .provides(Resource::Statistics(key.clone()))
        // The `analyze` pass gathers them after it.
        .provides(Resource::Made(Box::new(Resource::Statistics(key.clone()))));
        let mut undo = vec![
            undo_step(
                ObjectKind::Statistics,
                key.to_string(),
                format!("drop statistics object {key}"),
            )
            .sql(drop_statistics(key))
            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata),
        ];
        if let Some(o) = old {
            undo[0].statements.extend(create_statistics(key, o));
            undo[0].description = format!("make statistics object {key} again as it was");
        }
        if phase != Phase::Contract {
            step = step.undo_with(undo);
        }
        self.push(step);
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::plans_to;

    fn t(stats: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {{ type: integer }}\n      b: {{ type: text }}\n    primary_key: [id]\n{stats}"
        )
    }

    #[test]
    fn a_new_object_is_made_in_expand_and_its_table_analyzed() {
        plans_to(
            &t(""),
            &t("    extended_statistics:\n      t_ab: { columns: [b, a], kinds: [mcv, ndistinct] }\n"),
            "
            expand: create statistics object public.t_ab on public.t
                CREATE STATISTICS public.t_ab (ndistinct, mcv) ON a, b FROM public.t
            expand: gather the planner's statistics of public.t again (a statistics object was made on it)
                ANALYZE public.t
            ",
        );
    }

    /// A new table has no rows to gather (a comment on the object does
    /// not make it one to analyze either).
    #[test]
    fn an_object_on_a_new_table_is_made_after_it_and_not_analyzed() {
        let plan = crate::testing::outline_of(
            "",
            &t("    extended_statistics:\n      s: { columns: [a, b], comment: pairs }\n"),
        );
        let table = plan
            .find("expand: create table public.t")
            .unwrap_or_else(|| panic!("{plan}"));
        let made = plan
            .find("expand: create statistics object public.s on public.t")
            .unwrap_or_else(|| panic!("{plan}"));
        assert!(
            table < made && plan.contains("COMMENT ON STATISTICS public.s IS 'pairs'"),
            "{plan}"
        );
        assert!(!plan.contains("ANALYZE"), "{plan}");
    }

    #[test]
    fn a_changed_object_is_made_again_in_one_step_and_a_target_alone_is_altered() {
        let from = t("    extended_statistics:\n      s: { columns: [a, b] }\n");
        plans_to(
            &from,
            &t("    extended_statistics:\n      s: { columns: [a], expressions: [lower(b)] }\n"),
            "
            expand: make statistics object public.s on public.t again as the target has it
                DROP STATISTICS IF EXISTS public.s
                CREATE STATISTICS public.s ON a, (lower(b)) FROM public.t
            expand: gather the planner's statistics of public.t again (a statistics object was made on it)
                ANALYZE public.t
            ",
        );
        plans_to(
            &from,
            &t("    extended_statistics:\n      s: { columns: [a, b], target: 500 }\n"),
            "
            expand: set the statistics target of statistics object public.s
                ALTER STATISTICS public.s SET STATISTICS 500
            ",
        );
    }

    #[test]
    fn an_object_goes_in_contract_or_with_its_table() {
        let from = t("    extended_statistics:\n      s: { columns: [a, b] }\n");
        plans_to(
            &from,
            &t(""),
            "
            contract: drop statistics object public.s on public.t
                DROP STATISTICS IF EXISTS public.s
            ",
        );
        let plan = crate::testing::outline_of(&from, "tables: {}\n");
        assert!(!plan.contains("STATISTICS"), "{plan}");
    }

    /// PostgreSQL keeps an object over a column widened in place, but
    /// empties it; an ANALYZE of the column alone would leave it so.
    #[test]
    fn a_table_with_an_object_is_analyzed_whole_after_a_column_is_widened() {
        let from = t("    extended_statistics:\n      s: { columns: [a, b] }\n")
            .replace("b: { type: text }", "b: { type: varchar(10) }");
        let to = from.replace("varchar(10)", "varchar(20)");
        plans_to(
            &from,
            &to,
            "
            expand: widen public.t.b from varchar(10) to varchar(20) (no rewrite)
                ALTER TABLE public.t ALTER COLUMN b TYPE varchar(20)
            expand: gather the planner's statistics of public.t again (PostgreSQL discards them with the change; the whole table, for its statistics objects)
                ANALYZE public.t
            ",
        );
    }

    /// On a table built beside, the live objects go with the live table
    /// and the swap makes the target's (a renamed one under its new
    /// name): nothing else is planned for them.
    #[test]
    fn a_table_built_beside_gets_its_objects_in_the_swap() {
        let from = t("    extended_statistics:\n      s: { columns: [a, b] }\n");
        let to =
            from.replace(
                "    primary_key: [id]\n",
                "    primary_key: [id, a]\n    partition_by: list (a)\n",
            )
            .replace(
                "a: { type: integer }",
                "a: { type: integer, nullable: false }",
            )
            .replace(
                "      s: { columns: [a, b] }",
                "      s2: { columns: [a, b], renamed_from: s }",
            ) + "  t_rest:\n    partition_of: t\n    bound: DEFAULT\n";
        let plan = crate::testing::outline_of(&from, &to);
        let swap = plan
            .find("contract: swap in the new partitioning of public.t")
            .unwrap_or_else(|| panic!("{plan}"));
        let made = plan
            .find("    CREATE STATISTICS public.s2 ON a, b FROM public.t\n")
            .unwrap_or_else(|| panic!("{plan}"));
        assert!(swap < made, "{plan}");
        assert_eq!(plan.matches("STATISTICS").count(), 1, "{plan}");
    }

    #[test]
    fn an_object_over_a_retyped_column_is_made_again_after_the_swap() {
        let from = t("    extended_statistics:\n      s: { columns: [a, b] }\n");
        let to = from.replace("a: { type: integer }", "a: { type: bigint }");
        let plan = crate::testing::outline_of(&from, &to);
        let swap = plan
            .find("contract: swap")
            .unwrap_or_else(|| panic!("{plan}"));
        let make = plan
            .find("contract: make statistics object public.s on public.t again over the new columns (the old ones took it along)\n    DROP STATISTICS IF EXISTS public.s\n    CREATE STATISTICS public.s ON a, b FROM public.t\n")
            .unwrap_or_else(|| panic!("{plan}"));
        let analyze = plan
            .rfind("contract: gather the planner's statistics of public.t again")
            .unwrap_or_else(|| panic!("{plan}"));
        assert!(swap < make && make < analyze, "{plan}");
    }
}
