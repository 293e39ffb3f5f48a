//! Watching a statement while it runs: who holds up its lock request (so
//! a retry report can name the session to wait for), cancelling it on a
//! second stop request, and the backoff between retries.

use std::future::Future;
use std::time::Duration;

use sqlx::{PgPool, Row};

use crate::apply::interrupt::Interrupt;
use crate::conn::postgres::query;

/// A session that holds a lock a statement of the apply waits for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Blocker {
    pub pid: i32,
    pub application_name: String,
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// The start of its current or last query.
    pub query: String,
    /// How long its transaction has been open, in whole seconds.
    pub transaction_seconds: i64,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let app = if self.application_name.is_empty() {
            "no application_name".to_string()
        } else {
            format!("application_name {}", self.application_name)
        };
        write!(
            f,
            "pid {} ({app}, {}, transaction open {}s): {}",
            self.pid, self.state, self.transaction_seconds, self.query
        )
    }
}

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

/// Exponential backoff with jitter: 250 ms, 500 ms, 1 s ... up to 10 s, ±50 %.
pub(in crate::apply) fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.min(6)).min(10_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let jitter = nanos % (base + 1);
    Duration::from_millis(base / 2 + jitter)
}
