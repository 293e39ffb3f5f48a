//! Foreign keys and the unique keys they lean on. PostgreSQL ties every
//! foreign key to one unique index of the table it references, chosen
//! when the foreign key is added (the oldest that matches its columns),
//! and refuses to drop that index while the foreign key exists. So after
//! every rule has made its steps, `bind_foreign_keys` orders each change
//! of a referenced key against the foreign keys that use it.

use std::collections::{BTreeMap, BTreeSet};

use super::constraint::validate_step;
use super::*;
use crate::sql::postgres::foreign_key_def;

/// A unique key of a table as the current database has it, and what its
/// drop step provides if this plan drops it.
struct CurrentKey {
    name: Ident,
    gone: Resource,
}

/// Where the binding pass looks things up: which steps provide a
/// resource, and the target's name of each current table. Built once, so
/// the pass costs a lookup per foreign key, not a scan of every step.
struct Lookup {
    providers: BTreeMap<Resource, Vec<usize>>,
    target_names: BTreeMap<QualifiedName, QualifiedName>,
}

impl Lookup {
    fn of(steps: &[Step], cur: &Schema, tgt: &Schema) -> Lookup {
        let mut target_names: BTreeMap<QualifiedName, QualifiedName> = cur
            .tables
            .keys()
            .filter(|n| tgt.tables.contains_key(*n))
            .map(|n| (n.clone(), n.clone()))
            .collect();
        // A table that says it was renamed from a current one that the
        // target no longer has under its own name.
        // The first such table, if several say so.
        let mut renamed: BTreeMap<&QualifiedName, &QualifiedName> = BTreeMap::new();
        for (n, t) in &tgt.tables {
            if let Some(from) = &t.renamed_from
                && cur.tables.contains_key(from)
                && !cur.tables.contains_key(n)
            {
                renamed.entry(from).or_insert(n);
            }
        }
        for (from, n) in renamed {
            target_names.insert(from.clone(), n.clone());
        }
        let mut l = Lookup {
            providers: BTreeMap::new(),
            target_names,
        };
        l.index(steps);
        l
    }

    /// Indexes every step's `provides` again (after a step is removed).
    fn index(&mut self, steps: &[Step]) {
        self.providers.clear();
        for (i, s) in steps.iter().enumerate() {
            self.provided(i, s);
        }
    }

    fn provided(&mut self, i: usize, s: &Step) {
        for r in &s.provides {
            self.providers.entry(r.clone()).or_default().push(i);
        }
    }

    /// The first step that provides `r`, if any.
    fn provider(&self, r: &Resource) -> Option<usize> {
        self.providers.get(r).and_then(|v| v.first().copied())
    }

    /// Every step that provides `r`, in plan order.
    fn providers(&self, r: &Resource) -> &[usize] {
        self.providers.get(r).map_or(&[], Vec::as_slice)
    }

    /// The target's name for current table `t0`; `None` when it goes.
    fn target_name(&self, t0: &QualifiedName) -> Option<QualifiedName> {
        self.target_names.get(t0).cloned()
    }
}

