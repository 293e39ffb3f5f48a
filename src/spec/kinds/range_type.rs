//! `range_types:`: range types, each with its subtype and options.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{QualifiedName, RangeType, Schema, TypeSpec, default_multirange_name};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, duplicate, err, ident};
use crate::spec::write::{Writer, Y, key, text};

/// A range type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeTypeSpec {
    /// The type of the bounds (`numeric`, `timestamptz`, ...).
    pub subtype: Located<String>,
    /// A b-tree operator class other than the subtype's default.
    pub subtype_opclass: Option<Located<String>>,
    /// A collation other than the subtype's.
    pub collation: Option<Located<String>>,
    /// The canonical function's name.
    pub canonical: Option<Located<String>>,
    /// The subtype difference function's name (`float8mi`).
    pub subtype_diff: Option<Located<String>>,
    /// The multirange type's name, if not the derived one.
    pub multirange_type_name: Option<Located<String>>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, ranges: OrderedMap<Checked<RangeTypeSpec>>) {
    for (k, name, spec) in r.type_entries(ranges, "range type", "type") {
        let what = format!("range type `{name}`");
        let subtype = match TypeSpec::parse(&spec.subtype.value) {
            Ok(TypeSpec::Plain(ty)) => ty,
            Ok(TypeSpec::Serial(_)) => {
                err(
                    r.diags,
                    spec.subtype.span(),
                    format!("{what}: `serial` is not a type"),
                );
                continue;
            }
            Err(e) => {
                r.diags.push(
                    Diagnostic::new(spec.subtype.span(), format!("{what}: {e}")).help(
                        "write the bounds' type: `numeric`, `timestamptz`, `float8`, `inet`, ...",
                    ),
                );
                continue;
            }
        };
        // Names only: they are written into CREATE TYPE as they stand.
        let mut text_of = |l: &Option<Located<String>>, what: &str| {
            let l = l.as_ref()?;
            let t = l.value.trim();
            if is_sql_name(t) {
                return Some(t.to_string());
            }
            r.diags.push(
                Diagnostic::new(l.span(), format!("range type `{name}`: {what} `{t}` is not a name"))
                    .help("write the name of a function or operator class, `name` or `schema.name` (double quotes around a part that needs them)"),
            );
            None
        };
        let subtype_opclass = text_of(&spec.subtype_opclass, "subtype_opclass");
        let canonical = text_of(&spec.canonical, "canonical");
        let subtype_diff = text_of(&spec.subtype_diff, "subtype_diff");
        let multirange = spec
            .multirange_type_name
            .as_ref()
            .and_then(|m| ident(r.diags, m, "multirange type"))
            .filter(|m| m.as_str() != default_multirange_name(name.name.as_str()));
        if let Some(m) = &multirange {
            let other = QualifiedName::new(name.schema.clone(), m.clone());
            if let (Some(&first), Some(at)) = (r.types.get(&other), &spec.multirange_type_name) {
                duplicate(r.diags, at, &format!("type `{other}`"), first);
                continue;
            }
            r.types.insert(other, k.span);
        }
        if let Some(c) = spec.comment {
            r.schema
                .comments
                .insert(crate::model::CommentOn::Type(name.clone()), c);
        }
        r.schema.range_types.insert(
            name,
            RangeType {
                subtype,
                subtype_opclass,
                collation: spec
                    .collation
                    .as_ref()
                    .and_then(|c| ident(r.diags, c, "collation")),
                canonical,
                subtype_diff,
                multirange,
            },
        );
    }
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let out: Vec<(String, Y)> = schema
        .range_types
        .iter()
        .map(|(name, rt)| {
            let mut f = vec![("subtype".to_string(), text(&rt.subtype.to_string()))];
            for (k, v) in [
                ("subtype_opclass", rt.subtype_opclass.as_deref()),
                ("collation", rt.collation.as_ref().map(|c| c.as_str())),
                ("canonical", rt.canonical.as_deref()),
                ("subtype_diff", rt.subtype_diff.as_deref()),
                (
                    "multirange_type_name",
                    rt.multirange.as_ref().map(|m| m.as_str()),
                ),
            ] {
                if let Some(v) = v {
                    f.push((k.into(), text(v)));
                }
            }
            if let Some(c) = schema
                .comments
                .get(&crate::model::CommentOn::Type(name.clone()))
            {
                f.push(("comment".into(), text(c)));
            }
            (key(&name.to_yaml_key()), Y::FlowMap(f))
        })
        .collect();
    (!out.is_empty()).then_some(Y::Block(out))
}

/// `name` or `schema.name`: unquoted parts of letters, digits, `_` and
/// `$` (not first), quoted parts of anything (`""` for a quote).
fn is_sql_name(t: &str) -> bool {
    let mut parts = 1;
    let mut part_start = true;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                        } else {
                            closed = true;
                            break;
                        }
                    }
                }
                if !closed {
                    return false;
                }
                part_start = false;
            }
            '.' if !part_start => {
                parts += 1;
                part_start = true;
            }
            c if c.is_alphabetic()
                || c == '_'
                || (!part_start && (c.is_ascii_digit() || c == '$')) =>
            {
                part_start = false;
            }
            _ => return false,
        }
    }
    !part_start && parts <= 2
}

#[cfg(test)]
mod tests {
    use super::is_sql_name;

    #[test]
    fn names_are_names_and_nothing_else_is() {
        for ok in [
            "float8mi",
            "public.my_diff",
            "\"My Diff\"",
            "s.\"a\"\"b\"",
            "f$1",
        ] {
            assert!(is_sql_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a.",
            ".a",
            "a.b.c",
            "f(x)",
            "f; DROP TABLE t",
            "\"open",
            "1f",
        ] {
            assert!(!is_sql_name(bad), "{bad}");
        }
    }
}
