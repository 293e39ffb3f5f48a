//! The moving parts of column changes: sync triggers that keep an old and
//! a new column in step while both app versions run, batched backfills,
//! and the NOT NULL route that never scans under an exclusive lock.

use super::paging::Paging;
use super::*;
use crate::sql::postgres::BackfillSql;

const ROW: &str = "bellows_row";

/// How a sync trigger keeps a destination column in step.
pub(super) enum Sync<'a> {
    /// Fill `dst` from `expr` (over the row's columns) when it is NULL:
    /// in rows inserted, and with `on_update` in rows updated too (an
    /// existing column the old app may still set to NULL). A new column
    /// no app version sets to NULL needs no trigger on UPDATE: a row
    /// updated before the backfill reaches it is filled by the backfill,
    /// which then pays no trigger call per row.
    FillNull {
        dst: &'a Ident,
        expr: &'a str,
        on_update: bool,
    },
    /// `dst` follows `src` through `forward`; with `reverse`, writes to
    /// `dst` flow back to `src` too (a rename: each app writes its own name).
    Copy {
        src: &'a Ident,
        dst: &'a Ident,
        forward: String,
        reverse: Option<String>,
    },
}

fn eval_into(target: &str, expr: &str) -> String {
    format!("SELECT ({expr}) INTO {target} FROM (SELECT NEW.*) AS {ROW};")
}

/// The statement each batch of `fill` runs, with the batch's bounds as
/// parameters: $1.. the last key done, then the batch's last key (or the
/// first page and the page after the batch).
pub(super) fn batch_statement(fill: &Backfill) -> String {
    let n = fill.key.len();
    let lower: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    let upper: Vec<String> = (n + 1..=2 * n).map(|i| format!("${i}")).collect();
    if fill.by_position() {
        BackfillSql::new(fill).update_pages("$1", Some("$2"))
    } else {
        BackfillSql::new(fill).update(Some(&lower), &upper)
    }
}

