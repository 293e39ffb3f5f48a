//! Checks, and what every table constraint shares: drop, rename,
//! validate (foreign keys are in `foreign_key`, primary keys and unique
//! constraints in `keys`).

use std::collections::BTreeMap;

use super::kind::{InTable, Kind, objects};
use super::*;
use crate::diff::postgres::same_sql_for;
use crate::sql::postgres::check_def;

pub(super) struct Checks;

impl Kind for Checks {
    objects!(in table.checks: BTreeMap<Ident, Check>, constraint);

    fn same(p: &Planner<'_>, t: InTable<'_>, a: &Check, b: &Check) -> bool {
        same_check(p, a, t.old, b, t.new) && !needs_validation(a.not_valid, b.not_valid)
    }

    fn added<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, c: &'a Check) {
        p.add_check(t.name, name, c, Phase::Expand, None);
    }

    fn removed<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, _: &'a Check) {
        p.drop_constraint(t.name, name, ObjectKind::Check, &[]);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        name: &'a Ident,
        o: &'a Check,
        n: &'a Check,
    ) {
        if same_check(p, o, t.old, n, t.new) {
            // Only proving it is left: the rows already there.
            let fails = format!("fails if an existing row breaks `{}`", n.expression);
            let v = validate_step(ObjectKind::Check, t.name, name, Phase::Migrate, fails);
            return p.push(p.after_fills(v, t.name, |c| mentions(&n.expression, c.as_str())));
        }
        p.drop_constraint(t.name, name, ObjectKind::Check, &[]);
        p.add_check(
            t.name,
            name,
            n,
            Phase::Contract,
            Some(Resource::constraint_gone(t.name, name)),
        );
    }

    /// Checks on a column swapped for its retyped shadow go with the old
    /// column; they come back once the new one has its name.
    fn finish<'a>(p: &mut Planner<'a>, t: InTable<'a>) {
        for col in p.swapped_in(t.name) {
            for (name, c) in &t.new.checks {
                if t.old
                    .checks
                    .get(name)
                    .is_some_and(|o| same_check(p, o, t.old, c, t.new))
                    && mentions(&c.expression, col.as_str())
                {
                    p.add_check(t.name, name, c, Phase::Contract, None);
                }
            }
        }
    }
}

