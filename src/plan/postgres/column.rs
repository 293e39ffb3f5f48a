//! Columns: add, drop, rename, retype, nullability, defaults, comments.

use super::kind::{InTable, Kind, objects};
use super::sync::Sync;
use super::*;
use crate::diff::postgres::{same_default, same_opt_sql};
use crate::sql::postgres::type_sql;

pub(super) struct Columns;

impl Kind for Columns {
    objects!(in table.columns: Vec<Column>, renamed);

    fn same(p: &Planner<'_>, _: InTable<'_>, a: &Column, b: &Column) -> bool {
        same_column(p, a, b)
    }

    fn added<'a>(p: &mut Planner<'a>, t: InTable<'a>, _: &'a Ident, c: &'a Column) {
        if !p.inherited_column(t, None, Some(c)) {
            p.add_column(t.name, c);
        }
    }

    fn removed<'a>(p: &mut Planner<'a>, t: InTable<'a>, _: &'a Ident, c: &'a Column) {
        if !p.inherited_column(t, Some(c), None) {
            p.drop_column(t.name, c);
        }
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        _: &'a Ident,
        o: &'a Column,
        n: &'a Column,
    ) {
        if !p.inherited_column(t, Some(o), Some(n)) {
            p.alter_column(t.name, t.old, o, n);
        }
    }

    /// A renamed column is a new column under the new name, kept in sync
    /// with the old one until contract swaps them (a rename in place would
    /// break the app version still using the old name).
    fn renamed<'a>(
        p: &mut Planner<'a>,
        t: InTable<'a>,
        _: &'a Ident,
        _: &'a Ident,
        o: &'a Column,
        n: &'a Column,
    ) {
        p.shadow(t.name, t.old, o, n);
    }
}

