//! How fast a backfill goes, whatever the database: batch sizes that grow
//! and shrink to hold a target duration (one setting suits narrow and
//! wide rows, an idle and a busy server), and the health gates checked
//! between batches, which pause the backfill while the database or its
//! replicas are under strain and give up, saying why, when a pause
//! outlasts `max_pause`. A dialect's driver reads the signals
//! (`Health`); deciding what they mean is here.

use std::fmt;
use std::time::{Duration, Instant};

use super::{ApplyError, ApplyOptions, Event, Observer};
use crate::plan::Step;

/// The number of units (rows, or pages for a backfill by position) the
/// next batch takes.
#[derive(Debug, Clone)]
pub(crate) struct BatchSizer {
    size: u64,
    /// `None`: a fixed size (`--batch-size`).
    target: Option<Duration>,
    min: u64,
    max: u64,
}

/// What one batch may take when `--batch-time` asks for more: a batch
/// holds the row locks it takes until it commits, and an application
/// transaction that needs one of those rows waits that long, so no batch
/// is meant to last longer than a quarter of the lock timeout.
pub(crate) fn batch_time(opts: &ApplyOptions) -> Duration {
    if opts.lock_timeout.is_zero() {
        opts.batch_time
    } else {
        opts.batch_time.min(opts.lock_timeout / 4)
    }
}

impl BatchSizer {
    /// Sized as the options say: `--batch-size` fixes it (`fixed`, in
    /// this backfill's units); otherwise it starts at `start` and follows
    /// `--batch-time` between `min` and `max`.
    pub fn new(opts: &ApplyOptions, fixed: Option<u64>, start: u64, min: u64, max: u64) -> Self {
        match fixed {
            Some(n) => BatchSizer {
                size: n.max(1),
                target: None,
                min: 1,
                max: u64::MAX,
            },
            None => BatchSizer {
                size: start.clamp(min, max),
                target: Some(batch_time(opts)),
                min,
                max,
            },
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// After a batch of `units` that held its locks for `took`: the size
    /// that would have taken the target time, grown at most twofold (one
    /// quick batch may be luck: a cached page, a quiet moment) and shrunk
    /// at once (a slow batch holds its row locks too long).
    pub fn record(&mut self, units: u64, took: Duration) {
        let Some(target) = self.target else { return };
        if units == 0 {
            return;
        }
        let secs = took.as_secs_f64().max(1e-4);
        let ideal = units as f64 * target.as_secs_f64() / secs;
        let next = ideal.min(self.size as f64 * 2.0).floor() as u64;
        self.size = next.clamp(self.min, self.max);
    }
}

/// Why a backfill waits before its next batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PauseCause {
    /// A streaming replica replays the primary's changes too far behind.
    ReplicaLag {
        replica: String,
        lag: Duration,
        limit: Duration,
    },
    /// The user's `--throttle-query` returned true.
    Throttled { query: String },
}

impl fmt::Display for PauseCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PauseCause::ReplicaLag {
                replica,
                lag,
                limit,
            } => write!(
                f,
                "replica {replica} replays {:.1}s behind (--max-replica-lag {:.1}s)",
                lag.as_secs_f64(),
                limit.as_secs_f64()
            ),
            PauseCause::Throttled { query } => {
                write!(f, "--throttle-query returned true: {query}")
            }
        }
    }
}

/// The signals a dialect reads between batches.
pub(crate) trait Health {
    /// Why the next batch should wait, if it should; an error for a
    /// signal that cannot be read as asked (a throttle query that fails).
    async fn check(&mut self, opts: &ApplyOptions) -> Result<Option<PauseCause>, ApplyError>;
}

/// How often a paused backfill looks again.
pub(crate) const RECHECK: Duration = Duration::from_millis(250);

/// Waits until `health` has no objection to the next batch of `step`,
/// reporting the pause and its cause (again when the cause changes) and
/// the resume. A pause longer than `max_pause` ends the apply with its
/// cause; a stop request ends the wait at once. `at` says where the
/// backfill stands, for either message.
pub(crate) async fn wait_until_healthy<H: Health>(
    health: &mut H,
    step: &Step,
    at: &(dyn Fn() -> String + Sync),
    opts: &ApplyOptions,
    obs: &dyn Observer,
) -> Result<(), ApplyError> {
    let mut paused: Option<(Instant, PauseCause)> = None;
    loop {
        let Some(cause) = health.check(opts).await? else {
            if let Some((since, _)) = paused {
                obs.on(Event::BackfillResumed {
                    step,
                    paused_for: since.elapsed(),
                });
            }
            return Ok(());
        };
        let since = match &paused {
            Some((since, last)) => {
                if !same_kind(last, &cause) {
                    obs.on(Event::BackfillPaused {
                        step,
                        cause: &cause,
                    });
                }
                *since
            }
            None => {
                obs.on(Event::BackfillPaused {
                    step,
                    cause: &cause,
                });
                Instant::now()
            }
        };
        if since.elapsed() >= opts.max_pause {
            return Err(ApplyError::PausedTooLong {
                step: step.description.clone(),
                waited: since.elapsed(),
                cause: cause.to_string(),
                at: at(),
            });
        }
        paused = Some((since, cause));
        if opts.interrupt.sleep(RECHECK).await {
            return Err(ApplyError::Interrupted { at: at() });
        }
    }
}

