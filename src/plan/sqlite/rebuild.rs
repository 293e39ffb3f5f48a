//! SQLite's table rebuild (its documentation's twelve steps, in the
//! order that keeps foreign keys whole): with foreign keys off, in one
//! write transaction, the target's table is made under a temporary name,
//! the rows copied (a renamed column from its live name, a loose new
//! column filled where it is still NULL, a dropped one left behind), the
//! live table dropped, the new one renamed and its indexes made; then
//! `PRAGMA foreign_key_check` must find no row that breaks a foreign key
//! before the transaction commits (apply rolls back and names the rows
//! if it does). Foreign keys of other tables name the table by its name,
//! so they hold on to the new one.

use std::collections::BTreeMap;

use super::ddl::{self, qi, qt};
use super::write_step;
use crate::model::{Column, Ident, QualifiedName, Table};
use crate::plan::LockLevel;
use crate::plan::step::*;

/// A column expand adds, which the rebuild copies.
pub(super) struct Added<'c> {
    pub column: &'c Column,
    /// Added loose (nullable, no default): the rebuild makes it as the
    /// target has it.
    pub loose: bool,
    /// What fills it where it is still NULL.
    pub fill: Option<String>,
}

/// The statement that ends the check: apply fails the step on any row
/// it returns.
pub const FOREIGN_KEY_CHECK: &str = "PRAGMA foreign_key_check";

/// A table to rebuild: the live and the target shape, and what the plan
/// knows of the change.
pub(super) struct Rebuild<'r> {
    pub name: &'r QualifiedName,
    pub old: &'r Table,
    pub new: &'r Table,
    /// Target column → its live column.
    pub live_of: &'r BTreeMap<&'r Ident, &'r Column>,
    pub added: &'r [Added<'r>],
    pub dropped: &'r [&'r Column],
    /// What only a rebuild changes, in words.
    pub changes: Vec<String>,
    pub views: super::views::Around,
    /// The file's triggers on the table or naming it: name and text.
    pub triggers: Vec<(Ident, String)>,
}