impl Planner<'_> {
    /// DROP COLUMN is a catalog change, but the data is gone: contract only.
    pub(super) fn drop_column(&mut self, table: &QualifiedName, col: &Column) {
        let column = &col.name;
        let cn = col_name(table, column);
        self.guard_unmanaged(
            table,
            Affects::DropColumn(column),
            format!("dropping column {cn}"),
        );
        let mut held = self.held_by_column(col);
        held.extend(self.compat_view(table).map(Resource::ViewGone));
        let (sql, loses, children) = self.drop_column_sql(table, column);
        let views = self.views_around_inherited(table, column, &children, Phase::Contract);
        let step = new_step(
            ObjectKind::Column,
            cn.clone(),
            Action::Drop,
            Phase::Contract,
            format!("drop column {cn}"),
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata);
        self.push(
            views
                .wrap(step, sql)
                .requires_all(held)
                .removes_all(children.iter().map(|c| Resource::column(c, column)))
                .hazard(HazardKind::DataLoss, loses)
                .requires(Resource::table(table))
                .removes(Resource::column(table, column)),
        );
    }

    fn alter_column(&mut self, table: &QualifiedName, old_table: &Table, o: &Column, n: &Column) {
        let cn = col_name(table, &n.name);
        if self.generated_change(table, old_table, o, n) {
            return;
        }
        if o.ty != n.ty && !binary_coercible(&o.ty, &n.ty) {
            return self.shadow(table, old_table, o, n);
        }
        if o.ty != n.ty || o.collation != n.collation {
            // Even a change that rewrites nothing is refused by PostgreSQL
            // while a view, rule, policy or trigger definition uses the
            // column (0A000).
            self.guard_unmanaged(
                table,
                Affects::RetypeColumn(&n.name),
                format!("changing the type of {cn} from {} to {}", o.ty, n.ty),
            );
            if o.collation != n.collation {
                // A collation change keeps the data but rebuilds the
                // column's indexes under ACCESS EXCLUSIVE.
                let mut def =
                    alter_column_sql(table, &n.name, &format!("TYPE {}", type_sql(&n.ty)));
                if let Some(c) = &n.collation {
                    def.push_str(&format!(" COLLATE {}", qi(c)));
                }
                let after_view = self.compat_view(table).map(Resource::ViewGone);
                let views = self.views_around(table, Some(&n.name), Phase::Contract);
                let step = new_step(
                    ObjectKind::Column,
                    cn.clone(),
                    Action::Alter,
                    Phase::Contract,
                    format!("change the collation of {cn}"),
                )
                .lock(LockLevel::AccessExclusive, Cost::Rewrite)
                .requires_all(self.collation_of(o))
                .requires_all(self.collation_of(n));
                self.push(
                    views
                    .wrap(step, vec![def])
                    .requires_all(after_view)
                    .hazard(
                        HazardKind::LongLock,
                        format!(
                            "rebuilds the indexes on {cn} while holding ACCESS EXCLUSIVE on {table}"
                        ),
                    )
                    .requires(Resource::column(table, &n.name))
                    .provides(Resource::retyped(table, &n.name)),
                );
            } else {
                // Binary-coercible: PostgreSQL neither rewrites the table nor
                // rebuilds indexes; old values all fit the wider type.
                let mut widen = new_step(
                    ObjectKind::Column,
                    cn.clone(),
                    Action::Alter,
                    Phase::Expand,
                    format!("widen {cn} from {} to {} (no rewrite)", o.ty, n.ty),
                )
                .lock(LockLevel::AccessExclusive, Cost::Metadata);
                let sql = alter_column_sql(table, &n.name, &format!("TYPE {}", type_sql(&n.ty)));
                let views = self.views_around(table, Some(&n.name), Phase::Expand);
                widen = views.wrap(widen, self.around_compat_view(table, sql));
                self.push(
                    widen
                    .requires(Resource::column(table, &n.name))
                    // What uses the column in its new type (a default
                    // set on it, an index) comes after.
                    .provides(Resource::column(table, &n.name))
                    .provides(Resource::retyped(table, &n.name))
                    .undo_stays(format!(
                        "{cn} stays {} (narrowing it back would scan the table under an exclusive lock; the old app's values all fit)",
                        n.ty
                    )),
                );
            }
        }
        self.nullability(table, old_table, o, n);
        // A column made identity lets go of its default in the same step
        // (PostgreSQL refuses DROP DEFAULT on an identity column).
        if o.identity.is_some() || n.identity.is_none() {
            self.default_change(table, o, n);
        }
        self.identity_change(table, old_table, o, n);
        self.identity_options_change(table, o, n);
        self.column_comment(table, n, Some(o));
    }

    fn nullability(&mut self, table: &QualifiedName, old_table: &Table, o: &Column, n: &Column) {
        let cn = col_name(table, &n.name);
        if o.nullable && !n.nullable {
            let mut after = None;
            if let Some(expr) = &n.backfill
                && let Some(key) = self.backfill_key(table, format!("making {cn} NOT NULL"))
            {
                self.sync_trigger(
                    table,
                    Sync::FillNull {
                        dst: &n.name,
                        expr,
                        on_update: true,
                    },
                    None,
                );
                self.backfill(table, &key, &n.name, expr, true, false);
                after = Some(Resource::filled(table, &n.name));
            }
            self.set_not_null(table, &n.name, after);
        } else if !o.nullable && n.nullable {
            // An identity column is NOT NULL as long as it is one: the
            // identity's own step drops both, in that order.
            if o.identity.is_some() && n.identity.is_none() {
                return;
            }
            // DROP NOT NULL is a catalog change, and old writes still pass.
            // A primary-key column keeps NOT NULL until its key is gone.
            let (phase, after) = match old_pk_of(old_table, &o.name) {
                Some(pk) => (
                    Phase::Contract,
                    Some(Resource::constraint_gone(table, &pk.name)),
                ),
                None => (Phase::Expand, None),
            };
            let mut step = in_place(
                table,
                &n.name,
                phase,
                format!("allow NULL in {cn}"),
                "DROP NOT NULL",
            )
            .undo_stays(format!(
                "{cn} stays nullable (NOT NULL again would need a scan of the table, and fails if the new app wrote NULLs; the old app writes values anyway)"
            ));
            if let Some(r) = after {
                step = step.requires(r);
            }
            self.push(step);
        }
    }

    /// SET DEFAULT changes only future rows: expand. DROP DEFAULT could
    /// break old-app inserts that rely on it: contract.
    fn default_change(&mut self, table: &QualifiedName, o: &Column, n: &Column) {
        // Compared as they read on the column's new type: after an
        // in-place type change the old default may mean something else.
        if same_default(
            o.default.as_deref(),
            n.default.as_deref(),
            &self.tgt.base_type(&n.ty),
        ) {
            return;
        }
        let cn = col_name(table, &n.name);
        let (phase, sql, what) = match &n.default {
            Some(d) => (
                Phase::Expand,
                format!("SET DEFAULT {d}"),
                format!("set the default of {cn} to {d}"),
            ),
            None => (
                Phase::Contract,
                "DROP DEFAULT".to_string(),
                format!("drop the default of {cn}"),
            ),
        };
        let back = match &o.default {
            Some(d) => format!("SET DEFAULT {d}"),
            None => "DROP DEFAULT".to_string(),
        };
        let mut step = in_place(table, &n.name, phase, what, &sql).undo_with(vec![undo_in_place(
            table,
            &n.name,
            format!("restore the default of {cn}"),
            &back,
        )]);
        if let Some(seq) = n.default.as_deref().and_then(|d| self.sequence_in(d)) {
            step = step.requires(Resource::Sequence(seq));
        }
        // The old default lets go of its sequence here.
        if let Some(r) = self.held_by_default(o.default.as_deref()) {
            step = step.requires(r);
        }
        self.push(step);
    }

    /// An identity's sequence options change in place (`SET INCREMENT BY
    /// ...`), a catalog change: expand. The counter is not moved; a new
    /// `start` is where a `RESTART` would begin.
    fn identity_options_change(&mut self, table: &QualifiedName, o: &Column, n: &Column) {
        if o.identity.is_none() || n.identity.is_none() || o.identity_options == n.identity_options
        {
            return;
        }
        let set = |a: &Column, b: &Column| {
            super::sequence::option_changes(&a.identity_options, &b.identity_options)
                .iter()
                .map(|x| format!("SET {x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let cn = col_name(table, &n.name);
        let (a, b) = (&o.identity_options, &n.identity_options);
        let mut step = in_place(
            table,
            &n.name,
            Phase::Expand,
            format!("change the identity options of {cn}"),
            &set(o, n),
        );
        if a.min_value != b.min_value || a.max_value != b.max_value {
            step = step.hazard(
                HazardKind::MayFail,
                format!("fails if the counter of {cn} is already outside the new bounds"),
            );
        }
        self.push(step.undo_with(vec![undo_in_place(
            table,
            &n.name,
            format!("restore the identity options of {cn}"),
            &set(n, o),
        )]));
    }

    fn identity_change(
        &mut self,
        table: &QualifiedName,
        old_table: &Table,
        o: &Column,
        n: &Column,
    ) {
        let cn = col_name(table, &n.name);
        let sql = match (o.identity, n.identity) {
            (a, b) if a == b => return,
            (None, None) => return,
            (None, Some(kind)) => return self.add_identity(table, old_table, o, n, kind),
            (Some(_), None) => "DROP IDENTITY".to_string(),
            (Some(_), Some(Identity::Always)) => "SET GENERATED ALWAYS".to_string(),
            (Some(_), Some(Identity::ByDefault)) => "SET GENERATED BY DEFAULT".to_string(),
        };
        // Old-app inserts may rely on the old behaviour: contract, except
        // relaxing ALWAYS to BY DEFAULT, which accepts everything it did.
        let phase = if n.identity == Some(Identity::ByDefault) {
            Phase::Expand
        } else {
            Phase::Contract
        };
        // PostgreSQL refuses DROP NOT NULL on an identity column: when the
        // column becomes nullable too, it follows DROP IDENTITY here (and,
        // for a key column, waits for the key to go).
        let mut extra = Vec::new();
        let mut after = None;
        if o.identity.is_some() && n.identity.is_none() && n.nullable {
            extra.push(alter_column_sql(table, &n.name, "DROP NOT NULL"));
            after =
                old_pk_of(old_table, &o.name).map(|pk| Resource::constraint_gone(table, &pk.name));
        }
        let also = if extra.is_empty() {
            ""
        } else {
            ", then allow NULL"
        };
        // Only ALWAYS -> BY DEFAULT runs before contract; its undo is ALWAYS.
        let what = format!("{} on {cn}{also}", sql.to_lowercase());
        let mut step = in_place(table, &n.name, phase, what, &sql).undo_with(vec![undo_in_place(
            table,
            &n.name,
            format!("set generated always on {cn}"),
            "SET GENERATED ALWAYS",
        )]);
        for s in extra {
            step = step.sql(s);
        }
        if let Some(r) = after {
            step = step.requires(r);
        }
        self.push(step);
    }

    pub(super) fn column_comment(&mut self, table: &QualifiedName, n: &Column, o: Option<&Column>) {
        let old = o.and_then(|c| c.comment.as_ref());
        if n.comment.as_ref() == old {
            return;
        }
        let cn = col_name(table, &n.name);
        self.push(
            new_step(
                ObjectKind::Comment,
                cn.clone(),
                Action::Alter,
                Phase::Expand,
                format!("comment on column {cn}"),
            )
            .sql(comment_on_column(table, &n.name, n.comment.as_deref()))
            .requires(Resource::column(table, &n.name))
            .undo_with(vec![
                undo_step(
                    ObjectKind::Comment,
                    cn.clone(),
                    format!("restore the comment on column {cn}"),
                )
                .sql(comment_on_column(table, &n.name, old.map(String::as_str))),
            ]),
        );
    }
}

/// `COMMENT ON COLUMN`, with `None` taking the comment away.
pub(super) fn comment_on_column(
    table: &QualifiedName,
    column: &Ident,
    comment: Option<&str>,
) -> String {
    format!(
        "COMMENT ON COLUMN {}.{} IS {}",
        qt(table),
        qi(column),
        comment_literal(comment)
    )
}

/// The old primary key, if `column` is in it.
/// A change of `column` in place: a catalog change, under a brief
/// ACCESS EXCLUSIVE lock.
fn in_place(
    table: &QualifiedName,
    column: &Ident,
    phase: Phase,
    what: String,
    change: &str,
) -> Step {
    new_step(
        ObjectKind::Column,
        col_name(table, column),
        Action::Alter,
        phase,
        what,
    )
    .sql(alter_column_sql(table, column, change))
    .lock(LockLevel::AccessExclusive, Cost::Metadata)
    .requires(Resource::column(table, column))
}

/// The undo of an in-place change: `change` back, in place.
fn undo_in_place(table: &QualifiedName, column: &Ident, what: String, change: &str) -> Step {
    undo_step(ObjectKind::Column, col_name(table, column), what)
        .sql(alter_column_sql(table, column, change))
}

/// The statement that changes column `column` of `table` in place.
pub(super) fn alter_column_sql(table: &QualifiedName, column: &Ident, change: &str) -> String {
    format!(
        "ALTER TABLE {} ALTER COLUMN {} {change}",
        qt(table),
        qi(column)
    )
}

fn old_pk_of<'t>(old_table: &'t Table, column: &Ident) -> Option<&'t PrimaryKey> {
    old_table
        .primary_key
        .as_ref()
        .filter(|pk| pk.columns.contains(column))
}

