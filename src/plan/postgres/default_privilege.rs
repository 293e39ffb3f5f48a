//! Default privileges (`ALTER DEFAULT PRIVILEGES`), for the roles the
//! target names: a catalog change that touches no existing object nor
//! lock, made in expand (granted or revoked), each undone by its inverse.
//! Those of a schema that goes go with it.
//!
//! They reach the objects this plan makes too, made by whichever role
//! applies it: so an object the plan makes, of a kind some default
//! privileges (live or target, of any owner) give a role the target names,
//! has that role's privileges taken back and set to the target's right
//! after it is made. The plan states the result whoever runs it.

use std::collections::{BTreeMap, BTreeSet};

use super::kind::{Kind, objects};
use super::privilege::{Change, lower};
use super::*;
use crate::sql::postgres::{default_grant_sql, default_revoke_sql, grant_sql, revoke_sql};

pub(super) struct DefaultGrants;

impl Kind for DefaultGrants {
    objects!(in schema.default_grants: BTreeMap<DefaultGrantKey, Privileges>);

    fn same(_: &Planner<'_>, _: (), a: &Privileges, b: &Privileges) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), k: &'a DefaultGrantKey, new: &'a Privileges) {
        p.change_default_grants(k, &k.fresh(), new);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), k: &'a DefaultGrantKey, old: &'a Privileges) {
        let schema_goes = k.schema.as_ref().is_some_and(|s| {
            s.as_str() != DEFAULT_SCHEMA
                && !p.tgt.schemas.contains(s)
                && !p.tgt.used_schemas().contains(s)
        });
        if !p.tgt.roles.contains(&k.grantee) || schema_goes {
            return;
        }
        p.change_default_grants(k, old, &k.fresh());
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        k: &'a DefaultGrantKey,
        old: &'a Privileges,
        new: &'a Privileges,
    ) {
        p.change_default_grants(k, old, new);
    }
}

