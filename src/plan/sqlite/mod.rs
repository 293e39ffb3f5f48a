//! SQLite's rules. What `ALTER TABLE` can do in place it does: new
//! tables, columns SQLite can add (nullable, or NOT NULL with a constant
//! default), renames, and drops of columns nothing else names; indexes
//! are made and dropped on their own. Everything else (a type, a NOT
//! NULL, a default, a key, a check or a foreign key that changes) goes
//! through SQLite's documented table rebuild (`rebuild.rs`) in contract:
//! the target's table made beside, the rows copied, the old one dropped
//! and the new one renamed, in one transaction with foreign keys checked
//! before it commits. A new column the rebuild makes NOT NULL (or gives a
//! default SQLite cannot add) is added loose in expand and filled in
//! migrate, so the new app can write it from expand on.
//!
//! The phases keep their meaning: expand adds, migrate fills, contract
//! drops and rebuilds. Kinds SQLite does not have (schemas, enums,
//! sequences, …) and those bellows does not plan for it yet (views,
//! triggers) are refused with what to write instead (`refuse.rs`).

mod columns;
mod compare;
mod ddl;
mod rebuild;
mod refuse;
mod triggers;
mod views;

use std::collections::{BTreeMap, BTreeSet};

use super::LockLevel;
use super::PlanError;
use super::build::new_step;
use super::step::*;
use crate::model::{Column, Ident, Index, QualifiedName, Schema, Table};
pub use columns::ROWID;
pub(super) use compare::as_stored;
use compare::{changed_keys, mentions, with_renames, without_key_hints};
use ddl::{qi, qt};
pub use rebuild::FOREIGN_KEY_CHECK;

pub(super) fn steps(
    current: &Schema,
    target: &Schema,
    opts: &super::PlanOptions,
) -> Result<Vec<Step>, Vec<PlanError>> {
    let mut errors = Vec::new();
    refuse::unsupported(target, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let keys_plain = without_key_hints(target);
    let target = &keys_plain;
    let mut p = Planner {
        cur: current,
        tgt: target,
        opts,
        steps: Vec::new(),
        errors,
    };
    let mut kept: BTreeSet<&QualifiedName> = BTreeSet::new();
    for (name, t) in &target.tables {
        let from = if current.tables.contains_key(name) {
            Some(name)
        } else {
            t.renamed_from
                .as_ref()
                .filter(|o| current.tables.contains_key(*o) && !target.tables.contains_key(*o))
        };
        match from {
            Some(old_name) => {
                kept.insert(old_name);
                if old_name != name {
                    p.rename_table(old_name, name);
                }
                p.alter_table(old_name, &current.tables[old_name], name, t);
            }
            None => p.create_table(name, t),
        }
    }
    p.plan_views();
    for (name, t) in &current.tables {
        if !kept.contains(name) {
            p.drop_table(name, t);
        }
    }
    if p.errors.is_empty() {
        Ok(p.steps)
    } else {
        Err(p.errors)
    }
}

struct Planner<'a> {
    cur: &'a Schema,
    tgt: &'a Schema,
    opts: &'a super::PlanOptions,
    steps: Vec<Step>,
    errors: Vec<PlanError>,
}

/// A catalog change on SQLite: its own short write transaction.
fn write_step(
    kind: ObjectKind,
    object: impl Into<String>,
    action: Action,
    phase: Phase,
    description: impl Into<String>,
) -> Step {
    new_step(kind, object, action, phase, description)
        .lock(LockLevel::DatabaseWrite, Cost::Metadata)
}

fn undo(kind: ObjectKind, object: impl Into<String>, description: impl Into<String>) -> Step {
    write_step(kind, object, Action::Undo, Phase::Expand, description)
}

impl<'a> Planner<'a> {
    fn create_table(&mut self, name: &QualifiedName, t: &Table) {
        let name_s = name.unqualified();
        self.name_free(name, format!("new table {name_s}"));
        let mut step = write_step(
            ObjectKind::Table,
            name_s.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create table {name_s}"),
        )
        .sql(ddl::create_table_sql(name, name.name.as_str(), t))
        .provides(Resource::table(name))
        .undo_with(vec![
            undo(
                ObjectKind::Table,
                name_s.to_string(),
                format!("drop table {name_s}"),
            )
            .sql(format!("DROP TABLE IF EXISTS {}", qt(name)))
            .removes(Resource::table(name)),
        ]);
        for c in &t.columns {
            step = step.provides(Resource::column(name, &c.name));
        }
        // Abort drops what it made: the table's constraints are its own.
        for n in t.constraint_names() {
            step = step.provides(Resource::constraint(name, n));
        }
        // SQLite looks for a foreign key's parent only when a row is
        // written: tables that reference each other are made in any order.
        self.steps.push(step);
        for (n, ix) in &t.indexes {
            self.create_index(name, n, ix);
        }
    }

