//! Tables: create, drop, rename (with a compatibility view), and the
//! per-table diff that hands columns, indexes and constraints to their rules.

use super::column::Columns;
use super::kind::{InTable, Kind, TABLE_KINDS, in_table, objects};
use super::*;
use crate::sql::postgres::{
    check_def, column_def, create_table_sql, deferrable_sql, exclusion_def, unique_def,
};
use crate::sql::quote_literal;

pub(super) struct Tables;

impl Kind for Tables {
    objects!(in schema.tables: BTreeMap<QualifiedName, Table>, renamed);

    fn same(_: &Planner<'_>, _: (), a: &Table, b: &Table) -> bool {
        a.same_definition(b)
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, t: &'a Table) {
        p.create_table(name, t);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, t: &'a Table) {
        p.drop_table(name, t);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        old: &'a Table,
        new: &'a Table,
    ) {
        if !p.inheritance_changed(name, old, new) {
            p.altered_tables.push((name, old, new));
        }
    }

    fn renamed<'a>(
        p: &mut Planner<'a>,
        _: (),
        from: &'a QualifiedName,
        to: &'a QualifiedName,
        old: &'a Table,
        new: &'a Table,
    ) {
        p.rename_table(from, to);
        if !p.inheritance_changed(to, old, new) {
            p.altered_tables.push((to, old, new));
        }
    }

    /// The objects inside the tables that stay: columns first everywhere,
    /// so index rules know what migrate fills.
    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        let pairs = std::mem::take(&mut p.altered_tables);
        for &(name, old, new) in &pairs {
            // A partition made a table of its own has its columns planned
            // there, after the detach.
            if !p.partitioning_change(name, old, new) {
                in_table::<Columns>(p, InTable { name, old, new });
            }
        }
        for &(name, old, new) in &pairs {
            // Built beside as the target has it, whole.
            if p.rebuilds(name) {
                continue;
            }
            p.table_comment(name, old, new);
            p.table_storage(name, old, new);
            p.table_persistence(name, old, new);
            p.primary_key(name, old, new);
            for kind in TABLE_KINDS {
                kind(p, InTable { name, old, new });
            }
        }
        p.switch_moved_foreign_keys();
        p.replica_identities();
        p.statistics_targets();
        p.column_storage();
    }
}

impl<'a> Planner<'a> {
    /// The live table that target table `table` is renamed from, if any.
    pub(super) fn renamed_from_live(&self, table: &QualifiedName) -> Option<&'a QualifiedName> {
        let (cur, tgt) = (self.cur, self.tgt);
        tgt.tables
            .get(table)
            .and_then(|t| t.renamed_from.as_ref())
            .filter(|f| cur.tables.contains_key(*f))
    }
}

