//! `extensions:`: a list of names, or a mapping of name to options.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{Extension, Schema};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::format::ListOr;
use crate::spec::read::{Reader, err, ident};
use crate::spec::write::{Writer, Y, key, text};

/// Extensions as a list of names, or a mapping of name to options.
pub type ExtensionsSpec = ListOr<Vec<Located<String>>, OrderedMap<Checked<ExtensionSpec>>>;

/// Options of an extension.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionSpec {
    /// The schema its objects go in.
    pub schema: Option<Located<String>>,
    /// The version to install; the default version when absent.
    pub version: Option<String>,
}

pub(super) fn read(r: &mut Reader, spec: Option<ExtensionsSpec>) {
    match spec {
        None => {}
        Some(ListOr::List(names)) => {
            for l in &names {
                if let Some(i) = ident(r.diags, l, "extension")
                    && r.schema
                        .extensions
                        .insert(i.clone(), Extension::default())
                        .is_some()
                {
                    err(
                        r.diags,
                        l.span(),
                        format!("extension `{i}` is listed twice"),
                    );
                }
            }
        }
        Some(ListOr::Map(map)) => {
            for (k, v) in map.0 {
                let (Some(name), Checked::Valid(spec)) = (ident(r.diags, &k, "extension"), v)
                else {
                    continue;
                };
                let ext_schema = spec
                    .schema
                    .as_ref()
                    .and_then(|s| ident(r.diags, s, "schema"));
                r.schema.extensions.insert(
                    name,
                    Extension {
                        schema: ext_schema,
                        version: spec.version,
                    },
                );
            }
        }
    }
}

/// A list of names when none has options, else the mapping.
pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    if schema.extensions.is_empty() {
        return None;
    }
    let plain = schema
        .extensions
        .values()
        .all(|e| e.schema.is_none() && e.version.is_none());
    Some(if plain {
        Y::FlowSeq(schema.extensions.keys().map(|k| text(k.as_str())).collect())
    } else {
        Y::Block(
            schema
                .extensions
                .iter()
                .map(|(name, e)| {
                    let mut m = Vec::new();
                    if let Some(s) = &e.schema {
                        m.push(("schema".into(), text(s.as_str())));
                    }
                    if let Some(v) = &e.version {
                        m.push(("version".into(), text(v)));
                    }
                    (key(name.as_str()), Y::FlowMap(m))
                })
                .collect(),
        )
    })
}
