//! A table whose partitioning changes: partitioned, made a plain table
//! again, or partitioned by another key. Every row would have to move to
//! another table, so the target's table is built beside the live one, under
//! a name of its own, in expand: empty, so its keys, indexes and foreign
//! keys cost nothing there. Its partitions are made under it. A sync
//! trigger on the live table makes every write there in the new table too,
//! and migrate copies the rows that were there before, in batches by the
//! live table's key, each row locked while it is copied so that a writer
//! and the batch never miss each other. Contract swaps it in, in one short
//! transaction: the live table goes, the new one takes its name (and its
//! keys and indexes theirs), views over it are made again and foreign keys
//! that referenced it point at it again (NOT VALID, validated after).
//!
//! A live table without a key to find a row again by cannot be kept in
//! step while its rows are copied: they are copied in the swap's
//! transaction while writes wait (`long-lock`, refused unless allowed).

use std::collections::BTreeSet;

use super::paging::row_key;
use super::*;

mod beside;
mod swap;

use swap::Swap;

/// A foreign key of another table that references the rebuilt one: it
/// goes with the live table and is added again over the new one.
pub(super) struct Referencing {
    pub(super) table: QualifiedName,
    name: Ident,
    fk: ForeignKey,
}

impl Planner<'_> {
    /// Whether target table `table` is built beside its live self: it is
    /// in both under that name, neither is a partition, and its
    /// partitioning changes.
    pub(super) fn rebuilds(&self, table: &QualifiedName) -> bool {
        match (self.cur.tables.get(table), self.tgt.tables.get(table)) {
            (Some(old), Some(new)) => {
                old.partition_of.is_none()
                    && new.partition_of.is_none()
                    && old.partition_by != new.partition_by
            }
            _ => false,
        }
    }

    /// Whether `g` is on a table built beside (or a column of one), which
    /// gets the target's privileges when it is made.
    pub(super) fn on_rebuilt_table(&self, g: &GrantKey) -> bool {
        match &g.on {
            GrantOn::Relation(q, _) | GrantOn::Column(q, _) => self.rebuilds(q),
            _ => false,
        }
    }

    /// The name target table `table` is built beside the live one under,
    /// until contract swaps it in; `None` when it is not rebuilt.
    pub(super) fn rebuilt_beside(&mut self, table: &QualifiedName) -> Option<QualifiedName> {
        if !self.rebuilds(table) {
            return None;
        }
        let name = self.helper(
            &[Space::Relation(table.schema.clone())],
            &[table.name.as_str()],
            "bellows_new",
            format!("the new partitioning of table {table}"),
        );
        Some(QualifiedName::new(table.schema.clone(), name))
    }

    /// Plans table `name` built beside and swapped in (see the module's
    /// comment), or refuses it with every reason it cannot be.
    pub(super) fn rebuild_table(&mut self, name: &QualifiedName, old: &Table, new: &Table) {
        let Some(beside) = self.rebuilt_beside(name) else {
            return;
        };
        let what = match (&old.partition_by, &new.partition_by) {
            (None, _) => format!("partitioning table {name}"),
            (_, None) => format!("making partitioned table {name} a plain table"),
            (Some(a), Some(b)) => format!(
                "changing the partition key of {name} from {} to {}",
                a.sql(),
                b.sql()
            ),
        };
        self.guard_unmanaged(name, Affects::Rebuild, what.clone());
        if self.refused_in_inheritance(name, &what) {
            return;
        }
        let (referencing, gone, mut why) = self.referencing(name);
        why.extend(self.rebuild_refusals(name, old, new));
        let key = row_key(old).map(|p| p.key);
        let conflict = match &key {
            Some(key) => match conflict_columns(key, new) {
                Ok(c) => Some(c),
                Err(e) => {
                    why.push(e);
                    None
                }
            },
            None => None,
        };
        if !why.is_empty() {
            return self.error(PlanError::Unsupported {
                object: name.to_string(),
                what: format!("{what}: {}", why.join("; ")),
                hint: "make those changes in a plan of their own, before or after this one".into(),
            });
        }
        // Its triggers and policies go with the live table and are made on
        // the new one at the swap, as the target has them.
        let (cur, tgt) = (self.cur, self.tgt);
        self.triggers_done.extend(
            cur.triggers
                .keys()
                .chain(tgt.triggers.keys())
                .filter(|k| k.table == *name)
                .cloned(),
        );
        self.policies_done.extend(
            cur.policies
                .keys()
                .chain(tgt.policies.keys())
                .filter(|k| k.table == *name)
                .cloned(),
        );
        // The columns both tables have, which the copy carries over; a
        // generated one is computed again in the new table.
        let columns: Vec<Ident> = new
            .columns
            .iter()
            .filter(|c| c.generated.is_none() && old.column(c.name.as_str()).is_some())
            .map(|c| c.name.clone())
            .collect();
        let (renames, arbiter) = self.create_beside(name, &beside, new, conflict.as_deref());
        let partitions = self.new_partitions(name);
        let mut swap_needs: Vec<Resource> = partitions.iter().map(Resource::table).collect();
        swap_needs.extend(gone);
        swap_needs.push(Resource::table(&beside));
        let copied = match (&key, &conflict) {
            (Some(key), Some(conflict)) => {
                let (drop_trigger, needs) =
                    self.copy_online(name, &beside, key, conflict, &columns, &partitions);
                swap_needs.extend(needs);
                Some(drop_trigger)
            }
            _ => None,
        };
        self.swap_in(
            name,
            &beside,
            old,
            new,
            Swap {
                copied,
                columns,
                renames,
                arbiter,
                referencing,
                needs: swap_needs,
            },
        );
    }

    /// Foreign keys of other tables that reference `name`, which the swap
    /// adds again over the new table; the drops of those the target lets
    /// go, which the swap waits for; and, as refusals, those that change
    /// or are new in this plan (they would be made over the live table).
    fn referencing(&self, name: &QualifiedName) -> (Vec<Referencing>, Vec<Resource>, Vec<String>) {
        let (cur, tgt) = (self.cur, self.tgt);
        let mut out = Vec::new();
        let mut gone = Vec::new();
        let mut why = Vec::new();
        let mut live: BTreeSet<(&QualifiedName, &Ident)> = BTreeSet::new();
        for (t, table) in cur.tables.iter().filter(|(t, _)| *t != name) {
            for (n, fk) in table
                .foreign_keys
                .iter()
                .filter(|(_, f)| f.ref_table == *name)
            {
                live.insert((t, n));
                let renamed = tgt
                    .tables
                    .values()
                    .any(|tt| tt.renamed_from.as_ref() == Some(t));
                if self.rebuilds(t) {
                    why.push(format!(
                        "table {t}, whose foreign key {n} references it, is partitioned anew too (the two swaps would each hold the other's old table)"
                    ));
                    continue;
                }
                if renamed && !tgt.tables.contains_key(t) {
                    why.push(format!(
                        "table {t}, whose foreign key {n} references it, is renamed too"
                    ));
                    continue;
                }
                match tgt.tables.get(t).and_then(|tt| tt.foreign_keys.get(n)) {
                    Some(new) if new.same_definition(fk) && new.ref_table == *name => {
                        out.push(Referencing {
                            table: t.clone(),
                            name: n.clone(),
                            fk: new.clone(),
                        })
                    }
                    Some(_) => why.push(format!(
                        "foreign key {n} of {t}, which references it, changes too"
                    )),
                    None => gone.push(Resource::constraint_gone(t, n)),
                }
            }
        }
        for (t, table) in tgt.tables.iter().filter(|(t, _)| *t != name) {
            for (n, _) in table
                .foreign_keys
                .iter()
                .filter(|(_, f)| f.ref_table == *name)
            {
                if !live.contains(&(t, n)) {
                    why.push(format!(
                        "foreign key {n} of {t}, which references it, is new"
                    ));
                }
            }
        }
        (out, gone, why)
    }

    /// What the new table cannot take over from the live one in this
    /// plan: each reason, for the refusal.
    fn rebuild_refusals(&self, name: &QualifiedName, old: &Table, new: &Table) -> Vec<String> {
        let (cur, tgt) = (self.cur, self.tgt);
        let mut why = Vec::new();
        // Forced, its policies would hide rows from the copy, which reads
        // as the table's owner.
        if cur.row_security.get(name).is_some_and(|r| r.forced) {
            why.push("it forces row-level security, so the copy would read only the rows its policies show the applying role (turn `force_row_security` off in a plan before this one)".into());
        }
        for c in &new.columns {
            let n = &c.name;
            match old.column(n.as_str()) {
                Some(o) => {
                    if o.ty != c.ty || o.collation != c.collation {
                        why.push(format!("column {n} changes type"));
                    }
                    if o.generated != c.generated {
                        why.push(format!("column {n} changes its generated expression"));
                    }
                }
                None if c.renamed_from.is_some() => why.push(format!("column {n} is renamed")),
                None if c.backfill.is_some() => why.push(format!("new column {n} has a backfill")),
                None if !c.nullable && c.default.is_none() && c.generated.is_none() => {
                    why.push(format!("new column {n} is NOT NULL without a default"))
                }
                None => {}
            }
            if c.identity.is_some() && old.column(n.as_str()).is_none_or(|o| o.identity.is_none()) {
                why.push(format!("column {n} is made identity"));
            }
        }
        for (p, t) in &cur.tables {
            if t.partition_of.as_ref().is_some_and(|o| o.parent == *name)
                && tgt.tables.contains_key(p)
            {
                why.push(format!(
                    "its partition {p} stays (a new partitioning needs partitions of new names; one kept as a table of its own is detached in a plan before)"
                ));
            }
        }
        why
    }

    /// The new partitions of `name`, at every level: the tables the sync
    /// trigger and the copy write through.
    fn new_partitions(&self, name: &QualifiedName) -> Vec<QualifiedName> {
        let mut parents: BTreeSet<&QualifiedName> = BTreeSet::from([name]);
        let mut out = BTreeSet::new();
        loop {
            let more: Vec<&QualifiedName> = self
                .tgt
                .tables
                .iter()
                .filter(|(q, t)| {
                    !parents.contains(q)
                        && t.partition_of
                            .as_ref()
                            .is_some_and(|o| parents.contains(&o.parent))
                })
                .map(|(q, _)| q)
                .collect();
            if more.is_empty() {
                break;
            }
            for q in more {
                parents.insert(q);
                out.insert(q.clone());
            }
        }
        out.into_iter().collect()
    }
}

