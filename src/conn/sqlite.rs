//! SQLite files: `sqlite:` URLs as sqlx reads them (`sqlite:dev.db`,
//! `sqlite://dev.db`, `sqlite:///abs/path.db`, `sqlite::memory:`, with
//! `?mode=ro|rw|rwc|memory`, `cache=`, `immutable=`, `vfs=`).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::{ConnError, DbError};

/// A SQLite database: a file, or one in memory.
#[derive(Clone)]
pub struct SqliteConnInfo {
    url: String,
    options: SqliteConnectOptions,
    /// `mode=` was given: the user chose whether a missing file is made.
    mode_given: bool,
}

impl SqliteConnInfo {
    pub fn parse_url(url: &str) -> Result<SqliteConnInfo, ConnError> {
        let options = SqliteConnectOptions::from_str(url).map_err(|e| ConnError::Invalid {
            reason: format!("{url}: {e}"),
        })?;
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let mode_given = query.split('&').any(|p| p.starts_with("mode="));
        Ok(SqliteConnInfo {
            url: url.to_string(),
            options,
            mode_given,
        })
    }

    /// The file, or `:memory:`.
    pub fn path(&self) -> PathBuf {
        self.options.get_filename().to_path_buf()
    }

    fn in_memory(&self) -> bool {
        self.url.contains(":memory:") || self.url.contains("mode=memory")
    }

    pub fn display(&self) -> String {
        if self.in_memory() {
            "SQLite database in memory".to_string()
        } else {
            format!("SQLite file {}", self.path().display())
        }
    }

    /// How to open the database (see [`Self::connect`]).
    pub fn options(&self, create: bool, busy: Duration) -> Result<SqliteConnectOptions, ConnError> {
        let mut options = self.options.clone().busy_timeout(busy).foreign_keys(true);
        if !self.mode_given {
            options = options.create_if_missing(create);
            if !create && !self.in_memory() && !self.path().exists() {
                return Err(ConnError::NoFile {
                    path: self.path().display().to_string(),
                });
            }
        }
        Ok(options)
    }

    /// Opens the database. `create`: a missing file is made (as `apply`
    /// does); otherwise a missing file is an error that says so, unless
    /// the URL's `mode=` says otherwise. Foreign keys are enforced, and a
    /// write waits up to `busy` for another connection's write to end.
    pub async fn connect(
        &self,
        create: bool,
        busy: Duration,
    ) -> Result<SqliteConnection, ConnError> {
        self.options(create, busy)?
            .connect()
            .await
            .map_err(|e| ConnError::Connect {
                target: self.display(),
                source: DbError(e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_file_or_memory_and_options_are_checked() {
        let f = SqliteConnInfo::parse_url("sqlite:dev.db").expect("parses");
        assert_eq!(f.path(), PathBuf::from("dev.db"));
        assert_eq!(f.display(), "SQLite file dev.db");
        assert!(!f.mode_given);
        let abs = SqliteConnInfo::parse_url("sqlite:///var/app.db").expect("parses");
        assert_eq!(abs.path(), PathBuf::from("/var/app.db"));
        let m = SqliteConnInfo::parse_url("sqlite::memory:").expect("parses");
        assert_eq!(m.display(), "SQLite database in memory");
        assert!(m.options(false, Duration::from_secs(1)).is_ok());
        let ro = SqliteConnInfo::parse_url("sqlite://dev.db?mode=ro").expect("parses");
        assert!(ro.mode_given);
        assert!(matches!(
            SqliteConnInfo::parse_url("sqlite:dev.db?colour=blue"),
            Err(ConnError::Invalid { .. })
        ));
        // Only apply makes a missing file.
        let missing = SqliteConnInfo::parse_url("sqlite:/nonexistent/dir/x.db").expect("parses");
        assert!(matches!(
            missing.options(false, Duration::from_secs(1)),
            Err(ConnError::NoFile { .. })
        ));
        assert!(missing.options(true, Duration::from_secs(1)).is_ok());
    }
}
