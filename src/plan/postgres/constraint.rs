//! Primary keys, unique constraints, checks and foreign keys.

use super::*;
use crate::diff::expr::same_sql;
use crate::diff::{Delta, diff_by_name};
use crate::sql::postgres::{check_def, foreign_key_def};

impl Planner<'_> {
    pub fn primary_key(&mut self, table: &QualifiedName, old: &Table, new: &Table) {
        let strip = |p: &PrimaryKey| (p.name.clone(), p.columns.clone());
        match (&old.primary_key, &new.primary_key) {
            (None, None) => {}
            (Some(o), Some(n)) if strip(o) == strip(n) => {}
            (Some(o), Some(n))
                if o.columns == n.columns && n.renamed_from.as_ref() == Some(&o.name) =>
            {
                self.rename_constraint(table, &o.name, &n.name);
            }
            (Some(o), Some(n)) => {
                self.drop_constraint(table, &o.name, ObjectKind::PrimaryKey, &o.columns);
                self.attach_key(table, &n.name, &n.columns, None, old, true);
            }
            (None, Some(n)) => self.attach_key(table, &n.name, &n.columns, None, old, false),
            (Some(o), None) => {
                self.drop_constraint(table, &o.name, ObjectKind::PrimaryKey, &o.columns)
            }
        }
    }

    pub fn uniques(&mut self, table: &QualifiedName, old: &Table, new: &Table) {
        let deltas = diff_by_name(
            &old.uniques,
            &new.uniques,
            |u| u.renamed_from.as_ref(),
            |a, b| {
                (&a.columns, a.nulls_not_distinct, a.deferrable)
                    == (&b.columns, b.nulls_not_distinct, b.deferrable)
            },
        );
        for d in deltas {
            match d {
                Delta::Added(name, u) => {
                    self.attach_key(table, name, &u.columns, Some(u), old, false)
                }
                Delta::Removed(name, u) => {
                    self.drop_constraint(table, name, ObjectKind::Unique, &u.columns)
                }
                Delta::Altered(name, o, n) => {
                    self.drop_constraint(table, name, ObjectKind::Unique, &o.columns);
                    self.attach_key(table, name, &n.columns, Some(n), old, true);
                }
                Delta::Renamed {
                    from,
                    to,
                    old: o,
                    new: n,
                } => {
                    if (&o.columns, o.nulls_not_distinct, o.deferrable)
                        == (&n.columns, n.nulls_not_distinct, n.deferrable)
                    {
                        self.rename_constraint(table, from, to);
                    } else {
                        self.drop_constraint(table, from, ObjectKind::Unique, &o.columns);
                        self.attach_key(table, to, &n.columns, Some(n), old, false);
                    }
                }
            }
        }
    }

    /// A unique index is built CONCURRENTLY first; `ADD CONSTRAINT ...
    /// USING INDEX` then only changes the catalog (ACCESS EXCLUSIVE,
    /// briefly). A primary key over columns that are still nullable
    /// would SET NOT NULL with a full scan: it waits for the NOT NULL
    /// route, in contract.
    fn attach_key(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        columns: &[Ident],
        unique: Option<&Unique>,
        old: &Table,
        replaces: bool,
    ) {
        let is_pk = unique.is_none();
        let build = if replaces {
            self.helper(
                &[Space::Relation(table.schema.clone())],
                &[name.as_str()],
                "bellows_new",
                format!("the index of the new definition of {name} on {table}"),
            )
        } else {
            name.clone()
        };
        let ix = Index {
            unique: true,
            method: DEFAULT_INDEX_METHOD.to_string(),
            keys: columns.iter().cloned().map(IndexKey::column).collect(),
            include: Vec::new(),
            predicate: None,
            nulls_not_distinct: unique.is_some_and(|u| u.nulls_not_distinct),
            renamed_from: None,
        };
        self.create_index(table, &build, &ix, name, Phase::Expand);
        let nullable_before: Vec<&Ident> = columns
            .iter()
            .filter(|c| old.column(c.as_str()).is_none_or(|col| col.nullable))
            .collect();
        let phase = if replaces || (is_pk && !nullable_before.is_empty()) {
            Phase::Contract
        } else {
            Phase::Expand
        };
        let (kind, clause) = match unique {
            None => (ObjectKind::PrimaryKey, "PRIMARY KEY"),
            Some(_) => (ObjectKind::Unique, "UNIQUE"),
        };
        let deferrable = match unique.map(|u| u.deferrable) {
            Some(Deferrable::InitiallyImmediate) => " DEFERRABLE",
            Some(Deferrable::InitiallyDeferred) => " DEFERRABLE INITIALLY DEFERRED",
            _ => "",
        };
        let mut step = new_step(
            kind,
            format!("{table}.{name}"),
            Action::Attach,
            phase,
            format!(
                "attach {} {name} to {table} using its index",
                clause.to_lowercase()
            ),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {clause} USING INDEX {}{deferrable}",
            qt(table),
            qi(name),
            qi(&build)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::index(&table.schema, &build))
        .provides(Resource::constraint(table, name))
        .undo_with(undo_add_constraint(table, name));
        if replaces {
            step = step.requires(Resource::constraint_gone(table, name));
        }
        if is_pk {
            for c in &nullable_before {
                step = step.requires(Resource::not_null(table, c));
            }
        }
        self.push(step);
    }

    pub fn checks(&mut self, table: &QualifiedName, old: &Table, new: &Table) {
        let deltas = diff_by_name(
            &old.checks,
            &new.checks,
            |c| c.renamed_from.as_ref(),
            |a, b| same_sql(&a.expression, &b.expression) && a.no_inherit == b.no_inherit,
        );
        for d in deltas {
            match d {
                Delta::Added(name, c) => self.add_check(table, name, c, Phase::Expand, None),
                Delta::Removed(name, _) => {
                    self.drop_constraint(table, name, ObjectKind::Check, &[])
                }
                Delta::Altered(name, _, n) => {
                    self.drop_constraint(table, name, ObjectKind::Check, &[]);
                    self.add_check(
                        table,
                        name,
                        n,
                        Phase::Contract,
                        Some(Resource::constraint_gone(table, name)),
                    );
                }
                Delta::Renamed {
                    from,
                    to,
                    old: o,
                    new: n,
                } => {
                    if same_sql(&o.expression, &n.expression) && o.no_inherit == n.no_inherit {
                        self.rename_constraint(table, from, to);
                    } else {
                        self.drop_constraint(table, from, ObjectKind::Check, &[]);
                        self.add_check(table, to, n, Phase::Expand, None);
                    }
                }
            }
        }
        // Checks on a column swapped for its retyped shadow go with the
        // old column; they come back once the new one has its name.
        let swapped: Vec<Ident> = self
            .swapped
            .keys()
            .filter(|(t, _)| t == table)
            .map(|(_, c)| c.clone())
            .collect();
        for col in swapped {
            for (name, c) in &new.checks {
                if old
                    .checks
                    .get(name)
                    .is_some_and(|o| same_sql(&o.expression, &c.expression))
                    && mentions(&c.expression, col.as_str())
                {
                    self.add_check(table, name, c, Phase::Contract, None);
                }
            }
        }
    }

    /// ADD CHECK ... NOT VALID is a catalog change (ACCESS EXCLUSIVE,
    /// briefly) that applies to new writes only; VALIDATE scans under
    /// SHARE UPDATE EXCLUSIVE, so writes go on, in migrate.
    fn add_check(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        c: &Check,
        mut phase: Phase,
        mut after: Option<Resource>,
    ) {
        // A check on a column that contract swaps for its retyped shadow
        // would be dropped with the old column: add it after the swap.
        let swapped = self
            .swapped
            .keys()
            .find(|(t, col)| t == table && mentions(&c.expression, col.as_str()))
            .cloned();
        if let (Some((_, col)), None) = (&swapped, &after) {
            phase = Phase::Contract;
            after = Some(Resource::swapped(table, col));
        }
        let obj = format!("{table}.{name}");
        let mut add = new_step(
            ObjectKind::Check,
            obj.clone(),
            Action::Create,
            phase,
            format!("add check {name} on {table} (NOT VALID: new writes only)"),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(table),
            qi(name),
            check_def(c)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::OldAppVisible,
            format!(
                "from now on, writes to {table} that break `{}` fail, the old app's included",
                c.expression
            ),
        )
        .requires(Resource::table(table))
        .provides(Resource::constraint(table, name))
        .undo_with(undo_add_constraint(table, name));
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add);
        let mut validate = validate_step(
            ObjectKind::Check,
            table,
            name,
            phase,
            format!("fails if an existing row breaks `{}`", c.expression),
        );
        for (t, col) in &self.filled {
            if t == table && mentions(&c.expression, col.as_str()) {
                validate = validate.requires(Resource::filled(t, col));
            }
        }
        self.push(validate);
    }

    pub fn foreign_keys(&mut self, table: &QualifiedName, old: &Table, new: &Table) {
        let deltas = diff_by_name(
            &old.foreign_keys,
            &new.foreign_keys,
            |f| f.renamed_from.as_ref(),
            same_fk,
        );
        for d in deltas {
            match d {
                Delta::Added(name, fk) => self.add_foreign_key(table, name, fk),
                Delta::Removed(name, fk) => self.drop_foreign_key(table, name, fk),
                Delta::Altered(name, o, n) => {
                    self.drop_foreign_key(table, name, o);
                    self.add_fk_at(
                        table,
                        name,
                        n,
                        Phase::Contract,
                        Some(Resource::constraint_gone(table, name)),
                    );
                }
                Delta::Renamed {
                    from,
                    to,
                    old: o,
                    new: n,
                } => {
                    if same_fk(o, n) {
                        self.rename_constraint(table, from, to);
                    } else {
                        self.drop_foreign_key(table, from, o);
                        self.add_foreign_key(table, to, n);
                    }
                }
            }
        }
    }

    pub fn add_foreign_key(&mut self, table: &QualifiedName, name: &Ident, fk: &ForeignKey) {
        self.add_fk_at(table, name, fk, Phase::Expand, None);
    }

    /// ADD FOREIGN KEY ... NOT VALID takes SHARE ROW EXCLUSIVE on both
    /// tables, briefly: a catalog change. VALIDATE scans under SHARE UPDATE
    /// EXCLUSIVE (and ROW SHARE on the referenced table): writes go on.
    fn add_fk_at(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        fk: &ForeignKey,
        phase: Phase,
        after: Option<Resource>,
    ) {
        let obj = format!("{table}.{name}");
        let mut add = new_step(
            ObjectKind::ForeignKey,
            obj.clone(),
            Action::Create,
            phase,
            format!(
                "add foreign key {name} on {table} → {} (NOT VALID: new writes only)",
                fk.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(table),
            qi(name),
            foreign_key_def(fk)
        ))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .hazard(
            HazardKind::OldAppVisible,
            format!(
                "from now on, writes to {table} need a matching row in {}",
                fk.ref_table
            ),
        )
        .requires(Resource::table(table))
        .requires(Resource::table(&fk.ref_table))
        .provides(Resource::constraint(table, name))
        .undo_with(undo_add_constraint(table, name));
        for c in &fk.columns {
            add = add.requires(Resource::column(table, c));
        }
        for c in &fk.ref_columns {
            add = add.requires(Resource::column(&fk.ref_table, c));
        }
        // The referenced key must exist first (it may be new in this plan).
        if let Some(target) = self.tgt.tables.get(&fk.ref_table) {
            let key = target
                .primary_key
                .iter()
                .filter(|p| p.columns == fk.ref_columns)
                .map(|p| p.name.clone())
                .chain(
                    target
                        .uniques
                        .iter()
                        .filter(|(_, u)| u.columns == fk.ref_columns)
                        .map(|(n, _)| n.clone()),
                )
                .next();
            if let Some(k) = key {
                add = add.requires(Resource::constraint(&fk.ref_table, &k));
            }
        }
        if let Some(r) = after {
            add = add.requires(r);
        }
        self.push(add);
        let mut validate = validate_step(
            ObjectKind::ForeignKey,
            table,
            name,
            phase,
            format!("fails if a row of {table} has no match in {}", fk.ref_table),
        );
        for c in &fk.columns {
            if self.filled.contains(&(table.clone(), c.clone())) {
                validate = validate.requires(Resource::filled(table, c));
            }
        }
        self.push(validate);
    }

    pub fn drop_foreign_key(&mut self, table: &QualifiedName, name: &Ident, fk: &ForeignKey) {
        let mut step = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{name}"),
            Action::Drop,
            Phase::Contract,
            format!("drop foreign key {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .hazard(
            HazardKind::DataLoss,
            format!("drops foreign key {name}; {table} no longer checks its references"),
        )
        .requires(Resource::table(table))
        .requires(Resource::table(&fk.ref_table))
        .removes_unless(
            self.recreated(table, name),
            Resource::constraint(table, name),
        )
        .provides(Resource::constraint_gone(table, name));
        for c in &fk.columns {
            step = step.requires(Resource::column(table, c));
        }
        self.push(step);
    }

    /// DROP CONSTRAINT: a catalog change under ACCESS EXCLUSIVE; contract.
    fn drop_constraint(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        kind: ObjectKind,
        columns: &[Ident],
    ) {
        let mut step = new_step(
            kind,
            format!("{table}.{name}"),
            Action::Drop,
            Phase::Contract,
            format!("drop constraint {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::DataLoss,
            format!("drops constraint {name}; {table} no longer enforces it"),
        )
        .requires(Resource::table(table))
        .removes_unless(
            self.recreated(table, name),
            Resource::constraint(table, name),
        )
        .provides(Resource::constraint_gone(table, name));
        for c in columns {
            step = step.requires(Resource::column(table, c));
        }
        self.push(step);
    }

    /// RENAME CONSTRAINT: a catalog change that no app depends on; still,
    /// nothing is renamed before contract.
    fn rename_constraint(&mut self, table: &QualifiedName, from: &Ident, to: &Ident) {
        self.push(
            new_step(
                ObjectKind::Check,
                format!("{table}.{to}"),
                Action::Rename,
                Phase::Contract,
                format!("rename constraint {from} on {table} to {to}"),
            )
            .sql(format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                qt(table),
                qi(from),
                qi(to)
            ))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires(Resource::table(table))
            .provides(Resource::constraint(table, to)),
        );
    }
}