    /// Tables and views share names, and new ones are made in expand: a
    /// name a live table or view holds until contract drops it is not
    /// free yet.
    pub(super) fn name_free(&mut self, name: &QualifiedName, what: String) {
        let holder = if self.cur.tables.contains_key(name) {
            "table"
        } else if self.cur.views.contains_key(name) {
            "view"
        } else {
            return;
        };
        let shown = name.unqualified();
        self.errors.push(PlanError::NameHeld {
            name: shown.to_string(),
            what,
            holder: format!("{holder} {shown}"),
        });
    }

    /// Contract; after the tables that reference it are dropped (a drop
    /// deletes its rows first, which their foreign keys would refuse).
    fn drop_table(&mut self, name: &QualifiedName, t: &Table) {
        let name_s = name.unqualified();
        // Its own triggers go with it; another table's that names it in
        // its body would fail on every write that fires it.
        let others: Vec<String> = self
            .triggers_around(name)
            .into_iter()
            .filter(|u| !matches!(&u.place, crate::model::Place::Table { table, .. } if table == name))
            .filter(|u| {
                !matches!(&u.place, crate::model::Place::Table { table, .. } if !self.tgt.tables.contains_key(table) && !self.tgt.tables.values().any(|t| t.renamed_from.as_ref() == Some(table)))
            })
            .map(|u| u.to_string())
            .collect();
        if !others.is_empty() {
            self.errors.push(PlanError::BreaksUnmanaged {
                change: format!("dropping table {name_s}"),
                dependents: others.join(", "),
            });
        }
        let mut step = write_step(
            ObjectKind::Table,
            name_s.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop table {name_s}"),
        )
        .sql(format!("DROP TABLE {}", qt(name)))
        .hazard(
            HazardKind::DataLoss,
            format!("drops table {name_s} and all its rows"),
        )
        .removes(Resource::table(name))
        .provides_all(
            t.foreign_keys
                .keys()
                .map(|n| Resource::constraint_gone(name, n)),
        );
        // Before its parents go, unless a parent references it too (both
        // go; the first drop finds the other's rows still there only if
        // rows reference each other, and then fails and changes nothing).
        for fk in t.foreign_keys.values() {
            let back = self
                .cur
                .tables
                .get(&fk.ref_table)
                .is_some_and(|p| p.foreign_keys.values().any(|f| &f.ref_table == name));
            if &fk.ref_table != name && !back {
                step = step.requires(Resource::table(&fk.ref_table));
            }
        }
        self.steps.push(step);
    }

    /// SQLite cannot keep both names: the old app's statements that name
    /// the old one fail from expand on.
    fn rename_table(&mut self, from: &QualifiedName, to: &QualifiedName) {
        let from_s = from.unqualified();
        let to_s = to.unqualified();
        let mut step = write_step(
            ObjectKind::Table,
            to_s.to_string(),
            Action::Rename,
            Phase::Expand,
            format!("rename table {from_s} to {to_s}"),
        )
        .sql(format!("ALTER TABLE {} RENAME TO {}", qt(from), qt(to)))
        .hazard(
            HazardKind::OldAppVisible,
            format!("SQLite has no views to keep the old name: statements that name {from_s} fail from expand on; deploy the app that names {to_s} with this phase"),
        )
        .requires(Resource::table(from))
        .provides(Resource::table(to))
        .undo_with(vec![
            undo(ObjectKind::Table, to_s.to_string(), format!("give table {to_s} its old name {from_s} back"))
                .sql(format!("ALTER TABLE {} RENAME TO {}", qt(to), qt(from))),
        ]);
        for c in &self.cur.tables[from].columns {
            step = step.provides(Resource::column(to, &c.name));
        }
        self.steps.push(step);
    }

    fn create_index(&mut self, table: &QualifiedName, name: &Ident, ix: &Index) {
        let table_s = table.unqualified();
        let mut step = write_step(
            ObjectKind::Index,
            name.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create index {name} on {table_s}"),
        )
        .lock(LockLevel::DatabaseWrite, Cost::Build)
        .sql(ddl::create_index_sql(table.name.as_str(), name, ix))
        .hazard(
            HazardKind::IndexBuild,
            format!(
                "SQLite builds index {name} in one transaction: writers wait until it is built"
            ),
        )
        .requires(Resource::table(table))
        .provides(Resource::index(&table.schema, name))
        .undo_with(vec![
            undo(
                ObjectKind::Index,
                name.to_string(),
                format!("drop index {name}"),
            )
            .sql(format!("DROP INDEX IF EXISTS {}", qi(name.as_str()))),
        ]);
        if ix.unique {
            step = step.hazard(
                HazardKind::MayFail,
                format!("rows that repeat a key of {name} make the build fail"),
            );
        }
        for c in ix.keys.iter().filter_map(|k| k.column_name()) {
            step = step.requires(Resource::column(table, c));
        }
        self.steps.push(step);
    }

