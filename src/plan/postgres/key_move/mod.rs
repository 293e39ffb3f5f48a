//! Key columns moved to a shadow: a primary key, unique key or foreign
//! key over a column that is retyped (or renamed) through a shadow column
//! is built again over the shadow while both app versions run, and takes
//! the old one's place in contract.
//!
//! - A primary key or unique key gets a unique index over the shadow,
//!   built CONCURRENTLY once it is filled; the swap that drops the old
//!   column (and with it the old key) attaches the index as the key in
//!   the same transaction (`ADD CONSTRAINT … USING INDEX`), so the table
//!   is never without it.
//! - A foreign key from or to such a column is added again over the
//!   shadows under a temporary name, NOT VALID, once the columns it
//!   references are filled and unique, and validated in migrate; in
//!   contract one short transaction drops the old definition and gives
//!   the new one its name, before either column is swapped.

use std::collections::BTreeSet;

use super::constraint::{undo_add_constraint, validate_step};
use super::keys::Key;
use super::*;
use crate::sql::postgres::foreign_key_def;

/// A column that a shadow replaces in contract: its current name, and
/// the shadow's name until the swap (the target's name for a rename).
#[derive(Debug, Clone)]
pub(super) struct Moved {
    pub from: Ident,
    pub shadow: Ident,
}

