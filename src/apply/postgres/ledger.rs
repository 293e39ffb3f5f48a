//! The ledger: bellows's own schema in the target database, holding each
//! migration (its plan, its state, the last phase it completed and the
//! schema that phase left), each abort (the undo steps it runs), and one
//! row per step (status, times, error with SQLSTATE, backfill checkpoint).
//! States and statuses are typed here; the text in the tables is theirs.
//! The apply lock is a row here too (`lock.rs`).

use sqlx::{PgPool, Postgres, Row, Transaction};

use super::driver::PgDriver;
use super::lock::{self, ApplyLock};
use crate::apply::ApplyError;
use crate::apply::driver::{Holder, LatestRow, Ledger, StepRow};
use crate::apply::state::{Migration, MigrationState, StepState, phase_from};
use crate::apply::status::StepStatus;
use crate::conn::postgres::{query, query_scalar};
use crate::introspect::LEDGER_SCHEMA;
use crate::plan::{Phase, Plan};

const SETUP: &str = "
    CREATE SCHEMA IF NOT EXISTS bellows;
    CREATE TABLE IF NOT EXISTS bellows.migrations (
        id bigserial PRIMARY KEY,
        current_fingerprint text NOT NULL,
        target_fingerprint text NOT NULL,
        plan jsonb NOT NULL,
        target_schema text NOT NULL,
        start_schema text NOT NULL,
        completed_phase text,
        phase_schema text,
        state text NOT NULL DEFAULT 'in_flight',
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz);
    CREATE TABLE IF NOT EXISTS bellows.steps (
        migration_id bigint NOT NULL REFERENCES bellows.migrations ON DELETE CASCADE,
        position int NOT NULL,
        phase text NOT NULL,
        description text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        started_at timestamptz,
        finished_at timestamptz,
        error text,
        sqlstate text,
        checkpoint text[],
        rows_done bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (migration_id, position));
    CREATE TABLE IF NOT EXISTS bellows.apply_lock (
        id int PRIMARY KEY CHECK (id = 1),
        host text NOT NULL,
        pid int NOT NULL,
        since timestamptz NOT NULL DEFAULT now(),
        heartbeat timestamptz NOT NULL DEFAULT now());
    ALTER TABLE bellows.migrations ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'apply';
    ALTER TABLE bellows.migrations ADD COLUMN IF NOT EXISTS aborts bigint REFERENCES bellows.migrations;";

/// A transaction for ledger statements: behind a transaction pooler, a
/// statement with parameters must stay on one server session.
pub async fn begin(
    pool: &PgPool,
    what: &'static str,
) -> Result<Transaction<'static, Postgres>, ApplyError> {
    pool.begin().await.map_err(ApplyError::ledger(what))
}

pub async fn commit(
    tx: Transaction<'static, Postgres>,
    what: &'static str,
) -> Result<(), ApplyError> {
    tx.commit().await.map_err(ApplyError::ledger(what))
}

const MIGRATION_COLUMNS: &str =
    "id, state, plan::text, completed_phase, phase_schema, target_schema";

fn migration(row: &sqlx::postgres::PgRow) -> Result<Migration, ApplyError> {
    let text: String = row.get(2);
    let plan: Plan =
        serde_json::from_str(&text).map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
    let completed: Option<String> = row.get(3);
    let state: String = row.get(1);
    Ok(Migration {
        id: row.get(0),
        state: MigrationState::parse(&state)?,
        plan,
        completed_phase: completed.as_deref().and_then(phase_from),
        phase_schema: row.get(4),
        target_schema: row.get(5),
    })
}

/// Marks step `pos` of migration `id` done inside the step's own
/// transaction, so a crash never leaves it run but unrecorded.
pub(in crate::apply) async fn mark_done_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    pos: usize,
) -> Result<(), ApplyError> {
    query("UPDATE bellows.steps SET status = 'done', finished_at = now(), error = NULL, sqlstate = NULL WHERE migration_id = $1 AND position = $2")
        .bind(id)
        .bind(pos as i32)
        .execute(tx)
        .await
        .map_err(ApplyError::ledger("record a finished step"))?;
    Ok(())
}

/// Records a backfill batch's checkpoint (its upper key, or page) and the
/// rows it wrote, inside the batch's own transaction.
pub(in crate::apply) async fn save_checkpoint_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    pos: usize,
    upper: &[String],
    rows: i64,
) -> Result<(), sqlx::Error> {
    query("UPDATE bellows.steps SET checkpoint = $3, rows_done = rows_done + $4 WHERE migration_id = $1 AND position = $2")
        .bind(id)
        .bind(pos as i32)
        .bind(upper)
        .bind(rows)
        .execute(tx)
        .await?;
    Ok(())
}

