//! The apply lock: one apply (or abort) at a time per database. A row in
//! the ledger, not a session-level advisory lock, because a row works
//! through PgBouncer's transaction pooling, where consecutive statements
//! may run on different server sessions. The holder keeps a heartbeat; a
//! holder whose process is gone (on the same host) or whose heartbeat is
//! older than the lease is taken over.

use sqlx::{PgPool, Row};

use super::ledger::{begin, commit};
use crate::apply::ApplyError;
use crate::apply::driver::{HeldLock, Holder, LEASE, this_host};
use crate::conn::postgres::query;

/// The lock's holder, if any.
pub async fn holder(pool: &PgPool) -> Result<Option<Holder>, ApplyError> {
    const WHAT: &str = "read the apply lock";
    let mut tx = begin(pool, WHAT).await?;
    let row = query(
        "SELECT host, pid, to_char(since, 'YYYY-MM-DD HH24:MI:SS TZ'), now() - heartbeat > make_interval(secs => $1)
           FROM bellows.apply_lock WHERE id = 1",
    )
    .bind(LEASE.as_secs_f64())
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?;
    commit(tx, WHAT).await?;
    Ok(row.map(|row| Holder {
        host: row.get(0),
        pid: row.get(1),
        since: row.get(2),
        expired: row.get(3),
    }))
}

/// The held lock. `release` gives it back; if the holder is dropped
/// without that (a panic, a task cancelled), the heartbeat stops and the
/// lock is released in the background, or expires after the lease.
pub struct ApplyLock {
    pool: PgPool,
    beat: Option<tokio::task::JoinHandle<()>>,
}

impl ApplyLock {
    /// Takes the lock or says at once who holds it.
    pub async fn acquire(pool: &PgPool) -> Result<ApplyLock, ApplyError> {
        let host = this_host();
        let pid = std::process::id() as i32;
        loop {
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
            commit(tx, WHAT).await?;
            if taken == 1 {
                return Ok(ApplyLock::held(pool));
            }
            let Some(h) = holder(pool).await? else {
                // Released between the two statements: try again.
                continue;
            };
            if !h.alive() {
                const TAKE: &str = "take over an abandoned apply lock";
                let mut tx = begin(pool, TAKE).await?;
                let stolen = query(
                    "UPDATE bellows.apply_lock SET host = $1, pid = $2, since = now(), heartbeat = now()
                      WHERE id = 1 AND host = $3 AND pid = $4",
                )
                .bind(&host)
                .bind(pid)
                .bind(&h.host)
                .bind(h.pid)
                .execute(&mut *tx)
                .await
                .map_err(ApplyError::ledger(TAKE))?
                .rows_affected();
                commit(tx, TAKE).await?;
                if stolen == 1 {
                    return Ok(ApplyLock::held(pool));
                }
            }
            return Err(ApplyError::Locked(h));
        }
    }

    fn held(pool: &PgPool) -> ApplyLock {
        let beat_pool = pool.clone();
        let beat = tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE / 6).await;
                heartbeat(&beat_pool).await;
            }
        });
        ApplyLock {
            pool: pool.clone(),
            beat: Some(beat),
        }
    }
}

impl HeldLock for ApplyLock {
    async fn release(mut self) {
        if let Some(b) = self.beat.take() {
            b.abort();
        }
        unlock(&self.pool).await;
    }
}

impl Drop for ApplyLock {
    fn drop(&mut self) {
        if let Some(b) = self.beat.take() {
            b.abort();
            let pool = self.pool.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { unlock(&pool).await });
            }
        }
    }
}

async fn heartbeat(pool: &PgPool) {
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

async fn unlock(pool: &PgPool) {
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
