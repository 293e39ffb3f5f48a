//! Views out of the way of a change: the views that read what changes,
//! and those over them, dropped before it and made again after it in the
//! same transaction (PostgreSQL refuses to drop or retype a column, or
//! to replace a view, while a view depends on it), and the steps that
//! order them.

use std::collections::{BTreeMap, BTreeSet};

use super::view::{VIEW_SEARCH_PATH, drop_hazard, in_place};
use super::view_reads::{reads, relations_read};
use super::*;
use crate::sql::postgres::{create_view, drop_view};

impl Planner<'_> {
    /// The views a change to `table` (to its column `column`, or with
    /// `None` to the table as a whole) in `phase` must have out of the
    /// way, and every view over them: see [`ViewsAround`].
    pub(super) fn views_around(
        &mut self,
        table: &QualifiedName,
        column: Option<&Ident>,
        phase: Phase,
    ) -> ViewsAround {
        let direct: BTreeSet<QualifiedName> = self
            .all_views()
            .filter(|(_, v)| reads(v, table, column))
            .map(|(n, _)| n.clone())
            .collect();
        let mut around = self.views_over(direct, &[], phase);
        if let Some(c) = column {
            around.triggers = self.triggers_around(table, c, phase);
        }
        around
    }

    /// [`Planner::views_around`] for a step that changes column `column`
    /// of `table` and of each of `also` (the tables that inherit it, whose
    /// copies a parent's drop takes along).
    pub(super) fn views_around_inherited(
        &mut self,
        table: &QualifiedName,
        column: &Ident,
        also: &[QualifiedName],
        phase: Phase,
    ) -> ViewsAround {
        if also.is_empty() {
            return self.views_around(table, Some(column), phase);
        }
        let direct: BTreeSet<QualifiedName> = self
            .all_views()
            .filter(|(_, v)| {
                std::iter::once(table)
                    .chain(also)
                    .any(|t| reads(v, t, Some(column)))
            })
            .map(|(n, _)| n.clone())
            .collect();
        let mut around = self.views_over(direct, &[], phase);
        around.triggers = self.triggers_around(table, column, phase);
        for t in also {
            let more = self.triggers_around(t, column, phase);
            around.triggers.extend(more);
        }
        around
    }

    /// The views a table's drop must have out of the way (see
    /// [`Planner::views_around`]), and the new view that takes its name,
    /// if the target has one: made in the same transaction, once the name
    /// is free (it cannot be made earlier, in expand).
    pub(super) fn views_around_drop(&mut self, table: &QualifiedName) -> ViewsAround {
        let direct: BTreeSet<QualifiedName> = self
            .all_views()
            .filter(|(_, v)| reads(v, table, None))
            .map(|(n, _)| n.clone())
            .collect();
        let replacement: Vec<QualifiedName> = self
            .tgt
            .views
            .contains_key(table)
            .then(|| table.clone())
            .into_iter()
            .collect();
        self.views_over(direct, &replacement, Phase::Contract)
    }

    /// Every view, live or new (the live definition for one that is both).
    pub(super) fn all_views(&self) -> impl Iterator<Item = (&QualifiedName, &View)> {
        self.cur.views.iter().chain(
            self.tgt
                .views
                .iter()
                .filter(|(n, _)| !self.cur.views.contains_key(*n)),
        )
    }

    /// Whether view `n` exists when a step of `phase` runs: a live one
    /// until a step drops it for good; a new one from expand on (a step
    /// of expand that needs it gone runs before it is made).
    fn view_exists(&self, n: &QualifiedName, phase: Phase) -> bool {
        if self.cur.views.contains_key(n) {
            !self.views_done.contains(n) || self.tgt.views.contains_key(n)
        } else {
            phase == Phase::Contract
        }
    }

    /// `roots` and every view over them that exists in `phase`, as a
    /// [`ViewsAround`]. In contract they come back as the target has them
    /// (and those the target drops stay dropped); before contract, a view
    /// comes back as the target has it only where the old app still reads
    /// it as before (else as it is, for the view rule to change later).
    /// The views made in their final shape, or dropped for good, are
    /// marked done: the view rule leaves them alone.
    pub(super) fn views_over(
        &mut self,
        roots: BTreeSet<QualifiedName>,
        made_here: &[QualifiedName],
        phase: Phase,
    ) -> ViewsAround {
        let mut all = roots;
        loop {
            let more: Vec<QualifiedName> = self
                .all_views()
                .filter(|(n, v)| !all.contains(*n) && all.iter().any(|a| reads(v, a, None)))
                .map(|(n, _)| n.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            all.extend(more);
        }
        all.retain(|n| self.view_exists(n, phase));
        let mut around = ViewsAround::default();
        let live = |n: &QualifiedName| self.cur.views.get(n).or_else(|| self.tgt.views.get(n));
        // Drops: each view before those it reads.
        for n in order(&all, live).into_iter().rev() {
            if let Some(v) = live(&n) {
                around.drops.push(drop_view(&n, v));
            }
            around.names.push(n.to_string());
        }
        // What each comes back as, if anything.
        let mut back: BTreeMap<QualifiedName, &View> = BTreeMap::new();
        let mut done = Vec::new();
        for n in &all {
            let target = self.tgt.views.get(n);
            let current = self.cur.views.get(n);
            // Before contract the old app still reads the view: it comes
            // back as the target has it only if that reads the same, and
            // one the target drops comes back too, for contract to drop.
            let final_shape = phase == Phase::Contract
                || match (current, target) {
                    (Some(c), Some(t)) => c == t || in_place(c, t),
                    (Some(_), None) => false,
                    (None, _) => true,
                };
            match (final_shape, target) {
                (true, Some(t)) => {
                    back.insert(n.clone(), t);
                    done.push(n.clone());
                }
                (true, None) => {
                    if let Some(v) = current {
                        around.hazards.push(drop_hazard(n, v));
                    }
                    done.push(n.clone());
                    // Gone for good: before the columns it reads go (the
                    // views it reads are this step's, or stay). One made
                    // again reads them as they are when this step runs.
                    if let Some(v) = current {
                        around.requires.extend(
                            self.live_reads(v)
                                .into_iter()
                                .filter(|r| !matches!(r, Resource::View(_))),
                        );
                    }
                }
                (false, _) => {
                    if let Some(c) = current {
                        back.insert(n.clone(), c);
                    }
                }
            }
        }
        for n in made_here {
            if let Some(t) = self.tgt.views.get(n) {
                back.insert(n.clone(), t);
                done.push(n.clone());
                around.made.push(n.to_string());
            }
        }
        let keys: BTreeSet<QualifiedName> = back.keys().cloned().collect();
        for n in order(&keys, |n| back.get(n).copied()) {
            let v = back[&n];
            if phase == Phase::Contract && self.tgt.views.get(&n) == Some(v) {
                // What it reads in the target is there before contract;
                // but for a column an earlier step swapped for its retyped
                // shadow: that swap dropped and made the view again too,
                // and whichever of the two runs last leaves it right
                // (requiring each other's column would be a cycle).
                around
                    .requires
                    .extend(self.view_requirements(v).into_iter().filter(|r| {
                        !matches!(r, Resource::View(_))
                            && !matches!(r, Resource::Column(t, c)
                            if self.swapped.contains_key(&(t.clone(), c.clone())))
                    }));
            }
            around.creates.extend(create_view(&n, v, false));
            around.creates.extend(self.take_back_defaults(&n));
            if v.is_materialized() {
                around.filled.push(n.to_string());
            }
            // A live view comes back with its owner and the privileges
            // granted on it.
            if let Some(f) = self.cur.views.get(&n).and_then(|l| l.facts.as_ref()) {
                around.creates.extend(ownership(&n, v, f));
            }
            // And with its triggers, as the view that comes back has them.
            let final_shape = self.tgt.views.get(&n) == Some(v);
            let source = if final_shape { self.tgt } else { self.cur };
            for (k, t) in source.triggers.iter().filter(|(k, _)| k.table == n) {
                around
                    .creates
                    .extend(crate::sql::postgres::create_trigger(k, t));
            }
            if final_shape {
                self.triggers_done
                    .extend(self.cur.triggers.keys().filter(|k| k.table == n).cloned());
                self.triggers_done
                    .extend(self.tgt.triggers.keys().filter(|k| k.table == n).cloned());
            }
            around.provides.push(Resource::View(n));
        }
        for n in &all {
            if self.cur.views.contains_key(n) {
                // Made again: what follows the view itself (a statistics
                // object on a materialized view) is lost with the old one.
                self.guard_unmanaged(n, Affects::Rebuild, format!("dropping view {n}"));
            }
        }
        self.views_done.extend(done);
        around
    }
}

