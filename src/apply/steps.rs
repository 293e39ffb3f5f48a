//! Running one step: transactional steps in their own short transaction,
//! CONCURRENTLY steps outside any, backfills in checkpointed batches; all
//! under lock_timeout, retried with backoff when the lock is not granted.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::db::Db;
use super::ledger::{self, StepRow};
use super::*;
use crate::conn::ConnError;
use crate::conn::postgres::{query, query_scalar};
use crate::model::QualifiedName;
use crate::plan::{Action, Backfill, ObjectKind, Resource};
use crate::sql::postgres::{BackfillSql, literals, qualified};

/// SQLSTATE 55P03 lock_not_available: lock_timeout expired.
const LOCK_NOT_AVAILABLE: &str = "55P03";

pub(super) fn timeouts(step: &Step, opts: &ApplyOptions) -> (u64, u64) {
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
        None => e.to_string(),
    };
    ApplyError::Step {
        step: step.description.clone(),
        statement: statement.to_string(),
        sqlstate: sqlstate(e),
        message,
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
pub(super) async fn transactional(
    db: &Db,
    id: i64,
    pos: usize,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let mut attempt = 0;
    loop {
        let mut conn = db
            .pool
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
                query("UPDATE bellows.steps SET status = 'done', finished_at = now(), error = NULL, sqlstate = NULL WHERE migration_id = $1 AND position = $2")
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

async fn index_state(
    conn: &mut PgConnection,
    index: &QualifiedName,
) -> Result<Option<bool>, ApplyError> {
    const WHAT: &str = "look up an index";
    let mut tx = conn.begin().await.map_err(ApplyError::ledger(WHAT))?;
    let state = query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(index.schema.as_str())
    .bind(index.name.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?;
    tx.commit().await.map_err(ApplyError::ledger(WHAT))?;
    Ok(state)
}

/// A session for statements that cannot run in a transaction (CREATE or
/// DROP INDEX CONCURRENTLY), so SET LOCAL cannot carry their timeouts,
/// and a session-level SET would stay behind on a pooled server session
/// for the next client. The session is opened with the timeouts as
/// startup options instead. A transaction pooler (PgBouncer) refuses such
/// options or drops them: then the statement runs with the server's own
/// settings, and the returned timeouts say which ones those are.
async fn concurrent_session(
    db: &Db,
    lock_ms: u64,
    stmt_ms: u64,
) -> Result<(PgConnection, Option<(String, String)>), ApplyError> {
    let wanted = db.info.connect_options()?.options([
        ("lock_timeout", format!("{lock_ms}ms")),
        ("statement_timeout", format!("{stmt_ms}ms")),
    ]);
    let (mut conn, asked) = match db.info.connect_with(wanted).await {
        Ok(c) => (c, true),
        Err(ConnError::Connect { source, .. })
            if source.to_string().contains("unsupported startup parameter") =>
        {
            (db.info.connect().await?, false)
        }
        Err(e) => return Err(e.into()),
    };
    let check = format!(
        "SELECT current_setting('lock_timeout')::interval = '{lock_ms} ms'::interval
            AND current_setting('statement_timeout')::interval = '{stmt_ms} ms'::interval,
                current_setting('lock_timeout'), current_setting('statement_timeout')"
    );
    let row = sqlx::raw_sql(AssertSqlSafe(check))
        .fetch_one(&mut conn)
        .await
        .map_err(ApplyError::ledger("read the session's timeouts"))?;
    let applied: bool = row.get(0);
    if asked && applied {
        Ok((conn, None))
    } else {
        Ok((conn, Some((row.get(1), row.get(2)))))
    }
}

/// CONCURRENTLY statements, outside any transaction. A build that failed
/// (now or in a run that crashed) leaves an INVALID index: it is dropped
/// before the build is tried again; a valid one means it is done.
pub(super) async fn concurrent(
    db: &Db,
    step: &Step,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let (mut conn, server_timeouts) = concurrent_session(db, lock_ms, stmt_ms).await?;
    if let Some((lock_timeout, statement_timeout)) = server_timeouts {
        obs.on(Event::PoolerTimeouts {
            step,
            lock_timeout,
            statement_timeout,
        });
    }
    let index = built_index(step);
    let mut attempt = 0;
    let result = loop {
        if let Some(ix) = &index {
            match index_state(&mut conn, ix).await? {
                Some(true) => break Ok(()),
                Some(false) => {
                    let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {}", qualified(ix));
                    sqlx::raw_sql(AssertSqlSafe(drop.clone()))
                        .execute(&mut conn)
                        .await
                        .map_err(|e| step_error(step, &drop, &e))?;
                    obs.on(Event::InvalidIndexDropped { index: ix.clone() });
                }
                None => {}
            }
        }
        let mut failure = None;
        for stmt in &step.statements {
            if let Err(e) = sqlx::raw_sql(AssertSqlSafe(stmt.clone()))
                .execute(&mut conn)
                .await
            {
                failure = Some((stmt.clone(), e));
                break;
            }
        }
        match failure {
            None => break Ok(()),
            Some((stmt, e)) => {
                if retry_after_lock_timeout(&e, &mut attempt, step, opts, obs).await {
                    continue;
                }
                if let Some(ix) = &index {
                    // Leave no INVALID leftover behind a failure.
                    if index_state(&mut conn, ix).await? == Some(false) {
                        let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {}", qualified(ix));
                        let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
                        obs.on(Event::InvalidIndexDropped { index: ix.clone() });
                    }
                }
                break Err(step_error(step, &stmt, &e));
            }
        }
    };
    let _ = conn.close().await;
    result
}

/// A committed batch: the last key it covered and how many rows it had.
type Batch = (Vec<String>, i64);

/// Keyset-paginated batches by primary key, each its own transaction that
/// also records the checkpoint: a re-run continues after the last
/// committed batch, and no row is updated twice.
#[allow(clippy::too_many_arguments)]
pub(super) async fn backfill(
    db: &Db,
    id: i64,
    pos: usize,
    step: &Step,
    b: &Backfill,
    row: &StepRow,
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let sql = BackfillSql::new(b);
    let mut tx = ledger::begin(&db.pool, "count the rows").await?;
    let count_sql = format!("SELECT count(*) FROM {}", qualified(&b.table));
    let total: i64 = query_scalar(AssertSqlSafe(count_sql.clone()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| step_error(step, &count_sql, &e))?;
    ledger::commit(tx, "count the rows").await?;
    let n = b.key.len();
    let (lock_ms, stmt_ms) = timeouts(step, opts);
    let mut checkpoint = row.checkpoint.clone();
    let mut done = row.rows_done.max(0) as u64;
    let mut attempt = 0;
    loop {
        let lower = checkpoint.as_deref().map(literals);
        let bound_sql = sql.next_batch(lower.as_deref(), opts.batch_size);
        let mut conn = db
            .pool
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
            // Simple-protocol statements with the keys as literals: one
            // round trip each, and the very text `--format sql` shows.
            let found: Option<PgRow> = sqlx::raw_sql(AssertSqlSafe(bound_sql.clone()))
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| (bound_sql.clone(), e))?;
            let Some(found) = found else { return Ok(None) };
            let upper: Vec<String> = (0..n).map(|i| found.get::<String, _>(i)).collect();
            let count: i64 = found.get(n);
            let update_sql = sql.update(lower.as_deref(), &literals(&upper));
            sqlx::raw_sql(AssertSqlSafe(update_sql.clone()))
                .execute(&mut *tx)
                .await
                .map_err(|e| (update_sql.clone(), e))?;
            query("UPDATE bellows.steps SET checkpoint = $3, rows_done = rows_done + $4 WHERE migration_id = $1 AND position = $2")
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
