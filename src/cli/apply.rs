//! `apply`, `abort` and `status`: options from the command line into the
//! library's executor, and its progress rendered for people.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use super::{
    AbortArgs, ApplyArgs, CliError, Phase, StatusArgs, StatusFormat, database_url, read_target,
    runtime, write_output,
};

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
    use bellows::plan::HazardKind::*;
    let all = [
        DataLoss,
        TableRewrite,
        LongLock,
        IndexBuild,
        ValidationScan,
        MayFail,
        Irreversible,
        OldAppVisible,
    ];
    all.into_iter().find(|k| k.name() == name).ok_or_else(|| {
        CliError::Usage(format!(
            "--allow-hazard {name}: unknown hazard; one of {}",
            all.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// Renders apply's progress: a bar for backfills on a terminal, plain
/// log lines otherwise.
struct Progress {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
    tty: bool,
}

impl bellows::apply::Observer for Progress {
    fn on(&self, event: bellows::apply::Event<'_>) {
        use bellows::apply::Event::*;
        match event {
            PhaseStarted { phase, steps } => errln!("== {} ({steps} steps)", phase.name()),
            StepStarted { number, step } => errln!("[{number}] {}", step.description),
            StepSkipped { number, step } => {
                errln!("[{number}] {} (done earlier)", step.description)
            }
            WouldRun { number, step } => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "[{number}] {} ({})",
                    step.description,
                    step.phase.name()
                );
                for s in &step.statements {
                    let _ = writeln!(out, "    {s};");
                }
            }
            LockWait {
                step,
                attempt,
                max,
                wait,
            } => errln!(
                "    lock not granted within lock_timeout for `{}`; retry {attempt}/{max} in {:.1}s",
                step.description,
                wait.as_secs_f64()
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
            BackfillProgress { done, total, .. } => {
                if self.tty {
                    let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
                    let b = bar.get_or_insert_with(|| {
                        let b = indicatif::ProgressBar::new(total);
                        if let Ok(style) = indicatif::ProgressStyle::with_template(
                            "    {bar:40} {pos}/{len} rows, {per_sec}, ETA {eta}",
                        ) {
                            b.set_style(style);
                        }
                        b
                    });
                    b.set_position(done.min(total));
                    if done >= total {
                        b.finish();
                        *bar = None;
                    }
                } else {
                    errln!("    backfilled {done}/{total} rows");
                }
            }
            StepFinished { elapsed, .. } => errln!("    done in {:.2}s", elapsed.as_secs_f64()),
            PhaseFinished { phase } => {
                errln!("== {} finished; the database was verified", phase.name())
            }
            AbortStarted { steps } => errln!(
                "== abort ({steps} undo step{})",
                if steps == 1 { "" } else { "s" }
            ),
            NothingToDo => errln!("no changes: the database already matches the target"),
        }
    }
}

pub(super) fn apply_cmd(a: &ApplyArgs) -> Result<ExitCode, CliError> {
    let url = database_url(&a.db, "apply")?;
    let target = a.target.as_deref().map(read_target).transpose()?;
    let opts = bellows::apply::ApplyOptions {
        lock_timeout: duration(&a.lock_timeout, "--lock-timeout")?,
        statement_timeout: duration(&a.statement_timeout, "--statement-timeout")?,
        max_retries: a.max_retries,
        batch_size: a.batch_size.max(1),
        pause: a
            .pause
            .as_deref()
            .map(|p| duration(p, "--pause"))
            .transpose()?,
        allow_hazards: a
            .allow_hazards
            .iter()
            .map(|h| hazard_kind(h))
            .collect::<Result<_, _>>()?,
        dry_run: a.dry_run,
    };
    let phase = match a.phase {
        Phase::Expand => bellows::apply::PhaseSel::One(bellows::plan::Phase::Expand),
        Phase::Migrate => bellows::apply::PhaseSel::One(bellows::plan::Phase::Migrate),
        Phase::Contract => bellows::apply::PhaseSel::One(bellows::plan::Phase::Contract),
        Phase::All => bellows::apply::PhaseSel::All,
    };
    let progress = Progress {
        bar: std::sync::Mutex::new(None),
        tty: std::io::stderr().is_terminal(),
    };
    let result = runtime()?.block_on(bellows::apply::apply(
        &url,
        target.as_ref(),
        phase,
        &opts,
        &progress,
    ));
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
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
    let progress = Progress {
        bar: std::sync::Mutex::new(None),
        tty: std::io::stderr().is_terminal(),
    };
    let rt = runtime()?;
    if a.dry_run {
        let report = rt
            .block_on(bellows::apply::abort_preview(&url))
            .map_err(anyhow::Error::from)?;
        write_output(None, &abort_report(&report, true))?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = bellows::apply::ApplyOptions::default();
    let report = rt
        .block_on(bellows::apply::abort(&url, &opts, &progress))
        .map_err(anyhow::Error::from)?;
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
    let url = database_url(&a.db, "status")?;
    let st = runtime()?
        .block_on(bellows::apply::status(&url))
        .map_err(anyhow::Error::from)?;
    let mut text = String::new();
    if a.format == StatusFormat::Json {
        text = serde_json::to_string_pretty(&st).map_err(anyhow::Error::from)? + "\n";
    } else if let Some(id) = st.migration {
        text.push_str(&format!(
            "migration {id}: {}, last completed phase: {}\n",
            st.state.as_deref().unwrap_or("?"),
            st.completed_phase.as_deref().unwrap_or("none")
        ));
        for s in &st.steps {
            let rows = if s.rows_done > 0 {
                format!(" ({} rows)", s.rows_done)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "  [{:>3}] {:<8} {:<8} {}{rows}\n",
                s.position + 1,
                s.phase,
                s.status,
                s.description
            ));
            if let Some(e) = &s.error {
                text.push_str(&format!(
                    "        error{}: {e}\n",
                    s.sqlstate
                        .as_ref()
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default()
                ));
            }
        }
    } else {
        text.push_str("no migration has been applied to this database\n");
    }
    write_output(None, &text)?;
    Ok(ExitCode::SUCCESS)
}
