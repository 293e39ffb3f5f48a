//! `partition_by`, `partition_of` and `bound`: a partitioned table's key,
//! a partition's parent and bound. Partitions are read after the tables
//! they are partitions of, since their columns are their parent's.

use super::*;
use crate::spec::read::sql_text;
use crate::sql::postgres::{partition_bound, partition_key};

type Entry = (Located<String>, Checked<TableSpec>);

/// The entries in file order, but each partition after its parent and
/// each table after those it inherits from (one whose parent is not
/// among them keeps its place at the end, where reading it reports why).
pub(super) fn parents_first(entries: Vec<Entry>) -> Vec<Entry> {
    // A partition's parent, and the tables a table inherits from.
    let parents = |e: &Entry| -> Vec<QualifiedName> {
        match &e.1 {
            Checked::Valid(spec) => spec
                .partition_of
                .iter()
                .chain(spec.inherits.iter().flatten())
                .filter_map(|p| QualifiedName::parse(&p.value).ok())
                .collect(),
            Checked::Invalid => Vec::new(),
        }
    };
    if entries.iter().all(|e| parents(e).is_empty()) {
        // No partition: the order stays, and nothing is moved.
        return entries;
    }
    let (mut out, mut pending): (Vec<Entry>, Vec<Entry>) =
        entries.into_iter().partition(|e| parents(e).is_empty());
    let mut done: BTreeSet<QualifiedName> = out
        .iter()
        .filter_map(|(k, _)| QualifiedName::parse(&k.value).ok())
        .collect();
    loop {
        let (ready, rest): (Vec<Entry>, Vec<Entry>) = pending
            .into_iter()
            .partition(|e| parents(e).iter().all(|p| done.contains(p)));
        pending = rest;
        if ready.is_empty() {
            break;
        }
        done.extend(
            ready
                .iter()
                .filter_map(|(k, _)| QualifiedName::parse(&k.value).ok()),
        );
        out.extend(ready);
    }
    out.extend(pending);
    out
}

/// A partition's parent and bound, and the columns it has (its root's).
/// `Err` when the entry is reported broken.
pub(super) fn read_partition_of(
    r: &mut Reader,
    name: &QualifiedName,
    spec: &TableSpec,
) -> Result<Option<(PartitionOf, Vec<Column>)>, ()> {
    let Some(of) = &spec.partition_of else {
        if let Some(b) = &spec.bound {
            r.diags.push(
                Diagnostic::new(
                    b.span(),
                    format!("table `{name}` has a `bound` but no `partition_of`"),
                )
                .help("a bound says which rows a partition takes: name the partitioned table in `partition_of`, or remove `bound`"),
            );
            return Err(());
        }
        return Ok(None);
    };
    let Some(parent) = qname(r.diags, of, "table") else {
        return Err(());
    };
    let mut ok = true;
    if !spec.columns.0.is_empty() {
        let span = spec.columns.0.first().and_then(|(k, _)| k.span());
        r.diags.push(
            Diagnostic::new(span, format!("partition `{name}` lists columns"))
                .help(format!("a partition's columns are those of `{parent}`: remove `columns` here and change them there")),
        );
        ok = false;
    }
    let Some(bound_text) = &spec.bound else {
        r.diags.push(
            Diagnostic::new(of.span(), format!("partition `{name}` has no `bound`"))
                .help("say which rows it takes: `bound: FROM ('2024-01-01') TO ('2025-01-01')`, `bound: IN ('eu', 'uk')`, `bound: WITH (modulus 4, remainder 0)` or `bound: DEFAULT`"),
        );
        return Err(());
    };
    let bound = sql_text(
        r.diags,
        bound_text,
        &format!("the bound of partition `{name}`"),
        |t| partition_bound(t).map(|_| ()),
        "write what follows FOR VALUES (`FROM (...) TO (...)`, `IN (...)`, `WITH (modulus m, remainder r)`), or DEFAULT",
    )
    .and_then(|t| partition_bound(&t).ok());
    let Some(bound) = bound else {
        return Err(());
    };
    if parent == *name {
        r.diags.push(Diagnostic::new(
            of.span(),
            format!("table `{name}` is a partition of itself"),
        ));
        return Err(());
    }
    let Some(p) = r.schema.tables.get(&parent) else {
        if r.places.is_broken(&parent, None) {
            return Err(());
        }
        let message = if r.places.tables.contains_key(&parent) {
            format!(
                "partition `{name}` is a partition of `{parent}`, which is itself, through its parents, a partition of `{name}`"
            )
        } else {
            format!("partition `{name}` is a partition of `{parent}`, which is not defined")
        };
        r.diags.push(
            Diagnostic::new(of.span(), message)
                .help("name a table of the file that has `partition_by`"),
        );
        return Err(());
    };
    let Some(key) = &p.partition_by else {
        r.diags.push(
            Diagnostic::new(
                of.span(),
                format!(
                    "partition `{name}` is a partition of `{parent}`, which is not partitioned"
                ),
            )
            .help(format!(
                "give `{parent}` a `partition_by` (e.g. `range (created_at)`)"
            )),
        );
        return Err(());
    };
    let fits = match (&bound, key.strategy) {
        (PartitionBound::Default, s) => s != PartitionStrategy::Hash,
        (PartitionBound::Values(v), s) => v.starts_with(match s {
            PartitionStrategy::Range => "FROM ",
            PartitionStrategy::List => "IN ",
            PartitionStrategy::Hash => "WITH ",
        }),
    };
    if !fits {
        let want = match key.strategy {
            PartitionStrategy::Range => "`FROM (...) TO (...)` or `DEFAULT`",
            PartitionStrategy::List => "`IN (...)` or `DEFAULT`",
            PartitionStrategy::Hash => {
                "`WITH (modulus m, remainder r)` (a hash-partitioned table has no default partition)"
            }
        };
        r.diags.push(
            Diagnostic::new(
                bound_text.span(),
                format!(
                    "the bound of partition `{name}` does not fit `{parent}`, which is partitioned by {}",
                    key.sql()
                ),
            )
            .help(format!("write {want}")),
        );
        ok = false;
    }
    let columns = r.schema.table_columns(&parent).to_vec();
    if !ok {
        return Err(());
    }
    Ok(Some((PartitionOf { parent, bound }, columns)))
}

