//! Primary keys and unique constraints. A key is a unique index first:
//! built CONCURRENTLY, or an existing unique index taken over as it is,
//! then attached with `USING INDEX`. The foreign keys that lean on them
//! are ordered in `fk_binding`.

use std::collections::{BTreeMap, BTreeSet};

use super::constraint::undo_add_constraint;
use super::kind::{InTable, Kind, objects};
use super::*;

pub(super) struct Uniques;

impl Kind for Uniques {
    objects!(in table.uniques: BTreeMap<Ident, Unique>, constraint);

    fn same(p: &Planner<'_>, t: InTable<'_>, a: &Unique, b: &Unique) -> bool {
        a.same_definition(b) && !p.moves_any(t.name, &b.columns)
    }

    fn added<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, u: &'a Unique) {
        let key = Key::Unique(u);
        p.attach_key(t.name, name, &u.columns, key, (t.old, t.new), None);
    }

    fn removed<'a>(p: &mut Planner<'a>, t: InTable<'a>, name: &'a Ident, u: &'a Unique) {
        p.drop_constraint(t.name, name, ObjectKind::Unique, &u.columns);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        name: &'a Ident,
        o: &'a Unique,
        n: &'a Unique,
    ) {
        if p.moves_any(t.name, &n.columns) && p.current_cols(t.name, &n.columns) == o.columns {
            return p.move_key(t.name, name, name, &n.columns, Key::Unique(n));
        }
        p.drop_constraint(t.name, name, ObjectKind::Unique, &o.columns);
        p.attach_key(
            t.name,
            name,
            &n.columns,
            Key::Unique(n),
            (t.old, t.new),
            Some(name),
        );
    }
}

/// Which key [`Planner::attach_key`] attaches: a unique constraint, or
/// the primary key with how it defers.
#[derive(Clone, Copy)]
pub(super) enum Key<'a> {
    Unique(&'a Unique),
    Primary(Deferrable),
}

