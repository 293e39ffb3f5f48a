//! `sequences:`: sequences that are not behind a `serial` column (those
//! are written as the column's type).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::*;
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Span;
use crate::spec::read::{Reader, duplicate, err, qname};
use crate::spec::write::{Writer, Y, bool_y, key, text};

/// A standalone sequence.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    /// `smallint`, `integer` or `bigint` (the default).
    #[serde(rename = "type")]
    pub data_type: Option<Located<String>>,
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub cache: Option<i64>,
    #[serde(default)]
    pub cycle: bool,
    /// `table.column` (in the sequence's schema) that owns the sequence.
    pub owned_by: Option<Located<String>>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, sequences: OrderedMap<Checked<SequenceSpec>>) {
    let mut seq_places: BTreeMap<QualifiedName, Span> = BTreeMap::new();
    for (k, v) in sequences.0 {
        let Some(name) = qname(r.diags, &k, "sequence") else {
            continue;
        };
        let Checked::Valid(spec) = v else { continue };
        if let Some(&first) = seq_places.get(&name) {
            duplicate(r.diags, &k, &format!("sequence `{name}`"), first);
            continue;
        }
        seq_places.insert(name.clone(), k.span);
        r.places.claim_relation(
            r.diags,
            &name.schema,
            &name.name,
            format!("sequence `{name}`"),
            k.span,
        );
        let data_type = match &spec.data_type {
            None => ColumnType::new(BaseType::BigInt),
            Some(t) => match ColumnType::parse(&t.value) {
                Ok(ty) if ty.is_integer() => ty,
                _ => {
                    err(
                        r.diags,
                        t.span(),
                        format!(
                            "sequence `{name}`: type must be smallint, integer or bigint, not `{}`",
                            t.value
                        ),
                    );
                    continue;
                }
            },
        };
        if spec.increment == Some(0) {
            err(
                r.diags,
                k.span(),
                format!("sequence `{name}`: increment cannot be 0"),
            );
        }
        if let Some(o) = spec.owned_by {
            r.owned_by.push((name.clone(), o));
        }
        if let Some(c) = spec.comment {
            r.schema
                .comments
                .insert(crate::model::CommentOn::Sequence(name.clone()), c);
        }
        r.schema.sequences.insert(
            name,
            Sequence {
                data_type,
                options: SequenceOptions {
                    start: spec.start,
                    increment: spec.increment,
                    min_value: spec.min_value,
                    max_value: spec.max_value,
                    cache: spec.cache,
                    cycle: spec.cycle,
                },
                owned_by: None,
            }
            .canonical(),
        );
    }
}

/// Resolves the sequences' `owned_by`, once every table is read.
pub(in crate::spec) fn resolve_owners(r: &mut Reader) {
    for (seq, o) in std::mem::take(&mut r.owned_by) {
        let (t, c) = match parse_pair(&o.value) {
            Ok(pair) => pair,
            Err(e) => {
                err(
                    r.diags,
                    o.span(),
                    format!("sequence `{seq}`: owned_by must be `table.column`: {e}"),
                );
                continue;
            }
        };
        let table_name = QualifiedName::new(seq.schema.clone(), t.clone());
        if r.places.is_broken(&table_name, Some(c.as_str())) {
            continue;
        }
        match r.schema.tables.get(&table_name) {
            Some(table) if table.column(c.as_str()).is_some() => {
                if let Some(s) = r.schema.sequences.get_mut(&seq) {
                    s.owned_by = Some((t, c));
                }
            }
            Some(_) => err(
                r.diags,
                o.span(),
                format!(
                    "sequence `{seq}` is owned by `{t}.{c}`, but table `{table_name}` has no column `{c}`"
                ),
            ),
            None => err(
                r.diags,
                o.span(),
                format!("sequence `{seq}` is owned by table `{table_name}`, which is not defined"),
            ),
        }
    }
}

/// The sequences a `serial` column does not stand for.
pub(super) fn write(schema: &Schema, w: &Writer) -> Option<Y> {
    let sequences: Vec<(String, Y)> = schema
        .sequences
        .iter()
        .filter(|(name, _)| !w.serials.iter().any(|(_, _, s)| s == *name))
        .map(|(name, s)| {
            let mut y = sequence(s);
            if let (Y::FlowMap(m), Some(c)) = (
                &mut y,
                schema
                    .comments
                    .get(&crate::model::CommentOn::Sequence(name.clone())),
            ) {
                m.push(("comment".into(), text(c)));
            }
            (key(&name.to_yaml_key()), y)
        })
        .collect();
    (!sequences.is_empty()).then_some(Y::Block(sequences))
}

fn sequence(s: &Sequence) -> Y {
    let mut m = Vec::new();
    if s.data_type.base != BaseType::BigInt {
        m.push(("type".into(), text(&s.data_type.to_string())));
    }
    options(&mut m, &s.options);
    if let Some((t, c)) = &s.owned_by {
        m.push(("owned_by".into(), text(&pair_to_yaml(t, c))));
    }
    Y::FlowMap(m)
}

/// A sequence's options that are not the default, as YAML fields (also
/// an identity column's).
pub(super) fn options(m: &mut Vec<(String, Y)>, s: &SequenceOptions) {
    for (k, v) in [
        ("start", s.start),
        ("increment", s.increment),
        ("min_value", s.min_value),
        ("max_value", s.max_value),
        ("cache", s.cache),
    ] {
        if let Some(v) = v {
            m.push((k.into(), Y::S(v.to_string())));
        }
    }
    if s.cycle {
        m.push(("cycle".into(), bool_y(true)));
    }
}
