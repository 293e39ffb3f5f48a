//! Partitioning's grammar: a partition key and a partition bound, read
//! into the model in the deparser's words (so the target's spelling and
//! the server's compare equal), and the statements that make partitions.

use super::parse::{SyntaxError, canonical_partition_bound, canonical_partition_key};
use super::qualified;
use crate::model::{PartitionBound, PartitionKey, PartitionStrategy, QualifiedName, Schema, Table};

/// What follows `PARTITION BY`: `range (created_at)`, `LIST (lower(k))`.
pub fn partition_key(def: &str) -> Result<PartitionKey, SyntaxError> {
    let text = canonical_partition_key(def)?;
    let bad = || SyntaxError {
        message: format!("`{def}` is not a partition key"),
        offset: None,
    };
    let (word, rest) = text.split_once(' ').ok_or_else(bad)?;
    let strategy = PartitionStrategy::ALL
        .into_iter()
        .find(|s| s.keyword().eq_ignore_ascii_case(word))
        .ok_or_else(bad)?;
    let key = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    Ok(PartitionKey {
        strategy,
        key: key.trim().to_string(),
    })
}

/// A partition's bound: `DEFAULT`, or `FOR VALUES ...` (the words `FOR
/// VALUES` may be left out).
pub fn partition_bound(def: &str) -> Result<PartitionBound, SyntaxError> {
    let trimmed = def.trim();
    let lower = trimmed.to_ascii_lowercase();
    let full = if lower == "default" || lower.starts_with("for ") {
        trimmed.to_string()
    } else {
        format!("FOR VALUES {trimmed}")
    };
    let text = canonical_partition_bound(&full).map_err(|mut e| {
        // Point into what was written, not the words added before it.
        e.offset = e
            .offset
            .map(|o| o.saturating_sub(full.len() - trimmed.len()));
        e
    })?;
    if text.eq_ignore_ascii_case("DEFAULT") {
        return Ok(PartitionBound::Default);
    }
    match text.strip_prefix("FOR VALUES ") {
        Some(v) => Ok(PartitionBound::Values(v.to_string())),
        None => Err(SyntaxError {
            message: format!("`{def}` is not a partition bound"),
            offset: None,
        }),
    }
}

/// The schema's tables, each partition after its parent (otherwise in
/// name order).
pub fn parents_first(schema: &Schema) -> Vec<(&QualifiedName, &Table)> {
    let mut out: Vec<(&QualifiedName, &Table)> = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    let mut pending: Vec<(&QualifiedName, &Table)> = schema.tables.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|&(q, t)| {
            let ready = t
                .partition_of
                .as_ref()
                .is_none_or(|p| done.contains(&p.parent) || !schema.tables.contains_key(&p.parent));
            if ready {
                out.push((q, t));
                done.insert(q.clone());
            }
            !ready
        });
        if pending.len() == before {
            // A cycle, which no database holds: in name order.
            out.append(&mut pending);
        }
    }
    out
}

/// `CREATE TABLE` for `t` with its column and constraint clauses
/// `parts`: a partition `PARTITION OF` its parent (its columns are the
/// parent's), a partitioned table with its key.
pub fn create_table_sql(name: &QualifiedName, t: &Table, parts: &[String]) -> String {
    let unlogged = if t.unlogged { "UNLOGGED " } else { "" };
    let by = table_options_sql(t);
    match &t.partition_of {
        Some(of) => {
            let own = if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            };
            format!(
                "CREATE {unlogged}TABLE {} PARTITION OF {}{own} {}{by}",
                qualified(name),
                qualified(&of.parent),
                of.bound.sql()
            )
        }
        None => {
            let inherits = if t.inherits.is_empty() {
                String::new()
            } else {
                let parents: Vec<String> = t.inherits.iter().map(qualified).collect();
                format!(" INHERITS ({})", parents.join(", "))
            };
            format!(
                "CREATE {unlogged}TABLE {} ({}){inherits}{by}",
                qualified(name),
                parts.join(", ")
            )
        }
    }
}

/// What follows a new table's columns: ` PARTITION BY ...` for a
/// partitioned table, ` WITH (...)` for storage parameters.
pub fn table_options_sql(t: &Table) -> String {
    partition_by_sql(t) + &super::with_clause(&t.storage)
}

/// ` PARTITION BY ...` for a partitioned table, else nothing.
pub fn partition_by_sql(t: &Table) -> String {
    t.partition_by
        .as_ref()
        .map(|k| format!(" PARTITION BY {}", k.sql()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_bounds_read_in_one_spelling() {
        let k = partition_key("range ( created_at )").expect("key");
        assert_eq!(k.strategy, PartitionStrategy::Range);
        assert_eq!(k.sql(), "RANGE (created_at)");
        assert_eq!(
            partition_key("LIST (lower(k))").expect("key").key,
            "(lower(k))"
        );
        assert_eq!(partition_key("hash (a, b)").expect("key").key, "a, b");
        assert!(partition_key("range created_at").is_err());
        assert_eq!(partition_bound("default"), Ok(PartitionBound::Default));
        assert_eq!(
            partition_bound("from (1) to (10)"),
            partition_bound("FOR VALUES FROM (1) TO (10)")
        );
        assert_eq!(
            partition_bound("IN ('a', NULL)").expect("bound").sql(),
            "FOR VALUES IN ('a', NULL)"
        );
        let e = partition_bound("FROM (1) TO").expect_err("incomplete");
        assert!(e.message.contains("syntax error"), "{e:?}");
    }
}
