//! Table inheritance (`INHERITS`): a table made under its parents, and
//! the columns a parent shares with the tables that inherit from it.
//! PostgreSQL carries most column changes of a parent down to them (`ADD
//! COLUMN`, `SET DEFAULT`, `SET NOT NULL`, a type, a drop): such a change
//! is planned once, on the parent, and a child's column that follows its
//! parent gets no step of its own. A dropped parent column that a child
//! keeps is dropped from the parent alone (`ALTER TABLE ONLY`), which
//! leaves the child's its own, values and all.

use super::column::same_column;
use super::kind::InTable;
use super::*;
use crate::diff::postgres::{same_default, same_opt_sql};

impl Planner<'_> {
    /// Whether table `name` inherits or is inherited from, before or
    /// after the plan.
    pub(super) fn in_inheritance(&self, name: &QualifiedName) -> bool {
        let live = self
            .renamed_from_live(name)
            .cloned()
            .unwrap_or_else(|| name.clone());
        let inherits = |s: &Schema, q: &QualifiedName| {
            s.tables.get(q).is_some_and(|t| !t.inherits.is_empty())
                || s.children_of(q).next().is_some()
        };
        inherits(self.cur, &live) || inherits(self.tgt, name)
    }

    /// Refuses `what` (a change PostgreSQL would not carry to the tables
    /// that inherit from `name`, or a rebuild of one of them) on a table
    /// in an inheritance tree; `true` when it did.
    pub(super) fn refused_in_inheritance(&mut self, name: &QualifiedName, what: &str) -> bool {
        if !self.in_inheritance(name) {
            return false;
        }
        self.error(PlanError::Unsupported {
            object: name.to_string(),
            what: format!("{what} on {name}, which inherits or is inherited from"),
            hint: "bellows builds no table of an inheritance tree beside itself and swaps no column of one for a shadow: make the change by hand (or in steps the tree allows: add a column, then drop the old one)".into(),
        });
        true
    }

    /// A table that stays keeps its parents (under their new names, if
    /// renamed): `ALTER TABLE ... INHERIT` / `NO INHERIT` take locks on
    /// both tables and are left to the user. `true` when refused.
    pub(super) fn inheritance_changed(
        &mut self,
        name: &QualifiedName,
        old: &Table,
        new: &Table,
    ) -> bool {
        let live_names: Vec<&QualifiedName> = new
            .inherits
            .iter()
            .map(|p| self.renamed_from_live(p).unwrap_or(p))
            .collect();
        if live_names.iter().copied().eq(old.inherits.iter()) {
            return false;
        }
        let list = |l: &[QualifiedName]| {
            if l.is_empty() {
                "no table".to_string()
            } else {
                l.iter()
                    .map(|q| q.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        self.error(PlanError::Unsupported {
            object: name.to_string(),
            what: format!(
                "changing what table {name} inherits from ({} to {})",
                list(&old.inherits),
                list(&new.inherits)
            ),
            hint: format!(
                "run ALTER TABLE {name} INHERIT parent / NO INHERIT parent by hand (it locks both tables), then plan again"
            ),
        });
        true
    }

    /// Column `o` → `n` (either absent) of table `t` that stays: `true`
    /// when a parent's step carries the change (or refused it), so the
    /// column gets no step of its own here.
    pub(super) fn inherited_column(
        &mut self,
        t: InTable<'_>,
        o: Option<&Column>,
        n: Option<&Column>,
    ) -> bool {
        let Some(name) = o.or(n).map(|c| c.name.clone()) else {
            return false;
        };
        let (cur, tgt) = (self.cur, self.tgt);
        let pl = cur.parent_column(t.old, &name);
        let pt = tgt.parent_column(t.new, &name);
        let follows = match (pl, pt) {
            (None, None) => return false,
            // The parent keeps it: unchanged there, the child's own
            // change is planned as any other.
            (Some(a), Some(b)) if self.same_inherited(a, b) => return false,
            // Changed on the parent, which carries the change down.
            (Some(a), Some(b)) => match (o, n) {
                (Some(o), Some(n)) => {
                    let after = self.after_parent_change(o, a, b);
                    same_column(self, &after, &n.inherited())
                }
                _ => false,
            },
            // Added to the parent: the child gets it, or keeps its own.
            (None, Some(b)) => match (o, n) {
                (None, Some(n)) => same_column(self, &b.inherited(), &n.inherited()),
                (Some(o), Some(n)) => {
                    same_column(self, o, n) && o.ty == b.ty && (b.nullable || !o.nullable)
                }
                _ => false,
            },
            // Dropped from the parent: with it, or kept as the child's own.
            (Some(_), None) => {
                let givers = t
                    .old
                    .inherits
                    .iter()
                    .filter_map(|p| cur.tables.get(p))
                    .filter(|p| p.column(name.as_str()).is_some())
                    .count();
                if givers > 1 {
                    let cn = col_name(t.name, &name);
                    self.error(PlanError::Unsupported {
                        object: cn.clone(),
                        what: format!(
                            "dropping column {cn}, which it inherits from {givers} parents that all drop it"
                        ),
                        hint: "drop it from one parent per plan".into(),
                    });
                    return true;
                }
                match (o, n) {
                    (Some(_), None) => true,
                    (Some(o), Some(n)) => same_column(self, o, n),
                    _ => false,
                }
            }
        };
        if follows {
            // A comment is the child's own.
            if let Some(n) = n {
                self.column_comment(t.name, n, o);
            }
        } else {
            let cn = col_name(t.name, &name);
            self.error(PlanError::Unsupported {
                object: cn.clone(),
                what: format!(
                    "changing column {cn}, which it inherits, otherwise than its parent's change gives it"
                ),
                hint: "PostgreSQL carries a parent column's change to the tables that inherit it: change the column in the parent, or make the child's change in a plan of its own".into(),
            });
        }
        true
    }

    /// The columns `CREATE TABLE` declares for new table `t`: all but
    /// those it inherits as its parents give them. One it inherits and
    /// makes its own (another default, NOT NULL) is declared too, which
    /// merges it with the parent's: without a default then, `DEFAULT
    /// NULL` (else it would take the parent's), and never with the
    /// generated expression, which it takes from the parent.
    pub(super) fn declared_columns(&self, t: &Table) -> Vec<Column> {
        let tgt = self.tgt;
        t.columns
            .iter()
            .filter_map(|c| {
                let Some(parent) = tgt.parent_column(t, &c.name) else {
                    return Some(c.clone());
                };
                let given = parent.inherited();
                let own = c.inherited();
                if same_column(self, &given, &own) {
                    return None;
                }
                let mut merged = c.clone();
                if merged.default.is_none() && given.default.is_some() {
                    merged.default = Some("NULL".into());
                }
                merged.generated = None;
                Some(merged)
            })
            .collect()
    }

    /// Whether a parent's column `a` (live) and `b` (target) give a
    /// child the same column.
    fn same_inherited(&self, a: &Column, b: &Column) -> bool {
        let (a, b) = (a.inherited(), b.inherited());
        same_column(self, &a, &b) && a.storage == b.storage
    }

    /// Child column `o` once the parent's column `a` became `b`: what the
    /// parent changed, the child has as the parent has it.
    fn after_parent_change(&self, o: &Column, a: &Column, b: &Column) -> Column {
        let mut e = o.inherited();
        if a.ty != b.ty {
            e.ty = b.ty.clone();
        }
        if a.collation != b.collation {
            e.collation = b.collation.clone();
        }
        if a.nullable != b.nullable {
            e.nullable = b.nullable;
        }
        if !same_default(
            a.default.as_deref(),
            b.default.as_deref(),
            &self.tgt.base_type(&b.ty),
        ) {
            e.default = b.default.clone();
        }
        if !same_opt_sql(a.generated.as_deref(), b.generated.as_deref()) {
            e.generated = b.generated.clone();
        }
        e
    }

    /// The statements that drop column `column` of table `table`: while
    /// a table that inherits it stays, from it alone (`ONLY`, which
    /// leaves each child's column its own), then from each staying child
    /// whose target lacks it. (A plain drop would leave a child's column
    /// that was its own as well as inherited.) Then what it loses, for
    /// the step's hazard, and the children whose column it drops (what
    /// needs one, an index of the child's on it, a view, goes first).
    pub(super) fn drop_column_sql(
        &self,
        table: &QualifiedName,
        column: &Ident,
    ) -> (Vec<String>, String, Vec<QualifiedName>) {
        let plain = format!("ALTER TABLE {} DROP COLUMN {}", qt(table), qi(column));
        let loses = format!("drops column {} and its values", col_name(table, column));
        // Each table that inherits from it when contract runs has the
        // column: a live one, and a new one, made in expand while the
        // column was there. One that inherits it from another parent
        // too keeps it through that one.
        let (cur, tgt) = (self.cur, self.tgt);
        let from_another = |c: &Table| {
            c.inherits
                .iter()
                .filter(|p| *p != table)
                .filter_map(|p| cur.tables.get(self.renamed_from_live(p).unwrap_or(p)))
                .any(|p| p.column(column.as_str()).is_some())
        };
        let staying: Vec<(&QualifiedName, bool)> = tgt
            .children_of(table)
            .filter(|(_, c)| !from_another(c))
            .map(|(q, c)| (q, c.column(column.as_str()).is_some()))
            .collect();
        if staying.is_empty() {
            return (vec![plain], loses, Vec::new());
        }
        let mut sql = vec![format!(
            "ALTER TABLE ONLY {} DROP COLUMN {}",
            qt(table),
            qi(column)
        )];
        let mut dropped_in: Vec<QualifiedName> = Vec::new();
        for (child, _) in staying.iter().filter(|(_, keeps)| !keeps) {
            sql.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                qt(child),
                qi(column)
            ));
            dropped_in.push((*child).clone());
        }
        if dropped_in.is_empty() {
            return (sql, loses, dropped_in);
        }
        let names: Vec<String> = dropped_in.iter().map(ToString::to_string).collect();
        let loses = format!(
            "{loses}, there and in {} (which inherit{} it)",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        );
        (sql, loses, dropped_in)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{plans_to, refused};

    const BASE: &str = "tables:\n  base:\n    columns:\n      id: { type: bigint, nullable: false }\n      note: { type: text, default: \"'n'\" }\n      e: { type: integer }\n";

    #[test]
    fn a_new_child_declares_only_what_is_its_own() {
        plans_to(
            BASE,
            &format!(
                "{BASE}  child:\n    inherits: [base]\n    columns:\n      note: {{ type: text }}\n      e: {{ type: integer, nullable: false, comment: Its own. }}\n      x: {{ type: text }}\n    primary_key: [id]\n"
            ),
            "
            expand: create table public.child
                CREATE TABLE public.child (note text DEFAULT NULL, e integer NOT NULL, x text, CONSTRAINT child_pkey PRIMARY KEY (id)) INHERITS (public.base)
                COMMENT ON COLUMN public.child.e IS 'Its own.'
            ",
        );
    }

    #[test]
    fn a_parent_column_a_child_keeps_is_dropped_from_the_parent_alone() {
        let children = "  a:\n    inherits: [base]\n  b:\n    inherits: [base]\n";
        // base trades e for k; a keeps e as its own.
        let base = BASE.replace("e: { type: integer }", "k: { type: integer, default: 1 }");
        let a_keeps_e = "    inherits: [base]\n    columns:\n      e: { type: integer }\n";
        // b's index on e goes with e, before it.
        let b_indexed = "  b:\n    inherits: [base]\n    indexes: { b_e: { columns: [e] } }\n";
        plans_to(
            &format!(
                "{BASE}{}",
                children.replace("  b:\n    inherits: [base]\n", b_indexed)
            ),
            &format!(
                "{base}{}",
                children.replacen("    inherits: [base]\n", a_keeps_e, 1)
            ),
            "
            expand: add column public.base.k
                ALTER TABLE public.base ADD COLUMN k integer DEFAULT 1
            contract: drop index b_e on public.b
                DROP INDEX CONCURRENTLY IF EXISTS public.b_e
            contract: drop column public.base.e
                ALTER TABLE ONLY public.base DROP COLUMN e
                ALTER TABLE public.b DROP COLUMN e
            ",
        );
    }

    #[test]
    fn what_a_parent_cannot_carry_to_its_children_is_refused() {
        let child = "  a:\n    inherits: [base]\n";
        refused(
            &format!("{BASE}{child}"),
            &format!(
                "{}{child}",
                BASE.replace("e: { type: integer }", "e: { type: text }")
            ),
            "changing the type of public.base.e from integer to text on public.base, which inherits or is inherited from",
        );
        refused(
            &format!("{BASE}{child}"),
            &format!(
                "{BASE}  a:\n    columns:\n      id: {{ type: bigint, nullable: false }}\n      note: {{ type: text, default: \"'n'\" }}\n      e: {{ type: integer }}\n"
            ),
            "changing what table public.a inherits from (public.base to no table)",
        );
        refused(
            &format!("{BASE}{child}"),
            &format!(
                "{}  a:\n    inherits: [base]\n    columns:\n      note: {{ type: text }}\n",
                BASE.replace("\"'n'\"", "\"'m'\"")
            ),
            "changing column public.a.note, which it inherits, otherwise than its parent's change gives it",
        );
        refused(
            &format!("{BASE}{child}"),
            &format!(
                "{}      f: {{ type: integer, nullable: false, backfill: id }}\n{child}",
                BASE
            ),
            "adding public.base.f with a backfill on public.base",
        );
        let two = |e: &str| {
            format!(
                "tables:\n  p1:\n    columns:\n      id: {{ type: bigint }}\n{e}  p2:\n    columns:\n      id: {{ type: bigint }}\n{e}  c:\n    inherits: [p1, p2]\n"
            )
        };
        refused(
            &two("      e: { type: integer }\n"),
            &two(""),
            "dropping column public.c.e, which it inherits from 2 parents that all drop it",
        );
    }
}
