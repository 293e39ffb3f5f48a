//! SQLite's driver: the ledger in the file (`ledger.rs`), a step in a
//! `BEGIN IMMEDIATE` transaction under a busy timeout that stands for
//! PostgreSQL's lock_timeout (a write that cannot start within it is
//! retried by apply's policy), a table rebuild as its own statements on
//! one connection with `PRAGMA foreign_key_check` refusing to commit a
//! broken foreign key, and backfills in rowid batches, each with its
//! checkpoint in the batch's transaction.

mod ledger;

use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};

use crate::apply::driver::{Driver, ErrorClass, Ledger, StatementError, StepRun};
use crate::apply::ledger::LedgerStore;
use crate::apply::pace::BatchSizer;
use crate::apply::state::StepMark;
use crate::apply::steps::{Failure, after_failure, between_batches, step_error};
use crate::apply::{ApplyError, Event};
use crate::conn::SqliteConnInfo;
use crate::introspect::{self, Introspection, Options};
use crate::model::Schema;
use crate::plan::{Backfill, FOREIGN_KEY_CHECK, SQLITE_ROWID};
use crate::sql::sqlite as sql;

pub(in crate::apply) struct SqliteDriver {
    pool: SqlitePool,
}

impl SqliteDriver {
    /// Opens the file; `make`: made when it is not there (apply's first
    /// run on a new file), else a missing file is an error.
    pub async fn open(info: SqliteConnInfo, make: bool) -> Result<SqliteDriver, ApplyError> {
        let options = info.options(make, Duration::from_secs(5))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(|e| crate::conn::ConnError::Connect {
                target: info.display(),
                source: e.into(),
            })?;
        Ok(SqliteDriver { pool })
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, ApplyError> {
        self.pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))
    }
}

/// SQLite's result codes (extended ones too) as apply reads them.
pub(super) fn error_class(code: Option<&str>) -> ErrorClass {
    match code.and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff) {
        // SQLITE_BUSY, SQLITE_LOCKED: another connection writes.
        Some(5) | Some(6) => ErrorClass::LockNotGranted,
        // SQLITE_INTERRUPT.
        Some(9) => ErrorClass::Cancelled,
        _ => ErrorClass::Other,
    }
}

fn statement_error(e: &sqlx::Error) -> StatementError {
    let sqlstate = e
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string());
    let message = match e.as_database_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    };
    StatementError {
        class: error_class(sqlstate.as_deref()),
        sqlstate,
        message,
    }
}

fn failure(statement: &str, e: &sqlx::Error) -> Failure {
    Failure {
        statement: statement.to_string(),
        error: statement_error(e),
        blockers: Vec::new(),
        cancelled: false,
    }
}

async fn exec(conn: &mut SqliteConnection, stmt: &str) -> Result<(), Failure> {
    sqlx::raw_sql(AssertSqlSafe(stmt.to_string()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| failure(stmt, &e))
}

/// The rows `PRAGMA foreign_key_check` found, as a failure that names
/// them (ten at most).
async fn foreign_key_check(conn: &mut SqliteConnection) -> Result<(), Failure> {
    let rows = sqlx::query(FOREIGN_KEY_CHECK)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| failure(FOREIGN_KEY_CHECK, &e))?;
    if rows.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = rows
        .iter()
        .take(10)
        .map(|r| {
            let table: String = r.try_get(0).unwrap_or_default();
            let rowid: Option<i64> = r.try_get(1).unwrap_or_default();
            let parent: String = r.try_get(2).unwrap_or_default();
            format!(
                "{table} rowid {} has no row in {parent}",
                rowid.map_or("?".to_string(), |n| n.to_string())
            )
        })
        .collect();
    Err(Failure {
        statement: FOREIGN_KEY_CHECK.to_string(),
        error: StatementError {
            class: ErrorClass::Other,
            sqlstate: None,
            message: format!(
                "{} row(s) break a foreign key, so the rebuild was rolled back: {}{}; fix or delete them and run apply again",
                rows.len(),
                shown.join("; "),
                if rows.len() > 10 { "; …" } else { "" }
            ),
        },
        blockers: Vec::new(),
        cancelled: false,
    })
}

