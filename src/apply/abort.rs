//! `abort`: take back an applied expand (and a partial migrate), exactly
//! as far as the migration went and no further. Each step that ran says
//! how to undo itself (`Step::undo`); abort runs those undo steps in
//! reverse order, as a ledger record of its own (so an interrupted abort
//! resumes where it stopped). Before it drops anything it checks that the
//! object is still the migration's own: a table or column that holds
//! something made by hand since expand (a column, an index, a constraint,
//! a trigger, a view over it), or whose type someone changed, is left in
//! place and reported. Objects the migration did not create are never
//! touched: they are not in its steps.

use std::collections::BTreeSet;
use std::path::Path;

use super::driver::{Driver, ErrorClass, HeldLock, StepRow};
use super::state::{Migration, MigrationState, StepMark, StepState};
use super::steps::{record_failure, run_one};
use super::*;
use crate::introspect::Introspection;
use crate::model::{Ident, KeyTarget, QualifiedName, Schema, Table};
use crate::plan::{Plan, Resource, Undo};
use crate::spec;

/// What an abort does (or, for a dry run, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AbortReport {
    /// The migration it undoes.
    pub migration: i64,
    /// The undo steps, in the order they run.
    pub steps: Vec<Step>,
    /// Objects the migration made that stay, each with why (it holds
    /// something not made by the migration, or it changed since).
    pub left: Vec<String>,
    /// What the migration did that abort does not take back, by design
    /// (enum values, widened types, ...), each with why.
    pub stays: Vec<String>,
}