impl Planner<'_> {
    /// Whether the target has a constraint of this name again: then the
    /// drop is half of a replacement, and what needs the name wants the
    /// new one.
    fn recreated(&self, table: &QualifiedName, name: &Ident) -> bool {
        self.tgt
            .tables
            .get(table)
            .is_some_and(|t| t.constraint_names().any(|n| n == name))
    }
}

/// VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE and scans: reads and
/// writes go on. In migrate at the earliest.
fn validate_step(
    kind: ObjectKind,
    table: &QualifiedName,
    name: &Ident,
    phase: Phase,
    fails: String,
) -> Step {
    let what = if kind == ObjectKind::Check {
        "check"
    } else {
        "foreign key"
    };
    new_step(
        kind,
        format!("{table}.{name}"),
        Action::Validate,
        phase.max(Phase::Migrate),
        format!("validate {what} {name} on {table}"),
    )
    .sql(format!(
        "ALTER TABLE {} VALIDATE CONSTRAINT {}",
        qt(table),
        qi(name)
    ))
    .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
    .unlimited()
    .hazard(
        HazardKind::ValidationScan,
        format!("scans {table} once; reads and writes go on"),
    )
    .hazard(HazardKind::MayFail, fails)
    .requires(Resource::constraint(table, name))
    .undo_nothing()
}

/// Abort drops a constraint the migration added.
fn undo_add_constraint(table: &QualifiedName, name: &Ident) -> Vec<Step> {
    vec![
        undo_step(
            ObjectKind::Check,
            format!("{table}.{name}"),
            format!("drop constraint {name} on {table}"),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(name)
        ))
        .removes(Resource::constraint(table, name)),
    ]
}

fn same_fk(a: &ForeignKey, b: &ForeignKey) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.renamed_from = None;
    b.renamed_from = None;
    a == b
}

/// Whether an SQL expression mentions a column name (as a whole word or
/// quoted); used only to order and re-create checks, conservatively.
fn mentions(expr: &str, column: &str) -> bool {
    let quoted = format!("\"{}\"", column.replace('"', "\"\""));
    if expr.contains(&quoted) {
        return true;
    }
    expr.match_indices(column).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + column.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}
