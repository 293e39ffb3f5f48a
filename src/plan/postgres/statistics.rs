//! Columns' statistics targets (`ALTER COLUMN ... SET STATISTICS`): a
//! catalog change under SHARE UPDATE EXCLUSIVE (reads and writes go on),
//! taken by the next ANALYZE. Set in expand on a column that stays; on a
//! column or table the plan makes, after the making; on a column swapped
//! for its retyped shadow, on the shadow as it is added, so the ANALYZE
//! after its backfill (`analyze.rs`) takes it; a plain table built beside
//! gets them in the step that makes it (`rebuild/beside.rs`), a
//! partitioned one after the swap.

use std::collections::BTreeMap;

use super::*;
use crate::sql::postgres::{alter_column_options, statistics_sql};

impl Planner<'_> {
    /// After every table and column is planned.
    pub(super) fn statistics_targets(&mut self) {
        let tgt = self.tgt;
        // Columns made (a new table's, an added one, a generated column
        // added again) start at the default; a renamed table's and a
        // widened column keep theirs.
        let made_in: BTreeMap<Resource, Phase> = self
            .steps
            .iter()
            .filter(|s| matches!(s.id.action, Action::Create | Action::Replace))
            .flat_map(|s| s.provides.iter().map(move |r| (r.clone(), s.phase)))
            .collect();
        for (name, t) in &tgt.tables {
            // A plain table built beside has them from its making; a
            // partitioned one's partitions, made after it, would not (a
            // partition takes no target from its parent): set after the
            // swap, for the table and every partition it has then.
            let rebuilt = self.rebuilds(name);
            if rebuilt && t.partition_by.is_none() {
                continue;
            }
            let live_name = self.renamed_from_live(name).unwrap_or(name);
            let live = self.cur.tables.get(live_name);
            for c in &t.columns {
                let live_col = live.and_then(|l| l.column_for(c));
                // Nothing set on either side (almost every column): a
                // column made anew starts as wanted, one kept stays so.
                let unset = |s: StatisticsTarget, o: &StorageParams| s.0.is_none() && o.is_empty();
                if unset(c.statistics, &c.options)
                    && live_col.is_none_or(|l| unset(l.statistics, &l.options))
                {
                    continue;
                }
                let made = Resource::column(name, &c.name);
                let shadow = self.moved.get(&(name.clone(), c.name.clone()));
                let column = shadow.map_or(&c.name, |m| &m.shadow).clone();
                let after = match shadow {
                    _ if rebuilt => Some((
                        Resource::Made(Box::new(Resource::table(name))),
                        Phase::Contract,
                    )),
                    Some(m) => Some((Resource::column(name, &m.shadow), Phase::Expand)),
                    None => made_in.get(&made).map(|phase| (made.clone(), *phase)),
                };
                // Made by the plan: from the default, after the making.
                // Kept: from the live column's, in expand, undone by abort.
                let (from, phase, requires) = match (after, live_col) {
                    (Some((r, phase)), _) => (None, phase, r),
                    (None, Some(l)) => (Some(l), Phase::Expand, made),
                    (None, None) => continue,
                };
                let target = from.map_or(StatisticsTarget::default(), |l| l.statistics);
                let options = from.map(|l| l.options.clone()).unwrap_or_default();
                let mut steps = Vec::new();
                if target != c.statistics {
                    let to = match c.statistics.0 {
                        Some(n) => n.to_string(),
                        None => "the server's default".into(),
                    };
                    steps.push((
                        format!("set the statistics target of column {name}.{column} to {to} (the next ANALYZE takes it)"),
                        vec![statistics_sql(name, &column, c.statistics)],
                        vec![statistics_sql(name, &column, target)],
                        "statistics target",
                    ));
                }
                if options != c.options {
                    let to: Vec<String> = c
                        .options
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect();
                    let to = if to.is_empty() {
                        "ANALYZE's own".to_string()
                    } else {
                        to.join(", ")
                    };
                    steps.push((
                        format!("set the distinct-value estimates of column {name}.{column} to {to} (the next ANALYZE takes them)"),
                        alter_column_options(name, &column, &options, &c.options),
                        alter_column_options(name, &column, &c.options, &options),
                        "distinct-value estimates",
                    ));
                }
                for (what, sql, back, noun) in steps {
                    let step = new_step(
                        ObjectKind::Column,
                        format!("{name}.{column}"),
                        Action::Alter,
                        phase,
                        what,
                    )
                    .sql_all(sql)
                    .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
                    .requires(requires.clone());
                    let step = match from {
                        None => step.undo_nothing(),
                        Some(_) => step.undo_with(vec![
                            undo_step(
                                ObjectKind::Column,
                                format!("{name}.{column}"),
                                format!("restore the {noun} of column {name}.{column}"),
                            )
                            .sql_all(back)
                            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata),
                        ]),
                    };
                    self.push(step);
                }
            }
        }
    }

    /// Each resource the plan's steps make so far, with the latest phase
    /// that makes it: looked up once per column or table, not searched
    /// for (a plan of thousands of steps over thousands of tables).
    pub(super) fn phases_made_in(&self) -> BTreeMap<Resource, Phase> {
        let mut out: BTreeMap<Resource, Phase> = BTreeMap::new();
        for s in &self.steps {
            for r in &s.provides {
                let phase = out.entry(r.clone()).or_insert(s.phase);
                *phase = (*phase).max(s.phase);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    fn t(a: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {{ type: integer{a} }}\n"
        )
    }

    #[test]
    fn a_changed_target_is_set_in_expand_and_one_back_to_the_default_is_reset() {
        plans_to(
            &t(""),
            &t(", statistics: 1000"),
            "
            expand: set the statistics target of column public.t.a to 1000 (the next ANALYZE takes it)
                ALTER TABLE public.t ALTER COLUMN a SET STATISTICS 1000
            ",
        );
        plans_to(
            &t(", statistics: 1000"),
            &t(""),
            "
            expand: set the statistics target of column public.t.a to the server's default (the next ANALYZE takes it)
                ALTER TABLE public.t ALTER COLUMN a SET STATISTICS -1
            ",
        );
    }

    #[test]
    fn distinct_value_estimates_are_set_and_reset_in_expand_and_follow_a_shadow() {
        plans_to(
            &t(", with: { n_distinct: -0.5 }"),
            &t(", with: { n_distinct: 200, n_distinct_inherited: -1 }"),
            "
            expand: set the distinct-value estimates of column public.t.a to n_distinct = 200, n_distinct_inherited = -1 (the next ANALYZE takes them)
                ALTER TABLE public.t ALTER COLUMN a SET (n_distinct = 200, n_distinct_inherited = -1)
            ",
        );
        plans_to(
            &t(", with: { n_distinct: -0.5 }"),
            &t(""),
            "
            expand: set the distinct-value estimates of column public.t.a to ANALYZE's own (the next ANALYZE takes them)
                ALTER TABLE public.t ALTER COLUMN a RESET (n_distinct)
            ",
        );
        let plan = crate::testing::outline_of(
            &t(", with: { n_distinct: -0.5 }"),
            &t(", with: { n_distinct: -0.5 }").replace("integer", "bigint"),
        );
        assert!(
            plan.contains("expand: set the distinct-value estimates of column public.t.a_bellows_new to n_distinct = -0.5 (the next ANALYZE takes them)\n    ALTER TABLE public.t ALTER COLUMN a_bellows_new SET (n_distinct = -0.5)\n"),
            "{plan}"
        );
    }

    #[test]
    fn a_renamed_table_and_a_widened_column_keep_their_targets_and_are_set_as_any() {
        let from = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      a: { type: varchar(10), statistics: 300 }\n";
        let to = "tables:\n  u:\n    renamed_from: t\n    columns:\n      id: { type: bigint }\n      a: { type: varchar(20) }\n";
        let plan = crate::testing::outline_of(from, to);
        assert!(
            plan.contains("set the statistics target of column public.u.a to the server's default"),
            "{plan}"
        );
        assert_eq!(
            crate::testing::outline_of(from, &to.replace("20) }", "20), statistics: 300 }"))
                .matches("SET STATISTICS")
                .count(),
            0
        );
    }

    #[test]
    fn a_retyped_columns_shadow_gets_its_target_before_it_is_filled_and_analyzed() {
        let plan = crate::testing::outline_of(
            &t(", statistics: 300"),
            &t(", statistics: 300").replace("integer", "bigint"),
        );
        let set = plan
            .find("expand: set the statistics target of column public.t.a_bellows_new to 300 (the next ANALYZE takes it)\n    ALTER TABLE public.t ALTER COLUMN a_bellows_new SET STATISTICS 300")
            .unwrap_or_else(|| panic!("{plan}"));
        let analyze = plan
            .find("ANALYZE public.t (a_bellows_new)")
            .unwrap_or_else(|| panic!("{plan}"));
        assert!(set < analyze, "{plan}");
        assert_eq!(plan.matches("SET STATISTICS").count(), 1, "{plan}");
    }
}