impl SqliteDriver {
    /// A step in one write transaction that also marks it done: either
    /// all of it happened and the ledger says so, or none. Statements the
    /// step brings itself (a rebuild's PRAGMAs, BEGIN and COMMIT) run as
    /// written, with the mark just before its COMMIT.
    async fn run_written(&self, s: &StepRun<'_>) -> Result<(), ApplyError> {
        let (id, pos) = (s.id, s.pos);
        let busy_ms = busy_timeout_ms(s);
        let statements = s.step.statements.clone();
        let own = statements.iter().any(|x| x.eq_ignore_ascii_case("COMMIT"));
        self.retrying(s, move |conn| {
            let statements = statements.clone();
            Box::pin(async move {
                exec(conn, &format!("PRAGMA busy_timeout = {busy_ms}")).await?;
                if !own {
                    exec(conn, "BEGIN IMMEDIATE").await?;
                }
                for stmt in &statements {
                    if stmt == FOREIGN_KEY_CHECK {
                        foreign_key_check(conn).await?;
                        continue;
                    }
                    if stmt.eq_ignore_ascii_case("COMMIT") {
                        mark_done(conn, id, pos).await?;
                    }
                    exec(conn, stmt).await?;
                }
                if !own {
                    mark_done(conn, id, pos).await?;
                    exec(conn, "COMMIT").await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Runs `attempt` on a connection from the pool until it succeeds or
    /// the retry policy ends the step. After each failure whatever it
    /// began is undone, and the connection goes back to the pool with
    /// foreign keys enforced (a rebuild turns them off).
    async fn retrying<T>(
        &self,
        s: &StepRun<'_>,
        mut attempt: impl for<'c> FnMut(&'c mut SqliteConnection) -> OnConn<'c, T, Failure>,
    ) -> Result<T, ApplyError> {
        let at = s.resumes();
        let mut tries = 0;
        loop {
            let mut conn = self.conn().await?;
            match attempt(&mut conn).await {
                Ok(v) => return Ok(v),
                Err(f) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    let _ = sqlx::raw_sql("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await;
                    after_failure(f, &mut tries, s, &at).await?;
                }
            }
        }
    }

    /// Batches of rows by rowid, each in its own write transaction with
    /// its checkpoint; goes on from the last checkpoint after a stop.
    async fn backfill(&self, s: &StepRun<'_>, b: &Backfill) -> Result<(), ApplyError> {
        if !matches!(b.key.as_slice(), [k] if k.as_str() == SQLITE_ROWID) {
            return self.fill_at_once(s, b).await;
        }
        let StepRun {
            id,
            pos,
            step,
            row,
            opts,
            obs,
        } = *s;
        let busy_ms = busy_timeout_ms(s);
        let (bounds, update) = sql::backfill_batch(b);
        let mut lo: i64 = row
            .checkpoint
            .as_ref()
            .and_then(|c| c.first())
            .and_then(|c| c.parse().ok())
            .unwrap_or(i64::MIN);
        let before = row.rows_done as u64;
        let mut done = before;
        let mut conn = self.conn().await?;
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            crate::sql::sqlite::quote_ident(b.table.name.as_str())
        )))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| step_error(step, "SELECT count(*)", statement_error(&e)))?;
        let mut sizer = BatchSizer::new(opts, opts.batch_size.map(u64::from), 1000, 100, 100_000);
        let at = || s.resumes();
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let batch = async {
                begin_write(&mut conn, busy_ms).await?;
                let hi: Option<i64> = sqlx::query_scalar(AssertSqlSafe(bounds.clone()))
                    .bind(lo)
                    .bind(sizer.size() as i64)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| failure(&bounds, &e))?;
                let Some(hi) = hi else {
                    exec(&mut conn, "COMMIT").await?;
                    return Ok(None);
                };
                let checkpoint = serde_json::to_string(&[hi.to_string()]).unwrap_or_default();
                let changed =
                    commit_batch(&mut conn, &update, &[lo, hi], (id, pos), &checkpoint).await?;
                Ok::<Option<(i64, u64)>, Failure>(Some((hi, changed)))
            }
            .await;
            match batch {
                Ok(None) => {
                    obs.on(Event::BackfillProgress {
                        step,
                        done,
                        total: total as u64,
                        before,
                        finished: true,
                    });
                    return Ok(());
                }
                Ok(Some((hi, changed))) => {
                    sizer.record(changed.max(1), started.elapsed());
                    lo = hi;
                    done += changed;
                    attempt = 0;
                    obs.on(Event::BackfillProgress {
                        step,
                        done,
                        total: total as u64,
                        before,
                        finished: false,
                    });
                    self.beat().await;
                    between_batches(opts, &at).await?;
                }
                Err(f) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    after_failure(f, &mut attempt, s, &at()).await?;
                }
            }
        }
    }
}

