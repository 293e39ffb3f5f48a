//! Running one step: transactional steps in their own short transaction,
//! CONCURRENTLY steps outside any (backfills are in `backfill.rs`); all
//! under lock_timeout, retried with backoff when the lock is not granted,
//! each retry naming the sessions that held it up; a first stop request
//! ends the apply after the statement under way, a second cancels it.

use sqlx::{AssertSqlSafe, Connection, Row};

use super::db::Db;
use super::session::ErrorClass;
use super::session::{build_under_way, concurrent_session, drop_invalid_index, index_state};
use super::watch::{backoff, watched};
use super::*;
use crate::model::QualifiedName;
use crate::plan::{Action, ObjectKind, Resource};

pub(super) fn timeouts(step: &Step, opts: &ApplyOptions) -> (u64, u64) {
    step.timeouts.or(opts.lock_timeout, opts.statement_timeout)
}

pub(super) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string())
}

pub(super) fn step_error(step: &Step, statement: &str, e: &sqlx::Error) -> ApplyError {
    // The server's DETAIL and HINT often say which row is at fault (for a
    // unique index: `Key (name)=(a) is duplicated.`); keep them.
    let message = match e.as_database_error() {
        Some(d) => {
            let mut m = d.message().to_string();
            if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    m.push_str(&format!("\n  detail: {detail}"));
                }
                if let Some(hint) = pg.hint() {
                    m.push_str(&format!("\n  hint: {hint}"));
                }
            }
            m
        }
        None => crate::conn::DbError(clone_error(e)).to_string(),
    };
    ApplyError::Step {
        step: step.description.clone(),
        statement: statement.to_string(),
        sqlstate: sqlstate(e),
        message,
    }
}

/// sqlx errors do not clone; the text is what a report needs.
fn clone_error(e: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}

/// A statement that failed, with what the watch saw.
pub(super) struct Failure {
    pub statement: String,
    pub error: sqlx::Error,
    pub blockers: Vec<watch::Blocker>,
    pub cancelled: bool,
}

/// After a failed statement: wait and retry when its lock was not
/// granted and tries are left (reporting who held it), or end the step:
/// interrupted, out of tries, or failed. `Ok(())` means retry.
pub(super) async fn after_failure(
    f: Failure,
    attempt: &mut u32,
    step: &Step,
    at: &str,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let class = ErrorClass::of(sqlstate(&f.error).as_deref());
    if f.cancelled || (class == ErrorClass::Cancelled && opts.interrupt.requested()) {
        return Err(ApplyError::Interrupted { at: at.to_string() });
    }
    if class == ErrorClass::LockNotGranted {
        if *attempt < opts.max_retries {
            *attempt += 1;
            let wait = backoff(*attempt);
            obs.on(Event::LockWait {
                step,
                attempt: *attempt,
                max: opts.max_retries,
                wait,
                blockers: &f.blockers,
            });
            if opts.interrupt.sleep(wait).await {
                return Err(ApplyError::Interrupted { at: at.to_string() });
            }
            return Ok(());
        }
        return Err(ApplyError::LockTimeout {
            step: step.description.clone(),
            attempts: *attempt + 1,
            blockers: f.blockers,
        });
    }
    Err(step_error(step, &f.statement, &f.error))
}

/// One short transaction with SET LOCAL timeouts (so it works through
/// PgBouncer's transaction pooling); the ledger row is marked done in the
/// same transaction, so a crash can never leave it run but unrecorded.
pub(super) async fn transactional(
    db: &Db,
    id: i64,
    pos: usize,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let at = format!("during `{}`, which runs again on resume", step.description);
    let mut attempt = 0;
    loop {
        let mut tx = db.begin("begin a transaction").await?;
        let prelude = session::prelude(lock_ms, stmt_ms, false);
        let pid: Option<i32> = match sqlx::raw_sql(AssertSqlSafe(prelude.clone()))
            .fetch_one(&mut *tx)
            .await
        {
            Ok(row) => row.try_get(0).ok(),
            Err(e) => return Err(step_error(step, &prelude, &e)),
        };
        let failure = run_statements(db, &mut tx, step, pid, lock_ms, opts).await;
        match failure {
            None => {
                ledger::mark_done_in(&mut tx, id, pos).await?;
                tx.commit()
                    .await
                    .map_err(|e| step_error(step, "COMMIT", &e))?;
                return Ok(());
            }
            Some(f) => {
                let _ = tx.rollback().await;
                after_failure(f, &mut attempt, step, &at, opts, obs).await?;
            }
        }
    }
}

