//! The lock levels steps name: PostgreSQL's table locks, and the one
//! write lock of a SQLite database.

use serde::{Deserialize, Serialize};

/// PostgreSQL's table lock levels, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockLevel {
    /// Takes no table lock worth naming (new objects, namespaces, types).
    None,
    /// Row locks on the rows a batch updates (plus ROW EXCLUSIVE, which
    /// conflicts with no ordinary read or write).
    RowExclusive,
    ShareUpdateExclusive,
    /// Writes wait; reads go on.
    Share,
    ShareRowExclusive,
    AccessExclusive,
    /// SQLite's write lock on the whole database: other writers wait
    /// (up to their busy timeout); readers go on in WAL mode.
    DatabaseWrite,
}

impl LockLevel {
    pub fn sql_name(self) -> &'static str {
        match self {
            LockLevel::None => "no table lock",
            LockLevel::RowExclusive => "ROW EXCLUSIVE (row locks per batch)",
            LockLevel::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockLevel::Share => "SHARE",
            LockLevel::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockLevel::AccessExclusive => "ACCESS EXCLUSIVE",
            LockLevel::DatabaseWrite => "the database's write lock (writers wait, readers go on)",
        }
    }
}
