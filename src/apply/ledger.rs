//! The ledger, whichever database keeps it: bellows's own tables in the
//! target database, holding each migration (its plan, its state, the
//! last phase it completed and the schema that phase left), each abort
//! (the undo steps it runs), and one row per step (status, times, error
//! with SQLSTATE, backfill checkpoint). Every statement is written once
//! here ([`ledger_sql!`]) and run by one implementation of [`Ledger`]; a
//! dialect says only what differs ([`LedgerStore`]): its table names and
//! column types, how a write transaction begins, how a checkpoint is
//! stored. The apply lock is a row of the ledger too, held by each
//! driver's own `Locking`.

use sqlx::database::HasStatementCache;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Transaction, Type};

use super::ApplyError;
use super::driver::{LatestRow, Ledger, StepRow};
use super::ledger_row::{self, LedgerRow};
use super::state::{Migration, StepMark, StepState};
use super::status::StepStatus;
use crate::plan::{Phase, Plan};

/// The ledger's statements in one database's SQL.
pub(crate) struct LedgerSql {
    /// Creates the tables, or brings older ones up to date.
    pub setup: &'static str,
    /// One row: whether the ledger's tables exist.
    pub exists: &'static str,
    pub in_flight: &'static str,
    pub abort_of: &'static str,
    pub insert_migration: &'static str,
    pub insert_abort: &'static str,
    pub insert_step: &'static str,
    pub mark_aborting: &'static str,
    pub finish_abort: &'static str,
    pub step_rows: &'static str,
    pub set_status: &'static str,
    pub complete_phase: &'static str,
    pub latest: &'static str,
    pub latest_steps: &'static str,
    /// Marks a step done; run in the step's own transaction.
    pub mark_done: &'static str,
    /// Saves a backfill batch's checkpoint and rows; run in the batch's
    /// transaction.
    pub save_checkpoint: &'static str,
}