impl Planner<'_> {
    /// Orders foreign keys against the unique keys they reference, once
    /// every rule has made its steps:
    /// - an existing foreign key goes (its own drop) before the key it is
    ///   tied to is dropped; one the target keeps is moved to a remaining
    ///   unique key in the same transaction as the drop, so no write can
    ///   slip in unchecked, and validated after;
    /// - a foreign key this plan adds waits for a unique index over its
    ///   columns (one this plan builds, when none of the current ones
    ///   stays) and for the drops of the current ones that go (it would be
    ///   tied to one of those otherwise), moving to a later phase if they
    ///   run in one.
    pub fn bind_foreign_keys(&mut self) {
        let cur = self.cur;
        let tgt = self.tgt;
        let mut look = Lookup::of(&self.steps, cur, tgt);
        for (t0, table) in &cur.tables {
            for (f, fk) in &table.foreign_keys {
                self.release_key(&mut look, t0, f, fk);
            }
        }
        for (t1, table) in &tgt.tables {
            for (f, fk) in &table.foreign_keys {
                self.wait_for_key(&mut look, t1, f, fk);
            }
        }
    }

    /// An existing foreign key `f` on `t0` whose referenced key may go.
    fn release_key(&mut self, look: &mut Lookup, t0: &QualifiedName, f: &Ident, fk: &ForeignKey) {
        let tgt = self.tgt;
        let Some(r1) = look.target_name(&fk.ref_table) else {
            // The referenced table goes: the foreign key goes first
            // (its drop requires the table).
            return;
        };
        let cols: BTreeSet<Ident> = fk.ref_columns.iter().cloned().collect();
        let dropped: Vec<(CurrentKey, usize)> = self
            .current_keys(&fk.ref_table, &r1, &cols)
            .into_iter()
            .filter_map(|k| {
                let i = look.provider(&k.gone)?;
                Some((k, i))
            })
            .collect();
        if dropped.is_empty() {
            return;
        }
        let t1 = look.target_name(t0);
        let own_gone = Resource::constraint_gone(t1.as_ref().unwrap_or(t0), f);
        if look.provider(&own_gone).is_some() {
            for (_, d) in &dropped {
                self.steps[*d].requires.push(own_gone.clone());
            }
            return;
        }
        let Some(t1) = t1 else { return };
        // The target keeps the foreign key, maybe under a new name.
        let Some((f1, fk1)) = tgt.tables.get(&t1).and_then(|t| {
            t.foreign_keys
                .iter()
                .find(|(n, k)| *n == f || k.renamed_from.as_ref() == Some(f))
        }) else {
            return;
        };
        if dropped.len() > 1 {
            let names: Vec<String> = dropped.iter().map(|(k, _)| k.name.to_string()).collect();
            return self.error(PlanError::Unsupported {
                object: format!("{t1}.{f1}"),
                what: format!(
                    "dropping the unique keys {} of {r1} together, which foreign key {f} may be tied to",
                    names.join(" and ")
                ),
                hint: "drop them in two migrations".into(),
            });
        }
        let (key, d) = &dropped[0];
        // Another unique index over the columns must be there to take over.
        let survivor = self
            .current_keys(&fk.ref_table, &r1, &cols)
            .into_iter()
            .any(|k| look.provider(&k.gone).is_none());
        let new_index = self
            .key_indexes
            .get(&(r1.clone(), cols.clone()))
            .and_then(|v| v.first())
            .cloned();
        if !survivor && new_index.is_none() {
            return self.error(PlanError::Unsupported {
                object: format!("{t1}.{f1}"),
                what: format!(
                    "dropping key {} of {r1}, which foreign key {f} needs, leaves no unique key over its columns",
                    key.name
                ),
                hint: "keep a unique key over the referenced columns in the target".into(),
            });
        }
        // A rename of the foreign key happens here too.
        let rename = look
            .providers(&Resource::constraint(&t1, f1))
            .iter()
            .copied()
            .find(|&i| self.steps[i].id.action == Action::Rename);
        if let Some(i) = rename {
            self.steps.remove(i);
            look.index(&self.steps);
        }
        let d = if rename.is_some_and(|i| i < *d) {
            d - 1
        } else {
            *d
        };
        self.rebind_in(look, d, &t1, f, f1, fk1, new_index);
    }

    /// Moves foreign key `f` (`f1` in the target) into drop step `d`: it
    /// is dropped before and added again, NOT VALID, after, in the same
    /// transaction; a step of its own validates it.
    #[allow(clippy::too_many_arguments)]
    fn rebind_in(
        &mut self,
        look: &mut Lookup,
        d: usize,
        t1: &QualifiedName,
        f: &Ident,
        f1: &Ident,
        fk1: &ForeignKey,
        new_index: Option<Resource>,
    ) {
        let step = &mut self.steps[d];
        if !step.transactional {
            // DROP INDEX CONCURRENTLY cannot share a transaction: a plain
            // DROP INDEX does (ACCESS EXCLUSIVE, catalog change only).
            step.statements = step
                .statements
                .iter()
                .map(|s| s.replacen("DROP INDEX CONCURRENTLY", "DROP INDEX", 1))
                .collect();
            step.transactional = true;
            step.timeouts = Timeouts {
                lock_timeout_ms: None,
                lock_timeout_cap_ms: None,
                statement_timeout_ms: None,
            };
            step.lock = Lock {
                level: LockLevel::AccessExclusive,
                cost: Cost::Metadata,
            };
        }
        // The foreign key's drop and add lock its referenced table too.
        step.timeouts.lock_timeout_cap_ms = Some(super::GIVE_WAY_LOCK_TIMEOUT_MS);
        // Tables are renamed in expand: by now it has its target name.
        step.statements.insert(
            0,
            format!("ALTER TABLE {} DROP CONSTRAINT {}", qt(t1), qi(f)),
        );
        step.statements.push(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(t1),
            qi(f1),
            foreign_key_def(fk1)
        ));
        step.description = format!(
            "{}, moving foreign key {f1} on {t1} to the unique key that remains",
            step.description
        );
        step.requires.push(Resource::table(t1));
        for c in &fk1.columns {
            step.requires.push(Resource::column(t1, c));
        }
        if let Some(r) = new_index {
            step.requires.push(r);
        }
        step.provides.push(Resource::constraint(t1, f1));
        look.index(&self.steps);
        let validate = validate_step(
            ObjectKind::ForeignKey,
            t1,
            f1,
            Phase::Contract,
            format!("fails if a row of {t1} has no match in {}", fk1.ref_table),
        );
        self.push(validate);
        let last = self.steps.len() - 1;
        look.provided(last, &self.steps[last]);
    }

    /// A foreign key this plan adds waits for a unique index over the
    /// columns it references.
    fn wait_for_key(&mut self, look: &mut Lookup, t1: &QualifiedName, f: &Ident, fk: &ForeignKey) {
        let provides = Resource::constraint(t1, f);
        let Some(add) = look.providers(&provides).iter().copied().find(|&i| {
            let s = &self.steps[i];
            s.id.kind == ObjectKind::ForeignKey && s.id.action == Action::Create
        }) else {
            return;
        };
        let r1 = &fk.ref_table;
        let cols: BTreeSet<Ident> = fk.ref_columns.iter().cloned().collect();
        let mut after: Vec<Resource> = Vec::new();
        let mut survivor = false;
        if let Some(r0) = current_name(self.cur, self.tgt, r1) {
            for k in self.current_keys(&r0, r1, &cols) {
                if look.provider(&k.gone).is_some() {
                    after.push(k.gone);
                } else {
                    survivor = true;
                }
            }
        }
        if !survivor && let Some(v) = self.key_indexes.get(&(r1.clone(), cols)) {
            after.extend(v.iter().cloned());
        }
        let mut phase = self.steps[add].phase;
        for r in &after {
            if let Some(p) = look.provider(r) {
                phase = phase.max(self.steps[p].phase);
            }
        }
        self.steps[add].requires.extend(after);
        if phase > self.steps[add].phase {
            self.steps[add].phase = phase;
            if phase == Phase::Contract {
                self.steps[add].undo = None;
            }
            let validate = self.steps.iter_mut().find(|s| {
                s.id.kind == ObjectKind::ForeignKey
                    && s.id.action == Action::Validate
                    && s.requires.contains(&provides)
            });
            if let Some(v) = validate {
                v.phase = v.phase.max(phase);
                if v.phase == Phase::Contract {
                    v.undo = None;
                }
            }
        }
    }

    /// The unique keys of current table `r0` (`r1` in the target) over
    /// exactly `cols`, which a foreign key may be tied to: the primary
    /// key, immediate unique constraints, and unique indexes over plain
    /// columns without a predicate.
    fn current_keys(
        &self,
        r0: &QualifiedName,
        r1: &QualifiedName,
        cols: &BTreeSet<Ident>,
    ) -> Vec<CurrentKey> {
        let Some(t) = self.cur.tables.get(r0) else {
            return Vec::new();
        };
        let same = |c: &[Ident]| c.len() == cols.len() && c.iter().all(|x| cols.contains(x));
        let mut out = Vec::new();
        if let Some(pk) = t.primary_key.as_ref().filter(|pk| same(&pk.columns)) {
            out.push(CurrentKey {
                name: pk.name.clone(),
                gone: Resource::constraint_gone(r1, &pk.name),
            });
        }
        for (n, u) in &t.uniques {
            if u.deferrable == Deferrable::No && same(&u.columns) {
                out.push(CurrentKey {
                    name: n.clone(),
                    gone: Resource::constraint_gone(r1, n),
                });
            }
        }
        for (n, ix) in &t.indexes {
            let plain = ix.key_columns();
            if ix.unique && ix.predicate.is_none() && plain.is_some_and(|p| same(&p)) {
                out.push(CurrentKey {
                    name: n.clone(),
                    gone: Resource::index_gone(&r1.schema, n),
                });
            }
        }
        out
    }
}

/// The current name of target table `t1`; `None` when it is new.
fn current_name(cur: &Schema, tgt: &Schema, t1: &QualifiedName) -> Option<QualifiedName> {
    let t = tgt.tables.get(t1)?;
    match &t.renamed_from {
        Some(r) if cur.tables.contains_key(r) && !cur.tables.contains_key(t1) => Some(r.clone()),
        _ => cur.tables.contains_key(t1).then(|| t1.clone()),
    }
}
