//! Exclusion constraints. PostgreSQL cannot add one `NOT VALID`, nor
//! attach one to an index built beforehand: `ADD CONSTRAINT ... EXCLUDE`
//! builds its index while it holds ACCESS EXCLUSIVE on the table, so on
//! a table with rows every read and write waits for the whole build. So
//! on a table with rows it is added in contract, and the plan says so
//! (`long-lock`, which apply refuses unless allowed); on a new or empty
//! table it is a catalog change, in expand. Dropping one drops its index
//! too.

use std::collections::BTreeMap;

use super::constraint::{mentions, undo_add_constraint};
use super::kind::{InTable, Kind, objects};
use super::*;
use crate::sql::postgres::{canonical_exclusion, exclusion_def};

pub(super) struct Exclusions;

impl Kind for Exclusions {
    objects!(in table.exclusions: BTreeMap<Ident, Exclusion>, constraint);

    fn same(_: &Planner<'_>, _: InTable<'_>, a: &Exclusion, b: &Exclusion) -> bool {
        same_exclusion(a, b)
    }

    fn added<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, x: &'a Exclusion) {
        p.add_exclusion(t, name, x, Phase::Expand, None, false);
    }

    fn removed<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, x: &'a Exclusion) {
        let columns = named_columns(x, t.old);
        p.drop_constraint(t.name, name, ObjectKind::Exclusion, &columns);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        name: &'a Ident,
        _: &'a Exclusion,
        n: &'a Exclusion,
    ) {
        p.add_exclusion(t, name, n, Phase::Contract, None, true);
    }

    /// An exclusion on a column swapped for its retyped shadow goes with
    /// the old column: it is made again once the new one has its name.
    fn finish<'a>(p: &mut Planner<'a>, t: InTable<'a>) {
        let swapped = p.swapped_in(t.name);
        for (name, x) in &t.new.exclusions {
            let kept = t
                .old
                .exclusions
                .get(name)
                .is_some_and(|o| same_exclusion(o, x));
            if kept && swapped.iter().any(|c| mentions(&x.definition, c.as_str())) {
                p.add_exclusion(t, name, x, Phase::Contract, None, false);
            }
        }
    }
}

impl Planner<'_> {
    /// Adds the exclusion constraint, or with `replace` drops the one of
    /// that name and adds it as `x` has it in one statement, so no write
    /// lands between the two unchecked.
    fn add_exclusion(
        &mut self,
        t: InTable<'_>,
        name: &Ident,
        x: &Exclusion,
        mut phase: Phase,
        mut after: Option<Resource>,
        replace: bool,
    ) {
        let table = t.name;
        self.after_swap(table, &x.definition, &mut phase, &mut after);
        let empty = self.empty_tables.contains(&self.cur_name(table));
        // Expand and migrate hold ACCESS EXCLUSIVE only for catalog
        // changes: building the index over existing rows waits for
        // contract, when only the new app runs, and for the user's leave.
        if !empty {
            phase = Phase::Contract;
        }
        let (action, what, drop) = if replace {
            (
                Action::Replace,
                "replace",
                format!("DROP CONSTRAINT {}, ", qi(name)),
            )
        } else {
            (Action::Create, "add", String::new())
        };
        let mut add = new_step(
            ObjectKind::Exclusion,
            format!("{table}.{name}"),
            action,
            phase,
            format!("{what} exclusion constraint {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} {drop}ADD CONSTRAINT {} {}",
            qt(table),
            qi(name),
            exclusion_def(x)
        ))
        .requires(Resource::table(table))
        .provides(Resource::constraint(table, name))
        .hazard(
            HazardKind::MayFail,
            format!("fails if existing rows of {table} conflict under {name}"),
        )
        .undo_with(undo_add_constraint(table, name));
        if phase != Phase::Contract {
            add = add.hazard(
                HazardKind::OldAppVisible,
                format!("from now on, writes to {table} that conflict under {name} fail, the old app's included"),
            );
        }
        add = if empty {
            add.lock(LockLevel::AccessExclusive, Cost::Metadata)
        } else {
            add.lock(LockLevel::AccessExclusive, Cost::Build)
                .unlimited()
                .hazard(
                HazardKind::LongLock,
                format!(
                    "builds the index of {name} over every row of {table} while holding ACCESS EXCLUSIVE: reads and writes of {table} wait until it is done (PostgreSQL has no concurrent way to add an exclusion constraint)"
                ),
            )
        };
        for c in named_columns(x, t.new) {
            add = add.requires(Resource::column(table, &c));
            if self.filled.contains(&(table.clone(), c.clone())) {
                add = add.requires(Resource::filled(table, &c));
            }
        }
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add);
    }
}

/// The same constraint, whatever the spelling of its definition.
fn same_exclusion(a: &Exclusion, b: &Exclusion) -> bool {
    a.deferrable == b.deferrable
        && match (
            canonical_exclusion(&a.definition),
            canonical_exclusion(&b.definition),
        ) {
            (Ok(x), Ok(y)) => x == y,
            _ => a.definition == b.definition,
        }
}

/// The columns of `t` an exclusion's definition names.
fn named_columns(x: &Exclusion, t: &Table) -> Vec<Ident> {
    t.columns
        .iter()
        .filter(|c| mentions(&x.definition, c.name.as_str()))
        .map(|c| c.name.clone())
        .collect()
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::plans_to;

    const T: &str = "tables:\n  c:\n    columns:\n      id: { type: bigint }\n      shape: { type: circle }\n    primary_key: [id]\n";

    #[test]
    fn a_new_exclusion_on_a_table_with_rows_is_a_long_lock_in_contract() {
        let to =
            format!("{T}    exclusions:\n      c_no_overlap: \"using GIST (shape with &&)\"\n");
        plans_to(
            T,
            &to,
            "
            contract: add exclusion constraint c_no_overlap on public.c
                ALTER TABLE public.c ADD CONSTRAINT c_no_overlap EXCLUDE using GIST (shape with &&)
            ",
        );
        let p = crate::plan::plan(
            &crate::testing::schema(T),
            &crate::testing::schema(&to),
            &crate::plan::PlanOptions::default(),
        )
        .expect("plans");
        assert!(
            p.steps[0]
                .hazards
                .iter()
                .any(|h| h.kind == crate::plan::HazardKind::LongLock),
            "{:?}",
            p.steps[0].hazards
        );
    }

    #[test]
    fn a_respelled_exclusion_is_no_change_and_a_changed_one_is_replaced_in_one_statement() {
        let from = format!("{T}    exclusions:\n      c_no_overlap: USING gist (shape WITH &&)\n");
        crate::testing::plans_between(
            &crate::testing::schema(&from),
            &crate::testing::schema(&format!(
                "{T}    exclusions:\n      c_no_overlap: {{ definition: \"USING gist (shape WITH &&)\", deferrable: true }}\n"
            )),
            "
            contract: replace exclusion constraint c_no_overlap on public.c
                ALTER TABLE public.c DROP CONSTRAINT c_no_overlap, ADD CONSTRAINT c_no_overlap EXCLUDE USING gist (shape WITH &&) DEFERRABLE
            ",
        );
        let respelled =
            format!("{T}    exclusions:\n      c_no_overlap: \"using  gist ( shape  with && )\"\n");
        let p = crate::plan::plan(
            &crate::testing::schema(&from),
            &crate::testing::schema(&respelled),
            &crate::plan::PlanOptions::default(),
        )
        .expect("plans");
        assert!(p.is_empty(), "{:?}", p.steps);
    }
}
