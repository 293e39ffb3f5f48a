//! Owners the target states (`ALTER ... OWNER TO`). An object the target
//! does not list keeps its owner, also when the plan makes it again (a
//! function or view made again gets its owner back from what the catalog
//! said of it; an enum rebuilt, a table made anew or built beside, here).
//! A new owner of an object that stays is given in contract: the old one
//! loses what owning gave it (its implicit privileges), which the old app
//! may still need. One of an object the plan makes is given right after
//! the making, before any app uses it. `OWNER TO` hands the old owner's
//! privileges to the new owner: what the target grants the old owner is
//! granted in the change's step, after it (`Planner::owner_change`).

use std::collections::{BTreeMap, BTreeSet};

use super::kind::{Kind, objects};
use super::privilege::{Change, made_again, on_owned};
use super::*;
use crate::sql::postgres::{grant_sql, owner_sql};

pub(super) struct Owners;

impl Kind for Owners {
    objects!(in schema.owners: BTreeMap<GrantOn, Ident>);

    fn same(_: &Planner<'_>, _: (), a: &Ident, b: &Ident) -> bool {
        a == b
    }

    /// The live schema does not state it: the object is the planning
    /// role's (or under its old name, another's), or not there yet.
    fn added<'a>(p: &mut Planner<'a>, _: (), on: &'a GrantOn, role: &'a Ident) {
        let live = match on {
            GrantOn::Relation(q, k) => p
                .renamed_from_live(q)
                .and_then(|from| p.cur.owners.get(&GrantOn::Relation(from.clone(), *k))),
            _ => None,
        }
        .or(p.current_user);
        p.owner_to(on, live, role);
    }

    /// The target leaves it: the owner stays.
    fn removed<'a>(_: &mut Planner<'a>, _: (), _: &'a GrantOn, _: &'a Ident) {}

    fn altered<'a>(p: &mut Planner<'a>, _: (), on: &'a GrantOn, old: &'a Ident, new: &'a Ident) {
        p.owner_to(on, Some(old), new);
    }

    /// An object the plan makes again under its name, whose owner does
    /// not change, gets it back; and each owner must be a role the server
    /// has, that the planning role may give objects to.
    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        let (cur, tgt) = (p.cur, p.tgt);
        let kept: Vec<(&GrantOn, &Ident)> = cur
            .owners
            .iter()
            .filter(|(on, role)| {
                tgt.owners.get(*on).is_none_or(|r| r == *role) && p.object_stays(&key(on))
            })
            .collect();
        for (on, role) in kept {
            // Views and routines made again are given theirs with the
            // making; a table built beside, when it is made.
            let by_facts = matches!(on, GrantOn::Routine(_))
                || on
                    .relation()
                    .is_some_and(|q| tgt.views.contains_key(q) && !p.made_anew(q));
            if !by_facts && p.owned_object_made(on) {
                p.owner_to(on, None, role);
            }
        }
        let mut missing = BTreeSet::new();
        let mut not_member = BTreeSet::new();
        for role in tgt.owners.values() {
            if p.server_roles.is_some_and(|known| !known.contains(role)) {
                missing.insert(role.as_str());
            } else if p.member_of.is_some_and(|m| !m.contains(role)) {
                not_member.insert(role.as_str());
            }
        }
        let refuse = |p: &mut Planner<'_>, roles: BTreeSet<&str>, why: &str, hint: &str| {
            if roles.is_empty() {
                return;
            }
            let list = roles.into_iter().collect::<Vec<_>>().join(", ");
            p.error(PlanError::Unsupported {
                object: list.clone(),
                what: format!("giving objects to owner(s) {list}{why}"),
                hint: hint.into(),
            });
        };
        refuse(
            p,
            missing,
            ", which the server does not have",
            "create the roles first (bellows does not manage roles), or take them out of `owners:`",
        );
        refuse(
            p,
            not_member,
            ", of which the role planning is not a member",
            "PostgreSQL lets a role give an object only to a role it is a member of: plan and apply as a member of each (or a superuser), or grant membership first",
        );
    }
}