impl Planner<'_> {
    /// CREATE TRIGGER takes SHARE ROW EXCLUSIVE on the table, briefly: a
    /// catalog change. The function evaluates expressions against the new
    /// row (`SELECT (expr) FROM (SELECT NEW.*)`), so they are written with
    /// plain column names, as in `backfill:`.
    /// Returns the statements that remove the trigger again. With `after`,
    /// its own drop step waits for that resource: the caller has folded
    /// those statements into a step of its own (the swap), so that no
    /// write lands between the trigger's removal and the old column's.
    pub(super) fn sync_trigger(
        &mut self,
        table: &QualifiedName,
        sync: Sync<'_>,
        after: Option<Resource>,
    ) -> Vec<String> {
        // A fill-on-NULL trigger only needs to run when the value is
        // missing: the WHEN clause spares the function call on every row
        // the backfill (or the new app) already sets.
        let when = match &sync {
            Sync::FillNull { dst, .. } => format!(" WHEN (NEW.{} IS NULL)", qi(dst)),
            Sync::Copy { .. } => String::new(),
        };
        // The statements that fire it. A one-way copy only has work when
        // the source is written (`UPDATE OF`): the backfill, which writes
        // the destination, does not fire it, nor do updates of other
        // columns (rows the backfill has not reached yet, it fills).
        let events = match &sync {
            Sync::FillNull {
                on_update: false, ..
            } => "INSERT".to_string(),
            Sync::FillNull { .. } => "INSERT OR UPDATE".to_string(),
            Sync::Copy {
                src, reverse: None, ..
            } => format!("INSERT OR UPDATE OF {}", qi(src)),
            Sync::Copy { .. } => "INSERT OR UPDATE".to_string(),
        };
        let (dst, body, requires) = match &sync {
            Sync::FillNull { dst, expr, .. } => (
                *dst,
                format!(
                    "IF NEW.{d} IS NULL THEN {} END IF;",
                    eval_into(&format!("NEW.{d}", d = qi(dst)), expr),
                    d = qi(dst)
                ),
                vec![Resource::column(table, dst)],
            ),
            Sync::Copy {
                src,
                dst,
                forward,
                reverse,
            } => {
                let (s, d) = (qi(src), qi(dst));
                let fwd = eval_into(&format!("NEW.{d}"), forward);
                let body = match reverse {
                    None => format!(
                        "IF TG_OP = 'INSERT' OR NEW.{s} IS DISTINCT FROM OLD.{s} OR NEW.{d} IS NULL THEN {fwd} END IF;"
                    ),
                    Some(rev) => {
                        let back = eval_into(&format!("NEW.{s}"), rev);
                        format!(
                            "IF TG_OP = 'INSERT' THEN IF NEW.{d} IS NULL THEN {fwd} ELSIF NEW.{s} IS NULL THEN {back} END IF; \
                             ELSIF NEW.{d} IS DISTINCT FROM OLD.{d} THEN {back} \
                             ELSIF NEW.{s} IS DISTINCT FROM OLD.{s} THEN {fwd} END IF;"
                        )
                    }
                };
                (
                    *dst,
                    body,
                    vec![Resource::column(table, src), Resource::column(table, dst)],
                )
            }
        };
        // The trigger (per table) and its function (per schema) share a name.
        let name = self.helper(
            &[
                Space::Trigger(table.clone()),
                Space::Function(table.schema.clone()),
            ],
            &[table.name.as_str(), dst.as_str()],
            "bellows_sync",
            format!("the sync trigger of {}", col_name(table, dst)),
        );
        let function = QualifiedName::new(table.schema.clone(), name.clone());
        let statements = vec![
            format!("DROP TRIGGER IF EXISTS {} ON {}", qi(&name), qt(table)),
            format!("DROP FUNCTION IF EXISTS {}()", qt(&function)),
        ];
        let mut undo = undo_step(
            ObjectKind::SyncTrigger,
            col_name(table, dst),
            format!("drop the sync trigger of {}", col_name(table, dst)),
        )
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .removes(Resource::Trigger(function.clone()));
        for s in &statements {
            undo = undo.sql(s.clone());
        }
        let mut step = new_step(ObjectKind::SyncTrigger, col_name(table, dst), Action::Create, Phase::Expand, format!("keep {} in sync while old and new app versions write", col_name(table, dst)))
            .sql(format!(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN {body} RETURN NEW; END $bellows$",
                qt(&function)
            ))
            .sql(format!(
                "CREATE TRIGGER {} BEFORE {events} ON {} FOR EACH ROW{when} EXECUTE FUNCTION {}()",
                qi(&name),
                qt(table),
                qt(&function)
            ))
            .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
            .provides(Resource::Trigger(function.clone()))
            .undo_with(vec![undo]);
        for r in requires.iter().cloned() {
            step = step.requires(r);
        }
        self.push(step);
        if after.is_some() {
            // Folded into the caller's step.
            return statements;
        }
        let mut drop = new_step(
            ObjectKind::SyncTrigger,
            col_name(table, dst),
            Action::Drop,
            Phase::Contract,
            format!("drop the sync trigger of {}", col_name(table, dst)),
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .removes(Resource::Trigger(function.clone()));
        for s in &statements {
            drop = drop.sql(s.clone());
        }
        // It goes before any column it reads is dropped.
        for r in requires {
            drop = drop.requires(r);
        }
        self.push(drop);
        statements
    }

    /// Batched UPDATE by key or page range, each batch its own short transaction
    /// holding row locks on that batch only: never one long UPDATE. A
    /// `new_column` goes away on abort with what was filled into it; an
    /// existing one keeps the values.
    pub(super) fn backfill(
        &mut self,
        table: &QualifiedName,
        paging: &Paging,
        column: &Ident,
        expr: &str,
        only_null: bool,
        new_column: bool,
    ) {
        let key = &paging.key;
        let mut step = new_step(
            ObjectKind::Column,
            col_name(table, column),
            Action::Backfill,
            Phase::Migrate,
            format!(
                "backfill {} = {expr}, in batches {}",
                col_name(table, column),
                paging.how
            ),
        )
        .lock(LockLevel::RowExclusive, Cost::Batched)
        .requires(Resource::column(table, column))
        .provides(Resource::filled(table, column));
        let fill = Backfill {
            table: table.clone(),
            key: key.to_vec(),
            column: column.clone(),
            expression: expr.to_string(),
            only_null,
            also: Vec::new(),
            copy: None,
        };
        step = step.sql(batch_statement(&fill));
        step.backfill = Some(fill);
        step = if new_column {
            step.undo_nothing()
        } else {
            step.undo_stays(format!(
                "the values migrate filled into {} stay (they were NULL before)",
                col_name(table, column)
            ))
        };
        for k in key.iter() {
            step = step.requires(Resource::column(table, k));
        }
        self.filled.insert((table.clone(), column.clone()));
        self.push(step);
    }

    /// SET NOT NULL without a long exclusive lock: a CHECK (c IS NOT NULL)
    /// added NOT VALID (metadata), VALIDATE (a scan under SHARE UPDATE
    /// EXCLUSIVE: writes go on), then SET NOT NULL, which PostgreSQL 12+
    /// proves from the validated check without scanning, then the check
    /// is dropped.
    pub fn set_not_null(&mut self, table: &QualifiedName, column: &Ident, after: Option<Resource>) {
        self.set_not_null_in(table, column, after, Phase::Contract);
    }

    /// [`Self::set_not_null`] in `phase`: before contract only for a
    /// column abort drops (a shadow), whose checks go with it.
    pub fn set_not_null_in(
        &mut self,
        table: &QualifiedName,
        column: &Ident,
        after: Option<Resource>,
        phase: Phase,
    ) {
        let check = self.helper(
            &[Space::Constraint(table.clone())],
            &[table.name.as_str(), column.as_str()],
            "not_null",
            format!("the NOT NULL check of {}", col_name(table, column)),
        );
        let cn = col_name(table, column);
        let check_res = Resource::constraint(table, &check);
        let valid_res = Resource::validated(table, &check);
        let mut add = new_step(
            ObjectKind::Column,
            cn.clone(),
            Action::AddNotNullCheck,
            phase,
            format!("add CHECK ({} IS NOT NULL) NOT VALID", column),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID",
            qt(table),
            qi(&check),
            qi(column)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::column(table, column))
        .provides(check_res.clone());
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add.undo_nothing());
        self.push(
            new_step(
                ObjectKind::Column,
                cn.clone(),
                Action::Validate,
                phase,
                format!("validate that {cn} has no NULLs"),
            )
            .sql(format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                qt(table),
                qi(&check)
            ))
            .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
            .unlimited()
            .hazard(
                HazardKind::ValidationScan,
                format!("scans {table} once; reads and writes go on"),
            )
            .hazard(
                HazardKind::MayFail,
                format!("fails if a row still has NULL in {cn}"),
            )
            .requires(check_res.clone())
            .provides(valid_res.clone())
            .undo_nothing(),
        );
        self.push(
            new_step(
                ObjectKind::Column,
                cn.clone(),
                Action::SetNotNull,
                phase,
                format!("set {cn} NOT NULL (proven by the validated check, no scan)"),
            )
            .sql(format!(
                "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL",
                qt(table),
                qi(column)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires(valid_res)
            .provides(Resource::not_null(table, column))
            .undo_nothing(),
        );
        self.push(
            new_step(
                ObjectKind::Column,
                cn.clone(),
                Action::DropNotNullCheck,
                phase,
                format!("drop the helper check on {cn}"),
            )
            .sql(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                qt(table),
                qi(&check)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires(Resource::not_null(table, column))
            .removes(check_res)
            .undo_nothing(),
        );
    }
}
