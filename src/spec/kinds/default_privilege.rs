//! `default_privileges:`: what the objects a role makes from then on
//! start with (`ALTER DEFAULT PRIVILEGES`), keyed `for role owner` (every
//! schema) or `for role owner in schema name`, each kind of object
//! (`tables`, `sequences`, `functions`, `types`, `schemas`) to `{ role:
//! [privilege, ...] }` as under `grants:`.

use std::collections::BTreeMap;

use super::privilege::{GrantsSpec, add_privileges, listed_role, privilege_list, role_key};
use crate::model::{DefaultGrantKey, DefaultObjects, Ident, PUBLIC_ROLE, Privileges, Schema};
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::error::Diagnostic;
use crate::spec::read::{Reader, err, ident};
use crate::spec::write::{Writer, Y, key};

/// One owner's default privileges (in one schema), by kind of object.
pub type DefaultPrivilegesSpec = OrderedMap<Checked<GrantsSpec>>;

const FOR_ROLE: &str = "for role ";
const IN_SCHEMA: &str = " in schema ";

/// `for role owner [in schema name]`: the owner and the schema, reported
/// (None) when the key is not of that form or the file lacks the schema.
fn owner_and_schema(r: &mut Reader, k: &Located<String>) -> Option<(Ident, Option<Ident>)> {
    let Some(rest) = k.value.strip_prefix(FOR_ROLE) else {
        r.diags.push(
            Diagnostic::new(k.span(), format!("`{}` is not `for role <name>`", k.value))
                .help("key default privileges by the role whose new objects they are for: `for role app_owner`, or `for role app_owner in schema reports`"),
        );
        return None;
    };
    let located = |text: &str| Located {
        value: text.trim().to_string(),
        span: k.span,
    };
    let (owner, schema) = match rest.split_once(IN_SCHEMA) {
        Some((o, s)) => (o, Some(s)),
        None => (rest, None),
    };
    let owner = ident(r.diags, &located(owner), "role")?;
    if owner.as_str() == PUBLIC_ROLE {
        err(
            r.diags,
            k.span(),
            "default privileges for role public: they are for the objects one role makes; name it",
        );
        return None;
    }
    let schema = match schema {
        None => None,
        Some(s) => {
            let s = ident(r.diags, &located(s), "schema")?;
            let known = s.as_str() == crate::model::DEFAULT_SCHEMA
                || r.schema.schemas.contains(&s)
                || r.schema.used_schemas().contains(&s);
            if !known {
                r.diags.push(
                    Diagnostic::new(
                        k.span(),
                        format!(
                            "default privileges in schema `{s}`, which the file does not define"
                        ),
                    )
                    .help("list it in `schemas:`, or put a table in it"),
                );
                return None;
            }
            Some(s)
        }
    };
    Some((owner, schema))
}

pub(super) fn read(r: &mut Reader, all: OrderedMap<Checked<DefaultPrivilegesSpec>>) {
    for (k, v) in all.0 {
        let Some((owner, schema)) = owner_and_schema(r, &k) else {
            continue;
        };
        let Checked::Valid(by_kind) = v else {
            continue;
        };
        for (kind_key, by_role) in by_kind.0 {
            let Some(objects) = DefaultObjects::ALL
                .into_iter()
                .find(|o| o.word() == kind_key.value.trim())
            else {
                let words: Vec<&str> = DefaultObjects::ALL.iter().map(|o| o.word()).collect();
                r.diags.push(
                    Diagnostic::new(
                        kind_key.span(),
                        format!(
                            "`{}` is not a kind of object default privileges are for",
                            kind_key.value
                        ),
                    )
                    .help(format!("one of: {}", words.join(", "))),
                );
                continue;
            };
            if objects == DefaultObjects::Schemas && schema.is_some() {
                err(
                    r.diags,
                    kind_key.span(),
                    "default privileges on schemas in a schema: PostgreSQL has them only for every schema (`for role <name>` alone)",
                );
                continue;
            }
            let Checked::Valid(by_role) = by_role else {
                continue;
            };
            let on = DefaultGrantKey {
                owner: owner.clone(),
                schema: schema.clone(),
                objects,
                grantee: owner.clone(),
            };
            let object = on.to_string();
            for (role_key, privileges) in by_role.0 {
                let what = format!("default privileges on {object}");
                let Some(role) = listed_role(r, &role_key, &what) else {
                    continue;
                };
                let Checked::Valid(privileges) = privileges else {
                    continue;
                };
                let mut set = Privileges::new();
                for p in &privileges {
                    add_privileges(r, &mut set, p, objects.object(), &object, &role);
                }
                let key = DefaultGrantKey {
                    grantee: role,
                    ..on.clone()
                };
                // As on a routine or type: PUBLIC's EXECUTE and USAGE are
                // the default for every schema, `public: []` revokes them.
                let fresh = key.fresh();
                let public_default =
                    matches!(objects, DefaultObjects::Functions | DefaultObjects::Types)
                        && key.grantee.as_str() == PUBLIC_ROLE;
                if public_default && key.schema.is_some() && set.is_empty() {
                    r.diags.push(
                        Diagnostic::new(
                            role_key.span(),
                            format!("`public: []` in default privileges on {object}: those of one schema only add to those for every schema"),
                        )
                        .help(format!("revoke PUBLIC's default under `for role {}`, which covers every schema", key.owner)),
                    );
                    continue;
                }
                if fresh.is_empty() && !set.is_empty() || !fresh.is_empty() && set != fresh {
                    r.schema.default_grants.insert(key, set);
                }
            }
        }
    }
}

pub(super) fn write(schema: &Schema, _: &Writer) -> Option<Y> {
    if schema.default_grants.is_empty() {
        return None;
    }
    type ByRole<'a> = BTreeMap<&'a Ident, Vec<Y>>;
    let mut by_owner: BTreeMap<(&Ident, &Option<Ident>), BTreeMap<DefaultObjects, ByRole>> =
        BTreeMap::new();
    for (g, privileges) in &schema.default_grants {
        by_owner
            .entry((&g.owner, &g.schema))
            .or_default()
            .entry(g.objects)
            .or_default()
            .insert(&g.grantee, privilege_list(g.objects.object(), privileges));
    }
    let out = by_owner
        .into_iter()
        .map(|((owner, schema), kinds)| {
            let mut name = format!("{FOR_ROLE}{owner}");
            if let Some(s) = schema {
                name.push_str(IN_SCHEMA);
                name.push_str(s.as_str());
            }
            let kinds = kinds
                .into_iter()
                .map(|(objects, roles)| {
                    let roles = roles
                        .into_iter()
                        .map(|(grantee, list)| (role_key(grantee), Y::FlowSeq(list)))
                        .collect();
                    (objects.word().to_string(), Y::FlowMap(roles))
                })
                .collect();
            (key(&name), Y::Block(kinds))
        })
        .collect();
    Some(Y::Block(out))
}