/// What gives view `v` made again its owner and the privileges granted
/// on it, as `facts` found them.
pub(super) fn ownership(name: &QualifiedName, v: &View, facts: &ViewFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = &facts.owner {
        out.push(format!(
            "ALTER {} {} OWNER TO {}",
            v.sql_kind(),
            qt(name),
            qi(o)
        ));
    }
    for g in &facts.grants {
        out.push(format!(
            "GRANT {} ON {} TO {}{}",
            g.privilege,
            qt(name),
            g.grantee.as_ref().map_or_else(|| "PUBLIC".to_string(), qi),
            if g.grantable {
                " WITH GRANT OPTION"
            } else {
                ""
            }
        ));
    }
    out
}

/// `names` in an order where each comes after the others it reads.
fn order<'v>(
    names: &BTreeSet<QualifiedName>,
    view: impl Fn(&QualifiedName) -> Option<&'v View>,
) -> Vec<QualifiedName> {
    fn visit<'v>(
        n: &QualifiedName,
        names: &BTreeSet<QualifiedName>,
        view: &impl Fn(&QualifiedName) -> Option<&'v View>,
        seen: &mut BTreeSet<QualifiedName>,
        out: &mut Vec<QualifiedName>,
    ) {
        if !seen.insert(n.clone()) {
            return;
        }
        if let Some(v) = view(n) {
            for r in relations_read(v) {
                if names.contains(&r) {
                    visit(&r, names, view, seen, out);
                }
            }
        }
        out.push(n.clone());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for n in names {
        visit(n, names, &view, &mut seen, &mut out);
    }
    out
}

