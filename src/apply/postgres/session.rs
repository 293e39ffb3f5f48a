//! A step's session on PostgreSQL: the settings a transaction starts with,
//! the session a CONCURRENTLY statement runs in, and what the catalog says
//! of an index build.

use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::driver::PgDriver;
use crate::apply::ApplyError;
use crate::apply::driver::ErrorClass;
use crate::conn::ConnError;
use crate::conn::postgres::{query, query_scalar};
use crate::model::QualifiedName;
use crate::sql::postgres::qualified;

/// What a failed statement's SQLSTATE means to apply.
pub(in crate::apply) fn error_class(sqlstate: Option<&str>) -> ErrorClass {
    match sqlstate {
        // lock_not_available: lock_timeout expired.
        Some("55P03") => ErrorClass::LockNotGranted,
        // deadlock_detected: the step closed a lock cycle with a client
        // and PostgreSQL rolled the step's transaction back; it is
        // retried like a lock it was not granted.
        Some("40P01") => ErrorClass::LockNotGranted,
        // serialization_failure: a row a copy's batch locks moved to
        // another partition under a client's update; the batch was rolled
        // back and is retried, as after a lock it was not granted.
        Some("40001") => ErrorClass::LockNotGranted,
        // query_canceled: by pg_cancel_backend, or a statement timeout.
        Some("57014") => ErrorClass::Cancelled,
        // dependent_objects_still_exist.
        Some("2BP01") => ErrorClass::DependentsExist,
        _ => ErrorClass::Other,
    }
}

/// The statements a step's transaction starts with: its lock and
/// statement timeouts, for this transaction only (`SET LOCAL`, so nothing
/// stays behind on a pooled session), optionally without waiting for the
/// WAL flush at commit; then the session's backend pid, to watch it by.
pub(in crate::apply) fn prelude(lock_ms: u64, stmt_ms: u64, async_commit: bool) -> String {
    let commit = if async_commit {
        " SET LOCAL synchronous_commit = off;"
    } else {
        ""
    };
    format!(
        "SET LOCAL lock_timeout = '{lock_ms}ms'; SET LOCAL statement_timeout = '{stmt_ms}ms';{commit} SELECT pg_backend_pid()"
    )
}

pub(in crate::apply) async fn index_state(
    conn: &mut PgConnection,
    index: &QualifiedName,
) -> Result<Option<bool>, ApplyError> {
    const WHAT: &str = "look up an index";
    let mut tx = conn.begin().await.map_err(ApplyError::ledger(WHAT))?;
    let state = query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(index.schema.as_str())
    .bind(index.name.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?;
    tx.commit().await.map_err(ApplyError::ledger(WHAT))?;
    Ok(state)
}

/// Drops what a failed concurrent build of `index` left: an INVALID
/// index. Returns the statement, to name it in an error.
pub(in crate::apply) async fn drop_invalid_index(
    conn: &mut PgConnection,
    index: &QualifiedName,
) -> Result<(), (String, sqlx::Error)> {
    let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {}", qualified(index));
    sqlx::raw_sql(AssertSqlSafe(drop.clone()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| (drop, e))
}

/// A build of `index` that another session runs: one left by an apply
/// that was killed (the server goes on with it). Its pid, how long it has
/// run, and its phase.
pub(in crate::apply) async fn build_under_way(
    conn: &mut PgConnection,
    index: &QualifiedName,
) -> Result<Option<(i32, u64, String)>, ApplyError> {
    const WHAT: &str = "look for an index build under way";
    let mut tx = conn.begin().await.map_err(ApplyError::ledger(WHAT))?;
    let row = query(
        "SELECT a.pid, coalesce(extract(epoch FROM now() - a.query_start)::bigint, 0), coalesce(p.phase, '')
           FROM pg_stat_activity a
           LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
          WHERE a.pid <> pg_backend_pid() AND a.state = 'active'
            AND (p.index_relid = to_regclass($1)
                 OR (a.query ILIKE 'CREATE%INDEX%CONCURRENTLY%' AND position($2 in a.query) > 0))
          ORDER BY a.query_start LIMIT 1",
    )
    .bind(qualified(index))
    .bind(crate::sql::quote_ident(index.name.as_str()))
    .fetch_optional(&mut *tx)
    .await
    .map_err(ApplyError::ledger(WHAT))?;
    tx.commit().await.map_err(ApplyError::ledger(WHAT))?;
    Ok(row.map(|r| {
        let secs: i64 = r.get(1);
        (r.get(0), secs.max(0) as u64, r.get(2))
    }))
}

/// A session for statements that cannot run in a transaction (CREATE or
/// DROP INDEX CONCURRENTLY), so SET LOCAL cannot carry their timeouts,
/// and a session-level SET would stay behind on a pooled server session
/// for the next client. The session is opened with the timeouts as
/// startup options instead. A transaction pooler (PgBouncer) refuses such
/// options or drops them: then the statement runs with the server's own
/// settings, and the returned timeouts say which ones those are. Also
/// returns the session's backend pid.
pub(in crate::apply) async fn concurrent_session(
    db: &PgDriver,
    lock_ms: u64,
    stmt_ms: u64,
) -> Result<(PgConnection, Option<i32>, Option<(String, String)>), ApplyError> {
    let wanted = db.info.connect_options()?.options([
        ("lock_timeout", format!("{lock_ms}ms")),
        ("statement_timeout", format!("{stmt_ms}ms")),
    ]);
    let (mut conn, asked) = match db.info.connect_with(wanted).await {
        Ok(c) => (c, true),
        Err(ConnError::Connect { source, .. })
            if source.to_string().contains("unsupported startup parameter") =>
        {
            (db.info.connect().await?, false)
        }
        Err(e) => return Err(e.into()),
    };
    let check = format!(
        "SELECT current_setting('lock_timeout')::interval = '{lock_ms} ms'::interval
            AND current_setting('statement_timeout')::interval = '{stmt_ms} ms'::interval,
                current_setting('lock_timeout'), current_setting('statement_timeout'), pg_backend_pid()"
    );
    let row = sqlx::raw_sql(AssertSqlSafe(check))
        .fetch_one(&mut conn)
        .await
        .map_err(ApplyError::ledger("read the session's timeouts"))?;
    let applied: bool = row.get(0);
    let pid: Option<i32> = row.try_get(3).ok();
    if asked && applied {
        Ok((conn, pid, None))
    } else {
        // Behind a pooler the pid is some pooled session's: no use.
        Ok((conn, None, Some((row.get(1), row.get(2)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_classed() {
        assert_eq!(error_class(Some("55P03")), ErrorClass::LockNotGranted);
        assert_eq!(error_class(Some("40P01")), ErrorClass::LockNotGranted);
        assert_eq!(error_class(Some("40001")), ErrorClass::LockNotGranted);
        assert_eq!(error_class(Some("57014")), ErrorClass::Cancelled);
        assert_eq!(error_class(Some("2BP01")), ErrorClass::DependentsExist);
        assert_eq!(error_class(Some("23505")), ErrorClass::Other);
        assert_eq!(error_class(None), ErrorClass::Other);
    }

    #[test]
    fn the_prelude_sets_timeouts_for_the_transaction_only() {
        let p = prelude(5000, 0, true);
        assert!(p.contains("SET LOCAL lock_timeout = '5000ms'"), "{p}");
        assert!(p.contains("SET LOCAL synchronous_commit = off"), "{p}");
        assert!(!prelude(1, 2, false).contains("synchronous_commit"));
    }
}
