//! Indexes: built and dropped CONCURRENTLY, outside any transaction. A
//! changed index is built under a temporary name, and the old one is
//! swapped out in contract.

use super::constraint::column_types;
use std::collections::BTreeMap;

use super::kind::{InTable, Kind, objects};
use super::*;
use crate::diff::postgres::normalize_for;
use crate::sql::postgres::create_index;

pub(super) struct Indexes;

impl Kind for Indexes {
    objects!(in table.indexes: BTreeMap<Ident, Index>, renamed);

    fn same(p: &Planner<'_>, t: InTable<'_>, a: &Index, b: &Index) -> bool {
        same_index(p, a, t.old, b, t.new)
    }

    fn added<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, ix: &'a Index) {
        p.create_index(t.name, name, ix, name, Phase::Expand);
    }

    /// An index a new key took over is the key's now, not dropped.
    fn removed<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, ix: &'a Index) {
        let adopted = p
            .adopted
            .contains(&QualifiedName::new(t.name.schema.clone(), name.clone()));
        if !adopted {
            p.drop_index(t.name, name, ix, false);
        }
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        name: &'a Ident,
        o: &'a Index,
        n: &'a Index,
    ) {
        // Only its storage parameters change: in place, where they can
        // (not on a partitioned table, whose index PostgreSQL cannot
        // alter so).
        let storage_only = Index {
            storage: n.storage.clone(),
            ..o.clone()
        };
        let in_place = t.old.partition_by.is_none()
            && t.new.partition_by.is_none()
            && same_index(p, &storage_only, t.old, n, t.new);
        if !(in_place && p.index_storage(t.name, name, o, n)) {
            p.replace_index(t.name, name, o, n);
        }
    }

    fn rename<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        from: &'a Ident,
        to: &'a Ident,
        o: &'a Index,
    ) -> bool {
        // An index on a column swapped for its retyped shadow
        // goes with the old column: the renamed one is built on
        // the shadow instead, like a changed one.
        let on_swapped = o
            .keys
            .iter()
            .filter_map(IndexKey::column_name)
            .chain(&o.include)
            .any(|c| p.swapped.contains_key(&(t.name.clone(), c.clone())));
        if on_swapped {
            return false;
        }
        // ALTER INDEX ... RENAME takes SHARE UPDATE EXCLUSIVE, catalog
        // only; like every rename but a table's, it waits for contract.
        p.push(
            new_step(
                ObjectKind::Index,
                format!("{}.{to}", t.name.schema),
                Action::Rename,
                Phase::Contract,
                format!("rename index {from} to {to}"),
            )
            .sql(format!(
                "ALTER INDEX {}.{} RENAME TO {}",
                qi(&t.name.schema),
                qi(from),
                qi(to)
            ))
            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
            .requires(Resource::index(&t.name.schema, from))
            .provides(Resource::index(&t.name.schema, to)),
        );
        true
    }
}

