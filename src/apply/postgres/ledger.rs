//! The ledger on PostgreSQL: the schema `bellows` in the target database,
//! the plan as `jsonb` and a backfill's checkpoint as `text[]`; its
//! statements and their use are `apply/ledger.rs`'s. The apply lock is a
//! row here too (`lock.rs`).

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::driver::PgDriver;
use super::lock::{self, ApplyLock};
use crate::apply::ApplyError;
use crate::apply::driver::{Holder, Locking};
use crate::apply::ledger::{LedgerSql, LedgerStore, ledger_sql};
use crate::conn::postgres::query;
use crate::introspect::LEDGER_SCHEMA;

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

/// Marks step `pos` of migration `id` done inside the step's own
/// transaction, so a crash never leaves it run but unrecorded.
pub(in crate::apply) async fn mark_done_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    pos: usize,
) -> Result<(), ApplyError> {
    query(PgDriver::SQL.mark_done)
        .bind(id)
        .bind(pos as i64)
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
    query(PgDriver::SQL.save_checkpoint)
        .bind(id)
        .bind(pos as i64)
        .bind(upper)
        .bind(rows)
        .execute(tx)
        .await?;
    Ok(())
}

impl LedgerStore for PgDriver {
    type DB = Postgres;
    const SQL: &'static LedgerSql = &ledger_sql! {
        setup: SETUP,
        exists: "SELECT to_regclass('bellows.migrations') IS NOT NULL",
        migrations: "bellows.migrations",
        steps: "bellows.steps",
        plan_cast: "::jsonb",
        plan_out: "plan::text",
    };
    const BEGIN_WRITE: &'static str = "BEGIN";

    fn pool(&self) -> &PgPool {
        debug_assert_eq!(LEDGER_SCHEMA, "bellows");
        &self.pool
    }

    fn checkpoint(row: &PgRow, i: usize) -> Result<Option<Vec<String>>, ApplyError> {
        row.try_get(i)
            .map_err(|e| ApplyError::CorruptLedger(format!("a backfill's checkpoint: {e}")))
    }
}

impl Locking for PgDriver {
    type Lock = ApplyLock;

    async fn holder(&self) -> Result<Option<Holder>, ApplyError> {
        lock::holder(&self.pool).await
    }

    async fn lock(&self) -> Result<ApplyLock, ApplyError> {
        ApplyLock::acquire(&self.pool).await
    }
}
