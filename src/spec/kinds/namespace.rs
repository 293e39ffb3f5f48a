//! `schemas:`: the namespaces besides `public` that hold nothing else
//! the file lists (those that do are implied): a list of names, or a
//! mapping of name to `{ comment }`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::Schema;
use crate::model::{CommentOn, DEFAULT_SCHEMA};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::format::ListOr;
use crate::spec::read::{Reader, err, ident};
use crate::spec::write::{Writer, Y, key, text};

/// The schemas: names, or name to options.
pub type SchemasSpec = ListOr<Vec<Located<String>>, OrderedMap<Checked<SchemaSpec>>>;

/// A schema's options.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaSpec {
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, spec: Option<SchemasSpec>) {
    let entries: Vec<(Located<String>, Option<SchemaSpec>)> = match spec {
        None => Vec::new(),
        Some(ListOr::List(names)) => names.into_iter().map(|l| (l, None)).collect(),
        Some(ListOr::Map(m)) => {
            m.0.into_iter()
                .filter_map(|(k, v)| match v {
                    Checked::Valid(s) => Some((k, Some(s))),
                    Checked::Invalid => None,
                })
                .collect()
        }
    };
    for (l, options) in entries {
        let Some(i) = ident(r.diags, &l, "schema") else {
            continue;
        };
        let comment = options.and_then(|o| o.comment);
        if i.as_str() == DEFAULT_SCHEMA {
            if comment.is_some() {
                err(
                    r.diags,
                    l.span(),
                    "schema `public` takes no comment here: bellows leaves the server's comment on it alone".to_string(),
                );
            }
            continue;
        }
        if !r.schema.schemas.insert(i.clone()) {
            err(r.diags, l.span(), format!("schema `{i}` is listed twice"));
        } else if let Some(c) = comment {
            r.schema.comments.insert(CommentOn::Schema(i), c);
        }
    }
}

/// The schemas that nothing else in the file implies, and those with a
/// comment (as a mapping then).
pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let implied = schema.used_schemas();
    let comment = |s| schema.comments.get(&CommentOn::Schema(s));
    let listed: Vec<_> = schema
        .schemas
        .iter()
        .filter(|s| !implied.contains(*s) || comment((*s).clone()).is_some())
        .collect();
    if listed.is_empty() {
        return None;
    }
    if listed.iter().all(|s| comment((*s).clone()).is_none()) {
        return Some(Y::FlowSeq(
            listed.iter().map(|s| text(s.as_str())).collect(),
        ));
    }
    Some(Y::Block(
        listed
            .iter()
            .map(|s| {
                let options = match comment((*s).clone()) {
                    Some(c) => Y::Block(vec![("comment".into(), text(c))]),
                    None => Y::FlowMap(Vec::new()),
                };
                (key(s.as_str()), options)
            })
            .collect(),
    ))
}
