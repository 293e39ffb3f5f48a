//! Renames and type changes PostgreSQL would make with a rewrite: a
//! shadow column kept in sync by a trigger (expand), filled in batches
//! (migrate), and swapped in atomically (contract).

use super::column_add::undo_add_column;
use super::index::same_index;
use super::sync::Sync;
use super::*;
use crate::sql::postgres::{column_def, type_sql};

impl Planner<'_> {
    /// A rename or a type change that PostgreSQL would do with a rewrite:
    /// a new column kept in sync by a trigger (expand), filled in batches
    /// (migrate), and swapped in atomically (contract). Until contract the
    /// old column stays and keeps working for the old app.
    pub(super) fn shadow(
        &mut self,
        table: &QualifiedName,
        old_table: &Table,
        o: &Column,
        n: &Column,
    ) {
        let renamed = o.name != n.name;
        let what = if renamed {
            format!("renaming {} to {}", col_name(table, &o.name), n.name)
        } else {
            format!(
                "changing the type of {} from {} to {}",
                col_name(table, &o.name),
                o.ty,
                n.ty
            )
        };
        let in_key = old_table
            .primary_key
            .iter()
            .any(|p| p.columns.contains(&o.name))
            || old_table
                .uniques
                .values()
                .any(|u| u.columns.contains(&o.name))
            || old_table
                .foreign_keys
                .values()
                .any(|f| f.columns.contains(&o.name))
            || self.cur.tables.values().any(|t| {
                t.foreign_keys
                    .values()
                    .any(|f| &f.ref_table == table && f.ref_columns.contains(&o.name))
            });
        if in_key {
            return self.error(PlanError::Unsupported {
                object: col_name(table, &o.name),
                what: format!("{what}: the column is part of a primary key, unique constraint or foreign key"),
                hint: "key columns are moved with a manual migration (new key column, backfill, swap the constraints)".into(),
            });
        }
        if n.identity.is_some() || n.generated.is_some() {
            return self.error(PlanError::Unsupported {
                object: col_name(table, &n.name),
                what: format!("{what} of an identity or generated column"),
                hint: "rename or retype it by hand".into(),
            });
        }
        let affects = if renamed {
            Affects::DropColumn(&o.name)
        } else {
            Affects::RetypeColumn(&o.name)
        };
        self.guard_unmanaged(table, affects, what.clone());
        let Some(key) = self.backfill_key(table, what.clone()) else {
            return;
        };
        let dst = if renamed {
            n.name.clone()
        } else {
            self.helper(
                &[Space::Column(table.clone())],
                &[n.name.as_str()],
                "bellows_new",
                format!("the retyped {}", col_name(table, &n.name)),
            )
        };
        let src = &o.name;
        let forward = match &n.backfill {
            Some(b) => b.clone(),
            None if o.ty == n.ty => qi(src),
            None => cast(&qi(src), &o.ty, &n.ty),
        };
        // The new column starts without its default: with one, PostgreSQL
        // would give every existing row the default, and the backfill
        // (which fills only NULLs, so a re-run never writes a row twice)
        // would skip them all. Nor would the sync trigger copy an old-app
        // INSERT into it, the default making it non-NULL. The default is
        // set at the swap, once the old column is gone.
        let mut shadow_col = n.clone();
        shadow_col.name = dst.clone();
        shadow_col.nullable = true;
        shadow_col.default = None;
        let dn = col_name(table, &dst);
        let mut add = new_step(
            ObjectKind::Column,
            dn.clone(),
            Action::Create,
            Phase::Expand,
            format!("add column {dn} for {what}"),
        )
        .sql(format!(
            "ALTER TABLE {} ADD COLUMN {}",
            qt(table),
            column_def(&shadow_col)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::table(table))
        .provides(Resource::column(table, &dst))
        .undo_with(undo_add_column(table, &dst));
        for r in self.type_requirements(&n.ty) {
            add = add.requires(r);
        }
        add = add.requires_all(self.collation_of(n));
        self.push(add);
        // Writes by either app version reach both columns.
        let reverse = renamed.then(|| {
            if o.ty == n.ty {
                qi(&dst)
            } else {
                cast(&qi(&dst), &n.ty, &o.ty)
            }
        });
        let swapped = Resource::swapped(table, src);
        let untrigger = self.sync_trigger(
            table,
            Sync::Copy {
                src,
                dst: &dst,
                forward: forward.clone(),
                reverse,
            },
            Some(swapped.clone()),
        );
        self.backfill(table, &key, &dst, &forward, true, true);
        let filled = Resource::filled(table, &dst);
        if !n.nullable {
            self.set_not_null(table, &dst, Some(filled.clone()));
        }
        // Contract: the old column goes; for a type change the new one
        // takes its name, in one transaction (catalog changes only).
        let mut swap = new_step(
            ObjectKind::Column,
            col_name(table, &n.name),
            Action::Swap,
            Phase::Contract,
            if renamed {
                format!(
                    "drop the old column {} (its values live on in {dn})",
                    col_name(table, src)
                )
            } else {
                format!("swap {dn} in for {}", col_name(table, src))
            },
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .hazard(
            HazardKind::Irreversible,
            format!(
                "the old column {} is dropped; the old app must be gone",
                col_name(table, src)
            ),
        )
        .requires(filled)
        .requires_all(self.held_by_column(o))
        .requires_all(self.compat_view(table).map(Resource::ViewGone))
        .removes(Resource::column(table, src))
        .provides(swapped);
        // The sync trigger goes in the same transaction as the old column:
        // a write in between would miss it (and the old column may be NOT NULL).
        let mut change = untrigger;
        change.push(format!("ALTER TABLE {} DROP COLUMN {}", qt(table), qi(src)));
        if !renamed {
            change.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                qt(table),
                qi(&dst),
                qi(&n.name)
            ));
            swap = swap.removes(Resource::column(table, &dst));
            self.swapped
                .insert((table.clone(), src.clone()), dst.clone());
        }
        if let Some(d) = &n.default {
            change.push(format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d}",
                qt(table),
                qi(&n.name)
            ));
            if let Some(q) = self.sequence_in(d) {
                swap = swap.requires(Resource::Sequence(q));
            }
        }
        // Views on the old column go and come back on the new one.
        let views = self.views_around(table, Some(src), Phase::Contract);
        swap = views.wrap(swap, change);
        if !n.nullable {
            swap = swap.requires(Resource::not_null(table, &dst));
        }
        self.push(swap);
        // Indexes on the old column go with it: rebuild them on the new one.
        // Only those the target keeps as they are, under the same name: a
        // changed, renamed or dropped one is the index rule's (built on the
        // shadow, or dropped before the swap).
        if !renamed {
            let new_table = self.tgt.tables.get(table);
            for (ix_name, ix) in &old_table.indexes {
                let kept = new_table
                    .and_then(|t| t.indexes.get(ix_name).map(|n| (t, n)))
                    .is_some_and(|(t, n)| {
                        n.renamed_from.is_none() && same_index(self, ix, old_table, n, t)
                    });
                if !kept {
                    continue;
                }
                let uses = ix
                    .keys
                    .iter()
                    .any(|k| matches!(&k.target, KeyTarget::Column(c) if c == src))
                    || ix.include.contains(src);
                if uses {
                    self.rebuild_index_on_shadow(table, ix_name, ix, src, &dst);
                }
            }
        }
    }
}

/// A value of type `from` as type `to`. A user type (an enum) has casts
/// to and from text only: one enum to another goes through its label.
fn cast(value: &str, from: &ColumnType, to: &ColumnType) -> String {
    let user = |t: &ColumnType| {
        matches!(
            t.base,
            BaseType::Named {
                schema: Some(_),
                ..
            }
        )
    };
    if (user(from) || user(to)) && from.base != BaseType::Text && to.base != BaseType::Text {
        format!("{value}::text::{}", type_sql(to))
    } else {
        format!("{value}::{}", type_sql(to))
    }
}