impl Planner<'_> {
    /// `step` (a validation) after the backfills of `table`'s columns it
    /// reads, which may be what makes its rows pass.
    pub(super) fn after_fills(
        &self,
        mut step: Step,
        table: &QualifiedName,
        reads: impl Fn(&Ident) -> bool,
    ) -> Step {
        for (t, col) in &self.filled {
            if t == table && reads(col) {
                step = step.requires(Resource::filled(t, col));
            }
        }
        step
    }

    /// The columns of `table` that contract swaps for their retyped
    /// shadows.
    pub(super) fn swapped_in(&self, table: &QualifiedName) -> Vec<Ident> {
        self.swapped
            .keys()
            .filter(|(name, _)| name == table)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// A constraint whose SQL `text` names a column that contract swaps
    /// for its retyped shadow would be dropped with the old column: it is
    /// added after the swap, in contract (unless the caller orders it
    /// already).
    pub(super) fn after_swap(
        &self,
        table: &QualifiedName,
        text: &str,
        phase: &mut Phase,
        after: &mut Option<Resource>,
    ) {
        if after.is_some() {
            return;
        }
        if let Some(col) = self
            .swapped_in(table)
            .into_iter()
            .find(|col| mentions(text, col.as_str()))
        {
            *phase = Phase::Contract;
            *after = Some(Resource::swapped(table, &col));
        }
    }

    /// ADD CHECK ... NOT VALID is a catalog change (ACCESS EXCLUSIVE,
    /// briefly) that applies to new writes only; VALIDATE scans under
    /// SHARE UPDATE EXCLUSIVE, so writes go on, in migrate.
    fn add_check(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        c: &Check,
        mut phase: Phase,
        mut after: Option<Resource>,
    ) {
        self.after_swap(table, &c.expression, &mut phase, &mut after);
        let obj = format!("{table}.{name}");
        let mut add = new_step(
            ObjectKind::Check,
            obj.clone(),
            Action::Create,
            phase,
            format!("add check {name} on {table} (NOT VALID: new writes only)"),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(table),
            qi(name),
            check_def(c)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::OldAppVisible,
            format!(
                "from now on, writes to {table} that break `{}` fail, the old app's included",
                c.expression
            ),
        )
        .requires(Resource::table(table))
        .provides(Resource::constraint(table, name))
        .undo_with(undo_add_constraint(table, name));
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add);
        if c.not_valid.0 {
            // The target keeps it NOT VALID: the rows there stay unproven.
            return;
        }
        let validate = validate_step(
            ObjectKind::Check,
            table,
            name,
            phase,
            format!("fails if an existing row breaks `{}`", c.expression),
        );
        self.push(self.after_fills(validate, table, |col| mentions(&c.expression, col.as_str())));
    }

    /// DROP CONSTRAINT: a catalog change under ACCESS EXCLUSIVE; contract.
    pub(super) fn drop_constraint(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        kind: ObjectKind,
        columns: &[Ident],
    ) {
        let mut step = new_step(
            kind,
            format!("{table}.{name}"),
            Action::Drop,
            Phase::Contract,
            format!("drop constraint {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::ConstraintDropped,
            format!("drops constraint {name}; {table} no longer enforces it"),
        )
        .requires(Resource::table(table))
        .removes_unless(
            self.recreated(table, name),
            Resource::constraint(table, name),
        )
        .provides(Resource::constraint_gone(table, name));
        if matches!(
            kind,
            ObjectKind::PrimaryKey | ObjectKind::Unique | ObjectKind::Exclusion
        ) {
            step = step.hazard(
                HazardKind::IndexDropped,
                format!(
                    "its {}index {name} goes with it; queries that use it may slow down sharply",
                    if kind == ObjectKind::Exclusion {
                        ""
                    } else {
                        "unique "
                    }
                ),
            );
        }
        for c in columns {
            step = step.requires(Resource::column(table, c));
        }
        self.push(step);
    }

    /// RENAME CONSTRAINT: a catalog change that no app depends on; still,
    /// nothing is renamed before contract.
    pub(super) fn rename_constraint(&mut self, table: &QualifiedName, from: &Ident, to: &Ident) {
        self.push(
            new_step(
                ObjectKind::Check,
                format!("{table}.{to}"),
                Action::Rename,
                Phase::Contract,
                format!("rename constraint {from} on {table} to {to}"),
            )
            .sql(format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                qt(table),
                qi(from),
                qi(to)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires(Resource::table(table))
            .provides(Resource::constraint(table, to)),
        );
    }
}

impl Planner<'_> {
    /// Whether the target has a constraint of this name again: then the
    /// drop is half of a replacement, and what needs the name wants the
    /// new one.
    pub(super) fn recreated(&self, table: &QualifiedName, name: &Ident) -> bool {
        self.tgt
            .tables
            .get(table)
            .is_some_and(|t| t.constraint_names().any(|n| n == name))
    }
}

/// VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE and scans: reads and
/// writes go on. In migrate at the earliest.
pub(super) fn validate_step(
    kind: ObjectKind,
    table: &QualifiedName,
    name: &Ident,
    phase: Phase,
    fails: String,
) -> Step {
    let what = if kind == ObjectKind::Check {
        "check"
    } else {
        "foreign key"
    };
    new_step(
        kind,
        format!("{table}.{name}"),
        Action::Validate,
        phase.max(Phase::Migrate),
        format!("validate {what} {name} on {table}"),
    )
    .sql(format!(
        "ALTER TABLE {} VALIDATE CONSTRAINT {}",
        qt(table),
        qi(name)
    ))
    .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
    .unlimited()
    .hazard(
        HazardKind::ValidationScan,
        format!("scans {table} once; reads and writes go on"),
    )
    .hazard(HazardKind::MayFail, fails)
    .requires(Resource::constraint(table, name))
    .undo_nothing()
}

