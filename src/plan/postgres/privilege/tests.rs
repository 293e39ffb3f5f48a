//! The privilege rule's plans, through `plans_to`.

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
        migrate: gather the planner's statistics of public.t (a_bellows_new) again (every row was filled)
            ANALYZE public.t (a_bellows_new)
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

#[test]
fn a_view_made_again_around_a_column_change_loses_what_default_privileges_gave() {
    let f = |ty: &str| {
        format!(
            "roles: [reader]\ndefault_privileges:\n  for role owner:\n    tables: {{ reader: [select] }}\ntables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      a: {{ type: {ty} }}\n    primary_key: [id]\nviews:\n  v: SELECT a FROM t\n"
        )
    };
    let p = crate::plan::plan(
        &schema(&f("integer")),
        &schema(&f("bigint")),
        &Default::default(),
    )
    .expect("plans");
    let swap = p
        .steps
        .iter()
        .find(|s| s.description.starts_with("swap"))
        .expect("a swap");
    let create = swap
        .statements
        .iter()
        .position(|s| s.starts_with("CREATE VIEW public.v"))
        .expect("the view made again");
    assert_eq!(
        swap.statements[create + 1],
        "REVOKE SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE public.v FROM reader",
        "{:#?}",
        swap.statements
    );
}

#[test]
fn a_revoke_says_when_the_role_still_has_the_privilege_through_public() {
    let f = |grants: &str| {
        format!(
            "{ROLES}functions:\n  f(): {{ returns: integer, language: sql, body: SELECT 1 }}\ngrants:\n  function f(): {{ {grants} }}\n"
        )
    };
    let hazards = |to: &str| {
        let p = crate::plan::plan(
            &schema(&f("reader: [execute]")),
            &schema(to),
            &Default::default(),
        )
        .expect("plans");
        p.steps
            .iter()
            .flat_map(|s| s.hazards.iter().map(|h| h.message.clone()))
            .collect::<Vec<_>>()
    };
    // PUBLIC's default EXECUTE stays: the reader can still call f.
    assert_eq!(
        hazards(&f("writer: [execute]")),
        ["reader loses execute on routine public.f() (but PUBLIC has it, so the role still does)"]
    );
    // Revoked from PUBLIC too: the reader cannot.
    let without_public = f("writer: [execute], public: []")
        .replace("roles: [reader, writer]", "roles: [reader, writer, public]");
    assert_eq!(
        hazards(&without_public),
        [
            "public loses execute on routine public.f()",
            "reader loses execute on routine public.f()"
        ]
    );
}

#[test]
fn publics_execute_given_back_to_a_function_that_stays_widens_access() {
    let f = |public: &str| {
        format!(
            "roles: [public]\nfunctions:\n  f(): {{ returns: integer, language: sql, body: SELECT 1 }}\ngrants:\n{public}"
        )
    };
    let p = crate::plan::plan(
        &schema(&f("  function f(): { public: [] }\n")),
        &schema(&f("")),
        &Default::default(),
    )
    .expect("plans");
    let hazards: Vec<String> = p
        .steps
        .iter()
        .flat_map(|s| {
            s.hazards
                .iter()
                .map(|h| format!("{}: {}", h.kind.name(), h.message))
        })
        .collect();
    assert_eq!(
        hazards,
        ["access-widened: every role gains execute on routine public.f()"]
    );
}

#[test]
fn an_enum_rebuilt_loses_publics_usage_again_when_the_file_denies_it() {
    let f = |values: &str| {
        format!(
            "roles: [public]\nenums: {{ mood: [{values}] }}\ngrants:\n  type mood: {{ public: [] }}\n"
        )
    };
    plans_to(
        &f("a, b"),
        &f("b, a"),
        "
        expand: create enum public.mood_bellows_new: public.mood with its values in their new order
            CREATE TYPE public.mood_bellows_new AS ENUM ('b', 'a')
        contract: drop the old enum public.mood and give public.mood_bellows_new its name
            DROP TYPE public.mood
            ALTER TYPE public.mood_bellows_new RENAME TO mood
        contract: revoke usage on type public.mood from public
            REVOKE USAGE ON TYPE public.mood FROM PUBLIC
        ",
    );
}

/// An owner holds every privilege on what it owns and the catalog lists
/// none as grants: a grant to the owner would be planned forever.
#[test]
fn a_grant_to_the_objects_live_owner_is_refused() {
    // An owner the target states is refused where the file names it (the
    // reader's `bad_owners` case); the live one, which the target leaves,
    // only the plan knows.
    let t = "tables:\n  t:\n    columns:\n      id: { type: bigint }\nroles: [owner_a, reader]\n";
    crate::testing::refused(
        &format!("{t}owners:\n  t: owner_a\n"),
        &format!("{t}grants:\n  t: {{ owner_a: [select, insert], reader: [select] }}\n"),
        "granting insert, select on public.t to owner_a, which owns it",
    );
}