/// Whether two causes are the same signal (the same replica, or the
/// throttle query): a lag that only changes its figure is no news.
fn same_kind(a: &PauseCause, b: &PauseCause) -> bool {
    match (a, b) {
        (PauseCause::ReplicaLag { replica: x, .. }, PauseCause::ReplicaLag { replica: y, .. }) => {
            x == y
        }
        (PauseCause::Throttled { .. }, PauseCause::Throttled { .. }) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn adaptive(start: u64) -> BatchSizer {
        let opts = ApplyOptions {
            batch_time: Duration::from_millis(200),
            ..ApplyOptions::default()
        };
        BatchSizer::new(&opts, None, start, 10, 1_000_000)
    }

    #[test]
    fn a_quick_batch_grows_the_next_at_most_twofold() {
        let mut s = adaptive(1000);
        s.record(1000, Duration::from_millis(10));
        assert_eq!(s.size(), 2000, "20x under the target, but only doubled");
        s.record(2000, Duration::from_millis(100));
        assert_eq!(s.size(), 4000);
        s.record(4000, Duration::from_millis(160));
        assert_eq!(s.size(), 5000, "the size that takes 200 ms at that rate");
    }

    #[test]
    fn a_slow_batch_shrinks_the_next_at_once() {
        let mut s = adaptive(50_000);
        s.record(50_000, Duration::from_secs(2));
        assert_eq!(s.size(), 5000, "ten times too slow: a tenth the size");
    }

    #[test]
    fn sizes_stay_within_bounds() {
        let mut s = adaptive(20);
        s.record(20, Duration::from_secs(60));
        assert_eq!(s.size(), 10);
        let mut s = adaptive(900_000);
        s.record(900_000, Duration::from_millis(1));
        assert_eq!(s.size(), 1_000_000);
        // An empty batch (the end) teaches nothing.
        let mut s = adaptive(1000);
        s.record(0, Duration::from_millis(1));
        assert_eq!(s.size(), 1000);
    }

    #[test]
    fn a_fixed_size_never_changes() {
        let opts = ApplyOptions::default();
        let mut s = BatchSizer::new(&opts, Some(5000), 1000, 10, 1_000_000);
        s.record(5000, Duration::from_secs(30));
        s.record(5000, Duration::from_micros(1));
        assert_eq!(s.size(), 5000);
    }

    #[test]
    fn the_target_is_at_most_a_quarter_of_the_lock_timeout() {
        let opts = ApplyOptions {
            batch_time: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(2),
            ..ApplyOptions::default()
        };
        assert_eq!(batch_time(&opts), Duration::from_millis(500));
        let unlimited = ApplyOptions {
            lock_timeout: Duration::ZERO,
            ..opts
        };
        assert_eq!(batch_time(&unlimited), Duration::from_secs(5));
    }

    /// Health that answers from a script, one answer a check.
    struct Scripted(Vec<Option<PauseCause>>);

    impl Health for Scripted {
        async fn check(&mut self, _: &ApplyOptions) -> Result<Option<PauseCause>, ApplyError> {
            Ok(if self.0.is_empty() {
                None
            } else {
                self.0.remove(0)
            })
        }
    }

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    impl Observer for Seen {
        fn on(&self, e: Event<'_>) {
            let line = match e {
                Event::BackfillPaused { cause, .. } => format!("paused: {cause}"),
                Event::BackfillResumed { .. } => "resumed".to_string(),
                _ => return,
            };
            self.0.lock().expect("lock").push(line);
        }
    }

    fn step() -> Step {
        serde_json::from_value(serde_json::json!({
            "id": { "kind": "column", "object": "public.t.c", "action": "backfill" },
            "phase": "migrate",
            "description": "backfill public.t.c",
            "statements": [],
            "transactional": true,
            "lock": { "level": "row_exclusive", "cost": "batched" },
            "hazards": [],
            "timeouts": { "lock_timeout_ms": null, "statement_timeout_ms": null },
            "provides": [],
            "requires": [],
            "removes": []
        }))
        .expect("a step")
    }

    fn lag(replica: &str, secs: u64) -> Option<PauseCause> {
        Some(PauseCause::ReplicaLag {
            replica: replica.into(),
            lag: Duration::from_secs(secs),
            limit: Duration::from_secs(5),
        })
    }

    #[tokio::test]
    async fn a_pause_is_reported_once_per_cause_and_ends_with_a_resume() {
        let mut h = Scripted(vec![
            lag("standby1", 7),
            lag("standby1", 8),
            Some(PauseCause::Throttled {
                query: "SELECT busy()".into(),
            }),
            None,
        ]);
        let seen = Seen::default();
        let step = step();
        wait_until_healthy(
            &mut h,
            &step,
            &|| "here".into(),
            &ApplyOptions::default(),
            &seen,
        )
        .await
        .expect("healthy in the end");
        assert_eq!(
            *seen.0.lock().expect("lock"),
            vec![
                "paused: replica standby1 replays 7.0s behind (--max-replica-lag 5.0s)",
                "paused: --throttle-query returned true: SELECT busy()",
                "resumed",
            ]
        );
    }

    #[tokio::test]
    async fn a_pause_longer_than_the_limit_ends_with_its_cause() {
        let mut h = Scripted(vec![lag("standby1", 9); 100]);
        let opts = ApplyOptions {
            max_pause: Duration::from_millis(300),
            ..ApplyOptions::default()
        };
        let step = step();
        let e = wait_until_healthy(&mut h, &step, &|| "after 10 rows".into(), &opts, &Silent)
            .await
            .expect_err("gives up");
        let text = e.to_string();
        assert!(
            text.contains("replica standby1 replays 9.0s behind") && text.contains("after 10 rows"),
            "{text}"
        );
    }

    use super::super::Silent;
}
