//! `ANALYZE` after a step that leaves the query planner without
//! statistics for what it changed. `ALTER ... TYPE` (a column widened or
//! given a new collation in place, a generated column made again) drops
//! the column's statistics, and changes no row, so autovacuum has no
//! reason to gather them again: until someone does, every query on the
//! column is planned with guesses. A column a backfill filled (a retyped
//! column's shadow, a new column) and a table built beside and copied
//! into have none worth the name either. Each gets them in the phase
//! that made it so, right after it (the shadow and the new table before
//! contract swaps them in). A statistics object made on a table with
//! rows holds nothing until the table is analyzed, in the phase it is
//! made in; a table with statistics objects is analyzed whole (an ANALYZE
//! of some columns leaves the objects out). ANALYZE reads a sample of
//! the rows under SHARE UPDATE EXCLUSIVE: reads and writes go on.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// What one `ANALYZE` covers: the columns (none: the whole table), why,
/// and the steps' resources it follows.
#[derive(Default)]
struct Gather {
    columns: BTreeSet<Ident>,
    whole: bool,
    why: BTreeSet<&'static str>,
    after: Vec<Resource>,
}

impl Planner<'_> {
    /// Whether target table `table` is live, with rows.
    fn has_rows(&self, table: &QualifiedName) -> bool {
        let live = self.cur_name(table);
        self.cur.tables.contains_key(&live) && !self.empty_tables.contains(&live)
    }

    /// After every step is planned and backfills are merged.
    pub(super) fn analyze_changed_columns(&mut self) {
        let mut by_table: BTreeMap<(Phase, QualifiedName), Gather> = BTreeMap::new();
        for s in &self.steps {
            for r in &s.provides {
                let (table, column, why) = match r {
                    Resource::Filled(t, c) if s.phase == Phase::Migrate => {
                        (t, Some(c), "every row was filled")
                    }
                    Resource::Copied(t) => (t, None, "every row was copied in"),
                    Resource::Made(inner) => match &**inner {
                        Resource::Column(t, c) => {
                            (t, Some(c), "PostgreSQL discards them with the change")
                        }
                        // Made, not renamed (a comment marks a rename's
                        // step as its making), on a live table with rows.
                        Resource::Statistics(q) if s.id.action != Action::Rename => {
                            match self.tgt.extended_statistics.get(q) {
                                Some(x) if self.has_rows(&x.table) => {
                                    (&x.table, None, "a statistics object was made on it")
                                }
                                _ => continue,
                            }
                        }
                        _ => continue,
                    },
                    _ => continue,
                };
                if column.is_some() && self.empty_tables.contains(&self.cur_name(table)) {
                    continue;
                }
                let g = by_table.entry((s.phase, table.clone())).or_default();
                match column {
                    Some(c) => {
                        g.columns.insert(c.clone());
                    }
                    None => g.whole = true,
                }
                g.why.insert(why);
                g.after.push(r.clone());
            }
        }
        for ((phase, table), mut g) in by_table {
            // ANALYZE of some columns leaves out (with a warning) each
            // statistics object that is not on those columns alone.
            if !g.whole
                && self
                    .tgt
                    .extended_statistics
                    .values()
                    .any(|s| s.table == table)
            {
                g.whole = true;
                g.why.insert("the whole table, for its statistics objects");
            }
            let (object, target) = if g.whole {
                (table.to_string(), qt(&table))
            } else {
                let cols: Vec<String> = g.columns.iter().map(qi).collect();
                (
                    format!("{table} ({})", cols.join(", ")),
                    format!("{} ({})", qt(&table), cols.join(", ")),
                )
            };
            let why: Vec<&str> = g.why.into_iter().collect();
            let step = new_step(
                ObjectKind::Table,
                object.clone(),
                Action::Analyze,
                phase,
                format!(
                    "gather the planner's statistics of {object} again ({})",
                    why.join("; ")
                ),
            )
            .sql(format!("ANALYZE {target}"))
            .lock(LockLevel::ShareUpdateExclusive, Cost::Sample)
            .unlimited()
            .requires_all(g.after)
            .undo_nothing();
            self.push(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::outline_of;

    fn t(a: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {{ type: {a} }}\n    primary_key: [id]\n"
        )
    }

    #[test]
    fn a_column_widened_in_place_is_analyzed_right_after() {
        let plan = outline_of(&t("varchar(10)"), &t("varchar(20)"));
        assert!(
            plan.contains(
                "expand: widen public.t.a from varchar(10) to varchar(20) (no rewrite)\n    ALTER TABLE public.t ALTER COLUMN a TYPE varchar(20)\nexpand: gather the planner's statistics of public.t (a) again (PostgreSQL discards them with the change)\n    ANALYZE public.t (a)\n"
            ),
            "{plan}"
        );
    }

    #[test]
    fn a_retyped_columns_shadow_is_analyzed_after_its_backfill_before_the_swap() {
        let plan = outline_of(&t("integer"), &t("bigint"));
        let fill = plan.find("migrate: backfill").expect("a backfill");
        let analyze = plan
            .find("migrate: gather the planner's statistics of public.t (a_bellows_new) again (every row was filled)\n    ANALYZE public.t (a_bellows_new)")
            .unwrap_or_else(|| panic!("{plan}"));
        let swap = plan.find("contract: swap").expect("a swap");
        assert!(fill < analyze && analyze < swap, "{plan}");
    }

    #[test]
    fn a_new_table_or_column_without_a_backfill_is_not_analyzed() {
        let to = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      a: { type: text }\n      b: { type: text }\n    primary_key: [id]\n  u:\n    columns:\n      id: { type: bigint }\n";
        let plan = outline_of(&t("text"), to);
        assert!(!plan.contains("ANALYZE"), "{plan}");
    }
}
