//! `enums:`: enum types, each the list of its labels in sort order, or
//! `{ values, comment }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{CommentOn, EnumType, MAX_IDENT_BYTES, Schema};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::format::ListOr;
use crate::spec::read::{Reader, err};
use crate::spec::write::{Writer, Y, key, text};

/// An enum's labels in sort order, or a mapping with them and a comment.
pub type EnumSpec = ListOr<Vec<Located<String>>, EnumMapSpec>;

/// An enum with a comment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumMapSpec {
    /// The labels, in sort order.
    pub values: Vec<Located<String>>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, enums: OrderedMap<Checked<EnumSpec>>) {
    for (_, name, spec) in r.type_entries(enums, "enum", "enum") {
        let values = match spec {
            ListOr::List(values) => values,
            ListOr::Map(m) => {
                if let Some(c) = m.comment {
                    r.schema.comments.insert(CommentOn::Type(name.clone()), c);
                }
                m.values
            }
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut labels = Vec::new();
        for l in values {
            if l.value.len() > MAX_IDENT_BYTES {
                err(
                    r.diags,
                    l.span(),
                    format!("enum `{name}`: a label is at most 63 bytes long"),
                );
            } else if !seen.insert(l.value.clone()) {
                err(
                    r.diags,
                    l.span(),
                    format!("enum `{name}` lists the label `{}` twice", l.value),
                );
            } else {
                labels.push(l.value);
            }
        }
        r.schema.enums.insert(name, EnumType { values: labels });
    }
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let enums: Vec<(String, Y)> = schema
        .enums
        .iter()
        .map(|(name, e)| {
            let values = Y::FlowSeq(e.values.iter().map(|v| text(v)).collect());
            let y = match schema.comments.get(&CommentOn::Type(name.clone())) {
                Some(c) => Y::Block(vec![("values".into(), values), ("comment".into(), text(c))]),
                None => values,
            };
            (key(&name.to_yaml_key()), y)
        })
        .collect();
    (!enums.is_empty()).then_some(Y::Block(enums))
}
