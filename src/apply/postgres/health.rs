//! What a backfill waits for on PostgreSQL, read between batches: how far
//! behind each streaming replica replays (`pg_stat_replication` on the
//! primary), and the user's throttle query.
//!
//! A replica's lag is the longer of two readings. The server's own
//! `replay_lag` says how long the replica took to replay what it last
//! reported, but it stays empty until the replica passes a point the
//! primary timed, so a replica that stopped replaying after a quiet spell
//! shows no lag at all. So apply also notes the primary's WAL position
//! after every batch, with the time: a replica that has not replayed a
//! position noted `t` ago is at least `t` behind. A replica that has
//! replayed everything the primary flushed is not behind at all, whatever
//! its last `replay_lag` said. Replicas report their position as often as
//! their `wal_receiver_status_interval` (10 s by default) while no new WAL
//! reaches them, so a pause can last up to that long after the replica
//! has caught up.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool, Row};

use super::ledger;
use super::steps::statement_error;
use crate::apply::pace::{Health, PauseCause};
use crate::apply::{ApplyError, ApplyOptions, Event, Observer};
use crate::conn::postgres::query;

const REPLICAS: &str = "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::int8, \
     r.state IS NOT NULL, \
     coalesce(nullif(r.application_name, ''), host(r.client_addr), 'pid ' || r.pid), \
     (r.replay_lsn - '0/0'::pg_lsn)::int8, \
     extract(epoch FROM r.replay_lag)::float8 \
     FROM (SELECT 1) AS one LEFT JOIN pg_stat_replication AS r ON true \
     ORDER BY 3";

/// PostgreSQL's health signals for one backfill.
pub(super) struct PgHealth<'a> {
    pool: &'a PgPool,
    obs: &'a dyn Observer,
    /// Where the backfill stands, for a throttle query's error.
    at: &'a (dyn Fn() -> String + Sync),
    /// WAL positions seen after batches, oldest first, with the time.
    written: VecDeque<(i64, Instant)>,
    /// Whether the user was told that replicas cannot be seen.
    told_hidden: bool,
}

impl<'a> PgHealth<'a> {
    pub fn new(
        pool: &'a PgPool,
        obs: &'a dyn Observer,
        at: &'a (dyn Fn() -> String + Sync),
    ) -> Self {
        PgHealth {
            pool,
            obs,
            at,
            written: VecDeque::new(),
            told_hidden: false,
        }
    }

    /// The replica furthest behind beyond `limit`, if any.
    async fn replica_lag(&mut self, limit: Duration) -> Result<Option<PauseCause>, ApplyError> {
        // One statement on its own, no transaction around it, in the simple
        // protocol: through a transaction pooler the extended protocol's
        // parse and execute could reach two server sessions, the second
        // without the unnamed statement (SQLSTATE 26000).
        let rows: Vec<PgRow> = sqlx::raw_sql(REPLICAS)
            .fetch_all(self.pool)
            .await
            .map_err(ApplyError::ledger("read the replicas' lag"))?;
        let now = Instant::now();
        let mut replicas = Vec::new();
        let mut hidden = 0;
        for row in &rows {
            let flushed: i64 = row.get(0);
            if self.written.back().is_none_or(|&(lsn, _)| lsn < flushed) {
                self.written.push_back((flushed, now));
            }
            let name: Option<String> = row.get(2);
            let Some(name) = name else { continue };
            if !row.get::<bool, _>(1) {
                hidden += 1;
                continue;
            }
            let replayed: Option<i64> = row.get(3);
            let reported: Option<f64> = row.get(4);
            replicas.push((name, flushed, replayed, reported));
        }
        if hidden > 0 && !self.told_hidden {
            self.told_hidden = true;
            let text = format!(
                "{hidden} streaming replica(s) cannot be seen by this role, so the backfill does not wait for their lag: grant it pg_monitor (or pg_read_all_stats) to have it watched"
            );
            self.obs.on(Event::Notice { text: &text });
        }
        let mut worst: Option<(String, Duration)> = None;
        for (name, flushed, replayed, reported) in replicas {
            let lag = lag(&self.written, flushed, replayed, reported, now);
            if lag > limit && worst.as_ref().is_none_or(|(_, w)| lag > *w) {
                worst = Some((name, lag));
            }
        }
        // Positions every replica has replayed say nothing more; without
        // replicas, none does.
        let min = rows
            .iter()
            .filter_map(|r| r.get::<Option<i64>, _>(3))
            .min()
            .unwrap_or(i64::MAX);
        while self.written.len() > 1 && self.written.front().is_some_and(|&(l, _)| l <= min) {
            self.written.pop_front();
        }
        Ok(worst.map(|(replica, lag)| PauseCause::ReplicaLag {
            replica,
            lag,
            limit,
        }))
    }

