//! SQLite's SQL that both apply and `--format sql` use: quoting and a
//! backfill's statements.

use crate::plan::Backfill;

/// An identifier, always double-quoted: SQLite's keywords are not
/// PostgreSQL's, and quoting is always right.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A backfill batch by rowid: the statement that reads the batch's upper
/// bound (`?1` the last bound, `?2` the batch size; NULL when no row is
/// left) and the UPDATE of the rows up to it (`?1` < rowid <= `?2`),
/// which leaves rows already filled alone.
pub fn backfill_batch(b: &Backfill) -> (String, String) {
    let t = quote_ident(b.table.name.as_str());
    let bounds = format!(
        "SELECT max(rowid) FROM (SELECT rowid FROM {t} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)"
    );
    (bounds, update(b, "rowid > ?1 AND rowid <= ?2"))
}

/// The backfill's UPDATE over the rows `range` picks.
pub fn update(b: &Backfill, range: &str) -> String {
    let c = quote_ident(b.column.as_str());
    let only_null = if b.only_null {
        format!(" AND {c} IS NULL")
    } else {
        String::new()
    };
    format!(
        "UPDATE {} SET {c} = ({}) WHERE {range}{only_null}",
        quote_ident(b.table.name.as_str()),
        b.expression
    )
}
