//! How a batched backfill pages through its table: by a key where it
//! has one, else by ranges of pages.

use super::*;

impl Planner<'_> {
    /// How a batched backfill of `table` pages through it: by the
    /// current primary key; else by a unique key or unique index over
    /// NOT NULL columns (the fewest columns first: keyset pagination
    /// needs every row to have a key, and an index to seek it); else by
    /// ranges of pages, which PostgreSQL 14+ reads with a TID range scan.
    /// On an older server there is no safe way: refused, saying why.
    pub(super) fn backfill_key(&mut self, table: &QualifiedName, why: String) -> Option<Paging> {
        let old_name = self.cur_name(table);
        let t = self.cur.tables.get(&old_name)?;
        if let Some(paging) = row_key(t) {
            return Some(paging);
        }
        if t.partition_by.is_some() {
            // Page numbers repeat across partitions: no key, no batches.
            self.error(PlanError::Unsupported {
                object: table.to_string(),
                what: format!("{why} needs a batched backfill of partitioned table {table}, which has no primary key or unique key over NOT NULL columns to page by"),
                hint: "add a primary key (it includes the partition key) first, in a separate migration".into(),
            });
            return None;
        }
        match self.server_version {
            Some(v) if v < 140_000 => {
                self.error(PlanError::NoKeyForBackfill {
                    table: table.to_string(),
                    why,
                    server: format!("{}.{}", v / 10_000, v % 10_000),
                });
                None
            }
            _ => Some(Paging {
                how: format!(
                    "by ranges of pages ({table} has no primary key or unique key over NOT NULL columns)"
                ),
                key: Vec::new(),
            }),
        }
    }
}

/// The key that tells `t`'s rows apart, to page through them or to find
/// a row again: its primary key; else a unique key or unique index over
/// NOT NULL columns (the fewest columns first: keyset pagination needs
/// every row to have a key, and an index to seek it). None without one.
pub(super) fn row_key(t: &Table) -> Option<Paging> {
    if let Some(pk) = &t.primary_key {
        return Some(Paging {
            how: format!("by primary key ({})", names(&pk.columns)),
            key: pk.columns.clone(),
        });
    }
    let not_null = |cols: &[Ident]| {
        cols.iter()
            .all(|c| t.column(c.as_str()).is_some_and(|col| !col.nullable))
    };
    let mut keys: Vec<(usize, String, Vec<Ident>)> = Vec::new();
    for (n, u) in &t.uniques {
        if not_null(&u.columns) {
            keys.push((
                u.columns.len(),
                format!("unique key {n}"),
                u.columns.clone(),
            ));
        }
    }
    for (n, ix) in &t.indexes {
        let cols = ix.key_columns();
        if let Some(cols) = cols
            && ix.unique
            && ix.predicate.is_none()
            && ix.method == DEFAULT_INDEX_METHOD
            && not_null(&cols)
        {
            keys.push((cols.len(), format!("unique index {n}"), cols));
        }
    }
    keys.sort();
    keys.into_iter().next().map(|(_, what, cols)| Paging {
        how: format!("by {what} ({})", names(&cols)),
        key: cols,
    })
}

/// How a backfill pages through its table: `key` columns (none: by
/// ranges of pages), and `how`, for the plan.
pub(super) struct Paging {
    pub key: Vec<Ident>,
    pub how: String,
}

fn names(cols: &[Ident]) -> String {
    cols.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
