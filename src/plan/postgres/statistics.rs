//! Columns' statistics targets (`ALTER COLUMN ... SET STATISTICS`): a
//! catalog change under SHARE UPDATE EXCLUSIVE (reads and writes go on),
//! taken by the next ANALYZE. Set in expand on a column that stays; on a
//! column or table the plan makes, after the making; on a column swapped
//! for its retyped shadow, or a table built beside, after the swap in
//! contract (the new column starts at the default).

use std::collections::BTreeMap;

use super::*;
use crate::sql::postgres::statistics_sql;

impl Planner<'_> {
    /// After every table and column is planned.
    pub(super) fn statistics_targets(&mut self) {
        let tgt = self.tgt;
        let made_in = self.phases_made_in();
        for (name, t) in &tgt.tables {
            let rebuilt = self.rebuilds(name);
            let live_name = self.renamed_from_live(name).unwrap_or(name);
            let live = self.cur.tables.get(live_name);
            for c in &t.columns {
                let want = c.statistics;
                let swapped = Resource::swapped(name, &c.name);
                let made = Resource::column(name, &c.name);
                let after = if rebuilt {
                    Some((
                        Resource::Made(Box::new(Resource::table(name))),
                        Phase::Contract,
                    ))
                } else {
                    [&swapped, &made]
                        .into_iter()
                        .find_map(|r| made_in.get(r).map(|phase| (r.clone(), *phase)))
                };
                let live_col = live.and_then(|l| {
                    l.column(c.name.as_str())
                        .or_else(|| c.renamed_from.as_ref().and_then(|r| l.column(r.as_str())))
                });
                let step = match (after, live_col) {
                    (Some((r, phase)), _) if want != StatisticsTarget::default() => {
                        statistics_step(name, &c.name, want, phase)
                            .requires(r)
                            .undo_nothing()
                    }
                    (None, Some(l)) if l.statistics != want => {
                        statistics_step(name, &c.name, want, Phase::Expand)
                            .requires(made)
                            .undo_with(vec![
                                undo_step(
                                    ObjectKind::Column,
                                    format!("{name}.{}", c.name),
                                    format!(
                                        "restore the statistics target of column {name}.{}",
                                        c.name
                                    ),
                                )
                                .sql(statistics_sql(name, &c.name, l.statistics))
                                .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata),
                            ])
                    }
                    _ => continue,
                };
                self.push(step);
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

fn statistics_step(
    table: &QualifiedName,
    column: &Ident,
    want: StatisticsTarget,
    phase: Phase,
) -> Step {
    let to = match want.0 {
        Some(n) => n.to_string(),
        None => "the server's default".into(),
    };
    new_step(
        ObjectKind::Column,
        format!("{table}.{column}"),
        Action::Alter,
        phase,
        format!("set the statistics target of column {table}.{column} to {to} (the next ANALYZE takes it)"),
    )
    .sql(statistics_sql(table, column, want))
    .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
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
    fn a_retyped_column_gets_its_target_after_the_swap() {
        let plan = crate::testing::outline_of(
            &t(", statistics: 300"),
            &t(", statistics: 300").replace("integer", "bigint"),
        );
        assert!(
            plan.trim_end().ends_with(
                "contract: set the statistics target of column public.t.a to 300 (the next ANALYZE takes it)\n    ALTER TABLE public.t ALTER COLUMN a SET STATISTICS 300"
            ),
            "{plan}"
        );
    }
}
