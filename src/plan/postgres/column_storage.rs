//! Columns' storage strategies and compression methods (`ALTER COLUMN ...
//! SET STORAGE / SET COMPRESSION`): a catalog change under a brief ACCESS
//! EXCLUSIVE lock, taken by the values written from then on (the stored
//! ones stay as they are). Set in expand on a column that stays; on a
//! column or table the plan makes, right after the making; on a column
//! swapped for its retyped shadow, on the shadow when it is added, so the
//! backfill writes every row as the target keeps them. `ALTER COLUMN ...
//! TYPE` gives a column its type's default strategy and compression back,
//! so a column retyped in place gets its own after that. A table built
//! beside gets them in the step that makes it (`rebuild/beside.rs`).

use std::collections::BTreeMap;

use super::*;
use crate::sql::postgres::column_storage_sql;

impl Planner<'_> {
    /// After every table and column is planned.
    pub(super) fn column_storage(&mut self) {
        let tgt = self.tgt;
        let remade = self.columns_remade();
        for (name, t) in &tgt.tables {
            if self.rebuilds(name) {
                continue;
            }
            let live_name = self.renamed_from_live(name).unwrap_or(name);
            let live = self.cur.tables.get(live_name);
            for c in &t.columns {
                let live_col = live.and_then(|l| l.column_for(c));
                // Nothing set on either side (almost every column): a
                // column made anew starts as wanted, one kept stays so.
                if c.storage.is_default() && live_col.is_none_or(|l| l.storage.is_default()) {
                    continue;
                }
                let default = self.type_storage(&c.ty);
                let want = ColumnStorage {
                    strategy: c.storage.strategy.filter(|s| Some(*s) != default),
                    ..c.storage
                };
                if default == Some(StorageStrategy::Plain) && !want.is_default() {
                    self.error(PlanError::Unsupported {
                        object: format!("column {name}.{}", c.name),
                        what: format!(
                            "`storage` or `compression` on a column of type {}, which PostgreSQL keeps in the row",
                            c.ty
                        ),
                        hint: "leave them out: only variable-length values are moved out of the row or compressed".into(),
                    });
                    continue;
                }
                let made = Resource::column(name, &c.name);
                let remade_in = [made.clone(), Resource::retyped(name, &c.name)]
                    .into_iter()
                    .find_map(|r| remade.get(&r).map(|phase| (r, *phase)));
                let shadow = self
                    .moved
                    .get(&(name.clone(), c.name.clone()))
                    .map(|m| m.shadow.clone());
                // Where the column stands when the step runs, and how it
                // is set then.
                let fresh = shadow.is_some() || remade_in.is_some();
                let (column, after, phase, start) = match (shadow, remade_in, live_col) {
                    (Some(s), _, _) => (
                        s.clone(),
                        Resource::column(name, &s),
                        Phase::Expand,
                        ColumnStorage::default(),
                    ),
                    (None, Some((r, phase)), _) => {
                        (c.name.clone(), r, phase, ColumnStorage::default())
                    }
                    (None, None, Some(l)) => (c.name.clone(), made, Phase::Expand, l.storage),
                    (None, None, None) => continue,
                };
                if start == want {
                    continue;
                }
                let Some(sql) = self.storage_sql(name, &column, (start, want), default) else {
                    continue;
                };
                let step = storage_step(name, &column, (want, default), sql, phase).requires(after);
                let step = if fresh {
                    // Abort drops the column, or leaves it in its new type.
                    step.undo_nothing()
                } else {
                    let Some(back) = self.storage_sql(name, &column, (want, start), default) else {
                        continue;
                    };
                    step.undo_with(vec![
                        undo_step(
                            ObjectKind::Column,
                            format!("{name}.{column}"),
                            format!("restore the storage of column {name}.{column}"),
                        )
                        .sql(back)
                        .lock(LockLevel::AccessExclusive, Cost::Metadata),
                    ])
                };
                self.push(step);
            }
        }
    }

    /// The strategy PostgreSQL gives a column of `ty`: the model's
    /// knowledge, else the live server's of an extension's type.
    fn type_storage(&self, ty: &ColumnType) -> Option<StorageStrategy> {
        self.tgt.default_storage(ty).or_else(|| {
            [ty.user_type(), self.tgt.base_type(ty).user_type()]
                .into_iter()
                .flatten()
                .find_map(|u| self.type_storage.get(&u).copied())
        })
    }

    /// The statement that takes column `column` of `table` from `from` to
    /// `to`; refused when going back to the type's strategy and that is
    /// not known.
    fn storage_sql(
        &mut self,
        table: &QualifiedName,
        column: &Ident,
        (from, to): (ColumnStorage, ColumnStorage),
        default: Option<StorageStrategy>,
    ) -> Option<String> {
        let strategy = match (from.strategy == to.strategy, to.strategy.or(default)) {
            (true, _) => None,
            (false, Some(s)) => Some(s),
            (false, None) => {
                self.error(PlanError::Unsupported {
                    object: format!("column {table}.{column}"),
                    what: "giving the column its type's storage strategy back: bellows does not know that type's".into(),
                    hint: "write the type's strategy as `storage:` (`SELECT typstorage FROM pg_type` names it: p plain, e external, m main, x extended)".into(),
                });
                return None;
            }
        };
        let compression = (from.compression != to.compression).then_some(to.compression);
        column_storage_sql(table, column, strategy, compression)
    }

    /// Each column the plan makes or gives a type (which takes the
    /// column's storage back to its type's), with the latest phase that
    /// does: a table's rename moves its columns, and is left out.
    fn columns_remade(&self) -> BTreeMap<Resource, Phase> {
        let mut out: BTreeMap<Resource, Phase> = BTreeMap::new();
        for s in &self.steps {
            if s.id.kind == ObjectKind::Table && s.id.action == Action::Rename {
                continue;
            }
            for r in &s.provides {
                if matches!(r, Resource::Column(..) | Resource::Made(_)) {
                    let phase = out.entry(r.clone()).or_insert(s.phase);
                    *phase = (*phase).max(s.phase);
                }
            }
        }
        out
    }
}

