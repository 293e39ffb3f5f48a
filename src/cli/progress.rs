//! Apply's progress for people: one line per step, lock waits with the
//! sessions to wait for, and backfills as a bar on a terminal (plain lines,
//! at most every few seconds, otherwise). Rates are whole rows per second
//! of this run, the ETA is from this run's rate (right after a resume,
//! too), and rows done never exceed the total shown.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bellows::apply::{Event, Observer};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1h02m`, `3m05s`, `12s`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The numbers of a backfill's progress line, from its counts: `done`
/// rows so far (`before` of them in earlier runs), `total` rows the table
/// had when this run began, `elapsed` in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub done: u64,
    /// Never below `done`: rows inserted during the run count too.
    pub total: u64,
    pub percent: u64,
    /// Whole rows per second in this run.
    pub rate: u64,
    pub eta: Option<Duration>,
}

pub fn figures(done: u64, total: u64, before: u64, elapsed: Duration) -> Figures {
    let total = total.max(done);
    let this_run = done.saturating_sub(before);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        (this_run as f64 / secs).round() as u64
    } else {
        0
    };
    let eta = (rate > 0).then(|| Duration::from_secs(total.saturating_sub(done) / rate));
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    Figures {
        done,
        total,
        percent,
        rate,
        eta,
    }
}

/// The line for a backfill under way.
pub fn progress_line(f: &Figures) -> String {
    let eta = f
        .eta
        .map(|e| format!(", ETA {}", short_duration(e)))
        .unwrap_or_default();
    format!(
        "{}/{} rows ({}%), {} rows/s{eta}",
        f.done, f.total, f.percent, f.rate
    )
}

/// The line for a finished backfill.
pub fn finished_line(done: u64, before: u64, elapsed: Duration) -> String {
    let f = figures(done, done, before, elapsed);
    let earlier = if before > 0 {
        format!(", {before} of them before a resume")
    } else {
        String::new()
    };
    format!(
        "backfilled {} in {} ({} rows/s{earlier})",
        plural(done as usize, "row", "rows"),
        short_duration(elapsed),
        f.rate
    )
}

struct Bar {
    bar: Option<indicatif::ProgressBar>,
    last_line: Option<Instant>,
    last_percent: u64,
}

/// The CLI's observer.
pub struct Progress {
    tty: bool,
    step_started: Mutex<Instant>,
    bar: Mutex<Bar>,
}

impl Progress {
    pub fn new(tty: bool) -> Self {
        Progress {
            tty,
            step_started: Mutex::new(Instant::now()),
            bar: Mutex::new(Bar {
                bar: None,
                last_line: None,
                last_percent: 0,
            }),
        }
    }

    fn backfill(&self, done: u64, total: u64, before: u64, finished: bool) {
        let elapsed = self
            .step_started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed();
        let mut b = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if finished {
            if let Some(bar) = b.bar.take() {
                bar.finish_and_clear();
            }
            errln!("    {}", finished_line(done, before, elapsed));
            b.last_line = None;
            b.last_percent = 0;
            return;
        }
        let f = figures(done, total, before, elapsed);
        if self.tty {
            let bar = b.bar.get_or_insert_with(|| {
                let bar = indicatif::ProgressBar::new(f.total);
                if let Ok(style) = indicatif::ProgressStyle::with_template("    {bar:40} {msg}") {
                    bar.set_style(style);
                }
                bar
            });
            bar.set_length(f.total);
            bar.set_position(f.done);
            bar.set_message(progress_line(&f));
        } else {
            // A line every 10 % or every 10 s, whichever comes first.
            let due = b
                .last_line
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
                || f.percent >= b.last_percent + 10;
            if due {
                errln!("    backfilled {}", progress_line(&f));
                b.last_line = Some(Instant::now());
                b.last_percent = f.percent - f.percent % 10;
            }
        }
    }

    /// A line above the bar on a terminal (which also shows `status` as
    /// its message until the next batch), a plain line otherwise.
    fn backfill_note(&self, line: &str, status: Option<&str>) {
        let b = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match &b.bar {
            Some(bar) if self.tty => {
                bar.println(format!("    {line}"));
                if let Some(s) = status {
                    bar.set_message(s.to_string());
                }
            }
            _ => errln!("    {line}"),
        }
    }
}

