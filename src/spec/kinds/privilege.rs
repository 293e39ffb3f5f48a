//! `roles:` and `grants:`: the roles whose privileges the file states,
//! and the privileges on its tables, views, sequences and schemas (`schema
//! name`), each object to `{ role: [privilege, ...] }`.

use std::collections::BTreeMap;

use crate::model::{
    DEFAULT_SCHEMA, GrantKey, GrantObject, GrantOn, Ident, PUBLIC_ROLE, Privileges, Schema,
};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, ident, qname};
use crate::spec::write::{Writer, Y, key, text};

/// Grants on one object: role to its privileges.
pub type GrantsSpec = OrderedMap<Checked<Vec<Located<String>>>>;

const GRANT_OPTION: &str = " with grant option";

pub(super) fn read_roles(r: &mut Reader, roles: Option<Vec<Located<String>>>) {
    for l in roles.iter().flatten() {
        if let Some(i) = ident(r.diags, l, "role")
            && !r.schema.roles.insert(i.clone())
        {
            err(r.diags, l.span(), format!("role `{i}` is listed twice"));
        }
    }
}

/// What a `grants:` key names: `schema name`, or a table, view or
/// sequence of the file; reported (None) when it is none of them.
fn grant_on(r: &mut Reader, k: &Located<String>) -> Option<GrantOn> {
    if let Some(name) = k.value.strip_prefix(SCHEMA_PREFIX) {
        let l = Located {
            value: name.trim().to_string(),
            span: k.span,
        };
        let s = ident(r.diags, &l, "schema")?;
        if s.as_str() == DEFAULT_SCHEMA {
            r.diags.push(
                Diagnostic::new(k.span(), "grants on schema `public`, whose privileges are the server's".to_string())
                    .help("bellows states privileges on the schemas it makes; leave `public`'s to the server (or set them by hand)"),
            );
            return None;
        }
        if !r.schema.schemas.contains(&s) && !r.schema.used_schemas().contains(&s) {
            r.diags.push(
                Diagnostic::new(
                    k.span(),
                    format!("grants on schema `{s}`, which the file does not define"),
                )
                .help("list it in `schemas:`, or put a table in it"),
            );
            return None;
        }
        return Some(GrantOn::Schema(s));
    }
    let object = qname(r.diags, k, "object")?;
    if r.schema.tables.contains_key(&object) || r.schema.views.contains_key(&object) {
        return Some(GrantOn::Relation(object, GrantObject::Table));
    }
    if r.schema.sequences.contains_key(&object) {
        return Some(GrantOn::Relation(object, GrantObject::Sequence));
    }
    let known: Vec<String> = r
        .schema
        .tables
        .keys()
        .chain(r.schema.views.keys())
        .chain(r.schema.sequences.keys())
        .map(|q| q.to_yaml_key())
        .chain(
            r.schema
                .schemas
                .iter()
                .map(|s| format!("{SCHEMA_PREFIX}{s}")),
        )
        .collect();
    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut d = Diagnostic::new(
        k.span(),
        format!("grants on `{object}`, which is not a table, view or sequence of the file"),
    );
    if let Some(m) = crate::spec::error::did_you_mean(&k.value, &refs) {
        d = d.help(format!("did you mean `{m}`?"));
    } else {
        d = d.help("a table, view, materialized view or sequence of the file, or `schema <name>`");
    }
    r.diags.push(d);
    None
}

/// How a `grants:` key names a schema.
const SCHEMA_PREFIX: &str = "schema ";

pub(super) fn write_roles(schema: &Schema, _: &Writer) -> Option<Y> {
    (!schema.roles.is_empty())
        .then(|| Y::FlowSeq(schema.roles.iter().map(|r| text(r.as_str())).collect()))
}

