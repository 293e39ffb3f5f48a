//! Renames and type changes PostgreSQL would make with a rewrite: a
//! shadow column kept in sync by a trigger (expand), filled in batches
//! (migrate), and swapped in atomically (contract).

use super::column::{alter_column_sql, comment_on_column};
use super::column_add::undo_add_column;
use super::index::same_index;
use super::key_move::Moved;
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
        if self.refused_in_inheritance(table, &what) {
            return;
        }
        // A reference to a key that gets new values (`backfill:` on the
        // key) follows it: the new key of the row it references.
        let derived = if renamed || n.backfill.is_some() {
            None
        } else {
            match self.key_from_parent(table, o) {
                Ok(d) => d,
                Err(e) => return self.error(e),
            }
        };
        // The sync trigger casts every write of the old app: a cast
        // PostgreSQL lacks would fail them all from expand on.
        if n.backfill.is_none() && derived.is_none() {
            let (from, to) = (self.cur.base_type(&o.ty), self.tgt.base_type(&n.ty));
            if super::casts::can_cast(&from, &to) == Some(false) {
                return self.error(PlanError::Unsupported {
                    object: col_name(table, &o.name),
                    what: format!("{what}: PostgreSQL has no cast from {} to {}, so the trigger that keeps the new column in step would fail every write of the old app", o.ty, n.ty),
                    hint: "give the column a `backfill:` expression that computes the new value from the row (it fills the existing rows and every old-app write)".into(),
                });
            }
        }
        let computed = n.backfill.is_some() || derived.is_some();
        if let Some(e) = self.key_move_refusal(table, old_table, (o, n), computed, &what) {
            return self.error(e);
        }
        if n.generated.is_some() || (n.identity.is_some() && o.identity.is_none()) {
            return self.error(PlanError::Unsupported {
                object: col_name(table, &n.name),
                what: format!("{what} of a generated column, or of one made identity"),
                hint: "change the type or the name in one migration, then make the column identity (or generated) in the next".into(),
            });
        }
        // A stored generated column computed from this one holds it: the
        // swap could not drop the old column (PostgreSQL refuses), and
        // computing it from the new one means every row again under an
        // exclusive lock.
        if let Some(g) = old_table.columns.iter().find(|c| {
            c.generated
                .as_deref()
                .is_some_and(|e| crate::sql::postgres::mentions(e, o.name.as_str()))
        }) {
            return self.error(PlanError::Unsupported {
                object: col_name(table, &o.name),
                what: format!(
                    "{what}: the generated column {} is computed from it, and PostgreSQL would compute it again for every row under an exclusive lock",
                    g.name
                ),
                hint: format!(
                    "in one migration make {} a plain column (drop its `generated:`), then make this change, then generate it again",
                    g.name
                ),
            });
        }
        let affects = Affects::SwapColumn {
            column: &o.name,
            renamed,
        };
        self.guard_unmanaged(table, affects, what.clone());
        let Some(key) = self.backfill_key(table, what.clone()) else {
            return;
        };
        let dst = if renamed {
            n.name.clone()
        } else {
            self.shadow_name(table, &n.name)
        };
        let src = &o.name;
        self.moved.insert(
            (table.clone(), n.name.clone()),
            Moved {
                from: src.clone(),
                shadow: dst.clone(),
            },
        );
        let forward = match (&n.backfill, &derived) {
            (Some(b), _) => b.clone(),
            (None, Some((e, _))) => e.clone(),
            (None, None) if o.ty == n.ty => qi(src),
            (None, None) => cast(&qi(src), &o.ty, &n.ty),
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
        // Nor its identity: the shadow takes it over at the swap.
        shadow_col.identity = None;
        shadow_col.identity_options = SequenceOptions::default();
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
        // After the referenced rows have their new keys.
        if let Some((_, parent_filled)) = derived
            && let Some(s) = self.steps.iter_mut().find(|s| s.provides.contains(&filled))
        {
            s.requires.push(parent_filled);
        }
        if !n.nullable {
            // A cast of a value that is never NULL is never NULL: over a
            // NOT NULL column, the shadow is proven in migrate, and
            // contract is left catalog changes only. Otherwise the old app
            // may still write the NULLs that the target forbids.
            let phase = if !renamed && !o.nullable && n.backfill.is_none() {
                Phase::Migrate
            } else {
                Phase::Contract
            };
            self.set_not_null_in(table, &dst, Some(filled.clone()), phase);
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
        // A sequence the old column owns would go with it: it lets go
        // first, and the new column takes it (as its default does).
        let owned: Vec<(&QualifiedName, bool)> = self
            .cur
            .sequences
            .iter()
            .filter(|(q, s)| {
                q.schema == table.schema
                    && s.owned_by.as_ref() == Some(&(table.name.clone(), src.clone()))
            })
            .map(|(q, _)| {
                let kept = self.tgt.sequences.get(q).is_some_and(|s| {
                    s.owned_by.as_ref() == Some(&(table.name.clone(), n.name.clone()))
                });
                (q, kept)
            })
            .collect();
        for (q, _) in &owned {
            change.push(format!("ALTER SEQUENCE {} OWNED BY NONE", qt(q)));
        }
        let identity = n
            .identity
            .map(|kind| self.take_over_identity((table, &o.name), (table, &dst), table, n, kind));
        if let Some((take_over, _)) = &identity {
            change.extend(take_over.iter().cloned());
            swap.description = format!(
                "{}; the new column takes over the identity, counting on from the old one's counter",
                swap.description
            );
        }
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
        // The new column starts without the old one's comment.
        if let Some(c) = &n.comment {
            change.push(comment_on_column(table, &n.name, Some(c)));
        }
        if let Some((_, rename)) = identity {
            change.extend(rename);
        }
        for (q, kept) in owned {
            if kept {
                change.push(format!(
                    "ALTER SEQUENCE {} OWNED BY {}.{}",
                    qt(q),
                    qt(table),
                    qi(&n.name)
                ));
            }
        }
        // The foreign keys over the old column (either side) go first:
        // each is dropped or switched to the new columns (`key_move`).
        for (t, f) in self.foreign_keys_using(&self.cur_name(table), src) {
            swap = swap.requires(Resource::constraint_gone(&t, &f));
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

impl Planner<'_> {
    /// The statements that give the column that replaces an identity
    /// column (`new`: a shadow, or the column of a table built beside) the
    /// identity, before the old column (`old`) goes and takes its sequence
    /// along, with the old counter's position, so the next value is the
    /// one the old column would have given; and those that give the new
    /// sequence the name PostgreSQL gives an identity's in `table` (the
    /// target's name of the table), once the old one is gone. `n` is the
    /// target's column.
    pub(super) fn take_over_identity(
        &mut self,
        old: (&QualifiedName, &Ident),
        new: (&QualifiedName, &Ident),
        table: &QualifiedName,
        n: &Column,
        kind: Identity,
    ) -> (Vec<String>, Vec<String>) {
        let keyword = match kind {
            Identity::Always => "ALWAYS",
            Identity::ByDefault => "BY DEFAULT",
        };
        let tmp = self.helper(
            &[Space::Relation(table.schema.clone())],
            &[table.name.as_str(), n.name.as_str()],
            "bellows_seq",
            format!(
                "the identity sequence of the new {}",
                col_name(table, &n.name)
            ),
        );
        let mut opts = vec![format!(
            "SEQUENCE NAME {}",
            qt(&QualifiedName::new(table.schema.clone(), tmp.clone()))
        )];
        if !n.identity_options.is_default() {
            opts.extend(crate::sql::postgres::sequence_options(&n.identity_options));
        }
        let seq_of = |(t, c): (&QualifiedName, &Ident)| {
            format!(
                "pg_get_serial_sequence({}, {})",
                crate::sql::quote_literal(&qt(t)),
                crate::sql::quote_literal(c.as_str())
            )
        };
        let take_over = vec![
            alter_column_sql(
                new.0,
                new.1,
                &format!("ADD GENERATED {keyword} AS IDENTITY ({})", opts.join(" ")),
            ),
            // NULL when the old counter was never used: the new one
            // starts where the target says.
            format!(
                "SELECT setval({}, last) FROM (SELECT pg_sequence_last_value({}::regclass) AS last) AS old WHERE last IS NOT NULL",
                seq_of(new),
                seq_of(old)
            ),
        ];
        let usual =
            crate::model::naming::serial_sequence_name(table.name.as_str(), n.name.as_str());
        let taken = |name: &str| {
            let q = |r: &QualifiedName| r.schema == table.schema && r.name.as_str() == name;
            self.tgt.sequences.keys().any(q)
                || self.tgt.tables.keys().any(q)
                || self.tgt.views.keys().any(q)
                || self.cur.tables.iter().any(|(t, tab)| {
                    t.schema == table.schema && tab.indexes.keys().any(|i| i.as_str() == name)
                })
        };
        let rename = if taken(&usual) {
            Vec::new()
        } else {
            vec![format!(
                "ALTER SEQUENCE {} RENAME TO {}",
                qt(&QualifiedName::new(table.schema.clone(), tmp)),
                quote_ident(&usual)
            )]
        };
        (take_over, rename)
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

#[cfg(test)]
mod tests {
    use crate::testing::refused;

    fn t(a: &str, more: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {a}\n{more}    primary_key: [id]\n"
        )
    }

    #[test]
    fn a_cast_postgresql_lacks_is_refused_before_its_trigger_breaks_the_old_app() {
        refused(
            &t("{ type: date }", ""),
            &t("{ type: integer }", ""),
            "PostgreSQL has no cast from date to integer, so the trigger that keeps the new column in step would fail every write of the old app",
        );
        // Renamed and retyped at once: the same cast.
        refused(
            &t("{ type: date }", ""),
            &t("{ type: integer }", "").replace(
                "      a: { type: integer }",
                "      b: { type: integer, renamed_from: a }",
            ),
            "PostgreSQL has no cast from date to integer",
        );
    }

    #[test]
    fn a_column_a_generated_column_is_computed_from_is_not_swapped() {
        let g = "      b: { type: bigint, generated: \"(a * 2)\" }\n";
        refused(
            &t("{ type: integer }", g),
            &t("{ type: bigint }", g),
            "the generated column b is computed from it",
        );
    }
}