/// The ledger's statements for a database whose tables are named
/// `migrations` and `steps`, whose plan column takes `plan_in` (a
/// parameter, cast to its type) and reads back as `plan_out` (JSON text),
/// and that answers `exists` with whether the ledger is there. Parameters
/// are `$n`, timestamps `CURRENT_TIMESTAMP`: both databases read them.
macro_rules! ledger_sql {
    (
        setup: $setup:expr,
        exists: $exists:expr,
        migrations: $m:literal,
        steps: $s:literal,
        plan_cast: $cast:literal,
        plan_out: $plan:literal $(,)?
    ) => {
        $crate::apply::ledger::LedgerSql {
            setup: $setup,
            exists: $exists,
            in_flight: concat!(
                "SELECT id, state, ", $plan, ", completed_phase, phase_schema, target_schema FROM ", $m,
                " WHERE kind = 'apply' AND state IN ('in_flight', 'aborting') ORDER BY id DESC LIMIT 1"
            ),
            abort_of: concat!(
                "SELECT id, state, ", $plan, ", completed_phase, phase_schema, target_schema FROM ", $m,
                " WHERE kind = 'abort' AND aborts = $1 ORDER BY id DESC LIMIT 1"
            ),
            insert_migration: concat!(
                "INSERT INTO ", $m,
                " (current_fingerprint, target_fingerprint, plan, target_schema, start_schema)",
                " VALUES ($1, $2, $3", $cast, ", $4, $5) RETURNING id"
            ),
            insert_abort: concat!(
                "INSERT INTO ", $m,
                " (kind, aborts, current_fingerprint, target_fingerprint, plan, target_schema, start_schema)",
                " VALUES ('abort', $1, '', '', $2", $cast, ", '', '') RETURNING id"
            ),
            insert_step: concat!(
                "INSERT INTO ", $s, " (migration_id, position, phase, description) VALUES ($1, $2, $3, $4)"
            ),
            mark_aborting: concat!("UPDATE ", $m, " SET state = 'aborting' WHERE id = $1"),
            finish_abort: concat!(
                "UPDATE ", $m, " SET state = CASE WHEN id = $1 THEN 'done' ELSE 'aborted' END,",
                " finished_at = CURRENT_TIMESTAMP WHERE id IN ($1, $2)"
            ),
            step_rows: concat!(
                "SELECT status, checkpoint, rows_done FROM ", $s, " WHERE migration_id = $1 ORDER BY position"
            ),
            set_status: concat!(
                "UPDATE ", $s, " SET status = $3,",
                " started_at = CASE WHEN $3 = 'running' THEN coalesce(started_at, CURRENT_TIMESTAMP) ELSE started_at END,",
                " finished_at = CASE WHEN $3 IN ('done', 'failed', 'skipped', 'interrupted') THEN CURRENT_TIMESTAMP ELSE NULL END,",
                " error = $4, sqlstate = $5",
                " WHERE migration_id = $1 AND position = $2"
            ),
            complete_phase: concat!(
                "UPDATE ", $m, " SET completed_phase = $2, phase_schema = $3,",
                " state = CASE WHEN $4 THEN 'done' ELSE state END,",
                " finished_at = CASE WHEN $4 THEN CURRENT_TIMESTAMP ELSE NULL END",
                " WHERE id = $1"
            ),
            latest: concat!(
                "SELECT id, kind, aborts, state, completed_phase FROM ", $m, " ORDER BY id DESC LIMIT 1"
            ),
            latest_steps: concat!(
                "SELECT CAST(position AS bigint), phase, description, status, rows_done, error, sqlstate FROM ",
                $s, " WHERE migration_id = $1 ORDER BY position"
            ),
            mark_done: concat!(
                "UPDATE ", $s, " SET status = 'done', finished_at = CURRENT_TIMESTAMP, error = NULL, sqlstate = NULL",
                " WHERE migration_id = $1 AND position = $2"
            ),
            save_checkpoint: concat!(
                "UPDATE ", $s, " SET checkpoint = $3, rows_done = rows_done + $4",
                " WHERE migration_id = $1 AND position = $2"
            ),
        }
    };
}
pub(crate) use ledger_sql;

/// What one database's ledger differs in.
pub(crate) trait LedgerStore {
    type DB: Database + HasStatementCache;
    /// The ledger's statements in this database's SQL.
    const SQL: &'static LedgerSql;
    /// How a transaction that writes the ledger begins.
    const BEGIN_WRITE: &'static str;

    fn pool(&self) -> &Pool<Self::DB>;

    /// A backfill's checkpoint as column `i` of a step row stores it.
    fn checkpoint(
        row: &<Self::DB as Database>::Row,
        i: usize,
    ) -> Result<Option<Vec<String>>, ApplyError>;

    /// After a step's status is recorded (SQLite's lock beats here).
    async fn status_recorded(&self) {}
}

type Tx<S> = Transaction<'static, <S as LedgerStore>::DB>;

/// A ledger transaction: behind a transaction pooler, a statement with
/// parameters must stay on one server session; on SQLite a write takes
/// the database's write lock at once, so it never has to upgrade.
async fn begin<S: LedgerStore>(
    s: &S,
    write: bool,
    what: &'static str,
) -> Result<Tx<S>, ApplyError> {
    let pool = s.pool();
    let tx = if write {
        pool.begin_with(S::BEGIN_WRITE).await
    } else {
        pool.begin().await
    };
    tx.map_err(ApplyError::ledger(what))
}

async fn commit<S: LedgerStore>(tx: Tx<S>, what: &'static str) -> Result<(), ApplyError> {
    tx.commit().await.map_err(ApplyError::ledger(what))
}

fn plan_json(plan: &Plan) -> Result<String, ApplyError> {
    serde_json::to_string(plan).map_err(|e| ApplyError::CorruptLedger(e.to_string()))
}

