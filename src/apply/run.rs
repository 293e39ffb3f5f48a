//! Applying phases: which migration and phase to run, the hazard gate,
//! drift checks and verification after each phase. The steps themselves
//! run in `steps.rs`, on the database's driver.

use std::path::Path;

use super::driver::{Driver, HeldLock, StepRow};
use super::state::{Migration, MigrationState, StepState};
use super::steps::{record_failure, run_one};
use super::*;
use crate::introspect::Introspection;
use crate::model::Schema;
use crate::plan::{Action, Plan, PlanOptions, Resource};
use crate::spec::{self, WriteOptions};

pub(super) fn yaml(s: &Schema) -> String {
    spec::to_yaml(&s.without_hints(), WriteOptions::default())
}

/// `live` as the bellows that wrote `stored` (a phase's schema, a
/// target, in the ledger) could see it: one from before owners, storage
/// parameters, replica identities, statistics targets, column storage and
/// distinct-value estimates were read wrote none of them, so for a
/// migration it started, what it could not see is neither drift nor left
/// undone.
fn as_seen_by(stored: &str, mut live: Schema) -> Schema {
    if !stored.lines().any(|l| l.starts_with("owners:")) {
        live.owners.clear();
    }
    let statistics = !stored.contains("statistics:");
    let options = !stored.contains("n_distinct");
    let storage = !stored.contains("storage:") && !stored.contains("compression:");
    for c in live.tables.values_mut().flat_map(|t| &mut t.columns) {
        if statistics {
            c.statistics = Default::default();
        }
        if options {
            c.options = Default::default();
        }
        if storage {
            c.storage = Default::default();
        }
    }
    if !stored.contains("replica_identity:") {
        for t in live.tables.values_mut() {
            t.replica_identity = Default::default();
        }
    }
    if !stored.contains("with: {") {
        for t in live.tables.values_mut() {
            t.storage = Default::default();
            for i in t.indexes.values_mut() {
                i.storage = Default::default();
            }
        }
        for m in live
            .views
            .values_mut()
            .filter_map(|v| v.materialized.as_mut())
        {
            m.storage = Default::default();
            for i in m.indexes.values_mut() {
                i.storage = Default::default();
            }
        }
    }
    live
}

/// Whether `target` is the target of migration `m`: by fingerprint, or,
/// for a migration started by a bellows whose fingerprints were computed
/// otherwise (they once hashed the YAML rendering), by comparing with the
/// target schema the ledger stored.
fn same_target(target: &Schema, m: &Migration) -> bool {
    target.fingerprint() == m.plan.target_fingerprint
        || spec::read_str(Path::new("ledger"), &m.target_schema)
            .is_ok_and(|stored| stored.without_hints() == target.without_hints())
}

/// `target` with its views and routines in the live server's words (see
/// `introspect::to_canonicalize`), to plan with; what the server
/// could not read goes to `obs`.
async fn in_server_words<'t, D: Driver>(
    db: &D,
    live: &Schema,
    target: &'t Schema,
    obs: &dyn Observer,
) -> Result<std::borrow::Cow<'t, Schema>, ApplyError> {
    let partitions = target.tables.values().any(|t| t.partition_of.is_some());
    if target.views.is_empty() && target.routines.is_empty() && !partitions {
        return Ok(std::borrow::Cow::Borrowed(target));
    }
    let mut t = target.clone();
    let pending = crate::introspect::to_canonicalize(live, &mut t);
    if !pending.is_empty() {
        for text in db.canonicalize(&mut t, &pending).await? {
            obs.on(Event::Notice { text: &text });
        }
    }
    Ok(std::borrow::Cow::Owned(t))
}

/// The live schema and the plan from it to `target`.
async fn plan_from_live<D: Driver>(
    db: &D,
    target: &Schema,
    obs: &dyn Observer,
) -> Result<(Introspection, Plan), ApplyError> {
    let live = db.read_live().await?;
    let words = in_server_words(db, &live.schema, target, obs).await?;
    let plan = crate::plan::plan(&live.schema, &words, &live.plan_options())?;
    Ok((live, plan))
}

/// Runs `phase` of the migration toward `target` (needed to start one).
pub async fn apply(
    url: &str,
    target: Option<&Schema>,
    phase: PhaseSel,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let req = Request {
        target,
        sel: phase,
        opts,
        obs,
    };
    // Only a run that changes something makes a missing database (a
    // SQLite file); a dry run says it is not there.
    on_driver!(url, !opts.dry_run, |db| apply_on(db, req))
}