impl Planner<'_> {
    /// A new table is empty and unused: CREATE TABLE with its columns and
    /// own constraints is a catalog change. Its indexes and foreign keys
    /// are separate steps, so foreign-key cycles between new tables work.
    fn create_table(&mut self, name: &QualifiedName, t: &Table) {
        // The name may be held by a relation bellows does not manage (a
        // partition, a view, ...): creating the table would fail midway.
        // Relations and types share the name (a table has a row type);
        // functions and collations do not.
        let held = |u: &&Unmanaged| {
            matches!(&u.place, crate::model::Place::Schema(q) if q == name)
                && !matches!(
                    u.kind,
                    crate::model::UnmanagedKind::Function
                        | crate::model::UnmanagedKind::Procedure
                        | crate::model::UnmanagedKind::Aggregate
                        | crate::model::UnmanagedKind::Collation
                )
        };
        if let Some(u) = self.unmanaged.iter().find(held) {
            return self.error(PlanError::Unsupported {
                object: name.to_string(),
                what: format!("creating table {name}, whose name is held by {u}"),
                hint: "bellows does not manage that kind of object; change it by hand first".into(),
            });
        }
        self.claim(&name.schema, &name.name, || format!("new table {name}"));
        let keys = t
            .primary_key
            .iter()
            .map(|p| (&p.name, "primary key"))
            .chain(t.uniques.keys().map(|u| (u, "unique constraint")));
        for (k, what) in keys {
            self.claim(&name.schema, k, || {
                format!("the {what} {k} of new table {name}")
            });
        }
        let tgt = self.tgt;
        let columns = tgt.table_columns(name);
        let (parts, repeated) = own_constraints(name, t);
        let step = match &t.partition_of {
            Some(of) => self.create_partition(name, t, of, parts),
            None => {
                let mut all: Vec<String> =
                    self.declared_columns(t).iter().map(column_def).collect();
                all.extend(parts);
                let step = new_step(
                    ObjectKind::Table,
                    name.to_string(),
                    Action::Create,
                    Phase::Expand,
                    format!("create table {name}"),
                )
                .sql(create_table_sql(name, t, &all));
                // INHERITS takes SHARE UPDATE EXCLUSIVE on each parent:
                // reads and writes go on.
                if t.inherits.is_empty() {
                    step
                } else {
                    step.lock(LockLevel::ShareUpdateExclusive, Cost::Metadata)
                }
            }
        };
        let mut step = step
            .sql_all(repeated)
            .requires(Resource::Schema(name.schema.clone()))
            .provides(Resource::table(name))
            .undo_with(vec![
                undo_step(
                    ObjectKind::Table,
                    name.to_string(),
                    format!("drop table {name}"),
                )
                .sql(format!("DROP TABLE IF EXISTS {}", qt(name)))
                .removes(Resource::table(name)),
            ]);
        for c in columns {
            step = step.provides(Resource::column(name, &c.name));
            if !c.nullable {
                step = step.provides(Resource::not_null(name, &c.name));
            }
            for r in self.type_requirements(&c.ty) {
                step = step.requires(r);
            }
            step = step.requires_all(self.collation_of(c));
            if let Some(seq) = c.default.as_deref().and_then(|d| self.sequence_in(d)) {
                step = step.requires(Resource::Sequence(seq));
            }
        }
        for n in t.constraint_names() {
            step = step.provides(Resource::constraint(name, n));
        }
        for p in &t.inherits {
            step = step.requires(Resource::table(p));
        }
        if let Some(c) = &t.comment {
            step = step.sql(format!(
                "COMMENT ON TABLE {} IS {}",
                qt(name),
                quote_literal(c)
            ));
        }
        for c in &t.columns {
            if let Some(cm) = &c.comment {
                step = step.sql(super::column::comment_on_column(name, &c.name, Some(cm)));
            }
        }
        self.push(step);
        for (n, ix) in &t.indexes {
            self.create_index(name, n, ix, n, Phase::Expand);
        }
        for (n, fk) in &t.foreign_keys {
            self.add_foreign_key(name, n, fk);
        }
    }

    /// Dropping a table loses its data: contract only. Its foreign keys
    /// are dropped as their own steps first, so tables that reference each
    /// other can be dropped together.
    fn drop_table(&mut self, name: &QualifiedName, t: &Table) {
        self.guard_unmanaged(name, Affects::Table, format!("dropping table {name}"));
        let detached = match self.detach_partition(name, t) {
            // Its parent goes too, and takes it along.
            Some(false) => return,
            Some(true) => true,
            None => false,
        };
        for (n, fk) in &t.foreign_keys {
            self.drop_foreign_key(name, n, fk);
        }
        let views = self.views_around_drop(name);
        let step = new_step(
            ObjectKind::Table,
            name.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop table {name}"),
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata);
        let mut step = views
            .wrap(step, vec![format!("DROP TABLE {}", qt(name))])
            .hazard(
                HazardKind::DataLoss,
                format!("drops table {name} and all its rows"),
            )
            .removes(Resource::table(name))
            // Before its schema, if that goes too.
            .requires(Resource::Schema(name.schema.clone()));
        if detached {
            step = step.requires(Resource::Detached(name.clone()));
        }
        for c in &t.columns {
            step = step.removes(Resource::column(name, &c.name));
            for r in self.held_by_column(c) {
                step = step.requires(r);
            }
        }
        // Before a parent that goes too (which it would stop).
        for p in &t.inherits {
            step = step.requires(Resource::table(p));
        }
        self.push(step);
    }

    /// RENAME is a catalog change under ACCESS EXCLUSIVE. A view under the
    /// old name (simple, so automatically updatable: INSERT, UPDATE and
    /// DELETE go through to the table) keeps the old app working until
    /// contract drops it.
    fn rename_table(&mut self, from: &QualifiedName, to: &QualifiedName) {
        if from.schema != to.schema {
            self.error(PlanError::Unsupported {
                object: format!("{from} -> {to}"),
                what: "renaming a table into another schema".into(),
                hint: "rename within the schema, then move it with a separate migration".into(),
            });
            return;
        }
        self.guard_unmanaged(from, Affects::Table, format!("renaming table {from}"));
        self.claim(&to.schema, &to.name, || {
            format!("renaming table {from} to {to}")
        });
        let mut step = new_step(
            ObjectKind::Table,
            to.to_string(),
            Action::Rename,
            Phase::Expand,
            format!("rename table {from} to {to}, keeping {from} as a view for the old app"),
        )
        .sql(format!(
            "ALTER TABLE {} RENAME TO {}",
            qt(from),
            qi(&to.name)
        ))
        .sql(compat_view_sql(from, to, self.cur.table_columns(from)))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::table(from))
        .provides(Resource::table(to))
        .undo_with(vec![
            undo_step(
                ObjectKind::Table,
                to.to_string(),
                format!("give table {to} its old name {from} back"),
            )
            .sql(format!("DROP VIEW IF EXISTS {}", qt(from)))
            .sql(format!(
                "ALTER TABLE {} RENAME TO {}",
                qt(to),
                qi(&from.name)
            )),
        ]);
        // Every column is reachable under both names from here on.
        let cur = self.cur;
        for c in cur.table_columns(from) {
            step = step.provides(Resource::column(to, &c.name));
        }
        self.push(step);
        self.push(
            new_step(
                ObjectKind::Table,
                from.to_string(),
                Action::DropCompatibility,
                Phase::Contract,
                format!("drop the compatibility view {from}"),
            )
            .sql(format!("DROP VIEW {}", qt(from)))
            .hazard(
                HazardKind::Irreversible,
                format!("the old name {from} stops working"),
            )
            .requires(Resource::table(to))
            .provides(Resource::ViewGone(from.clone())),
        );
    }

    /// The compatibility view a rename of `table` in this plan leaves
    /// under the old name until contract, if it is renamed.
    pub fn compat_view(&self, table: &QualifiedName) -> Option<QualifiedName> {
        let from = self.tgt.tables.get(table)?.renamed_from.as_ref()?;
        (from.schema == table.schema
            && self.cur.tables.contains_key(from)
            && !self.cur.tables.contains_key(table))
        .then(|| from.clone())
    }

    /// Statements that run `sql` (a column type change) on a renamed
    /// table while its compatibility view exists: the view reads every
    /// column, so PostgreSQL refuses the change under it; it is made
    /// again, the same, in the same transaction.
    pub fn around_compat_view(&self, table: &QualifiedName, sql: String) -> Vec<String> {
        match self.compat_view(table) {
            Some(v) => {
                let again = if self.cur.tables.contains_key(&v) {
                    compat_view_sql(&v, table, self.cur.table_columns(&v))
                } else {
                    String::new()
                };
                vec![format!("DROP VIEW {}", qt(&v)), sql, again]
            }
            None => vec![sql],
        }
    }

    fn table_comment(&mut self, name: &QualifiedName, old: &Table, new: &Table) {
        if old.comment != new.comment {
            self.push(comment_step(
                "table",
                name,
                old.comment.as_deref(),
                new.comment.as_deref(),
                Resource::table(name),
            ));
        }
    }

    /// `SET LOGGED` / `SET UNLOGGED` rewrites the table under ACCESS
    /// EXCLUSIVE: in contract, with a hazard to allow. A logged table may
    /// not reference an unlogged one, so among tables whose persistence
    /// changes, one going unlogged waits for those that reference it, and
    /// one going logged for those it references.
    fn table_persistence(&mut self, name: &QualifiedName, old: &Table, new: &Table) {
        if old.unlogged == new.unlogged {
            return;
        }
        let changes = |p: &Planner<'_>, t: &QualifiedName| {
            let cur = p.cur.tables.get(t).map(|x| x.unlogged);
            let tgt = p.tgt.tables.get(t).map(|x| x.unlogged);
            cur.is_some() && tgt.is_some() && cur != tgt
        };
        let mut first = Vec::new();
        for (t, table) in &self.tgt.tables {
            if t == name || !changes(self, t) {
                continue;
            }
            let references = |from: &Table, to: &QualifiedName| {
                from.foreign_keys.values().any(|fk| &fk.ref_table == to)
            };
            let before = if new.unlogged {
                references(table, name)
            } else {
                references(new, t)
            };
            if before {
                first.push(Resource::Persistence(t.clone()));
            }
        }
        let (verb, how) = if new.unlogged {
            (
                "UNLOGGED",
                "unlogged (no longer written to the WAL: emptied after a crash, not replicated)",
            )
        } else {
            ("LOGGED", "logged")
        };
        self.push(
            new_step(
                ObjectKind::Table,
                name.to_string(),
                Action::Alter,
                Phase::Contract,
                format!("make {name} {how}"),
            )
            .sql(format!("ALTER TABLE {} SET {verb}", qt(name)))
            .lock(LockLevel::AccessExclusive, Cost::Rewrite)
            .hazard(
                HazardKind::TableRewrite,
                format!("rewrites {name} under ACCESS EXCLUSIVE: its reads and writes wait until it is done"),
            )
            .requires(Resource::table(name))
            .requires_all(first)
            .provides(Resource::Persistence(name.clone())),
        );
    }

    /// Resources a column type needs: user types that this plan creates.
    pub fn type_requirements(&self, ty: &ColumnType) -> Vec<Resource> {
        ty.user_type().map(Resource::Type).into_iter().collect()
    }

    /// The sequence a `nextval('...')` default uses, if the target has it
    /// (a step that sets the default waits for the sequence).
    pub fn sequence_in(&self, default: &str) -> Option<QualifiedName> {
        crate::sql::postgres::nextval_sequence(default)
            .filter(|q| self.tgt.sequences.contains_key(q))
    }

    /// What an existing column holds on to: the user type it is of, its
    /// collation and the sequence its default calls. PostgreSQL refuses to drop either while
    /// the column uses it, so every step that lets go of the column (its
    /// drop, its swap for a retyped shadow, its table's drop) or of the
    /// default requires them: the graph then drops the type or the
    /// sequence only after.
    pub fn held_by_column(&self, c: &Column) -> Vec<Resource> {
        let mut out = self.type_requirements(&c.ty);
        out.extend(self.collation_of(c));
        out.extend(self.held_by_default(c.default.as_deref()));
        out
    }

    /// The sequence an existing default calls.
    pub fn held_by_default(&self, default: Option<&str>) -> Option<Resource> {
        default
            .and_then(crate::sql::postgres::nextval_sequence)
            .filter(|q| self.cur.sequences.contains_key(q))
            .map(Resource::Sequence)
    }

    /// The current name of target table `table` (it may be renamed).
    pub fn cur_name(&self, table: &QualifiedName) -> QualifiedName {
        self.tgt
            .tables
            .get(table)
            .and_then(|t| t.renamed_from.clone())
            .filter(|r| self.cur.tables.contains_key(r) && !self.cur.tables.contains_key(table))
            .unwrap_or_else(|| table.clone())
    }
}

