//! Running a record's steps, whatever the database: skipping what an
//! earlier run finished, stopping before a step on request, keeping the
//! ledger's statuses, and the retry policy a driver follows when a
//! statement fails (wait with backoff while its lock is not granted,
//! report who held it, give up after `max_retries`).

use std::time::{Duration, Instant};

use super::driver::{Driver, ErrorClass, StatementError, StepRow, StepRun};
use super::state::StepMark;
use super::*;

pub(super) fn step_error(step: &Step, statement: &str, e: StatementError) -> ApplyError {
    ApplyError::Step {
        step: step.description.clone(),
        statement: statement.to_string(),
        sqlstate: e.sqlstate,
        message: e.message,
    }
}

/// A statement that failed, with what the watch saw.
pub(super) struct Failure {
    pub statement: String,
    pub error: StatementError,
    pub blockers: Vec<Blocker>,
    pub cancelled: bool,
}

/// Between two batches of a backfill: stops (`Interrupted`, at the place
/// `at` names) on a stop request, else waits the pause between batches,
/// which a stop request cuts short.
pub(super) async fn between_batches(
    opts: &ApplyOptions,
    at: impl Fn() -> String,
) -> Result<(), ApplyError> {
    if opts.interrupt.requested() {
        return Err(ApplyError::Interrupted { at: at() });
    }
    if let Some(p) = opts.pause
        && opts.interrupt.sleep(p).await
    {
        return Err(ApplyError::Interrupted { at: at() });
    }
    Ok(())
}

/// After a failed statement of run `s`: wait and retry when its lock was
/// not granted and tries are left (reporting who held it), or end the
/// step: interrupted (at the place `at` names), out of tries, or failed.
/// `Ok(())` means retry.
pub(super) async fn after_failure(
    f: Failure,
    attempt: &mut u32,
    s: &StepRun<'_>,
    at: &str,
) -> Result<(), ApplyError> {
    let StepRun {
        step, opts, obs, ..
    } = *s;
    let class = f.error.class;
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
    Err(step_error(step, &f.statement, f.error))
}

/// Exponential backoff with jitter: 250 ms, 500 ms, 1 s ... up to 10 s, ±50 %.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.min(6)).min(10_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let jitter = nanos % (base + 1);
    Duration::from_millis(base / 2 + jitter)
}

/// Step `i` of ledger record `id` (a migration, or an abort, whose steps
/// are `what`s: "step", "undo step"), run unless an earlier run finished
/// it. A stop request before it ends the run here. How it stopped is
/// returned unrecorded: the caller decides what a failure means, and
/// records it (`record_failure`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_one<D: Driver>(
    db: &D,
    id: i64,
    i: usize,
    step: &Step,
    row: &StepRow,
    what: &str,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    if row.status.finished() {
        obs.on(Event::StepSkipped {
            number: i + 1,
            step,
        });
        return Ok(());
    }
    if opts.interrupt.requested() {
        return Err(ApplyError::Interrupted {
            at: format!("before {what} {} (`{}`)", i + 1, step.description),
        });
    }
    obs.on(Event::StepStarted {
        number: i + 1,
        step,
    });
    let t0 = Instant::now();
    db.set_status(id, i, StepMark::Running).await?;
    db.run_step(&StepRun {
        id,
        pos: i,
        step,
        row,
        opts,
        obs,
    })
    .await?;
    obs.on(Event::StepFinished {
        number: i + 1,
        step,
        elapsed: t0.elapsed(),
    });
    Ok(())
}

/// Records why a step stopped: interrupted (it runs again on resume) or
/// failed, with the server's message and SQLSTATE.
pub(super) async fn record_failure<D: Driver>(
    db: &D,
    id: i64,
    pos: usize,
    e: &ApplyError,
) -> Result<(), ApplyError> {
    let text;
    let mark = match e {
        ApplyError::Interrupted { at } => StepMark::Interrupted { why: at },
        // Nothing failed: the database asked it to wait, for too long.
        ApplyError::PausedTooLong { .. } => {
            text = e.to_string();
            StepMark::Interrupted { why: &text }
        }
        ApplyError::Step {
            message, sqlstate, ..
        } => StepMark::Failed {
            message,
            sqlstate: sqlstate.as_deref(),
        },
        other => {
            text = other.to_string();
            StepMark::Failed {
                message: &text,
                sqlstate: None,
            }
        }
    };
    db.set_status(id, pos, mark).await
}
