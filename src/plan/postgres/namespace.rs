//! Namespaces (`CREATE SCHEMA`): nothing but a name.

use std::collections::BTreeSet;

use super::kind::{Kind, objects};
use super::*;
use crate::model::Place;

pub(super) struct Namespaces;

impl Kind for Namespaces {
    objects!(in schema.schemas: BTreeSet<Ident>);

    fn same(_: &Planner<'_>, _: (), _: &(), _: &()) -> bool {
        true
    }

    /// CREATE SCHEMA takes no table lock: expand.
    fn added<'a>(p: &mut Planner<'a>, _: (), s: &'a Ident, _: &'a ()) {
        p.push(
            new_step(
                ObjectKind::Schema,
                s.as_str(),
                Action::Create,
                Phase::Expand,
                format!("create schema {s}"),
            )
            .sql(format!("CREATE SCHEMA IF NOT EXISTS {}", qi(s)))
            .provides(Resource::Schema(s.clone()))
            // Without CASCADE: a schema that holds anything else stays.
            .undo_with(vec![
                undo_step(ObjectKind::Schema, s.as_str(), format!("drop schema {s}"))
                    .sql(format!("DROP SCHEMA IF EXISTS {}", qi(s)))
                    .removes(Resource::Schema(s.clone())),
            ]),
        );
    }

    /// Dropping one is contract, and refused while it holds an object
    /// bellows does not manage.
    fn removed<'a>(p: &mut Planner<'a>, _: (), s: &'a Ident, _: &'a ()) {
        let inside: Vec<String> = p
            .unmanaged
            .iter()
            .filter(|u| match &u.place {
                Place::Schema(q) | Place::Statistics(q) => &q.schema == s,
                Place::Table { table, .. } => &table.schema == s,
                Place::Other => false,
            })
            .map(|u| u.to_string())
            .collect();
        if !inside.is_empty() {
            p.error(PlanError::BreaksUnmanaged {
                change: format!("dropping schema {s}"),
                dependents: inside.join(", "),
            });
            return;
        }
        p.push(
            new_step(ObjectKind::Schema, s.as_str(), Action::Drop, Phase::Contract, format!("drop schema {s}"))
                .sql(format!("DROP SCHEMA {}", qi(s)))
                .hazard(HazardKind::UntrackedDependencies, format!("drops schema {s}; its managed objects go first, but code that names the schema (function bodies, search_path settings) is not seen"))
                .removes(Resource::Schema(s.clone())),
        );
    }

    fn altered<'a>(_: &mut Planner<'a>, _: (), _: &'a Ident, _: &'a (), _: &'a ()) {}
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    #[test]
    fn a_new_namespace_is_made_in_expand_and_an_old_one_dropped_in_contract() {
        plans_to(
            "schemas: [audit]",
            "schemas: [billing]",
            "
            expand: create schema billing
                CREATE SCHEMA IF NOT EXISTS billing
            contract: drop schema audit
                DROP SCHEMA audit
            ",
        );
    }

    #[test]
    fn a_namespace_goes_after_what_is_in_it() {
        plans_to(
            "enums:\n  audit.level: [low, high]",
            "",
            "
            contract: drop enum audit.level
                DROP TYPE audit.level
            contract: drop schema audit
                DROP SCHEMA audit
            ",
        );
    }
}
