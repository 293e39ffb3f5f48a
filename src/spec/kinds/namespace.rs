//! `schemas:`: the namespaces besides `public` that hold nothing else
//! the file lists (those that do are implied).

use crate::model::DEFAULT_SCHEMA;
use crate::model::Schema;
use crate::spec::de::Located;
use crate::spec::read::{Reader, err, ident};
use crate::spec::write::{Writer, Y, text};

pub(super) fn read(r: &mut Reader, names: Option<Vec<Located<String>>>) {
    for l in names.iter().flatten() {
        if let Some(i) = ident(r.diags, l, "schema")
            && i.as_str() != DEFAULT_SCHEMA
            && !r.schema.schemas.insert(i.clone())
        {
            err(r.diags, l.span(), format!("schema `{i}` is listed twice"));
        }
    }
}

/// The schemas that nothing else in the file implies.
pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let implied = schema.used_schemas();
    let explicit: Vec<Y> = schema
        .schemas
        .iter()
        .filter(|s| !implied.contains(*s))
        .map(|s| text(s.as_str()))
        .collect();
    (!explicit.is_empty()).then_some(Y::FlowSeq(explicit))
}
