//! Extensions (`CREATE EXTENSION`): made in expand, updated in place,
//! moved or dropped in contract.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::quote_literal;

pub(super) struct Extensions;

impl Kind for Extensions {
    objects!(in schema.extensions: BTreeMap<Ident, Extension>);

    fn same(_: &Planner<'_>, _: (), a: &Extension, b: &Extension) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a Ident, e: &'a Extension) {
        let mut sql = format!("CREATE EXTENSION IF NOT EXISTS {}", qi(name));
        let mut step = new_step(
            ObjectKind::Extension,
            name.as_str(),
            Action::Create,
            Phase::Expand,
            format!("create extension {name}"),
        );
        if let Some(s) = &e.schema {
            sql.push_str(&format!(" SCHEMA {}", qi(s)));
            step = step.requires(Resource::Schema(s.clone()));
        }
        if let Some(v) = &e.version {
            sql.push_str(&format!(" VERSION {}", quote_literal(v)));
        }
        p.push(
            step.sql(sql)
                .provides(Resource::Extension(name.clone()))
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Extension,
                        name.as_str(),
                        format!("drop extension {name}"),
                    )
                    .sql(format!("DROP EXTENSION IF EXISTS {}", qi(name)))
                    .removes(Resource::Extension(name.clone())),
                ]),
        );
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a Ident, e: &'a Extension) {
        let mut step = new_step(
            ObjectKind::Extension,
            name.as_str(),
            Action::Drop,
            Phase::Contract,
            format!("drop extension {name}"),
        )
        .sql(format!("DROP EXTENSION {}", qi(name)))
        .hazard(
            HazardKind::UntrackedDependencies,
            format!("drops extension {name} and the functions, types and operators it provides; bellows does not see what uses them"),
        )
        .removes(Resource::Extension(name.clone()));
        // Before the schema it lives in, if that goes too.
        if let Some(s) = &e.schema {
            step = step.requires(Resource::Schema(s.clone()));
        }
        p.push(step);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a Ident,
        old: &'a Extension,
        new: &'a Extension,
    ) {
        if old.schema != new.schema {
            let to = new
                .schema
                .clone()
                .unwrap_or_else(|| Ident::new(DEFAULT_SCHEMA).expect("valid"));
            p.push(
                new_step(ObjectKind::Extension, name.as_str(), Action::Alter, Phase::Contract, format!("move extension {name} to schema {to}"))
                    .sql(format!("ALTER EXTENSION {} SET SCHEMA {}", qi(name), qi(&to)))
                    .hazard(HazardKind::OldAppVisible, "objects of the extension change schema; queries that qualify them by the old schema fail")
                    .requires(Resource::Schema(to.clone())),
            );
        }
        if let (Some(v), true) = (&new.version, old.version != new.version) {
            p.push(
                new_step(
                    ObjectKind::Extension,
                    name.as_str(),
                    Action::Alter,
                    Phase::Expand,
                    format!("update extension {name} to version {v}"),
                )
                .sql(format!(
                    "ALTER EXTENSION {} UPDATE TO {}",
                    qi(name),
                    quote_literal(v)
                ))
                .undo_stays(format!(
                    "extension {name} stays at version {v} (extensions cannot always go back a version)"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    #[test]
    fn an_extension_is_made_in_expand_and_updated_in_place() {
        plans_to(
            "",
            "extensions: { pgcrypto: { schema: public } }",
            "
            expand: create extension pgcrypto
                CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public
            ",
        );
        plans_to(
            "extensions: { hstore: { version: \"1.7\" } }",
            "extensions: { hstore: { version: \"1.8\" } }",
            "
            expand: update extension hstore to version 1.8
                ALTER EXTENSION hstore UPDATE TO '1.8'
            ",
        );
    }

    #[test]
    fn an_extension_moves_and_goes_in_contract() {
        plans_to(
            "schemas: [ext]\nextensions: { citext: { schema: public }, hstore: {} }",
            "schemas: [ext]\nextensions: { citext: { schema: ext } }",
            "
            contract: move extension citext to schema ext
                ALTER EXTENSION citext SET SCHEMA ext
            contract: drop extension hstore
                DROP EXTENSION hstore
            ",
        );
    }
}
