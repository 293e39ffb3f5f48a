//! One pass per table: the backfills a plan makes of one table's columns
//! (a rename and a retype, say) become one batched UPDATE that sets them
//! all, so migrate reads and writes each row once, not once per column.
//! Two fills stay apart when one's expression reads the column the other
//! fills (every expression of one UPDATE sees the row as it was before
//! it), or when the plan must run something between them (merged, they
//! would make a cycle).

use super::constraint::mentions;
use super::sync::batch_statement;
use super::*;
use crate::plan::graph::Precedence;

impl Planner<'_> {
    pub(super) fn one_pass_per_table(&mut self) {
        let mut tables: BTreeMap<(QualifiedName, Vec<Ident>, bool), Vec<usize>> = BTreeMap::new();
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(b) = &s.backfill {
                tables
                    .entry((b.table.clone(), b.key.clone(), b.only_null))
                    .or_default()
                    .push(i);
            }
        }
        tables.retain(|_, fills| fills.len() > 1);
        if tables.is_empty() {
            return;
        }
        // A fill that reads a column another fill writes runs after it:
        // it would read NULLs before. (Two that read each other's stay
        // unordered, as before: neither order is right.)
        for fills in tables.values() {
            for &a in fills {
                for &b in fills {
                    if a != b && self.reads(a, b) && !self.reads(b, a) {
                        let needs: Vec<Resource> = self.steps[b].provides.clone();
                        for r in needs {
                            if !self.steps[a].requires.contains(&r) {
                                self.steps[a].requires.push(r);
                            }
                        }
                    }
                }
            }
        }
        // A plan the graph cannot order is reported as it is.
        let Ok(order) = Precedence::new(&self.steps) else {
            return;
        };
        let mut passes: Vec<Vec<usize>> = Vec::new();
        for fills in tables.into_values() {
            let mut here: Vec<Vec<usize>> = Vec::new();
            for f in fills {
                match here
                    .iter_mut()
                    .find(|pass| pass.iter().all(|&o| self.may_share(o, f, &order)))
                {
                    Some(pass) => pass.push(f),
                    None => here.push(vec![f]),
                }
            }
            passes.extend(here.into_iter().filter(|p| p.len() > 1));
        }
        let before = self.steps.clone();
        let mut gone = BTreeSet::new();
        for pass in &passes {
            let (&first, rest) = pass.split_first().expect("a pass has two fills");
            // How the table is paged, in the plan's words: the same key
            // its fills were given (it found one, or they would not be).
            let how = self.steps[first]
                .backfill
                .as_ref()
                .map(|b| b.table.clone())
                .and_then(|t| self.backfill_key(&t, String::new()))
                .map(|p| p.how)
                .unwrap_or_default();
            for &r in rest {
                let other = self.steps[r].clone();
                merge(&mut self.steps[first], other, &how);
                gone.insert(r);
            }
        }
        let mut i = 0;
        self.steps.retain(|_| {
            i += 1;
            !gone.contains(&(i - 1))
        });
        // Passes of two tables could still wait on each other through
        // steps between them; then each fill keeps its own pass.
        if crate::plan::graph::order(self.steps.clone()).is_err() {
            self.steps = before;
        }
    }

    /// Whether an expression of backfill step `a` reads a column that
    /// backfill step `b` fills.
    fn reads(&self, a: usize, b: usize) -> bool {
        let (Some(x), Some(y)) = (&self.steps[a].backfill, &self.steps[b].backfill) else {
            return false;
        };
        x.fills()
            .any(|(_, e)| y.fills().any(|(c, _)| mentions(e, c.as_str())))
    }

    /// Whether the fills of steps `a` and `b` may share one UPDATE.
    fn may_share(&self, a: usize, b: usize, order: &Precedence) -> bool {
        !self.reads(a, b) && !self.reads(b, a) && !order.before(a, b) && !order.before(b, a)
    }
}

/// Folds backfill step `other` into `into`: one UPDATE sets both fills'
/// columns; the step needs, provides and removes what both did, and abort
/// keeps what either keeps.
fn merge(into: &mut Step, other: Step, how: &str) {
    let (Some(b), Some(o)) = (into.backfill.as_mut(), other.backfill) else {
        return;
    };
    b.also.push(Fill {
        column: o.column,
        expression: o.expression,
    });
    b.also.extend(o.also);
    let fills: Vec<String> = b
        .fills()
        .map(|(c, e)| format!("{}.{} = {e}", b.table, c))
        .collect();
    into.description = format!(
        "backfill {} in one pass, in batches {how}",
        fills.join(", ")
    );
    into.statements = vec![batch_statement(b)];
    for r in other.requires {
        if !into.requires.contains(&r) {
            into.requires.push(r);
        }
    }
    into.provides.extend(other.provides);
    into.removes.extend(other.removes);
    into.hazards.extend(other.hazards);
    into.undo = match (into.undo.take(), other.undo) {
        (Some(Undo::Stays { reason: a }), Some(Undo::Stays { reason: b })) => Some(Undo::Stays {
            reason: format!("{a}; {b}"),
        }),
        (Some(Undo::Stays { reason }), _) | (_, Some(Undo::Stays { reason })) => {
            Some(Undo::Stays { reason })
        }
        (a, b) => a.or(b),
    };
}

#[cfg(test)]
mod tests {
    use crate::plan::{Phase, PlanOptions, plan};
    use crate::testing::schema;

    /// The migrate steps of the plan `from` → `to`: description, then
    /// each statement indented; the precondition that it has any.
    fn migrate(from: &str, to: &str) -> String {
        let p = plan(&schema(from), &schema(to), &PlanOptions::default()).expect("a plan");
        let out: String = p
            .phase(Phase::Migrate)
            .filter(|s| s.id.action == crate::plan::Action::Backfill)
            .map(|s| format!("{}\n    {}\n", s.description, s.statements.join("\n    ")))
            .collect();
        assert!(!out.is_empty(), "precondition: the plan has backfills");
        out
    }

    const FROM: &str = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      a: { type: text }\n      n: { type: integer }\n    primary_key: [id]\n";

    #[test]
    fn a_rename_and_a_retype_of_one_table_share_one_pass() {
        let to = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      b: { type: text, renamed_from: a }\n      n: { type: bigint }\n    primary_key: [id]\n";
        assert_eq!(
            migrate(FROM, to),
            "backfill public.t.b = a, public.t.n_bellows_new = n::bigint in one pass, in batches by primary key (id)\n    \
             UPDATE public.t SET b = COALESCE(b, (a)), n_bellows_new = COALESCE(n_bellows_new, (n::bigint)) WHERE (id) > ($1) AND (id) <= ($2) AND ((b IS NULL) OR (n_bellows_new IS NULL))\n"
        );
    }

    #[test]
    fn a_fill_that_reads_another_fills_column_keeps_its_own_pass_after_it() {
        let to = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      a: { type: text }\n      n: { type: integer }\n      c: { type: integer, backfill: length(z) }\n      z: { type: text, backfill: upper(a) }\n    primary_key: [id]\n";
        assert_eq!(
            migrate(FROM, to),
            "backfill public.t.z = upper(a), in batches by primary key (id)\n    \
             UPDATE public.t SET z = (upper(a)) WHERE (id) > ($1) AND (id) <= ($2) AND z IS NULL\n\
             backfill public.t.c = length(z), in batches by primary key (id)\n    \
             UPDATE public.t SET c = (length(z)) WHERE (id) > ($1) AND (id) <= ($2) AND c IS NULL\n"
        );
    }
}