/// Views dropped before a change and made again after it, in the same
/// transaction: PostgreSQL refuses to drop or retype a column, or to
/// replace a view, while a view depends on it.
#[derive(Default)]
pub(super) struct ViewsAround {
    /// The views dropped, for the step's description.
    names: Vec<String>,
    /// New views made in the place of what the step drops.
    made: Vec<String>,
    /// `DROP VIEW`s, dependents first.
    drops: Vec<String>,
    /// `CREATE VIEW`s (and comments) of those the target keeps, in
    /// dependency order.
    creates: Vec<String>,
    /// Hazards of the views that go for good.
    hazards: Vec<String>,
    /// The materialized views made again: filled while the step holds
    /// its locks.
    filled: Vec<String>,
    /// What the live views read: the step runs before any of it goes.
    requires: Vec<Resource>,
    provides: Vec<Resource>,
    /// The triggers that name the changed column.
    triggers: super::trigger::TriggersAround,
}

impl ViewsAround {
    /// Leaves `names` out of the views the step's description lists (it
    /// names them itself).
    pub fn unlisted(mut self, names: &[String]) -> Self {
        self.names.retain(|n| !names.contains(n));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.drops.is_empty() && self.made.is_empty() && self.triggers.drops.is_empty()
    }

    /// `step` with `change` (its statements) between the drops and the
    /// creates.
    pub fn wrap(mut self, step: Step, change: Vec<String>) -> Step {
        if self.is_empty() {
            return step.sql_all(change);
        }
        self.names.sort();
        let triggers = std::mem::take(&mut self.triggers);
        // Views first: a query on a view locks the view, then its table;
        // a step that locked the table first (DROP TRIGGER takes ACCESS
        // EXCLUSIVE on it) and then waited for the view would deadlock
        // with such a query.
        let mut step = step
            .sql_all(self.drops)
            .sql_all(triggers.drops.iter().cloned())
            .sql_all(change);
        let mut parts = Vec::new();
        if !self.names.is_empty() {
            let back = self
                .names
                .iter()
                .filter(|n| self.provides.iter().any(|r| r.name() == **n))
                .count();
            let again = match back {
                0 => String::new(),
                n if n == self.names.len() => " and made again".to_string(),
                n => format!(", {n} of them made again"),
            };
            parts.push(format!(
                "view{} {} dropped{again}",
                if self.names.len() == 1 { "" } else { "s" },
                self.names.join(", "),
            ));
        }
        parts.extend(triggers.describe());
        if !parts.is_empty() {
            step.description = format!(
                "{} (in the same transaction, {})",
                step.description,
                parts.join("; ")
            );
        }
        if !self.made.is_empty() {
            step.description = format!(
                "{}, and view {} made in its place",
                step.description,
                self.made.join(", ")
            );
        }
        if !self.creates.is_empty() {
            step = step.sql(VIEW_SEARCH_PATH).sql_all(self.creates);
        }
        step = step.sql_all(triggers.creates);
        for h in self.hazards {
            step = step.hazard(HazardKind::UntrackedDependencies, h);
        }
        if !self.filled.is_empty() {
            step.lock.cost = step.lock.cost.max(Cost::Fill);
            step = step.hazard(
                HazardKind::LongLock,
                format!(
                    "materialized view{} {} {} filled again inside this step's transaction: what the step locks stays locked until {} done",
                    if self.filled.len() == 1 { "" } else { "s" },
                    self.filled.join(", "),
                    if self.filled.len() == 1 { "is" } else { "are" },
                    if self.filled.len() == 1 { "it is" } else { "they are" },
                ),
            );
        }
        step.requires_all(self.requires).provides_all(self.provides)
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::{PlanOptions, plan};
    use crate::testing::schema;

    /// Each swap drops and makes the view again; neither waits for the
    /// other's column (that was a cycle), and the last leaves it right.
    #[test]
    fn two_columns_retyped_under_one_view_swap_one_after_the_other() {
        let yaml = |a: &str, b: &str| {
            format!(
                "tables: {{ t: {{ columns: {{ id: {{ type: bigint }}, a: {{ type: {a} }}, b: {{ type: {b} }} }}, primary_key: [id] }} }}\nviews: {{ v: 'SELECT a, b FROM t' }}"
            )
        };
        let p = plan(
            &schema(&yaml("integer", "integer")),
            &schema(&yaml("bigint", "text")),
            &PlanOptions::default(),
        )
        .expect("plans without a cycle");
        let swaps: Vec<&str> = p
            .steps
            .iter()
            .filter(|s| s.description.starts_with("swap "))
            .map(|s| s.description.as_str())
            .collect();
        assert_eq!(swaps.len(), 2, "{swaps:?}");
        for s in &swaps {
            assert!(s.contains("view public.v dropped and made again"), "{s}");
        }
    }
}
