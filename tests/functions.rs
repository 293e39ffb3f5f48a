//! Functions and procedures against a real PostgreSQL: a definition
//! written differently from how the server prints it is no change (the
//! server reads the target's functions as temporary ones, and leaves
//! nothing behind); a dump plans to nothing; a function made again in
//! contract keeps its owner's grants; an SQL-standard body waits for the
//! table it reads.

mod support;

use std::path::Path;

use bellows::apply::{ApplyOptions, PhaseSel, Silent, apply};
use bellows::introspect::{Options, introspect_url};
use bellows::plan::{HazardKind, plan};
use bellows::spec;
use support::{TestDb, outline, plan_live};

const SETUP: &str = "
    CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, placed_at timestamptz NOT NULL DEFAULT now());
    CREATE FUNCTION with_tax(amount numeric, rate numeric DEFAULT 0.2) RETURNS numeric
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT amount * (1 + rate) $$;
    CREATE FUNCTION area(r double precision) RETURNS double precision LANGUAGE sql IMMUTABLE AS 'SELECT pi() * r * r';
    CREATE FUNCTION area(w double precision, h double precision) RETURNS double precision LANGUAGE sql IMMUTABLE AS 'SELECT w * h';
    CREATE FUNCTION big_orders(threshold numeric) RETURNS SETOF orders LANGUAGE sql STABLE ROWS 20
      AS $$SELECT * FROM orders WHERE amount > threshold$$;
    CREATE FUNCTION order_stats(OUT n bigint, OUT total numeric) LANGUAGE sql STABLE
      AS $$SELECT count(*), coalesce(sum(amount), 0) FROM orders$$;
    CREATE FUNCTION recent(days int = 7) RETURNS TABLE(id bigint, amount numeric) LANGUAGE sql STABLE
      AS $$SELECT id, amount FROM orders WHERE placed_at > now() - make_interval(days => days)$$;
    CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql STABLE
      BEGIN ATOMIC SELECT count(*) FROM orders; END;
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
      AS $$
    BEGIN
      NEW.placed_at := now();
      RETURN NEW;
    END
    $$;
    COMMENT ON FUNCTION touch() IS 'stamps a row';
    CREATE PROCEDURE purge(before timestamptz) LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM orders WHERE placed_at < before;
    END $$;";

/// SETUP's objects as a person would write them: other type spellings,
/// `=` for `DEFAULT`, an SQL-standard body laid out differently.
const TARGET: &str = r#"
tables:
  orders:
    columns:
      id: { type: int8 }
      amount: { type: "numeric(12,2)", nullable: false }
      placed_at: { type: timestamp with time zone, nullable: false, default: now() }
    primary_key: [id]
functions:
  with_tax(amount numeric, rate numeric = 0.2):
    returns: numeric
    language: sql
    volatility: immutable
    strict: true
    parallel: safe
    body: SELECT amount * (1 + rate)
  area(r float8):
    returns: float8
    language: sql
    volatility: immutable
    body: SELECT pi() * r * r
  area(w float8, h float8):
    returns: double precision
    language: sql
    volatility: immutable
    body: SELECT w * h
  big_orders(threshold numeric):
    returns: setof orders
    language: sql
    volatility: stable
    rows: 20
    body: SELECT * FROM orders WHERE amount > threshold
  order_stats(OUT n int8, OUT total numeric):
    returns: record
    language: sql
    volatility: stable
    body: SELECT count(*), coalesce(sum(amount), 0) FROM orders
  recent(days int4 DEFAULT 7):
    returns: TABLE(id int8, amount numeric)
    language: sql
    volatility: stable
    body: SELECT id, amount FROM orders WHERE placed_at > now() - make_interval(days => days)
  order_count():
    returns: int8
    language: sql
    volatility: stable
    body: |
      begin atomic
        select count(*) from orders;
      end
  touch():
    returns: trigger
    language: plpgsql
    security: definer
    set: { search_path: "public, pg_temp" }
    comment: stamps a row
    body: |
      BEGIN
        NEW.placed_at := now();
        RETURN NEW;
      END
procedures:
  purge(before timestamptz):
    language: plpgsql
    body: |
      BEGIN
        DELETE FROM orders WHERE placed_at < before;
      END
"#;

