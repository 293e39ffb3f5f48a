//! `enums:`: enum types, each the list of its labels in sort order.

use crate::model::{EnumType, MAX_IDENT_BYTES, Schema};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::read::{Reader, err};
use crate::spec::write::{Writer, Y, key, text};

/// An enum's labels, in sort order.
pub type EnumSpec = Vec<Located<String>>;

pub(super) fn read(r: &mut Reader, enums: OrderedMap<Checked<EnumSpec>>) {
    for (_, name, values) in r.type_entries(enums, "enum", "enum") {
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
            (
                key(&name.to_yaml_key()),
                Y::FlowSeq(e.values.iter().map(|v| text(v)).collect()),
            )
        })
        .collect();
    (!enums.is_empty()).then_some(Y::Block(enums))
}
