//! Privileges on relations, their columns, schemas, routines and types,
//! for the roles the target names. A grant is a catalog change that locks
//! no table: made in expand (in the phase its object is made, for one
//! made again later: a view, a column swapped for its retyped shadow, a
//! function dropped and made, an enum rebuilt), revoked in contract (the
//! old app may still need it). A grant to a role the target does not
//! name is left alone, and one on an object that goes (or is renamed:
//! grants follow a rename) goes with it.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::{grant_sql, revoke_sql};

pub(super) struct Grants;

impl Kind for Grants {
    objects!(in schema.grants: BTreeMap<GrantKey, Privileges>);

    fn same(_: &Planner<'_>, _: (), a: &Privileges, b: &Privileges) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), g: &'a GrantKey, new: &'a Privileges) {
        // Under the name the object is renamed from, the live grants: they
        // followed the rename.
        let live = match &g.on {
            GrantOn::Relation(q, k) => p.renamed_from_live(q).and_then(|from| {
                p.cur.grants.get(&GrantKey {
                    on: GrantOn::Relation(from.clone(), *k),
                    grantee: g.grantee.clone(),
                })
            }),
            GrantOn::Column(q, c) => p.renamed_from_live(q).and_then(|from| {
                p.cur.grants.get(&GrantKey {
                    on: GrantOn::Column(from.clone(), c.clone()),
                    grantee: g.grantee.clone(),
                })
            }),
            GrantOn::Schema(_) | GrantOn::Routine(_) | GrantOn::Type(_) => None,
        }
        .cloned()
        .unwrap_or_else(|| g.fresh());
        p.change_grants(g, &live, new);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), g: &'a GrantKey, old: &'a Privileges) {
        if !p.tgt.roles.contains(&g.grantee) || !p.object_stays(g) {
            return;
        }
        p.change_grants(g, old, &g.fresh());
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        g: &'a GrantKey,
        old: &'a Privileges,
        new: &'a Privileges,
    ) {
        p.change_grants(g, old, new);
    }

    /// An object made anew under a live one's name (a view in place of
    /// a table, a materialized view in place of a view) starts with no
    /// grant, even where the lists compare equal: they are made again. And
    /// a role the target names must exist on the server the plan is for:
    /// GRANT to another would fail halfway.
    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        let (cur, tgt) = (p.cur, p.tgt);
        for (g, privileges) in &tgt.grants {
            let anew = g.on.relation().is_some_and(|q| p.made_anew(q))
                || p.column_swapped(g)
                || made_again(&g.on).is_some_and(|r| !p.makers_of(&r).is_empty());
            if cur.grants.get(g) == Some(privileges) && anew {
                p.change_grants(g, &g.fresh(), privileges);
            }
        }
        let Some(known) = p.server_roles else {
            return;
        };
        let missing: Vec<&str> = p
            .tgt
            .roles
            .iter()
            .filter(|r| r.as_str() != PUBLIC_ROLE && !known.contains(*r))
            .map(Ident::as_str)
            .collect();
        if !missing.is_empty() {
            p.error(PlanError::Unsupported {
                object: missing.join(", "),
                what: format!(
                    "granting privileges to role(s) {} that the server does not have",
                    missing.join(", ")
                ),
                hint: "create the roles first (bellows does not manage roles), or take them out of `roles:`".into(),
            });
        }
    }
}