/// What `apply` was asked for.
#[derive(Clone, Copy)]
struct Request<'a> {
    target: Option<&'a Schema>,
    sel: PhaseSel,
    opts: &'a ApplyOptions,
    obs: &'a dyn Observer,
}

async fn apply_on<D: Driver>(db: &D, req: Request<'_>) -> Result<(), ApplyError> {
    if req.opts.dry_run {
        return dry_run(db, req).await;
    }
    // Refuse, before touching anything (not even creating the ledger), a
    // new migration whose steps have hazards that are not allowed.
    if phases(req.sel)[0] == Phase::Expand
        && !db.exists().await?
        && let Some(t) = req.target
    {
        let (_, p) = plan_from_live(db, t, req.obs).await?;
        if p.is_empty() {
            req.obs.on(Event::NothingToDo);
            return Ok(());
        }
        gate(&p, phases(req.sel), req.opts)?;
    }
    db.ensure().await?;
    let lock = db.lock().await?;
    let result = locked(db, req).await;
    lock.release().await;
    result
}

async fn dry_run<D: Driver>(db: &D, req: Request<'_>) -> Result<(), ApplyError> {
    let existing = if db.exists().await? {
        db.in_flight().await?
    } else {
        None
    };
    let plan = match existing {
        Some(m) => m.plan,
        None => {
            let target = req.target.ok_or(ApplyError::NeedTarget)?;
            plan_from_live(db, target, req.obs).await?.1
        }
    };
    gate(&plan, phases(req.sel), req.opts)?;
    for p in phases(req.sel) {
        let mut any = false;
        for (i, s) in plan.steps.iter().enumerate() {
            if s.phase == p {
                any = true;
                req.obs.on(Event::WouldRun {
                    number: i + 1,
                    step: s,
                });
            }
        }
        if !any {
            req.obs.on(Event::NothingToRun { phase: p });
        }
    }
    Ok(())
}

fn phases(sel: PhaseSel) -> Vec<Phase> {
    match sel {
        PhaseSel::One(p) => vec![p],
        PhaseSel::All => Phase::ALL.to_vec(),
    }
}

/// Refuses, before anything runs, steps whose destructive hazards are not allowed.
fn gate(plan: &Plan, phases: Vec<Phase>, opts: &ApplyOptions) -> Result<(), ApplyError> {
    let refused: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| phases.contains(&s.phase))
        .flat_map(|s| {
            s.hazards
                .iter()
                .filter(|h| h.kind.is_destructive() && !opts.allow_hazards.contains(&h.kind))
                .map(move |h| {
                    format!(
                        "  {} ({}): {}: {}",
                        s.description,
                        s.phase.name(),
                        h.kind.name(),
                        h.message
                    )
                })
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::HazardsRefused { steps: refused })
    }
}

async fn locked<D: Driver>(db: &D, req: Request<'_>) -> Result<(), ApplyError> {
    let wanted = phases(req.sel);
    let mut mig = match db.in_flight().await? {
        Some(m) => {
            if m.state == MigrationState::Aborting {
                return Err(ApplyError::WrongPhase {
                    id: m.id,
                    wanted: wanted[0].name(),
                    why: "it is being aborted; run `bellows abort` again to finish that".into(),
                });
            }
            // A target given to a later phase must be the stored plan's:
            // never run one plan while the user believes it is another.
            if let Some(t) = req.target
                && !same_target(t, &m)
            {
                return Err(
                    if m.completed_phase.is_none() && wanted[0] == Phase::Expand {
                        ApplyError::InFlight {
                            id: m.id,
                            phase: "none (expand under way)".to_string(),
                        }
                    } else {
                        ApplyError::TargetMismatch { id: m.id }
                    },
                );
            }
            m
        }
        None => {
            if wanted[0] != Phase::Expand {
                return Err(ApplyError::NoMigration {
                    phase: wanted[0].name(),
                });
            }
            let target = req.target.ok_or(ApplyError::NeedTarget)?;
            let (live, plan) = plan_from_live(db, target, req.obs).await?;
            if plan.is_empty() {
                req.obs.on(Event::NothingToDo);
                return Ok(());
            }
            gate(&plan, wanted.clone(), req.opts)?;
            let id = db.create(&plan, &yaml(target), &yaml(&live.schema)).await?;
            Migration {
                id,
                state: MigrationState::InFlight,
                plan,
                completed_phase: None,
                phase_schema: Some(yaml(&live.schema)),
                target_schema: yaml(target),
            }
        }
    };
    for phase in wanted {
        mig.may_run(phase).map_err(|why| ApplyError::WrongPhase {
            id: mig.id,
            wanted: phase.name(),
            why,
        })?;
        gate(&mig.plan, vec![phase], req.opts)?;
        run_phase(db, &mut mig, phase, req.opts, req.obs).await?;
    }
    Ok(())
}