impl Planner<'_> {
    pub fn primary_key(&mut self, table: &QualifiedName, old: &Table, new: &Table) {
        match (&old.primary_key, &new.primary_key) {
            (None, None) => {}
            // Over columns that move to shadows: built again over them.
            (Some(o), Some(n))
                if self.moves_any(table, &n.columns)
                    && self.current_cols(table, &n.columns) == o.columns =>
            {
                let key = Key::Primary(n.deferrable);
                self.move_key(table, &o.name, &n.name, &n.columns, key);
            }
            (Some(o), Some(n)) if o.same_definition(n) => {}
            // A table has one primary key: over the same columns under
            // another name (a renamed table's default name, say) it is
            // the same key, renamed, not rebuilt.
            (Some(o), Some(n)) if o.columns == n.columns && o.deferrable == n.deferrable => {
                self.rename_constraint(table, &o.name, &n.name);
            }
            // PostgreSQL cannot make a key (not) deferrable in place:
            // another definition, built beside and swapped in contract.
            (Some(o), Some(n)) => {
                self.drop_constraint(table, &o.name, ObjectKind::PrimaryKey, &o.columns);
                // A table has one primary key: the new one waits for the old.
                let key = Key::Primary(n.deferrable);
                self.attach_key(table, &n.name, &n.columns, key, (old, new), Some(&o.name));
            }
            (None, Some(n)) => {
                let key = Key::Primary(n.deferrable);
                self.attach_key(table, &n.name, &n.columns, key, (old, new), None)
            }
            (Some(o), None) => {
                self.drop_constraint(table, &o.name, ObjectKind::PrimaryKey, &o.columns)
            }
        }
    }

    /// A unique index is built CONCURRENTLY first; `ADD CONSTRAINT ...
    /// USING INDEX` then only changes the catalog (ACCESS EXCLUSIVE,
    /// briefly). An existing unique index over exactly these columns that
    /// the target no longer lists is taken over instead of built again
    /// (PostgreSQL renames it to the constraint's name; dropping it as "an
    /// index that went away" would drop the constraint). A primary key
    /// over columns that are still nullable would SET NOT NULL with a full
    /// scan: it waits for the NOT NULL route, in contract; a key over a
    /// column swapped for its retyped shadow waits for the swap.
    fn attach_key(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        columns: &[Ident],
        key: Key<'_>,
        (old, new): (&Table, &Table),
        replacing: Option<&Ident>,
    ) {
        let unique = match key {
            Key::Unique(u) => Some(u),
            Key::Primary(_) => None,
        };
        let is_pk = unique.is_none();
        if new.partition_by.is_some() {
            let what = if is_pk {
                "primary key"
            } else {
                "unique constraint"
            };
            return self.error(PlanError::Unsupported {
                object: format!("{table}.{name}"),
                what: format!("adding {what} {name} to partitioned table {table}, which holds rows: PostgreSQL cannot attach one to an index built beforehand (USING INDEX), so it would build an index on every partition under lock"),
                hint: "declare a unique index instead (`indexes: { name: { columns: [...], unique: true } }`), which bellows builds partition by partition without blocking writes, or add the constraint by hand in a quiet hour".into(),
            });
        }
        let swapped: Vec<Ident> = columns
            .iter()
            .filter(|c| self.swapped.contains_key(&(table.clone(), (*c).clone())))
            .cloned()
            .collect();
        let nulls_not_distinct = unique.is_some_and(|u| u.nulls_not_distinct);
        let adopted = if replacing.is_none() && swapped.is_empty() {
            self.adoptable_index(table, columns, nulls_not_distinct, old, new)
        } else {
            None
        };
        let build = match (&adopted, replacing) {
            (Some(ix), _) => ix.clone(),
            (None, Some(_)) => self.helper(
                &[Space::Relation(table.schema.clone())],
                &[name.as_str()],
                "bellows_new",
                format!("the index of the new definition of {name} on {table}"),
            ),
            (None, None) => name.clone(),
        };
        let mut built_in = Phase::Expand;
        if adopted.is_none() {
            let ix = Index::unique_on(columns, nulls_not_distinct);
            built_in = self.create_index(table, &build, &ix, name, Phase::Expand);
        } else {
            self.adopted
                .insert(QualifiedName::new(table.schema.clone(), build.clone()));
        }
        let nullable_before: Vec<&Ident> = columns
            .iter()
            .filter(|c| old.column(c.as_str()).is_none_or(|col| col.nullable))
            .collect();
        let phase =
            if replacing.is_some() || !swapped.is_empty() || (is_pk && !nullable_before.is_empty())
            {
                Phase::Contract
            } else {
                // Not before its index: one over a column migrate fills
                // is built after the backfill.
                built_in
            };
        let (kind, clause) = match unique {
            None => (ObjectKind::PrimaryKey, "PRIMARY KEY"),
            Some(_) => (ObjectKind::Unique, "UNIQUE"),
        };
        let deferrable = crate::sql::postgres::deferrable_sql(match key {
            Key::Unique(u) => u.deferrable,
            Key::Primary(d) => d,
        });
        let what = match &adopted {
            Some(ix) if ix == name => format!(
                "attach {} {name} to {table} using the existing unique index {ix}",
                clause.to_lowercase()
            ),
            Some(ix) => format!(
                "attach {} {name} to {table} using the existing unique index {ix} (renamed {name})",
                clause.to_lowercase()
            ),
            None => format!(
                "attach {} {name} to {table} using its index",
                clause.to_lowercase()
            ),
        };
        let mut step = new_step(kind, format!("{table}.{name}"), Action::Attach, phase, what)
            .sql(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {clause} USING INDEX {}{deferrable}",
                qt(table),
                qi(name),
                qi(&build)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires(Resource::index(&table.schema, &build))
            .provides(Resource::constraint(table, name));
        step = match &adopted {
            Some(ix) => {
                let undo = self.undo_adoption(table, name, ix, columns, nulls_not_distinct);
                step.undo_with(undo)
            }
            None => step.undo_with(undo_add_constraint(table, name)),
        };
        if let Some(old_name) = replacing {
            step = step.requires(Resource::constraint_gone(table, old_name));
        }
        for c in &swapped {
            step = step.requires(Resource::swapped(table, c));
        }
        if is_pk {
            for c in &nullable_before {
                step = step.requires(Resource::not_null(table, c));
            }
        }
        self.push(step);
    }

    /// Abort gives the taken-over index back: dropping the constraint
    /// would drop the index with it, so a twin is built first (uniqueness
    /// holds throughout), then the constraint goes and the twin takes the
    /// index's old name.
    fn undo_adoption(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        ix: &Ident,
        columns: &[Ident],
        nulls_not_distinct: bool,
    ) -> Vec<Step> {
        let twin = if ix == name {
            self.helper(
                &[Space::Relation(table.schema.clone())],
                &[ix.as_str()],
                "bellows_old",
                format!("the unique index {ix} on {table}, rebuilt if abort runs"),
            )
        } else {
            ix.clone()
        };
        let index = Index::unique_on(columns, nulls_not_distinct);
        let build = crate::sql::postgres::create_index(table, &twin, &index, true).replacen(
            "INDEX CONCURRENTLY",
            "INDEX CONCURRENTLY IF NOT EXISTS",
            1,
        );
        let obj = format!("{table}.{name}");
        let mut detach = undo_step(
            ObjectKind::Unique,
            obj.clone(),
            format!("drop constraint {name} on {table}, giving the unique index {ix} back"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .removes(Resource::constraint(table, name));
        if twin != *ix {
            detach = detach.sql(format!(
                "ALTER INDEX {}.{} RENAME TO {}",
                qi(&table.schema),
                qi(&twin),
                qi(ix)
            ));
        }
        vec![
            undo_step(
                ObjectKind::Index,
                format!("{}.{twin}", table.schema),
                format!("build the unique index {ix} on {table} again"),
            )
            .sql(build)
            .outside_transaction()
            .index_build_timeouts()
            .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
            .removes(Resource::constraint(table, name)),
            detach,
        ]
    }

    /// An existing unique index that a new key can take over: over exactly
    /// `columns` in that order, plain btree keys, no predicate or INCLUDE,
    /// and no longer listed in the target under its name.
    fn adoptable_index(
        &self,
        table: &QualifiedName,
        columns: &[Ident],
        nulls_not_distinct: bool,
        old: &Table,
        new: &Table,
    ) -> Option<Ident> {
        old.indexes
            .iter()
            .find(|(n, ix)| {
                ix.unique
                    && ix.method == DEFAULT_INDEX_METHOD
                    && ix.predicate.is_none()
                    && ix.include.is_empty()
                    && ix.nulls_not_distinct == nulls_not_distinct
                    && ix.keys.len() == columns.len()
                    && ix.keys.iter().zip(columns).all(|(k, c)| {
                        k.is_plain_column() && matches!(&k.target, KeyTarget::Column(kc) if kc == c)
                    })
                    && !new.indexes.contains_key(*n)
                    && !new
                        .indexes
                        .values()
                        .any(|i| i.renamed_from.as_ref() == Some(*n))
                    && !self
                        .adopted
                        .contains(&QualifiedName::new(table.schema.clone(), (*n).clone()))
            })
            .map(|(n, _)| n.clone())
    }

    /// Records a unique index over plain columns that this plan builds:
    /// a foreign key to those columns can be added once it exists.
    pub(super) fn record_key_index(
        &mut self,
        table: &QualifiedName,
        ix: &Index,
        build_name: &Ident,
    ) {
        if !ix.unique || ix.predicate.is_some() {
            return;
        }
        if let Some(cols) = ix.key_columns() {
            let cols: BTreeSet<Ident> = cols.into_iter().collect();
            self.key_indexes
                .entry((table.clone(), cols))
                .or_default()
                .push(Resource::index(&table.schema, build_name));
        }
    }
}