impl SqliteDriver {
    /// A table with no rowid (WITHOUT ROWID) is filled in one write
    /// transaction, with its row count as the checkpoint.
    async fn fill_at_once(&self, s: &StepRun<'_>, b: &Backfill) -> Result<(), ApplyError> {
        let busy_ms = busy_timeout_ms(s);
        let update = sql::update(b, "true");
        let (id, pos) = (s.id, s.pos);
        let changed = self
            .retrying(s, move |conn| {
                let update = update.clone();
                Box::pin(async move {
                    begin_write(conn, busy_ms).await?;
                    commit_batch(conn, &update, &[], (id, pos), "[]").await
                })
            })
            .await?;
        let before = s.row.rows_done as u64;
        s.obs.on(Event::BackfillProgress {
            step: s.step,
            done: before + changed,
            total: before + changed,
            before,
            finished: true,
        });
        Ok(())
    }
}

/// The step's lock timeout as SQLite's busy timeout: how long a write
/// waits for another connection's. `--lock-timeout none` (0) waits
/// without end, as on PostgreSQL; SQLite's 0 would not wait at all.
fn busy_timeout_ms(s: &StepRun<'_>) -> u64 {
    match s.timeouts().0 {
        0 => i32::MAX as u64,
        ms => ms.min(i32::MAX as u64),
    }
}

/// Work on a borrowed connection, as a future that owns what it needs
/// (so it can be retried, and is `Send`).
pub(super) type OnConn<'c, T, E> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>>;

/// A write transaction under the step's busy timeout.
async fn begin_write(conn: &mut SqliteConnection, busy_ms: u64) -> Result<(), Failure> {
    exec(conn, &format!("PRAGMA busy_timeout = {busy_ms}")).await?;
    exec(conn, "BEGIN IMMEDIATE").await
}

/// A backfill batch's end: its UPDATE (with `binds`), the step's
/// checkpoint and the rows it changed, committed together. Returns the
/// rows changed.
async fn commit_batch(
    conn: &mut SqliteConnection,
    update: &str,
    binds: &[i64],
    (id, pos): (i64, usize),
    checkpoint: &str,
) -> Result<u64, Failure> {
    let mut q = sqlx::query(AssertSqlSafe(update.to_string()));
    for b in binds {
        q = q.bind(*b);
    }
    let changed = q
        .execute(&mut *conn)
        .await
        .map_err(|e| failure(update, &e))?
        .rows_affected();
    sqlx::query(SqliteDriver::SQL.save_checkpoint)
        .bind(id)
        .bind(pos as i64)
        .bind(checkpoint.to_string())
        .bind(changed as i64)
        .execute(&mut *conn)
        .await
        .map_err(|e| failure(SqliteDriver::SQL.save_checkpoint, &e))?;
    exec(conn, "COMMIT").await?;
    Ok(changed)
}

async fn mark_done(conn: &mut SqliteConnection, id: i64, pos: usize) -> Result<(), Failure> {
    sqlx::query(SqliteDriver::SQL.mark_done)
        .bind(id)
        .bind(pos as i64)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| failure(SqliteDriver::SQL.mark_done, &e))
}

impl Driver for SqliteDriver {
    async fn read_live(&self) -> Result<Introspection, ApplyError> {
        let mut conn = self.conn().await?;
        Ok(introspect::sqlite::introspect(&mut conn, &Options::default()).await?)
    }

    /// SQLite keeps a target's texts as written: nothing to put in its
    /// words (and its plans refuse views and functions).
    async fn canonicalize(
        &self,
        _target: &mut Schema,
        _pending: &introspect::Pending,
    ) -> Result<Vec<String>, ApplyError> {
        Ok(Vec::new())
    }

    async fn run_step(&self, s: &StepRun<'_>) -> Result<(), ApplyError> {
        if let Some(b) = &s.step.backfill {
            self.backfill(s, b).await?;
            return self.set_status(s.id, s.pos, StepMark::Done).await;
        }
        self.run_written(s).await
    }

    fn error_class(&self, sqlstate: Option<&str>) -> ErrorClass {
        error_class(sqlstate)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_locked_are_retried_and_the_rest_is_not() {
        for (code, class) in [
            ("5", ErrorClass::LockNotGranted),
            ("517", ErrorClass::LockNotGranted),
            ("6", ErrorClass::LockNotGranted),
            ("9", ErrorClass::Cancelled),
            ("787", ErrorClass::Other),
            ("19", ErrorClass::Other),
        ] {
            assert_eq!(error_class(Some(code)), class, "{code}");
        }
        assert_eq!(error_class(None), ErrorClass::Other);
    }
}
