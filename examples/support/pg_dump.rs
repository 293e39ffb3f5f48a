//! The whole-schema comparison of migra's conformance README, shared by
//! the conformance test and the real-schema example: `pg_dump
//! --schema-only` of a database as a set of lines, without comments,
//! `SET` and `\` lines, blank lines and trailing commas (column and
//! statement order are not judged).

use std::collections::BTreeSet;

/// What `pg_dump --schema-only` prints of the database at `url`, bellows's
/// own schema left out, as a set of lines; the error says why pg_dump
/// could not run or what it printed when it failed.
pub fn whole_schema(url: &str) -> Result<BTreeSet<String>, String> {
    let out = std::process::Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-owner",
            "--exclude-schema=bellows",
            "-d",
            url,
        ])
        .output()
        .map_err(|e| {
            format!("pg_dump does not run (it comes with PostgreSQL's client package): {e}")
        })?;
    if !out.status.success() {
        return Err(format!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end().trim_end_matches(',').to_string())
        .filter(|l| {
            !l.is_empty() && !l.starts_with("--") && !l.starts_with("SET ") && !l.starts_with('\\')
        })
        .collect())
}

/// The lines only one of `a` and `b` has: `-` for a's, `+` for b's.
pub fn differing(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b)
        .map(|l| format!("-{l}"))
        .chain(b.difference(a).map(|l| format!("+{l}")))
        .collect()
}