impl Planner<'_> {
    /// `on` comes to be owned by `role`, from `live` (None: unknown, or
    /// the object is made by this plan).
    fn owner_to(&mut self, on: &GrantOn, live: Option<&Ident>, role: &Ident) {
        let made = self.owned_object_made(on);
        if made && self.current_user == Some(role) || !made && live == Some(role) {
            return;
        }
        let (r, made_in) = self.grant_object(&key(on));
        let sql = owner_sql(self.tgt, on, role);
        let id = on.to_string();
        let what = format!("make {role} the owner of {on}");
        let locks = matches!(on, GrantOn::Relation(..));
        let mut step = if made {
            new_step(ObjectKind::Owner, id, Action::Alter, made_in, what)
                .sql(sql)
                .requires_all(r)
                .undo_nothing()
        } else {
            let mut step = new_step(ObjectKind::Owner, id, Action::Alter, Phase::Contract, what)
                .sql(sql)
                .requires_all(r);
            // What the target grants the old owner there: the change
            // handed its privileges to the new owner.
            let regrants = live
                .map(|old| self.grants_back_to(on, old))
                .unwrap_or_default();
            if let (Some(old), false) = (live, regrants.is_empty()) {
                step.description = format!(
                    "{}, and grant {old} what the target gives it there (the change hands an old owner's privileges to the new one)",
                    step.description
                );
                step.statements.extend(regrants);
            }
            if let Some(old) = live {
                step = step.hazard(
                    HazardKind::OldAppVisible,
                    format!("{old} no longer owns {on}: it loses what owning gave it (its privileges there, ALTER, DROP) unless granted"),
                );
            }
            step
        };
        if locks {
            step = step.lock(LockLevel::AccessExclusive, Cost::Metadata);
        }
        self.push(step);
    }

    /// The GRANTs that give `old`, the live owner of `on`, what the
    /// target grants it on that object (and its columns).
    fn grants_back_to(&self, on: &GrantOn, old: &Ident) -> Vec<String> {
        let mut sql = Vec::new();
        for (g, privileges) in &self.tgt.grants {
            if !on_owned(on, &g.on) || &g.grantee != old {
                continue;
            }
            let c = Change::between(g.on.kind(), &g.fresh(), privileges);
            if !c.plain.is_empty() {
                sql.push(grant_sql(g, &c.plain, false));
            }
            if !c.with_option.is_empty() {
                sql.push(grant_sql(g, &c.with_option, true));
            }
        }
        sql
    }

    /// Whether this plan makes the object `on` (anew, or again under its
    /// name), so that the planning role owns it after. (A table built
    /// beside is given its owner when it is made.)
    pub(super) fn owned_object_made(&self, on: &GrantOn) -> bool {
        self.grant_object_made(&key(on))
            || made_again(on).is_some_and(|r| !self.makers_of(&r).is_empty())
    }
}

