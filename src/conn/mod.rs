//! Connecting to a database: what a connection string names, read the way
//! the database's own clients read it (for PostgreSQL: URLs, libpq keyword
//! strings, the PG* environment, ~/.pgpass), errors that say what is wrong
//! without ever showing a password, and driver errors shown as the server
//! said them.
//!
//! A `Target` knows its dialect; everything else in bellows asks it to
//! connect rather than looking at a URL's scheme.

pub mod postgres;
pub mod sqlite;

use std::fmt;

pub use postgres::PgConnInfo;
pub use sqlite::SqliteConnInfo;

/// A database to connect to.
#[derive(Clone)]
pub enum Target {
    Postgres(PgConnInfo),
    Sqlite(Box<SqliteConnInfo>),
}

impl Target {
    /// Reads a connection string: a `postgres://` or `postgresql://` URL,
    /// a `sqlite:` URL, or a libpq keyword string such as `host=db dbname=app user=app`.
    /// An empty string means libpq's environment variables and defaults
    /// (`PGHOST`, `PGDATABASE`, ...), as `psql` with no arguments.
    pub fn parse(text: &str) -> Result<Target, ConnError> {
        let t = text.trim();
        if let Some(scheme) = scheme_of(t) {
            return match scheme.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" => Ok(Target::Postgres(PgConnInfo::parse_url(t)?)),
                "sqlite" => Ok(Target::Sqlite(Box::new(SqliteConnInfo::parse_url(t)?))),
                _ => Err(ConnError::UnsupportedScheme {
                    scheme: scheme.to_string(),
                }),
            };
        }
        Ok(Target::Postgres(PgConnInfo::parse_keywords(t)?))
    }

    /// Where this connects, for messages: never a password.
    pub fn display(&self) -> String {
        match self {
            Target::Postgres(p) => p.display(),
            Target::Sqlite(s) => s.display(),
        }
    }

    /// The secrets this target holds (passwords), so that an output path
    /// outside the library can make sure it never shows them.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Target::Postgres(p) => p.secrets(),
            Target::Sqlite(_) => Vec::new(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.display())
    }
}

/// The URL scheme, when `text` starts with one (`word:` and no `=` before
/// it: a keyword string's first `=` comes before any `:`).
fn scheme_of(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let looks_like_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (looks_like_scheme && !text[..colon].contains('=')).then_some(scheme)
}

/// Why a connection string cannot be used, or a connection not made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// A URL of a database bellows does not talk to.
    #[error(
        "`{scheme}:` databases are not supported yet: bellows connects to PostgreSQL (a postgres:// or postgresql:// URL, or a keyword string such as `host=db dbname=app`) and SQLite (`sqlite:FILE`)"
    )]
    UnsupportedScheme { scheme: String },
    /// The string does not follow the URL or keyword syntax.
    #[error("invalid connection string: {reason}")]
    Invalid { reason: String },
    /// A parameter libpq does not know either.
    #[error("unknown connection parameter `{name}`{}; bellows understands: {}", .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), postgres::KEYWORDS.join(", "))]
    UnknownParameter {
        name: String,
        suggestion: Option<&'static str>,
    },
    /// A libpq parameter bellows does not implement.
    #[error("connection parameter `{name}` is not supported by bellows: {why}")]
    Unsupported { name: String, why: String },
    /// A value of a known parameter is wrong.
    #[error("connection parameter `{name}`: {why}")]
    BadValue { name: String, why: String },
    /// Server verification asked for, with nothing to verify against.
    #[error(
        "sslmode={mode} verifies the server's certificate, but no root certificate was given and {default} does not exist; name the CA file with sslrootcert=FILE (or PGSSLROOTCERT), trust the system's CAs with sslrootcert=system, or use sslmode=require to encrypt without verifying"
    )]
    NoRootCert { mode: &'static str, default: String },
    /// A SQLite file that is not there, where only `apply` makes one.
    #[error(
        "{path}: no such SQLite file; check the path (relative paths start from the current directory), or let `bellows apply` make it"
    )]
    NoFile { path: String },
    /// The connection itself failed.
    #[error("cannot connect to {target}: {source}")]
    Connect { target: String, source: DbError },
    /// `connect_timeout` passed.
    #[error("cannot connect to {target}: no answer within connect_timeout ({seconds}s)")]
    Timeout { target: String, seconds: u64 },
}

/// A database driver's error, shown as the server said it: its message,
/// SQLSTATE, detail and hint, but not the server's source position (which
/// reads like a line of the user's file).
#[derive(Debug)]
pub struct DbError(pub sqlx::Error);

impl DbError {
    /// The server's SQLSTATE, when the error came from the server.
    pub fn sqlstate(&self) -> Option<String> {
        self.0
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string())
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        DbError(e)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            sqlx::Error::Database(d) => {
                f.write_str(d.message())?;
                if let Some(code) = d.code() {
                    write!(f, " (SQLSTATE {code})")?;
                }
                f.write_str(&server_notes(d.as_ref()))
            }
            sqlx::Error::Tls(e) => write!(f, "TLS: {e}"),
            sqlx::Error::Io(e) => write!(f, "{e}"),
            sqlx::Error::PoolTimedOut => {
                f.write_str("timed out waiting for a connection from the pool")
            }
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for DbError {}

/// What the server said beside its message (for PostgreSQL its DETAIL
/// and HINT, which often name the row at fault), one indented line each.
pub fn server_notes(d: &dyn sqlx::error::DatabaseError) -> String {
    postgres::notes(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_keyword_strings_are_told_apart() {
        assert_eq!(scheme_of("postgres://h/db"), Some("postgres"));
        assert_eq!(scheme_of("sqlite:dev.db"), Some("sqlite"));
        assert_eq!(scheme_of("host=h dbname=d"), None);
        assert_eq!(scheme_of("host=h options='-c a=b:c'"), None);
        assert_eq!(scheme_of(""), None);
        assert!(matches!(
            Target::parse("mysql://u@h/db"),
            Err(ConnError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            Target::parse("host=db dbname=app"),
            Ok(Target::Postgres(_))
        ));
    }
}