/// The index a build step creates.
fn built_index(step: &Step) -> Option<QualifiedName> {
    if step.id.kind == ObjectKind::Index && step.id.action == Action::Build {
        step.provides.iter().find_map(|r| match r {
            Resource::Index(n) => Some(n.clone()),
            _ => None,
        })
    } else {
        None
    }
}

/// Runs the step's statements in order on `conn` (session `pid`),
/// watched for what blocks them and for a stop request; the first that
/// fails stops the rest.
async fn run_statements(
    db: &Db,
    conn: &mut sqlx::PgConnection,
    step: &Step,
    pid: Option<i32>,
    lock_ms: u64,
    opts: &ApplyOptions,
) -> Option<Failure> {
    for stmt in &step.statements {
        let w = watched(
            &db.pool,
            pid,
            lock_ms,
            &opts.interrupt,
            sqlx::raw_sql(AssertSqlSafe(stmt.clone())).execute(&mut *conn),
        )
        .await;
        if let Err(error) = w.result {
            return Some(Failure {
                statement: stmt.clone(),
                error,
                blockers: w.blockers,
                cancelled: w.cancelled,
            });
        }
    }
    None
}

/// CONCURRENTLY statements, outside any transaction. A build that failed
/// (now or in a run that crashed) leaves an INVALID index: it is dropped
/// before the build is tried again; a valid one means it is done. A build
/// still running on the server from a killed apply is waited for, and
/// reported while it runs.
pub(super) async fn concurrent(
    db: &Db,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let (mut conn, pid, server_timeouts) = concurrent_session(db, lock_ms, stmt_ms).await?;
    if let Some((lock_timeout, statement_timeout)) = server_timeouts {
        obs.on(Event::PoolerTimeouts {
            step,
            lock_timeout,
            statement_timeout,
        });
    }
    let index = built_index(step);
    let at = format!("during `{}`, which runs again on resume", step.description);
    let mut attempt = 0;
    let result = async {
        if let Some(ix) = &index {
            let mut reported: Option<std::time::Instant> = None;
            while let Some((pid, secs, phase)) = build_under_way(&mut conn, ix).await? {
                if reported.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(30)) {
                    obs.on(Event::BuildUnderWay {
                        index: ix.clone(),
                        pid,
                        running_for: std::time::Duration::from_secs(secs),
                        phase,
                    });
                    reported = Some(std::time::Instant::now());
                }
                if opts
                    .interrupt
                    .sleep(std::time::Duration::from_secs(2))
                    .await
                {
                    return Err(ApplyError::Interrupted { at: at.clone() });
                }
            }
        }
        loop {
            if let Some(ix) = &index {
                match index_state(&mut conn, ix).await? {
                    Some(true) => return Ok(()),
                    Some(false) => {
                        drop_invalid_index(&mut conn, ix)
                            .await
                            .map_err(|(drop, e)| step_error(step, &drop, &e))?;
                        obs.on(Event::InvalidIndexDropped { index: ix.clone() });
                    }
                    None => {}
                }
            }
            let failure = run_statements(db, &mut conn, step, pid, lock_ms, opts).await;
            let Some(f) = failure else { return Ok(()) };
            if let Some(ix) = &index
                && index_state(&mut conn, ix).await? == Some(false)
            {
                // Leave no INVALID leftover behind a failure.
                let _ = drop_invalid_index(&mut conn, ix).await;
                obs.on(Event::InvalidIndexDropped { index: ix.clone() });
            }
            after_failure(f, &mut attempt, step, &at, opts, obs).await?;
        }
    }
    .await;
    let _ = conn.close().await;
    result
}
