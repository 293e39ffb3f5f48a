//! Key columns moved to a shadow: a primary key, unique key or foreign
//! key over a column that is retyped (or renamed) through a shadow column
//! is built again over the shadow while both app versions run, and takes
//! the old one's place in contract.
//!
//! - A primary key or unique key gets a unique index over the shadow,
//!   built CONCURRENTLY once it is filled; the swap that drops the old
//!   column (and with it the old key) attaches the index as the key in
//!   the same transaction (`ADD CONSTRAINT … USING INDEX`), so the table
//!   is never without it.
//! - A foreign key from or to such a column is added again over the
//!   shadows under a temporary name, NOT VALID, once the columns it
//!   references are filled and unique, and validated in migrate; in
//!   contract one short transaction drops the old definition and gives
//!   the new one its name, before either column is swapped.

use std::collections::BTreeSet;

use super::constraint::{undo_add_constraint, validate_step};
use super::keys::Key;
use super::*;
use crate::sql::postgres::foreign_key_def;

/// A column that a shadow replaces in contract: its current name, and
/// the shadow's name until the swap (the target's name for a rename).
#[derive(Debug, Clone)]
pub(super) struct Moved {
    pub from: Ident,
    pub shadow: Ident,
}

impl Planner<'_> {
    /// Whether any of target table `table`'s columns `cols` moves to a
    /// shadow.
    pub(super) fn moves_any(&self, table: &QualifiedName, cols: &[Ident]) -> bool {
        cols.iter()
            .any(|c| self.moved.contains_key(&(table.clone(), c.clone())))
    }

    /// Target columns `cols` of `table` under their current names.
    pub(super) fn current_cols(&self, table: &QualifiedName, cols: &[Ident]) -> Vec<Ident> {
        cols.iter()
            .map(|c| match self.moved.get(&(table.clone(), c.clone())) {
                Some(m) => m.from.clone(),
                None => c.clone(),
            })
            .collect()
    }

    /// Target columns `cols` of `table` as they are named before contract:
    /// a moved one by its shadow.
    fn shadow_cols(&self, table: &QualifiedName, cols: &[Ident]) -> Vec<Ident> {
        cols.iter()
            .map(|c| match self.moved.get(&(table.clone(), c.clone())) {
                Some(m) => m.shadow.clone(),
                None => c.clone(),
            })
            .collect()
    }

    /// Whether foreign key `fk` of target table `table` has a column on
    /// either side that moves to a shadow.
    pub(super) fn fk_moves(&self, table: &QualifiedName, fk: &ForeignKey) -> bool {
        self.moves_any(table, &fk.columns) || self.moves_any(&fk.ref_table, &fk.ref_columns)
    }

    /// The current foreign keys (table, name) that use column `col` of
    /// current table `table`, on either side.
    pub(super) fn foreign_keys_using(
        &self,
        table: &QualifiedName,
        col: &Ident,
    ) -> Vec<(QualifiedName, Ident)> {
        let mut out = Vec::new();
        for (t, tab) in &self.cur.tables {
            for (f, fk) in &tab.foreign_keys {
                if (t == table && fk.columns.contains(col))
                    || (&fk.ref_table == table && fk.ref_columns.contains(col))
                {
                    out.push((t.clone(), f.clone()));
                }
            }
        }
        out
    }

    /// Why column `o` of target table `table` (`old_table` now), if it is
    /// in a key, cannot move to shadow `n`.
    pub(super) fn key_move_refusal(
        &self,
        table: &QualifiedName,
        old_table: &Table,
        (o, n): (&Column, &Column),
        what: &str,
    ) -> Option<PlanError> {
        let col = &o.name;
        let now = self.cur_name(table);
        let fks = self.foreign_keys_using(&now, col);
        let in_key = old_table
            .primary_key
            .iter()
            .any(|p| p.columns.contains(col))
            || old_table.uniques.values().any(|u| u.columns.contains(col))
            || !fks.is_empty();
        if !in_key {
            return None;
        }
        // The keys' values must stay equal through the cast, or the rows
        // that reference them would point elsewhere, or nowhere.
        if n.backfill.is_none() && !self.keeps_key_values(&o.ty, &n.ty) {
            return Some(PlanError::Unsupported {
                object: col_name(table, col),
                what: format!("{what}: the column is in a key, and a cast from {} to {} may not keep its values equal", o.ty, n.ty),
                hint: "give the column a `backfill:` expression that computes the new key from the row (and each referencing column one that finds the new key of the row it references)".into(),
            });
        }
        let partitioned = |t: &Table| t.partition_by.is_some() || t.partition_of.is_some();
        let tables: BTreeSet<&QualifiedName> = std::iter::once(&now)
            .chain(fks.iter().map(|(t, _)| t))
            .collect();
        for t in tables {
            let cur = self.cur.tables.get(t);
            let why = if cur.is_some_and(partitioned)
                || self.tgt.tables.get(t).is_some_and(partitioned)
            {
                format!("{t} is partitioned or a partition")
            } else if self
                .tgt
                .tables
                .values()
                .any(|n| n.renamed_from.as_ref() == Some(t))
            {
                format!("{t} is renamed in the same plan")
            } else {
                continue;
            };
            return Some(PlanError::Unsupported {
                object: col_name(table, col),
                what: format!("{what}: the column is in a key, and {why}"),
                hint: "move the key in a migration of its own (rename the table first, or change the partitioned table's key by hand)".into(),
            });
        }
        None
    }

    /// Whether a key of type `from` keeps its values equal, and its order,
    /// cast to `to`: integers to wider integers or `numeric`, strings to
    /// unlimited strings.
    fn keeps_key_values(&self, from: &ColumnType, to: &ColumnType) -> bool {
        if from == to {
            return true;
        }
        let (a, b) = (self.cur.base_type(from), self.tgt.base_type(to));
        if a.array || b.array {
            return false;
        }
        let int =
            |t: &BaseType| matches!(t, BaseType::SmallInt | BaseType::Integer | BaseType::BigInt);
        let rank = |t: &BaseType| match t {
            BaseType::SmallInt => 1,
            BaseType::Integer => 2,
            _ => 3,
        };
        match (&a.base, &b.base) {
            (x, y) if int(x) && int(y) => rank(x) <= rank(y),
            (x, BaseType::Numeric(None)) => int(x),
            (BaseType::Text | BaseType::Varchar(_), BaseType::Text | BaseType::Varchar(None)) => {
                true
            }
            _ => false,
        }
    }

    /// Primary key or unique key `name` of `table` over target columns
    /// `cols`, the same key as the current `old` once its moved columns
    /// are swapped in: a unique index over the shadows, attached as the
    /// key by the swap that drops the old one.
    pub(super) fn move_key(
        &mut self,
        table: &QualifiedName,
        old: &Ident,
        name: &Ident,
        cols: &[Ident],
        key: Key<'_>,
    ) {
        let (kind, clause, deferrable, nulls_not_distinct) = match key {
            Key::Primary(d) => (ObjectKind::PrimaryKey, "PRIMARY KEY", d, false),
            Key::Unique(u) => (
                ObjectKind::Unique,
                "UNIQUE",
                u.deferrable,
                u.nulls_not_distinct,
            ),
        };
        let deferrable = crate::sql::postgres::deferrable_sql(deferrable);
        let build = self.helper(
            &[Space::Relation(table.schema.clone())],
            &[name.as_str()],
            "bellows_new",
            format!("the index of {name} on {table} over the new columns"),
        );
        let ix = Index::unique_on(cols, nulls_not_distinct);
        self.create_index(table, &build, &ix, name, Phase::Migrate);
        let index = Resource::index(&table.schema, &build);
        let key = clause.to_lowercase();
        if let Some(s) = self.steps.iter_mut().find(|s| s.provides.contains(&index)) {
            s.description = format!(
                "build the unique index of {key} {name} on {table} over the new columns, as {build}"
            );
        }
        let attach = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {clause} USING INDEX {}{deferrable}",
            qt(table),
            qi(name),
            qi(&build)
        );
        let moved: Vec<Ident> = cols
            .iter()
            .filter_map(|c| self.moved.get(&(table.clone(), c.clone())))
            .map(|m| m.from.clone())
            .collect();
        let gone = Resource::constraint_gone(table, old);
        let swaps: Vec<usize> = moved
            .iter()
            .filter_map(|c| {
                let r = Resource::swapped(table, c);
                self.steps.iter().position(|s| s.provides.contains(&r))
            })
            .collect();
        // Each swap drops the old key with its column (whichever runs
        // first): what must go before the key (the foreign keys tied to
        // it) goes before each.
        for &i in &swaps {
            self.steps[i].provides.push(gone.clone());
        }
        if let [only] = swaps[..] {
            // One swap: the key comes back in its transaction.
            let s = &mut self.steps[only];
            s.statements.push(attach);
            s.description = format!("{}; {key} {name} moves to the new column", s.description);
            s.requires.push(index);
            s.provides.push(Resource::constraint(table, name));
            return;
        }
        // Several columns of the key swapped one by one: the key comes
        // back after the last (its unique index holds throughout).
        let mut step = new_step(
            kind,
            format!("{table}.{name}"),
            Action::Attach,
            Phase::Contract,
            format!("attach {key} {name} to {table} using its index over the new columns"),
        )
        .sql(attach)
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(index)
        .requires(gone)
        .provides(Resource::constraint(table, name));
        for c in &moved {
            step = step.requires(Resource::swapped(table, c));
        }
        self.push(step);
    }

    /// The foreign keys the target keeps whose columns (on either side)
    /// move to shadows: each is added again over the shadows and switched
    /// in contract. Runs once every table's keys are planned, so the
    /// unique indexes over the shadows it references are known.
    pub(super) fn switch_moved_foreign_keys(&mut self) {
        let (cur, tgt) = (self.cur, self.tgt);
        for (t, table) in &tgt.tables {
            for (name, n) in &table.foreign_keys {
                if !self.fk_moves(t, n) {
                    continue;
                }
                // Under its name, or the one it is renamed from.
                let Some(old) = cur.tables.get(t).and_then(|c| {
                    [Some(name), n.renamed_from.as_ref()]
                        .into_iter()
                        .flatten()
                        .find(|f| c.foreign_keys.contains_key(*f))
                }) else {
                    // A new foreign key: added after the swaps.
                    continue;
                };
                self.switch_foreign_key(t, old, name, n);
            }
        }
    }

    /// Foreign key `old` of `table` switched to `name`, as `n` over the
    /// shadows.
    fn switch_foreign_key(
        &mut self,
        table: &QualifiedName,
        old: &Ident,
        name: &Ident,
        n: &ForeignKey,
    ) {
        let tmp = self.helper(
            &[Space::Constraint(table.clone())],
            &[name.as_str()],
            "bellows_new",
            format!("foreign key {name} on {table} over the new columns"),
        );
        let mut fk = n.clone();
        fk.columns = self.shadow_cols(table, &n.columns);
        fk.ref_columns = self.shadow_cols(&n.ref_table, &n.ref_columns);
        let mut add = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{tmp}"),
            Action::Create,
            Phase::Migrate,
            format!(
                "add foreign key {name} on {table} → {} over the new columns, as {tmp} (NOT VALID: new writes only)",
                n.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
            qt(table),
            qi(&tmp),
            foreign_key_def(&fk)
        ))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .gives_way()
        .requires(Resource::table(table))
        .requires(Resource::table(&n.ref_table))
        .provides(Resource::constraint(table, &tmp))
        .undo_with(undo_add_constraint(table, &tmp));
        // Each row's shadows are filled before it is checked: the rows
        // it references have theirs (a write would fail on a NULL
        // there), and its own are filled without a check per row.
        let sides = [
            (table, &n.columns, &fk.columns),
            (&n.ref_table, &n.ref_columns, &fk.ref_columns),
        ];
        for (t, target, shadow) in sides {
            for (c, s) in target.iter().zip(shadow) {
                add = add.requires(Resource::column(t, s));
                if self.moved.contains_key(&(t.clone(), c.clone())) {
                    add = add.requires(Resource::filled(t, s));
                }
            }
        }
        // The unique index over the referenced shadows. A key is recorded by the target's columns; a unique index
        // rebuilt on the shadow, by the shadow's.
        if self.moves_any(&n.ref_table, &n.ref_columns) {
            let by = |cols: &[Ident]| (n.ref_table.clone(), cols.iter().cloned().collect());
            let keys: BTreeSet<(QualifiedName, BTreeSet<Ident>)> =
                [by(&n.ref_columns), by(&fk.ref_columns)].into();
            let found: Vec<Resource> = keys
                .iter()
                .filter_map(|k| self.key_indexes.get(k))
                .flatten()
                .cloned()
                .collect();
            if found.is_empty() {
                return self.error(PlanError::Unsupported {
                        object: format!("{table}.{name}"),
                        what: format!(
                            "moving foreign key {name} to the new columns of {}: the target has no primary key, unique constraint or unique index over ({}) there",
                            n.ref_table,
                            n.ref_columns
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        hint: "declare the referenced columns' key as a primary key or unique constraint".into(),
                    });
            }
            add = add.requires_all(found);
        }
        self.push(add);
        let mut switch = new_step(
            ObjectKind::ForeignKey,
            format!("{table}.{name}"),
            Action::Swap,
            Phase::Contract,
            format!(
                "switch foreign key {name} on {table} to the new columns: drop {}, give {tmp} its name (catalog changes on {table} and {}, in one transaction)",
                if old == name { "its old definition".to_string() } else { format!("{old}, which it is renamed from") },
                n.ref_table
            ),
        )
        .sql(format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qt(table),
            qi(old)
        ))
        .sql(format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            qt(table),
            qi(&tmp),
            qi(name)
        ))
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .gives_way()
        .requires(Resource::constraint(table, &tmp))
        .removes(Resource::constraint(table, &tmp))
        .provides(Resource::constraint_gone(table, old))
        .provides(Resource::constraint(table, name));
        if !n.not_valid.0 {
            switch = switch.requires(Resource::validated(table, &tmp));
            let fails = format!("fails if a row of {table} has no match in {}", n.ref_table);
            let mut v = validate_step(ObjectKind::ForeignKey, table, &tmp, Phase::Migrate, fails)
                .provides(Resource::validated(table, &tmp));
            for (c, s) in n.columns.iter().zip(&fk.columns) {
                if self.moved.contains_key(&(table.clone(), c.clone())) {
                    v = v.requires(Resource::filled(table, s));
                }
            }
            self.push(v);
        }
        self.push(switch);
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::{plans_to, refused};

    const ACCOUNTS: &str =
        "tables:\n  accounts:\n    columns:\n      id: { type: bigint }\n    primary_key: [id]\n";

    fn orders(account_id: &str) -> String {
        format!(
            "{ACCOUNTS}  orders:\n    columns:\n      id: {{ type: bigint }}\n      account_id: {{ type: {account_id} }}\n    primary_key: [id]\n    foreign_keys:\n      orders_account_fk: {{ columns: [account_id], references: {{ table: accounts, columns: [id] }} }}\n"
        )
    }

    #[test]
    fn a_foreign_key_over_a_retyped_column_is_built_on_the_shadow_and_switched_before_the_swap() {
        plans_to(
            &orders("integer"),
            &orders("bigint"),
            "
            expand: add column public.orders.account_id_bellows_new for changing the type of public.orders.account_id from integer to bigint
                ALTER TABLE public.orders ADD COLUMN account_id_bellows_new bigint
            expand: keep public.orders.account_id_bellows_new in sync while old and new app versions write
                CREATE OR REPLACE FUNCTION public.orders_account_id_bellows_new_bellows_sync() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN IF TG_OP = 'INSERT' OR NEW.account_id IS DISTINCT FROM OLD.account_id OR NEW.account_id_bellows_new IS NULL THEN SELECT (account_id::bigint) INTO NEW.account_id_bellows_new FROM (SELECT NEW.*) AS bellows_row; END IF; RETURN NEW; END $bellows$
                CREATE TRIGGER orders_account_id_bellows_new_bellows_sync BEFORE INSERT OR UPDATE OF account_id ON public.orders FOR EACH ROW EXECUTE FUNCTION public.orders_account_id_bellows_new_bellows_sync()
            migrate: backfill public.orders.account_id_bellows_new = account_id::bigint, in batches by primary key (id)
                UPDATE public.orders SET account_id_bellows_new = (account_id::bigint) WHERE (id) > ($1) AND (id) <= ($2) AND account_id_bellows_new IS NULL
            migrate: add foreign key orders_account_fk on public.orders → public.accounts over the new columns, as orders_account_fk_bellows_new (NOT VALID: new writes only)
                ALTER TABLE public.orders ADD CONSTRAINT orders_account_fk_bellows_new FOREIGN KEY (account_id_bellows_new) REFERENCES public.accounts (id) NOT VALID
            migrate: validate foreign key orders_account_fk_bellows_new on public.orders
                ALTER TABLE public.orders VALIDATE CONSTRAINT orders_account_fk_bellows_new
            contract: switch foreign key orders_account_fk on public.orders to the new columns: drop its old definition, give orders_account_fk_bellows_new its name (catalog changes on public.orders and public.accounts, in one transaction)
                ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS orders_account_fk
                ALTER TABLE public.orders RENAME CONSTRAINT orders_account_fk_bellows_new TO orders_account_fk
            contract: swap public.orders.account_id_bellows_new in for public.orders.account_id
                DROP TRIGGER IF EXISTS orders_account_id_bellows_new_bellows_sync ON public.orders
                DROP FUNCTION IF EXISTS public.orders_account_id_bellows_new_bellows_sync()
                ALTER TABLE public.orders DROP COLUMN account_id
                ALTER TABLE public.orders RENAME COLUMN account_id_bellows_new TO account_id
            ",
        );
    }

    #[test]
    fn a_retyped_primary_key_comes_back_in_the_swap_and_its_serial_sequence_stays() {
        let t = |ty: &str| {
            format!(
                "tables:\n  t:\n    columns:\n      id: {{ type: {ty} }}\n    primary_key: [id]\n"
            )
        };
        let got = crate::testing::outline_of(&t("serial"), &t("bigserial"));
        let swap = got
            .split("contract: ")
            .find(|s| s.starts_with("swap public.t.id_bellows_new in for public.t.id"))
            .unwrap_or_else(|| panic!("no swap step in:\n{got}"));
        let order = [
            "ALTER SEQUENCE public.t_id_seq OWNED BY NONE",
            "ALTER TABLE public.t DROP COLUMN id",
            "ALTER TABLE public.t RENAME COLUMN id_bellows_new TO id",
            "ALTER TABLE public.t ALTER COLUMN id SET DEFAULT nextval('t_id_seq'::regclass)",
            "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id",
            "ALTER TABLE public.t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey_bellows_new",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|s| {
                swap.find(s)
                    .unwrap_or_else(|| panic!("no `{s}` in the swap:\n{swap}"))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order:\n{swap}");
        // Its NOT NULL is proven in migrate, so contract scans nothing.
        assert!(got.contains("migrate: validate that public.t.id_bellows_new has no NULLs"));
    }

    #[test]
    fn a_foreign_key_renamed_while_its_column_moves_is_switched_from_its_old_name() {
        let from = orders("integer");
        let to = orders("bigint").replace(
            "orders_account_fk: {",
            "orders_accounts_fk: { renamed_from: orders_account_fk,",
        );
        let got = crate::testing::outline_of(&from, &to);
        for want in [
            "drop orders_account_fk, which it is renamed from",
            "ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS orders_account_fk\n",
            "ALTER TABLE public.orders RENAME CONSTRAINT orders_accounts_fk_bellows_new TO orders_accounts_fk\n",
        ] {
            assert!(got.contains(want), "no {want:?} in:\n{got}");
        }
        assert!(
            !got.contains("RENAME CONSTRAINT orders_account_fk "),
            "{got}"
        );
    }

    #[test]
    fn key_columns_of_renamed_or_partitioned_tables_and_columns_made_identity_are_refused() {
        refused(
            &orders("integer"),
            &orders("bigint").replace("  orders:\n", "  orders_v2:\n    renamed_from: orders\n"),
            "is renamed in the same plan",
        );
        let parted = |ty: &str| {
            format!(
                "tables:\n  m:\n    columns:\n      id: {{ type: {ty} }}\n      at: {{ type: date }}\n    primary_key: [id, at]\n    partition_by: range (at)\n"
            )
        };
        refused(
            &parted("integer"),
            &parted("bigint"),
            "is partitioned or a partition",
        );
        let t = |id: &str| {
            format!("tables:\n  t:\n    columns:\n      id: {id}\n    primary_key: [id]\n")
        };
        refused(
            &t("{ type: integer }"),
            &t("{ type: bigint, identity: always }"),
            "of one made identity",
        );
        // Values that would not stay equal: only with the new key's
        // expression.
        refused(
            &t("{ type: numeric }"),
            &t("{ type: integer }"),
            "a cast from numeric to integer may not keep its values equal",
        );
        refused(
            &t("{ type: bigint }"),
            &t("{ type: integer }"),
            "a cast from bigint to integer may not keep its values equal",
        );
        // No cast at all: every column, key or not.
        refused(
            &t("{ type: integer }"),
            &t("{ type: uuid }"),
            "PostgreSQL has no cast from integer to uuid",
        );
        let planned = crate::testing::outline_of(
            &t("{ type: integer }"),
            &t("{ type: uuid, backfill: \"md5(id::text)::uuid\" }"),
        );
        assert!(
            planned.contains("USING INDEX t_pkey_bellows_new"),
            "{planned}"
        );
    }
}
