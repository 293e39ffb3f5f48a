//! Located diagnostics for target files, and how they read.

use std::fmt;
use std::path::PathBuf;

/// A position in a file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
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
                    writeln!(f, "  --> {}:{}:{}", self.path.display(), line, column)?;
                    if let Some(text) = lines.get(line.wrapping_sub(1)) {
                        let gutter = line.to_string().len();
                        let width = if span.end.line == line && span.end.column > column {
                            span.end.column - column
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

/// The closest of `candidates` to `word`, if it is close enough to be a
/// likely typo (at most a third of the word's letters differ).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for &c in candidates {
        let d = edit_distance(word, c);
        if d <= (word.chars().count().max(3) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions,
/// substitutions and swaps of neighbours (the usual typos) cost one each.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_recognized_and_strangers_are_not() {
        let keys = ["type", "nullable", "default"];
        assert_eq!(did_you_mean("nulable", &keys), Some("nullable"));
        assert_eq!(did_you_mean("tpye", &keys), Some("type"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }
}