/// Abort drops a constraint the migration added.
pub(super) fn undo_add_constraint(table: &QualifiedName, name: &Ident) -> Vec<Step> {
    vec![
        undo_step(
            ObjectKind::Check,
            format!("{table}.{name}"),
            format!("drop constraint {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .removes(Resource::constraint(table, name)),
    ]
}

/// A live constraint NOT VALID that the target has valid must be proven;
/// a valid one the target calls NOT VALID is already more than it asks.
pub(super) fn needs_validation(old: NotValid, new: NotValid) -> bool {
    old.0 && !new.0
}

/// The same check, each read on its own table (the server writes out a
/// column's cast to its own type).
fn same_check(p: &Planner<'_>, a: &Check, a_table: &Table, b: &Check, b_table: &Table) -> bool {
    a.no_inherit == b.no_inherit
        && same_sql_for(
            &a.expression,
            &column_types(p.cur, a_table),
            &b.expression,
            &column_types(p.tgt, b_table),
        )
}

/// The type of each column of `t`, by name, a domain's as its base type
/// (the server writes out a cast of a domain's value to its base).
pub(super) fn column_types<'t>(
    schema: &'t Schema,
    t: &'t Table,
) -> impl Fn(&str) -> Option<ColumnType> + 't {
    move |n| t.column(n).map(|c| schema.base_type(&c.ty))
}

pub(super) use crate::sql::postgres::mentions;

#[cfg(test)]
mod rule_tests {
    use crate::testing::plans_to;

    const T: &str =
        "tables:\n  t:\n    columns:\n      a: { type: integer }\n      b: { type: integer }\n";

    #[test]
    fn a_new_check_is_added_not_valid_then_validated_in_migrate() {
        plans_to(
            T,
            &format!("{T}    checks:\n      a_positive: \"a > 0\"\n"),
            "
            expand: add check a_positive on public.t (NOT VALID: new writes only)
                ALTER TABLE public.t ADD CONSTRAINT a_positive CHECK (a > 0) NOT VALID
            migrate: validate check a_positive on public.t
                ALTER TABLE public.t VALIDATE CONSTRAINT a_positive
            ",
        );
    }

    #[test]
    fn a_renamed_check_that_is_the_same_is_renamed_in_contract() {
        plans_to(
            &format!("{T}    checks:\n      a_pos: \"a > 0\"\n"),
            &format!(
                "{T}    checks:\n      a_positive: {{ expression: \"a > 0\", renamed_from: a_pos }}\n"
            ),
            "
            contract: rename constraint a_pos on public.t to a_positive
                ALTER TABLE public.t RENAME CONSTRAINT a_pos TO a_positive
            ",
        );
    }

    #[test]
    fn a_constraint_left_not_valid_is_validated_in_migrate_unless_the_target_keeps_it_so() {
        let fk = "teams:\n    columns:\n      id: { type: bigint }\n    primary_key: [id]\n";
        let from = format!(
            "tables:\n  {fk}  t:\n    columns:\n      a: {{ type: integer }}\n      team: {{ type: bigint }}\n    checks:\n      a_positive: {{ expression: \"a > 0\", not_valid: true }}\n    foreign_keys:\n      t_team: {{ columns: [team], references: {{ table: teams, columns: [id] }}, not_valid: true }}\n"
        );
        let to = from.replace(", not_valid: true", "");
        plans_to(
            &from,
            &to,
            "
            migrate: validate check a_positive on public.t
                ALTER TABLE public.t VALIDATE CONSTRAINT a_positive
            migrate: validate foreign key t_team on public.t
                ALTER TABLE public.t VALIDATE CONSTRAINT t_team
            ",
        );
        // Valid where the target says NOT VALID: more than it asks.
        assert!(
            crate::plan::plan(
                &crate::testing::schema(&to),
                &crate::testing::schema(&from),
                &crate::plan::PlanOptions::default()
            )
            .expect("plans")
            .is_empty()
        );
    }
}
