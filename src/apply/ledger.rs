//! The ledger: bellows's own schema in the target database, holding the
//! in-flight migration (its plan, phase and the schema each phase left)
//! and one row per step (status, times, error with SQLSTATE, backfill
//! checkpoint). Also the apply lock: a row, not a session-level advisory
//! lock, because a row works through PgBouncer's transaction pooling,
//! where consecutive statements may run on different server sessions.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Row, Transaction};

use super::ApplyError;
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
        heartbeat timestamptz NOT NULL DEFAULT now());";

/// How long a lock row lives without a heartbeat before another apply
/// may take it over (the holder died without releasing it).
pub const LEASE: Duration = Duration::from_secs(30);

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

pub async fn ensure(pool: &PgPool) -> Result<(), ApplyError> {
    debug_assert_eq!(LEDGER_SCHEMA, "bellows");
    sqlx::raw_sql(SETUP)
        .execute(pool)
        .await
        .map_err(ApplyError::ledger("create the ledger"))?;
    Ok(())
}

/// Who holds the apply lock.
#[derive(Debug, Clone)]
pub struct Holder {
    pub host: String,
    pub pid: i32,
    pub since: String,
}

pub fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// A holder on this machine whose process is gone left its lock behind.
fn holder_is_dead(host: &str, pid: i32) -> bool {
    host == this_host() && pid > 0 && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Takes the apply lock or says at once who holds it.
pub async fn lock(pool: &PgPool) -> Result<(), ApplyError> {
    let host = this_host();
    let pid = std::process::id() as i32;
    const WHAT: &str = "take the apply lock";
    let mut tx = begin(pool, WHAT).await?;
    let taken = query(
        "INSERT INTO bellows.apply_lock (id, host, pid) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&host)
    .bind(pid)
    .execute(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?
    .rows_affected();
    if taken == 1 {
        return commit(tx, WHAT).await;
    }
    let row = query(
        "SELECT host, pid, to_char(since, 'YYYY-MM-DD HH24:MI:SS TZ'), now() - heartbeat > make_interval(secs => $1)
           FROM bellows.apply_lock WHERE id = 1",
    )
    .bind(LEASE.as_secs_f64())
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApplyError::ledger("read the apply lock"))?;
    commit(tx, WHAT).await?;
    let Some(row) = row else {
        // Released between the two statements: try once more.
        return Box::pin(lock(pool)).await;
    };
    let holder = Holder {
        host: row.get(0),
        pid: row.get(1),
        since: row.get(2),
    };
    let expired: bool = row.get(3);
    if expired || holder_is_dead(&holder.host, holder.pid) {
        const TAKE: &str = "take over an abandoned apply lock";
        let mut tx = begin(pool, TAKE).await?;
        let stolen = query(
            "UPDATE bellows.apply_lock SET host = $1, pid = $2, since = now(), heartbeat = now()
              WHERE id = 1 AND host = $3 AND pid = $4",
        )
        .bind(&host)
        .bind(pid)
        .bind(&holder.host)
        .bind(holder.pid)
        .execute(&mut *tx)
        .await
        .map_err(ApplyError::ledger(TAKE))?
        .rows_affected();
        commit(tx, TAKE).await?;
        if stolen == 1 {
            return Ok(());
        }
    }
    Err(ApplyError::Locked(holder))
}

pub async fn heartbeat(pool: &PgPool) {
    let Ok(mut tx) = pool.begin().await else {
        return;
    };
    let _ = query(
        "UPDATE bellows.apply_lock SET heartbeat = now() WHERE id = 1 AND pid = $1 AND host = $2",
    )
    .bind(std::process::id() as i32)
    .bind(this_host())
    .execute(&mut *tx)
    .await;
    let _ = tx.commit().await;
}

pub async fn unlock(pool: &PgPool) {
    let Ok(mut tx) = pool.begin().await else {
        return;
    };
    let _ = query("DELETE FROM bellows.apply_lock WHERE id = 1 AND pid = $1 AND host = $2")
        .bind(std::process::id() as i32)
        .bind(this_host())
        .execute(&mut *tx)
        .await;
    let _ = tx.commit().await;
}

/// The in-flight migration.
#[derive(Debug, Clone)]
pub struct Migration {
    pub id: i64,
    pub plan: Plan,
    pub completed_phase: Option<Phase>,
    pub phase_schema: Option<String>,
    pub target_schema: String,
    pub start_schema: String,
}

pub fn phase_from(s: &str) -> Option<Phase> {
    Phase::ALL.into_iter().find(|p| p.name() == s)
}

pub async fn in_flight(pool: &PgPool) -> Result<Option<Migration>, ApplyError> {
    const WHAT: &str = "read the in-flight migration";
    let mut tx = begin(pool, WHAT).await?;
    let row = query(
        "SELECT id, plan::text, completed_phase, phase_schema, target_schema, start_schema FROM bellows.migrations
          WHERE state = 'in_flight' ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?;
    commit(tx, WHAT).await?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.get(1);
    let plan: Plan =
        serde_json::from_str(&text).map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
    let completed: Option<String> = row.get(2);
    Ok(Some(Migration {
        id: row.get(0),
        plan,
        completed_phase: completed.as_deref().and_then(phase_from),
        phase_schema: row.get(3),
        target_schema: row.get(4),
        start_schema: row.get(5),
    }))
}

pub async fn create(
    pool: &PgPool,
    plan: &Plan,
    target_yaml: &str,
    start_yaml: &str,
) -> Result<i64, ApplyError> {
    let json = serde_json::to_string(plan).map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
    let mut tx = begin(pool, "store the plan").await?;
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

/// One step's row.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub status: String,
    pub checkpoint: Option<Vec<String>>,
    pub rows_done: i64,
}

pub async fn step_rows(pool: &PgPool, id: i64) -> Result<Vec<StepRow>, ApplyError> {
    const WHAT: &str = "read the steps";
    let mut tx = begin(pool, WHAT).await?;
    let rows = query("SELECT status, checkpoint, rows_done FROM bellows.steps WHERE migration_id = $1 ORDER BY position")
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
    commit(tx, WHAT).await?;
    Ok(rows
        .into_iter()
        .map(|r| StepRow {
            status: r.get(0),
            checkpoint: r.get(1),
            rows_done: r.get(2),
        })
        .collect())
}

pub async fn set_status(
    pool: &PgPool,
    id: i64,
    pos: usize,
    status: &str,
    error: Option<(&str, Option<&str>)>,
) -> Result<(), ApplyError> {
    const WHAT: &str = "record a step's status";
    let mut tx = begin(pool, WHAT).await?;
    query(
        "UPDATE bellows.steps SET status = $3,
                started_at = CASE WHEN $3 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
                finished_at = CASE WHEN $3 IN ('done', 'failed') THEN now() ELSE NULL END,
                error = $4, sqlstate = $5
          WHERE migration_id = $1 AND position = $2",
    )
    .bind(id)
    .bind(pos as i32)
    .bind(status)
    .bind(error.map(|e| e.0))
    .bind(error.and_then(|e| e.1))
    .execute(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?;
    commit(tx, WHAT).await
}

pub async fn mark_aborted(pool: &PgPool, id: i64) -> Result<(), ApplyError> {
    const WHAT: &str = "record the abort";
    let mut tx = begin(pool, WHAT).await?;
    query("UPDATE bellows.migrations SET state = 'aborted', finished_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(ApplyError::ledger(WHAT))?;
    commit(tx, WHAT).await
}

pub async fn complete_phase(
    pool: &PgPool,
    id: i64,
    phase: Phase,
    schema_yaml: &str,
    finished: bool,
) -> Result<(), ApplyError> {
    const WHAT: &str = "record the finished phase";
    let mut tx = begin(pool, WHAT).await?;
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