impl Planner<'_> {
    /// From `old` privileges of grantee `g` to `new`: what is granted (or
    /// made grantable) in expand, one step; what is revoked (or no longer
    /// grantable) in contract, another.
    fn change_grants(&mut self, g: &GrantKey, old: &Privileges, new: &Privileges) {
        // What a swapped column held goes with it: its shadow starts bare.
        let none = Privileges::new();
        let old = if self.column_swapped(g) { &none } else { old };
        let made = self.grant_object_made(g);
        let names = |f: &dyn Fn(&str, bool) -> bool, from: &Privileges| -> Vec<&'static str> {
            g.on.kind()
                .privileges()
                .iter()
                .copied()
                .filter(|p| from.get(*p).is_some_and(|o| f(p, *o)))
                .collect()
        };
        let plain = names(&|p, o| !o && !old.contains_key(p), new);
        let with_option = names(&|p, o| o && old.get(p) != Some(&true), new);
        let revoked = names(&|p, _| !new.contains_key(p), old);
        let option_revoked = names(&|p, o| o && new.get(p) == Some(&false), old);
        let (r, phase) = self.grant_object(g);
        let id = format!("{}:{}", g.on, g.grantee);
        if !plain.is_empty() || !with_option.is_empty() {
            let mut sql = Vec::new();
            let mut undo = Vec::new();
            let mut said = Vec::new();
            if !plain.is_empty() {
                sql.push(grant_sql(g, &plain, false));
                undo.push(revoke_sql(g, &plain, false));
                said.push(lower(&plain));
            }
            if !with_option.is_empty() {
                sql.push(grant_sql(g, &with_option, true));
                // A privilege held before keeps it; only the option goes.
                let (had, fresh): (Vec<&str>, Vec<&str>) =
                    with_option.iter().partition(|p| old.contains_key(**p));
                if !had.is_empty() {
                    undo.push(revoke_sql(g, &had, true));
                }
                if !fresh.is_empty() {
                    undo.push(revoke_sql(g, &fresh, false));
                }
                said.push(format!("{} with grant option", lower(&with_option)));
            }
            let what = format!("grant {} on {} to {}", said.join("; "), g.on, g.grantee);
            let step = new_step(ObjectKind::Grant, id.clone(), Action::Create, phase, what)
                .sql_all(sql)
                .requires_all(r.clone())
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Grant,
                        id.clone(),
                        format!("take back what was granted on {} to {}", g.on, g.grantee),
                    )
                    .sql_all(undo),
                ]);
            self.push(step);
        }
        if !revoked.is_empty() || !option_revoked.is_empty() {
            let mut sql = Vec::new();
            let mut said = Vec::new();
            if !revoked.is_empty() {
                sql.push(revoke_sql(g, &revoked, false));
                said.push(lower(&revoked));
            }
            if !option_revoked.is_empty() {
                sql.push(revoke_sql(g, &option_revoked, true));
                said.push(format!("the grant option for {}", lower(&option_revoked)));
            }
            let what = format!("revoke {} on {} from {}", said.join("; "), g.on, g.grantee);
            // From an object this plan makes, at once: no app has used it
            // yet (PUBLIC's EXECUTE on a new function, say).
            let (phase, made) = if made {
                (phase, true)
            } else {
                (Phase::Contract, false)
            };
            let mut step = new_step(ObjectKind::Grant, id, Action::Drop, phase, what)
                .sql_all(sql)
                .requires_all(r);
            if !revoked.is_empty() && !made {
                step = step.hazard(
                    HazardKind::OldAppVisible,
                    format!("{} can no longer {} {}", g.grantee, lower(&revoked), g.on),
                );
            }
            if step.phase != Phase::Contract {
                // Before contract, abort gives back what was taken.
                let (with_option, plain): (Vec<&str>, Vec<&str>) =
                    revoked.iter().partition(|p| old.get(**p) == Some(&true));
                let with_option: Vec<&str> =
                    with_option.into_iter().chain(option_revoked).collect();
                let mut undo = Vec::new();
                if !plain.is_empty() {
                    undo.push(grant_sql(g, &plain, false));
                }
                if !with_option.is_empty() {
                    undo.push(grant_sql(g, &with_option, true));
                }
                step = step.undo_with(vec![
                    undo_step(
                        ObjectKind::Grant,
                        format!("{}:{}", g.on, g.grantee),
                        format!("give back what was revoked on {} from {}", g.on, g.grantee),
                    )
                    .sql_all(undo),
                ]);
            }
            self.push(step);
        }
    }

    /// Whether relation `q` is live under another kind than the target's
    /// (table, view, materialized view), so the plan drops and makes it.
    fn made_anew(&self, q: &QualifiedName) -> bool {
        let kind = |s: &Schema| {
            if s.tables.contains_key(q) {
                Some(0)
            } else {
                s.views
                    .get(q)
                    .map(|v| if v.is_materialized() { 2 } else { 1 })
            }
        };
        matches!((kind(self.cur), kind(self.tgt)), (Some(a), Some(b)) if a != b)
    }

    /// Whether `g` is on a column that contract swaps for its retyped
    /// shadow.
    fn column_swapped(&self, g: &GrantKey) -> bool {
        matches!(&g.on, GrantOn::Column(q, c) if self.swapped.contains_key(&(q.clone(), c.clone())))
    }

    /// Whether this plan makes the object of `g` (anew, or again under its
    /// name), so that it starts with what a fresh object holds.
    fn grant_object_made(&self, g: &GrantKey) -> bool {
        let live = match &g.on {
            GrantOn::Relation(q, GrantObject::Sequence) => self.cur.sequences.contains_key(q),
            GrantOn::Relation(q, _) => {
                (self.cur.tables.contains_key(q)
                    || self.cur.views.contains_key(q)
                    || self.renamed_from_live(q).is_some())
                    && !self.made_anew(q)
            }
            GrantOn::Column(q, c) => {
                let table = self.renamed_from_live(q).unwrap_or(q);
                let from = self
                    .tgt
                    .tables
                    .get(q)
                    .and_then(|t| t.column(c.as_str()))
                    .and_then(|t| t.renamed_from.as_ref());
                self.cur.tables.get(table).is_some_and(|t| {
                    t.column(c.as_str()).is_some()
                        || from.is_some_and(|f| t.column(f.as_str()).is_some())
                }) && !self.column_swapped(g)
            }
            GrantOn::Schema(s) => self.cur.schemas.contains(s),
            GrantOn::Routine(k) => {
                self.cur.routines.contains_key(k)
                    && self.makers_of(&Resource::Function(k.clone())).is_empty()
            }
            GrantOn::Type(q) => {
                self.cur.has_type(q) && self.makers_of(&Resource::Type(q.clone())).is_empty()
            }
        };
        !live
    }

    /// Whether the object of live grant `g` is in the target under the
    /// same name and kind.
    fn object_stays(&self, g: &GrantKey) -> bool {
        match &g.on {
            GrantOn::Relation(q, GrantObject::Sequence) => self.tgt.sequences.contains_key(q),
            GrantOn::Relation(q, _) => {
                self.tgt.tables.contains_key(q) || self.tgt.views.contains_key(q)
            }
            GrantOn::Column(q, c) => self
                .tgt
                .tables
                .get(q)
                .is_some_and(|t| t.column(c.as_str()).is_some()),
            GrantOn::Schema(s) => self.tgt.schemas.contains(s),
            GrantOn::Routine(k) => self.tgt.routines.contains_key(k),
            GrantOn::Type(q) => self.tgt.has_type(q),
        }
    }

    /// The object of `g` as a resource, and the phase it is (re)made in
    /// by this plan (expand when it is not).
    fn grant_object(&mut self, g: &GrantKey) -> (Option<Resource>, Phase) {
        // A routine or type the plan makes (again: a function dropped and
        // made, an enum rebuilt) is granted after the making, ordered by
        // its `Made` marker (its own resource is also the drop's).
        let after = |p: &mut Self, r: Resource| match p.after_making(&r) {
            Some((made, phase)) => (Some(made), phase),
            None => (None, Phase::Expand),
        };
        let r = match &g.on {
            GrantOn::Routine(k) => return after(self, Resource::Function(k.clone())),
            GrantOn::Type(q) => return after(self, Resource::Type(q.clone())),
            GrantOn::Relation(q, GrantObject::Sequence) => Resource::Sequence(q.clone()),
            GrantOn::Relation(q, _) if self.tgt.views.contains_key(q) => Resource::View(q.clone()),
            GrantOn::Relation(q, _) => Resource::table(q),
            // A column swapped for its retyped shadow in contract is a new
            // column, with none of the old one's privileges.
            GrantOn::Column(q, c) if self.column_swapped(g) => Resource::swapped(q, c),
            GrantOn::Column(q, c) => Resource::column(q, c),
            GrantOn::Schema(s) => Resource::Schema(s.clone()),
        };
        let phase = self
            .steps
            .iter()
            .filter(|s| s.provides.contains(&r))
            .map(|s| s.phase)
            .max()
            .unwrap_or(Phase::Expand);
        (Some(r), phase)
    }
}

