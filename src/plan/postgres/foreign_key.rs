//! Foreign keys: added NOT VALID and validated in migrate, dropped in
//! contract; the unique keys they lean on are ordered in `fk_binding`,
//! and those over columns moving to shadows are switched in `key_move`.

use std::collections::BTreeMap;

use super::constraint::{needs_validation, undo_add_constraint, validate_step};
use super::kind::{InTable, Kind, objects};
use super::*;
use crate::sql::postgres::foreign_key_def;

pub(super) struct ForeignKeys;

impl Kind for ForeignKeys {
    objects!(in table.foreign_keys: BTreeMap<Ident, ForeignKey>, constraint);

    /// Renamed over columns that move to shadows: `key_move` switches it
    /// to its new name and columns at once.
    fn renamed<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        from: &'a Ident,
        to: &'a Ident,
        o: &'a ForeignKey,
        n: &'a ForeignKey,
    ) {
        if p.fk_moves(t.name, n) {
            return;
        }
        if Self::same(p, t, o, n) && Self::rename(p, t, from, to, o) {
            return;
        }
        Self::removed(p, t, from, o);
        Self::added(p, t, to, n);
    }

    fn same(_: &Planner<'_>, _: InTable<'_>, a: &ForeignKey, b: &ForeignKey) -> bool {
        same_but_validity(a, b) && !needs_validation(a.not_valid, b.not_valid)
    }

    fn added<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, fk: &'a ForeignKey) {
        p.add_foreign_key(t.name, name, fk);
    }

    fn removed<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, fk: &'a ForeignKey) {
        p.drop_foreign_key(t.name, name, fk);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        name: &'a Ident,
        o: &'a ForeignKey,
        n: &'a ForeignKey,
    ) {
        // Over columns that move to shadows: see `key_move`.
        if p.fk_moves(t.name, n) {
            return;
        }
        if same_but_validity(o, n) {
            let fails = format!(
                "fails if a row of {} has no match in {}",
                t.name, n.ref_table
            );
            let v = validate_step(ObjectKind::ForeignKey, t.name, name, Phase::Migrate, fails);
            return p.push(p.after_fills(v, t.name, |c| n.columns.contains(c)));
        }
        p.drop_foreign_key(t.name, name, o);
        p.add_fk_at(
            t.name,
            name,
            n,
            Phase::Contract,
            Some(Resource::constraint_gone(t.name, name)),
        );
    }
}

impl Planner<'_> {
    pub fn add_foreign_key(&mut self, table: &QualifiedName, name: &Ident, fk: &ForeignKey) {
        self.add_fk_at(table, name, fk, Phase::Expand, None);
    }

    /// ADD FOREIGN KEY ... NOT VALID takes SHARE ROW EXCLUSIVE on both
    /// tables, briefly: a catalog change. VALIDATE scans under SHARE UPDATE
    /// EXCLUSIVE (and ROW SHARE on the referenced table): writes go on.
    fn add_fk_at(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        fk: &ForeignKey,
        mut phase: Phase,
        after: Option<Resource>,
    ) {
        let obj = format!("{table}.{name}");
        let partitioned = self
            .tgt
            .tables
            .get(table)
            .is_some_and(|t| t.partition_by.is_some());
        if partitioned {
            return self.add_partitioned_fk(table, name, fk, phase, after);
        }
        let mut add = new_step(
            ObjectKind::ForeignKey,
            obj.clone(),
            Action::Create,
            phase,
            format!(
                "add foreign key {name} on {table} → {} (NOT VALID: new writes only)",
                fk.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(table),
            qi(name),
            foreign_key_def(fk)
        ))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .gives_way()
        .hazard(
            HazardKind::OldAppVisible,
            format!(
                "from now on, writes to {table} need a matching row in {}",
                fk.ref_table
            ),
        )
        .requires(Resource::table(table))
        .requires(Resource::table(&fk.ref_table))
        .provides(Resource::constraint(table, name))
        .undo_with(undo_add_constraint(table, name));
        // A column swapped for its retyped shadow in contract (on either
        // side) is the new one only after the swap; the others must exist.
        let cols = fk
            .columns
            .iter()
            .map(|c| (table, c))
            .chain(fk.ref_columns.iter().map(|c| (&fk.ref_table, c)));
        let mut after_swap = false;
        for (t, c) in cols {
            if self.swapped.contains_key(&(t.clone(), c.clone())) {
                after_swap = true;
                add = add.requires(Resource::swapped(t, c));
            } else {
                add = add.requires(Resource::column(t, c));
            }
        }
        if after_swap {
            phase = Phase::Contract;
            add.phase = phase;
        }
        // The unique index it is tied to: see `keys::bind_foreign_keys`.
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add);
        if fk.not_valid.0 {
            return;
        }
        let mut validate = validate_step(
            ObjectKind::ForeignKey,
            table,
            name,
            phase,
            format!("fails if a row of {table} has no match in {}", fk.ref_table),
        );
        for c in &fk.columns {
            if self.filled.contains(&(table.clone(), c.clone())) {
                validate = validate.requires(Resource::filled(table, c));
            }
        }
        self.push(validate);
    }

    pub fn drop_foreign_key(&mut self, table: &QualifiedName, name: &Ident, fk: &ForeignKey) {
        let mut step = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{name}"),
            Action::Drop,
            Phase::Contract,
            format!("drop foreign key {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .gives_way()
        .hazard(
            HazardKind::ConstraintDropped,
            format!("drops foreign key {name}; {table} no longer checks its references"),
        )
        .requires(Resource::table(table))
        .requires(Resource::table(&fk.ref_table))
        .removes_unless(
            self.recreated(table, name),
            Resource::constraint(table, name),
        )
        .provides(Resource::constraint_gone(table, name));
        for c in &fk.columns {
            step = step.requires(Resource::column(table, c));
        }
        self.push(step);
    }
}

/// Two foreign keys the same but for hints and validity.
fn same_but_validity(a: &ForeignKey, b: &ForeignKey) -> bool {
    a.same_definition(&ForeignKey {
        not_valid: a.not_valid,
        ..b.clone()
    })
}
