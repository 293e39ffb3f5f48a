//! Watching a statement while it runs: who holds up its lock request (so
//! a retry report can name the session to wait for), cancelling it on a
//! second stop request.

use std::future::Future;
use std::time::Duration;

use sqlx::{PgPool, Row};

use crate::apply::driver::Blocker;
use crate::apply::interrupt::Interrupt;
use crate::conn::postgres::query;

/// The sessions `pid` waits for, from the server's lock graph.
pub(in crate::apply) async fn blockers(pool: &PgPool, pid: i32) -> Vec<Blocker> {
    let Ok(mut tx) = pool.begin().await else {
        return Vec::new();
    };
    let rows = query(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
                regexp_replace(left(coalesce(a.query, ''), 120), '\\s+', ' ', 'g'),
                coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0)
           FROM pg_stat_activity a
          WHERE a.pid = ANY(pg_blocking_pids($1))
          ORDER BY a.xact_start NULLS LAST, a.pid",
    )
    .bind(pid)
    .fetch_all(&mut *tx)
    .await
    .unwrap_or_default();
    let _ = tx.commit().await;
    rows.into_iter()
        .map(|r| Blocker {
            pid: r.get(0),
            application_name: r.get(1),
            state: r.get(2),
            query: r.get(3),
            transaction_seconds: r.get(4),
        })
        .collect()
}

async fn cancel(pool: &PgPool, pid: i32) {
    if let Ok(mut tx) = pool.begin().await {
        let _ = query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut *tx)
            .await;
        let _ = tx.commit().await;
    }
}

/// How a watched statement went.
pub(in crate::apply) struct Watched<T> {
    pub result: Result<T, sqlx::Error>,
    /// Who held up its lock request, sampled shortly before its lock
    /// timeout (empty when it never waited that long).
    pub blockers: Vec<Blocker>,
    /// It was cancelled on a second stop request.
    pub cancelled: bool,
}

/// Runs `statement`, which runs on server session `pid`: shortly before
/// its lock timeout (`lock_ms`) asks who blocks it, and on a forced stop
/// cancels it.
pub(in crate::apply) async fn watched<T>(
    pool: &PgPool,
    pid: Option<i32>,
    lock_ms: u64,
    interrupt: &Interrupt,
    statement: impl Future<Output = Result<T, sqlx::Error>>,
) -> Watched<T> {
    tokio::pin!(statement);
    let Some(pid) = pid else {
        return Watched {
            result: statement.await,
            blockers: Vec::new(),
            cancelled: false,
        };
    };
    // Late enough that a real wait is under way, early enough that the
    // statement still waits when we look (a lock_timeout of 0 waits on).
    let sample_after = if lock_ms == 0 {
        Duration::from_secs(2)
    } else {
        Duration::from_millis((lock_ms * 3 / 4).max(1))
    };
    let timer = tokio::time::sleep(sample_after);
    tokio::pin!(timer);
    let mut blockers = Vec::new();
    let mut sampled = false;
    let mut cancelled = false;
    let result = loop {
        tokio::select! {
            r = &mut statement => break r,
            _ = &mut timer, if !sampled => {
                sampled = true;
                blockers = self::blockers(pool, pid).await;
            }
            _ = interrupt.wait_forced(), if !cancelled => {
                cancelled = true;
                cancel(pool, pid).await;
            }
        }
    };
    Watched {
        result,
        blockers,
        cancelled,
    }
}
