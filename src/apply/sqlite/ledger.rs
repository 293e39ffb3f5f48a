//! The ledger in the SQLite file itself: tables named `bellows_*` (a
//! file has no schemas), the same rows as PostgreSQL's, the plan as JSON
//! text and a backfill's checkpoint as a JSON array; its statements and
//! their use are `apply/ledger.rs`'s. The apply lock is a row here too.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteDriver;
use crate::apply::ApplyError;
use crate::apply::driver::{HeldLock, Holder, LEASE, Locking, this_host};
use crate::apply::ledger::{LedgerSql, LedgerStore, ledger_sql};
use crate::apply::ledger_row::LedgerRow;

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

impl LedgerStore for SqliteDriver {
    type DB = sqlx::Sqlite;
    const SQL: &'static LedgerSql = &ledger_sql! {
        setup: SETUP,
        exists: "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'bellows_migrations')",
        migrations: "bellows_migrations",
        steps: "bellows_steps",
        plan_cast: "",
        plan_out: "plan",
    };
    /// Takes the write lock at once: a transaction that reads first and
    /// writes later could find it taken and fail rather than wait.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    fn pool(&self) -> &sqlx::SqlitePool {
        &self.pool
    }

    fn checkpoint(row: &SqliteRow, i: usize) -> Result<Option<Vec<String>>, ApplyError> {
        row.maybe_text(i)?
            .map(|c| {
                serde_json::from_str(&c)
                    .map_err(|e| ApplyError::CorruptLedger(format!("a backfill's checkpoint: {e}")))
            })
            .transpose()
    }

    async fn status_recorded(&self) {
        self.beat().await;
    }
}

impl Locking for SqliteDriver {
    type Lock = SqliteLock;

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
            pool: Some(self.pool.clone()),
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
    /// `None` once released.
    pool: Option<sqlx::SqlitePool>,
}

impl HeldLock for SqliteLock {
    async fn release(mut self) {
        if let Some(pool) = self.pool.take() {
            unlock(&pool).await;
        }
    }
}

/// Dropped without `release` (a panic, an apply future dropped by its
/// caller): the row is deleted in the background. A process that is gone
/// loses the lock anyway; one that lives on (a service embedding bellows)
/// would otherwise be refused by its own lock until it exits.
impl Drop for SqliteLock {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move { unlock(&pool).await });
        }
    }
}

async fn unlock(pool: &sqlx::SqlitePool) {
    let _ = sqlx::query("DELETE FROM bellows_apply_lock WHERE host = ?1 AND pid = ?2")
        .bind(this_host())
        .bind(std::process::id() as i64)
        .execute(pool)
        .await;
}
