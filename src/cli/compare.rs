//! `plan` and `diff`: the commands that compare the current schema (a
//! live database, or a file) with a target file.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use bellows::introspect;
use bellows::model::Schema;
use bellows::plan::{EmptyTables, Plan, PlanErrors, PlanOptions};
use bellows::render;
use bellows::spec::{self, WriteOptions};

use super::{
    CliError, ColorChoice, DiffArgs, PlanArgs, PlanFormat, apply, database_url, in_dev_words,
    in_server_words, or_from, read_target, runtime, scope, warn_unmanaged, write_output,
};

/// Where a connection string points, for labels (no password).
fn target_label(url: &str) -> String {
    bellows::conn::Target::parse(url)
        .map(|t| t.display())
        .unwrap_or_else(|_| "the database".to_string())
}

/// The target, the live schema with its plan options, and the URL. The
/// tables held empty are the statistics' (see `planned_live`). The target file
/// is parsed on a thread of its own while the database is read (mostly
/// waiting on the server): neither waits for the other. A problem in the
/// target is reported as soon as it is found, and first, as when the file
/// was read before connecting: the connection, perhaps still waiting on
/// an unreachable host, is dropped.
fn target_and_live(a: &PlanArgs) -> Result<(Schema, Schema, PlanOptions, String), CliError> {
    let path = a.compared.target.clone();
    let url = database_url(&a.compared.db, "plan").map_err(or_from("plan"));
    runtime()?.block_on(async {
        let mut parsing = tokio::task::spawn_blocking(move || read_target(&path));
        let url = match url {
            Ok(url) => url,
            Err(e) => {
                parsed(parsing.await)?;
                return Err(e);
            }
        };
        let opts = introspect::Options {
            emptiness_from_statistics: true,
            ..scope(&a.schemas)
        };
        let reading = introspect::introspect_url(&url, &opts);
        tokio::pin!(reading);
        let (target, found) = tokio::select! {
            target = &mut parsing => {
                let target = parsed(target)?;
                (target, reading.await)
            }
            found = &mut reading => (parsed(parsing.await)?, found),
        };
        let found = found.map_err(anyhow::Error::from)?;
        warn_unmanaged(&found);
        let mut target = target;
        in_server_words(&url, &found.schema, &mut target).await?;
        let opts = found.plan_options();
        Ok((target, found.schema, opts, url.clone()))
    })
}

/// What the parsing task gave: the target, or why it could not be read.
fn parsed(
    joined: Result<Result<Schema, CliError>, tokio::task::JoinError>,
) -> Result<Schema, CliError> {
    match joined {
        Ok(target) => target,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(CliError::Other(anyhow::anyhow!(
            "reading the target file: {e}"
        ))),
    }
}

pub(crate) fn plan(a: &PlanArgs) -> Result<ExitCode, CliError> {
    let (target, current, opts, url) = match &a.compared.from {
        Some(from) => {
            let mut target = read_target(&a.compared.target)?;
            let mut current = read_target(from)?.without_hints();
            in_dev_words(a.compared.dev_url.as_deref(), &mut current, &mut target)?;
            let opts = PlanOptions {
                dialect: a.compared.dialect.map(|d| d.dialect()).unwrap_or_default(),
                ..PlanOptions::default()
            };
            (target, current, opts, None)
        }
        None => {
            let (target, current, opts, url) = target_and_live(a)?;
            (target, current, opts, Some(url))
        }
    };
    let plan = match &url {
        Some(url) => planned_live(url, &current, &target, opts)?,
        None => bellows::plan::plan(&current, &target, &opts),
    }
    .map_err(|e| {
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
    let code = if a.exit_code && !plan.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends here: its memory goes back whole, faster than
    // freeing two schemas of many thousands of objects one by one.
    std::mem::forget((current, target, plan));
    Ok(code)
}

/// The plan against the database at `url`, whose empty tables `opts`
/// took from the statistics: the tables the planner asked about and
/// held empty are confirmed (the server looks at their files, which it
/// was spared for every other table), and if one has rows after all the
/// plan is made again without it.
fn planned_live(
    url: &str,
    current: &Schema,
    target: &Schema,
    mut opts: PlanOptions,
) -> Result<Result<Plan, PlanErrors>, CliError> {
    let plan = bellows::plan::plan(current, target, &opts);
    let asked = opts.empty_tables.asked_and_empty();
    if asked.is_empty() {
        return Ok(plan);
    }
    let sure = runtime()?
        .block_on(introspect::confirm_empty_url(url, &asked))
        .map_err(anyhow::Error::from)?;
    if sure.len() == asked.len() {
        return Ok(plan);
    }
    let stale: std::collections::BTreeSet<_> =
        asked.iter().filter(|t| !sure.contains(*t)).collect();
    let known = opts
        .empty_tables
        .known()
        .iter()
        .filter(|t| !stale.contains(t))
        .cloned()
        .collect();
    opts.empty_tables = EmptyTables::new(known);
    Ok(bellows::plan::plan(current, target, &opts))
}

fn indent_errors(text: &str) -> String {
    text.lines()
        .map(|l| format!("  error: {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn diff(a: &DiffArgs) -> Result<ExitCode, CliError> {
    let mut target = read_target(&a.compared.target)?;
    let (current, from_label, dialect) = match &a.compared.from {
        Some(from) => {
            let mut current = read_target(from)?;
            in_dev_words(a.compared.dev_url.as_deref(), &mut current, &mut target)?;
            let dialect = a.compared.dialect.map(|d| d.dialect()).unwrap_or_default();
            (current, from.display().to_string(), dialect)
        }
        None => {
            let url = database_url(&a.compared.db, "diff").map_err(or_from("diff"))?;
            let current = super::introspect(&url, &[])?;
            runtime()?.block_on(in_server_words(&url, &current, &mut target))?;
            let dialect = match bellows::conn::Target::parse(&url) {
                Ok(bellows::conn::Target::Sqlite(_)) => bellows::model::Dialect::Sqlite,
                _ => bellows::model::Dialect::Postgres,
            };
            (current, target_label(&url), dialect)
        }
    };
    // What the database would read back of the target.
    let target = bellows::plan::as_stored(&target, dialect).into_owned();
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
