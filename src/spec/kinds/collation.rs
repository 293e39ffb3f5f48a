//! `collations:`: collations the schema defines, by name, each with its
//! provider (libc unless said), locale and options.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{Collation, CollationProvider, QualifiedName, Schema};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Span;
use crate::spec::read::{Reader, duplicate, err, qname};
use crate::spec::write::{Writer, Y, bool_y, key, text};

/// What implements a collation.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollationProviderSpec {
    /// The C library's locales (`LC_COLLATE` / `LC_CTYPE`).
    Libc,
    /// ICU locale tags.
    Icu,
}

/// A collation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollationSpec {
    /// `libc` (the default) or `icu`.
    pub provider: Option<CollationProviderSpec>,
    /// The locale: `de_DE.utf8` or `POSIX` for libc, a tag such as
    /// `en-u-kn-true` for ICU.
    pub locale: Located<String>,
    /// libc only: an `LC_CTYPE` other than the locale.
    pub ctype: Option<Located<String>>,
    /// `false` for a nondeterministic collation (ICU only), under which
    /// strings that differ in bytes may compare equal.
    pub deterministic: Option<Located<bool>>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, collations: OrderedMap<Checked<CollationSpec>>) {
    let mut seen: BTreeMap<QualifiedName, Span> = BTreeMap::new();
    for (k, v) in collations.0 {
        let Some(name) = qname(r.diags, &k, "collation") else {
            continue;
        };
        let Checked::Valid(spec) = v else { continue };
        if let Some(&first) = seen.get(&name) {
            duplicate(r.diags, &k, &format!("collation `{name}`"), first);
            continue;
        }
        seen.insert(name.clone(), k.span);
        let provider = match spec.provider {
            Some(CollationProviderSpec::Icu) => CollationProvider::Icu,
            _ => CollationProvider::Libc,
        };
        let locale = spec.locale.value.trim().to_string();
        if locale.is_empty() {
            err(
                r.diags,
                spec.locale.span(),
                format!("collation `{name}`: the locale is empty"),
            );
            continue;
        }
        if let Some(c) = &spec.ctype
            && provider == CollationProvider::Icu
        {
            err(
                r.diags,
                c.span(),
                format!(
                    "collation `{name}`: `ctype` is for libc collations; an ICU locale tag says it all"
                ),
            );
            continue;
        }
        let deterministic = spec.deterministic.as_ref().is_none_or(|d| d.value);
        if !deterministic && provider == CollationProvider::Libc {
            err(
                r.diags,
                spec.deterministic.as_ref().and_then(Located::span),
                format!(
                    "collation `{name}`: PostgreSQL has nondeterministic collations only with `provider: icu`"
                ),
            );
            continue;
        }
        if let Some(c) = spec.comment {
            r.schema
                .comments
                .insert(crate::model::CommentOn::Collation(name.clone()), c);
        }
        r.schema.collations.insert(
            name,
            Collation {
                provider,
                ctype: spec
                    .ctype
                    .map(|c| c.value.trim().to_string())
                    .filter(|c| *c != locale),
                locale,
                deterministic,
            },
        );
    }
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let out: Vec<(String, Y)> = schema
        .collations
        .iter()
        .map(|(name, c)| {
            let mut f = Vec::new();
            if c.provider != CollationProvider::Libc {
                f.push(("provider".into(), text(c.provider.keyword())));
            }
            f.push(("locale".into(), text(&c.locale)));
            if let Some(ct) = &c.ctype {
                f.push(("ctype".into(), text(ct)));
            }
            if !c.deterministic {
                f.push(("deterministic".into(), bool_y(false)));
            }
            if let Some(c) = schema
                .comments
                .get(&crate::model::CommentOn::Collation(name.clone()))
            {
                f.push(("comment".into(), text(c)));
            }
            (key(&name.to_yaml_key()), Y::FlowMap(f))
        })
        .collect();
    (!out.is_empty()).then_some(Y::Block(out))
}
