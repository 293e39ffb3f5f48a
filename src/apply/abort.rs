//! `abort`: undo an applied expand (and a partial migrate).

use std::path::Path;

use sqlx::AssertSqlSafe;

use super::db::Db;
use super::ledger::{self, Migration};
use super::run::{ledger_exists, run_phase, yaml};
use super::steps::step_error;
use super::*;
use crate::model::Schema;
use crate::plan::{Action, HazardKind, ObjectKind, PlanOptions, Resource};
use crate::spec;
use crate::sql::postgres::qualified;

/// Undoes the in-flight migration's expand (and a partial migrate): the
/// database goes back to the schema it had before expand. Refused once
/// contract has started. Enum values that expand added stay (PostgreSQL
/// cannot remove them); they are harmless to the old app.
pub async fn abort(
    url: &str,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<Vec<String>, ApplyError> {
    let db = Db::open(url).await?;
    if !ledger_exists(&db.pool).await? {
        return Err(ApplyError::NoMigration { phase: "abort" });
    }
    ledger::lock(&db.pool).await?;
    let result = abort_locked(&db, opts, obs).await;
    ledger::unlock(&db.pool).await;
    db.close().await;
    result
}

async fn abort_locked(
    db: &Db,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<Vec<String>, ApplyError> {
    let pool = &db.pool;
    let mig = ledger::in_flight(pool)
        .await?
        .ok_or(ApplyError::NoMigration { phase: "abort" })?;
    let rows = ledger::step_rows(pool, mig.id).await?;
    let contract_started = mig.completed_phase == Some(Phase::Contract)
        || mig
            .plan
            .steps
            .iter()
            .zip(&rows)
            .any(|(s, r)| s.phase == Phase::Contract && r.status != "pending");
    if contract_started {
        return Err(ApplyError::WrongPhase {
            id: mig.id,
            wanted: "abort",
            why: "contract has started; its drops cannot be undone".into(),
        });
    }
    let mut notes = Vec::new();
    let touched = |i: usize| rows.get(i).is_some_and(|r| r.status != "pending");
    // Sync triggers first (dropping the function takes its trigger along).
    for (i, s) in mig.plan.steps.iter().enumerate() {
        if !(touched(i) && s.id.kind == ObjectKind::SyncTrigger && s.id.action == Action::Create) {
            continue;
        }
        for r in &s.provides {
            if let Resource::Trigger(f) = r {
                let sql = format!("DROP FUNCTION IF EXISTS {}() CASCADE", qualified(f));
                sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                    .execute(pool)
                    .await
                    .map_err(|e| step_error(s, &sql, &e))?;
            }
        }
    }
    // Then table renames: the compatibility view goes, the name comes back.
    for (i, s) in mig.plan.steps.iter().enumerate() {
        if touched(i)
            && s.id.kind == ObjectKind::Table
            && s.id.action == Action::Rename
            && let (Some(Resource::Table(from)), Some(Resource::Table(to))) =
                (s.requires.first(), s.provides.first())
        {
            let sql = format!(
                "BEGIN; SET LOCAL lock_timeout = '{}ms'; DROP VIEW IF EXISTS {}; ALTER TABLE {} RENAME TO {}; COMMIT",
                opts.lock_timeout.as_millis(),
                qualified(from),
                qualified(to),
                crate::sql::quote_ident(from.name.as_str())
            );
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(pool)
                .await
                .map_err(|e| step_error(s, &sql, &e))?;
        }
    }
    let start = spec::read_str(Path::new("stored start schema"), &mig.start_schema)
        .map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
    let live = db.read_live().await?;
    let (back, more) = undo_target(&start, &live.schema);
    notes.extend(more);
    ledger::mark_aborted(pool, mig.id).await?;
    let reverse = crate::plan::plan(
        &live.schema,
        &back,
        &PlanOptions {
            unmanaged: live.unmanaged,
        },
    )?;
    if reverse.is_empty() {
        return Ok(notes);
    }
    let id = ledger::create(pool, &reverse, &yaml(&back), &yaml(&live.schema)).await?;
    let mut undo = Migration {
        id,
        plan: reverse,
        completed_phase: None,
        phase_schema: Some(yaml(&live.schema)),
        target_schema: yaml(&back),
        start_schema: yaml(&live.schema),
    };
    let everything = ApplyOptions {
        allow_hazards: vec![
            HazardKind::DataLoss,
            HazardKind::TableRewrite,
            HazardKind::LongLock,
        ],
        ..opts.clone()
    };
    for phase in Phase::ALL {
        run_phase(db, &mut undo, phase, &everything, obs).await?;
    }
    Ok(notes)
}

/// The schema `abort` returns to: the one before expand, except for what
/// PostgreSQL cannot take back safely and the old app does not mind:
/// enum values that expand added, and types it widened in place.
pub fn undo_target(start: &Schema, live: &Schema) -> (Schema, Vec<String>) {
    let mut back = start.clone();
    let mut notes = Vec::new();
    for (name, e) in &live.enums {
        if let Some(old) = back.enums.get_mut(name)
            && old.values.iter().all(|v| e.values.contains(v))
            && old.values.len() < e.values.len()
        {
            notes.push(format!(
                "enum {name} keeps the values expand added (PostgreSQL cannot remove them)"
            ));
            old.values = e.values.clone();
        }
    }
    for (tname, t) in &mut back.tables {
        let Some(lt) = live.tables.get(tname) else {
            continue;
        };
        for c in &mut t.columns {
            if let Some(lc) = lt.column(c.name.as_str())
                && lc.ty != c.ty
                && crate::plan::binary_coercible(&c.ty, &lc.ty)
            {
                notes.push(format!("{tname}.{} stays {} (widened by expand; narrowing it back would scan the table)", c.name, lc.ty));
                c.ty = lc.ty.clone();
            }
        }
    }
    (back, notes)
}