/// `partition_by`, its plain column keys checked against `columns`.
pub(super) fn read_partition_by(
    r: &mut Reader,
    name: &QualifiedName,
    spec: &Option<Located<String>>,
    columns: &[Column],
) -> Option<PartitionKey> {
    let l = spec.as_ref()?;
    let text = sql_text(
        r.diags,
        l,
        &format!("the partition key of `{name}`"),
        |t| partition_key(t).map(|_| ()),
        "write a strategy and the key in parentheses: `range (created_at)`, `list (region)`, `hash (id)`; an expression key goes in its own parentheses: `list ((lower(code)))`",
    )?;
    let key = partition_key(&text).ok()?;
    for element in key.elements() {
        let Some(first) = PartitionKey::column_of(element) else {
            continue;
        };
        if !columns.iter().any(|c| c.name.as_str() == first) {
            r.diags.push(
                Diagnostic::new(
                    l.span(),
                    format!("the partition key of `{name}` names column `{first}`, which the table does not have"),
                )
                .help(column_list(&Table {
                    columns: columns.to_vec(),
                    ..Table::default()
                })),
            );
            return None;
        }
    }
    Some(key)
}

/// PostgreSQL refuses a primary key, unique constraint or unique index on
/// a partitioned table that does not include every column of the
/// partition key (and any, when the key has an expression): each
/// partition can only check its own rows.
pub(super) fn check_unique_keys(
    r: &mut Reader,
    name: &QualifiedName,
    t: &Table,
    key: &PartitionKey,
    at: &Located<String>,
) {
    let elements = key.elements();
    let plain: Vec<String> = elements
        .iter()
        .filter_map(|e| PartitionKey::column_of(e))
        .filter(|w| t.columns.iter().any(|c| c.name.as_str() == w))
        .collect();
    let expression = plain.len() < elements.len();
    let uniques = t
        .primary_key
        .iter()
        .map(|p| (format!("primary key {}", p.name), p.columns.clone()))
        .chain(
            t.uniques
                .iter()
                .map(|(n, u)| (format!("unique constraint {n}"), u.columns.clone())),
        )
        .chain(t.indexes.iter().filter(|(_, ix)| ix.unique).map(|(n, ix)| {
            let plain = ix.keys.iter().filter_map(|k| k.column_name().cloned());
            (format!("unique index {n}"), plain.collect())
        }));
    for (what, cols) in uniques {
        let missing: Vec<&str> = plain
            .iter()
            .map(String::as_str)
            .filter(|k| !cols.iter().any(|c| c.as_str() == *k))
            .collect();
        if expression || !missing.is_empty() {
            let why = if expression {
                "its partition key has an expression, which no unique key can include".to_string()
            } else {
                format!("it lacks the partition key's {}", missing.join(", "))
            };
            r.diags.push(
                Diagnostic::new(
                    at.span(),
                    format!("{what} on partitioned table `{name}`: {why}"),
                )
                .help("PostgreSQL checks uniqueness partition by partition: a unique key of a partitioned table must include every column of the partition key"),
            );
            return;
        }
    }
}