/// Equal but for hints, the server's spelling of expressions, the
/// statistics settings (`statistics.rs`) and the storage.
pub(super) fn same_column(p: &Planner<'_>, a: &Column, b: &Column) -> bool {
    // Every field named, so a new one is not forgotten here.
    let Column {
        name,
        ty,
        nullable,
        default: _,
        identity,
        identity_options,
        generated: _,
        collation,
        comment,
        statistics: _,
        storage: _,
        options: _,
        renamed_from: _,
        backfill: _,
    } = a;
    (
        name,
        ty,
        nullable,
        identity,
        identity_options,
        collation,
        comment,
    ) == (
        &b.name,
        &b.ty,
        &b.nullable,
        &b.identity,
        &b.identity_options,
        &b.collation,
        &b.comment,
    ) && same_default(
        a.default.as_deref(),
        b.default.as_deref(),
        &p.tgt.base_type(&b.ty),
    ) && same_opt_sql(a.generated.as_deref(), b.generated.as_deref())
}

/// Type changes PostgreSQL makes without rewriting the table or
/// rebuilding indexes (binary-coercible, or a length limit relaxed).
pub fn binary_coercible(old: &ColumnType, new: &ColumnType) -> bool {
    if old.array || new.array {
        return false;
    }
    let wider = |o: Option<u32>, n: Option<u32>| match (o, n) {
        (_, None) => true,
        (Some(o), Some(n)) => n >= o,
        (None, Some(_)) => false,
    };
    let precision = |o: Option<u8>, n: Option<u8>| match (o, n) {
        (_, None) => true,
        (Some(o), Some(n)) => n >= o,
        (None, Some(_)) => false,
    };
    match (&old.base, &new.base) {
        (BaseType::Varchar(o), BaseType::Varchar(n)) => wider(*o, *n),
        (BaseType::Varchar(_), BaseType::Text) | (BaseType::Text, BaseType::Varchar(None)) => true,
        (BaseType::Varbit(o), BaseType::Varbit(n)) => wider(*o, *n),
        (BaseType::Numeric(Some((op, os))), BaseType::Numeric(Some((np, ns)))) => {
            os == ns && np >= op
        }
        (BaseType::Numeric(Some(_)), BaseType::Numeric(None)) => true,
        (
            BaseType::Timestamp {
                precision: o,
                tz: a,
            },
            BaseType::Timestamp {
                precision: n,
                tz: b,
            },
        ) => a == b && precision(*o, *n),
        (
            BaseType::Time {
                precision: o,
                tz: a,
            },
            BaseType::Time {
                precision: n,
                tz: b,
            },
        ) => a == b && precision(*o, *n),
        (
            BaseType::Named {
                schema: None,
                name: a,
                ..
            },
            BaseType::Named {
                schema: None,
                name: b,
                ..
            },
        ) => a.as_str() == "cidr" && b.as_str() == "inet",
        _ => false,
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::plans_to;

    #[test]
    fn a_nullable_column_is_added_in_expand_and_an_old_one_dropped_in_contract() {
        plans_to(
            "tables:\n  t:\n    columns:\n      a: { type: integer }\n      old: { type: text }\n",
            "tables:\n  t:\n    columns:\n      a: { type: integer }\n      note: { type: text }\n",
            "
            expand: add column public.t.note
                ALTER TABLE public.t ADD COLUMN note text
            contract: drop column public.t.old
                ALTER TABLE public.t DROP COLUMN old
            ",
        );
    }

    #[test]
    fn identity_options_change_in_place_and_options_at_their_default_are_no_change() {
        let t = |id: &str| {
            format!("tables:\n  t:\n    columns:\n      id: {{ type: integer, identity: {id} }}\n")
        };
        plans_to(
            &t("always"),
            &t("{ generated: always, increment: 5, max_value: 1000 }"),
            "
            expand: change the identity options of public.t.id
                ALTER TABLE public.t ALTER COLUMN id SET INCREMENT BY 5 SET MAXVALUE 1000
            ",
        );
        // Written out at PostgreSQL's defaults for an integer: the same.
        let same = crate::testing::schema(&t(
            "{ generated: always, start: 1, increment: 1, min_value: 1, max_value: 2147483647, cache: 1 }",
        ));
        assert_eq!(same, crate::testing::schema(&t("always")));
    }
}
