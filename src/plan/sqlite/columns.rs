//! A table's columns on SQLite: renamed, added (in place or loose, to be
//! filled in migrate and made as the target has them by the rebuild),
//! and dropped in place where nothing else names them.

use super::ddl::{self, qi, qt};
use super::{Planner, mentions, undo, write_step};
use crate::model::{Column, Ident, QualifiedName, Table};
use crate::plan::LockLevel;
use crate::plan::build::new_step;
use crate::plan::step::*;

/// The key a backfill of a table with a rowid goes by.
pub const ROWID: &str = "rowid";

impl Planner<'_> {
    pub(super) fn rename_column(&mut self, table: &QualifiedName, from: &Ident, to: &Ident) {
        let table_s = table.unqualified();
        // SQLite renames it in the views and triggers that name it too.
        self.steps.push(
            write_step(
                ObjectKind::Column,
                format!("{table_s}.{to}"),
                Action::Rename,
                Phase::Expand,
                format!("rename column {from} of {table_s} to {to}"),
            )
            .sql(format!("ALTER TABLE {} RENAME COLUMN {} TO {}", qt(table), qi(from.as_str()), qi(to.as_str())))
            .hazard(
                HazardKind::OldAppVisible,
                format!("SQLite cannot keep both names: statements that name {from} fail from expand on; deploy the app that names {to} with this phase"),
            )
            .requires(Resource::table(table))
            .provides(Resource::column(table, to))
            .undo_with(vec![
                undo(ObjectKind::Column, format!("{table_s}.{to}"), format!("give column {to} of {table_s} its old name {from} back"))
                    .sql(format!("ALTER TABLE {} RENAME COLUMN {} TO {}", qt(table), qi(to.as_str()), qi(from.as_str()))),
            ]),
        );
    }

    /// `loose`: as a nullable column with no default, which the rebuild
    /// makes as the target has it.
    pub(super) fn add_column(&mut self, table: &QualifiedName, t: &Table, c: &Column, loose: bool) {
        let table_s = table.unqualified();
        let def = if loose {
            format!("{} {}", qi(c.name.as_str()), c.ty)
        } else {
            ddl::column_sql(table, t, c)
        };
        let sql = format!("ALTER TABLE {} ADD COLUMN {def}", qt(table));
        let what = if loose {
            ", nullable until contract"
        } else {
            ""
        };
        self.steps.push(
            write_step(
                ObjectKind::Column,
                format!("{table_s}.{}", c.name),
                Action::Create,
                Phase::Expand,
                format!("add column {} to {table_s}{what}", c.name),
            )
            .sql(sql)
            .requires(Resource::table(table))
            .provides(Resource::column(table, &c.name))
            .undo_with(vec![
                undo(
                    ObjectKind::Column,
                    format!("{table_s}.{}", c.name),
                    format!("drop column {} of {table_s}", c.name),
                )
                .sql(format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    qt(table),
                    qi(c.name.as_str())
                )),
            ]),
        );
    }

    /// Fills a loose column in batches by rowid.
    /// By rowid batches; a WITHOUT ROWID table has none, and is filled
    /// in one statement (keyed by its primary key).
    pub(super) fn backfill(&mut self, table: &QualifiedName, t: &Table, c: &Column, expr: &str) {
        let table_s = table.unqualified();
        let key = match (&t.primary_key, t.without_rowid) {
            (Some(pk), true) => pk.columns.clone(),
            _ => vec![Ident::new(ROWID).expect("a plain name")],
        };
        let mut step = new_step(
            ObjectKind::Column,
            format!("{table_s}.{}", c.name),
            Action::Backfill,
            Phase::Migrate,
            format!("backfill {table_s}.{} with {expr}", c.name),
        )
        .lock(LockLevel::DatabaseWrite, Cost::Batched)
        .requires(Resource::column(table, &c.name))
        .provides(Resource::filled(table, &c.name))
        // The values go with the column, which the add's undo drops.
        .undo_nothing();
        step.backfill = Some(Backfill {
            table: table.clone(),
            key,
            column: c.name.clone(),
            expression: expr.to_string(),
            only_null: true,
            also: Vec::new(),
            copy: None,
        });
        self.steps.push(step);
    }

    /// Contract: `ALTER TABLE … DROP COLUMN`, after the indexes on it go.
    pub(super) fn drop_column(&mut self, table: &QualifiedName, old: &Table, c: &Column) {
        let table_s = table.unqualified();
        self.guard_triggers(
            table,
            &[&c.name],
            format!("dropping column {} of {table_s}", c.name),
        );
        let step = write_step(
            ObjectKind::Column,
            format!("{table_s}.{}", c.name),
            Action::Drop,
            Phase::Contract,
            format!("drop column {} of {table_s}", c.name),
        )
        .lock(LockLevel::DatabaseWrite, Cost::Rewrite);
        // SQLite checks the views after the drop: those over the table
        // are dropped first and made again, as the target has them.
        let views = self.views_around(table);
        let mut step = step
            .sql_all(views.drops)
            .sql(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                qt(table),
                qi(c.name.as_str())
            ))
            .sql_all(views.creates)
            .hazard(
                HazardKind::DataLoss,
                format!("drops column {} of {table_s} and its values", c.name),
            )
            .removes(Resource::column(table, &c.name));
        for (n, ix) in &old.indexes {
            let named = ix.keys.iter().any(|k| match &k.target {
                crate::model::KeyTarget::Column(x) => x == &c.name,
                crate::model::KeyTarget::Expression(e) => mentions(e, &c.name),
            }) || ix
                .predicate
                .as_deref()
                .is_some_and(|p| mentions(p, &c.name));
            if named {
                step = step.requires(Resource::index_gone(&table.schema, n));
            }
        }
        self.steps.push(step);
    }
}
