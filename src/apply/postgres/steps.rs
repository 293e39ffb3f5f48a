//! Running one step on PostgreSQL: transactional steps in their own
//! short transaction, CONCURRENTLY steps outside any (backfills are in
//! `backfill.rs`); all under lock_timeout, retried by apply's policy when
//! the lock is not granted, each retry naming the sessions that held it
//! up; a first stop request ends the apply after the statement under
//! way, a second cancels it.

use sqlx::{AssertSqlSafe, Connection, Row};

use super::driver::PgDriver;
use super::ledger;
use super::session::{
    self, build_under_way, concurrent_session, drop_invalid_index, error_class, index_state,
};
use super::watch::watched;
use crate::apply::driver::{StatementError, StepRun};
use crate::apply::steps::{Failure, after_failure, step_error};
use crate::apply::{ApplyError, ApplyOptions, Event};
use crate::conn::server_notes;
use crate::model::QualifiedName;
use crate::plan::{Action, ObjectKind, Resource, Step};

/// What apply makes of an error from PostgreSQL: its class, SQLSTATE, and
/// message with the server's DETAIL and HINT, which often say which row
/// is at fault (for a unique index: `Key (name)=(a) is duplicated.`).
pub(super) fn statement_error(e: &sqlx::Error) -> StatementError {
    let sqlstate = e
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string());
    let message = match e.as_database_error() {
        Some(d) => format!("{}{}", d.message(), server_notes(d)),
        None => crate::conn::DbError(sqlx::Error::Protocol(e.to_string())).to_string(),
    };
    StatementError {
        class: error_class(sqlstate.as_deref()),
        sqlstate,
        message,
    }
}

/// One short transaction with SET LOCAL timeouts (so it works through
/// PgBouncer's transaction pooling); the ledger row is marked done in the
/// same transaction, so a crash can never leave it run but unrecorded.
pub(super) async fn transactional(db: &PgDriver, s: &StepRun<'_>) -> Result<(), ApplyError> {
    let step = s.step;
    let (lock_ms, stmt_ms) = s.timeouts();
    let at = s.resumes();
    let mut attempt = 0;
    loop {
        let mut tx = db.begin("begin a transaction").await?;
        let prelude = session::prelude(lock_ms, stmt_ms, false);
        let pid: Option<i32> = match sqlx::raw_sql(AssertSqlSafe(prelude.clone()))
            .fetch_one(&mut *tx)
            .await
        {
            Ok(row) => row.try_get(0).ok(),
            Err(e) => return Err(step_error(step, &prelude, statement_error(&e))),
        };
        let failure = run_statements(db, &mut tx, step, pid, lock_ms, s.opts).await;
        match failure {
            None => {
                ledger::mark_done_in(&mut tx, s.id, s.pos).await?;
                tx.commit()
                    .await
                    .map_err(|e| step_error(step, "COMMIT", statement_error(&e)))?;
                return Ok(());
            }
            Some(f) => {
                let _ = tx.rollback().await;
                after_failure(f, &mut attempt, s, &at).await?;
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
    db: &PgDriver,
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
        if let Err(e) = w.result {
            return Some(Failure {
                statement: stmt.clone(),
                error: statement_error(&e),
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
pub(super) async fn concurrent(db: &PgDriver, s: &StepRun<'_>) -> Result<(), ApplyError> {
    let StepRun {
        step, opts, obs, ..
    } = *s;
    let (lock_ms, stmt_ms) = s.timeouts();
    let (mut conn, pid, server_timeouts) = concurrent_session(db, lock_ms, stmt_ms).await?;
    if let Some((lock_timeout, statement_timeout)) = server_timeouts {
        obs.on(Event::PoolerTimeouts {
            step,
            lock_timeout,
            statement_timeout,
        });
    }
    let index = built_index(step);
    let at = s.resumes();
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
                        stop: format!("SELECT pg_cancel_backend({pid})"),
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
                            .map_err(|(drop, e)| step_error(step, &drop, statement_error(&e)))?;
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
            after_failure(f, &mut attempt, s, &at).await?;
        }
    }
    .await;
    let _ = conn.close().await;
    result
}
