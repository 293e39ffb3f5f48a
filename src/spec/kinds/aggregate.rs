//! `aggregates:`: the signature (`name(arg type, ...)`, `name()` for one
//! over `*`) to its state function, state type and the rest, as `CREATE
//! AGGREGATE` takes them.

use schemars::JsonSchema;
use serde::Deserialize;

use super::routine::{ParallelSpec, read_signature};
use crate::model::{Aggregate, Parallel, RoutineKey, Schema, TypeSpec};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, qname};
use crate::spec::write::{Writer, Y, key, text};

/// An aggregate of the plain kind.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateSpec {
    /// The state transition function, `sfunc(state, args...)`.
    pub sfunc: Located<String>,
    /// The state's type.
    pub stype: Located<String>,
    /// `finalfunc(state)`, which makes the result from the state.
    pub finalfunc: Option<Located<String>>,
    /// `combinefunc(state, state)`, which lets it run in parallel.
    pub combinefunc: Option<Located<String>>,
    /// The initial state, as text (none: NULL).
    pub initcond: Option<String>,
    /// `unsafe` (the default), `restricted` or `safe`.
    pub parallel: Option<ParallelSpec>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, entries: OrderedMap<Checked<AggregateSpec>>) {
    for (k, v) in entries.0 {
        let Checked::Valid(spec) = v else { continue };
        let Some((name, args)) = read_signature(r, &k, "aggregate") else {
            continue;
        };
        let key = RoutineKey::of(name, &args);
        let what = format!("aggregate `{key}`");
        let stype = match TypeSpec::parse(&spec.stype.value) {
            Ok(TypeSpec::Plain(ty)) => ty,
            Ok(TypeSpec::Serial(_)) | Err(_) => {
                r.diags.push(
                    Diagnostic::new(
                        spec.stype.span(),
                        format!("{what}: `{}` is not a state type", spec.stype.value),
                    )
                    .help("write a PostgreSQL type: `text`, `numeric[]`, `bigint`, or a user type"),
                );
                continue;
            }
        };
        let function = |r: &mut Reader, l: &Option<Located<String>>| match l {
            Some(l) => qname(r.diags, l, "function").map(Some),
            None => Some(None),
        };
        let (Some(sfunc), Some(finalfunc), Some(combinefunc)) = (
            qname(r.diags, &spec.sfunc, "function"),
            function(r, &spec.finalfunc),
            function(r, &spec.combinefunc),
        ) else {
            continue;
        };
        let aggregate = Aggregate {
            sfunc,
            stype,
            finalfunc,
            combinefunc,
            initcond: spec.initcond,
            parallel: match spec.parallel {
                None | Some(ParallelSpec::Unsafe) => Parallel::Unsafe,
                Some(ParallelSpec::Restricted) => Parallel::Restricted,
                Some(ParallelSpec::Safe) => Parallel::Safe,
            },
            comment: spec.comment,
        };
        if r.schema.routines.contains_key(&key) {
            r.diags.push(
                Diagnostic::new(
                    k.span(),
                    format!("{what} has the name and arguments of a function of the file"),
                )
                .help("PostgreSQL keeps functions and aggregates in one namespace: rename one of the two, or give them different argument types"),
            );
            continue;
        }
        if r.schema.aggregates.insert(key, aggregate).is_some() {
            err(r.diags, k.span(), format!("{what} is defined twice"));
        }
    }
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    if schema.aggregates.is_empty() {
        return None;
    }
    let entries = schema
        .aggregates
        .iter()
        .map(|(k, a)| {
            let args: Vec<String> = k.args.iter().map(|t| t.to_string()).collect();
            let name = format!("{}({})", k.name.to_yaml_key(), args.join(", "));
            let mut m = vec![
                ("sfunc".to_string(), text(&a.sfunc.to_yaml_key())),
                ("stype".to_string(), text(&a.stype.to_string())),
            ];
            if let Some(f) = &a.finalfunc {
                m.push(("finalfunc".into(), text(&f.to_yaml_key())));
            }
            if let Some(f) = &a.combinefunc {
                m.push(("combinefunc".into(), text(&f.to_yaml_key())));
            }
            if let Some(i) = &a.initcond {
                m.push(("initcond".into(), text(i)));
            }
            if a.parallel != Parallel::Unsafe {
                m.push(("parallel".into(), Y::S(a.parallel.as_str().into())));
            }
            if let Some(c) = &a.comment {
                m.push(("comment".into(), text(c)));
            }
            (key(&name), Y::FlowMap(m))
        })
        .collect();
    Some(Y::Block(entries))
}
