//! `owners:`: the role that owns an object, keyed as under `grants:` (a
//! table, view, materialized view or sequence; `schema name`, `type
//! name`, `function name(types)`, `procedure name(types)`). An object the
//! file does not list keeps whatever owner it has.

use super::privilege::{SCHEMA_PREFIX, TYPE_PREFIX, grant_on, routine_key};
use crate::model::{GrantObject, GrantOn, Ident, PUBLIC_ROLE, Schema};
use crate::spec::de::{Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, ident};
use crate::spec::write::{Writer, Y, key, text};

pub(super) fn read(r: &mut Reader, owners: OrderedMap<Located<String>>) {
    for (k, role) in owners.0 {
        let Some(on) = grant_on(r, &k, "an owner for") else {
            continue;
        };
        let Some(owner) = ident(r.diags, &role, "role") else {
            continue;
        };
        if owner.as_str() == PUBLIC_ROLE {
            r.diags.push(
                Diagnostic::new(
                    role.span(),
                    format!("`{}` cannot be owned by public", k.value),
                )
                .help("an object is owned by one role: name it"),
            );
            continue;
        }
        if let GrantOn::Relation(q, GrantObject::Sequence) = &on
            && let Some((table, column)) =
                r.schema.sequences.get(q).and_then(|s| s.owned_by.as_ref())
        {
            r.diags.push(
                Diagnostic::new(
                    k.span(),
                    format!("an owner for sequence `{q}`, which belongs to column `{column}` of `{table}`"),
                )
                .help("PostgreSQL gives such a sequence its table's owner: give the table the owner instead"),
            );
            continue;
        }
        r.schema.owners.insert(on.clone(), owner.clone());
        grants_to_owner(r, &k, &on, &owner, &role);
    }
}

/// Grants to the role the file makes an object's owner are refused where
/// the owner is named: an owner holds every privilege on what it owns,
/// and PostgreSQL lists none of them as grants, so they could never be
/// seen as made. (A plan refuses the same for an owner the file does not
/// state: the live one.)
fn grants_to_owner(
    r: &mut Reader,
    k: &Located<String>,
    on: &GrantOn,
    owner: &Ident,
    role: &Located<String>,
) {
    let granted: Vec<String> = r
        .schema
        .grants
        .iter()
        .filter(|(g, privileges)| {
            !privileges.is_empty()
                && g.grantee == *owner
                && r.schema
                    .stated_owner(&g.on)
                    .is_some_and(|(key, _)| key == on)
        })
        .map(|(g, privileges)| {
            let names: Vec<String> = privileges.keys().map(|p| p.to_lowercase()).collect();
            format!("{} on {}", names.join(", "), g.on)
        })
        .collect();
    if granted.is_empty() {
        return;
    }
    r.diags.push(
        Diagnostic::new(
            role.span(),
            format!(
                "`{}` is owned by `{owner}`, and `grants` gives `{owner}` {}",
                k.value,
                granted.join("; ")
            ),
        )
        .help(format!(
            "an owner holds every privilege on what it owns, and PostgreSQL lists none of them as grants: take `{owner}` out of those grants"
        )),
    );
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    if schema.owners.is_empty() {
        return None;
    }
    let entries = schema
        .owners
        .iter()
        .filter_map(|(on, role)| {
            let name = match on {
                GrantOn::Relation(q, _) => q.to_yaml_key(),
                GrantOn::Schema(s) => format!("{SCHEMA_PREFIX}{s}"),
                GrantOn::Routine(k) => routine_key(schema, k),
                GrantOn::Type(q) => format!("{TYPE_PREFIX}{}", q.to_yaml_key()),
                GrantOn::Column(..) => return None,
            };
            Some((key(&name), text(role.as_str())))
        })
        .collect();
    Some(Y::Block(entries))
}
