//! `apply`, `abort` and `status`: options from the command line into the
//! library's executor, and its progress rendered for people.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::progress::Progress;
use super::{
    AbortArgs, ApplyArgs, CliError, Phase, StatusArgs, StatusFormat, database_url, read_target,
    runtime, write_output,
};

/// Exit code of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// --lock-timeout: a duration, or `none` for PostgreSQL's "wait forever"
/// (said out loud); `0` is refused, since to PostgreSQL it also means
/// forever, which is what lock_timeout is there to prevent.
fn lock_timeout(text: &str) -> Result<std::time::Duration, CliError> {
    if text.trim().eq_ignore_ascii_case("none") {
        errln!(
            "warning: --lock-timeout none: statements wait in the lock queue without limit, and every query on the table waits behind them"
        );
        return Ok(std::time::Duration::ZERO);
    }
    let d = duration(text, "--lock-timeout")?;
    if d.is_zero() {
        return Err(CliError::Usage(format!(
            "--lock-timeout {text}: to PostgreSQL 0 means wait forever, and a waiting ALTER blocks every query behind it; give a duration such as 2s, or `none` if you really mean no limit"
        )));
    }
    if d.as_millis() == 0 {
        return Err(CliError::Usage(format!(
            "--lock-timeout {text}: PostgreSQL counts lock_timeout in whole milliseconds; give at least 1ms"
        )));
    }
    Ok(d)
}

fn batch_size(rows: Option<u32>) -> Result<Option<u32>, CliError> {
    match rows {
        Some(0) => Err(CliError::Usage(
            "--batch-size 0: a batch needs at least one row".into(),
        )),
        other => Ok(other),
    }
}

/// A batch holds its rows' locks until it commits, and an application
/// transaction that wants one of those rows waits that long.
fn check_batch_time(
    text: &str,
    batch_time: std::time::Duration,
    lock_timeout: std::time::Duration,
) -> Result<(), CliError> {
    if batch_time.is_zero() {
        return Err(CliError::Usage(format!(
            "--batch-time {text}: give a duration such as 200ms"
        )));
    }
    if !lock_timeout.is_zero() && batch_time > lock_timeout / 4 {
        return Err(CliError::Usage(format!(
            "--batch-time {text}: a batch holds the locks of its rows until it commits, so it may take at most a quarter of --lock-timeout ({}ms here); give {}ms or less, or raise --lock-timeout",
            lock_timeout.as_millis(),
            (lock_timeout / 4).as_millis()
        )));
    }
    Ok(())
}

fn max_replica_lag(text: &str) -> Result<Option<std::time::Duration>, CliError> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let d = duration(text, "--max-replica-lag")?;
    if d.is_zero() {
        return Err(CliError::Usage(format!(
            "--max-replica-lag {text}: no replica is ever exactly up to date; give a duration such as 5s, or `none` to not watch replicas"
        )));
    }
    Ok(Some(d))
}

/// Turns Ctrl-C and SIGTERM into stop requests: the first stops after the
/// statement or batch under way, the second cancels that statement too.
fn stop_on_signals(interrupt: bellows::apply::Interrupt) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let terminate = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let terminate = std::future::pending::<()>();
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_err() { return },
                _ = terminate => {}
            }
            match interrupt.request() {
                1 => errln!(
                    "stopping after the statement or batch under way; interrupt again to cancel it now"
                ),
                _ => errln!("cancelling the statement under way"),
            }
        }
    });
}

/// `2s`, `500ms`, `1m`, or plain seconds.
pub(super) fn duration(text: &str, flag: &str) -> Result<std::time::Duration, CliError> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((t, "s"), |i| (&t[..i], &t[i..]));
    let n: f64 = num.parse().map_err(|_| {
        CliError::Usage(format!(
            "{flag} {text}: expected a duration such as 2s, 500ms or 1m"
        ))
    })?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" | "min" => n * 60.0,
        _ => {
            return Err(CliError::Usage(format!(
                "{flag} {text}: unknown unit `{unit}`; use ms, s or m"
            )));
        }
    };
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn hazard_kind(name: &str) -> Result<bellows::plan::HazardKind, CliError> {
    use bellows::plan::HazardKind;
    HazardKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--allow-hazard {name}: unknown hazard; one of {}",
                HazardKind::ALL.map(|k| k.name()).join(", ")
            ))
        })
}