async fn run_phase<D: Driver>(
    db: &D,
    mig: &mut Migration,
    phase: Phase,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let rows = db.step_rows(mig.id).await?;
    let positions: Vec<usize> = (0..mig.plan.steps.len())
        .filter(|&i| mig.plan.steps[i].phase == phase)
        .collect();
    let started = positions
        .iter()
        .any(|&i| rows.get(i).is_some_and(|r| r.status != StepState::Pending));
    // Drift: before a phase starts, the database must be what the last one left.
    if !started && let Some(expected) = &mig.phase_schema {
        let live = yaml(&as_seen_by(expected, db.read_live().await?.schema));
        if &live != expected {
            let diff = similar::TextDiff::from_lines(expected.as_str(), live.as_str())
                .unified_diff()
                .context_radius(2)
                .header("expected (left by the last phase)", "live database")
                .to_string();
            return Err(ApplyError::Drift { diff });
        }
    }
    obs.on(Event::PhaseStarted {
        phase,
        steps: positions.len(),
    });
    for &i in &positions {
        let row = rows.get(i).cloned().unwrap_or_else(StepRow::pending);
        let step = &mig.plan.steps[i];
        if let Err(e) = run_one(db, mig.id, i, step, &row, "step", opts, obs).await {
            record_failure(db, mig.id, i, &e).await?;
            return Err(e);
        }
    }
    let live = db.read_live().await?;
    verify(db, &live, mig, phase, obs).await?;
    let live_yaml = yaml(&live.schema);
    db.complete_phase(mig.id, phase, &live_yaml).await?;
    mig.completed_phase = Some(phase);
    mig.phase_schema = Some(live_yaml);
    obs.on(Event::PhaseFinished { phase });
    Ok(())
}

/// After a phase, what its steps provide must exist; after contract, the
/// database must be the target (a new plan is empty).
async fn verify<D: Driver>(
    db: &D,
    found: &Introspection,
    mig: &Migration,
    phase: Phase,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let live = &found.schema;
    if phase == Phase::Contract {
        let target = spec::read_str(Path::new("stored target"), &mig.target_schema)
            .map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
        let target = in_server_words(db, live, &target, obs).await?;
        let opts = PlanOptions {
            dialect: mig.plan.dialect,
            current_user: found.current_user.clone(),
            type_storage: found.type_storage.clone(),
            ..PlanOptions::default()
        };
        let live = &as_seen_by(&mig.target_schema, live.clone());
        let left = crate::plan::plan(live, &target, &opts)?;
        if !left.is_empty() {
            let missing: Vec<String> = left.steps.iter().map(|s| s.description.clone()).collect();
            return Err(ApplyError::Verify {
                phase: phase.name(),
                missing: format!("a new plan still wants: {}", missing.join("; ")),
            });
        }
        return Ok(());
    }
    let mut have = std::collections::BTreeSet::new();
    for (t, table) in &live.tables {
        have.insert(Resource::table(t));
        // A partition's columns are its parent's.
        for c in live.table_columns(t) {
            have.insert(Resource::column(t, &c.name));
        }
        for n in table.indexes.keys().chain(table.constraint_names()) {
            have.insert(Resource::index(&t.schema, n));
            have.insert(Resource::constraint(t, n));
        }
    }
    for (v, view) in &live.views {
        for n in view.materialized.iter().flat_map(|m| m.indexes.keys()) {
            have.insert(Resource::index(&v.schema, n));
        }
    }
    let mut missing = Vec::new();
    let steps: Vec<&Step> = mig.plan.steps.iter().filter(|s| s.phase <= phase).collect();
    for s in &steps {
        for r in &s.provides {
            let checkable = matches!(
                r,
                Resource::Table(_) | Resource::Column(..) | Resource::Index(_)
            );
            let removed_later = steps.iter().any(|o| o.removes.contains(r));
            // A table kept under its old name is a view; indexes may be constraints'.
            let is_view_alias = matches!(r, Resource::Table(_)) && s.id.action == Action::Rename;
            // A partition's index attached to its parent's is part of
            // that one (the schema does not list it).
            let attached = matches!(r, Resource::Index(_))
                && steps
                    .iter()
                    .any(|o| o.id.action == Action::Attach && o.id.object == s.id.object);
            if checkable && !removed_later && !is_view_alias && !attached && !have.contains(r) {
                missing.push(r.to_string());
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::Verify {
            phase: phase.name(),
            missing: missing.join(", "),
        })
    }
}
