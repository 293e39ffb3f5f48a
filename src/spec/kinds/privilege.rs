//! `roles:` and `grants:`: the roles whose privileges the file states,
//! and the privileges on its tables, views and sequences (and their
//! columns, in the table's list), schemas (`schema name`), types (`type
//! name`), functions and procedures (`function name(types)`), each object
//! to `{ role: [privilege, ...] }` (column entries: `column_privilege.rs`).

use std::collections::BTreeMap;

use super::column_privilege::{column_lists, column_privileges, split_columns};
use crate::model::{
    DEFAULT_SCHEMA, GrantKey, GrantObject, GrantOn, Ident, PUBLIC_ROLE, Privileges, QualifiedName,
    RoutineKey, RoutineKind, Schema,
};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, ident, qname};
use crate::spec::write::{Writer, Y, key, text};

/// Grants on one object: role to its privileges.
pub type GrantsSpec = OrderedMap<Checked<Vec<Located<String>>>>;

pub(super) const GRANT_OPTION: &str = " with grant option";

pub(super) fn read_roles(r: &mut Reader, roles: Option<Vec<Located<String>>>) {
    for l in roles.iter().flatten() {
        if let Some(i) = ident(r.diags, l, "role")
            && !r.schema.roles.insert(i.clone())
        {
            err(r.diags, l.span(), format!("role `{i}` is listed twice"));
        }
    }
}