/// `on` as the privilege rules key their objects (the grantee aside).
fn key(on: &GrantOn) -> GrantKey {
    GrantKey {
        on: on.clone(),
        grantee: Ident::new(PUBLIC_ROLE).expect("a valid name"),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{outline_of, plans_to, schema};

    const T: &str = "tables:\n  t:\n    columns:\n      id: { type: bigint }\n";

    #[test]
    fn a_new_owner_of_an_object_that_stays_is_given_in_contract() {
        plans_to(
            &format!("{T}owners:\n  t: owner_a\n"),
            &format!("{T}owners:\n  t: owner_b\n"),
            "
            contract: make owner_b the owner of public.t
                ALTER TABLE public.t OWNER TO owner_b
            ",
        );
    }

    /// `ALTER ... OWNER` hands the old owner's privileges to the new
    /// one: a grant to the new owner is not revoked (it is the owner's
    /// then), and what the target grants the old owner is granted in
    /// the owner change's step, after it (a grant in expand would be
    /// handed over too).
    #[test]
    fn an_owner_change_grants_the_old_owner_after_it_and_revokes_nothing_from_the_new() {
        let roles = "roles: [owner_a, owner_b]\n";
        plans_to(
            &format!("{T}owners:\n  t: owner_a\n{roles}grants:\n  t: {{ owner_b: [select] }}\n"),
            &format!("{T}owners:\n  t: owner_b\n{roles}grants:\n  t: {{ owner_a: [select, \"update (id)\"] }}\n"),
            "
            contract: make owner_b the owner of public.t, and grant owner_a what the target gives it there (the change hands an old owner's privileges to the new one)
                ALTER TABLE public.t OWNER TO owner_b
                GRANT SELECT ON TABLE public.t TO owner_a
                GRANT UPDATE (id) ON TABLE public.t TO owner_a
            ",
        );
    }

    #[test]
    fn an_object_the_plan_makes_is_given_its_owner_right_after() {
        plans_to(
            "",
            &format!("{T}owners:\n  t: owner_b\n"),
            "
            expand: create table public.t
                CREATE TABLE public.t (id bigint)
            expand: make owner_b the owner of public.t
                ALTER TABLE public.t OWNER TO owner_b
            ",
        );
        let plan = outline_of(
            "",
            "functions:\n  f():\n    returns: integer\n    language: sql\n    body: SELECT 1\nowners:\n  function f(): owner_b\n",
        );
        let made = plan.find("expand: create function public.f()");
        let owned = plan.find("expand: make owner_b the owner of routine public.f()\n    ALTER FUNCTION public.f() OWNER TO owner_b");
        assert!(made.is_some() && owned.is_some() && made < owned, "{plan}");
    }

    #[test]
    fn an_owner_the_server_lacks_or_the_planner_cannot_give_to_is_refused() {
        use crate::model::Ident;
        use crate::plan::{PlanOptions, plan};
        let roles = |r: &[&str]| Some(r.iter().map(|r| Ident::new(*r).expect("a name")).collect());
        let (from, to) = (schema(T), schema(&format!("{T}owners:\n  t: owner_b\n")));
        let refusal = |opts: &PlanOptions| match plan(&from, &to, opts) {
            Ok(p) => panic!("planned: {:?}", p.steps),
            Err(e) => e.to_string(),
        };
        let lacking = PlanOptions {
            server_roles: roles(&["owner_a"]),
            member_of: roles(&["owner_a"]),
            ..PlanOptions::default()
        };
        assert!(
            refusal(&lacking)
                .contains("giving objects to owner(s) owner_b, which the server does not have"),
            "{}",
            refusal(&lacking)
        );
        let not_member = PlanOptions {
            server_roles: roles(&["owner_a", "owner_b"]),
            member_of: roles(&["owner_a"]),
            ..PlanOptions::default()
        };
        assert!(
            refusal(&not_member).contains("owner_b, of which the role planning is not a member"),
            "{}",
            refusal(&not_member)
        );
        let member = PlanOptions {
            member_of: roles(&["owner_b"]),
            ..not_member
        };
        assert!(plan(&from, &to, &member).is_ok());
    }

    #[test]
    fn an_owner_the_target_does_not_state_stays_and_follows_a_rebuild() {
        assert_eq!(outline_of(&format!("{T}owners:\n  t: owner_a\n"), T), "");
        let mood = |values: &str, owners: &str| format!("enums:\n  mood: [{values}]\n{owners}");
        for owners in ["owners:\n  type mood: owner_a\n", ""] {
            let plan = outline_of(
                &mood("a, b", "owners:\n  type mood: owner_a\n"),
                &mood("b, a", owners),
            );
            assert!(
                plan.trim_end().ends_with(
                    "contract: make owner_a the owner of type public.mood\n    ALTER TYPE public.mood OWNER TO owner_a"
                ),
                "{plan}"
            );
        }
    }
}