pub(super) fn read_grants(r: &mut Reader, grants: OrderedMap<Checked<GrantsSpec>>) {
    for (k, v) in grants.0 {
        let Some(on) = grant_on(r, &k) else {
            continue;
        };
        let Checked::Valid(by_role) = v else {
            continue;
        };
        let object = on.to_string();
        let object = object.as_str();
        for (role_key, privileges) in by_role.0 {
            let Some(role) = ident(r.diags, &role_key, "role") else {
                continue;
            };
            if !r.schema.roles.contains(&role) {
                r.diags.push(
                    Diagnostic::new(
                        role_key.span(),
                        format!("grants on `{object}` to role `{role}`, which `roles:` does not list"),
                    )
                    .help(format!("add `{role}` to `roles:`: bellows states the privileges of the roles listed there (and leaves other roles' alone); the roles themselves are made outside bellows")),
                );
                continue;
            }
            let Checked::Valid(privileges) = privileges else {
                continue;
            };
            let mut set = Privileges::new();
            for p in &privileges {
                let Some((names, grantable)) = privilege(r, p, on.kind(), object) else {
                    continue;
                };
                for name in names {
                    if set.insert(name.to_string(), grantable).is_some() {
                        err(
                            r.diags,
                            p.span(),
                            format!(
                                "privilege `{}` on `{object}` to `{role}` is listed twice",
                                name.to_lowercase()
                            ),
                        );
                    }
                }
            }
            if !set.is_empty() {
                let key = GrantKey {
                    on: on.clone(),
                    grantee: role.clone(),
                };
                r.schema.grants.insert(key, set);
            }
        }
    }
}

/// `select`, `insert with grant option`, `all`: the privileges one entry
/// names, and whether they may be granted on.
fn privilege(
    r: &mut Reader,
    l: &Located<String>,
    on: GrantObject,
    object: &str,
) -> Option<(Vec<&'static str>, bool)> {
    let text = l.value.trim().to_lowercase();
    let (name, grantable) = match text.strip_suffix(GRANT_OPTION) {
        Some(n) => (n.trim().to_string(), true),
        None => (text, false),
    };
    let all = on.privileges();
    if name == "all" {
        return Some((all.to_vec(), grantable));
    }
    match all.iter().find(|p| p.eq_ignore_ascii_case(&name)) {
        Some(p) => Some((vec![*p], grantable)),
        None => {
            let names: Vec<String> = all.iter().map(|p| p.to_lowercase()).collect();
            r.diags.push(
                Diagnostic::new(
                    l.span(),
                    format!(
                        "`{}` is not a privilege on a {} (`{object}`)",
                        l.value.trim(),
                        on.keyword().to_lowercase()
                    ),
                )
                .help(format!(
                    "one of: {}, or all; `with grant option` after one lets the role grant it on",
                    names.join(", ")
                )),
            );
            None
        }
    }
}

pub(super) fn write_grants(schema: &Schema, _: &Writer) -> Option<Y> {
    if schema.grants.is_empty() {
        return None;
    }
    let mut by_object: BTreeMap<&GrantOn, Vec<(&GrantKey, &Privileges)>> = BTreeMap::new();
    for (g, p) in &schema.grants {
        by_object.entry(&g.on).or_default().push((g, p));
    }
    let out = by_object
        .into_iter()
        .map(|(object, roles)| {
            let roles = roles
                .into_iter()
                .map(|(g, privileges)| {
                    (
                        role_key(&g.grantee),
                        Y::FlowSeq(privilege_list(g.on.kind(), privileges)),
                    )
                })
                .collect();
            let name = match object {
                GrantOn::Relation(q, _) => key(&q.to_yaml_key()),
                GrantOn::Schema(s) => key(&format!("{SCHEMA_PREFIX}{s}")),
            };
            (name, Y::FlowMap(roles))
        })
        .collect();
    Some(Y::Block(out))
}

/// A grantee as a YAML key.
fn role_key(role: &Ident) -> String {
    if role.as_str() == PUBLIC_ROLE {
        PUBLIC_ROLE.to_string()
    } else {
        key(role.as_str())
    }
}

/// `[all]` when every privilege of the kind is granted without the
/// grant option, else each in PostgreSQL's order.
fn privilege_list(on: GrantObject, privileges: &Privileges) -> Vec<Y> {
    let every = on
        .privileges()
        .iter()
        .all(|p| privileges.get(*p) == Some(&false));
    if every && privileges.len() == on.privileges().len() {
        return vec![text("all")];
    }
    on.privileges()
        .iter()
        .filter_map(|p| {
            let grantable = privileges.get(*p)?;
            let name = p.to_lowercase();
            Some(text(&if *grantable {
                format!("{name}{GRANT_OPTION}")
            } else {
                name
            }))
        })
        .collect()
}