#[tokio::test]
async fn functions_written_differently_from_the_server_are_no_change() {
    let db = TestDb::new().await;
    db.exec(SETUP).await;
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspect");
    assert_eq!(live.schema.routines.len(), 9, "overloads apart");
    assert!(live.unmanaged.is_empty(), "{:?}", live.unmanaged);
    let (p, notes) = plan_live(&db, TARGET).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
    assert!(notes.is_empty(), "{notes:?}");
    // The server's reading left no temporary function behind.
    let temp: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname LIKE 'pg\\_temp\\_%'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(temp, 0);
    // The dump reads back as the same model and plans to nothing.
    let dumped = bellows::spec::to_yaml(&live.schema, Default::default());
    let back = spec::read_str(Path::new("dump.yaml"), &dumped).expect("the dump reads");
    assert_eq!(back.routines, live.schema.routines, "{dumped}");
    // Each string body exactly as stored, blank lines and indentation
    // included, so a database made from the dump has the same bodies.
    for (k, r) in &live.schema.routines {
        assert_eq!(back.routines[k].body, r.body, "{k}: {dumped}");
    }
    let (p, _) = plan_live(&db, &dumped).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
    let copy = TestDb::new().await;
    apply(
        &copy.url,
        Some(&back),
        PhaseSel::All,
        &ApplyOptions::default(),
        &Silent,
    )
    .await
    .expect("the dump applies to an empty database");
    let bodies = "SELECT p.proname::text, p.prosrc FROM pg_proc p
                   WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1, 2";
    let source: Vec<(String, String)> = sqlx::query_as(bodies)
        .fetch_all(&db.pool)
        .await
        .expect("bodies");
    let made: Vec<(String, String)> = sqlx::query_as(bodies)
        .fetch_all(&copy.pool)
        .await
        .expect("bodies");
    assert_eq!(made, source);
    // A real change is seen, and only that one.
    let changed = TARGET.replace("SELECT w * h", "SELECT w * h / 1");
    let (p, _) = plan_live(&db, &changed).await;
    assert_eq!(
        outline(&p),
        [
            "expand: replace function public.area(double precision, double precision) in place (calls from then on, the old app's too, run the new definition)"
        ]
    );
}

#[tokio::test]
async fn a_function_made_again_keeps_its_owner_and_privileges() {
    let db = TestDb::new().await;
    support::dump::ensure_fixture_role(&db).await;
    db.exec(
        "CREATE FUNCTION secret() RETURNS integer LANGUAGE sql AS 'SELECT 1';
         REVOKE ALL ON FUNCTION secret() FROM PUBLIC;
         GRANT EXECUTE ON FUNCTION secret() TO schemainspect_test_role;",
    )
    .await;
    let target = "functions:\n  secret():\n    returns: bigint\n    language: sql\n    body: SELECT 2::bigint\n";
    let (p, _) = plan_live(&db, target).await;
    assert_eq!(
        outline(&p),
        [
            "contract: drop and make again function public.secret(): its result changes from integer to bigint, which CREATE OR REPLACE cannot do"
        ]
    );
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, target).expect("write");
    let to = spec::read_file(&file).expect("reads");
    let opts = ApplyOptions {
        allow_hazards: vec![HazardKind::UntrackedDependencies],
        ..ApplyOptions::default()
    };
    apply(&db.url, Some(&to), PhaseSel::All, &opts, &Silent)
        .await
        .expect("applies");
    let (public, role, value): (bool, bool, i64) = sqlx::query_as(
        "SELECT has_function_privilege('public', 'secret()', 'EXECUTE'),
                has_function_privilege('schemainspect_test_role', 'secret()', 'EXECUTE'),
                secret()",
    )
    .fetch_one(&db.pool)
    .await
    .expect("privileges");
    assert_eq!((public, role, value), (false, true, 2));
    let (p, _) = plan_live(&db, target).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
}

#[tokio::test]
async fn a_standard_body_is_made_after_the_table_it_reads_and_a_trigger_keeps_its_function() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, touched timestamptz);
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.touched := now(); RETURN NEW; END$$;
         CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();",
    )
    .await;
    let items = "tables:\n  items:\n    columns:\n      id: { type: bigint }\n      touched: { type: timestamptz }\n    primary_key: [id]\n";
    let trigger =
        "    triggers:\n      items_touch: { timing: before, events: [update], function: touch }\n";
    // Leaving out the trigger's function would drop it under the trigger.
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspect");
    let bare = spec::read_str(Path::new("t.yaml"), &format!("{items}{trigger}")).expect("reads");
    let e = plan(&live.schema, &bare, &live.plan_options()).expect_err("refused");
    assert!(
        e.to_string()
            .contains("the target drops it, but trigger items_touch on public.items uses it")
            && e.to_string().contains("declare it under `functions:`"),
        "{e}"
    );
    // Leaving out both drops both, the trigger first.
    let (p, _) = plan_live(&db, items).await;
    assert_eq!(
        outline(&p),
        [
            "contract: drop trigger items_touch on public.items",
            "contract: drop function public.touch()"
        ]
    );
    let target = format!(
        "{items}{trigger}  notes:\n    columns:\n      id: {{ type: bigint }}\n    primary_key: [id]\nfunctions:\n  touch():\n    returns: trigger\n    language: plpgsql\n    body: \"BEGIN NEW.touched := now(); RETURN NEW; END\"\n  note_count():\n    returns: bigint\n    language: sql\n    body: BEGIN ATOMIC SELECT count(*) FROM notes; END\n"
    );
    let (p, notes) = plan_live(&db, &target).await;
    assert_eq!(
        outline(&p),
        [
            "expand: create table public.notes",
            "expand: create function public.note_count()"
        ]
    );
    // The server could not read it before the table exists: as written.
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("note_count"), "{notes:?}");
    let to = spec::read_str(Path::new("t.yaml"), &target).expect("reads");
    apply(
        &db.url,
        Some(&to),
        PhaseSel::All,
        &ApplyOptions::default(),
        &Silent,
    )
    .await
    .expect("applies");
    let (p, notes) = plan_live(&db, &target).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
    assert!(notes.is_empty(), "{notes:?}");
}

