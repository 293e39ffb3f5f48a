//! Backfills: batches by key (keyset pagination) or by ranges of pages,
//! each its own short transaction that also records its checkpoint, so a
//! re-run (after a crash, or a stop request between batches) goes on
//! after the last committed batch and no row is written twice.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

use super::driver::PgDriver;
use super::ledger;
use super::session;
use super::steps::statement_error;
use super::watch::watched;
use crate::apply::driver::StepRun;
use crate::apply::steps::{Failure, after_failure, step_error, timeouts};
use crate::apply::{ApplyError, Event};
use crate::conn::postgres::query_scalar;
use crate::plan::Backfill;
use crate::plan::Step;
use crate::sql::postgres::{BackfillSql, literals, qualified};

/// A committed batch: the last key it covered and how many rows it had.
type Batch = (Vec<String>, i64);

/// Batches by key or by ranges of pages, each its own transaction that
/// also records the checkpoint (the last key, or the next page): a re-run
/// continues after the last committed batch, and no row is updated twice.
pub(super) async fn backfill(
    db: &PgDriver,
    s: &StepRun<'_>,
    b: &Backfill,
) -> Result<(), ApplyError> {
    let StepRun {
        id,
        pos,
        step,
        row,
        opts,
        obs,
    } = *s;
    let sql = BackfillSql::new(b);
    let mut tx = ledger::begin(&db.pool, "count the rows").await?;
    let count_sql = format!("SELECT count(*) FROM {}", qualified(&b.table));
    let total: i64 = query_scalar(AssertSqlSafe(count_sql.clone()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| step_error(step, &count_sql, statement_error(&e)))?;
    ledger::commit(tx, "count the rows").await?;
    let pages_per_batch = if b.by_position() {
        Some(pages_per_batch(db, step, &sql, total, opts.batch_size).await?)
    } else {
        None
    };
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
        let mut tx = db.begin("begin a batch").await?;
        let run: Result<Option<Batch>, Failure> = async {
            let fail = |statement: &str| {
                let statement = statement.to_string();
                move |e: sqlx::Error| Failure {
                    statement,
                    error: statement_error(&e),
                    blockers: Vec::new(),
                    cancelled: false,
                }
            };
            // A batch and its checkpoint commit together, so a crash
            // loses both or neither: no WAL flush is needed per batch.
            let prelude = session::prelude(lock_ms, stmt_ms, true);
            let pid: Option<i32> = sqlx::raw_sql(AssertSqlSafe(prelude.clone()))
                .fetch_one(&mut *tx)
                .await
                .map_err(fail(&prelude))?
                .try_get(0)
                .ok();
            // Simple-protocol statements with the keys as literals: one
            // round trip each, and the very text `--format sql` shows.
            let (update_sql, upper, count) = match pages_per_batch {
                None => {
                    let bound_sql = sql.next_batch(lower.as_deref(), opts.batch_size);
                    let found: Option<PgRow> = sqlx::raw_sql(AssertSqlSafe(bound_sql.clone()))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(fail(&bound_sql))?;
                    let Some(found) = found else { return Ok(None) };
                    let upper: Vec<String> = (0..n).map(|i| found.get::<String, _>(i)).collect();
                    let count: i64 = found.get(n);
                    let update = sql.update(lower.as_deref(), &literals(&upper));
                    (update, upper, Some(count))
                }
                Some(per_batch) => {
                    // The table's end is read again each batch: rows an
                    // update moved past it are reached too.
                    let pages_sql = sql.pages();
                    let found: PgRow = sqlx::raw_sql(AssertSqlSafe(pages_sql.clone()))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(fail(&pages_sql))?;
                    let pages: i64 = found.get(0);
                    let file: String = found.get(2);
                    // The checkpoint is (next page, file node). A table
                    // rewritten since (VACUUM FULL, CLUSTER) has its rows
                    // on other pages: start again from page 0; the fill
                    // skips rows already filled, so none is written twice.
                    let lo: i64 = match checkpoint.as_deref() {
                        Some([page, at]) if *at == file => page.parse().unwrap_or(0),
                        _ => 0,
                    };
                    if lo >= pages {
                        return Ok(None);
                    }
                    let hi = lo + per_batch;
                    let open = hi >= pages;
                    let update = sql
                        .update_pages(&lo.to_string(), (!open).then(|| hi.to_string()).as_deref());
                    (update, vec![hi.to_string(), file], None)
                }
            };
            let w = watched(
                &db.pool,
                pid,
                lock_ms,
                &opts.interrupt,
                sqlx::raw_sql(AssertSqlSafe(update_sql.clone())).execute(&mut *tx),
            )
            .await;
            let written = match w.result {
                Ok(r) => r.rows_affected() as i64,
                Err(e) => {
                    return Err(Failure {
                        statement: update_sql,
                        error: statement_error(&e),
                        blockers: w.blockers,
                        cancelled: w.cancelled,
                    });
                }
            };
            let count = count.unwrap_or(written);
            ledger::save_checkpoint_in(&mut tx, id, pos, &upper, count)
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
                    .map_err(|e| step_error(step, "COMMIT", statement_error(&e)))?;
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

/// Pages a batch spans when paging by position: `batch_size` rows at the
/// table's rows per page (from the statistics, else from the count and
/// the size now), at least one.
async fn pages_per_batch(
    db: &PgDriver,
    step: &Step,
    sql: &BackfillSql<'_>,
    total: i64,
    batch_size: u32,
) -> Result<i64, ApplyError> {
    const WHAT: &str = "read the table's size";
    let pages_sql = sql.pages();
    let mut tx = ledger::begin(&db.pool, WHAT).await?;
    let row: PgRow = sqlx::raw_sql(AssertSqlSafe(pages_sql.clone()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| step_error(step, &pages_sql, statement_error(&e)))?;
    ledger::commit(tx, WHAT).await?;
    let pages: i64 = row.get(0);
    let per_page: f64 = row.get(1);
    let per_page = if per_page > 0.0 {
        per_page
    } else {
        total as f64 / pages.max(1) as f64
    };
    Ok(((f64::from(batch_size) / per_page.max(1.0)).floor() as i64).max(1))
}
