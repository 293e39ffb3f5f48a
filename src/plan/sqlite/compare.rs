//! How the target compares with the live table on SQLite: the target as
//! SQLite stores it, without the hints it cannot act on, the live table
//! under the target's column names, and what changed, in words.

use std::collections::BTreeMap;

use crate::model::{Ident, Identity, QualifiedName, Schema, Table};

/// SQLite numbers rows by its rowid, which a sole `integer` primary key
/// column names: an identity key column of any integer type (`always` or
/// `by_default`), or a `serial` one (an integer key whose default takes
/// the next value of a plain sequence it owns), becomes that column,
/// `integer PRIMARY KEY AUTOINCREMENT` (numbers never used again, as a
/// sequence's), and the sequence goes. SQLite cannot refuse an id a
/// statement gives, so it reads back as `identity: by_default`. Identity
/// options and sequences SQLite has no place for are left for `refuse`
/// to name.
pub(in crate::plan) fn as_stored(target: &Schema) -> std::borrow::Cow<'_, Schema> {
    let sole_key = |t: &Table| -> Option<Ident> {
        match t.primary_key.as_ref().map(|p| p.columns.as_slice()) {
            Some([only]) if !t.without_rowid => Some(only.clone()),
            _ => None,
        }
    };
    let identity_key = |t: &Table| {
        let k = sole_key(t)?;
        t.columns
            .iter()
            .find(|c| {
                c.name == k
                    && c.identity.is_some()
                    && c.identity_options.is_default()
                    && c.ty.is_integer()
            })
            .map(|c| c.name.clone())
    };
    // serial keys: the table, its key column and the sequence.
    let serials: Vec<(QualifiedName, Ident, QualifiedName)> = target
        .sequences
        .iter()
        .filter_map(|(seq_name, seq)| {
            let (table, column) = seq.owned_by.as_ref()?;
            let table = QualifiedName::new(seq_name.schema.clone(), table.clone());
            let t = target.tables.get(&table)?;
            let key = t
                .columns
                .iter()
                .find(|c| Some(&c.name) == sole_key(t).as_ref())?;
            let plain = seq.options.is_default();
            let calls = key
                .default
                .as_deref()
                .and_then(crate::sql::postgres::nextval_sequence)
                .is_some_and(|s| &s == seq_name);
            (&key.name == column && key.ty.is_integer() && plain && calls)
                .then(|| (table, column.clone(), seq_name.clone()))
        })
        .collect();
    let changes = |t: &Table| {
        identity_key(t).is_some_and(|k| {
            t.columns.iter().any(|c| {
                c.name == k
                    && (c.identity != Some(Identity::ByDefault) || c.ty.to_string() != "integer")
            })
        })
    };
    if serials.is_empty() && !target.tables.values().any(changes) {
        return std::borrow::Cow::Borrowed(target);
    }
    let mut s = target.clone();
    let integer = crate::model::ColumnType::parse("integer").expect("integer is a type");
    for (table, column, seq) in serials {
        s.sequences.remove(&seq);
        if let Some(c) = s
            .tables
            .get_mut(&table)
            .and_then(|t| t.columns.iter_mut().find(|c| c.name == column))
        {
            c.default = None;
            c.identity = Some(Identity::ByDefault);
            c.ty = integer.clone();
        }
    }
    for t in s.tables.values_mut() {
        if let Some(k) = identity_key(t)
            && let Some(c) = t.columns.iter_mut().find(|c| c.name == k)
        {
            c.identity = Some(Identity::ByDefault);
            c.ty = integer.clone();
        }
    }
    std::borrow::Cow::Owned(s)
}

/// The target without the rename hints of keys, checks and indexes,
/// which SQLite cannot rename (a changed one is made again), so that they
/// compare with the live ones as they are.
pub(super) fn without_key_hints(target: &Schema) -> Schema {
    let mut s = target.clone();
    for t in s.tables.values_mut() {
        if let Some(pk) = &mut t.primary_key {
            pk.renamed_from = None;
        }
        t.uniques.values_mut().for_each(|u| u.renamed_from = None);
        t.foreign_keys
            .values_mut()
            .for_each(|f| f.renamed_from = None);
        t.checks.values_mut().for_each(|c| c.renamed_from = None);
        t.indexes.values_mut().for_each(|i| i.renamed_from = None);
    }
    s
}

/// `adds check x`, `drops unique key y`, `changes foreign key z`.
pub(super) fn changed_keys<T: PartialEq>(
    what: &str,
    old: &BTreeMap<Ident, T>,
    new: &BTreeMap<Ident, T>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (n, o) in old {
        match new.get(n) {
            None => out.push(format!("drops {what} {n}")),
            Some(x) if x != o => out.push(format!("changes {what} {n}")),
            Some(_) => {}
        }
    }
    for n in new.keys().filter(|n| !old.contains_key(*n)) {
        out.push(format!("adds {what} {n}"));
    }
    out
}

/// Whether an expression names the column: a word of it, as written or
/// quoted.
pub(super) fn mentions(expr: &str, column: &Ident) -> bool {
    let c = column.as_str().to_ascii_lowercase();
    let e = expr.to_ascii_lowercase();
    e.contains(&format!("\"{c}\""))
        || e.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .any(|w| w == c)
}

/// The live table with the target's names for the columns this plan
/// renames, so that its keys compare with the target's.
pub(super) fn with_renames(t: &Table, renamed: &BTreeMap<&Ident, &Ident>) -> Table {
    let map = |cols: &mut Vec<Ident>| {
        for c in cols.iter_mut() {
            if let Some(n) = renamed.get(c) {
                *c = (*n).clone();
            }
        }
    };
    let mut t = t.clone();
    if let Some(pk) = &mut t.primary_key {
        map(&mut pk.columns);
    }
    for u in t.uniques.values_mut() {
        map(&mut u.columns);
    }
    for f in t.foreign_keys.values_mut() {
        map(&mut f.columns);
    }
    t
}
