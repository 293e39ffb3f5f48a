//! Located diagnostics for target files, and how they read.

use std::fmt;
use std::path::PathBuf;

/// A position in a file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// A range in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

/// One thing wrong with a target file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where; `None` only for problems of the file as a whole.
    pub span: Option<Span>,
    pub message: String,
    /// What is allowed, or what to do instead.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one file, with the text needed to show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiagnostics {
    /// The file as the user named it.
    pub path: PathBuf,
    pub source: String,
    /// Sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a target file could not be read into a schema.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The file could not be read at all.
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read and has problems; all of them are listed.
    #[error("{0}")]
    Invalid(FileDiagnostics),
}

impl fmt::Display for FileDiagnostics {
    /// rustc-style: the message, `--> file:line:column`, the source line
    /// with a caret under the offending text, and the help.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.source.lines().collect();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "error: {}", d.message)?;
            match d.span {
                Some(span) => {
                    let Pos { line, column } = span.start;
                    let (line, column) = (line as usize, column as usize);
                    let (end_line, end_column) = (span.end.line as usize, span.end.column as usize);
                    writeln!(f, "  --> {}:{}:{}", self.path.display(), line, column)?;
                    if let Some(text) = lines.get(line.wrapping_sub(1)) {
                        let gutter = line.to_string().len();
                        let width = if end_line == line && end_column > column {
                            end_column - column
                        } else {
                            text.chars().count().saturating_sub(column - 1).max(1)
                        };
                        writeln!(f, "{:gutter$} |", "")?;
                        writeln!(f, "{line} | {text}")?;
                        writeln!(
                            f,
                            "{:gutter$} | {}{}",
                            "",
                            " ".repeat(column - 1),
                            "^".repeat(width)
                        )?;
                    }
                }
                None => writeln!(f, "  --> {}", self.path.display())?,
            }
            if let Some(help) = &d.help {
                writeln!(f, "  = help: {help}")?;
            }
        }
        let n = self.diagnostics.len();
        write!(
            f,
            "\n{}: {n} error{} found",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )
    }
}

pub use crate::suggest::did_you_mean;
