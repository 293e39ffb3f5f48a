//! The ledger in the SQLite file itself: tables named `bellows_*` (a
//! file has no schemas), the same rows as PostgreSQL's, the plan as JSON
//! text and a backfill's checkpoint as a JSON array. The apply lock is a
//! row here too.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteDriver;
use crate::apply::ApplyError;
use crate::apply::driver::{HeldLock, Holder, LEASE, LatestRow, Ledger, StepRow, this_host};
use crate::apply::state::{Migration, MigrationState, StepState, phase_from};
use crate::apply::status::StepStatus;
use crate::plan::{Phase, Plan};

const SETUP: &str = "
    CREATE TABLE IF NOT EXISTS bellows_migrations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind text NOT NULL DEFAULT 'apply',
        aborts integer REFERENCES bellows_migrations (id),
        current_fingerprint text NOT NULL,
        target_fingerprint text NOT NULL,
        plan text NOT NULL,
        target_schema text NOT NULL,
        start_schema text NOT NULL,
        completed_phase text,
        phase_schema text,
        state text NOT NULL DEFAULT 'in_flight',
        started_at text NOT NULL DEFAULT CURRENT_TIMESTAMP,
        finished_at text);
    CREATE TABLE IF NOT EXISTS bellows_steps (
        migration_id integer NOT NULL REFERENCES bellows_migrations (id) ON DELETE CASCADE,
        position integer NOT NULL,
        phase text NOT NULL,
        description text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        started_at text,
        finished_at text,
        error text,
        sqlstate text,
        checkpoint text,
        rows_done integer NOT NULL DEFAULT 0,
        PRIMARY KEY (migration_id, position));
    CREATE TABLE IF NOT EXISTS bellows_apply_lock (
        id integer PRIMARY KEY CHECK (id = 1),
        host text NOT NULL,
        pid integer NOT NULL,
        since text NOT NULL DEFAULT CURRENT_TIMESTAMP,
        heartbeat text NOT NULL DEFAULT CURRENT_TIMESTAMP);";

/// The statement that marks a step done, run in the step's own
/// transaction.
pub(super) const MARK_DONE: &str = "UPDATE bellows_steps SET status = 'done', finished_at = CURRENT_TIMESTAMP, error = NULL, sqlstate = NULL WHERE migration_id = ?1 AND position = ?2";

/// Saves a backfill's checkpoint in the batch's transaction.
pub(super) const SAVE_CHECKPOINT: &str = "UPDATE bellows_steps SET checkpoint = ?3, rows_done = rows_done + ?4 WHERE migration_id = ?1 AND position = ?2";

fn migration(row: &SqliteRow) -> Result<Migration, ApplyError> {
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

fn json(plan: &Plan) -> Result<String, ApplyError> {
    serde_json::to_string(plan).map_err(|e| ApplyError::CorruptLedger(e.to_string()))
}

impl SqliteDriver {
    async fn one(
        &self,
        sql: &'static str,
        id: i64,
        what: &'static str,
    ) -> Result<Option<SqliteRow>, ApplyError> {
        sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ApplyError::ledger(what))
    }

    /// Statements of one ledger change, in one write transaction.
    async fn write<F>(&self, what: &'static str, f: F) -> Result<i64, ApplyError>
    where
        F: for<'c> FnOnce(
            &'c mut sqlx::SqliteConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<i64, sqlx::Error>> + Send + 'c>,
        >,
    {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger(what))?;
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(ApplyError::ledger(what))?;
        match f(&mut conn).await {
            Ok(v) => {
                sqlx::raw_sql("COMMIT")
                    .execute(&mut *conn)
                    .await
                    .map_err(ApplyError::ledger(what))?;
                Ok(v)
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                Err(ApplyError::ledger(what)(e))
            }
        }
    }
}

impl Ledger for SqliteDriver {
    type Lock = SqliteLock;