impl Ledger for PgDriver {
    type Lock = ApplyLock;

    async fn ensure(&self) -> Result<(), ApplyError> {
        debug_assert_eq!(LEDGER_SCHEMA, "bellows");
        sqlx::raw_sql(SETUP)
            .execute(&self.pool)
            .await
            .map_err(ApplyError::ledger("create the ledger"))?;
        Ok(())
    }

    /// The migration that is in flight or being aborted, if any.
    async fn in_flight(&self) -> Result<Option<Migration>, ApplyError> {
        const WHAT: &str = "read the in-flight migration";
        let mut tx = begin(&self.pool, WHAT).await?;
        let row = query(sqlx::AssertSqlSafe(format!(
            "SELECT {MIGRATION_COLUMNS} FROM bellows.migrations
              WHERE kind = 'apply' AND state IN ('in_flight', 'aborting') ORDER BY id DESC LIMIT 1"
        )))
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await?;
        row.as_ref().map(migration).transpose()
    }

    /// The abort of migration `of`, if one was started.
    async fn abort_of(&self, of: i64) -> Result<Option<Migration>, ApplyError> {
        const WHAT: &str = "read the abort";
        let mut tx = begin(&self.pool, WHAT).await?;
        let row = query(sqlx::AssertSqlSafe(format!(
            "SELECT {MIGRATION_COLUMNS} FROM bellows.migrations
              WHERE kind = 'abort' AND aborts = $1 ORDER BY id DESC LIMIT 1"
        )))
        .bind(of)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await?;
        row.as_ref().map(migration).transpose()
    }

