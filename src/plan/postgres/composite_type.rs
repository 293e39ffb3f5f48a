//! Composite types. `CREATE TYPE ... AS (...)` and `DROP TYPE` are
//! catalog changes that lock no table: made in expand before the columns
//! of the type, dropped in contract after them. An attribute is added in
//! expand and dropped in contract (`ALTER TYPE ... ADD | DROP
//! ATTRIBUTE`, catalog changes even while columns hold the type); an
//! attribute's type changes in place, in contract, while no column holds
//! the type; PostgreSQL refuses it otherwise, and then the type is built
//! again beside and its columns move to it (`rebuild_composite`).

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::{attribute_def, create_composite_type};

pub(super) struct CompositeTypes;

impl Kind for CompositeTypes {
    objects!(in schema.composite_types: BTreeMap<QualifiedName, CompositeType>);

    fn same(_: &Planner<'_>, _: (), a: &CompositeType, b: &CompositeType) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, t: &'a CompositeType) {
        p.claim(&name.schema, &name.name, || {
            format!("new composite type {name}")
        });
        let mut step = object(name)
            .create(create_composite_type(name, t))
            .requires_all(p.attribute_needs(&t.attributes));
        if let Some(c) = &t.comment {
            step = step.sql(format!(
                "COMMENT ON TYPE {} IS {}",
                qt(name),
                comment_literal(Some(c))
            ));
        }
        p.push(step);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), name: &'a QualifiedName, t: &'a CompositeType) {
        let lost = format!(
            "drops composite type {name}; queries and function bodies that name it fail from then on"
        );
        let step = object(name)
            .drop(lost)
            .requires_all(p.attribute_needs(&t.attributes));
        p.push(step);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        name: &'a QualifiedName,
        old: &'a CompositeType,
        new: &'a CompositeType,
    ) {
        p.alter_composite(name, old, new);
    }
}

fn object(name: &QualifiedName) -> SchemaObject<'_> {
    SchemaObject {
        kind: ObjectKind::Composite,
        noun: "composite type",
        keyword: "TYPE",
        name,
        made: vec![Resource::Type(name.clone())],
    }
}

