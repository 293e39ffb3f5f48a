//! The executor.

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, Row};

use super::ledger::{self, Migration, StepRow};
use super::*;
use crate::introspect::{self, IntrospectError, Options};
use crate::model::Schema;
use crate::plan::{Action, Backfill, HazardKind, ObjectKind, Plan, PlanOptions, Resource};
use crate::spec::{self, WriteOptions};

/// SQLSTATE 55P03 lock_not_available: lock_timeout expired.
const LOCK_NOT_AVAILABLE: &str = "55P03";

fn yaml(s: &Schema) -> String {
    spec::to_yaml(&s.without_hints(), WriteOptions::default())
}

async fn connect(url: &str) -> Result<PgPool, ApplyError> {
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(IntrospectError::UnsupportedDatabase { scheme }.into());
    }
    // One direct connection first: a wrong URL fails at once, where the
    // pool would keep retrying until its acquire timeout.
    let probe = PgConnection::connect(url)
        .await
        .map_err(|source| ApplyError::Connect {
            url: introspect::redact(url),
            source,
        })?;
    let _ = probe.close().await;
    PgPoolOptions::new()
        .max_connections(3)
        .connect(url)
        .await
        .map_err(|source| ApplyError::Connect {
            url: introspect::redact(url),
            source,
        })
}

async fn read_live(url: &str) -> Result<introspect::Introspection, ApplyError> {
    Ok(introspect::introspect_url(url, &Options::default()).await?)
}

/// Runs `phase` of the migration toward `target` (needed to start one).
pub async fn apply(
    url: &str,
    target: Option<&Schema>,
    phase: PhaseSel,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let pool = connect(url).await?;
    if opts.dry_run {
        return dry_run(url, &pool, target, phase, opts, obs).await;
    }
    // Refuse, before touching anything (not even creating the ledger), a
    // new migration whose steps have hazards that are not allowed.
    if phases(phase)[0] == Phase::Expand
        && !ledger_exists(&pool).await?
        && let Some(t) = target
    {
        let live = read_live(url).await?;
        let p = crate::plan::plan(
            &live.schema,
            t,
            &PlanOptions {
                unmanaged: live.unmanaged,
            },
        )?;
        if p.is_empty() {
            obs.on(Event::NothingToDo);
            return Ok(());
        }
        gate(&p, phases(phase), opts)?;
    }
    ledger::ensure(&pool).await?;
    ledger::lock(&pool).await?;
    // Keep the lease alive while this apply runs.
    let beat_pool = pool.clone();
    let beat = tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE / 6).await;
            ledger::heartbeat(&beat_pool).await;
        }
    });
    let result = locked(url, &pool, target, phase, opts, obs).await;
    beat.abort();
    ledger::unlock(&pool).await;
    pool.close().await;
    result
}

