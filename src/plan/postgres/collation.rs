//! Collations. `CREATE COLLATION` and `DROP COLLATION` are catalog
//! changes that lock no table; a new one is made in expand before the
//! columns that name it, an old one dropped in contract after the columns
//! that named it have let go (PostgreSQL refuses the drop while one
//! does). PostgreSQL cannot change a collation's definition: that is
//! refused, with the way round it.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::create_collation;

pub(super) struct Collations;

impl Kind for Collations {
    objects!(in schema.collations: BTreeMap<QualifiedName, Collation>);

    fn same(_: &Planner<'_>, _: (), a: &Collation, b: &Collation) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, c: &'a Collation) {
        p.push(object(name).create(create_collation(name, c)));
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, _: &'a Collation) {
        p.push(object(name).drop(format!(
            "drops collation {name}; queries and function bodies that name it (`COLLATE {}`) fail from then on",
            qi(&name.name)
        )));
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        _: &'a Collation,
        _: &'a Collation,
    ) {
        p.cannot_alter(
            "collation",
            name,
            "changing a collation's provider, locale or determinism",
        );
    }
}

fn object(name: &QualifiedName) -> SchemaObject<'_> {
    SchemaObject {
        kind: ObjectKind::Collation,
        noun: "collation",
        keyword: "COLLATION",
        name,
        made: vec![Resource::Collation(name.clone())],
    }
}

impl Planner<'_> {
    /// The collation a column names, when the plan manages it (an
    /// unqualified name is found in `public`, as the statements resolve
    /// it): steps that make the column wait for it, and steps that let
    /// go of it go before its drop.
    pub(super) fn collation_of(&self, c: &Column) -> Option<Resource> {
        self.collation_named(c.collation.as_ref()?)
    }

    /// The collation an object names by `name`, when the plan manages it
    /// (found in `public`, as the statements resolve it).
    pub(super) fn collation_named(&self, name: &Ident) -> Option<Resource> {
        let name = QualifiedName::new(Ident::new(DEFAULT_SCHEMA).ok()?, name.clone());
        (self.tgt.collations.contains_key(&name) || self.cur.collations.contains_key(&name))
            .then_some(Resource::Collation(name))
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::{plans_to, refused};

    const T: &str = "tables:\n  t:\n    columns:\n      a: { type: text }\n";

    #[test]
    fn a_collation_is_made_before_the_column_that_names_it_and_dropped_after() {
        plans_to(
            T,
            "collations:\n  numeric: { provider: icu, locale: en-u-kn-true }\n  posix: { locale: POSIX }\ntables:\n  t:\n    columns:\n      a: { type: text }\n      b: { type: text, collation: numeric }\n",
            r#"
            expand: create collation public.numeric
                CREATE COLLATION public."numeric" (provider = icu, locale = 'en-u-kn-true')
            expand: create collation public.posix
                CREATE COLLATION public.posix (provider = libc, locale = 'POSIX')
            expand: add column public.t.b
                ALTER TABLE public.t ADD COLUMN b text COLLATE "numeric"
            "#,
        );
        plans_to(
            "collations:\n  posix: { locale: POSIX }\ntables:\n  t:\n    columns:\n      a: { type: text, collation: posix }\n",
            T,
            "
            contract: change the collation of public.t.a
                ALTER TABLE public.t ALTER COLUMN a TYPE text
            contract: drop collation public.posix
                DROP COLLATION public.posix
            contract: gather the planner's statistics of public.t (a) again (PostgreSQL discards them with the change)
                ANALYZE public.t (a)
            ",
        );
    }

    #[test]
    fn a_changed_collation_is_refused_with_the_way_round() {
        refused(
            "collations:\n  c1: { locale: POSIX }\n",
            "collations:\n  c1: { locale: C }\n",
            "changing a collation's provider, locale or determinism (collation public.c1); PostgreSQL cannot alter it in place: declare a new collation under another name",
        );
    }
}
