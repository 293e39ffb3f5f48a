//! Columns: add. A column is added as a catalog change wherever
//! PostgreSQL allows; a value it needs for existing rows comes from a
//! default or a batched backfill, never from a table rewrite.

use super::expr::is_constant;
use super::sync::Sync;
use super::*;
use crate::sql::postgres::{column_def, mentions};

impl Planner<'_> {
    /// ADD COLUMN takes ACCESS EXCLUSIVE but only changes the catalog when
    /// the column is nullable or its default is a constant (PostgreSQL 11+
    /// stores it once). A volatile default would rewrite the table, and a
    /// NOT NULL column without a constant default cannot be added at all
    /// while old rows exist: those go nullable, are backfilled in migrate,
    /// and become NOT NULL in contract.
    pub(super) fn add_column(&mut self, table: &QualifiedName, c: &Column) {
        let cn = col_name(table, &c.name);
        let constant = c.default.as_deref().is_none_or(is_constant);
        let fast = constant && c.backfill.is_none() && (c.nullable || c.default.is_some());
        let mut reqs = self.type_requirements(&c.ty);
        reqs.extend(self.collation_of(c));
        if let Some(seq) = c.default.as_deref().and_then(|d| self.sequence_in(d)) {
            reqs.push(Resource::Sequence(seq));
        }
        // Asked only for such a column: the answer is confirmed with the
        // server when the plan depends on it.
        if (c.identity.is_some() || c.generated.is_some())
            && self.empty_tables.contains(&self.cur_name(table))
        {
            let what = format!("add column {cn} (its table is empty)");
            return self.add_in_one_step(table, c, reqs, what);
        }
        if c.identity.is_some() {
            return self.error(PlanError::Unsupported {
                object: cn,
                what: "adding an identity column to an existing table (PostgreSQL rewrites the table)".into(),
                hint: "add a bigint column with a sequence default and `backfill: nextval(...)` instead".into(),
            });
        }
        if c.generated.is_some() {
            return self.error(PlanError::Unsupported {
                object: cn,
                what: "adding a stored generated column to an existing table (PostgreSQL rewrites the table)".into(),
                hint: "add a plain column with a `backfill:` expression and keep it current from the application".into(),
            });
        }
        if fast {
            return self.add_in_one_step(table, c, reqs, format!("add column {cn}"));
        }
        let Some(expr) = c.backfill.as_deref().or(c.default.as_deref()) else {
            if self.empty_tables.contains(&self.cur_name(table)) {
                return self.add_not_null_to_empty(table, c, reqs);
            }
            return self.error(PlanError::MissingBackfill {
                table: table.to_string(),
                column: cn,
            });
        };
        // A backfill of a parent would fill its children's rows through
        // it, but the trigger that keeps new rows filled is the parent's.
        if self.refused_in_inheritance(table, &format!("adding {cn} with a backfill")) {
            return;
        }
        let Some(key) = self.backfill_key(table, format!("adding {cn}")) else {
            return;
        };
        let mut plain = c.clone();
        plain.nullable = true;
        plain.default = None;
        let mut step = new_step(
            ObjectKind::Column,
            cn.clone(),
            Action::Create,
            Phase::Expand,
            format!("add column {cn} (nullable until its rows are filled)"),
        )
        .sql(format!(
            "ALTER TABLE {} ADD COLUMN {}",
            qt(table),
            column_def(&plain)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::table(table))
        .provides(Resource::column(table, &c.name))
        .undo_with(undo_add_column(table, &c.name));
        for r in reqs {
            step = step.requires(r);
        }
        // SET DEFAULT affects only future rows: a catalog change, never a rewrite.
        if let Some(d) = &c.default {
            step = step.sql(format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d}",
                qt(table),
                qi(&c.name)
            ));
        }
        self.push(step);
        if c.default.is_none() {
            // Rows the old app inserts meanwhile get the value too.
            self.sync_trigger(
                table,
                Sync::FillNull {
                    dst: &c.name,
                    expr,
                    on_update: false,
                },
                None,
            );
        }
        self.backfill(table, &key, &c.name, expr, true, true);
        if !c.nullable {
            self.set_not_null(table, &c.name, Some(Resource::filled(table, &c.name)));
        }
        self.column_comment(table, c, None);
    }

    /// The one ADD COLUMN in expand, a catalog change, after what the
    /// column needs (`reqs`: its type, collation, sequence) and the
    /// columns a generated expression reads. Also how an identity or
    /// stored generated column is added to a table that had no rows when
    /// planned: on one with rows PostgreSQL would fill every row under
    /// ACCESS EXCLUSIVE, a rewrite expand never does (refused above).
    fn add_in_one_step(
        &mut self,
        table: &QualifiedName,
        c: &Column,
        mut reqs: Vec<Resource>,
        description: String,
    ) {
        let cn = col_name(table, &c.name);
        if let Some(g) = &c.generated {
            // The expression reads the table's other columns as the
            // target has them.
            for other in self.tgt.table_columns(table) {
                if other.name != c.name && mentions(g, other.name.as_str()) {
                    reqs.push(Resource::column(table, &other.name));
                }
            }
        }
        let mut step = new_step(
            ObjectKind::Column,
            cn,
            Action::Create,
            Phase::Expand,
            description,
        )
        .sql(format!(
            "ALTER TABLE {} ADD COLUMN {}",
            qt(table),
            column_def(c)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::table(table))
        .requires_all(reqs)
        .provides(Resource::column(table, &c.name))
        .undo_with(undo_add_column(table, &c.name));
        if !c.nullable {
            step = step.provides(Resource::not_null(table, &c.name));
        }
        self.push(step);
        self.column_comment(table, c, None);
    }

    /// A NOT NULL column without a value for existing rows, on a table
    /// that had none when planned: the plain ADD COLUMN, a catalog change
    /// plus a scan of nothing. If rows appear before it runs it fails,
    /// and its transaction changes nothing. The old app's inserts do not
    /// name the column, so they fail from then on: as with a new check,
    /// that is the price of the rule.
    fn add_not_null_to_empty(&mut self, table: &QualifiedName, c: &Column, reqs: Vec<Resource>) {
        let cn = col_name(table, &c.name);
        let step = new_step(
            ObjectKind::Column,
            cn.clone(),
            Action::Create,
            Phase::Expand,
            format!("add column {cn} NOT NULL ({table} has no rows)"),
        )
        .sql(format!(
            "ALTER TABLE {} ADD COLUMN {}",
            qt(table),
            column_def(c)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::MayFail,
            format!("fails, changing nothing, if {table} has rows by then (it had none when planned)"),
        )
        .hazard(
            HazardKind::OldAppVisible,
            format!("from now on, inserts into {table} that give no value for {} fail, the old app's included", c.name),
        )
        .requires(Resource::table(table))
        .requires_all(reqs)
        .provides(Resource::column(table, &c.name))
        .provides(Resource::not_null(table, &c.name))
        .undo_with(undo_add_column(table, &c.name));
        self.push(step);
        self.column_comment(table, c, None);
    }
}

/// Abort drops a column the migration added (unless something that is
/// not the migration's now uses it; see apply's abort).
pub(super) fn undo_add_column(table: &QualifiedName, column: &Ident) -> Vec<Step> {
    let cn = col_name(table, column);
    vec![
        undo_step(ObjectKind::Column, cn.clone(), format!("drop column {cn}"))
            .sql(format!(
                "ALTER TABLE {} DROP COLUMN IF EXISTS {}",
                qt(table),
                qi(column)
            ))
            .removes(Resource::column(table, column)),
    ]
}