impl Observer for Progress {
    fn on(&self, event: Event<'_>) {
        use Event::*;
        match event {
            PhaseStarted { phase, steps } => {
                errln!("== {} ({})", phase.name(), plural(steps, "step", "steps"))
            }
            StepStarted { number, step } => {
                *self.step_started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                errln!("[{number}] {}", step.description)
            }
            StepSkipped { number, step } => {
                errln!("[{number}] {} (done earlier)", step.description)
            }
            WouldRun { number, step } => {
                let mut out = std::io::stdout().lock();
                let mut text = format!("[{number}] {} ({})\n", step.description, step.phase.name());
                for s in &step.statements {
                    text.push_str(&format!("    {s};\n"));
                }
                let _ = out.write_all(super::secrets::scrub(&text).as_bytes());
            }
            NothingToRun { phase } => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{} has no steps: nothing would run", phase.name());
            }
            LockWait {
                step,
                attempt,
                max,
                wait,
                blockers,
            } => {
                let who = if blockers.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; waiting for {}",
                        blockers
                            .iter()
                            .map(|b| b.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                };
                errln!(
                    "    lock not granted within lock_timeout for `{}`{who}; retry {attempt}/{max} in {:.1}s",
                    step.description,
                    wait.as_secs_f64()
                )
            }
            BuildUnderWay {
                index,
                pid,
                running_for,
                phase,
                stop,
            } => errln!(
                "    the build of index {index} from an earlier apply still runs on the server (pid {pid}, for {}{}); waiting for it to end (to stop it instead: {stop})",
                short_duration(running_for),
                if phase.is_empty() {
                    String::new()
                } else {
                    format!(", {phase}")
                }
            ),
            PoolerTimeouts {
                step,
                lock_timeout,
                statement_timeout,
            } => errln!(
                "    `{}` cannot run in a transaction, and its session did not take bellows's timeouts (a transaction pooler such as PgBouncer?): it runs with the server's lock_timeout = {lock_timeout}, statement_timeout = {statement_timeout}",
                step.description
            ),
            InvalidIndexDropped { index } => {
                errln!("    dropped the INVALID leftover index {index}")
            }
            BackfillProgress {
                done,
                total,
                before,
                finished,
                ..
            } => self.backfill(done, total, before, finished),
            BackfillPaused { cause, .. } => {
                let line = format!("paused: {cause}");
                self.backfill_note(&line, Some(&line))
            }
            BackfillResumed { paused_for, .. } => self.backfill_note(
                &format!("resumed after a pause of {}", short_duration(paused_for)),
                None,
            ),
            StepFinished { elapsed, .. } => {
                errln!("    done in {:.2}s", elapsed.as_secs_f64())
            }
            PhaseFinished { phase } => {
                errln!("== {} finished; the database was verified", phase.name())
            }
            AbortStarted { steps } => {
                errln!("== abort ({})", plural(steps, "undo step", "undo steps"))
            }
            NothingToDo => errln!("no changes: the database already matches the target"),
            Notice { text } => errln!("note: {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_never_exceeds_the_total_and_rates_are_whole() {
        let f = figures(1200, 1000, 0, Duration::from_millis(1500));
        assert_eq!((f.done, f.total, f.percent, f.rate), (1200, 1200, 100, 800));
        assert_eq!(
            progress_line(&f),
            "1200/1200 rows (100%), 800 rows/s, ETA 0s"
        );
    }

    #[test]
    fn after_a_resume_rate_and_eta_count_this_run_only() {
        // 900,000 rows were done before; 100,000 more in 10 s is 10,000
        // rows/s, and 500,000 rows left at that rate take 50 s.
        let f = figures(1_000_000, 1_500_000, 900_000, Duration::from_secs(10));
        assert_eq!(f.rate, 10_000);
        assert_eq!(f.eta, Some(Duration::from_secs(50)));
        assert_eq!(
            progress_line(&f),
            "1000000/1500000 rows (66%), 10000 rows/s, ETA 50s"
        );
    }

    #[test]
    fn the_final_line_says_what_happened() {
        assert_eq!(
            finished_line(3000, 0, Duration::from_secs(2)),
            "backfilled 3000 rows in 2s (1500 rows/s)"
        );
        assert_eq!(
            finished_line(3000, 1000, Duration::from_secs(4)),
            "backfilled 3000 rows in 4s (500 rows/s, 1000 of them before a resume)"
        );
        assert_eq!(
            finished_line(0, 0, Duration::ZERO),
            "backfilled 0 rows in 0s (0 rows/s)"
        );
        assert_eq!(short_duration(Duration::from_secs(3725)), "1h02m");
    }
}
