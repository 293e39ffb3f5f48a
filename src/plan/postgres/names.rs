//! Names for the helper objects a plan creates (shadow columns, sync
//! triggers and their functions, NOT NULL checks, indexes under
//! construction). Each is derived from what it serves (`naming`), so a
//! re-plan gives the same names; each is at most 63 bytes; no two helpers
//! share a name; and a helper whose name an existing object (or one the
//! target declares) already has is a planning error, never a failed apply.

use std::collections::BTreeMap;

use super::*;
use crate::model::naming::{derived_name, hashed_name};
use crate::model::{Place, UnmanagedKind};

/// The namespaces PostgreSQL keeps names in, as far as helpers go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Space {
    /// Tables, indexes, sequences, views, composite types: per schema.
    Relation(Ident),
    /// Functions: per schema (a helper function takes no arguments, but a
    /// same-named function is still too confusing to allow).
    Function(Ident),
    Column(QualifiedName),
    Constraint(QualifiedName),
    Trigger(QualifiedName),
}

impl Space {
    fn describe(&self, name: &str) -> String {
        match self {
            Space::Relation(s) => format!("relation {}.{name}", quote_part(s.as_str())),
            Space::Function(s) => format!("function {}.{name}", quote_part(s.as_str())),
            Space::Column(t) => format!("column {name} of {t}"),
            Space::Constraint(t) => format!("constraint {name} on {t}"),
            Space::Trigger(t) => format!("trigger {name} on {t}"),
        }
    }
}

/// Who holds a name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    /// An object of the current or the target schema.
    Object(String),
    /// A helper of this plan, by what it is for.
    Helper(String),
}

/// Every name in use, by namespace.
#[derive(Debug, Default)]
pub(super) struct Names {
    taken: BTreeMap<(Space, String), Holder>,
    /// Relation and type names of the current schema, per schema, with
    /// their holders: a holder that goes, goes in contract, so a new
    /// object made earlier cannot have its name.
    current: BTreeMap<(Ident, String), String>,
}

impl Names {
    /// The names the current and the target schema use, and those of
    /// objects bellows does not manage.
    pub fn of(cur: &Schema, tgt: &Schema, unmanaged: &[Unmanaged]) -> Names {
        let mut n = Names::default();
        for s in [cur, tgt] {
            for (q, t) in &s.tables {
                n.object(
                    Space::Relation(q.schema.clone()),
                    &q.name,
                    format!("table {q}"),
                );
                for c in &t.columns {
                    n.object(
                        Space::Column(q.clone()),
                        &c.name,
                        format!("column {}", col_name(q, &c.name)),
                    );
                }
                for c in t.constraint_names() {
                    n.object(
                        Space::Constraint(q.clone()),
                        c,
                        format!("constraint {c} on {q}"),
                    );
                }
                // Primary keys, unique and exclusion constraints own an
                // index of their name.
                let backed = t
                    .primary_key
                    .iter()
                    .map(|p| &p.name)
                    .chain(t.uniques.keys())
                    .chain(t.exclusions.keys());
                for i in t.indexes.keys().chain(backed) {
                    n.object(
                        Space::Relation(q.schema.clone()),
                        i,
                        format!("index {i} on {q}"),
                    );
                }
            }
            for q in s.sequences.keys() {
                n.object(
                    Space::Relation(q.schema.clone()),
                    &q.name,
                    format!("sequence {q}"),
                );
            }
            for q in s.views.keys() {
                n.object(
                    Space::Relation(q.schema.clone()),
                    &q.name,
                    format!("view {q}"),
                );
            }
        }
        for (q, t) in &cur.tables {
            n.current_object(&q.schema, &q.name, format!("table {q}"));
            let backed = t
                .primary_key
                .iter()
                .map(|p| (&p.name, "primary key"))
                .chain(t.uniques.keys().map(|u| (u, "unique constraint")))
                .chain(t.exclusions.keys().map(|x| (x, "exclusion constraint")));
            for (i, what) in backed {
                n.current_object(&q.schema, i, format!("the {what} {i} of table {q}"));
            }
            for i in t.indexes.keys() {
                n.current_object(&q.schema, i, format!("index {i} on table {q}"));
            }
        }
        for q in cur.sequences.keys() {
            n.current_object(&q.schema, &q.name, format!("sequence {q}"));
        }
        for q in cur.enums.keys() {
            n.current_object(&q.schema, &q.name, format!("enum type {q}"));
        }
        for q in cur.domains.keys() {
            n.current_object(&q.schema, &q.name, format!("domain {q}"));
        }
        for (q, r) in &cur.range_types {
            n.current_object(&q.schema, &q.name, format!("range type {q}"));
            let derived = || Ident::new(default_multirange_name(q.name.as_str())).ok();
            if let Some(m) = r.multirange.clone().or_else(derived) {
                n.current_object(&q.schema, &m, format!("multirange type of {q}"));
            }
        }
        for q in cur.composite_types.keys() {
            n.current_object(&q.schema, &q.name, format!("composite type {q}"));
        }
        for q in cur.views.keys() {
            n.current_object(&q.schema, &q.name, format!("view {q}"));
        }
        for u in unmanaged {
            match &u.place {
                Place::Schema(q) => {
                    let space = match u.kind {
                        UnmanagedKind::Function
                        | UnmanagedKind::Procedure
                        | UnmanagedKind::Aggregate => Space::Function(q.schema.clone()),
                        _ => Space::Relation(q.schema.clone()),
                    };
                    n.object(space, &q.name, u.to_string());
                }
                Place::Table { table, name } => {
                    let space = match u.kind {
                        UnmanagedKind::Trigger => Space::Trigger(table.clone()),
                        _ => Space::Constraint(table.clone()),
                    };
                    n.object(space, name, u.to_string());
                    if u.kind == UnmanagedKind::ExclusionConstraint {
                        n.object(Space::Relation(table.schema.clone()), name, u.to_string());
                    }
                }
                // Only statistics objects take these names.
                Place::Statistics(_) | Place::Other => {}
            }
        }
        n
    }

