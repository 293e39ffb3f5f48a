//! Backfills: batches by key (keyset pagination) or by ranges of pages,
//! each its own short transaction that also records its checkpoint, so a
//! re-run (after a crash, or a stop request between batches) goes on
//! after the last committed batch and no row is written twice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

use super::driver::PgDriver;
use super::health::PgHealth;
use super::ledger;
use super::session;
use super::steps::statement_error;
use super::watch::watched;
use crate::apply::driver::StepRun;
use crate::apply::pace::{BatchSizer, wait_until_healthy};
use crate::apply::steps::{Failure, after_failure, between_batches, step_error};
use crate::apply::{ApplyError, Event};
use crate::conn::postgres::query_scalar;
use crate::plan::Backfill;
use crate::plan::Step;
use crate::sql::postgres::{BackfillSql, literals, qualified};

/// A committed batch: the last key it covered (or the next page and the
/// table's file), its rows, the units it spanned (rows, or pages), and
/// when its UPDATE began.
type Batch = (Vec<String>, i64, u64, Instant);

/// Rows the first batch takes when batches are sized by time: small
/// enough to be quick on any row width; the sizer doubles it from there.
const FIRST_ROWS: u64 = 1000;
const MAX_ROWS: u64 = 1_000_000;

/// Batches by key or by ranges of pages, each its own transaction that
/// also records the checkpoint (the last key, or the next page): a re-run
/// continues after the last committed batch, and no row is updated twice.
/// Before each batch the database's health is read, and the backfill
/// waits while it is poor.
pub(super) async fn backfill(
    db: &PgDriver,
    s: &StepRun<'_>,
    b: &Backfill,
) -> Result<(), ApplyError> {
    let StepRun {
        step, opts, obs, ..
    } = *s;
    let sql = BackfillSql::new(b);
    let mut tx = ledger::begin(&db.pool, "count the rows").await?;
    let count_sql = format!("SELECT count(*) FROM {}", qualified(&b.table));
    let total: i64 = query_scalar(AssertSqlSafe(count_sql.clone()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| step_error(step, &count_sql, statement_error(&e)))?;
    ledger::commit(tx, "count the rows").await?;
    let fixed = opts.batch_size.map(u64::from);
    let mut sizer = if b.by_position() {
        let rows_per_page = rows_per_page(db, step, &sql, total).await?;
        let pages = |rows: u64| ((rows as f64 / rows_per_page).floor() as u64).max(1);
        BatchSizer::new(
            opts,
            fixed.map(pages),
            pages(FIRST_ROWS),
            1,
            pages(MAX_ROWS),
        )
    } else {
        BatchSizer::new(opts, fixed, FIRST_ROWS, 1, MAX_ROWS)
    };
    let n = b.key.len();
    let (lock_ms, stmt_ms) = s.timeouts();
    let mut checkpoint = s.row.checkpoint.clone();
    let before = s.row.rows_done.max(0) as u64;
    let done = AtomicU64::new(before);
    let mut attempt = 0;
    let at = || {
        format!(
            "in `{}` after {} rows; it goes on from its checkpoint on resume",
            step.description,
            done.load(Ordering::Relaxed)
        )
    };
    let mut health = PgHealth::new(&db.pool, obs, &at);
    loop {
        wait_until_healthy(&mut health, step, &at, opts, obs).await?;
        let size = sizer.size();
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
            let (update_sql, upper, count, units) = match b.by_position() {
                false => {
                    // A full batch: its last key, found by skipping index
                    // entries; else the rest, counted.
                    let end_sql = sql.batch_end(lower.as_deref(), size);
                    let end: Option<PgRow> = sqlx::raw_sql(AssertSqlSafe(end_sql.clone()))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(fail(&end_sql))?;
                    let (upper, count) = match end {
                        Some(end) => {
                            let upper: Vec<String> =
                                (0..n).map(|i| end.get::<String, _>(i)).collect();
                            (upper, size as i64)
                        }
                        None => {
                            let rest_sql = sql.last_batch(lower.as_deref(), size);
                            let rest: Option<PgRow> =
                                sqlx::raw_sql(AssertSqlSafe(rest_sql.clone()))
                                    .fetch_optional(&mut *tx)
                                    .await
                                    .map_err(fail(&rest_sql))?;
                            let Some(rest) = rest else { return Ok(None) };
                            let upper: Vec<String> =
                                (0..n).map(|i| rest.get::<String, _>(i)).collect();
                            (upper, rest.get::<i64, _>(n))
                        }
                    };
                    let update = sql.update(lower.as_deref(), &literals(&upper));
                    (update, upper, Some(count), count.max(0) as u64)
                }
                true => {
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
                    let hi = lo.saturating_add(size as i64);
                    let open = hi >= pages;
                    let update = sql
                        .update_pages(&lo.to_string(), (!open).then(|| hi.to_string()).as_deref());
                    (update, vec![hi.to_string(), file], None, size)
                }
            };
            let started = Instant::now();
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
            ledger::save_checkpoint_in(&mut tx, s.id, s.pos, &upper, count)
                .await
                .map_err(fail("record the checkpoint"))?;
            Ok(Some((upper, count, units, started)))
        }
        .await;
        match run {
            Ok(None) => {
                let _ = tx.commit().await;
                obs.on(Event::BackfillProgress {
                    step,
                    done: done.load(Ordering::Relaxed),
                    total: total as u64,
                    before,
                    finished: true,
                });
                return Ok(());
            }
            Ok(Some((upper, count, units, started))) => {
                tx.commit()
                    .await
                    .map_err(|e| step_error(step, "COMMIT", statement_error(&e)))?;
                // From the UPDATE to the commit: how long the batch held
                // its row locks, which is what its size is set by.
                sizer.record(units, started.elapsed());
                checkpoint = Some(upper);
                done.fetch_add(count as u64, Ordering::Relaxed);
                attempt = 0;
                obs.on(Event::BackfillProgress {
                    step,
                    done: done.load(Ordering::Relaxed),
                    total: total as u64,
                    before,
                    finished: false,
                });
                between_batches(opts, &at).await?;
            }
            Err(f) => {
                let _ = tx.rollback().await;
                after_failure(f, &mut attempt, s, &at()).await?;
            }
        }
    }
}

/// The table's rows per page (from the statistics, else from the count
/// and the size now), at least one: how many pages a number of rows
/// spans when paging by position.
async fn rows_per_page(
    db: &PgDriver,
    step: &Step,
    sql: &BackfillSql<'_>,
    total: i64,
) -> Result<f64, ApplyError> {
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
    Ok(per_page.max(1.0))
}