impl Planner<'_> {
    /// CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE: reads and
    /// writes go on. It waits for older transactions, so it gets a long
    /// lock timeout and no statement timeout. Indexes over columns that
    /// migrate fills are built after the backfill. Returns the phase the
    /// build runs in: what uses the index cannot run earlier.
    pub fn create_index(
        &mut self,
        table: &QualifiedName,
        build_name: &Ident,
        ix: &Index,
        final_name: &Ident,
        earliest: Phase,
    ) -> Phase {
        if build_name == final_name {
            self.claim(&table.schema, build_name, || {
                format!("new index {build_name} on {table}")
            });
        }
        self.record_key_index(table, ix, build_name);
        // A column that contract swaps for its retyped shadow takes its
        // indexes with it: a new index goes on the shadow, which becomes
        // the column at the swap (an index follows its column's rename).
        let mut ix = ix.clone();
        let on_shadow = |c: &mut Ident| {
            if let Some(dst) = self.swapped.get(&(table.clone(), c.clone())) {
                *c = dst.clone();
            }
        };
        for k in &mut ix.keys {
            if let KeyTarget::Column(c) = &mut k.target {
                on_shadow(c);
            }
        }
        ix.include.iter_mut().for_each(on_shadow);
        let ix = &ix;
        let mut phase = earliest;
        let mut needs = Vec::new();
        for k in &ix.keys {
            if let KeyTarget::Column(c) = &k.target {
                needs.push(Resource::column(table, c));
                if self.filled.contains(&(table.clone(), c.clone())) {
                    phase = phase.max(Phase::Migrate);
                    needs.push(Resource::filled(table, c));
                }
            }
        }
        for c in &ix.include {
            needs.push(Resource::column(table, c));
        }
        if self
            .create_partitioned_index(table, build_name, ix, phase, &needs)
            .is_some()
        {
            return phase;
        }
        let what = if build_name == final_name {
            format!("build index {final_name} on {table}")
        } else {
            format!("build the new definition of index {final_name} on {table} as {build_name}")
        };
        let mut step = new_step(
            ObjectKind::Index,
            format!("{}.{build_name}", table.schema),
            Action::Build,
            phase,
            what,
        )
        .sql(create_index(table, build_name, ix, true))
        .outside_transaction()
        .index_build_timeouts()
        .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
        .hazard(
            HazardKind::IndexBuild,
            format!("builds an index over all of {table}: two scans; reads and writes go on"),
        )
        .requires(Resource::table(table))
        .provides(Resource::index(&table.schema, build_name))
        .undo_with(vec![
            undo_step(
                ObjectKind::Index,
                format!("{}.{build_name}", table.schema),
                format!("drop index {build_name} on {table}"),
            )
            .sql(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                qi(&table.schema),
                qi(build_name)
            ))
            .outside_transaction()
            .index_build_timeouts()
            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
            .removes(Resource::index(&table.schema, build_name)),
        ]);
        if ix.unique {
            step = step.hazard(HazardKind::MayFail, format!("fails if existing rows of {table} are not unique; bellows then drops the INVALID leftover"));
        }
        for r in needs {
            step = step.requires(r);
        }
        self.push(step);
        phase
    }

    /// DROP INDEX CONCURRENTLY: no lock that blocks queries. Contract only.
    /// A partitioned table's index cannot go concurrently: a plain DROP
    /// INDEX, a catalog change under ACCESS EXCLUSIVE on the table and its
    /// partitions.
    pub fn drop_index(&mut self, table: &QualifiedName, name: &Ident, ix: &Index, replaced: bool) {
        let partitioned = self
            .cur
            .tables
            .get(table)
            .or_else(|| self.tgt.tables.get(table))
            .is_some_and(|t| t.partition_by.is_some());
        let step = new_step(
            ObjectKind::Index,
            format!("{}.{name}", table.schema),
            Action::Drop,
            Phase::Contract,
            format!("drop index {name} on {table}"),
        );
        let step = if partitioned {
            step.sql(format!(
                "DROP INDEX IF EXISTS {}.{}",
                qi(&table.schema),
                qi(name)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
        } else {
            step.sql(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                qi(&table.schema),
                qi(name)
            ))
            .outside_transaction()
            .index_build_timeouts()
            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
        };
        let mut step = step
            .hazard(
                HazardKind::IndexDropped,
                format!("drops index {name}; queries that use it may slow down sharply"),
            )
            .removes_unless(replaced, Resource::index(&table.schema, name))
            .provides(Resource::index_gone(&table.schema, name));
        // It runs before the columns it covers are dropped.
        for k in &ix.keys {
            if let KeyTarget::Column(c) = &k.target {
                step = step.requires(Resource::column(table, c));
            }
        }
        self.push(step);
    }

    pub(super) fn replace_index(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        o: &Index,
        n: &Index,
    ) {
        let tmp = self.new_index_name(table, name);
        self.create_index(table, &tmp, n, name, Phase::Expand);
        self.drop_index(table, name, o, true);
        self.rename_new_index(table, &tmp, name, None);
    }

    /// The name an index's new definition is built under.
    fn new_index_name(&mut self, table: &QualifiedName, name: &Ident) -> Ident {
        self.helper(
            &[Space::Relation(table.schema.clone())],
            &[name.as_str()],
            "bellows_new",
            format!("the new definition of index {name} on {table}"),
        )
    }

    fn rename_new_index(
        &mut self,
        table: &QualifiedName,
        tmp: &Ident,
        name: &Ident,
        after: Option<Resource>,
    ) {
        let mut step = new_step(
            ObjectKind::Index,
            format!("{}.{name}", table.schema),
            Action::Rename,
            Phase::Contract,
            format!("give {tmp} its final name {name}"),
        )
        .sql(format!(
            "ALTER INDEX {}.{} RENAME TO {}",
            qi(&table.schema),
            qi(tmp),
            qi(name)
        ))
        .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
        .requires(Resource::index(&table.schema, tmp))
        .requires(after.unwrap_or_else(|| Resource::index_gone(&table.schema, name)))
        .provides(Resource::index(&table.schema, name));
        step.removes.push(Resource::index(&table.schema, tmp));
        self.push(step);
    }

    /// An index on a column that is being swapped for a retyped shadow is
    /// dropped with the old column: build its twin on the shadow first.
    pub fn rebuild_index_on_shadow(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        ix: &Index,
        src: &Ident,
        dst: &Ident,
    ) {
        let mut twin = ix.clone();
        for k in &mut twin.keys {
            if matches!(&k.target, KeyTarget::Column(c) if c == src) {
                k.target = KeyTarget::Column(dst.clone());
            }
        }
        for c in &mut twin.include {
            if c == src {
                *c = dst.clone();
            }
        }
        let tmp = self.new_index_name(table, name);
        self.create_index(table, &tmp, &twin, name, Phase::Migrate);
        let swapped = Resource::swapped(table, src);
        self.rename_new_index(table, &tmp, name, Some(swapped));
    }
}