    fn current_object(&mut self, schema: &Ident, name: &Ident, what: String) {
        self.current
            .entry((schema.clone(), name.as_str().to_string()))
            .or_insert(what);
    }

    /// Who holds relation (or type) name `name` in `schema` in the
    /// current schema, if anyone does.
    pub fn held(&self, schema: &Ident, name: &Ident) -> Option<&str> {
        self.current
            .get(&(schema.clone(), name.as_str().to_string()))
            .map(String::as_str)
    }

    fn object(&mut self, space: Space, name: &Ident, what: String) {
        self.taken
            .entry((space, name.as_str().to_string()))
            .or_insert(Holder::Object(what));
    }

    /// A helper's name in each of `spaces` (a sync trigger and its
    /// function share one): the plain derived name, or the hashed one when
    /// another helper holds the plain one. The same purpose always gets the
    /// same name. A name an object holds is an error.
    pub fn helper(
        &mut self,
        spaces: &[Space],
        parts: &[&str],
        label: &str,
        purpose: &str,
    ) -> Result<Ident, PlanError> {
        let mut conflict = None;
        for candidate in [derived_name(parts, label), hashed_name(parts, label)] {
            let holders: Vec<(&Space, Option<&Holder>)> = spaces
                .iter()
                .map(|s| (s, self.taken.get(&(s.clone(), candidate.clone()))))
                .collect();
            if holders
                .iter()
                .all(|(_, h)| h.is_none() || *h == Some(&Holder::Helper(purpose.to_string())))
            {
                for s in spaces {
                    self.taken.insert(
                        (s.clone(), candidate.clone()),
                        Holder::Helper(purpose.to_string()),
                    );
                }
                return Ident::new(candidate.clone()).map_err(|e| PlanError::Unsupported {
                    object: candidate,
                    what: format!("a helper name for {purpose}"),
                    hint: e.to_string(),
                });
            }
            if let Some((_, Some(Holder::Object(what)))) = holders
                .iter()
                .find(|(_, h)| matches!(h, Some(Holder::Object(_))))
            {
                conflict = Some((what.clone(), candidate.clone()));
                break;
            }
        }
        // Both names held by other helpers: a hash collision, practically
        // never; still an error rather than a shared name.
        let (holder, name) = conflict.unwrap_or_else(|| {
            let c = hashed_name(parts, label);
            (format!("another helper ({})", spaces[0].describe(&c)), c)
        });
        Err(PlanError::NameTaken {
            name,
            purpose: purpose.to_string(),
            holder,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: &str) -> QualifiedName {
        QualifiedName::public(Ident::new(n).expect("ident"))
    }

    #[test]
    fn equal_plain_forms_of_different_helpers_are_told_apart() {
        let mut n = Names::default();
        let s = Space::Function(Ident::new("public").expect("ident"));
        let a = n
            .helper(
                std::slice::from_ref(&s),
                &["a_b", "c"],
                "bellows_sync",
                "sync a_b.c",
            )
            .expect("free");
        let b = n
            .helper(
                std::slice::from_ref(&s),
                &["a", "b_c"],
                "bellows_sync",
                "sync a.b_c",
            )
            .expect("free");
        assert_eq!(a.as_str(), "a_b_c_bellows_sync");
        assert_ne!(a, b);
        let again = n
            .helper(&[s], &["a_b", "c"], "bellows_sync", "sync a_b.c")
            .expect("same purpose, same name");
        assert_eq!(a, again);
    }

    #[test]
    fn a_name_an_object_holds_is_an_error() {
        let mut cur = Schema::default();
        let mut table = Table::default();
        table.columns.push(Column::new(
            Ident::new("price_bellows_new").expect("ident"),
            ColumnType::parse("bigint").expect("type"),
        ));
        cur.tables.insert(t("items"), table);
        let mut n = Names::of(&cur, &cur, &[]);
        let err = n
            .helper(
                &[Space::Column(t("items"))],
                &["price"],
                "bellows_new",
                "the retyped price",
            )
            .expect_err("taken");
        assert!(err.to_string().contains("price_bellows_new"), "{err}");
    }
}