    async fn exists(&self) -> Result<bool, ApplyError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'bellows_migrations')")
            .fetch_one(&self.pool)
            .await
            .map_err(ApplyError::ledger("look for the ledger"))
    }

    async fn ensure(&self) -> Result<(), ApplyError> {
        sqlx::raw_sql(SETUP)
            .execute(&self.pool)
            .await
            .map_err(ApplyError::ledger("create the ledger"))?;
        Ok(())
    }

    async fn in_flight(&self) -> Result<Option<Migration>, ApplyError> {
        let row = sqlx::query(concat!(
            "SELECT id, state, plan, completed_phase, phase_schema, target_schema FROM bellows_migrations",
            " WHERE kind = 'apply' AND state IN ('in_flight', 'aborting') ORDER BY id DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
        .map_err(ApplyError::ledger("read the in-flight migration"))?;
        row.as_ref().map(migration).transpose()
    }

    async fn abort_of(&self, of: i64) -> Result<Option<Migration>, ApplyError> {
        let row = self
            .one(
                concat!(
                    "SELECT id, state, plan, completed_phase, phase_schema, target_schema FROM bellows_migrations",
                    " WHERE kind = 'abort' AND aborts = ?1 ORDER BY id DESC LIMIT 1"
                ),
                of,
                "read the abort",
            )
            .await?;
        row.as_ref().map(migration).transpose()
    }

    async fn create(
        &self,
        plan: &Plan,
        target_yaml: &str,
        start_yaml: &str,
    ) -> Result<i64, ApplyError> {
        let json = json(plan)?;
        let (target_yaml, start_yaml) = (target_yaml.to_string(), start_yaml.to_string());
        let steps: Vec<(String, String)> = plan
            .steps
            .iter()
            .map(|s| (s.phase.name().to_string(), s.description.clone()))
            .collect();
        let (cf, tf) = (
            plan.current_fingerprint.clone(),
            plan.target_fingerprint.clone(),
        );
        self.write("store the plan", move |c| {
            Box::pin(async move {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO bellows_migrations (current_fingerprint, target_fingerprint, plan, target_schema, start_schema)
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                )
                .bind(cf)
                .bind(tf)
                .bind(json)
                .bind(target_yaml)
                .bind(start_yaml)
                .fetch_one(&mut *c)
                .await?;
                for (i, (phase, description)) in steps.into_iter().enumerate() {
                    sqlx::query("INSERT INTO bellows_steps (migration_id, position, phase, description) VALUES (?1, ?2, ?3, ?4)")
                        .bind(id)
                        .bind(i as i64)
                        .bind(phase)
                        .bind(description)
                        .execute(&mut *c)
                        .await?;
                }
                Ok(id)
            })
        })
        .await
    }

    async fn create_abort(&self, of: i64, plan: &Plan) -> Result<i64, ApplyError> {
        let json = json(plan)?;
        let steps: Vec<String> = plan.steps.iter().map(|s| s.description.clone()).collect();
        self.write("record the abort", move |c| {
            Box::pin(async move {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO bellows_migrations (kind, aborts, current_fingerprint, target_fingerprint, plan, target_schema, start_schema)
                     VALUES ('abort', ?1, '', '', ?2, '', '') RETURNING id",
                )
                .bind(of)
                .bind(json)
                .fetch_one(&mut *c)
                .await?;
                for (i, description) in steps.into_iter().enumerate() {
                    sqlx::query("INSERT INTO bellows_steps (migration_id, position, phase, description) VALUES (?1, ?2, 'abort', ?3)")
                        .bind(id)
                        .bind(i as i64)
                        .bind(description)
                        .execute(&mut *c)
                        .await?;
                }
                sqlx::query("UPDATE bellows_migrations SET state = 'aborting' WHERE id = ?1")
                    .bind(of)
                    .execute(&mut *c)
                    .await?;
                Ok(id)
            })
        })
        .await
    }

    async fn finish_abort(&self, abort: i64, of: i64) -> Result<(), ApplyError> {
        sqlx::query(
            "UPDATE bellows_migrations SET state = CASE WHEN id = ?1 THEN 'done' ELSE 'aborted' END,
                    finished_at = CURRENT_TIMESTAMP WHERE id IN (?1, ?2)",
        )
        .bind(abort)
        .bind(of)
        .execute(&self.pool)
        .await
        .map_err(ApplyError::ledger("record the finished abort"))?;
        Ok(())
    }

    async fn step_rows(&self, id: i64) -> Result<Vec<StepRow>, ApplyError> {
        let rows = sqlx::query("SELECT status, checkpoint, rows_done FROM bellows_steps WHERE migration_id = ?1 ORDER BY position")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(ApplyError::ledger("read the steps"))?;
        rows.into_iter()
            .map(|r| {
                let status: String = r.get(0);
                let checkpoint: Option<String> = r.get(1);
                Ok(StepRow {
                    status: StepState::parse(&status)?,
                    checkpoint: checkpoint
                        .map(|c| {
                            serde_json::from_str(&c)
                                .map_err(|e| ApplyError::CorruptLedger(e.to_string()))
                        })
                        .transpose()?,
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
        sqlx::query(
            "UPDATE bellows_steps SET status = ?3,
                    started_at = CASE WHEN ?3 = 'running' THEN coalesce(started_at, CURRENT_TIMESTAMP) ELSE started_at END,
                    finished_at = CASE WHEN ?3 IN ('done', 'failed', 'skipped', 'interrupted') THEN CURRENT_TIMESTAMP ELSE NULL END,
                    error = ?4, sqlstate = ?5
              WHERE migration_id = ?1 AND position = ?2",
        )
        .bind(id)
        .bind(pos as i64)
        .bind(status.name())
        .bind(error.map(|e| e.0.to_string()))
        .bind(error.and_then(|e| e.1).map(str::to_string))
        .execute(&self.pool)
        .await
        .map_err(ApplyError::ledger("record a step's status"))?;
        self.beat().await;
        Ok(())
    }

    async fn complete_phase(
        &self,
        id: i64,
        phase: Phase,
        schema_yaml: &str,
        finished: bool,
    ) -> Result<(), ApplyError> {
        sqlx::query(
            "UPDATE bellows_migrations SET completed_phase = ?2, phase_schema = ?3,
                    state = CASE WHEN ?4 THEN 'done' ELSE state END,
                    finished_at = CASE WHEN ?4 THEN CURRENT_TIMESTAMP ELSE NULL END
              WHERE id = ?1",
        )
        .bind(id)
        .bind(phase.name())
        .bind(schema_yaml)
        .bind(finished)
        .execute(&self.pool)
        .await
        .map_err(ApplyError::ledger("record the finished phase"))?;
        Ok(())
    }

    async fn latest(&self) -> Result<Option<(LatestRow, Vec<StepStatus>)>, ApplyError> {
        const WHAT: &str = "read the status";
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        let m = sqlx::query("SELECT id, kind, aborts, state, completed_phase FROM bellows_migrations ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        let Some(m) = m else { return Ok(None) };
        let id: i64 = m.get(0);
        let rows = sqlx::query("SELECT position, phase, description, status, rows_done, error, sqlstate FROM bellows_steps WHERE migration_id = ?1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(ApplyError::ledger("read the steps"))?;
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
                    position: r.get::<i64, _>(0) as i32,
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
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("read the apply lock"))?;
        holder_on(&mut conn).await
    }

    /// Read and taken in one write transaction, so two applies cannot
    /// both see it free.
    async fn lock(&self) -> Result<SqliteLock, ApplyError> {
        const WHAT: &str = "take the apply lock";
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        let taken = async {
            if let Some(h) = holder_on(&mut conn).await?
                && h.alive()
            {
                return Err(ApplyError::Locked(h));
            }
            sqlx::query(
                "INSERT INTO bellows_apply_lock (id, host, pid) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                    since = CURRENT_TIMESTAMP, heartbeat = CURRENT_TIMESTAMP",
            )
            .bind(this_host())
            .bind(std::process::id() as i64)
            .execute(&mut *conn)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
            Ok(())
        }
        .await;
        let end = if taken.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::raw_sql(end)
            .execute(&mut *conn)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        taken.map(|()| SqliteLock {
            pool: self.pool.clone(),
        })
    }
}

async fn holder_on(conn: &mut sqlx::SqliteConnection) -> Result<Option<Holder>, ApplyError> {
    let row = sqlx::query(
        "SELECT host, pid, since, (julianday('now') - julianday(heartbeat)) * 86400.0 FROM bellows_apply_lock WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApplyError::ledger("read the apply lock"))?;
    Ok(row.map(|row| {
        let host: String = row.get(0);
        let pid: i64 = row.get(1);
        let age: f64 = row.get(3);
        // On this machine the holder's process says whether it is alive
        // (a long rebuild beats late); elsewhere, its heartbeat.
        let expired = if host == this_host() {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        } else {
            age > LEASE.as_secs_f64()
        };
        Holder {
            host,
            pid: pid as i32,
            since: format!("{} UTC", row.get::<String, _>(2)),
            expired,
        }
    }))
}

impl SqliteDriver {
    /// The lock's heartbeat, between steps and batches.
    pub(super) async fn beat(&self) {
        let _ = sqlx::query("UPDATE bellows_apply_lock SET heartbeat = CURRENT_TIMESTAMP WHERE host = ?1 AND pid = ?2")
            .bind(this_host())
            .bind(std::process::id() as i64)
            .execute(&self.pool)
            .await;
    }
}

/// The apply lock: the ledger's row, ours while it names this process.
pub(crate) struct SqliteLock {
    pool: sqlx::SqlitePool,
}

impl HeldLock for SqliteLock {
    async fn release(self) {
        let _ = sqlx::query("DELETE FROM bellows_apply_lock WHERE host = ?1 AND pid = ?2")
            .bind(this_host())
            .bind(std::process::id() as i64)
            .execute(&self.pool)
            .await;
    }
}
