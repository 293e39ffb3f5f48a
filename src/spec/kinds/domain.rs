//! `domains:`: domains, each a base type with an optional default,
//! `nullable: false` and named checks over `VALUE`.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::{Domain, QualifiedName, Schema, TypeSpec};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, ident, sql_expression};
use crate::spec::write::{Writer, Y, bool_y, key, sql, text};

/// A domain.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// The base type: any type a column may have but `serial` (another
    /// domain included).
    #[serde(rename = "type")]
    pub ty: Located<String>,
    /// `false` for `NOT NULL`: no column of the domain holds NULL.
    pub nullable: Option<Located<bool>>,
    /// The default of columns of the domain that have none, as SQL.
    pub default: Option<Located<String>>,
    /// A collation other than the base type's.
    pub collation: Option<Located<String>>,
    /// Named checks: a boolean SQL expression over `VALUE`.
    #[serde(default)]
    pub checks: OrderedMap<Checked<Located<String>>>,
    pub comment: Option<String>,
}

pub(super) fn read(r: &mut Reader, domains: OrderedMap<Checked<DomainSpec>>) {
    let mut type_spans = Vec::new();
    for (_, name, spec) in r.type_entries(domains, "domain", "type") {
        let span = spec.ty.span();
        if let Some(c) = spec.comment.clone() {
            r.schema
                .comments
                .insert(crate::model::CommentOn::Domain(name.clone()), c);
        }
        if let Some(d) = domain(r, &name, spec) {
            type_spans.push((name.clone(), span));
            r.schema.domains.insert(name, d);
        }
    }
    // A domain over a domain over ... itself cannot be made.
    for (name, span) in type_spans {
        let mut at = name.clone();
        let mut chain = vec![name.to_string()];
        while let Some(next) = r.schema.domains.get(&at).and_then(|d| d.ty.user_type()) {
            if !r.schema.domains.contains_key(&next) || chain.len() > r.schema.domains.len() {
                break;
            }
            chain.push(next.to_string());
            if next == name {
                err(
                    r.diags,
                    span,
                    format!("domain `{name}` is built on itself: {}", chain.join(" → ")),
                );
                break;
            }
            at = next;
        }
    }
}

fn domain(r: &mut Reader, name: &QualifiedName, spec: DomainSpec) -> Option<Domain> {
    let what = format!("domain `{name}`");
    let ty = match TypeSpec::parse(&spec.ty.value) {
        Ok(TypeSpec::Plain(ty)) => ty,
        Ok(TypeSpec::Serial(_)) => {
            r.diags.push(
                Diagnostic::new(spec.ty.span(), format!("{what}: `serial` is not a type a domain can have"))
                    .help("give the domain `integer` or `bigint`, and the columns of it a sequence default"),
            );
            return None;
        }
        Err(e) => {
            r.diags.push(
                Diagnostic::new(spec.ty.span(), format!("{what}: {e}"))
                    .help("write a PostgreSQL type: `bigint`, `varchar(20)`, `numeric(10,2)`, `text[]`, or another user type such as `public.positive`"),
            );
            return None;
        }
    };
    let mut checks = std::collections::BTreeMap::new();
    for (ck, cv) in spec.checks.0 {
        let Some(cname) = ident(r.diags, &ck, "constraint") else {
            continue;
        };
        let Checked::Valid(expr) = cv else { continue };
        if let Some(e) = sql_expression(r.diags, &expr, &format!("{what}: check `{cname}`")) {
            checks.insert(cname, e);
        }
    }
    Some(Domain {
        ty,
        collation: spec
            .collation
            .as_ref()
            .and_then(|c| ident(r.diags, c, "collation")),
        default: spec
            .default
            .as_ref()
            .and_then(|d| sql_expression(r.diags, d, &format!("{what}: the default"))),
        not_null: spec.nullable.is_some_and(|n| !n.value),
        checks,
    })
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    let out: Vec<(String, Y)> = schema
        .domains
        .iter()
        .map(|(name, d)| {
            let mut f = vec![("type".into(), text(&d.ty.to_string()))];
            if d.not_null {
                f.push(("nullable".into(), bool_y(false)));
            }
            if let Some(def) = &d.default {
                f.push(("default".into(), sql(def)));
            }
            if let Some(c) = &d.collation {
                f.push(("collation".into(), text(c.as_str())));
            }
            if let Some(c) = schema
                .comments
                .get(&crate::model::CommentOn::Domain(name.clone()))
            {
                f.push(("comment".into(), text(c)));
            }
            let v = if d.checks.is_empty() {
                Y::FlowMap(f)
            } else {
                let checks = d
                    .checks
                    .iter()
                    .map(|(n, e)| (key(n.as_str()), text(e)))
                    .collect();
                f.push(("checks".into(), Y::Block(checks)));
                Y::Block(f)
            };
            (key(&name.to_yaml_key()), v)
        })
        .collect();
    (!out.is_empty()).then_some(Y::Block(out))
}
