//! Collations a schema defines (`CREATE COLLATION`): how text sorts and
//! compares in the columns and indexes that name them.

/// What implements a collation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum CollationProvider {
    /// The operating system's C library (`LC_COLLATE` / `LC_CTYPE`).
    #[default]
    Libc,
    /// ICU, by locale tag (`en-u-kn-true`).
    Icu,
}

impl CollationProvider {
    /// The spelling `CREATE COLLATION` and the YAML format use.
    pub fn keyword(self) -> &'static str {
        match self {
            CollationProvider::Libc => "libc",
            CollationProvider::Icu => "icu",
        }
    }
}

/// A collation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Collation {
    pub provider: CollationProvider,
    /// The locale: libc's `LC_COLLATE` (and `LC_CTYPE`, unless `ctype`
    /// says otherwise), or ICU's locale tag.
    pub locale: String,
    /// libc only: an `LC_CTYPE` other than `locale`.
    pub ctype: Option<String>,
    /// False for a nondeterministic collation, under which strings that
    /// differ in bytes may compare equal (ICU only).
    pub deterministic: bool,
}