/// The compatibility view under a renamed table's old name: the old
/// table's columns, by name (columns added later are not the old app's;
/// abort drops them, which a view over them would stop). Simple, so
/// automatically updatable.
fn compat_view_sql(from: &QualifiedName, to: &QualifiedName, columns: &[Column]) -> String {
    let cols: Vec<String> = columns.iter().map(|c| qi(&c.name)).collect();
    format!(
        "CREATE VIEW {} AS SELECT {} FROM {}",
        qt(from),
        cols.join(", "),
        qt(to)
    )
}

pub(super) fn list(cols: &[Ident]) -> String {
    cols.iter().map(qi).collect::<Vec<_>>().join(", ")
}

/// A new table's own keys, checks and exclusions as `CREATE TABLE`
/// clauses, and the `ALTER TABLE`s for the unique constraints that repeat
/// an earlier key (which `CREATE TABLE` would silently drop).
fn own_constraints(name: &QualifiedName, t: &Table) -> (Vec<String>, Vec<String>) {
    let mut parts = Vec::new();
    if let Some(pk) = &t.primary_key {
        parts.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({}){}",
            qi(&pk.name),
            list(&pk.columns),
            deferrable_sql(pk.deferrable)
        ));
    }
    let mut seen: Vec<(&[Ident], bool, Deferrable)> = t
        .primary_key
        .iter()
        .map(|p| (p.columns.as_slice(), false, Deferrable::No))
        .collect();
    let mut repeated = Vec::new();
    for (n, u) in &t.uniques {
        let def = (u.columns.as_slice(), u.nulls_not_distinct, u.deferrable);
        if seen.contains(&def) {
            repeated.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                qt(name),
                qi(n),
                unique_def(u)
            ));
        } else {
            seen.push(def);
            parts.push(format!("CONSTRAINT {} {}", qi(n), unique_def(u)));
        }
    }
    for (n, c) in &t.checks {
        parts.push(format!("CONSTRAINT {} {}", qi(n), check_def(c)));
    }
    for (n, e) in &t.exclusions {
        parts.push(format!("CONSTRAINT {} {}", qi(n), exclusion_def(e)));
    }
    (parts, repeated)
}