/// Equal but for hints and the server's spelling of expressions, each
/// read on its own table.
pub(super) fn same_index(
    p: &Planner<'_>,
    a: &Index,
    a_table: &Table,
    b: &Index,
    b_table: &Table,
) -> bool {
    let norm = |i: &Index, s: &Schema, t: &Table| {
        let cols = column_types(s, t);
        let mut i = i.clone();
        i.renamed_from = None;
        i.predicate = i.predicate.as_deref().map(|p| normalize_for(p, &cols));
        for k in &mut i.keys {
            if let KeyTarget::Expression(e) = &k.target {
                k.target = KeyTarget::Expression(normalize_for(e, &cols));
            }
        }
        i
    };
    a == b || norm(a, p.cur, a_table) == norm(b, p.tgt, b_table)
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::plans_to;

    const T: &str =
        "tables:\n  t:\n    columns:\n      a: { type: integer }\n      b: { type: integer }\n";

    #[test]
    fn a_changed_index_is_built_under_a_new_name_and_swapped_in_contract() {
        plans_to(
            &format!("{T}    indexes:\n      t_a_idx: {{ columns: [a] }}\n"),
            &format!("{T}    indexes:\n      t_a_idx: {{ columns: [a, b] }}\n"),
            "
            expand: build the new definition of index t_a_idx on public.t as t_a_idx_bellows_new
                CREATE INDEX CONCURRENTLY t_a_idx_bellows_new ON public.t USING btree (a, b)
            contract: drop index t_a_idx on public.t
                DROP INDEX CONCURRENTLY IF EXISTS public.t_a_idx
            contract: give t_a_idx_bellows_new its final name t_a_idx
                ALTER INDEX public.t_a_idx_bellows_new RENAME TO t_a_idx
            ",
        );
    }

    #[test]
    fn a_renamed_index_is_renamed_in_contract_or_rebuilt_when_it_changed_too() {
        plans_to(
            &format!("{T}    indexes:\n      t_a: {{ columns: [a] }}\n"),
            &format!("{T}    indexes:\n      t_a_idx: {{ columns: [a], renamed_from: t_a }}\n"),
            "
            contract: rename index t_a to t_a_idx
                ALTER INDEX public.t_a RENAME TO t_a_idx
            ",
        );
        plans_to(
            &format!("{T}    indexes:\n      t_a: {{ columns: [a] }}\n"),
            &format!("{T}    indexes:\n      t_ab: {{ columns: [a, b], renamed_from: t_a }}\n"),
            "
            expand: build index t_ab on public.t
                CREATE INDEX CONCURRENTLY t_ab ON public.t USING btree (a, b)
            contract: drop index t_a on public.t
                DROP INDEX CONCURRENTLY IF EXISTS public.t_a
            ",
        );
    }
}