async fn ledger_exists(pool: &PgPool) -> Result<bool, ApplyError> {
    sqlx::query_scalar("SELECT to_regclass('bellows.migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(ApplyError::ledger("look for the ledger"))
}

async fn dry_run(
    url: &str,
    pool: &PgPool,
    target: Option<&Schema>,
    phase: PhaseSel,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let existing = if ledger_exists(pool).await? {
        ledger::in_flight(pool).await?
    } else {
        None
    };
    let plan = match existing {
        Some(m) => m.plan,
        None => {
            let target = target.ok_or(ApplyError::NeedTarget)?;
            let live = read_live(url).await?;
            crate::plan::plan(
                &live.schema,
                target,
                &PlanOptions {
                    unmanaged: live.unmanaged,
                },
            )?
        }
    };
    gate(&plan, phases(phase), opts)?;
    for (i, s) in plan.steps.iter().enumerate() {
        if phases(phase).contains(&s.phase) {
            obs.on(Event::WouldRun {
                number: i + 1,
                step: s,
            });
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

async fn locked(
    url: &str,
    pool: &PgPool,
    target: Option<&Schema>,
    sel: PhaseSel,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let wanted = phases(sel);
    let mut mig = match ledger::in_flight(pool).await? {
        Some(m) => {
            let resumable_expand = m.completed_phase.is_none()
                && target.is_none_or(|t| crate::plan::fingerprint(t) == m.plan.target_fingerprint);
            if wanted[0] == Phase::Expand && m.completed_phase.is_some() {
                let next = match m.completed_phase {
                    Some(Phase::Expand) => "migrate",
                    _ => "contract",
                };
                return Err(ApplyError::WrongPhase {
                    id: m.id,
                    wanted: "expand",
                    why: format!("its expand is already done; next: `apply --phase {next}`"),
                });
            }
            if wanted[0] == Phase::Expand && !resumable_expand {
                return Err(ApplyError::InFlight {
                    id: m.id,
                    phase: m
                        .completed_phase
                        .map_or("none (expand under way)".to_string(), |p| {
                            p.name().to_string()
                        }),
                });
            }
            m
        }
        None => {
            if wanted[0] != Phase::Expand {
                return Err(ApplyError::NoMigration {
                    phase: wanted[0].name(),
                });
            }
            let target = target.ok_or(ApplyError::NeedTarget)?;
            let live = read_live(url).await?;
            let plan = crate::plan::plan(
                &live.schema,
                target,
                &PlanOptions {
                    unmanaged: live.unmanaged,
                },
            )?;
            if plan.is_empty() {
                obs.on(Event::NothingToDo);
                return Ok(());
            }
            gate(&plan, wanted.clone(), opts)?;
            let id = ledger::create(pool, &plan, &yaml(target), &yaml(&live.schema)).await?;
            Migration {
                id,
                plan,
                completed_phase: None,
                phase_schema: Some(yaml(&live.schema)),
                target_schema: yaml(target),
                start_schema: yaml(&live.schema),
            }
        }
    };
    for phase in wanted {
        let expected_before = match phase {
            Phase::Expand => None,
            Phase::Migrate => Some(Phase::Expand),
            Phase::Contract => Some(Phase::Migrate),
        };
        if mig.completed_phase >= Some(phase) {
            return Err(ApplyError::WrongPhase {
                id: mig.id,
                wanted: phase.name(),
                why: format!("{} is already done", phase.name()),
            });
        }
        if mig.completed_phase != expected_before {
            return Err(ApplyError::WrongPhase {
                id: mig.id,
                wanted: phase.name(),
                why: format!(
                    "run {} first",
                    expected_before.map_or("expand", |p| p.name())
                ),
            });
        }
        gate(&mig.plan, vec![phase], opts)?;
        run_phase(url, pool, &mut mig, phase, opts, obs).await?;
    }
    Ok(())
}

async fn run_phase(
    url: &str,
    pool: &PgPool,
    mig: &mut Migration,
    phase: Phase,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let rows = ledger::step_rows(pool, mig.id).await?;
    let positions: Vec<usize> = (0..mig.plan.steps.len())
        .filter(|&i| mig.plan.steps[i].phase == phase)
        .collect();
    let started = positions
        .iter()
        .any(|&i| rows.get(i).is_some_and(|r| r.status != "pending"));
    // Drift: before a phase starts, the database must be what the last one left.
    if !started && let Some(expected) = &mig.phase_schema {
        let live = yaml(&read_live(url).await?.schema);
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
        let step = &mig.plan.steps[i];
        let row = rows.get(i).cloned().unwrap_or(StepRow {
            status: "pending".into(),
            checkpoint: None,
            rows_done: 0,
        });
        if row.status == "done" {
            obs.on(Event::StepSkipped {
                number: i + 1,
                step,
            });
            continue;
        }
        obs.on(Event::StepStarted {
            number: i + 1,
            step,
        });
        let t0 = Instant::now();
        ledger::set_status(pool, mig.id, i, "running", None).await?;
        let result = if let Some(b) = &step.backfill {
            backfill(pool, mig.id, i, step, b, &row, opts, obs).await
        } else if step.transactional {
            transactional(pool, mig.id, i, step, opts, obs).await
        } else {
            concurrent(pool, step, opts, obs).await
        };
        match result {
            Ok(()) => {
                if !step.transactional || step.backfill.is_some() {
                    ledger::set_status(pool, mig.id, i, "done", None).await?;
                }
                obs.on(Event::StepFinished {
                    number: i + 1,
                    step,
                    elapsed: t0.elapsed(),
                });
            }
            Err(e) => {
                let (msg, state) = match &e {
                    ApplyError::Step {
                        message, sqlstate, ..
                    } => (message.clone(), sqlstate.clone()),
                    other => (other.to_string(), None),
                };
                ledger::set_status(pool, mig.id, i, "failed", Some((&msg, state.as_deref())))
                    .await?;
                return Err(e);
            }
        }
    }
    let live = read_live(url).await?;
    verify(&live.schema, mig, phase)?;
    let finished = phase == Phase::Contract;
    let live_yaml = yaml(&live.schema);
    ledger::complete_phase(pool, mig.id, phase, &live_yaml, finished).await?;
    mig.completed_phase = Some(phase);
    mig.phase_schema = Some(live_yaml);
    obs.on(Event::PhaseFinished { phase });
    Ok(())
}

/// After a phase, what its steps provide must exist; after contract, the
/// database must be the target (a new plan is empty).
fn verify(live: &Schema, mig: &Migration, phase: Phase) -> Result<(), ApplyError> {
    if phase == Phase::Contract {
        let target = spec::read_str(Path::new("stored target"), &mig.target_schema)
            .map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
        let left = crate::plan::plan(live, &target, &PlanOptions::default())?;
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
        for c in &table.columns {
            have.insert(Resource::column(t, &c.name));
        }
        for n in table.indexes.keys().chain(table.constraint_names()) {
            have.insert(Resource::index(&t.schema, n));
            have.insert(Resource::constraint(t, n));
        }
    }
    let mut missing = Vec::new();
    let steps: Vec<&Step> = mig.plan.steps.iter().filter(|s| s.phase <= phase).collect();
    for s in &steps {
        for r in &s.provides {
            let checkable = matches!(
                r,
                Resource::Table(_) | Resource::Column(_) | Resource::Index(_)
            );
            let name = match r {
                Resource::Table(n) | Resource::Column(n) | Resource::Index(n) => n,
                _ => continue,
            };
            let removed_later = steps.iter().any(|o| o.removes.contains(r));
            // A table kept under its old name is a view; indexes may be constraints'.
            let is_view_alias = matches!(r, Resource::Table(_)) && s.id.action == Action::Rename;
            if checkable
                && !name.contains(':')
                && !removed_later
                && !is_view_alias
                && !have.contains(r)
            {
                missing.push(format!("{r:?}"));
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

fn timeouts(step: &Step, opts: &ApplyOptions) -> (u64, u64) {
    let lock = step
        .timeouts
        .lock_timeout_ms
        .unwrap_or(opts.lock_timeout.as_millis() as u64);
    let stmt = step
        .timeouts
        .statement_timeout_ms
        .unwrap_or(opts.statement_timeout.as_millis() as u64);
    (lock, stmt)
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string())
}

fn step_error(step: &Step, statement: &str, e: &sqlx::Error) -> ApplyError {
    ApplyError::Step {
        step: step.description.clone(),
        statement: statement.to_string(),
        sqlstate: sqlstate(e),
        message: e
            .as_database_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string()),
    }
}

/// On a lock timeout with tries left: report, wait with backoff, and say
/// to try again. Shared by every kind of step.
async fn retry_after_lock_timeout(
    e: &sqlx::Error,
    attempt: &mut u32,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> bool {
    if sqlstate(e).as_deref() != Some(LOCK_NOT_AVAILABLE) || *attempt >= opts.max_retries {
        return false;
    }
    *attempt += 1;
    let wait = backoff(*attempt);
    obs.on(Event::LockWait {
        step,
        attempt: *attempt,
        max: opts.max_retries,
        wait,
    });
    tokio::time::sleep(wait).await;
    true
}

/// Exponential backoff with jitter: 250 ms, 500 ms, 1 s ... up to 10 s, ±50 %.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.min(6)).min(10_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let jitter = nanos % (base + 1);
    Duration::from_millis(base / 2 + jitter)
}

/// One short transaction with SET LOCAL timeouts (so it works through
/// PgBouncer's transaction pooling); the ledger row is marked done in the
/// same transaction, so a crash can never leave it run but unrecorded.
async fn transactional(
    pool: &PgPool,
    id: i64,
    pos: usize,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let mut attempt = 0;
    loop {
        let mut conn = pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(ApplyError::ledger("begin a transaction"))?;
        let mut failure: Option<(String, sqlx::Error)> = None;
        let prelude = format!(
            "SET LOCAL lock_timeout = '{lock_ms}ms'; SET LOCAL statement_timeout = '{stmt_ms}ms'"
        );
        if let Err(e) = sqlx::raw_sql(AssertSqlSafe(prelude.clone()))
            .execute(&mut *tx)
            .await
        {
            failure = Some((prelude, e));
        }
        if failure.is_none() {
            for stmt in &step.statements {
                if let Err(e) = sqlx::raw_sql(AssertSqlSafe(stmt.clone()))
                    .execute(&mut *tx)
                    .await
                {
                    failure = Some((stmt.clone(), e));
                    break;
                }
            }
        }
        match failure {
            None => {
                sqlx::query("UPDATE bellows.steps SET status = 'done', finished_at = now(), error = NULL, sqlstate = NULL WHERE migration_id = $1 AND position = $2")
                    .bind(id)
                    .bind(pos as i32)
                    .execute(&mut *tx)
                    .await
                    .map_err(ApplyError::ledger("record a finished step"))?;
                tx.commit()
                    .await
                    .map_err(|e| step_error(step, "COMMIT", &e))?;
                return Ok(());
            }
            Some((stmt, e)) => {
                let _ = tx.rollback().await;
                if retry_after_lock_timeout(&e, &mut attempt, step, opts, obs).await {
                    continue;
                }
                if sqlstate(&e).as_deref() == Some(LOCK_NOT_AVAILABLE) {
                    return Err(ApplyError::LockTimeout {
                        step: step.description.clone(),
                        attempts: attempt + 1,
                    });
                }
                return Err(step_error(step, &stmt, &e));
            }
        }
    }
}

/// The index a build step creates: (schema, name).
fn built_index(step: &Step) -> Option<(String, String)> {
    if step.id.kind == ObjectKind::Index && step.id.action == Action::Build {
        step.provides.iter().find_map(|r| match r {
            Resource::Index(n) => n
                .split_once('.')
                .map(|(s, i)| (s.to_string(), i.to_string())),
            _ => None,
        })
    } else {
        None
    }
}

async fn index_state(
    conn: &mut PgConnection,
    schema: &str,
    name: &str,
) -> Result<Option<bool>, ApplyError> {
    sqlx::query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(schema)
    .bind(name)
    .fetch_optional(conn)
    .await
    .map_err(ApplyError::ledger("look up an index"))
}

/// CONCURRENTLY statements, outside any transaction. A build that failed
/// (now or in a run that crashed) leaves an INVALID index: it is dropped
/// before the build is tried again; a valid one means it is done.
async fn concurrent(
    pool: &PgPool,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let mut conn = pool
        .acquire()
        .await
        .map_err(ApplyError::ledger("get a connection"))?;
    let index = built_index(step);
    let mut attempt = 0;
    loop {
        if let Some((schema, name)) = &index {
            match index_state(&mut conn, schema, name).await? {
                Some(true) => return Ok(()),
                Some(false) => {
                    let drop = format!(
                        "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                        crate::sql::quote_ident(schema),
                        crate::sql::quote_ident(name)
                    );
                    sqlx::raw_sql(AssertSqlSafe(drop.clone()))
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| step_error(step, &drop, &e))?;
                    obs.on(Event::InvalidIndexDropped {
                        index: format!("{schema}.{name}"),
                    });
                }
                None => {}
            }
        }
        let set =
            format!("SET lock_timeout = '{lock_ms}ms'; SET statement_timeout = '{stmt_ms}ms'");
        sqlx::raw_sql(AssertSqlSafe(set))
            .execute(&mut *conn)
            .await
            .map_err(ApplyError::ledger("set timeouts"))?;
        let mut failure = None;
        for stmt in &step.statements {
            if let Err(e) = sqlx::raw_sql(AssertSqlSafe(stmt.clone()))
                .execute(&mut *conn)
                .await
            {
                failure = Some((stmt.clone(), e));
                break;
            }
        }
        let _ = sqlx::raw_sql("RESET lock_timeout; RESET statement_timeout")
            .execute(&mut *conn)
            .await;
        match failure {
            None => return Ok(()),
            Some((stmt, e)) => {
                if retry_after_lock_timeout(&e, &mut attempt, step, opts, obs).await {
                    continue;
                }
                if let Some((schema, name)) = &index {
                    // Leave no INVALID leftover behind a failure.
                    if index_state(&mut conn, schema, name).await? == Some(false) {
                        let drop = format!(
                            "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                            crate::sql::quote_ident(schema),
                            crate::sql::quote_ident(name)
                        );
                        let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut *conn).await;
                        obs.on(Event::InvalidIndexDropped {
                            index: format!("{schema}.{name}"),
                        });
                    }
                }
                return Err(step_error(step, &stmt, &e));
            }
        }
    }
}

/// A committed batch: the last key it covered and how many rows it had.
type Batch = (Vec<String>, i64);

fn qualified_text(t: &str) -> String {
    t.split_once('.')
        .map(|(s, n)| {
            format!(
                "{}.{}",
                crate::sql::quote_ident(s),
                crate::sql::quote_ident(n)
            )
        })
        .unwrap_or_else(|| crate::sql::quote_ident(t))
}

/// Keyset-paginated batches by primary key, each its own transaction that
/// also records the checkpoint: a re-run continues after the last
/// committed batch, and no row is updated twice.
#[allow(clippy::too_many_arguments)]
async fn backfill(
    pool: &PgPool,
    id: i64,
    pos: usize,
    step: &Step,
    b: &Backfill,
    row: &StepRow,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let table = qualified_text(&b.table);
    let keys: Vec<String> = b.key.iter().map(|k| crate::sql::quote_ident(k)).collect();
    let mut types = Vec::new();
    for k in &b.key {
        let ty: String = sqlx::query_scalar(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
        )
        .bind(&table)
        .bind(k)
        .fetch_one(pool)
        .await
        .map_err(|e| step_error(step, "look up the key's type", &e))?;
        types.push(ty);
    }
    let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .map_err(|e| step_error(step, "count the rows", &e))?;
    let kl = keys.join(", ");
    let params = |offset: usize| -> String {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("${}::text::{t}", i + offset))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let after = |offset: usize| format!("({kl}) > ({})", params(offset));
    // Qualified with the subquery's alias: a bare name in ORDER BY would
    // mean the text output column and sort keys as text.
    let key_text = keys
        .iter()
        .map(|k| format!("b.{k}::text"))
        .collect::<Vec<_>>()
        .join(", ");
    let desc = keys
        .iter()
        .map(|k| format!("b.{k} DESC"))
        .collect::<Vec<_>>()
        .join(", ");
    let only = if b.only_null {
        format!(" AND {} IS NULL", crate::sql::quote_ident(&b.column))
    } else {
        String::new()
    };
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let mut checkpoint = row.checkpoint.clone();
    let mut done = row.rows_done.max(0) as u64;
    let mut attempt = 0;
    loop {
        let cond = if checkpoint.is_some() {
            after(1)
        } else {
            "true".to_string()
        };
        let bound_sql = format!(
            "SELECT {key_text}, count(*) OVER () FROM (SELECT {kl} FROM {table} WHERE {cond} ORDER BY {kl} LIMIT {}) b ORDER BY {desc} LIMIT 1",
            opts.batch_size
        );
        let n = keys.len();
        let upper_params = (if checkpoint.is_some() { n } else { 0 }) + 1;
        let update_sql = format!(
            "UPDATE {table} SET {c} = ({e}) WHERE {cond} AND ({kl}) <= ({up}){only}",
            c = crate::sql::quote_ident(&b.column),
            e = b.expression,
            up = params(upper_params),
        );
        let mut conn = pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(ApplyError::ledger("begin a batch"))?;
        let run: Result<Option<Batch>, (String, sqlx::Error)> = async {
            sqlx::raw_sql(AssertSqlSafe(format!(
                // A batch and its checkpoint commit together, so a crash
                // loses both or neither: no WAL flush is needed per batch.
                "SET LOCAL lock_timeout = '{lock_ms}ms'; SET LOCAL statement_timeout = '{stmt_ms}ms'; SET LOCAL synchronous_commit = off"
            )))
                .execute(&mut *tx)
                .await
                .map_err(|e| ("SET LOCAL".to_string(), e))?;
            let mut q = sqlx::query(AssertSqlSafe(bound_sql.clone()));
            for v in checkpoint.iter().flatten() {
                q = q.bind(v);
            }
            let found: Option<PgRow> = q.fetch_optional(&mut *tx).await.map_err(|e| (bound_sql.clone(), e))?;
            let Some(found) = found else { return Ok(None) };
            let upper: Vec<String> = (0..n).map(|i| found.get::<String, _>(i)).collect();
            let count: i64 = found.get(n);
            let mut u = sqlx::query(AssertSqlSafe(update_sql.clone()));
            for v in checkpoint.iter().flatten().chain(upper.iter()) {
                u = u.bind(v);
            }
            u.execute(&mut *tx).await.map_err(|e| (update_sql.clone(), e))?;
            sqlx::query("UPDATE bellows.steps SET checkpoint = $3, rows_done = rows_done + $4 WHERE migration_id = $1 AND position = $2")
                .bind(id)
                .bind(pos as i32)
                .bind(&upper)
                .bind(count)
                .execute(&mut *tx)
                .await
                .map_err(|e| ("record the checkpoint".to_string(), e))?;
            Ok(Some((upper, count)))
        }
        .await;
        match run {
            Ok(None) => {
                let _ = tx.commit().await;
                obs.on(Event::BackfillProgress {
                    step,
                    done: done.max(total as u64),
                    total: total as u64,
                });
                return Ok(());
            }
            Ok(Some((upper, count))) => {
                tx.commit()
                    .await
                    .map_err(|e| step_error(step, "COMMIT", &e))?;
                checkpoint = Some(upper);
                done += count as u64;
                attempt = 0;
                obs.on(Event::BackfillProgress {
                    step,
                    done,
                    total: total as u64,
                });
                if let Some(p) = opts.pause {
                    tokio::time::sleep(p).await;
                }
            }
            Err((stmt, e)) => {
                let _ = tx.rollback().await;
                if retry_after_lock_timeout(&e, &mut attempt, step, opts, obs).await {
                    continue;
                }
                return Err(step_error(step, &stmt, &e));
            }
        }
    }
}

/// Undoes the in-flight migration's expand (and a partial migrate): the
/// database goes back to the schema it had before expand. Refused once
/// contract has started. Enum values that expand added stay (PostgreSQL
/// cannot remove them); they are harmless to the old app.
pub async fn abort(
    url: &str,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<Vec<String>, ApplyError> {
    let pool = connect(url).await?;
    if !ledger_exists(&pool).await? {
        return Err(ApplyError::NoMigration { phase: "abort" });
    }
    ledger::lock(&pool).await?;
    let result = abort_locked(url, &pool, opts, obs).await;
    ledger::unlock(&pool).await;
    pool.close().await;
    result
}

async fn abort_locked(
    url: &str,
    pool: &PgPool,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<Vec<String>, ApplyError> {
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
            if let Resource::Trigger(f) = r
                && let Ok(q) = crate::model::QualifiedName::parse(f)
            {
                let sql = format!(
                    "DROP FUNCTION IF EXISTS {}() CASCADE",
                    crate::sql::postgres::qualified(&q)
                );
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
            let from_n = from.split_once('.').map_or(from.as_str(), |(_, n)| n);
            let sql = format!(
                "BEGIN; SET LOCAL lock_timeout = '{}ms'; DROP VIEW IF EXISTS {}; ALTER TABLE {} RENAME TO {}; COMMIT",
                opts.lock_timeout.as_millis(),
                qualified_text(from),
                qualified_text(to),
                crate::sql::quote_ident(from_n)
            );
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(pool)
                .await
                .map_err(|e| step_error(s, &sql, &e))?;
        }
    }
    let start = spec::read_str(Path::new("stored start schema"), &mig.start_schema)
        .map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
    let live = read_live(url).await?;
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
        run_phase(url, pool, &mut undo, phase, &everything, obs).await?;
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

/// The in-flight (or last) migration and its steps.
pub async fn status(url: &str) -> Result<Status, ApplyError> {
    let pool = connect(url).await?;
    let has_ledger: bool =
        sqlx::query_scalar("SELECT to_regclass('bellows.migrations') IS NOT NULL")
            .fetch_one(&pool)
            .await
            .map_err(ApplyError::ledger("look for the ledger"))?;
    if !has_ledger {
        return Ok(Status {
            migration: None,
            state: None,
            completed_phase: None,
            steps: Vec::new(),
        });
    }
    let m = sqlx::query(
        "SELECT id, state, completed_phase FROM bellows.migrations ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&pool)
    .await
    .map_err(ApplyError::ledger("read the migrations"))?;
    let Some(m) = m else {
        return Ok(Status {
            migration: None,
            state: None,
            completed_phase: None,
            steps: Vec::new(),
        });
    };
    let id: i64 = m.get(0);
    let steps = sqlx::query("SELECT position, phase, description, status, rows_done, error, sqlstate FROM bellows.steps WHERE migration_id = $1 ORDER BY position")
        .bind(id)
        .fetch_all(&pool)
        .await
        .map_err(ApplyError::ledger("read the steps"))?
        .into_iter()
        .map(|r| StepStatus {
            position: r.get(0),
            phase: r.get(1),
            description: r.get(2),
            status: r.get(3),
            rows_done: r.get(4),
            error: r.get(5),
            sqlstate: r.get(6),
        })
        .collect();
    pool.close().await;
    Ok(Status {
        migration: Some(id),
        state: m.get(1),
        completed_phase: m.get(2),
        steps,
    })
}