/// A statement with parameters, unnamed (see `conn::postgres::pooler`).
fn statement<DB: Database + HasStatementCache>(
    sql: &'static str,
) -> sqlx::query::Query<'static, DB, DB::Arguments> {
    sqlx::query::<DB>(sql).persistent(false)
}

impl<S> Ledger for S
where
    S: LedgerStore,
    <S::DB as Database>::Arguments: IntoArguments<S::DB>,
    for<'c> &'c mut <S::DB as Database>::Connection: Executor<'c, Database = S::DB>,
    for<'c> &'c Pool<S::DB>: Executor<'c, Database = S::DB>,
    <S::DB as Database>::Row: LedgerRow,
    for<'q> i64: Encode<'q, S::DB> + Type<S::DB>,
    for<'q> bool: Encode<'q, S::DB> + Type<S::DB>,
    for<'q> &'q str: Encode<'q, S::DB> + Type<S::DB>,
    for<'q> Option<&'q str>: Encode<'q, S::DB> + Type<S::DB>,
    (i64,): for<'r> FromRow<'r, <S::DB as Database>::Row>,
    (bool,): for<'r> FromRow<'r, <S::DB as Database>::Row>,
{
    async fn exists(&self) -> Result<bool, ApplyError> {
        const WHAT: &str = "look for the ledger";
        let mut tx = begin(self, false, WHAT).await?;
        let exists = sqlx::query_scalar::<_, bool>(S::SQL.exists)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await?;
        Ok(exists)
    }

    async fn ensure(&self) -> Result<(), ApplyError> {
        sqlx::raw_sql(S::SQL.setup)
            .execute(self.pool())
            .await
            .map_err(ApplyError::ledger("create the ledger"))?;
        Ok(())
    }

    async fn in_flight(&self) -> Result<Option<Migration>, ApplyError> {
        const WHAT: &str = "read the in-flight migration";
        let mut tx = begin(self, false, WHAT).await?;
        let row = statement::<S::DB>(S::SQL.in_flight)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await?;
        row.as_ref().map(ledger_row::migration).transpose()
    }

    async fn abort_of(&self, of: i64) -> Result<Option<Migration>, ApplyError> {
        const WHAT: &str = "read the abort";
        let mut tx = begin(self, false, WHAT).await?;
        let row = statement::<S::DB>(S::SQL.abort_of)
            .bind(of)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await?;
        row.as_ref().map(ledger_row::migration).transpose()
    }

    async fn create(
        &self,
        plan: &Plan,
        target_yaml: &str,
        start_yaml: &str,
    ) -> Result<i64, ApplyError> {
        const WHAT: &str = "store the plan";
        let json = plan_json(plan)?;
        let mut tx = begin(self, true, WHAT).await?;
        let id: i64 = sqlx::query_scalar::<_, i64>(S::SQL.insert_migration)
            .persistent(false)
            .bind(plan.current_fingerprint.as_str())
            .bind(plan.target_fingerprint.as_str())
            .bind(json.as_str())
            .bind(target_yaml)
            .bind(start_yaml)
            .fetch_one(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        for (i, s) in plan.steps.iter().enumerate() {
            insert_step::<S>(&mut tx, id, i, s.phase.name(), &s.description).await?;
        }
        commit::<S>(tx, WHAT).await?;
        Ok(id)
    }

    async fn create_abort(&self, of: i64, plan: &Plan) -> Result<i64, ApplyError> {
        const WHAT: &str = "record the abort";
        let json = plan_json(plan)?;
        let mut tx = begin(self, true, WHAT).await?;
        let id: i64 = sqlx::query_scalar::<_, i64>(S::SQL.insert_abort)
            .persistent(false)
            .bind(of)
            .bind(json.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        for (i, s) in plan.steps.iter().enumerate() {
            insert_step::<S>(&mut tx, id, i, "abort", &s.description).await?;
        }
        statement::<S::DB>(S::SQL.mark_aborting)
            .bind(of)
            .execute(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await?;
        Ok(id)
    }

    async fn finish_abort(&self, abort: i64, of: i64) -> Result<(), ApplyError> {
        const WHAT: &str = "record the finished abort";
        let mut tx = begin(self, true, WHAT).await?;
        statement::<S::DB>(S::SQL.finish_abort)
            .bind(abort)
            .bind(of)
            .execute(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await
    }

    async fn step_rows(&self, id: i64) -> Result<Vec<StepRow>, ApplyError> {
        const WHAT: &str = "read the steps";
        let mut tx = begin(self, false, WHAT).await?;
        let rows = statement::<S::DB>(S::SQL.step_rows)
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await?;
        rows.iter()
            .map(|r| {
                Ok(StepRow {
                    status: StepState::parse(&r.text(0)?)?,
                    checkpoint: S::checkpoint(r, 1)?,
                    rows_done: r.int(2)?,
                })
            })
            .collect()
    }

    async fn set_status(&self, id: i64, pos: usize, mark: StepMark<'_>) -> Result<(), ApplyError> {
        const WHAT: &str = "record a step's status";
        let (error, sqlstate) = mark.error();
        let mut tx = begin(self, true, WHAT).await?;
        statement::<S::DB>(S::SQL.set_status)
            .bind(id)
            .bind(pos as i64)
            .bind(mark.state().name())
            .bind(error)
            .bind(sqlstate)
            .execute(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await?;
        self.status_recorded().await;
        Ok(())
    }

    async fn complete_phase(&self, id: i64, phase: Phase, schema: &str) -> Result<(), ApplyError> {
        const WHAT: &str = "record the finished phase";
        let finished = phase == Phase::Contract;
        let mut tx = begin(self, true, WHAT).await?;
        statement::<S::DB>(S::SQL.complete_phase)
            .bind(id)
            .bind(phase.name())
            .bind(schema)
            .bind(finished)
            .execute(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit::<S>(tx, WHAT).await
    }

    /// The latest migration (or abort) and its steps, read in one
    /// transaction.
    async fn latest(&self) -> Result<Option<(LatestRow, Vec<StepStatus>)>, ApplyError> {
        const WHAT: &str = "read the status";
        let mut tx = begin(self, false, WHAT).await?;
        let m = statement::<S::DB>(S::SQL.latest)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        let Some(m) = m else {
            commit::<S>(tx, WHAT).await?;
            return Ok(None);
        };
        let latest = ledger_row::latest(&m)?;
        let rows = statement::<S::DB>(S::SQL.latest_steps)
            .bind(latest.id)
            .fetch_all(&mut *tx)
            .await
            .map_err(ApplyError::ledger("read the steps"))?;
        commit::<S>(tx, WHAT).await?;
        let steps = rows
            .iter()
            .map(ledger_row::step_status)
            .collect::<Result<_, ApplyError>>()?;
        Ok(Some((latest, steps)))
    }
}

/// A pending row for step `pos` of record `id`.
async fn insert_step<S: LedgerStore>(
    tx: &mut Tx<S>,
    id: i64,
    pos: usize,
    phase: &str,
    description: &str,
) -> Result<(), ApplyError>
where
    <S::DB as Database>::Arguments: IntoArguments<S::DB>,
    for<'c> &'c mut <S::DB as Database>::Connection: Executor<'c, Database = S::DB>,
    for<'q> i64: Encode<'q, S::DB> + Type<S::DB>,
    for<'q> &'q str: Encode<'q, S::DB> + Type<S::DB>,
{
    statement::<S::DB>(S::SQL.insert_step)
        .bind(id)
        .bind(pos as i64)
        .bind(phase)
        .bind(description)
        .execute(&mut **tx)
        .await
        .map_err(ApplyError::ledger("store the plan's steps"))?;
    Ok(())
}
