//! The table built beside: made empty in expand, as the target has it.

use super::super::privilege::Change;
use super::super::*;
use super::has_unique_over;
use crate::sql::postgres::{
    check_def, column_def, comment_literal, create_index, exclusion_def, foreign_key_def,
    grant_sql, table_options_sql, unique_def,
};

impl Planner<'_> {
    /// The expand step that makes the target's table beside the live one,
    /// empty, with its keys, indexes (under names of their own until the
    /// swap), foreign keys, checks, comments and privileges, and the unique
    /// index the copy finds a row by when none of the target's is one.
    /// Returns the renames the swap does, and that index's name when it
    /// is a helper the swap drops.
    pub(super) fn create_beside(
        &mut self,
        name: &QualifiedName,
        beside: &QualifiedName,
        new: &Table,
        conflict: Option<&[Ident]>,
    ) -> (Vec<(Ident, Ident)>, Option<Ident>) {
        let schema = name.schema.clone();
        let mut renames = Vec::new();
        let mut temp = |p: &mut Self, n: &Ident, what: &str| {
            let tmp = p.helper(
                &[Space::Relation(schema.clone())],
                &[n.as_str()],
                "bellows_new",
                format!("{what} {n} of the new partitioning of {name}"),
            );
            renames.push((tmp.clone(), n.clone()));
            tmp
        };
        // An identity column is a plain one until the swap, where it takes
        // over the live column's counter: the copies carry its values.
        let mut parts: Vec<String> = new
            .columns
            .iter()
            .map(|c| {
                column_def(&Column {
                    identity: None,
                    identity_options: Default::default(),
                    ..c.clone()
                })
            })
            .collect();
        if let Some(pk) = &new.primary_key {
            let tmp = temp(self, &pk.name, "primary key");
            parts.push(format!(
                "CONSTRAINT {} PRIMARY KEY ({}){}",
                qi(&tmp),
                super::table::list(&pk.columns),
                crate::sql::postgres::deferrable_sql(pk.deferrable)
            ));
        }
        for (n, c) in &new.checks {
            parts.push(format!("CONSTRAINT {} {}", qi(n), check_def(c)));
        }
        let unlogged = if new.unlogged { "UNLOGGED " } else { "" };
        let mut sql = vec![format!(
            "CREATE {unlogged}TABLE {} ({}){}",
            qt(beside),
            parts.join(", "),
            table_options_sql(new)
        )];
        for (n, u) in &new.uniques {
            let tmp = temp(self, n, "unique constraint");
            sql.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                qt(beside),
                qi(&tmp),
                unique_def(u)
            ));
        }
        for (n, e) in &new.exclusions {
            let tmp = temp(self, n, "exclusion constraint");
            sql.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                qt(beside),
                qi(&tmp),
                exclusion_def(e)
            ));
        }
        for (n, ix) in &new.indexes {
            let tmp = temp(self, n, "index");
            sql.push(create_index(beside, &tmp, ix, false));
        }
        let arbiter = match conflict {
            Some(cols) if !has_unique_over(new, cols) => {
                let h = self.helper(
                    &[Space::Relation(schema.clone())],
                    &[name.name.as_str()],
                    "bellows_copy",
                    format!("the unique index rows of {name} are copied into {beside} by"),
                );
                let nulls = cols
                    .iter()
                    .any(|c| new.column(c.as_str()).is_none_or(|c| c.nullable));
                sql.push(format!(
                    "CREATE UNIQUE INDEX {} ON {} ({}){}",
                    qi(&h),
                    qt(beside),
                    super::table::list(cols),
                    if nulls { " NULLS NOT DISTINCT" } else { "" }
                ));
                Some(h)
            }
            _ => None,
        };
        let mut referenced = Vec::new();
        for (n, fk) in &new.foreign_keys {
            let mut fk = fk.clone();
            if fk.ref_table == *name {
                fk.ref_table = beside.clone();
            } else {
                referenced.push(Resource::table(&fk.ref_table));
            }
            sql.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                qt(beside),
                qi(n),
                foreign_key_def(&fk)
            ));
        }
        if let Some(c) = &new.comment {
            sql.push(format!(
                "COMMENT ON TABLE {} IS {}",
                qt(beside),
                comment_literal(Some(c))
            ));
        }
        for c in &new.columns {
            if let Some(cm) = &c.comment {
                sql.push(super::column::comment_on_column(beside, &c.name, Some(cm)));
            }
        }
        // Before a row is copied in, so each is stored as the target has
        // it (a partition made after takes its parent's storage), and the
        // ANALYZE after the copy samples as the target says (a partition
        // does not take its parent's target: `statistics.rs` sets it).
        for c in &new.columns {
            let planner = new.partition_by.is_none();
            sql.extend(crate::sql::postgres::new_column_settings(
                beside, c, planner,
            ));
        }
        sql.extend(self.take_back_defaults(beside));
        sql.extend(self.grants_beside(name, beside));
        let mut step = new_step(
            ObjectKind::Table,
            beside.to_string(),
            Action::Build,
            Phase::Expand,
            format!("create the new partitioning of {name} beside it, empty, as {beside} (the apps use the old one until contract)"),
        )
        .sql_all(sql)
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::Schema(schema.clone()))
        .requires_all(referenced.iter().cloned())
        .provides(Resource::table(beside))
        .undo_with(vec![
            undo_step(
                ObjectKind::Table,
                beside.to_string(),
                format!("drop {beside}, the new partitioning of {name}"),
            )
            .sql(format!("DROP TABLE IF EXISTS {}", qt(beside)))
            .removes(Resource::table(beside)),
        ]);
        if !referenced.is_empty() {
            // A foreign key locks the table it references too.
            step = step.gives_way();
        }
        // Everything on it is the migration's own: abort drops it whole.
        for (tmp, _) in &renames {
            step = step.provides(Resource::index(&schema, tmp));
        }
        if let Some(h) = &arbiter {
            step = step.provides(Resource::index(&schema, h));
        }
        let constraints = renames
            .iter()
            .filter(|(_, n)| !new.indexes.contains_key(n))
            .map(|(tmp, _)| tmp)
            .chain(new.checks.keys())
            .chain(new.foreign_keys.keys());
        for n in constraints {
            step = step.provides(Resource::constraint(beside, n));
        }
        for c in &new.columns {
            step = step
                .provides(Resource::column(beside, &c.name))
                .requires_all(self.type_requirements(&c.ty))
                .requires_all(self.collation_of(c))
                .requires_all(
                    c.default
                        .as_deref()
                        .and_then(|d| self.sequence_in(d))
                        .map(Resource::Sequence),
                );
        }
        self.push(step);
        (renames, arbiter)
    }

    /// The live table's owner, given to the table built beside it (a new
    /// one contract gives), and the target's privileges on `name` and its
    /// columns, granted on it (they follow it through the rename).
    fn grants_beside(&self, name: &QualifiedName, beside: &QualifiedName) -> Vec<String> {
        let mut sql = Vec::new();
        if let Some(owner) = self
            .cur
            .owners
            .get(&GrantOn::Relation(name.clone(), GrantObject::Table))
        {
            let on = GrantOn::Relation(beside.clone(), GrantObject::Table);
            sql.push(crate::sql::postgres::owner_sql(self.tgt, &on, owner));
        }
        for (g, p) in &self.tgt.grants {
            let on = match &g.on {
                GrantOn::Relation(q, k) if q == name => GrantOn::Relation(beside.clone(), *k),
                GrantOn::Column(q, c) if q == name => GrantOn::Column(beside.clone(), c.clone()),
                _ => continue,
            };
            let g = GrantKey {
                on,
                grantee: g.grantee.clone(),
            };
            let change = Change::between(g.on.kind(), &g.fresh(), p);
            if !change.plain.is_empty() {
                sql.push(grant_sql(&g, &change.plain, false));
            }
            if !change.with_option.is_empty() {
                sql.push(grant_sql(&g, &change.with_option, true));
            }
        }
        sql
    }
}