/// What a `grants:` (or `owners:`) key names: `schema name`, or a table,
/// view or sequence of the file; reported (None) when it is none of them,
/// the message opening with `about` (`grants on`).
pub(super) fn grant_on(r: &mut Reader, k: &Located<String>, about: &str) -> Option<GrantOn> {
    if let Some(on) = routine_or_type(r, k, about) {
        return on;
    }
    if let Some(name) = k.value.strip_prefix(SCHEMA_PREFIX) {
        let l = Located {
            value: name.trim().to_string(),
            span: k.span,
        };
        let s = ident(r.diags, &l, "schema")?;
        if s.as_str() != DEFAULT_SCHEMA
            && !r.schema.schemas.contains(&s)
            && !r.schema.used_schemas().contains(&s)
        {
            r.diags.push(
                Diagnostic::new(
                    k.span(),
                    format!("{about} schema `{s}`, which the file does not define"),
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
        format!("{about} `{object}`, which is not a table, view or sequence of the file"),
    );
    if let Some(m) = crate::spec::error::did_you_mean(&k.value, &refs) {
        d = d.help(format!("did you mean `{m}`?"));
    } else {
        d = d.help("a table, view, materialized view or sequence of the file, or `schema <name>`");
    }
    r.diags.push(d);
    None
}

/// How a `grants:` key names a schema, a type, a function, a procedure.
pub(super) const SCHEMA_PREFIX: &str = "schema ";
pub(super) const TYPE_PREFIX: &str = "type ";
const FUNCTION_PREFIX: &str = "function ";
const PROCEDURE_PREFIX: &str = "procedure ";

/// `function name(arg type, ...)` (`procedure ...`), as `functions:` and
/// `procedures:` write the signature.
pub(super) fn routine_key(schema: &Schema, k: &RoutineKey) -> String {
    match schema.routines.get(k) {
        Some(r) => {
            let prefix = match r.kind {
                RoutineKind::Function => FUNCTION_PREFIX,
                RoutineKind::Procedure => PROCEDURE_PREFIX,
            };
            format!("{prefix}{}({})", k.name.to_yaml_key(), r.arg_list())
        }
        None => format!("{FUNCTION_PREFIX}{k}"),
    }
}

/// The routine or type a `grants:` key names (`function name(types)`,
/// `procedure ...`, `type name`), reported when the file lacks it; None
/// for a key of another form (`Some(None)` after a report).
fn routine_or_type(r: &mut Reader, k: &Located<String>, about: &str) -> Option<Option<GrantOn>> {
    let located = |text: &str| Located {
        value: text.trim().to_string(),
        span: k.span,
    };
    if let Some(name) = k.value.strip_prefix(TYPE_PREFIX) {
        let Some(q) = qname(r.diags, &located(name), "type") else {
            return Some(None);
        };
        if !r.schema.has_type(&q) {
            err(
                r.diags,
                k.span(),
                format!(
                    "{about} type `{q}`, which is not an enum, domain, range or composite type of the file"
                ),
            );
            return Some(None);
        }
        return Some(Some(GrantOn::Type(q)));
    }
    let (kind, sig) = if let Some(s) = k.value.strip_prefix(FUNCTION_PREFIX) {
        (RoutineKind::Function, s)
    } else if let Some(s) = k.value.strip_prefix(PROCEDURE_PREFIX) {
        (RoutineKind::Procedure, s)
    } else {
        return None;
    };
    let key = crate::sql::postgres::split_signature(sig.trim()).and_then(|(name, args)| {
        let name = QualifiedName::parse(name).ok()?;
        let args = crate::sql::postgres::parse_arguments(args).ok()?;
        Some(RoutineKey::of(name, &args))
    });
    match key {
        Some(key) if r.schema.routines.get(&key).is_some_and(|x| x.kind == kind) => {
            Some(Some(GrantOn::Routine(key)))
        }
        _ => {
            r.diags.push(
                Diagnostic::new(
                    k.span(),
                    format!(
                        "{about} {} `{}`, which the file does not define",
                        kind.noun(),
                        sig.trim()
                    ),
                )
                .help(format!(
                    "write its signature as under `{}s:`, `name(arg type, ...)`",
                    kind.noun()
                )),
            );
            Some(None)
        }
    }
}

pub(super) fn write_roles(schema: &Schema, _: &Writer) -> Option<Y> {
    (!schema.roles.is_empty())
        .then(|| Y::FlowSeq(schema.roles.iter().map(|r| text(r.as_str())).collect()))
}

pub(super) fn read_grants(r: &mut Reader, grants: OrderedMap<Checked<GrantsSpec>>) {
    for (k, v) in grants.0 {
        let Some(on) = grant_on(r, &k, "grants on") else {
            continue;
        };
        let Checked::Valid(by_role) = v else {
            continue;
        };
        let object = on.to_string();
        let object = object.as_str();
        for (role_key, privileges) in by_role.0 {
            let Some(role) = listed_role(r, &role_key, &format!("grants on `{object}`")) else {
                continue;
            };
            let Checked::Valid(privileges) = privileges else {
                continue;
            };
            let mut set = Privileges::new();
            let mut by_column: BTreeMap<Ident, Privileges> = BTreeMap::new();
            for p in &privileges {
                if let Some((entry, columns)) = split_columns(p) {
                    column_privileges(r, &on, &entry, columns, &role, &mut by_column);
                    continue;
                }
                add_privileges(r, &mut set, p, on.kind(), &format!("`{object}`"), &role);
            }
            let key = GrantKey {
                on: on.clone(),
                grantee: role.clone(),
            };
            // PUBLIC's EXECUTE on a routine and USAGE on a type are the
            // server's default, stated by saying nothing; `public: []`
            // there revokes them.
            let fresh = key.fresh();
            if fresh.is_empty() && !set.is_empty() || !fresh.is_empty() && set != fresh {
                r.schema.grants.insert(key, set);
            }
            if let Some(table) = on.relation() {
                for (c, privileges) in by_column {
                    let key = GrantKey {
                        on: GrantOn::Column(table.clone(), c),
                        grantee: role.clone(),
                    };
                    r.schema.grants.insert(key, privileges);
                }
            }
        }
    }
}

/// The role `role_key` names, when `roles:` lists it; reported (None)
/// otherwise. `what` says what it is given (`grants on ...`).
pub(super) fn listed_role(r: &mut Reader, role_key: &Located<String>, what: &str) -> Option<Ident> {
    let role = ident(r.diags, role_key, "role")?;
    if !r.schema.roles.contains(&role) {
        r.diags.push(
            Diagnostic::new(
                role_key.span(),
                format!("{what} to role `{role}`, which `roles:` does not list"),
            )
            .help(format!("add `{role}` to `roles:`: bellows states the privileges of the roles listed there (and leaves other roles' alone); the roles themselves are made outside bellows")),
        );
        return None;
    }
    Some(role)
}

/// The privileges entry `p` names (on a `kind` object, `object` as an
/// error names it) into `set`; reported when it names none, when PUBLIC
/// is given a grant option, or when one is listed twice.
pub(super) fn add_privileges(
    r: &mut Reader,
    set: &mut Privileges,
    p: &Located<String>,
    kind: GrantObject,
    object: &str,
    role: &Ident,
) {
    let Some((names, grantable)) = privilege(r, p, kind, object) else {
        return;
    };
    if grantable && role.as_str() == PUBLIC_ROLE {
        r.diags.push(
            Diagnostic::new(p.span(), format!("a grant option on {object} to public"))
                .help("PostgreSQL gives grant options to roles only: drop `with grant option`"),
        );
        return;
    }
    for name in names {
        if set.insert(name.to_string(), grantable).is_some() {
            err(
                r.diags,
                p.span(),
                format!(
                    "privilege `{}` on {object} to `{role}` is listed twice",
                    name.to_lowercase()
                ),
            );
        }
    }
}

/// `select`, `insert with grant option`, `all`: the privileges one entry
/// names, and whether they may be granted on.
pub(super) fn privilege(
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
                        "`{}` is not a privilege on a {} ({object})",
                        l.value.trim(),
                        match on {
                            GrantObject::Column => "table's column".to_string(),
                            _ => on.keyword().to_lowercase(),
                        }
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
    // A table's column privileges are written in its entry, after its own.
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Entry<'a> {
        Relation(&'a QualifiedName),
        Schema(&'a Ident),
        Routine(&'a RoutineKey),
        Type(&'a QualifiedName),
    }
    let mut by_object: BTreeMap<Entry, BTreeMap<&Ident, Vec<Y>>> = BTreeMap::new();
    for (g, privileges) in &schema.grants {
        let (entry, list) = match &g.on {
            GrantOn::Relation(q, k) => (Entry::Relation(q), privilege_list(*k, privileges)),
            GrantOn::Schema(s) => (Entry::Schema(s), privilege_list(g.on.kind(), privileges)),
            GrantOn::Routine(k) => (Entry::Routine(k), privilege_list(g.on.kind(), privileges)),
            GrantOn::Type(q) => (Entry::Type(q), privilege_list(g.on.kind(), privileges)),
            // Written with the table's below.
            GrantOn::Column(q, _) => (Entry::Relation(q), Vec::new()),
        };
        by_object
            .entry(entry)
            .or_default()
            .entry(&g.grantee)
            .or_default()
            .extend(list);
    }
    for (entry, roles) in &mut by_object {
        if let Entry::Relation(q) = entry {
            for (grantee, list) in roles.iter_mut() {
                list.extend(column_lists(schema, q, grantee));
            }
        }
    }
    let out = by_object
        .into_iter()
        .map(|(object, roles)| {
            let roles = roles
                .into_iter()
                .map(|(grantee, list)| (role_key(grantee), Y::FlowSeq(list)))
                .collect();
            let name = match object {
                Entry::Relation(q) => key(&q.to_yaml_key()),
                Entry::Schema(s) => key(&format!("{SCHEMA_PREFIX}{s}")),
                Entry::Routine(k) => key(&routine_key(schema, k)),
                Entry::Type(q) => key(&format!("{TYPE_PREFIX}{}", q.to_yaml_key())),
            };
            (name, Y::FlowMap(roles))
        })
        .collect();
    Some(Y::Block(out))
}

/// A grantee as a YAML key.
pub(super) fn role_key(role: &Ident) -> String {
    if role.as_str() == PUBLIC_ROLE {
        PUBLIC_ROLE.to_string()
    } else {
        key(role.as_str())
    }
}

/// `[all]` when every privilege of the kind (of several) is granted
/// without the grant option, else each in PostgreSQL's order.
pub(super) fn privilege_list(on: GrantObject, privileges: &Privileges) -> Vec<Y> {
    let every = on
        .privileges()
        .iter()
        .all(|p| privileges.get(*p) == Some(&false));
    if every && privileges.len() == on.privileges().len() && privileges.len() > 1 {
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