#[tokio::test]
async fn a_column_a_standard_body_reads_is_kept_or_goes_after_the_function() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric, legacy text);
         CREATE FUNCTION total() RETURNS numeric LANGUAGE sql STABLE BEGIN ATOMIC SELECT sum(amount) FROM orders; END;
         CREATE FUNCTION legacy_count() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(legacy) FROM orders; END;",
    )
    .await;
    let table = |columns: &str| {
        format!(
            "tables:\n  orders:\n    columns:\n      id: {{ type: bigint }}\n{columns}    primary_key: [id]\n"
        )
    };
    let total = "  total():\n    returns: numeric\n    language: sql\n    volatility: stable\n    body: BEGIN ATOMIC SELECT sum(amount) FROM orders; END\n";
    let legacy = "  legacy_count():\n    returns: bigint\n    language: sql\n    volatility: stable\n    body: BEGIN ATOMIC SELECT count(legacy) FROM orders; END\n";
    // As it is: nothing to do.
    let all = format!(
        "{}functions:\n{total}{legacy}",
        table("      amount: { type: numeric }\n      legacy: { type: text }\n")
    );
    let (p, notes) = plan_live(&db, &all).await;
    assert!(
        p.is_empty() && notes.is_empty(),
        "{:?} {notes:?}",
        outline(&p)
    );
    // Dropping a column a kept function reads is refused up front.
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspect");
    let mut without_amount = spec::read_str(
        Path::new("t.yaml"),
        &format!(
            "{}functions:\n{total}{legacy}",
            table("      legacy: { type: text }\n")
        ),
    )
    .expect("reads");
    bellows::introspect::canonicalize_url(&db.url, &live.schema, &mut without_amount)
        .await
        .expect("canonicalize");
    let e = plan(&live.schema, &without_amount, &live.plan_options()).expect_err("refused");
    assert!(
        e.to_string()
            .contains("function public.total() (its SQL-standard body reads column amount)"),
        "{e}"
    );
    // Dropped together, the function goes first, and the plan runs.
    let without_legacy = format!(
        "{}functions:\n{total}",
        table("      amount: { type: numeric }\n")
    );
    let (p, _) = plan_live(&db, &without_legacy).await;
    assert_eq!(
        outline(&p),
        [
            "contract: drop function public.legacy_count()",
            "contract: drop column public.orders.legacy"
        ]
    );
    apply_all(&db, &without_legacy).await;
    let (p, _) = plan_live(&db, &without_legacy).await;
    assert!(p.is_empty(), "{:?}", outline(&p));
}

/// Applies the target file text `yaml` to `db`, every phase, every
/// hazard allowed.
async fn apply_all(db: &TestDb, yaml: &str) {
    let to = spec::read_str(Path::new("t.yaml"), yaml).expect("reads");
    let opts = ApplyOptions {
        allow_hazards: HazardKind::ALL.to_vec(),
        ..ApplyOptions::default()
    };
    apply(&db.url, Some(&to), PhaseSel::All, &opts, &Silent)
        .await
        .expect("applies");
}

#[tokio::test]
async fn a_function_a_kept_default_calls_is_not_dropped_under_it() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE FUNCTION new_code() RETURNS text LANGUAGE sql AS $$SELECT 'T-' || md5(random()::text)$$;
         CREATE TABLE tickets (id bigint PRIMARY KEY, code text DEFAULT new_code());",
    )
    .await;
    let table = |code: &str| {
        format!(
            "tables:\n  tickets:\n    columns:\n      id: {{ type: bigint }}\n{code}    primary_key: [id]\n"
        )
    };
    // The default stays and calls it: dropping the function is refused.
    let live = introspect_url(&db.url, &Options::default())
        .await
        .expect("introspect");
    let kept = spec::read_str(
        Path::new("t.yaml"),
        &table("      code: { type: text, default: new_code() }\n"),
    )
    .expect("reads");
    let e = plan(&live.schema, &kept, &live.plan_options()).expect_err("refused");
    assert!(
        e.to_string()
            .contains("the target drops it, but the default of column public.tickets.code uses it"),
        "{e}"
    );
    // With the default changed too, the plan runs to the end.
    let changed = table("      code: { type: text, default: \"'none'\" }\n");
    let (p, _) = plan_live(&db, &changed).await;
    assert_eq!(
        outline(&p),
        [
            "expand: set the default of public.tickets.code to 'none'",
            "contract: drop function public.new_code()"
        ]
    );
    apply_all(&db, &changed).await;
}