impl Planner<'_> {
    /// The types and collations the attributes name that this plan may
    /// make or drop.
    fn attribute_needs(&self, attributes: &[Attribute]) -> Vec<Resource> {
        let mut out = Vec::new();
        for a in attributes {
            out.extend(self.type_requirements(&a.ty));
            out.extend(a.collation.as_ref().and_then(|c| self.collation_named(c)));
        }
        out.sort();
        out.dedup();
        out
    }

    /// The tables whose columns hold composite type `name` (or an array
    /// of it), live or in the target.
    fn columns_of_type(&self, name: &QualifiedName) -> Vec<String> {
        let mut out: Vec<String> = [self.cur, self.tgt]
            .into_iter()
            .flat_map(|s| {
                s.tables.iter().flat_map(move |(q, t)| {
                    t.columns
                        .iter()
                        .filter(|c| c.ty.user_type().as_ref() == Some(name))
                        .map(move |c| format!("{q}.{}", c.name))
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn alter_composite(&mut self, name: &QualifiedName, old: &CompositeType, new: &CompositeType) {
        let object = format!("composite type {name}");
        let kept: Vec<&Attribute> = old
            .attributes
            .iter()
            .filter(|a| new.attributes.iter().any(|b| b.name == a.name))
            .collect();
        let added: Vec<&Attribute> = new
            .attributes
            .iter()
            .filter(|b| !old.attributes.iter().any(|a| a.name == b.name))
            .collect();
        let dropped: Vec<&Attribute> = old
            .attributes
            .iter()
            .filter(|a| !new.attributes.iter().any(|b| b.name == a.name))
            .collect();
        // PostgreSQL appends an added attribute: the target's order must be
        // the kept ones in their order, then the added ones.
        let order: Vec<&Ident> = kept
            .iter()
            .map(|a| &a.name)
            .chain(added.iter().map(|a| &a.name))
            .collect();
        if order != new.attributes.iter().map(|a| &a.name).collect::<Vec<_>>() {
            return self.error(PlanError::Unsupported {
                object,
                what: "moving an attribute of a composite type, or adding one before the last".into(),
                hint: "PostgreSQL adds an attribute at the end: write the new ones last, in the order the type has the others".into(),
            });
        }
        let used = self.columns_of_type(name);
        let changed: Vec<(&Attribute, &Attribute)> = kept
            .iter()
            .filter_map(|a| {
                let b = new.attributes.iter().find(|b| b.name == a.name)?;
                (a != &b).then_some((*a, b))
            })
            .collect();
        if !changed.is_empty() && !used.is_empty() {
            // PostgreSQL refuses ALTER ATTRIBUTE ... TYPE while a column
            // holds the type: the type is built again beside, as an
            // enum whose values go.
            if added.is_empty() && dropped.is_empty() {
                return self.rebuild_composite(name, new);
            }
            return self.error(PlanError::Unsupported {
                object,
                what: format!(
                    "changing the type of attribute {} while columns hold the type ({}), and adding or dropping attributes in the same plan",
                    changed[0].0.name,
                    used.join(", ")
                ),
                hint: "bellows builds the type again beside the old one and moves its columns over for a change of attribute types alone: add or drop the attributes in a plan of their own".into(),
            });
        }
        let tn = qt(name);
        for a in &added {
            let mut step = new_step(
                ObjectKind::Composite,
                format!("{name}.{}", a.name),
                Action::Create,
                Phase::Expand,
                format!("add attribute {} to composite type {name}", a.name),
            )
            .sql(format!(
                "ALTER TYPE {tn} ADD ATTRIBUTE {}",
                attribute_def(a)
            ))
            .requires(Resource::Type(name.clone()))
            .requires_all(self.attribute_needs(std::slice::from_ref(*a)))
            .undo_with(vec![
                undo_step(
                    ObjectKind::Composite,
                    format!("{name}.{}", a.name),
                    format!("drop attribute {} of composite type {name}", a.name),
                )
                .sql(format!(
                    "ALTER TYPE {tn} DROP ATTRIBUTE IF EXISTS {}",
                    qi(&a.name)
                )),
            ]);
            if !used.is_empty() {
                step = step.hazard(
                    HazardKind::OldAppVisible,
                    format!("a value of {name} written whole by position (ROW(...) or a record literal) needs the new attribute from then on ({})", used.join(", ")),
                );
            }
            self.push(step);
        }
        for (a, b) in &changed {
            let mut sql = format!(
                "ALTER TYPE {tn} ALTER ATTRIBUTE {} TYPE {}",
                qi(&b.name),
                crate::sql::postgres::type_sql(&b.ty)
            );
            if let Some(c) = &b.collation {
                sql.push_str(&format!(" COLLATE {}", qi(c)));
            }
            self.push(
                new_step(
                    ObjectKind::Composite,
                    format!("{name}.{}", b.name),
                    Action::Alter,
                    Phase::Contract,
                    format!(
                        "change attribute {} of composite type {name} from {} to {}",
                        b.name, a.ty, b.ty
                    ),
                )
                .sql(sql)
                .requires(Resource::Type(name.clone()))
                .requires_all(self.attribute_needs(&[(*b).clone()])),
            );
        }
        for a in &dropped {
            let mut step = new_step(
                ObjectKind::Composite,
                format!("{name}.{}", a.name),
                Action::Drop,
                Phase::Contract,
                format!("drop attribute {} of composite type {name}", a.name),
            )
            .sql(format!("ALTER TYPE {tn} DROP ATTRIBUTE {}", qi(&a.name)))
            .requires(Resource::Type(name.clone()));
            if !used.is_empty() {
                step = step.hazard(
                    HazardKind::DataLoss,
                    format!(
                        "the values of attribute {} in {} are gone",
                        a.name,
                        used.join(", ")
                    ),
                );
            }
            self.push(step);
        }
        if old.comment != new.comment {
            self.push(comment_step(
                "type",
                name,
                old.comment.as_deref(),
                new.comment.as_deref(),
                Resource::Type(name.clone()),
            ));
        }
    }
}

impl<'a> Planner<'a> {
    /// Composite type `name` with attribute types that change while
    /// columns hold it: `new` is made beside it under a helper name
    /// (expand), each column moves to a shadow column of it (its value
    /// through its record literal, a sync trigger, a batched backfill,
    /// the swap in contract), then the old type is dropped and the new one
    /// takes its name.
    fn rebuild_composite(&mut self, name: &QualifiedName, new: &CompositeType) {
        let what = format!("changing attribute types of composite type {name}");
        let Some(movers) = self.columns_moving_with(name, &what, "composite type") else {
            return;
        };
        let Some(helper) = self.rebuilt_type_name(name, &what, "composite type") else {
            return;
        };
        let mut create = object(&helper).create(create_composite_type(&helper, new));
        // It follows the type through the rename.
        if let Some(c) = &new.comment {
            create = create.sql(format!(
                "COMMENT ON TYPE {} IS {}",
                qt(&helper),
                crate::sql::postgres::comment_literal(Some(c))
            ));
        }
        create.description =
            format!("create composite type {helper}: {name} with its new attribute types");
        create = create
            .requires_all(self.attribute_needs(&new.attributes))
            .hazard(
                HazardKind::MayFail,
                "a value an attribute's new type cannot hold fails the backfill, and so does a write of it by the old app once the sync trigger is in place: give the column a `backfill:` expression that maps it",
            );
        self.push(create);
        self.move_to_rebuilt(
            name,
            &helper,
            ObjectKind::Composite,
            "composite type",
            &movers,
        );
    }
}
