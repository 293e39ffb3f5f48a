//! DDL for the types and collations a schema defines (other than enums,
//! which are one statement).

use super::{qualified, type_sql};
use crate::model::*;
use crate::sql::{quote_ident, quote_literal};

/// `CREATE COLLATION name (provider = ..., locale = ...)`.
pub fn create_collation(name: &QualifiedName, c: &Collation) -> String {
    let mut o = vec![format!("provider = {}", c.provider.keyword())];
    match &c.ctype {
        Some(ctype) => {
            o.push(format!("lc_collate = {}", quote_literal(&c.locale)));
            o.push(format!("lc_ctype = {}", quote_literal(ctype)));
        }
        None => o.push(format!("locale = {}", quote_literal(&c.locale))),
    }
    if !c.deterministic {
        o.push("deterministic = false".into());
    }
    format!("CREATE COLLATION {} ({})", qualified(name), o.join(", "))
}

/// `CREATE DOMAIN` with its collation, default, NOT NULL and checks.
pub fn create_domain(name: &QualifiedName, d: &Domain) -> String {
    let mut s = format!("CREATE DOMAIN {} AS {}", qualified(name), type_sql(&d.ty));
    if let Some(c) = &d.collation {
        s.push_str(&format!(" COLLATE {}", quote_ident(c.as_str())));
    }
    if let Some(def) = &d.default {
        s.push_str(&format!(" DEFAULT {def}"));
    }
    if d.not_null {
        s.push_str(" NOT NULL");
    }
    for (n, e) in &d.checks {
        s.push_str(&format!(
            " CONSTRAINT {} CHECK ({e})",
            quote_ident(n.as_str())
        ));
    }
    s
}

/// The domains, each after the domain it is of.
pub fn domains_in_order(schema: &Schema) -> Vec<(&QualifiedName, &Domain)> {
    let mut out: Vec<(&QualifiedName, &Domain)> = Vec::new();
    let mut left: Vec<_> = schema.domains.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|(n, d)| {
            let ready = d.ty.user_type().is_none_or(|b| {
                !schema.domains.contains_key(&b) || out.iter().any(|(o, _)| **o == b)
            });
            if ready {
                out.push((n, d));
            }
            !ready
        });
        if left.len() == before {
            // A cycle (which PostgreSQL cannot hold): in name order.
            out.append(&mut left);
        }
    }
    out
}

/// `CREATE TYPE name AS RANGE (SUBTYPE = ..., ...)`.
pub fn create_range_type(name: &QualifiedName, r: &RangeType) -> String {
    let mut o = vec![format!("SUBTYPE = {}", type_sql(&r.subtype))];
    if let Some(c) = &r.subtype_opclass {
        o.push(format!("SUBTYPE_OPCLASS = {c}"));
    }
    if let Some(c) = &r.collation {
        o.push(format!("COLLATION = {}", quote_ident(c.as_str())));
    }
    if let Some(f) = &r.canonical {
        o.push(format!("CANONICAL = {f}"));
    }
    if let Some(f) = &r.subtype_diff {
        o.push(format!("SUBTYPE_DIFF = {f}"));
    }
    if let Some(m) = &r.multirange {
        o.push(format!(
            "MULTIRANGE_TYPE_NAME = {}",
            qualified(&QualifiedName::new(name.schema.clone(), m.clone()))
        ));
    }
    format!(
        "CREATE TYPE {} AS RANGE ({})",
        qualified(name),
        o.join(", ")
    )
}

/// `attribute type [COLLATE collation]`, as `CREATE TYPE ... AS (...)` and
/// `ADD ATTRIBUTE` take it.
pub fn attribute_def(a: &Attribute) -> String {
    let mut s = format!("{} {}", quote_ident(a.name.as_str()), type_sql(&a.ty));
    if let Some(c) = &a.collation {
        s.push_str(&format!(" COLLATE {}", quote_ident(c.as_str())));
    }
    s
}

/// `CREATE TYPE name AS (attribute type, ...)`.
pub fn create_composite_type(name: &QualifiedName, t: &CompositeType) -> String {
    let attrs: Vec<String> = t.attributes.iter().map(attribute_def).collect();
    format!("CREATE TYPE {} AS ({})", qualified(name), attrs.join(", "))
}
