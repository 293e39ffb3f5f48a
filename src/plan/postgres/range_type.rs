//! Range types. `CREATE TYPE ... AS RANGE` and `DROP TYPE` are catalog
//! changes that lock no table: made in expand before the columns of the
//! range (or of its multirange type), dropped in contract after them.
//! PostgreSQL cannot alter a range type's definition: a change is
//! refused, with the way round it.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::create_range_type;

pub(super) struct RangeTypes;

impl Kind for RangeTypes {
    objects!(in schema.range_types: BTreeMap<QualifiedName, RangeType>);

    fn same(_: &Planner<'_>, _: (), a: &RangeType, b: &RangeType) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, r: &'a RangeType) {
        p.claim(&name.schema, &name.name, || {
            format!("new range type {name}")
        });
        let step = object(name, r)
            .create(create_range_type(name, r))
            .requires_all(p.range_needs(r));
        p.push(step);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, r: &'a RangeType) {
        let lost = format!(
            "drops range type {name} and its multirange type; queries and function bodies that name them fail from then on"
        );
        p.push(object(name, r).drop(lost).requires_all(p.range_needs(r)));
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        _: &'a RangeType,
        _: &'a RangeType,
    ) {
        p.cannot_alter(
            "range type",
            name,
            "changing a range type's subtype or options",
        );
    }
}

fn object<'n>(name: &'n QualifiedName, r: &RangeType) -> SchemaObject<'n> {
    SchemaObject {
        kind: ObjectKind::Range,
        noun: "range type",
        keyword: "TYPE",
        name,
        made: types_of(name, r),
    }
}

/// The range type and its multirange type, as resources.
fn types_of(name: &QualifiedName, r: &RangeType) -> Vec<Resource> {
    let mut out = vec![Resource::Type(name.clone())];
    let derived = || Ident::new(default_multirange_name(name.name.as_str())).ok();
    if let Some(m) = r.multirange.clone().or_else(derived) {
        out.push(Resource::Type(QualifiedName::new(name.schema.clone(), m)));
    }
    out
}

impl Planner<'_> {
    /// What a range type's definition names that this plan may make or
    /// drop: its subtype, its collation, and functions the target
    /// declares under the names of its canonical and difference functions.
    fn range_needs(&self, r: &RangeType) -> Vec<Resource> {
        let mut out = self.type_requirements(&r.subtype);
        out.extend(r.collation.as_ref().and_then(|c| self.collation_named(c)));
        for f in [&r.canonical, &r.subtype_diff].into_iter().flatten() {
            let named =
                |k: &&RoutineKey| k.name.name.as_str() == f.as_str() || k.name.to_string() == *f;
            for k in self
                .tgt
                .routines
                .keys()
                .chain(self.cur.routines.keys())
                .filter(named)
            {
                out.push(Resource::Function(k.clone()));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::{plans_to, refused};

    #[test]
    fn a_range_type_is_made_before_the_columns_of_it_or_its_multirange_and_dropped_after() {
        let to = "range_types:\n  floatrange: { subtype: float8, subtype_diff: float8mi }\ntables:\n  t:\n    columns:\n      a: { type: public.floatrange }\n      b: { type: public.floatmultirange }\n";
        plans_to(
            "",
            to,
            "
            expand: create range type public.floatrange
                CREATE TYPE public.floatrange AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi)
            expand: create table public.t
                CREATE TABLE public.t (a public.floatrange, b public.floatmultirange)
            ",
        );
        plans_to(
            to,
            "",
            "
            contract: drop table public.t
                DROP TABLE public.t
            contract: drop range type public.floatrange
                DROP TYPE public.floatrange
            ",
        );
    }

    #[test]
    fn a_changed_range_type_is_refused_with_the_way_round() {
        refused(
            "range_types:\n  r: { subtype: integer }\n",
            "range_types:\n  r: { subtype: bigint }\n",
            "declare a new range type",
        );
    }
}
