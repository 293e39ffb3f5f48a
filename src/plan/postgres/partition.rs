//! Partitions: made beside a live partitioned table and attached (which
//! takes only SHARE UPDATE EXCLUSIVE on it), detached CONCURRENTLY before
//! they are dropped, and indexes on a partitioned table that holds rows
//! built partition by partition (`ON ONLY`, then each partition's index
//! CONCURRENTLY, attached). A change of partitioning: `partition_change.rs`.

use super::constraint::undo_add_constraint;
use super::*;
use crate::sql::postgres::{
    create_index, create_index_on_only, create_table_sql, foreign_key_def, table_options_sql,
};

impl Planner<'_> {
    /// The live partitioned table `table` is (under its target name), if
    /// it is one: not a new table.
    pub(super) fn live_partitioned(&self, table: &QualifiedName) -> bool {
        let live = self.cur.tables.get(table).or_else(|| {
            self.renamed_from_live(table)
                .and_then(|f| self.cur.tables.get(f))
        });
        live.is_some_and(|t| t.partition_by.is_some())
    }

    /// The step that makes partition `name` of `of.parent`. Under a new
    /// parent: `CREATE TABLE ... PARTITION OF`. Under a live one, whose
    /// `PARTITION OF` would take ACCESS EXCLUSIVE on it: the table is made
    /// beside it (`LIKE` the parent, so its columns match) and attached,
    /// which takes SHARE UPDATE EXCLUSIVE (reads and writes go on). The
    /// new table is empty, so checking the bound against its rows costs
    /// nothing; a default partition, though, is scanned under ACCESS
    /// EXCLUSIVE to prove it holds no row of the new bound.
    pub(super) fn create_partition(
        &mut self,
        name: &QualifiedName,
        t: &Table,
        of: &PartitionOf,
        parts: Vec<String>,
    ) -> Step {
        let unlogged = if t.unlogged { "UNLOGGED " } else { "" };
        let sub = table_options_sql(t);
        let parent = &of.parent;
        self.names_the_server_picks(name, t, parent);
        // Under a table built beside with a new partitioning: under the
        // new one, which is empty and which nobody uses yet.
        if let Some(beside) = self.rebuilt_beside(parent) {
            let under = Table {
                partition_of: Some(PartitionOf {
                    parent: beside.clone(),
                    bound: of.bound.clone(),
                }),
                ..t.clone()
            };
            return new_step(
                ObjectKind::Table,
                name.to_string(),
                Action::Create,
                Phase::Expand,
                format!("create table {name}, a partition of the new partitioning of {parent} (built beside it as {beside})"),
            )
            .sql(create_table_sql(name, &under, &parts))
            .requires(Resource::table(&beside));
        }
        if !self.live_partitioned(parent) {
            return new_step(
                ObjectKind::Table,
                name.to_string(),
                Action::Create,
                Phase::Expand,
                format!("create table {name}, a partition of {parent}"),
            )
            .sql(create_table_sql(name, t, &parts))
            .requires(Resource::table(parent));
        }
        let mut clauses = vec![format!(
            "LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED",
            qt(parent)
        )];
        clauses.extend(parts);
        let mut step = new_step(
            ObjectKind::Table,
            name.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create table {name} beside {parent} and attach it as a partition (SHARE UPDATE EXCLUSIVE on {parent}: reads and writes go on)"),
        )
        .sql(format!(
            "CREATE {unlogged}TABLE {} ({}){sub}",
            qt(name),
            clauses.join(", ")
        ))
        .sql(format!(
            "ALTER TABLE {} ATTACH PARTITION {} {}",
            qt(parent),
            qt(name),
            of.bound.sql()
        ))
        .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
        .requires(Resource::table(parent));
        if let Some(default) = self.live_default_partition(parent)
            && of.bound != PartitionBound::Default
            && !self.empty_tables.contains(&default)
        {
            step = step
                .hazard(
                    HazardKind::LongLock,
                    format!("attaching scans the default partition {default} under ACCESS EXCLUSIVE, to prove it holds no row of the new bound: reads and writes of {default} wait for the scan"),
                )
                .hazard(
                    HazardKind::MayFail,
                    format!("fails if {default} holds rows of the new bound: move them out first"),
                );
        }
        step
    }

    /// A new partition gets a copy of each of its parent's indexes and
    /// keys, which the server names as it names a new index
    /// (`<partition>_<columns>_idx`, `_key`, `_pkey`). One of the
    /// partition's own that takes such a name would fail to build after
    /// the attach: refused now, with the way round it.
    fn names_the_server_picks(&mut self, name: &QualifiedName, t: &Table, parent: &QualifiedName) {
        let live_parent = self.renamed_from_live(parent).unwrap_or(parent);
        let parents = [
            self.cur.tables.get(live_parent),
            self.tgt.tables.get(parent),
        ];
        let mut picked: BTreeMap<String, String> = BTreeMap::new();
        let columns = |cols: Vec<&str>| cols.join("_");
        for p in parents.into_iter().flatten() {
            for (n, ix) in &p.indexes {
                let cols = ix
                    .keys
                    .iter()
                    .map(|k| k.column_name().map_or("expr", |c| c.as_str()))
                    .collect();
                let auto = naming::object_name(name.name.as_str(), Some(&columns(cols)), "idx");
                picked.insert(auto, format!("index {n}"));
            }
            for (n, u) in &p.uniques {
                let cols = u.columns.iter().map(Ident::as_str).collect();
                let auto = naming::object_name(name.name.as_str(), Some(&columns(cols)), "key");
                picked.insert(auto, format!("unique constraint {n}"));
            }
            if let Some(pk) = &p.primary_key {
                let auto = naming::primary_key_name(name.name.as_str());
                picked.insert(auto, format!("primary key {}", pk.name));
            }
        }
        let own = t.indexes.keys().chain(t.constraint_names());
        for n in own {
            if let Some(what) = picked.get(n.as_str()) {
                self.error(PlanError::Unsupported {
                    object: format!("{}.{n}", name.schema),
                    what: format!("an index or key of new partition {name} named {n}: the server gives that name to the partition's copy of {what} of {parent}, made when the partition is attached"),
                    hint: "give it another name".into(),
                });
            }
        }
    }

    /// The live default partition of `parent` (under its live name).
    fn live_default_partition(&self, parent: &QualifiedName) -> Option<QualifiedName> {
        let live_parent = self
            .renamed_from_live(parent)
            .cloned()
            .unwrap_or_else(|| parent.clone());
        self.cur
            .tables
            .iter()
            .find(|(_, t)| {
                t.partition_of
                    .as_ref()
                    .is_some_and(|p| p.parent == live_parent && p.bound == PartitionBound::Default)
            })
            .map(|(q, _)| q.clone())
    }

    /// Partition `name` of a table that stays is detached before contract
    /// drops it: CONCURRENTLY where the server can (PostgreSQL 14 and
    /// later, no default partition), which waits for the queries on the
    /// parent instead of blocking them. Under a parent that goes too,
    /// dropping the parent drops it: no step. `false` when it is no
    /// partition.
    pub(super) fn detach_partition(&mut self, name: &QualifiedName, t: &Table) -> Option<bool> {
        let of = t.partition_of.as_ref()?;
        let tgt = self.tgt;
        let parent_now = if tgt.tables.contains_key(&of.parent) {
            Some(of.parent.clone())
        } else {
            tgt.tables
                .iter()
                .find(|(_, n)| n.renamed_from.as_ref() == Some(&of.parent))
                .map(|(q, _)| q.clone())
        };
        let Some(parent) = parent_now else {
            return Some(false);
        };
        // Its parent is built again beside, without it: it goes with the
        // old one at the swap.
        if self.rebuilds(&parent) {
            return Some(false);
        }
        let concurrently = self.server_version.is_none_or(|v| v >= 140_000)
            && self.live_default_partition(&parent).is_none();
        let mut step = new_step(
            ObjectKind::Table,
            name.to_string(),
            Action::Detach,
            Phase::Contract,
            format!("detach partition {name} from {parent}"),
        )
        .requires(Resource::table(&parent))
        .provides(Resource::Detached(name.clone()));
        step = if concurrently {
            step.sql(format!(
                "ALTER TABLE {} DETACH PARTITION {} CONCURRENTLY",
                qt(&parent),
                qt(name)
            ))
            .outside_transaction()
            .index_build_timeouts()
            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
        } else {
            step.sql(format!(
                "ALTER TABLE {} DETACH PARTITION {}",
                qt(&parent),
                qt(name)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
        };
        self.push(step);
        Some(true)
    }

    /// The partitions of `parent` while expand runs: the live ones (under
    /// their live names; those that go are detached only in contract) and
    /// the new ones.
    fn partitions_during_expand(&self, parent: &QualifiedName) -> Vec<(QualifiedName, bool)> {
        let live_parent = self
            .renamed_from_live(parent)
            .cloned()
            .unwrap_or_else(|| parent.clone());
        let mut out: Vec<(QualifiedName, bool)> = self
            .cur
            .tables
            .iter()
            .filter(|(_, t)| {
                t.partition_of
                    .as_ref()
                    .is_some_and(|p| p.parent == live_parent)
            })
            .map(|(q, t)| (q.clone(), t.partition_by.is_some()))
            .collect();
        for (q, t) in &self.tgt.tables {
            if t.partition_of.as_ref().is_some_and(|p| &p.parent == parent)
                && !self.cur.tables.contains_key(q)
                && t.renamed_from
                    .as_ref()
                    .is_none_or(|f| !self.cur.tables.contains_key(f))
            {
                out.push((q.clone(), t.partition_by.is_some()));
            }
        }
        out.sort();
        out
    }

    /// An index on a partitioned table, which CONCURRENTLY cannot build.
    /// On a new one, a plain CREATE INDEX (the table is empty, and its
    /// partitions made later get the index). On a live one: `CREATE INDEX
    /// ... ON ONLY` the parent (a catalog change; the index is not valid
    /// yet), each partition's index built CONCURRENTLY and attached; the
    /// parent's index is valid once the last is. `None` when `table` is
    /// not partitioned.
    pub(super) fn create_partitioned_index(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        ix: &Index,
        phase: Phase,
        needs: &[Resource],
    ) -> Option<()> {
        let t = self
            .tgt
            .tables
            .get(table)
            .or_else(|| self.cur.tables.get(table))?;
        t.partition_by.as_ref()?;
        let index = QualifiedName::new(table.schema.clone(), name.clone());
        if !self.live_partitioned(table) {
            let step = new_step(
                ObjectKind::Index,
                index.to_string(),
                Action::Build,
                phase,
                format!("build index {name} on new partitioned table {table}"),
            )
            .sql(create_index(table, name, ix, false))
            .requires(Resource::table(table))
            .requires_all(needs.iter().cloned())
            .provides(Resource::index(&table.schema, name))
            .undo_with(vec![
                undo_step(
                    ObjectKind::Index,
                    index.to_string(),
                    format!("drop index {name} on {table}"),
                )
                .sql(format!("DROP INDEX IF EXISTS {}", qt(&index)))
                .removes(Resource::index(&table.schema, name)),
            ]);
            self.push(step);
            return Some(());
        }
        let partitions = self.partitions_during_expand(table);
        let only = create_index_on_only(table, name, ix);
        let mut undo = vec![format!("DROP INDEX IF EXISTS {}", qt(&index))];
        let mut step = new_step(
            ObjectKind::Index,
            index.to_string(),
            Action::Build,
            phase,
            format!("create index {name} on {table} alone (ON ONLY: a catalog change); each partition's index is built concurrently and attached to it"),
        )
        .sql(only)
        .lock(LockLevel::Share, Cost::Metadata)
        .requires(Resource::table(table))
        .requires_all(needs.iter().cloned())
        .provides(Resource::IndexOnOnly(index.clone()))
        .provides(Resource::index(&table.schema, name));
        let mut built = Vec::new();
        for (p, sub) in partitions {
            // The new partitions are attached before the parent's index
            // exists, or attaching would build theirs under the lock.
            step = step.requires(Resource::table(&p));
            let part_ix = self.helper(
                &[names::Space::Relation(p.schema.clone())],
                &[p.name.as_str(), name.as_str()],
                "idx",
                format!("the index of partition {p} for index {name} on {table}"),
            );
            undo.push(format!(
                "DROP INDEX IF EXISTS {}",
                qt(&QualifiedName::new(p.schema.clone(), part_ix.clone()))
            ));
            built.push((p, sub, part_ix));
        }
        let mut undo_step = undo_step(
            ObjectKind::Index,
            index.to_string(),
            format!("drop index {name} on {table} and its partitions' indexes"),
        )
        .removes(Resource::index(&table.schema, name));
        // The parent's first: dropping it drops the attached ones.
        for u in undo {
            undo_step = undo_step.sql(u);
        }
        self.push(step.undo_with(vec![undo_step]));
        for (p, sub, part_ix) in built {
            self.partition_index(table, name, ix, phase, &p, sub, &part_ix);
        }
        Some(())
    }

    /// Partition `p`'s index `part_ix` for index `name` on `table`, built
    /// and attached (a partitioned partition's is built by the same rule,
    /// one level down, before it is attached).
    #[allow(clippy::too_many_arguments)]
    fn partition_index(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        ix: &Index,
        phase: Phase,
        p: &QualifiedName,
        sub: bool,
        part_ix: &Ident,
    ) {
        let index = QualifiedName::new(table.schema.clone(), name.clone());
        let part = QualifiedName::new(p.schema.clone(), part_ix.clone());
        if sub {
            // A partitioned partition: its own ON ONLY index, its
            // partitions' attached to it, then it is attached.
            if self
                .create_partitioned_index(p, part_ix, ix, phase, &[])
                .is_none()
            {
                return;
            }
        } else {
            let step = new_step(
                ObjectKind::Index,
                part.to_string(),
                Action::Build,
                phase,
                format!("build index {part_ix} on partition {p}, for index {name} on {table}"),
            )
            .sql(create_index(p, part_ix, ix, true))
            .outside_transaction()
            .index_build_timeouts()
            .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
            .hazard(
                HazardKind::IndexBuild,
                format!("builds an index over all of {p}: two scans; reads and writes go on"),
            )
            .requires(Resource::table(p))
            .provides(Resource::index(&p.schema, part_ix))
            .undo_nothing();
            self.push(step);
        }
        self.push(
            new_step(
                ObjectKind::Index,
                part.to_string(),
                Action::Attach,
                phase,
                format!("attach index {part_ix} of partition {p} to index {name} on {table}"),
            )
            .sql(format!(
                "ALTER INDEX {} ATTACH PARTITION {}",
                qt(&index),
                qt(&part)
            ))
            .lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
            .requires(Resource::IndexOnOnly(index.clone()))
            .requires(Resource::index(&p.schema, part_ix))
            .provides(Resource::index(&table.schema, name))
            .undo_nothing(),
        );
    }

    /// PostgreSQL cannot add a foreign key NOT VALID to a partitioned
    /// table: it is added valid. On a new table that checks nothing; on
    /// a live one it checks every row while it holds SHARE ROW EXCLUSIVE
    /// on the partitions and the referenced table: writes to both wait.
    pub(super) fn add_partitioned_fk(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        fk: &ForeignKey,
        phase: Phase,
        after: Option<Resource>,
    ) {
        let live = self.live_partitioned(table);
        let mut add = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{name}"),
            Action::Create,
            phase,
            format!(
                "add foreign key {name} on partitioned table {table} → {}",
                fk.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}",
            qt(table),
            qi(name),
            foreign_key_def(fk)
        ))
        .requires(Resource::table(table))
        .requires(Resource::table(&fk.ref_table))
        .provides(Resource::constraint(table, name))
        .provides(Resource::validated(table, name))
        .undo_with(undo_add_constraint(table, name));
        add = if live {
            add.lock(LockLevel::ShareRowExclusive, Cost::Verify)
                .hazard(
                    HazardKind::LongLock,
                    format!(
                        "PostgreSQL cannot add a foreign key NOT VALID to a partitioned table: adding it checks every row of {table} while writes to it and to {} wait",
                        fk.ref_table
                    ),
                )
                .hazard(
                    HazardKind::MayFail,
                    format!("fails if a row of {table} has no match in {}", fk.ref_table),
                )
                .unlimited()
        } else {
            add.lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        };
        for c in &fk.columns {
            add = add.requires(Resource::column(table, c));
            if self.filled.contains(&(table.clone(), c.clone())) {
                add = add.requires(Resource::filled(table, c));
            }
        }
        for c in &fk.ref_columns {
            add = add.requires(Resource::column(&fk.ref_table, c));
        }
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add);
    }
}