impl Planner<'_> {
    /// Default privileges from `old` to `new`: one step in expand, after
    /// the schema they are in is made.
    fn change_default_grants(&mut self, k: &DefaultGrantKey, old: &Privileges, new: &Privileges) {
        let Change {
            plain,
            with_option,
            revoked,
            option_revoked,
        } = Change::between(k.objects.object(), old, new);
        let mut sql = Vec::new();
        let mut undo = Vec::new();
        let mut said = Vec::new();
        if !plain.is_empty() {
            sql.push(default_grant_sql(k, &plain, false));
            undo.push(default_revoke_sql(k, &plain, false));
            said.push(format!("grant {}", lower(&plain)));
        }
        if !with_option.is_empty() {
            sql.push(default_grant_sql(k, &with_option, true));
            let (had, fresh): (Vec<&str>, Vec<&str>) =
                with_option.iter().partition(|p| old.contains_key(**p));
            if !had.is_empty() {
                undo.push(default_revoke_sql(k, &had, true));
            }
            if !fresh.is_empty() {
                undo.push(default_revoke_sql(k, &fresh, false));
            }
            said.push(format!("grant {} with grant option", lower(&with_option)));
        }
        if !revoked.is_empty() {
            sql.push(default_revoke_sql(k, &revoked, false));
            let (had_option, bare): (Vec<&str>, Vec<&str>) =
                revoked.iter().partition(|p| old.get(**p) == Some(&true));
            if !bare.is_empty() {
                undo.push(default_grant_sql(k, &bare, false));
            }
            if !had_option.is_empty() {
                undo.push(default_grant_sql(k, &had_option, true));
            }
            said.push(format!("revoke {}", lower(&revoked)));
        }
        if !option_revoked.is_empty() {
            sql.push(default_revoke_sql(k, &option_revoked, true));
            undo.push(default_grant_sql(k, &option_revoked, true));
            said.push(format!(
                "revoke the grant option for {}",
                lower(&option_revoked)
            ));
        }
        if sql.is_empty() {
            return;
        }
        if self.member_of.is_some_and(|m| !m.contains(&k.owner)) {
            self.error(PlanError::Unsupported {
                object: k.owner.to_string(),
                what: format!(
                    "changing the default privileges of {} on {k}: the role bellows connects as is not a member of {}, so ALTER DEFAULT PRIVILEGES FOR ROLE {} would fail",
                    k.grantee, k.owner, k.owner
                ),
                hint: format!("connect as {} (or a role it is granted to, or a superuser)", k.owner),
            });
            return;
        }
        let id = format!("default privileges on {}:{}", k, k.grantee);
        let what = format!(
            "default privileges of {} on {k}: {}",
            k.grantee,
            said.join("; ")
        );
        let widened =
            k.grantee.as_str() == PUBLIC_ROLE && !(plain.is_empty() && with_option.is_empty());
        let mut step = new_step(
            ObjectKind::Grant,
            id.clone(),
            Action::Alter,
            Phase::Expand,
            what,
        )
        .sql_all(sql)
        .requires_all(k.schema.clone().map(Resource::Schema))
        .undo_with(vec![
            undo_step(
                ObjectKind::Grant,
                id,
                format!("put back the default privileges on {k} for {}", k.grantee),
            )
            .sql_all(undo.into_iter().rev()),
        ]);
        if widened {
            let mut given = plain.clone();
            given.extend(&with_option);
            step = step.hazard(
                HazardKind::AccessWidened,
                format!("every role gains {} on the {k} from then on", lower(&given)),
            );
        }
        self.push(step);
    }

    /// The roles the target names that some default privileges (live or
    /// target, of any owner) give privileges on a new object like the
    /// one `on` names. Empty for a column, and when there are none.
    pub(super) fn reached_by_defaults(&self, on: &GrantOn) -> BTreeSet<&Ident> {
        let (objects, schema) = match on {
            GrantOn::Relation(q, GrantObject::Sequence) => {
                (DefaultObjects::Sequences, Some(&q.schema))
            }
            GrantOn::Relation(q, _) => (DefaultObjects::Tables, Some(&q.schema)),
            GrantOn::Routine(k) => (DefaultObjects::Functions, Some(&k.name.schema)),
            GrantOn::Type(q) => (DefaultObjects::Types, Some(&q.schema)),
            GrantOn::Schema(_) => (DefaultObjects::Schemas, None),
            GrantOn::Column(..) => return BTreeSet::new(),
        };
        self.cur
            .default_grants
            .keys()
            .chain(self.tgt.default_grants.keys())
            .filter(|k| {
                k.objects == objects
                    && (k.schema.is_none() || k.schema.as_ref() == schema)
                    && self.tgt.roles.contains(&k.grantee)
            })
            .map(|k| &k.grantee)
            .collect()
    }

    /// For a view made again inside another step (around a column's
    /// change), which then gets back the grants it had: REVOKE ALL from
    /// each role the target names that default privileges may have given
    /// something on it. None when there are no default privileges.
    pub(super) fn take_back_defaults(&self, view: &QualifiedName) -> Vec<String> {
        if self.cur.default_grants.is_empty() && self.tgt.default_grants.is_empty() {
            return Vec::new();
        }
        let on = GrantOn::Relation(view.clone(), GrantObject::Table);
        let all = on.kind().privileges();
        self.reached_by_defaults(&on)
            .into_iter()
            .map(|grantee| {
                let g = GrantKey {
                    on: on.clone(),
                    grantee: grantee.clone(),
                };
                revoke_sql(&g, all, false)
            })
            .collect()
    }

    /// Whether grant `g` is on an object this plan makes whose grantee
    /// default privileges may reach: set by [`Self::reset_made_objects`].
    pub(super) fn reset_by_defaults(&self, g: &GrantKey) -> bool {
        (!self.cur.default_grants.is_empty() || !self.tgt.default_grants.is_empty())
            && self.grant_object_made(g)
            && self.reached_by_defaults(&g.on).contains(&g.grantee)
    }

    /// For each object this plan makes and each role default privileges
    /// may have given something on it: everything taken back from the
    /// role, then the target's privileges granted, in one step right after
    /// the making.
    pub(super) fn reset_made_objects(&mut self) {
        if self.cur.default_grants.is_empty() && self.tgt.default_grants.is_empty() {
            return;
        }
        let tgt = self.tgt;
        let objects = tgt
            .tables
            .keys()
            .chain(tgt.views.keys())
            .map(|q| GrantOn::Relation(q.clone(), GrantObject::Table))
            .chain(
                tgt.sequences
                    .keys()
                    .map(|q| GrantOn::Relation(q.clone(), GrantObject::Sequence)),
            )
            .chain(tgt.schemas.iter().cloned().map(GrantOn::Schema))
            .chain(tgt.routines.keys().cloned().map(GrantOn::Routine))
            .chain(
                tgt.enums
                    .keys()
                    .chain(tgt.domains.keys())
                    .chain(tgt.range_types.keys())
                    .chain(tgt.composite_types.keys())
                    .cloned()
                    .map(GrantOn::Type),
            );
        let mut keys = Vec::new();
        for on in objects {
            for grantee in self.reached_by_defaults(&on) {
                let g = GrantKey {
                    on: on.clone(),
                    grantee: grantee.clone(),
                };
                if self.grant_object_made(&g) {
                    keys.push(g);
                }
            }
        }
        for g in keys {
            let new = tgt.grants.get(&g).cloned().unwrap_or_else(|| g.fresh());
            let Change {
                plain, with_option, ..
            } = Change::between(g.on.kind(), &Privileges::new(), &new);
            let all = g.on.kind().privileges();
            let mut sql = vec![revoke_sql(&g, all, false)];
            let mut said = String::new();
            if !plain.is_empty() {
                sql.push(grant_sql(&g, &plain, false));
                said = format!(", then grant {}", lower(&plain));
            }
            if !with_option.is_empty() {
                sql.push(grant_sql(&g, &with_option, true));
                said.push_str(&format!(
                    "{} {} with grant option",
                    if plain.is_empty() {
                        ", then grant"
                    } else {
                        ";"
                    },
                    lower(&with_option)
                ));
            }
            let (r, phase) = self.grant_object(&g);
            let id = format!("{}:{}", g.on, g.grantee);
            let what = format!(
                "take back what default privileges gave {} on {}{said}",
                g.grantee, g.on
            );
            let mut step = new_step(ObjectKind::Grant, id.clone(), Action::Create, phase, what)
                .sql_all(sql)
                .requires_all(r);
            if phase != Phase::Contract {
                step = step.undo_with(vec![
                    undo_step(
                        ObjectKind::Grant,
                        id,
                        format!("take back what was granted on {} to {}", g.on, g.grantee),
                    )
                    .sql(revoke_sql(&g, all, false)),
                ]);
            }
            self.push(step);
        }
    }
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::plans_to;

    #[test]
    fn default_privileges_change_in_expand_each_undone_by_its_inverse() {
        let f =
            |d: &str| format!("roles: [reader, public]\nschemas: [app]\ndefault_privileges:\n{d}");
        plans_to(
            &f("  for role owner:\n    tables: { reader: [select, update] }\n"),
            &f(
                "  for role owner:\n    tables: { reader: [select, insert with grant option] }\n    functions: { public: [] }\n  for role owner in schema app:\n    sequences: { reader: [usage] }\n",
            ),
            "
            expand: default privileges of public on functions made by owner: revoke execute
                ALTER DEFAULT PRIVILEGES FOR ROLE owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC
            expand: default privileges of reader on sequences made by owner in schema app: grant usage
                ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA app GRANT USAGE ON SEQUENCES TO reader
            expand: default privileges of reader on tables made by owner: grant insert with grant option; revoke update
                ALTER DEFAULT PRIVILEGES FOR ROLE owner GRANT INSERT ON TABLES TO reader WITH GRANT OPTION
                ALTER DEFAULT PRIVILEGES FOR ROLE owner REVOKE UPDATE ON TABLES FROM reader
            ",
        );
    }

    #[test]
    fn default_privileges_of_a_role_the_planner_is_not_a_member_of_are_refused() {
        let to = crate::testing::schema(
            "roles: [reader]\ndefault_privileges:\n  for role owner:\n    tables: { reader: [select] }\n",
        );
        let opts = crate::plan::PlanOptions {
            member_of: Some([crate::model::Ident::new("app").expect("a name")].into()),
            ..Default::default()
        };
        let e = crate::plan::plan(&crate::model::Schema::default(), &to, &opts)
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("is not a member of owner") && e.contains("connect as owner"),
            "{e}"
        );
        let opts = crate::plan::PlanOptions {
            member_of: Some([crate::model::Ident::new("owner").expect("a name")].into()),
            ..Default::default()
        };
        assert!(crate::plan::plan(&crate::model::Schema::default(), &to, &opts).is_ok());
    }

    #[test]
    fn an_object_the_plan_makes_gets_the_targets_privileges_whatever_the_defaults_gave() {
        let f = |objects: &str| {
            format!(
                "roles: [reader, public]\ndefault_privileges:\n  for role owner:\n    tables: {{ reader: [select] }}\n    functions: {{ public: [] }}\n{objects}"
            )
        };
        plans_to(
            &f(""),
            &f(
                "tables:\n  t: { columns: { id: { type: bigint } } }\n  u: { columns: { id: { type: bigint } } }\nfunctions:\n  f(): { returns: integer, language: sql, body: SELECT 1 }\ngrants:\n  t: { reader: [select, insert] }\n",
            ),
            "
            expand: create function public.f()
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                CREATE FUNCTION public.f()
             RETURNS integer
             LANGUAGE sql
            AS $body$SELECT 1$body$
            expand: create table public.t
                CREATE TABLE public.t (id bigint)
            expand: create table public.u
                CREATE TABLE public.u (id bigint)
            expand: take back what default privileges gave reader on public.t, then grant select, insert
                REVOKE SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE public.t FROM reader
                GRANT SELECT, INSERT ON TABLE public.t TO reader
            expand: take back what default privileges gave reader on public.u
                REVOKE SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE public.u FROM reader
            expand: take back what default privileges gave public on routine public.f(), then grant execute
                REVOKE EXECUTE ON ROUTINE public.f() FROM PUBLIC
                GRANT EXECUTE ON ROUTINE public.f() TO PUBLIC
            ",
        );
    }
}