impl Planner<'_> {
    /// Whether any of target table `table`'s columns `cols` moves to a
    /// shadow.
    pub(super) fn moves_any(&self, table: &QualifiedName, cols: &[Ident]) -> bool {
        // Nothing moves in almost every plan: no key to build then.
        !self.moved.is_empty()
            && cols
                .iter()
                .any(|c| self.moved.contains_key(&(table.clone(), c.clone())))
    }

    /// Target columns `cols` of `table` under their current names.
    pub(super) fn current_cols(&self, table: &QualifiedName, cols: &[Ident]) -> Vec<Ident> {
        cols.iter()
            .map(|c| match self.moved.get(&(table.clone(), c.clone())) {
                Some(m) => m.from.clone(),
                None => c.clone(),
            })
            .collect()
    }

    /// Target columns `cols` of `table` as they are named before contract:
    /// a moved one by its shadow.
    fn shadow_cols(&self, table: &QualifiedName, cols: &[Ident]) -> Vec<Ident> {
        cols.iter()
            .map(|c| match self.moved.get(&(table.clone(), c.clone())) {
                Some(m) => m.shadow.clone(),
                None => c.clone(),
            })
            .collect()
    }

    /// Whether foreign key `fk` of target table `table` has a column on
    /// either side that moves to a shadow.
    pub(super) fn fk_moves(&self, table: &QualifiedName, fk: &ForeignKey) -> bool {
        self.moves_any(table, &fk.columns) || self.moves_any(&fk.ref_table, &fk.ref_columns)
    }

    /// The current foreign keys (table, name) that use column `col` of
    /// current table `table`, on either side.
    pub(super) fn foreign_keys_using(
        &self,
        table: &QualifiedName,
        col: &Ident,
    ) -> Vec<(QualifiedName, Ident)> {
        let mut out = Vec::new();
        for (t, tab) in &self.cur.tables {
            for (f, fk) in &tab.foreign_keys {
                if (t == table && fk.columns.contains(col))
                    || (&fk.ref_table == table && fk.ref_columns.contains(col))
                {
                    out.push((t.clone(), f.clone()));
                }
            }
        }
        out
    }

    /// Why column `o` of target table `table` (`old_table` now), if it is
    /// in a key, cannot move to shadow `n`.
    pub(super) fn key_move_refusal(
        &self,
        table: &QualifiedName,
        old_table: &Table,
        (o, n): (&Column, &Column),
        computed: bool,
        what: &str,
    ) -> Option<PlanError> {
        let col = &o.name;
        let now = self.cur_name(table);
        let fks = self.foreign_keys_using(&now, col);
        let in_key = old_table
            .primary_key
            .iter()
            .any(|p| p.columns.contains(col))
            || old_table.uniques.values().any(|u| u.columns.contains(col))
            || !fks.is_empty();
        if !in_key {
            return None;
        }
        // The keys' values must stay equal through the cast, or the rows
        // that reference them would point elsewhere, or nowhere.
        if !computed && !self.keeps_key_values(&o.ty, &n.ty) {
            return Some(PlanError::Unsupported {
                object: col_name(table, col),
                what: format!("{what}: the column is in a key, and a cast from {} to {} may not keep its values equal", o.ty, n.ty),
                hint: "give the column a `backfill:` expression that computes the new key from the row; a column that references it and has no expression of its own takes the new key of the row it references".into(),
            });
        }
        let partitioned = |t: &Table| t.partition_by.is_some() || t.partition_of.is_some();
        let tables: BTreeSet<&QualifiedName> = std::iter::once(&now)
            .chain(fks.iter().map(|(t, _)| t))
            .collect();
        for t in tables {
            let cur = self.cur.tables.get(t);
            let why = if cur.is_some_and(partitioned)
                || self.tgt.tables.get(t).is_some_and(partitioned)
            {
                format!("{t} is partitioned or a partition")
            } else if self
                .tgt
                .tables
                .values()
                .any(|n| n.renamed_from.as_ref() == Some(t))
            {
                format!("{t} is renamed in the same plan")
            } else {
                continue;
            };
            return Some(PlanError::Unsupported {
                object: col_name(table, col),
                what: format!("{what}: the column is in a key, and {why}"),
                hint: "move the key in a migration of its own (rename the table first, or change the partitioned table's key by hand)".into(),
            });
        }
        None
    }

    /// The name of the shadow that retypes column `col` of target table
    /// `table`: the same whichever asks first (the column's own rule, or
    /// a referencing column that reads it).
    pub(super) fn shadow_name(&mut self, table: &QualifiedName, col: &Ident) -> Ident {
        if let Some(s) = self.shadow_names.get(&(table.clone(), col.clone())) {
            return s.clone();
        }
        let s = self.helper(
            &[Space::Column(table.clone())],
            &[col.as_str()],
            "bellows_new",
            format!("the retyped {}", col_name(table, col)),
        );
        self.shadow_names
            .insert((table.clone(), col.clone()), s.clone());
        s
    }

    /// When column `o` of target table `table` references (by a current
    /// foreign key) a key column that gets new values from a `backfill:`
    /// of its own (`integer` to `uuid`, say): the expression that finds the
    /// new key of the row referenced, and the parent's fill it waits for.
    pub(super) fn key_from_parent(
        &mut self,
        table: &QualifiedName,
        o: &Column,
    ) -> Result<Option<(String, Resource)>, PlanError> {
        let (cur, tgt) = (self.cur, self.tgt);
        let now = self.cur_name(table);
        let Some(fk) = cur.tables.get(&now).and_then(|t| {
            t.foreign_keys
                .values()
                .find(|f| f.columns.contains(&o.name))
        }) else {
            return Ok(None);
        };
        let Some(i) = fk.columns.iter().position(|c| c == &o.name) else {
            return Ok(None);
        };
        let parent = &fk.ref_table;
        let key = &fk.ref_columns[i];
        let (Some(p0), Some(p1)) = (cur.tables.get(parent), tgt.tables.get(parent)) else {
            return Ok(None);
        };
        let (Some(k0), Some(k1)) = (p0.column(key.as_str()), p1.column(key.as_str())) else {
            return Ok(None);
        };
        if k1.backfill.is_none() || k0.ty == k1.ty || super::binary_coercible(&k0.ty, &k1.ty) {
            return Ok(None);
        }
        // The child's columns are named bare inside a query over the
        // parent: one the parent has too would mean the parent's.
        let shadow = self.shadow_name(parent, key);
        if let Some(c) = fk.columns.iter().find(|c| p0.column(c.as_str()).is_some()) {
            return Err(PlanError::Unsupported {
                object: col_name(table, &o.name),
                what: format!(
                    "finding the new key of {parent} for {}: {parent} has a column {c} too, so `{c}` inside the lookup over it would mean {parent}'s",
                    col_name(table, &o.name)
                ),
                hint: format!(
                    "rename {c} of {table} in a migration of its own first, or give {} a `backfill:` that finds the new key in {parent}.{shadow} (the column that becomes {key} at contract)",
                    o.name
                ),
            });
        }
        let matches: Vec<String> = fk
            .ref_columns
            .iter()
            .zip(&fk.columns)
            .map(|(r, c)| format!("bellows_parent.{} = {}", qi(r), qi(c)))
            .collect();
        let expr = format!(
            "(SELECT bellows_parent.{} FROM {} AS bellows_parent WHERE {})",
            qi(&shadow),
            qt(parent),
            matches.join(" AND ")
        );
        Ok(Some((expr, Resource::filled(parent, &shadow))))
    }

    /// Whether a key of type `from` keeps its values equal, and its order,
    /// cast to `to`: integers to wider integers or `numeric`, strings to
    /// unlimited strings.
    fn keeps_key_values(&self, from: &ColumnType, to: &ColumnType) -> bool {
        if from == to {
            return true;
        }
        let (a, b) = (self.cur.base_type(from), self.tgt.base_type(to));
        if a.array || b.array {
            return false;
        }
        let int =
            |t: &BaseType| matches!(t, BaseType::SmallInt | BaseType::Integer | BaseType::BigInt);
        let rank = |t: &BaseType| match t {
            BaseType::SmallInt => 1,
            BaseType::Integer => 2,
            _ => 3,
        };
        match (&a.base, &b.base) {
            (x, y) if int(x) && int(y) => rank(x) <= rank(y),
            (x, BaseType::Numeric(None)) => int(x),
            (BaseType::Text | BaseType::Varchar(_), BaseType::Text | BaseType::Varchar(None)) => {
                true
            }
            _ => false,
        }
    }

    /// Primary key or unique key `name` of `table` over target columns
    /// `cols`, the same key as the current `old` once its moved columns
    /// are swapped in: a unique index over the shadows, attached as the
    /// key by the swap that drops the old one.
    pub(super) fn move_key(
        &mut self,
        table: &QualifiedName,
        old: &Ident,
        name: &Ident,
        cols: &[Ident],
        key: Key<'_>,
    ) {
        let (kind, clause, deferrable, nulls_not_distinct) = match key {
            Key::Primary(d) => (ObjectKind::PrimaryKey, "PRIMARY KEY", d, false),
            Key::Unique(u) => (
                ObjectKind::Unique,
                "UNIQUE",
                u.deferrable,
                u.nulls_not_distinct,
            ),
        };
        let deferrable = crate::sql::postgres::deferrable_sql(deferrable);
        let build = self.helper(
            &[Space::Relation(table.schema.clone())],
            &[name.as_str()],
            "bellows_new",
            format!("the index of {name} on {table} over the new columns"),
        );
        let ix = Index::unique_on(cols, nulls_not_distinct);
        self.create_index(table, &build, &ix, name, Phase::Migrate);
        let index = Resource::index(&table.schema, &build);
        let key = clause.to_lowercase();
        if let Some(s) = self.steps.iter_mut().find(|s| s.provides.contains(&index)) {
            s.description = format!(
                "build the unique index of {key} {name} on {table} over the new columns, as {build}"
            );
        }
        let attach = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {clause} USING INDEX {}{deferrable}",
            qt(table),
            qi(name),
            qi(&build)
        );
        let moved: Vec<Ident> = cols
            .iter()
            .filter_map(|c| self.moved.get(&(table.clone(), c.clone())))
            .map(|m| m.from.clone())
            .collect();
        let gone = Resource::constraint_gone(table, old);
        let swaps: Vec<usize> = moved
            .iter()
            .filter_map(|c| {
                let r = Resource::swapped(table, c);
                self.steps.iter().position(|s| s.provides.contains(&r))
            })
            .collect();
        // Each swap drops the old key with its column (whichever runs
        // first): what must go before the key (the foreign keys tied to
        // it) goes before each.
        for &i in &swaps {
            self.steps[i].provides.push(gone.clone());
        }
        if let [only] = swaps[..] {
            // One swap: the key comes back in its transaction.
            let s = &mut self.steps[only];
            s.statements.push(attach);
            s.description = format!("{}; {key} {name} moves to the new column", s.description);
            s.requires.push(index);
            s.provides.push(Resource::constraint(table, name));
            return;
        }
        // Several columns of the key swapped one by one: the key comes
        // back after the last (its unique index holds throughout).
        let mut step = new_step(
            kind,
            format!("{table}.{name}"),
            Action::Attach,
            Phase::Contract,
            format!("attach {key} {name} to {table} using its index over the new columns"),
        )
        .sql(attach)
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(index)
        .requires(gone)
        .provides(Resource::constraint(table, name));
        for c in &moved {
            step = step.requires(Resource::swapped(table, c));
        }
        self.push(step);
    }

    /// The foreign keys the target keeps whose columns (on either side)
    /// move to shadows: each is added again over the shadows and switched
    /// in contract. Runs once every table's keys are planned, so the
    /// unique indexes over the shadows it references are known.
    pub(super) fn switch_moved_foreign_keys(&mut self) {
        let (cur, tgt) = (self.cur, self.tgt);
        for (t, table) in &tgt.tables {
            for (name, n) in &table.foreign_keys {
                if !self.fk_moves(t, n) {
                    continue;
                }
                // Under its name, or the one it is renamed from.
                let Some(old) = cur.tables.get(t).and_then(|c| {
                    [Some(name), n.renamed_from.as_ref()]
                        .into_iter()
                        .flatten()
                        .find(|f| c.foreign_keys.contains_key(*f))
                }) else {
                    // A new foreign key: added after the swaps.
                    continue;
                };
                self.switch_foreign_key(t, old, name, n);
            }
        }
    }

    /// Foreign key `old` of `table` switched to `name`, as `n` over the
    /// shadows.
    fn switch_foreign_key(
        &mut self,
        table: &QualifiedName,
        old: &Ident,
        name: &Ident,
        n: &ForeignKey,
    ) {
        let tmp = self.helper(
            &[Space::Constraint(table.clone())],
            &[name.as_str()],
            "bellows_new",
            format!("foreign key {name} on {table} over the new columns"),
        );
        let mut fk = n.clone();
        fk.columns = self.shadow_cols(table, &n.columns);
        fk.ref_columns = self.shadow_cols(&n.ref_table, &n.ref_columns);
        let mut add = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{tmp}"),
            Action::Create,
            Phase::Migrate,
            format!(
                "add foreign key {name} on {table} → {} over the new columns, as {tmp} (NOT VALID: new writes only)",
                n.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(table),
            qi(&tmp),
            foreign_key_def(&fk)
        ))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .gives_way()
        .requires(Resource::table(table))
        .requires(Resource::table(&n.ref_table))
        .provides(Resource::constraint(table, &tmp))
        .undo_with(undo_add_constraint(table, &tmp));
        // Each row's shadows are filled before it is checked: the rows
        // it references have theirs (a write would fail on a NULL
        // there), and its own are filled without a check per row.
        let sides = [
            (table, &n.columns, &fk.columns),
            (&n.ref_table, &n.ref_columns, &fk.ref_columns),
        ];
        for (t, target, shadow) in sides {
            for (c, s) in target.iter().zip(shadow) {
                add = add.requires(Resource::column(t, s));
                if self.moved.contains_key(&(t.clone(), c.clone())) {
                    add = add.requires(Resource::filled(t, s));
                }
            }
        }
        // The unique index over the referenced shadows. A key is recorded by the target's columns; a unique index
        // rebuilt on the shadow, by the shadow's.
        if self.moves_any(&n.ref_table, &n.ref_columns) {
            let by = |cols: &[Ident]| (n.ref_table.clone(), cols.iter().cloned().collect());
            let keys: BTreeSet<(QualifiedName, BTreeSet<Ident>)> =
                [by(&n.ref_columns), by(&fk.ref_columns)].into();
            let found: Vec<Resource> = keys
                .iter()
                .filter_map(|k| self.key_indexes.get(k))
                .flatten()
                .cloned()
                .collect();
            if found.is_empty() {
                return self.error(PlanError::Unsupported {
                        object: format!("{table}.{name}"),
                        what: format!(
                            "moving foreign key {name} to the new columns of {}: the target has no primary key, unique constraint or unique index over ({}) there",
                            n.ref_table,
                            n.ref_columns
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        hint: "declare the referenced columns' key as a primary key or unique constraint".into(),
                    });
            }
            add = add.requires_all(found);
        }
        self.push(add);
        let mut switch = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{name}"),
            Action::Swap,
            Phase::Contract,
            format!(
                "switch foreign key {name} on {table} to the new columns: drop {}, give {tmp} its name (catalog changes on {table} and {}, in one transaction)",
                if old == name { "its old definition".to_string() } else { format!("{old}, which it is renamed from") },
                n.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(old)
        ))
        .sql(format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            qt(table),
            qi(&tmp),
            qi(name)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .gives_way()
        .requires(Resource::constraint(table, &tmp))
        .removes(Resource::constraint(table, &tmp))
        .provides(Resource::constraint_gone(table, old))
        .provides(Resource::constraint(table, name));
        if !n.not_valid.0 {
            switch = switch.requires(Resource::validated(table, &tmp));
            let fails = format!("fails if a row of {table} has no match in {}", n.ref_table);
            let mut v = validate_step(ObjectKind::ForeignKey, table, &tmp, Phase::Migrate, fails)
                .provides(Resource::validated(table, &tmp));
            for (c, s) in n.columns.iter().zip(&fk.columns) {
                if self.moved.contains_key(&(table.clone(), c.clone())) {
                    v = v.requires(Resource::filled(table, s));
                }
            }
            self.push(v);
        }
        self.push(switch);
    }
}

#[cfg(test)]
mod tests;