/// Undoes the in-flight migration's expand (and a partial migrate), or
/// finishes an abort that was interrupted. Refused once contract has
/// started.
pub async fn abort(
    url: &str,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<AbortReport, ApplyError> {
    on_driver!(url, |db| abort_on(db, opts, obs))
}

async fn abort_on<D: Driver>(
    db: &D,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<AbortReport, ApplyError> {
    if !db.exists().await? {
        return Err(ApplyError::NoMigration { phase: "abort" });
    }
    let lock = db.lock().await?;
    let r = abort_locked(db, opts, obs).await;
    lock.release().await;
    r
}

/// What `abort` would do now; changes nothing.
pub async fn abort_preview(url: &str) -> Result<AbortReport, ApplyError> {
    on_driver!(url, |db| preview(db))
}

async fn preview<D: Driver>(db: &D) -> Result<AbortReport, ApplyError> {
    if !db.exists().await? {
        return Err(ApplyError::NoMigration { phase: "abort" });
    }
    let mig = db
        .in_flight()
        .await?
        .ok_or(ApplyError::NoMigration { phase: "abort" })?;
    if mig.state == MigrationState::Aborting {
        let record = abort_record(db, mig.id).await?;
        let rows = db.step_rows(record.id).await?;
        let steps = record
            .plan
            .steps
            .iter()
            .zip(
                rows.iter()
                    .map(|r| r.status)
                    .chain(std::iter::repeat(StepState::Pending)),
            )
            .filter(|(_, st)| !st.finished())
            .map(|(s, _)| s.clone())
            .collect();
        return Ok(AbortReport {
            migration: mig.id,
            steps,
            ..AbortReport::default()
        });
    }
    let live = db.read_live().await?;
    plan_abort(db, &mig, &live).await
}

/// The record of migration `of`'s abort, which has started.
async fn abort_record<D: Driver>(db: &D, of: i64) -> Result<Migration, ApplyError> {
    db.abort_of(of)
        .await?
        .ok_or_else(|| ApplyError::CorruptLedger("an abort without its record".into()))
}

async fn abort_locked<D: Driver>(
    db: &D,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<AbortReport, ApplyError> {
    let mig = db
        .in_flight()
        .await?
        .ok_or(ApplyError::NoMigration { phase: "abort" })?;
    let (record, report) = match mig.state {
        MigrationState::Aborting => {
            // An abort that stopped partway: go on with its own steps.
            let record = abort_record(db, mig.id).await?;
            let report = AbortReport {
                migration: mig.id,
                steps: record.plan.steps.clone(),
                ..AbortReport::default()
            };
            (record, report)
        }
        _ => {
            let live = db.read_live().await?;
            let report = plan_abort(db, &mig, &live).await?;
            let plan = Plan {
                version: mig.plan.version,
                current_fingerprint: String::new(),
                target_fingerprint: String::new(),
                dialect: mig.plan.dialect,
                steps: report.steps.clone(),
            };
            let id = db.create_abort(mig.id, &plan).await?;
            let record = Migration {
                id,
                state: MigrationState::InFlight,
                plan,
                completed_phase: None,
                phase_schema: None,
                target_schema: String::new(),
            };
            (record, report)
        }
    };
    let mut report = report;
    run_undo(db, &record, opts, obs, &mut report.left).await?;
    db.finish_abort(record.id, mig.id).await?;
    Ok(report)
}

/// Runs the abort record's steps that are not finished. An object that
/// something else still depends on (the database refuses to drop it
/// without CASCADE) is left in place and reported.
async fn run_undo<D: Driver>(
    db: &D,
    record: &Migration,
    opts: &ApplyOptions,
    obs: &dyn Observer,
    left: &mut Vec<String>,
) -> Result<(), ApplyError> {
    let rows = db.step_rows(record.id).await?;
    obs.on(Event::AbortStarted {
        steps: record.plan.steps.len(),
    });
    for (i, step) in record.plan.steps.iter().enumerate() {
        let row = rows.get(i).cloned().unwrap_or_else(StepRow::pending);
        match run_one(db, record.id, i, step, &row, "undo step", opts, obs).await {
            Ok(()) => {}
            Err(ApplyError::Step {
                message, sqlstate, ..
            }) if db.error_class(sqlstate.as_deref()) == ErrorClass::DependentsExist => {
                let why = format!(
                    "{}: left in place, other objects depend on it ({})",
                    step.description,
                    message.replace('\n', " ")
                );
                let mark = StepMark::Skipped {
                    why: &why,
                    sqlstate: sqlstate.as_deref(),
                };
                db.set_status(record.id, i, mark).await?;
                left.push(why);
            }
            Err(e) => {
                record_failure(db, record.id, i, &e).await?;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The undo of `mig` against the live schema: the undo steps of every
/// step that ran, last first, but for objects no longer the migration's
/// own, which are reported instead.
async fn plan_abort<D: Driver>(
    db: &D,
    mig: &Migration,
    live: &Introspection,
) -> Result<AbortReport, ApplyError> {
    let rows = db.step_rows(mig.id).await?;
    let status = |i: usize| rows.get(i).map_or(StepState::Pending, |r| r.status);
    // A transactional step that did not finish rolled back; a
    // non-transactional one (an index build) or a backfill may have left
    // something behind.
    let ran = |i: usize, s: &Step| {
        status(i) == StepState::Done
            || (status(i) != StepState::Pending && (!s.transactional || s.backfill.is_some()))
    };
    let steps: Vec<(usize, &Step)> = mig
        .plan
        .steps
        .iter()
        .enumerate()
        .filter(|&(i, s)| ran(i, s))
        .collect();
    if let Some((_, s)) = steps.iter().find(|(_, s)| s.phase == Phase::Contract) {
        return Err(ApplyError::WrongPhase {
            id: mig.id,
            wanted: "abort",
            why: format!(
                "contract has started (`{}` ran); its drops cannot be undone",
                s.description
            ),
        });
    }
    if let Some((_, s)) = steps.iter().find(|(_, s)| s.undo.is_none()) {
        return Err(ApplyError::CorruptLedger(format!(
            "the stored plan says nothing of how to undo `{}`: it was made by a bellows version without abort records; finish it with apply instead",
            s.description
        )));
    }
    let created: BTreeSet<Resource> = steps
        .iter()
        .flat_map(|(_, s)| s.provides.iter().cloned())
        .collect();
    let expected = match (&mig.completed_phase, &mig.phase_schema) {
        (Some(_), Some(yaml)) => Some(
            spec::read_str(Path::new("stored phase schema"), yaml)
                .map_err(|e| ApplyError::CorruptLedger(e.to_string()))?,
        ),
        _ => None,
    };
    let ctx = Ownership {
        live,
        expected: expected.as_ref(),
        created: &created,
    };
    let mut report = AbortReport {
        migration: mig.id,
        ..AbortReport::default()
    };
    for (_, s) in steps.iter().rev() {
        match &s.undo {
            Some(Undo::Steps { steps: undo }) => {
                for u in undo {
                    match u.removes.iter().find_map(|r| ctx.not_ours(r)) {
                        None => report.steps.push(u.clone()),
                        Some(why) => report.left.push(why),
                    }
                }
            }
            Some(Undo::Stays { reason }) => report.stays.push(reason.clone()),
            Some(Undo::Nothing) | None => {}
        }
    }
    Ok(report)
}

/// What abort knows to tell the migration's objects from anyone else's.
struct Ownership<'a> {
    live: &'a Introspection,
    /// The schema the last completed phase left, when one completed.
    expected: Option<&'a Schema>,
    /// What the steps that ran created.
    created: &'a BTreeSet<Resource>,
}

impl Ownership<'_> {
    /// Why the object `r` is not (only) the migration's own any more, if
    /// it is not.
    fn not_ours(&self, r: &Resource) -> Option<String> {
        match r {
            Resource::Table(t) => self.table(t),
            Resource::Column(t, c) => self.column(t, c),
            _ => None,
        }
    }

    fn unmanaged_on(&self, t: &QualifiedName, column: Option<&Ident>) -> Vec<String> {
        use crate::introspect::{Place, UnmanagedKind};
        // The migration's own sync triggers (and their functions) are
        // unmanaged objects to introspection; they go before the columns.
        let ours = |u: &crate::introspect::Unmanaged| match (&u.kind, &u.place) {
            (UnmanagedKind::Trigger, Place::Table { table, name }) => self.created.contains(
                &Resource::Trigger(QualifiedName::new(table.schema.clone(), name.clone())),
            ),
            (UnmanagedKind::Function, Place::Schema(q)) => {
                self.created.contains(&Resource::Trigger(q.clone()))
            }
            _ => false,
        };
        self.live
            .unmanaged
            .iter()
            .filter(|u| !ours(u))
            .filter(|u| {
                let on_table =
                    matches!(&u.place, crate::introspect::Place::Table { table, .. } if table == t);
                let depends = u
                    .depends_on
                    .iter()
                    .any(|d| &d.table == t && (column.is_none() || d.column.as_ref() == column));
                (column.is_none() && on_table) || depends
            })
            .map(|u| u.to_string())
            .collect()
    }

    fn table(&self, t: &QualifiedName) -> Option<String> {
        let live = self.live.schema.tables.get(t)?;
        let mut foreign: Vec<String> = Vec::new();
        for c in &live.columns {
            if !self.created.contains(&Resource::column(t, &c.name)) {
                foreign.push(format!("column {}", c.name));
            }
        }
        for i in live.indexes.keys() {
            if !self.created.contains(&Resource::index(&t.schema, i)) {
                foreign.push(format!("index {i}"));
            }
        }
        for n in live.constraint_names() {
            if !self.created.contains(&Resource::constraint(t, n)) {
                foreign.push(format!("constraint {n}"));
            }
        }
        foreign.extend(self.unmanaged_on(t, None));
        if !foreign.is_empty() {
            return Some(format!(
                "table {t} was created by this migration, but now also has {}, which it did not create: left in place (drop it by hand once you no longer need it)",
                foreign.join(", ")
            ));
        }
        let changed: Vec<String> = self
            .expected
            .and_then(|e| e.tables.get(t))
            .map(|e| changed_columns(e, live))
            .unwrap_or_default();
        if !changed.is_empty() {
            return Some(format!(
                "table {t} changed since the migration made it ({}): left in place",
                changed.join(", ")
            ));
        }
        None
    }

    fn column(&self, t: &QualifiedName, c: &Ident) -> Option<String> {
        let live = self.live.schema.tables.get(t)?;
        let col = live.column(c.as_str())?;
        let mut users: Vec<String> = Vec::new();
        for (n, ix) in &live.indexes {
            let uses = ix.keys.iter().any(|k| {
                matches!(&k.target, KeyTarget::Column(x) if x == c)
                    || matches!(&k.target, KeyTarget::Expression(e) if mentions(e, c.as_str()))
            }) || ix.include.contains(c)
                || ix
                    .predicate
                    .as_deref()
                    .is_some_and(|p| mentions(p, c.as_str()));
            if uses && !self.created.contains(&Resource::index(&t.schema, n)) {
                users.push(format!("index {n}"));
            }
        }
        let constraint_users = live
            .primary_key
            .iter()
            .filter(|p| p.columns.contains(c))
            .map(|p| &p.name)
            .chain(
                live.uniques
                    .iter()
                    .filter(|(_, u)| u.columns.contains(c))
                    .map(|(n, _)| n),
            )
            .chain(
                live.foreign_keys
                    .iter()
                    .filter(|(_, f)| f.columns.contains(c))
                    .map(|(n, _)| n),
            )
            .chain(
                live.checks
                    .iter()
                    .filter(|(_, k)| mentions(&k.expression, c.as_str()))
                    .map(|(n, _)| n),
            );
        for n in constraint_users {
            if !self.created.contains(&Resource::constraint(t, n)) {
                users.push(format!("constraint {n}"));
            }
        }
        users.extend(self.unmanaged_on(t, Some(c)));
        if !users.is_empty() {
            return Some(format!(
                "column {t}.{c} was added by this migration, but {} that it did not create now use{} it: left in place",
                users.join(", "),
                if users.len() == 1 { "s" } else { "" }
            ));
        }
        if let Some(e) = self
            .expected
            .and_then(|e| e.tables.get(t))
            .and_then(|e| e.column(c.as_str()))
            && e.ty != col.ty
        {
            return Some(format!(
                "column {t}.{c} was added by this migration as {}, but is {} now: left in place",
                e.ty, col.ty
            ));
        }
        None
    }
}

/// Columns whose type differs between what a phase left and now.
fn changed_columns(expected: &Table, live: &Table) -> Vec<String> {
    live.columns
        .iter()
        .filter_map(|c| {
            let e = expected.column(c.name.as_str())?;
            (e.ty != c.ty).then(|| format!("{} is {} instead of {}", c.name, c.ty, e.ty))
        })
        .collect()
}

/// Whether an SQL expression mentions a column (as a whole word, or
/// quoted): conservative, for deciding what to leave alone.
fn mentions(expr: &str, column: &str) -> bool {
    let quoted = format!("\"{}\"", column.replace('"', "\"\""));
    expr.contains(&quoted)
        || expr.match_indices(column).any(|(i, _)| {
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(expr[..i].chars().next_back()) && !word(expr[i + column.len()..].chars().next())
        })
}

/// The schema `abort` returns to: the one before expand, but for what it
/// leaves by design (see `Undo::Stays`): enum values that expand added,
/// types it widened in place, NOT NULL it dropped from a column or a domain.
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
    // A view expand replaced in place (CREATE OR REPLACE, which only adds
    // columns after the old ones) keeps its new query.
    for (name, v) in &mut back.views {
        if let Some(l) = live.views.get(name)
            && l.query != v.query
            && let (Some(lf), Some(vf)) = (&l.facts, &v.facts)
            && lf.columns.len() > vf.columns.len()
            && lf.columns.starts_with(&vf.columns)
        {
            notes.push(format!("view {name} keeps its new query"));
            *v = l.clone();
        }
    }
    for (name, d) in &mut back.domains {
        if d.not_null && live.domains.get(name).is_some_and(|l| !l.not_null) {
            notes.push(format!("domain {name} stays nullable"));
            d.not_null = false;
        }
    }
    for (tname, t) in &mut back.tables {
        let Some(lt) = live.tables.get(tname) else {
            continue;
        };
        for c in &mut t.columns {
            let Some(lc) = lt.column(c.name.as_str()) else {
                continue;
            };
            if lc.ty != c.ty && crate::plan::binary_coercible(&c.ty, &lc.ty) {
                notes.push(format!("{tname}.{} stays {} (widened by expand; narrowing it back would scan the table)", c.name, lc.ty));
                c.ty = lc.ty.clone();
            }
            if lc.nullable && !c.nullable {
                notes.push(format!("{tname}.{} stays nullable", c.name));
                c.nullable = true;
            }
        }
    }
    (back, notes)
}
