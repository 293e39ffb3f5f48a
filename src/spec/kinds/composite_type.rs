//! `composite_types:`: composite types, each with its attributes in
//! order.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{Attribute, CompositeType, Schema, TypeSpec};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::format::TextOr;
use crate::spec::read::{Reader, duplicate, err, ident};
use crate::spec::write::{Writer, Y, key, text};

/// A composite type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompositeTypeSpec {
    /// Attributes in order: name to its type, or to `{ type, collation }`.
    pub attributes: OrderedMap<Checked<Located<TextOr<AttributeSpec>>>>,
    pub comment: Option<String>,
}

/// An attribute with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeSpec {
    #[serde(rename = "type")]
    pub ty: Located<String>,
    pub collation: Option<Located<String>>,
}

pub(super) fn read(r: &mut Reader, types: OrderedMap<Checked<CompositeTypeSpec>>) {
    for (k, name, spec) in r.type_entries(types, "composite type", "type") {
        // A composite type has a row in pg_class: its name is a relation's.
        r.places.claim_relation(
            r.diags,
            &name.schema,
            &name.name,
            format!("composite type `{name}`"),
            k.span,
        );
        let mut t = CompositeType {
            attributes: Vec::new(),
            comment: spec.comment,
        };
        let mut ok = true;
        for (a, v) in spec.attributes.0 {
            let Some(attr) = ident(r.diags, &a, "attribute") else {
                ok = false;
                continue;
            };
            let Checked::Valid(v) = v else {
                ok = false;
                continue;
            };
            if t.attributes.iter().any(|x| x.name == attr) {
                duplicate(
                    r.diags,
                    &a,
                    &format!("attribute `{attr}` of `{name}`"),
                    a.span,
                );
                ok = false;
                continue;
            }
            let span = v.span();
            let (ty_text, ty_span, collation) = match v.value {
                TextOr::Text(t) => (t, span, None),
                TextOr::Map(m) => (m.ty.value.clone(), m.ty.span(), m.collation),
            };
            let what = format!("attribute `{attr}` of composite type `{name}`");
            let ty = match TypeSpec::parse(&ty_text) {
                Ok(TypeSpec::Plain(ty)) => ty,
                Ok(TypeSpec::Serial(_)) => {
                    err(r.diags, ty_span, format!("{what}: `serial` is not a type"));
                    ok = false;
                    continue;
                }
                Err(e) => {
                    r.diags.push(
                        Diagnostic::new(ty_span, format!("{what}: {e}"))
                            .help("write a PostgreSQL type: `text`, `varchar(20)`, `numeric(10,2)`, a user type"),
                    );
                    ok = false;
                    continue;
                }
            };
            let collation = match &collation {
                Some(c) => match ident(r.diags, c, "collation") {
                    Some(c) => Some(c),
                    None => {
                        ok = false;
                        continue;
                    }
                },
                None => None,
            };
            t.attributes.push(Attribute {
                name: attr,
                ty,
                collation,
            });
        }
        if t.attributes.is_empty() && ok {
            err(
                r.diags,
                k.span(),
                format!("composite type `{name}` has no attributes"),
            );
            continue;
        }
        if ok {
            r.schema.composite_types.insert(name, t);
        }
    }
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    if schema.composite_types.is_empty() {
        return None;
    }
    let out: Vec<(String, Y)> = schema
        .composite_types
        .iter()
        .map(|(name, t)| {
            let attributes = t
                .attributes
                .iter()
                .map(|a| {
                    let ty = text(&a.ty.to_string());
                    let v = match &a.collation {
                        None => ty,
                        Some(c) => Y::FlowMap(vec![
                            ("type".into(), ty),
                            ("collation".into(), text(c.as_str())),
                        ]),
                    };
                    (key(a.name.as_str()), v)
                })
                .collect();
            let mut m = vec![("attributes".to_string(), Y::Block(attributes))];
            if let Some(c) = &t.comment {
                m.push(("comment".into(), text(c)));
            }
            (key(&name.to_yaml_key()), Y::Block(m))
        })
        .collect();
    Some(Y::Block(out))
}