    fn drop_index(&mut self, table: &QualifiedName, name: &Ident) {
        let table_s = table.unqualified();
        self.steps.push(
            write_step(
                ObjectKind::Index,
                name.to_string(),
                Action::Drop,
                Phase::Contract,
                format!("drop index {name} on {table_s}"),
            )
            .sql(format!("DROP INDEX {}", qi(name.as_str())))
            .hazard(
                HazardKind::IndexDropped,
                format!("queries that used {name} may slow down"),
            )
            .removes(Resource::index(&table.schema, name))
            .provides(Resource::index_gone(&table.schema, name)),
        );
    }

    /// A table that stays: renamed columns first, then what `ALTER TABLE`
    /// does in place, and a rebuild in contract for the rest.
    fn alter_table(
        &mut self,
        old_name: &QualifiedName,
        old: &'a Table,
        name: &QualifiedName,
        new: &'a Table,
    ) {
        let name_s = name.unqualified();
        // Target column → live column.
        let mut live_of: BTreeMap<&Ident, &Column> = BTreeMap::new();
        for c in &new.columns {
            let live = old.columns.iter().find(|o| o.name == c.name).or_else(|| {
                c.renamed_from.as_ref().and_then(|r| {
                    (!new.columns.iter().any(|x| &x.name == r))
                        .then(|| old.columns.iter().find(|o| &o.name == r))
                        .flatten()
                })
            });
            if let Some(l) = live {
                live_of.insert(&c.name, l);
            }
        }
        let kept: BTreeSet<&Ident> = live_of.values().map(|l| &l.name).collect();
        let dropped: Vec<&Column> = old
            .columns
            .iter()
            .filter(|c| !kept.contains(&c.name))
            .collect();
        for c in &new.columns {
            if let Some(l) = live_of.get(&c.name)
                && l.name != c.name
            {
                self.rename_column(name, &l.name, &c.name);
            }
        }
        let renamed: BTreeMap<&Ident, &Ident> = live_of
            .iter()
            .filter(|(n, l)| **n != &l.name)
            .map(|(n, l)| (&l.name, *n))
            .collect();
        let mut old_view = with_renames(old, &renamed);
        // A rowid key's name is not written unless it differs from the
        // default, so a renamed table's reads back as its new name's.
        if let Some(pk) = &mut old_view.primary_key {
            let implicit = ddl::rowid_column(old).is_some()
                && pk.name.as_str()
                    == crate::model::naming::primary_key_name(old_name.name.as_str());
            if implicit
                && old_name != name
                && let Ok(n) =
                    Ident::new(crate::model::naming::primary_key_name(name.name.as_str()))
            {
                pk.name = n;
            }
        }
        // What only a rebuild changes, for its description.
        let mut changes: Vec<String> = new
            .columns
            .iter()
            .filter(|c| {
                live_of.get(&c.name).is_some_and(|l| {
                    l.ty != c.ty
                        || l.nullable != c.nullable
                        || l.default != c.default
                        || l.collation != c.collation
                        || l.generated != c.generated
                        || l.identity != c.identity
                })
            })
            .map(|c| format!("changes column {}", c.name))
            .collect();
        let changed_column = !changes.is_empty();
        changes.extend(changed_keys("unique key", &old_view.uniques, &new.uniques));
        changes.extend(changed_keys("check", &old_view.checks, &new.checks));
        changes.extend(changed_keys(
            "foreign key",
            &old_view.foreign_keys,
            &new.foreign_keys,
        ));
        let keys_changed = old_view.primary_key.as_ref().map(|p| &p.columns)
            != new.primary_key.as_ref().map(|p| &p.columns)
            || old_view.primary_key.as_ref().map(|p| &p.name)
                != new.primary_key.as_ref().map(|p| &p.name);
        if keys_changed {
            changes.push("changes the primary key".to_string());
        }
        for (was, is, what) in [
            (old.strict, new.strict, "STRICT"),
            (old.without_rowid, new.without_rowid, "WITHOUT ROWID"),
        ] {
            if was != is {
                let not = if is { "" } else { "not " };
                changes.push(format!("makes it {not}{what}"));
            }
        }
        let keys_changed = keys_changed
            || old.strict != new.strict
            || old.without_rowid != new.without_rowid
            || old_view.uniques != new.uniques
            || old_view.checks != new.checks
            || old_view.foreign_keys != new.foreign_keys;
        let added: Vec<&Column> = new
            .columns
            .iter()
            .filter(|c| !live_of.contains_key(&c.name))
            .collect();
        let addable = |c: &Column| {
            c.generated.is_none()
                && c.identity.is_none()
                && c.default.as_deref().is_none_or(ddl::constant_default)
                && (c.nullable
                    || c.default
                        .as_deref()
                        .is_some_and(|d| !d.eq_ignore_ascii_case("null")))
                && !new
                    .primary_key
                    .as_ref()
                    .is_some_and(|p| p.columns.contains(&c.name))
        };
        let droppable = |c: &Column| {
            let named = |cols: &[Ident]| cols.contains(&c.name);
            !old.primary_key.as_ref().is_some_and(|p| named(&p.columns))
                && !old.uniques.values().any(|u| named(&u.columns))
                && !old.foreign_keys.values().any(|f| named(&f.columns))
                && !old
                    .checks
                    .values()
                    .any(|k| mentions(&k.expression, &c.name))
                && !old
                    .columns
                    .iter()
                    .any(|o| o.generated.as_deref().is_some_and(|g| mentions(g, &c.name)))
        };
        let rebuild = changed_column
            || keys_changed
            || added.iter().any(|c| !addable(c))
            || dropped.iter().any(|c| !droppable(c));
        let mut expanded = Vec::new();
        for c in &added {
            if addable(c) {
                self.add_column(name, new, c, false);
                expanded.push(rebuild::Added {
                    column: c,
                    loose: false,
                    fill: None,
                });
            } else if c.generated.is_none() {
                // Added loose now, made as the target has it by the rebuild.
                let fill = c.backfill.clone().or_else(|| c.default.clone());
                if fill.is_none() && !c.nullable && !self.opts.empty_tables.contains(old_name) {
                    self.errors.push(PlanError::MissingBackfill {
                        table: name_s.to_string(),
                        column: c.name.to_string(),
                    });
                    continue;
                }
                self.add_column(name, new, c, true);
                if let Some(expr) = &fill {
                    self.backfill(name, new, c, expr);
                }
                expanded.push(rebuild::Added {
                    column: c,
                    loose: true,
                    fill,
                });
            }
        }
        // A column made NOT NULL with a `backfill:` is filled in migrate,
        // before the rebuild makes it NOT NULL (a retyped one takes its
        // value from the backfill in the rebuild itself).
        for c in &new.columns {
            if let (Some(expr), Some(live)) = (&c.backfill, live_of.get(&c.name))
                && live.nullable
                && !c.nullable
                && live.ty == c.ty
            {
                self.backfill(name, new, c, expr);
            }
        }
        if rebuild {
            // The triggers around it go with the old table (or would
            // fail on its rename) and are made again word for word: not
            // when one names a column the plan drops or renames, nor when
            // the table itself is renamed (its text still names the old).
            let touched: Vec<&Ident> = dropped
                .iter()
                .map(|c| &c.name)
                .chain(renamed.keys().copied())
                .collect();
            self.guard_triggers(old_name, &touched, format!("rebuilding table {name_s}"));
            let triggers: Vec<(Ident, String)> = self
                .triggers_around(old_name)
                .into_iter()
                .filter_map(|u| match (&u.place, &u.definition) {
                    (crate::model::Place::Table { name, .. }, Some(d)) => {
                        Some((name.clone(), d.clone()))
                    }
                    _ => None,
                })
                .collect();
            if old_name != name && !triggers.is_empty() {
                self.guard_triggers(
                    old_name,
                    &[&old_name.name],
                    format!("rebuilding table {name_s}, renamed in the same plan"),
                );
            }
            let around = self.views_around(name);
            let step = rebuild::step(rebuild::Rebuild {
                name,
                old,
                new,
                live_of: &live_of,
                added: &expanded,
                dropped: &dropped,
                changes,
                views: around,
                triggers,
            });
            let step = self.order_rebuild(step, name, old, new);
            self.steps.push(step);
            return;
        }
        for (n, ix) in &old.indexes {
            match new.indexes.get(n) {
                Some(t) if t == ix => {}
                Some(_) => {
                    self.drop_index(name, n);
                    self.create_index_after_drop(name, n, &new.indexes[n]);
                }
                None => self.drop_index(name, n),
            }
        }
        for (n, ix) in &new.indexes {
            if !old.indexes.contains_key(n) {
                self.create_index(name, n, ix);
            }
        }
        for c in dropped {
            self.drop_column(name, old, c);
        }
    }

    /// An index whose definition changes: built again in contract, after
    /// the old one is dropped.
    fn create_index_after_drop(&mut self, table: &QualifiedName, name: &Ident, ix: &Index) {
        self.create_index(table, name, ix);
        if let Some(s) = self.steps.last_mut() {
            s.phase = Phase::Contract;
            s.undo = None;
            s.id.action = Action::Replace;
            s.requires.push(Resource::index_gone(&table.schema, name));
            s.provides.clear();
        }
    }
}