    /// Whether the user's query asks for a pause.
    async fn throttled(&self, q: &str, opts: &ApplyOptions) -> Result<bool, ApplyError> {
        let fail = |sqlstate: Option<String>, message: String| ApplyError::ThrottleQuery {
            query: q.to_string(),
            sqlstate,
            message,
            at: (self.at)(),
        };
        const WHAT: &str = "run the throttle query";
        let mut tx = ledger::begin(self.pool, WHAT).await?;
        // Read only, and bounded: a probe must not write, or hang.
        let settings = format!(
            "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = '{}ms'",
            opts.statement_timeout.as_millis().max(1)
        );
        sqlx::raw_sql(AssertSqlSafe(settings))
            .execute(&mut *tx)
            .await
            .map_err(ApplyError::ledger(WHAT))?;
        // The extended protocol: one statement, no more.
        let row = query(AssertSqlSafe(q.to_string()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| {
                let e = statement_error(&e);
                fail(e.sqlstate, e.message)
            })?;
        let _ = tx.rollback().await;
        let Some(row) = row else {
            return Err(fail(None, "it returned no row".into()));
        };
        if row.len() != 1 {
            return Err(fail(None, format!("it returned {} columns", row.len())));
        }
        match row.try_get::<Option<bool>, _>(0) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(fail(None, "it returned NULL".into())),
            Err(_) => Err(fail(
                None,
                format!(
                    "it returned a {}, not a boolean",
                    sqlx::Column::type_info(&row.columns()[0])
                ),
            )),
        }
    }
}

/// How far behind a replica that reported `replayed` (and the server's
/// `reported` replay_lag, in seconds) is, given the primary's flushed
/// position and the positions `written` after each batch.
fn lag(
    written: &VecDeque<(i64, Instant)>,
    flushed: i64,
    replayed: Option<i64>,
    reported: Option<f64>,
    now: Instant,
) -> Duration {
    let Some(replayed) = replayed else {
        return Duration::ZERO;
    };
    if replayed >= flushed {
        return Duration::ZERO;
    }
    let ours = written
        .iter()
        .find(|&&(lsn, _)| lsn > replayed)
        .map(|&(_, at)| now.saturating_duration_since(at))
        .unwrap_or_default();
    let theirs = Duration::try_from_secs_f64(reported.unwrap_or(0.0)).unwrap_or_default();
    ours.max(theirs)
}

impl Health for PgHealth<'_> {
    async fn check(&mut self, opts: &ApplyOptions) -> Result<Option<PauseCause>, ApplyError> {
        if let Some(limit) = opts.max_replica_lag
            && let Some(cause) = self.replica_lag(limit).await?
        {
            return Ok(Some(cause));
        }
        if let Some(q) = &opts.throttle_query
            && self.throttled(q, opts).await?
        {
            return Ok(Some(PauseCause::Throttled { query: q.clone() }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_as_far_behind_as_the_oldest_batch_it_has_not_replayed() {
        let now = Instant::now();
        let written: VecDeque<(i64, Instant)> = [
            (100, now - Duration::from_secs(9)),
            (200, now - Duration::from_secs(6)),
            (300, now - Duration::from_secs(1)),
        ]
        .into();
        // Replayed up to 150: the write at 200, six seconds ago, is not.
        assert_eq!(
            lag(&written, 300, Some(150), None, now),
            Duration::from_secs(6)
        );
        // The server's own reading counts when it is longer.
        assert_eq!(
            lag(&written, 300, Some(150), Some(8.0), now),
            Duration::from_secs(8)
        );
        // Everything flushed is replayed: no lag, whatever was reported.
        assert_eq!(
            lag(&written, 300, Some(300), Some(8.0), now),
            Duration::ZERO
        );
        // Not streaming yet: nothing to wait for.
        assert_eq!(lag(&written, 300, None, None, now), Duration::ZERO);
    }
}