/// `want` as the target has it; `default`, the type's strategy.
fn storage_step(
    table: &QualifiedName,
    column: &Ident,
    (want, default): (ColumnStorage, Option<StorageStrategy>),
    sql: String,
    phase: Phase,
) -> Step {
    let strategy = want
        .strategy
        .or(default)
        .map_or("its type's", StorageStrategy::keyword);
    let compression = want.compression.map_or("default", Compression::keyword);
    new_step(
        ObjectKind::Column,
        format!("{table}.{column}"),
        Action::Alter,
        phase,
        format!(
            "set the storage of column {table}.{column} to {strategy}, compression {compression} (taken by the values written from now on)"
        ),
    )
    .sql(sql)
    .lock(LockLevel::AccessExclusive, Cost::Metadata)
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    fn t(a: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {{ type: text{a} }}\n"
        )
    }

    #[test]
    fn a_changed_storage_is_set_in_expand_and_one_back_to_the_default_names_the_types() {
        plans_to(
            &t(""),
            &t(", storage: external, compression: lz4"),
            "
            expand: set the storage of column public.t.a to external, compression lz4 (taken by the values written from now on)
                ALTER TABLE public.t ALTER COLUMN a SET STORAGE EXTERNAL, ALTER COLUMN a SET COMPRESSION lz4
            ",
        );
        plans_to(
            &t(", storage: main, compression: lz4"),
            &t(", compression: lz4"),
            "
            expand: set the storage of column public.t.a to extended, compression lz4 (taken by the values written from now on)
                ALTER TABLE public.t ALTER COLUMN a SET STORAGE EXTENDED
            ",
        );
    }

    #[test]
    fn a_retyped_column_is_stored_so_from_its_shadow_on() {
        let plan = crate::testing::outline_of(
            "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      a: { type: integer }\n",
            &t(", storage: external"),
        );
        let add = plan.find("add column public.t.a_bellows_new").expect(&plan);
        let set = plan
            .find("ALTER TABLE public.t ALTER COLUMN a_bellows_new SET STORAGE EXTERNAL")
            .expect(&plan);
        let fill = plan.find("migrate:").expect(&plan);
        assert!(add < set && set < fill, "{plan}");
    }

    #[test]
    fn a_column_widened_in_place_gets_its_storage_again() {
        let from = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n      a: { type: varchar(10), storage: main }\n";
        plans_to(
            from,
            &from.replace("varchar(10)", "varchar(20)"),
            "
            expand: widen public.t.a from varchar(10) to varchar(20) (no rewrite)
                ALTER TABLE public.t ALTER COLUMN a TYPE varchar(20)
            expand: gather the planner's statistics of public.t (a) again (PostgreSQL discards them with the change)
                ANALYZE public.t (a)
            expand: set the storage of column public.t.a to main, compression default (taken by the values written from now on)
                ALTER TABLE public.t ALTER COLUMN a SET STORAGE MAIN
            ",
        );
    }

    #[test]
    fn a_fixed_length_domain_takes_no_storage() {
        crate::testing::refused(
            "domains:\n  d: { type: integer }\ntables:\n  t:\n    columns:\n      a: { type: d }\n",
            "domains:\n  d: { type: integer }\ntables:\n  t:\n    columns:\n      a: { type: d, compression: lz4 }\n",
            "which PostgreSQL keeps in the row",
        );
    }
}