pub(super) fn apply_cmd(a: &ApplyArgs) -> Result<ExitCode, CliError> {
    let url = database_url(&a.db, "apply")?;
    let target = a.target.as_deref().map(read_target).transpose()?;
    let opts = bellows::apply::ApplyOptions {
        lock_timeout: lock_timeout(&a.lock_timeout)?,
        statement_timeout: duration(&a.statement_timeout, "--statement-timeout")?,
        max_retries: a.max_retries,
        batch_size: batch_size(a.batch_size)?,
        batch_time: duration(&a.batch_time, "--batch-time")?,
        pause: a
            .pause
            .as_deref()
            .map(|p| duration(p, "--pause"))
            .transpose()?,
        max_replica_lag: max_replica_lag(&a.max_replica_lag)?,
        throttle_query: a.throttle_query.clone(),
        max_pause: duration(&a.max_pause, "--max-pause")?,
        allow_hazards: a
            .allow_hazards
            .iter()
            .map(|h| hazard_kind(h))
            .collect::<Result<_, _>>()?,
        dry_run: a.dry_run,
        interrupt: bellows::apply::Interrupt::new(),
    };
    check_batch_time(&a.batch_time, opts.batch_time, opts.lock_timeout)?;
    let phase = match a.phase {
        Phase::Expand => bellows::apply::PhaseSel::One(bellows::plan::Phase::Expand),
        Phase::Migrate => bellows::apply::PhaseSel::One(bellows::plan::Phase::Migrate),
        Phase::Contract => bellows::apply::PhaseSel::One(bellows::plan::Phase::Contract),
        Phase::All => bellows::apply::PhaseSel::All,
    };
    let progress = Progress::new(std::io::stderr().is_terminal());
    let result = runtime()?.block_on(async {
        stop_on_signals(opts.interrupt.clone());
        bellows::apply::apply(&url, target.as_ref(), phase, &opts, &progress).await
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ bellows::apply::ApplyError::Interrupted { .. }) => {
            errln!("{e}");
            Ok(ExitCode::from(INTERRUPTED))
        }
        Err(
            e @ (bellows::apply::ApplyError::HazardsRefused { .. }
            | bellows::apply::ApplyError::Drift { .. }
            | bellows::apply::ApplyError::TargetMismatch { .. }),
        ) => {
            errln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(CliError::Other(e.into())),
    }
}

pub(super) fn abort_cmd(a: &AbortArgs) -> Result<ExitCode, CliError> {
    let url = database_url(&a.db, "abort")?;
    let progress = Progress::new(std::io::stderr().is_terminal());
    let rt = runtime()?;
    if a.dry_run {
        let report = rt
            .block_on(bellows::apply::abort_preview(&url))
            .map_err(anyhow::Error::from)?;
        write_output(None, &abort_report(&report, true))?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = bellows::apply::ApplyOptions {
        lock_timeout: lock_timeout(&a.lock_timeout)?,
        max_retries: a.max_retries,
        ..bellows::apply::ApplyOptions::default()
    };
    let result = rt.block_on(async {
        stop_on_signals(opts.interrupt.clone());
        bellows::apply::abort(&url, &opts, &progress).await
    });
    let report = match result {
        Ok(r) => r,
        Err(e @ bellows::apply::ApplyError::Interrupted { .. }) => {
            errln!("{e}");
            return Ok(ExitCode::from(INTERRUPTED));
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    errln!("{}", abort_report(&report, false).trim_end());
    Ok(ExitCode::SUCCESS)
}

/// What an abort did or would do: the undo steps with their SQL, what it
/// leaves in place and why, and what stays by design.
fn abort_report(r: &bellows::apply::AbortReport, dry_run: bool) -> String {
    let mut text = String::new();
    let n = r.steps.len();
    if dry_run {
        text.push_str(&format!(
            "abort would undo migration {} in {n} step{}:\n",
            r.migration,
            if n == 1 { "" } else { "s" }
        ));
        for (i, s) in r.steps.iter().enumerate() {
            text.push_str(&format!("  [{}] {}\n", i + 1, s.description));
            for stmt in &s.statements {
                text.push_str(&format!("      {stmt};\n"));
            }
        }
    } else {
        text.push_str(&format!(
            "aborted migration {}: {n} undo step{} ran\n",
            r.migration,
            if n == 1 { "" } else { "s" }
        ));
    }
    if !r.left.is_empty() {
        text.push_str(if dry_run {
            "it would leave in place:\n"
        } else {
            "left in place:\n"
        });
        for l in &r.left {
            text.push_str(&format!("  - {l}\n"));
        }
    }
    if !r.stays.is_empty() {
        text.push_str("stays as the migration left it:\n");
        for l in &r.stays {
            text.push_str(&format!("  - {l}\n"));
        }
    }
    text.push_str(
        "objects this migration did not create are never touched, including those made since expand\n",
    );
    text
}

pub(super) fn status_cmd(a: &StatusArgs) -> Result<ExitCode, CliError> {
    use bellows::apply::{Activity, StepState};
    let url = database_url(&a.db, "status")?;
    let st = runtime()?
        .block_on(bellows::apply::status(&url))
        .map_err(anyhow::Error::from)?;
    let mut text = String::new();
    if a.format == StatusFormat::Json {
        text = serde_json::to_string_pretty(&st).map_err(anyhow::Error::from)? + "\n";
    } else if let Some(id) = st.migration {
        let what = match (st.kind.as_deref(), st.aborts) {
            (Some("abort"), Some(of)) => format!("abort of migration {of}"),
            _ => format!("migration {id}"),
        };
        let activity = match st.activity {
            Some(Activity::Running) => {
                let by = st
                    .holder
                    .as_ref()
                    .map(|h| format!(" (pid {} on {}, since {})", h.pid, h.host, h.since))
                    .unwrap_or_default();
                format!("running now{by}")
            }
            Some(Activity::Interrupted) => {
                "interrupted (stopped partway, or its process is gone)".into()
            }
            Some(Activity::Failed) => "failed".into(),
            Some(Activity::Waiting) => "waiting for the next phase".into(),
            Some(Activity::Finished) | None => {
                st.state.map(|s| s.name().to_string()).unwrap_or_default()
            }
        };
        text.push_str(&format!(
            "{what}: {activity}; last completed phase: {}\n",
            st.completed_phase.as_deref().unwrap_or("none")
        ));
        for s in &st.steps {
            let rows = if s.rows_done > 0 {
                format!(" ({} rows)", s.rows_done)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "  [{:>3}] {:<8} {:<11} {}{rows}\n",
                s.position + 1,
                s.phase,
                s.status.name(),
                s.description
            ));
            if let Some(e) = &s.error
                && s.status != StepState::Done
            {
                text.push_str(&format!(
                    "        {}{}: {e}\n",
                    if s.status == StepState::Failed {
                        "error"
                    } else {
                        "note"
                    },
                    s.sqlstate
                        .as_ref()
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default()
                ));
            }
        }
        if let Some(next) = &st.next {
            text.push_str(&format!("next: {next}\n"));
        }
    } else {
        text.push_str("no migration has been applied to this database\n");
    }
    write_output(None, &text)?;
    // Non-zero when a step failed or an apply stopped partway: the
    // migration needs someone.
    Ok(match st.activity {
        Some(Activity::Failed | Activity::Interrupted) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