/// The resource of a routine or type a grant is on: what a plan may make
/// again under the same name.
fn made_again(on: &GrantOn) -> Option<Resource> {
    match on {
        GrantOn::Routine(k) => Some(Resource::Function(k.clone())),
        GrantOn::Type(q) => Some(Resource::Type(q.clone())),
        _ => None,
    }
}

/// `select, insert`.
fn lower(privileges: &[&str]) -> String {
    privileges
        .iter()
        .map(|p| p.to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod rule_tests {
    use crate::testing::{plans_to, schema};

    const ROLES: &str = "roles: [reader, writer]\n";

    #[test]
    fn grants_go_in_expand_revokes_in_contract_one_statement_per_grantee() {
        let t = "tables:\n  t: { columns: { id: { type: bigint } } }\n";
        plans_to(
            &format!("{ROLES}{t}grants:\n  t: {{ reader: [select, update] }}\n"),
            &format!("{ROLES}{t}grants:\n  t: {{ reader: [select, insert with grant option], writer: [all] }}\n"),
            "
            expand: grant insert with grant option on public.t to reader
                GRANT INSERT ON TABLE public.t TO reader WITH GRANT OPTION
            expand: grant select, insert, update, delete, truncate, references, trigger on public.t to writer
                GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE public.t TO writer
            contract: revoke update on public.t from reader
                REVOKE UPDATE ON TABLE public.t FROM reader
            ",
        );
    }

    #[test]
    fn a_new_schema_gets_its_grants_once_made_and_a_dropped_one_loses_them_with_it() {
        plans_to(
            &format!("{ROLES}schemas: [old]\ngrants:\n  schema old: {{ reader: [usage] }}\n"),
            &format!(
                "{ROLES}schemas: [app]\ngrants:\n  schema app: {{ reader: [usage], writer: [all] }}\n"
            ),
            "
            expand: create schema app
                CREATE SCHEMA IF NOT EXISTS app
            expand: grant usage on schema app to reader
                GRANT USAGE ON SCHEMA app TO reader
            expand: grant usage, create on schema app to writer
                GRANT USAGE, CREATE ON SCHEMA app TO writer
            contract: drop schema old
                DROP SCHEMA old
            ",
        );
    }

    #[test]
    fn column_privileges_are_granted_per_column_and_again_on_a_swapped_column() {
        let t = |ty: &str, grants: &str| {
            format!(
                "{ROLES}tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {{ type: {ty} }}\n      b: {{ type: text }}\n    primary_key: [id]\ngrants:\n  t: {{ {grants} }}\n"
            )
        };
        plans_to(
            &t("integer", "reader: [\"update (a)\"], writer: [\"select (a, b)\"]"),
            &t(
                "bigint",
                "reader: [\"update (a)\", \"select (b) with grant option\"], writer: [\"select (b)\"]",
            ),
            "
            expand: add column public.t.a_bellows_new for changing the type of public.t.a from integer to bigint
                ALTER TABLE public.t ADD COLUMN a_bellows_new bigint
            expand: keep public.t.a_bellows_new in sync while old and new app versions write
                CREATE OR REPLACE FUNCTION public.t_a_bellows_new_bellows_sync() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN IF TG_OP = 'INSERT' OR NEW.a IS DISTINCT FROM OLD.a OR NEW.a_bellows_new IS NULL THEN SELECT (a::bigint) INTO NEW.a_bellows_new FROM (SELECT NEW.*) AS bellows_row; END IF; RETURN NEW; END $bellows$
                CREATE TRIGGER t_a_bellows_new_bellows_sync BEFORE INSERT OR UPDATE OF a ON public.t FOR EACH ROW EXECUTE FUNCTION public.t_a_bellows_new_bellows_sync()
            expand: grant select with grant option on public.t.b to reader
                GRANT SELECT (b) ON TABLE public.t TO reader WITH GRANT OPTION
            migrate: backfill public.t.a_bellows_new = a::bigint, in batches by primary key (id)
                UPDATE public.t SET a_bellows_new = (a::bigint) WHERE (id) > ($1) AND (id) <= ($2) AND a_bellows_new IS NULL
            contract: swap public.t.a_bellows_new in for public.t.a
                DROP TRIGGER IF EXISTS t_a_bellows_new_bellows_sync ON public.t
                DROP FUNCTION IF EXISTS public.t_a_bellows_new_bellows_sync()
                ALTER TABLE public.t DROP COLUMN a
                ALTER TABLE public.t RENAME COLUMN a_bellows_new TO a
            contract: grant update on public.t.a to reader
                GRANT UPDATE (a) ON TABLE public.t TO reader
            ",
        );
    }

    #[test]
    fn routines_and_types_are_granted_once_made_and_again_when_made_again() {
        let f = |returns: &str, values: &str, grants: &str| {
            format!(
                "{ROLES}enums: {{ mood: [{values}] }}\nfunctions:\n  f(a integer):\n    returns: {returns}\n    language: sql\n    body: SELECT 1\ngrants:\n{grants}"
            )
        };
        plans_to(
            &f("integer", "a, b", "  function f(a integer): { reader: [execute] }\n  type mood: { reader: [usage] }\n"),
            &f("bigint", "b, a", "  function f(a integer): { reader: [execute] }\n  type mood: { reader: [usage], writer: [usage] }\n"),
            "
            expand: create enum public.mood_bellows_new: public.mood with its values in their new order
                CREATE TYPE public.mood_bellows_new AS ENUM ('b', 'a')
            contract: drop the old enum public.mood and give public.mood_bellows_new its name
                DROP TYPE public.mood
                ALTER TYPE public.mood_bellows_new RENAME TO mood
            contract: drop and make again function public.f(integer): its result changes from integer to bigint, which CREATE OR REPLACE cannot do
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                DROP FUNCTION public.f(integer)
                CREATE FUNCTION public.f(a integer)
             RETURNS bigint
             LANGUAGE sql
            AS $body$SELECT 1$body$
            contract: grant execute on routine public.f(integer) to reader
                GRANT EXECUTE ON ROUTINE public.f(integer) TO reader
            contract: grant usage on type public.mood to reader
                GRANT USAGE ON TYPE public.mood TO reader
            contract: grant usage on type public.mood to writer
                GRANT USAGE ON TYPE public.mood TO writer
            ",
        );
    }

    #[test]
    fn a_body_replaced_in_place_keeps_its_grants_without_a_step() {
        let f = |body: &str| {
            format!(
                "{ROLES}functions:\n  f(a integer):\n    returns: integer\n    language: sql\n    body: {body}\ngrants:\n  function f(a integer): {{ reader: [execute] }}\n"
            )
        };
        plans_to(
            &f("SELECT 1"),
            &f("SELECT 2"),
            "
            expand: replace function public.f(integer) in place (calls from then on, the old app's too, run the new definition)
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                CREATE OR REPLACE FUNCTION public.f(a integer)
             RETURNS integer
             LANGUAGE sql
            AS $body$SELECT 2$body$
            ",
        );
    }

    #[test]
    fn public_loses_execute_and_usage_in_contract_and_from_a_new_function_at_once() {
        let f = |name: &str, public: &str| {
            format!(
                "roles: [public]\nenums: {{ mood: [a] }}\nfunctions:\n  {name}():\n    returns: integer\n    language: sql\n    body: SELECT 1\ngrants:\n{public}"
            )
        };
        plans_to(
            &f("f", ""),
            &f(
                "g",
                "  function g(): { public: [] }\n  type mood: { public: [] }\n",
            ),
            "
            expand: create function public.g()
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                CREATE FUNCTION public.g()
             RETURNS integer
             LANGUAGE sql
            AS $body$SELECT 1$body$
            expand: revoke execute on routine public.g() from public
                REVOKE EXECUTE ON ROUTINE public.g() FROM PUBLIC
            contract: revoke usage on type public.mood from public
                REVOKE USAGE ON TYPE public.mood FROM PUBLIC
            contract: drop function public.f()
                DROP FUNCTION public.f()
            ",
        );
        // Said no more: PUBLIC gets its default back, in expand.
        plans_to(
            &f("g", "  function g(): { public: [] }\n"),
            &f("g", ""),
            "
            expand: grant execute on routine public.g() to public
                GRANT EXECUTE ON ROUTINE public.g() TO PUBLIC
            ",
        );
    }

    #[test]
    fn a_function_made_again_loses_publics_execute_again() {
        let f = |returns: &str| {
            format!(
                "roles: [public]\nfunctions:\n  f():\n    returns: {returns}\n    language: sql\n    body: SELECT 1\ngrants:\n  function f(): {{ public: [] }}\n"
            )
        };
        plans_to(
            &f("integer"),
            &f("bigint"),
            "
            contract: drop and make again function public.f(): its result changes from integer to bigint, which CREATE OR REPLACE cannot do
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                DROP FUNCTION public.f()
                CREATE FUNCTION public.f()
             RETURNS bigint
             LANGUAGE sql
            AS $body$SELECT 1$body$
            contract: revoke execute on routine public.f() from public
                REVOKE EXECUTE ON ROUTINE public.f() FROM PUBLIC
            ",
        );
    }

    #[test]
    fn a_view_made_in_place_of_a_table_gets_its_grants_again() {
        plans_to(
            &format!(
                "{ROLES}tables:\n  t: {{ columns: {{ id: {{ type: bigint }} }} }}\n  v: {{ columns: {{ id: {{ type: bigint }} }} }}\ngrants:\n  v: {{ reader: [select] }}\n"
            ),
            &format!(
                "{ROLES}tables:\n  t: {{ columns: {{ id: {{ type: bigint }} }} }}\nviews:\n  v: SELECT id FROM t\ngrants:\n  v: {{ reader: [select] }}\n"
            ),
            "
            contract: drop table public.v, and view public.v made in its place
                DROP TABLE public.v
                SET LOCAL search_path = public
                CREATE VIEW public.v AS
            SELECT id FROM t
            contract: grant select on public.v to reader
                GRANT SELECT ON TABLE public.v TO reader
            ",
        );
    }

    #[test]
    fn a_role_the_server_lacks_is_refused() {
        let to = schema(&format!(
            "{ROLES}tables:\n  t: {{ columns: {{ id: {{ type: bigint }} }} }}\ngrants:\n  t: {{ writer: [select] }}\n"
        ));
        let known = [crate::model::Ident::new("reader").expect("a name")]
            .into_iter()
            .collect();
        let opts = crate::plan::PlanOptions {
            server_roles: Some(known),
            ..Default::default()
        };
        let e = crate::plan::plan(&crate::model::Schema::default(), &to, &opts)
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("writer") && e.contains("create the roles first"),
            "{e}"
        );
    }
}
