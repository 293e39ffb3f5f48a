//! `plan` and `diff`: the commands that compare the current schema (a
//! live database, or a file) with a target file.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use bellows::plan::PlanOptions;
use bellows::render;
use bellows::spec::{self, WriteOptions};

use super::{
    CliError, ColorChoice, DiffArgs, PlanArgs, PlanFormat, apply, database_url, introspect,
    or_from, read_live, read_target, write_output,
};

/// Where a connection string points, for labels (no password).
fn target_label(url: &str) -> String {
    bellows::conn::Target::parse(url)
        .map(|t| t.display())
        .unwrap_or_else(|_| "the database".to_string())
}

pub(crate) fn plan(a: &PlanArgs) -> Result<ExitCode, CliError> {
    // The target file is read on a thread of its own while the current
    // schema is read (from the database, mostly waiting on the server):
    // neither waits for the other. A problem in the target is still the
    // one reported first, as when it was read before connecting.
    let (target, current) = std::thread::scope(|s| {
        let parsing = s.spawn(|| read_target(&a.compared.target));
        let current = match &a.compared.from {
            Some(from) => {
                read_target(from).map(|c| (c.without_hints(), PlanOptions::default(), None))
            }
            None => database_url(&a.compared.db, "plan")
                .map_err(or_from("plan"))
                .and_then(|url| read_live(&url, &a.schemas))
                .map(|found| {
                    let opts = found.plan_options();
                    let warning = found.unmanaged_summary();
                    (found.schema, opts, warning)
                }),
        };
        let target = parsing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (target, current)
    });
    let target = target?;
    let (current, opts, warning) = current?;
    if let Some(summary) = warning {
        errln!("warning: {summary}");
    }
    let plan = bellows::plan::plan(&current, &target, &opts).map_err(|e| {
        CliError::Reported(format!(
            "cannot plan {}:\n{}",
            a.compared.target.display(),
            indent_errors(&e.to_string())
        ))
    })?;
    let text = match a.format {
        PlanFormat::Text => render::render_text(&plan),
        PlanFormat::Sql => render::render_sql_with(
            &plan,
            &render::SqlOptions {
                lock_timeout: apply::duration(&a.lock_timeout, "--lock-timeout")?,
                statement_timeout: apply::duration(&a.statement_timeout, "--statement-timeout")?,
                batch_size: a.batch_size.max(1),
            },
        ),
        PlanFormat::Json => render::render_json(&plan),
        PlanFormat::Markdown => render::render_markdown(&plan),
    };
    if let Some(committed) = &a.check {
        let old = std::fs::read_to_string(committed).map_err(|e| {
            CliError::Other(anyhow::anyhow!(
                "cannot read the committed plan {}: {e}",
                committed.display()
            ))
        })?;
        if old == text {
            write_output(None, &format!("{}: up to date\n", committed.display()))?;
            return Ok(ExitCode::SUCCESS);
        }
        let diff = similar::TextDiff::from_lines(&old, &text)
            .unified_diff()
            .context_radius(3)
            .header(&committed.display().to_string(), "new plan")
            .to_string();
        write_output(None, &diff)?;
        errln!(
            "{} is stale: the plan changed (diff above); regenerate it with --out {}",
            committed.display(),
            committed.display()
        );
        return Ok(ExitCode::from(1));
    }
    write_output(a.out.as_deref(), &text)?;
    Ok(if a.exit_code && !plan.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn indent_errors(text: &str) -> String {
    text.lines()
        .map(|l| format!("  error: {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn diff(a: &DiffArgs) -> Result<ExitCode, CliError> {
    let target = read_target(&a.compared.target)?;
    let (current, from_label) = match &a.compared.from {
        Some(from) => (read_target(from)?, from.display().to_string()),
        None => {
            let url = database_url(&a.compared.db, "diff").map_err(or_from("diff"))?;
            (introspect(&url, &[])?, target_label(&url))
        }
    };
    let opts = WriteOptions::default();
    let old = spec::to_yaml(&current.without_hints(), opts);
    let new = spec::to_yaml(&target.without_hints(), opts);
    if old == new {
        write_output(None, "no differences\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let color = match a.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let text = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&from_label, &a.compared.target.display().to_string())
        .to_string();
    let mut out = std::io::stdout().lock();
    for line in text.lines() {
        let painted = match (color, line.chars().next()) {
            (true, Some('+')) if !line.starts_with("+++") => format!("\x1b[32m{line}\x1b[0m"),
            (true, Some('-')) if !line.starts_with("---") => format!("\x1b[31m{line}\x1b[0m"),
            (true, Some('@')) => format!("\x1b[36m{line}\x1b[0m"),
            _ => line.to_string(),
        };
        writeln!(out, "{painted}").map_err(anyhow::Error::from)?;
    }
    Ok(if a.exit_code {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