/// The columns a copied row is found by in the new table: the live key
/// and the new partition key (a unique index on a partitioned table must
/// hold the partition key).
fn conflict_columns(key: &[Ident], new: &Table) -> Result<Vec<Ident>, String> {
    let mut cols = key.to_vec();
    for k in key {
        if new.column(k.as_str()).is_none() {
            return Err(format!(
                "its key column {k} is dropped (the copy finds rows by it: drop it in a plan after this one)"
            ));
        }
    }
    if let Some(by) = &new.partition_by {
        let Some(plain) = by.plain_columns() else {
            return Err(format!(
                "the new partition key {} has an expression, which no unique index can hold: the copy could not tell a row it made twice (partition by plain columns, or move the rows by hand)",
                by.sql()
            ));
        };
        for c in plain {
            let id = Ident::new(c.clone()).map_err(|e| e.to_string())?;
            if !cols.contains(&id) {
                cols.push(id);
            }
        }
    }
    Ok(cols)
}

/// Whether `t` has a unique key or index, immediate and whole, over
/// exactly `cols`, every one NOT NULL (NULLs would not conflict).
pub(super) fn has_unique_over(t: &Table, cols: &[Ident]) -> bool {
    let set: BTreeSet<&Ident> = cols.iter().collect();
    let same = |c: &[Ident]| c.iter().collect::<BTreeSet<_>>() == set && c.len() == cols.len();
    if cols
        .iter()
        .any(|c| t.column(c.as_str()).is_none_or(|c| c.nullable))
    {
        return false;
    }
    t.primary_key
        .as_ref()
        .is_some_and(|p| p.deferrable == Deferrable::No && same(&p.columns))
        || t.uniques
            .values()
            .any(|u| u.deferrable == Deferrable::No && same(&u.columns))
        || t.indexes.values().any(|ix| {
            ix.unique
                && ix.predicate.is_none()
                && ix.method == DEFAULT_INDEX_METHOD
                && ix.key_columns().is_some_and(|c| same(&c))
        })
}

#[cfg(test)]
mod tests;
