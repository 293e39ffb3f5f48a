//! Backfills: keyset-paginated batches by primary key, each its own short
//! transaction that also records its checkpoint, so a re-run (after a
//! crash, or a stop request between batches) goes on after the last
//! committed batch and no row is written twice.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Connection, Row};

use super::db::Db;
use super::ledger::{self, StepRow};
use super::steps::{Failure, after_failure, step_error, timeouts};
use super::watch::watched;
use super::*;
use crate::conn::postgres::{query, query_scalar};
use crate::plan::Backfill;
use crate::sql::postgres::{BackfillSql, literals, qualified};

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
    let before = row.rows_done.max(0) as u64;
    let mut done = before;
    let mut attempt = 0;
    let at = |done: u64| {
        format!(
            "in `{}` after {done} rows; it goes on from its checkpoint on resume",
            step.description
        )
    };
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
        let run: Result<Option<Batch>, Failure> = async {
            let fail = |statement: &str| {
                let statement = statement.to_string();
                move |error| Failure {
                    statement,
                    error,
                    blockers: Vec::new(),
                    cancelled: false,
                }
            };
            // A batch and its checkpoint commit together, so a crash
            // loses both or neither: no WAL flush is needed per batch.
            let prelude = format!(
                "SET LOCAL lock_timeout = '{lock_ms}ms'; SET LOCAL statement_timeout = '{stmt_ms}ms'; SET LOCAL synchronous_commit = off; SELECT pg_backend_pid()"
            );
            let pid: Option<i32> = sqlx::raw_sql(AssertSqlSafe(prelude.clone()))
                .fetch_one(&mut *tx)
                .await
                .map_err(fail(&prelude))?
                .try_get(0)
                .ok();
            // Simple-protocol statements with the keys as literals: one
            // round trip each, and the very text `--format sql` shows.
            let found: Option<PgRow> = sqlx::raw_sql(AssertSqlSafe(bound_sql.clone()))
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail(&bound_sql))?;
            let Some(found) = found else { return Ok(None) };
            let upper: Vec<String> = (0..n).map(|i| found.get::<String, _>(i)).collect();
            let count: i64 = found.get(n);
            let update_sql = sql.update(lower.as_deref(), &literals(&upper));
            let w = watched(
                &db.pool,
                pid,
                lock_ms,
                &opts.interrupt,
                sqlx::raw_sql(AssertSqlSafe(update_sql.clone())).execute(&mut *tx),
            )
            .await;
            if let Err(error) = w.result {
                return Err(Failure {
                    statement: update_sql,
                    error,
                    blockers: w.blockers,
                    cancelled: w.cancelled,
                });
            }
            query("UPDATE bellows.steps SET checkpoint = $3, rows_done = rows_done + $4 WHERE migration_id = $1 AND position = $2")
                .bind(id)
                .bind(pos as i32)
                .bind(&upper)
                .bind(count)
                .execute(&mut *tx)
                .await
                .map_err(fail("record the checkpoint"))?;
            Ok(Some((upper, count)))
        }
        .await;
        match run {
            Ok(None) => {
                let _ = tx.commit().await;
                obs.on(Event::BackfillProgress {
                    step,
                    done,
                    total: total as u64,
                    before,
                    finished: true,
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
                    before,
                    finished: false,
                });
                if opts.interrupt.requested() {
                    return Err(ApplyError::Interrupted { at: at(done) });
                }
                if let Some(p) = opts.pause
                    && opts.interrupt.sleep(p).await
                {
                    return Err(ApplyError::Interrupted { at: at(done) });
                }
            }
            Err(f) => {
                let _ = tx.rollback().await;
                after_failure(f, &mut attempt, step, &at(done), opts, obs).await?;
            }
        }
    }
}