    async fn create(
        &self,
        plan: &Plan,
        target_yaml: &str,
        start_yaml: &str,
    ) -> Result<i64, ApplyError> {
        let json =
            serde_json::to_string(plan).map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
        let mut tx = begin(&self.pool, "store the plan").await?;
        let id: i64 = query_scalar(
            "INSERT INTO bellows.migrations (current_fingerprint, target_fingerprint, plan, target_schema, start_schema)
             VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING id",
        )
        .bind(&plan.current_fingerprint)
        .bind(&plan.target_fingerprint)
        .bind(json)
        .bind(target_yaml)
        .bind(start_yaml)
        .fetch_one(&mut *tx)
        .await
        .map_err(ApplyError::ledger("store the plan"))?;
        for (i, s) in plan.steps.iter().enumerate() {
            query("INSERT INTO bellows.steps (migration_id, position, phase, description) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(i as i32)
                .bind(s.phase.name())
                .bind(&s.description)
                .execute(&mut *tx)
                .await
                .map_err(ApplyError::ledger("store the plan's steps"))?;
        }
        tx.commit()
            .await
            .map_err(ApplyError::ledger("store the plan"))?;
        Ok(id)
    }

    /// Records the abort of migration `of`, whose undo steps are `plan`, and
    /// marks `of` as being aborted, in one transaction.
    async fn create_abort(&self, of: i64, plan: &Plan) -> Result<i64, ApplyError> {
        const WHAT: &str = "record the abort";
        let json =
            serde_json::to_string(plan).map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
        let mut tx = begin(&self.pool, WHAT).await?;
        let id: i64 = query_scalar(
            "INSERT INTO bellows.migrations (kind, aborts, current_fingerprint, target_fingerprint, plan, target_schema, start_schema)
             VALUES ('abort', $1, '', '', $2::jsonb, '', '') RETURNING id",
        )
        .bind(of)
        .bind(json)
        .fetch_one(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        for (i, s) in plan.steps.iter().enumerate() {
            query("INSERT INTO bellows.steps (migration_id, position, phase, description) VALUES ($1, $2, 'abort', $3)")
                .bind(id)
                .bind(i as i32)
                .bind(&s.description)
                .execute(&mut *tx)
                .await
                .map_err(ApplyError::ledger(WHAT))?;
        }
        query("UPDATE bellows.migrations SET state = 'aborting' WHERE id = $1")
            .bind(of)
            .execute(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await?;
        Ok(id)
    }

    /// The abort finished: it is done, and the migration it undid is aborted.
    async fn finish_abort(&self, abort: i64, of: i64) -> Result<(), ApplyError> {
        const WHAT: &str = "record the finished abort";
        let mut tx = begin(&self.pool, WHAT).await?;
        query(
            "UPDATE bellows.migrations SET state = CASE WHEN id = $1 THEN 'done' ELSE 'aborted' END,
                    finished_at = now() WHERE id IN ($1, $2)",
        )
        .bind(abort)
        .bind(of)
        .execute(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await
    }

    async fn step_rows(&self, id: i64) -> Result<Vec<StepRow>, ApplyError> {
        const WHAT: &str = "read the steps";
        let mut tx = begin(&self.pool, WHAT).await?;
        let rows = query("SELECT status, checkpoint, rows_done FROM bellows.steps WHERE migration_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await?;
        rows.into_iter()
            .map(|r| {
                let status: String = r.get(0);
                Ok(StepRow {
                    status: StepState::parse(&status)?,
                    checkpoint: r.get(1),
                    rows_done: r.get(2),
                })
            })
            .collect()
    }

    async fn set_status(
        &self,
        id: i64,
        pos: usize,
        status: StepState,
        error: Option<(&str, Option<&str>)>,
    ) -> Result<(), ApplyError> {
        const WHAT: &str = "record a step's status";
        let mut tx = begin(&self.pool, WHAT).await?;
        query(
            "UPDATE bellows.steps SET status = $3,
                    started_at = CASE WHEN $3 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
                    finished_at = CASE WHEN $3 IN ('done', 'failed', 'skipped', 'interrupted') THEN now() ELSE NULL END,
                    error = $4, sqlstate = $5
              WHERE migration_id = $1 AND position = $2",
        )
        .bind(id)
        .bind(pos as i32)
        .bind(status.name())
        .bind(error.map(|e| e.0))
        .bind(error.and_then(|e| e.1))
        .execute(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await
    }

    async fn complete_phase(
        &self,
        id: i64,
        phase: Phase,
        schema_yaml: &str,
        finished: bool,
    ) -> Result<(), ApplyError> {
        const WHAT: &str = "record the finished phase";
        let mut tx = begin(&self.pool, WHAT).await?;
        query(
            "UPDATE bellows.migrations SET completed_phase = $2, phase_schema = $3,
                    state = CASE WHEN $4 THEN 'done' ELSE state END,
                    finished_at = CASE WHEN $4 THEN now() ELSE NULL END
              WHERE id = $1",
        )
        .bind(id)
        .bind(phase.name())
        .bind(schema_yaml)
        .bind(finished)
        .execute(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await
    }

    /// Whether the ledger's tables exist (nothing was ever applied if not).
    async fn exists(&self) -> Result<bool, ApplyError> {
        const WHAT: &str = "look for the ledger";
        let mut tx = begin(&self.pool, WHAT).await?;
        let exists = query_scalar("SELECT to_regclass('bellows.migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        commit(tx, WHAT).await?;
        Ok(exists)
    }

    /// The latest migration (or abort) and its steps, read in one transaction.
    async fn latest(&self) -> Result<Option<(LatestRow, Vec<StepStatus>)>, ApplyError> {
        const WHAT: &str = "read the status";
        let mut tx = begin(&self.pool, WHAT).await?;
        let m = query(
            "SELECT id, kind, aborts, state, completed_phase FROM bellows.migrations ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
        let Some(m) = m else {
            commit(tx, WHAT).await?;
            return Ok(None);
        };
        let id: i64 = m.get(0);
        let rows = query("SELECT position, phase, description, status, rows_done, error, sqlstate FROM bellows.steps WHERE migration_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(ApplyError::ledger("read the steps"))?;
        commit(tx, WHAT).await?;
        let state: String = m.get(3);
        let latest = LatestRow {
            id,
            kind: m.get(1),
            aborts: m.get(2),
            state: MigrationState::parse(&state)?,
            completed_phase: m.get(4),
        };
        let steps = rows
            .into_iter()
            .map(|r| {
                let status: String = r.get(3);
                Ok(StepStatus {
                    position: r.get(0),
                    phase: r.get(1),
                    description: r.get(2),
                    status: StepState::parse(&status)?,
                    rows_done: r.get(4),
                    error: r.get(5),
                    sqlstate: r.get(6),
                })
            })
            .collect::<Result<_, ApplyError>>()?;
        Ok(Some((latest, steps)))
    }

    async fn holder(&self) -> Result<Option<Holder>, ApplyError> {
        lock::holder(&self.pool).await
    }

    async fn lock(&self) -> Result<ApplyLock, ApplyError> {
        ApplyLock::acquire(&self.pool).await
    }
}