pub(super) fn step(r: Rebuild<'_>) -> Step {
    let Rebuild {
        name,
        old,
        new,
        live_of,
        added,
        dropped,
        changes,
        views,
        triggers,
    } = r;
    let name_s = name.unqualified();
    let temp = format!("{}_bellows_new", name.name);
    let mut into = Vec::new();
    let mut from = Vec::new();
    for c in &new.columns {
        if c.generated.is_some() {
            continue;
        }
        // A renamed column has its new name by now (expand renamed it); a
        // retyped one with a `backfill:` takes its value from it; a column
        // made NOT NULL with a `backfill:` was filled in migrate, and rows
        // written NULL since get it here.
        let source = if let Some(live) = live_of.get(&c.name) {
            match &c.backfill {
                Some(expr) if live.ty != c.ty => format!("({expr})"),
                Some(expr) if live.nullable && !c.nullable => {
                    format!("coalesce({}, {expr})", qi(c.name.as_str()))
                }
                _ => qi(c.name.as_str()),
            }
        } else if let Some(a) = added.iter().find(|a| a.column.name == c.name) {
            match &a.fill {
                Some(expr) => format!("coalesce({}, {expr})", qi(c.name.as_str())),
                None => qi(c.name.as_str()),
            }
        } else {
            // A column the rebuild adds (generated ones aside): its
            // default, or NULL.
            continue;
        };
        into.push(qi(c.name.as_str()));
        from.push(source);
    }
    let mut statements = vec![
        "PRAGMA foreign_keys = OFF".to_string(),
        "BEGIN IMMEDIATE".to_string(),
    ];
    // SQLite checks the views when the new table is renamed: those over
    // this one go first and are made again last.
    statements.extend(views.drops);
    statements.extend(
        triggers
            .iter()
            .map(|(n, _)| format!("DROP TRIGGER IF EXISTS {}", qi(n.as_str()))),
    );
    statements.extend([
        ddl::create_table_sql(name, &temp, new),
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            qi(&temp),
            into.join(", "),
            from.join(", "),
            qt(name)
        ),
        format!("DROP TABLE {}", qt(name)),
        format!("ALTER TABLE {} RENAME TO {}", qi(&temp), qt(name)),
    ]);
    for (n, ix) in &new.indexes {
        statements.push(ddl::create_index_sql(name.name.as_str(), n, ix));
    }
    statements.extend(views.creates);
    statements.extend(triggers.into_iter().map(|(_, sql)| sql));
    statements.push(FOREIGN_KEY_CHECK.to_string());
    statements.push("COMMIT".to_string());
    statements.push("PRAGMA foreign_keys = ON".to_string());

    let mut why: Vec<String> = changes;
    for c in dropped {
        why.push(format!("drops column {}", c.name));
    }
    for a in added.iter().filter(|a| a.loose) {
        why.push(format!(
            "makes new column {} as the target has it",
            a.column.name
        ));
    }
    if why.is_empty() {
        why.push("changes what ALTER TABLE cannot".to_string());
    }
    let mut step = write_step(
        ObjectKind::Table,
        name_s.to_string(),
        Action::Swap,
        Phase::Contract,
        format!("rebuild table {name_s}: {}", why.join(", ")),
    )
    .lock(LockLevel::DatabaseWrite, Cost::Rewrite)
    .sql_all(statements)
    .outside_transaction()
    .hazard(
        HazardKind::TableRewrite,
        format!("SQLite cannot make this change in place: {name_s} is copied into a new table in one transaction, and writers wait until it commits"),
    )
    .hazard(
        HazardKind::MayFail,
        "rows that break a new NOT NULL, CHECK, key or foreign key make the rebuild fail; nothing changes then".to_string(),
    )
    .requires(Resource::table(name));
    if !dropped.is_empty() {
        step = step.hazard(
            HazardKind::DataLoss,
            format!(
                "the values of {} are not copied",
                dropped
                    .iter()
                    .map(|c| c.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    for c in new
        .columns
        .iter()
        .filter(|c| c.backfill.is_some() && !c.nullable)
    {
        if live_of
            .get(&c.name)
            .is_some_and(|l| l.nullable && l.ty == c.ty)
        {
            step = step.requires(Resource::filled(name, &c.name));
        }
    }
    for a in added {
        step = step.requires(Resource::column(name, &a.column.name));
        if a.fill.is_some() {
            step = step.requires(Resource::filled(name, &a.column.name));
        }
    }
    for fk in new.foreign_keys.values() {
        if &fk.ref_table != name {
            step = step.requires(Resource::table(&fk.ref_table));
        }
    }
    for n in old.indexes.keys() {
        step = step.provides(Resource::index_gone(&name.schema, n));
    }
    step
}

impl super::Planner<'_> {
    /// A rebuild's order among the others: `PRAGMA foreign_key_check`
    /// refuses a foreign key whose parent columns are no key ("foreign
    /// key mismatch"), so a parent loses a key only after the foreign
    /// keys over it are gone, and a child gains one only after its
    /// parent has the key.
    pub(super) fn order_rebuild(
        &self,
        mut step: Step,
        name: &QualifiedName,
        old: &Table,
        new: &Table,
    ) -> Step {
        for (n, f) in &old.foreign_keys {
            if new.foreign_keys.get(n) != Some(f) {
                step = step.provides(Resource::constraint_gone(name, n));
            }
        }
        let keys = new
            .primary_key
            .iter()
            .map(|p| &p.name)
            .chain(new.uniques.keys());
        for k in keys {
            step = step.provides(Resource::constraint(name, k));
        }
        for f in new.foreign_keys.values() {
            let Some(parent) = self.tgt.tables.get(&f.ref_table) else {
                continue;
            };
            // A key the parent has already over these columns needs no wait.
            let live = self.cur.tables.get(&f.ref_table);
            let had = live.is_some_and(|l| {
                l.primary_key
                    .as_ref()
                    .is_some_and(|p| p.columns == f.ref_columns)
                    || l.uniques.values().any(|u| u.columns == f.ref_columns)
            });
            if had {
                continue;
            }
            let key = parent
                .primary_key
                .iter()
                .filter(|p| p.columns == f.ref_columns)
                .map(|p| &p.name)
                .chain(
                    parent
                        .uniques
                        .iter()
                        .filter(|(_, u)| u.columns == f.ref_columns)
                        .map(|(n, _)| n),
                );
            for k in key {
                if &f.ref_table != name {
                    step = step.requires(Resource::constraint(&f.ref_table, k));
                }
            }
        }
        for (child, t) in &self.cur.tables {
            if child == name {
                continue;
            }
            let kept = self.tgt.tables.get(child);
            for (n, f) in &t.foreign_keys {
                if &f.ref_table == name && kept.and_then(|k| k.foreign_keys.get(n)) != Some(f) {
                    step = step.requires(Resource::constraint_gone(child, n));
                }
            }
        }
        step
    }
}
