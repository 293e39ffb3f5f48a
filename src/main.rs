//! The `bellows` binary: parse the command line, run it, print errors to
//! stderr and map them to the documented exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(cli::CliError::Other(e)) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(cli::CliError::Reported(text)) => {
            eprintln!("{}", cli::secrets::scrub(&text));
            ExitCode::from(2)
        }
        Err(cli::CliError::Other(e)) => {
            eprintln!("{}", cli::secrets::scrub(&cli::with_causes(e.as_ref())));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{}", cli::secrets::scrub(&format!("error: {e}")));
            ExitCode::from(2)
        }
    }
}

/// `bellows dump | head` is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
