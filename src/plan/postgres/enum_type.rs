//! Enum types. New values are additive: ALTER TYPE ... ADD VALUE takes a
//! lock on the type only. Removing or reordering values rebuilds the type
//! beside the old one (enum_rebuild.rs).

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::quote_literal;

pub(super) struct Enums;

fn object(name: &QualifiedName) -> SchemaObject<'_> {
    SchemaObject {
        kind: ObjectKind::Enum,
        noun: "enum",
        keyword: "TYPE",
        name,
        made: vec![Resource::Type(name.clone())],
    }
}

impl Kind for Enums {
    objects!(in schema.enums: BTreeMap<QualifiedName, EnumType>);

    fn same(_: &Planner<'_>, _: (), a: &EnumType, b: &EnumType) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, e: &'a EnumType) {
        p.claim(&name.schema, &name.name, || format!("new enum type {name}"));
        let labels: Vec<String> = e.values.iter().map(|v| quote_literal(v)).collect();
        p.push(object(name).create(format!(
            "CREATE TYPE {} AS ENUM ({})",
            qt(name),
            labels.join(", ")
        )));
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, _: &'a EnumType) {
        p.push(object(name).drop(format!(
            "drops enum type {name}; code that names it in a function body is not seen"
        )));
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        old: &'a EnumType,
        new: &'a EnumType,
    ) {
        p.enum_values(name, &old.values, &new.values);
    }
}

impl<'a> Planner<'a> {
    fn enum_values(&mut self, name: &'a QualifiedName, old: &[String], new: &[String]) {
        // Values are added in place while the old ones keep their order;
        // anything else rebuilds the type.
        let kept: Vec<&String> = new.iter().filter(|v| old.contains(v)).collect();
        if kept.len() != old.len() || kept.iter().zip(old).any(|(a, b)| *a != b) {
            return self.rebuild_enum(name, old, new);
        }
        // One step, the values in order, each placed after the value
        // before it in the target (which exists by then: an old one, or
        // one this step just added), the first before the first old one.
        // PostgreSQL 12+ adds several values in one transaction; none is
        // used before it commits.
        let added: Vec<&String> = new.iter().filter(|v| !old.contains(v)).collect();
        if added.is_empty() {
            return;
        }
        let mut step = new_step(
            ObjectKind::Enum,
            name.to_string(),
            Action::AddValue,
            Phase::Expand,
            format!(
                "add {} to enum {name}",
                added
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .requires(Resource::Type(name.clone()))
        .undo_stays(format!(
            "enum {name} keeps the values {} (PostgreSQL cannot remove an enum value; the old app never writes them)",
            added
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (i, v) in new.iter().enumerate() {
            if old.contains(v) {
                continue;
            }
            let position = match i.checked_sub(1).map(|p| &new[p]) {
                Some(before) => format!(" AFTER {}", quote_literal(before)),
                None => match new.iter().find(|p| old.contains(p)) {
                    Some(after) => format!(" BEFORE {}", quote_literal(after)),
                    None => String::new(),
                },
            };
            step = step.sql(format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{position}",
                qt(name),
                quote_literal(v)
            ));
        }
        self.push(step);
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    #[test]
    fn new_values_are_added_in_place_in_their_order() {
        plans_to(
            "enums: { mood: [happy, sad] }",
            "enums: { mood: [calm, happy, meh, sad, angry] }",
            "
            expand: add \"calm\", \"meh\", \"angry\" to enum public.mood
                ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'calm' BEFORE 'happy'
                ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'happy'
                ALTER TYPE public.mood ADD VALUE IF NOT EXISTS 'angry' AFTER 'sad'
            ",
        );
    }

    #[test]
    fn removing_or_reordering_values_rebuilds_the_type() {
        plans_to(
            "enums: { mood: [happy, sad] }",
            "enums: { mood: [sad, happy] }",
            "
            expand: create enum public.mood_bellows_new: public.mood with its values in their new order
                CREATE TYPE public.mood_bellows_new AS ENUM ('sad', 'happy')
            contract: drop the old enum public.mood and give public.mood_bellows_new its name
                DROP TYPE public.mood
                ALTER TYPE public.mood_bellows_new RENAME TO mood
            ",
        );
    }
}
