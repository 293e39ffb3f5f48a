//! Introspection against a real PostgreSQL: whatever is loaded, the model
//! read from the database equals the model parsed from its dump, the dump
//! is deterministic, objects bellows does not manage are named, and the
//! database is left untouched.

mod support;

use std::path::Path;

use bellows::introspect::{self, Options, UnmanagedKind};
use bellows::spec;
use support::TestDb;
use support::dump::{apply_all_and_read, dump_holding, read, round_trip};

#[tokio::test]
async fn hostile_identifiers_survive_dump_and_parse() {
    let db = TestDb::new().await;
    db.exec(r#"
        CREATE SCHEMA "Odd.Schema";
        CREATE TYPE "Odd.Schema"."Mood ""quoted""" AS ENUM ('ok', 'not ok', 'it''s', 'true', '');
        CREATE TABLE "Odd.Schema"."select" (
            "user" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            "Mixed Case" text NOT NULL DEFAULT 'a: b # c',
            "ünïcödé 名前" varchar(20),
            "with ""quotes""" "Odd.Schema"."Mood ""quoted""",
            "order" int CHECK ("order" > 0),
            " lead" text,
            "null" boolean DEFAULT true
        );
        CREATE UNIQUE INDEX "idx: weird, name" ON "Odd.Schema"."select" (lower("Mixed Case") DESC NULLS LAST, "order");
        CREATE TABLE "table" (id serial PRIMARY KEY, "ref" bigint REFERENCES "Odd.Schema"."select" ("user") ON DELETE SET NULL);
        COMMENT ON TABLE "table" IS 'line one
line two "quoted" \ backslash';
        COMMENT ON COLUMN "table"."ref" IS '';
    "#).await;
    let found = round_trip(&db, "hostile").await;
    let names: Vec<String> = found.schema.tables.keys().map(|k| k.to_string()).collect();
    assert_eq!(names, vec!["\"Odd.Schema\".select", "public.table"]);
    let t = found.schema.tables.values().next().expect("a table");
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        cols,
        vec![
            "user",
            "Mixed Case",
            "ünïcödé 名前",
            "with \"quotes\"",
            "order",
            " lead",
            "null"
        ]
    );
    let e = found.schema.enums.values().next().expect("an enum");
    assert_eq!(
        e.values,
        vec!["ok", "not ok", "it's", "true", ""]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn examples_load_and_dump_to_the_same_structure() {
    for file in [
        "schemas/examples/shop_v1.yaml",
        "schemas/examples/shop_v2.yaml",
    ] {
        let target = spec::read_file(Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
        let db = TestDb::new().await;
        let ddl = bellows::sql::postgres::create_all(&target).join(";\n");
        db.exec(&ddl).await;
        let found = round_trip(&db, file).await;
        assert!(found.unmanaged.is_empty(), "{file}: {:?}", found.unmanaged);
        let want = target.without_hints();
        // Expressions are printed by the server (`'free'::text`), so
        // compare the structure: names, types, nullability, keys.
        assert_eq!(
            found.schema.tables.keys().collect::<Vec<_>>(),
            want.tables.keys().collect::<Vec<_>>(),
            "{file}"
        );
        assert_eq!(found.schema.enums, want.enums, "{file}");
        assert_eq!(found.schema.sequences, want.sequences, "{file}");
        for (name, t) in &want.tables {
            let got = &found.schema.tables[name];
            let shape = |t: &bellows::model::Table| {
                t.columns
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            c.ty.clone(),
                            c.nullable,
                            c.identity,
                            c.default.is_some(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(shape(got), shape(t), "{file}: columns of {name}");
            assert_eq!(
                got.primary_key, t.primary_key,
                "{file}: primary key of {name}"
            );
            assert_eq!(
                got.uniques, t.uniques,
                "{file}: unique constraints of {name}"
            );
            assert_eq!(
                got.foreign_keys, t.foreign_keys,
                "{file}: foreign keys of {name}"
            );
            assert_eq!(
                got.indexes.keys().collect::<Vec<_>>(),
                t.indexes.keys().collect::<Vec<_>>(),
                "{file}: indexes of {name}"
            );
            assert_eq!(
                got.checks.keys().collect::<Vec<_>>(),
                t.checks.keys().collect::<Vec<_>>(),
                "{file}: checks of {name}"
            );
            assert_eq!(got.comment, t.comment, "{file}: comment of {name}");
        }
    }
}

#[tokio::test]
async fn schema_scope_limits_what_is_read() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE SCHEMA a; CREATE SCHEMA b; CREATE TABLE a.t (id int); CREATE TABLE b.t (id int);
             CREATE SCHEMA bellows; CREATE TABLE bellows.ledger (id int);",
    )
    .await;
    let all = read(&db, &[]).await;
    let names: Vec<String> = all.schema.tables.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        names,
        vec!["a.t", "b.t"],
        "the ledger schema is never part of the model"
    );
    let only_b = read(&db, &["b"]).await;
    assert_eq!(
        only_b
            .schema
            .tables
            .keys()
            .map(|k| k.to_string())
            .collect::<Vec<_>>(),
        vec!["b.t"]
    );
    let err = introspect::introspect_url(
        &db.url,
        &Options {
            schemas: vec!["nope".into()],
            ..Options::default()
        },
    )
    .await;
    assert!(matches!(err, Err(introspect::IntrospectError::NoSuchSchema(s)) if s == "nope"));
}

#[tokio::test]
async fn dependencies_of_unmanaged_objects_name_their_columns() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, a text, b text);
             CREATE TABLE other (id int PRIMARY KEY);
             CREATE MATERIALIZED VIEW v AS SELECT id, a FROM t;
             CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             CREATE CONSTRAINT TRIGGER trg AFTER UPDATE OF b ON t FROM other FOR EACH ROW EXECUTE FUNCTION f();
             CREATE CONSTRAINT TRIGGER checked AFTER UPDATE OF b ON t DEFERRABLE FOR EACH ROW EXECUTE FUNCTION f();
             CREATE TRIGGER managed BEFORE UPDATE OF b ON t FOR EACH ROW EXECUTE FUNCTION f();",
    )
    .await;
    let found = read(&db, &[]).await;
    // A materialized view is managed, and what it reads is known.
    let view = &found.schema.views[&bellows::model::QualifiedName::parse("v").expect("name")];
    assert!(view.is_materialized(), "{view:?}");
    let cols: Vec<Option<&str>> = view
        .facts
        .iter()
        .flat_map(|f| &f.reads)
        .map(|d| d.column.as_ref().map(|c| c.as_str()))
        .collect();
    assert!(
        cols.contains(&Some("a")) && cols.contains(&Some("id")) && !cols.contains(&Some("b")),
        "{view:?}"
    );
    // A plain trigger and a constraint trigger are managed; a
    // constraint trigger `FROM` another table is not (yet).
    let managed: Vec<(String, Option<bellows::model::Deferrable>)> = found
        .schema
        .triggers
        .iter()
        .map(|(k, t)| (k.name.to_string(), t.constraint))
        .collect();
    assert_eq!(
        managed,
        [
            (
                "checked".to_string(),
                Some(bellows::model::Deferrable::InitiallyImmediate)
            ),
            ("managed".to_string(), None),
        ]
    );
    let trg = found
        .unmanaged
        .iter()
        .find(|u| u.kind == UnmanagedKind::Trigger)
        .expect("the constraint trigger is reported");
    assert!(
        trg.depends_on
            .iter()
            .any(|d| d.column.as_ref().map(|c| c.as_str()) == Some("b")),
        "{trg:?}"
    );
    assert_eq!(found.queries, 26, "one query per kind, whatever the size");
}

#[tokio::test]
async fn dump_command_writes_yaml_and_warns_about_unmanaged_objects() {
    // A moving aggregate is one bellows does not model.
    let db = TestDb::new().await;
    db.exec("CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);
             CREATE VIEW active AS SELECT * FROM users;
             CREATE MATERIALIZED VIEW counted AS SELECT count(*) FROM users;
             CREATE UNIQUE INDEX counted_one ON counted ((1));
             CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
             CREATE TYPE span AS RANGE (subtype = float8);
             CREATE TYPE pair AS (a integer, b text);
             CREATE AGGREGATE total(integer) (sfunc = int4pl, stype = integer, msfunc = int4pl, minvfunc = int4mi, mstype = integer);").await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bellows"))
            .args(["dump", "--database-url", &db.url])
            .output()
            .expect("bellows runs")
    };
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        yaml,
        "range_types:\n  span: { subtype: double precision }\ndomains:\n  positive:\n    type: integer\n    checks:\n      positive_check: VALUE > 0\ncomposite_types:\n  pair:\n    attributes:\n      a: integer\n      b: text\ntables:\n  users:\n    columns:\n      id: { type: bigint, identity: always }\n      email: { type: text, nullable: false }\n    primary_key: [id]\n    unique:\n      users_email_key: [email]\nviews:\n  active: |-\n    SELECT users.id,\n        users.email\n       FROM users\nmaterialized_views:\n  counted:\n    query: |-\n      SELECT count(*) AS count\n         FROM users\n    indexes:\n      counted_one: { expression: (1), unique: true }\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 aggregate (public.total(integer))"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("public.active") && !stderr.contains("public.counted"),
        "views and materialized views are managed: {stderr}"
    );
    assert_eq!(run().stdout, yaml.as_bytes(), "dump is deterministic");
}

/// What the index, constraint and column queries read per key and per
/// column (an expression key's definition, a non-default operator class,
/// a key's collation and order, INCLUDE columns, a check's expression, a
/// column's comment, key columns in their constraint's order) comes back
/// exactly, and only where it is set.
#[tokio::test]
async fn index_keys_checks_and_comments_are_read_exactly() {
    let db = TestDb::new().await;
    db.exec(
        r#"
        CREATE TABLE people (
            id bigint PRIMARY KEY,
            name text NOT NULL,
            code varchar(20) CHECK (length(code) > 2),
            born date
        );
        COMMENT ON COLUMN people.name IS 'as written';
        CREATE INDEX people_search ON people
            (name text_pattern_ops, lower(code) DESC NULLS LAST, code COLLATE "C")
            INCLUDE (born);
        CREATE UNIQUE INDEX people_code ON people (code);
        CREATE TABLE pairs (a text, b text, CONSTRAINT pairs_ba UNIQUE (b, a));
        CREATE TABLE refs (x text, y text,
            CONSTRAINT refs_pair FOREIGN KEY (y, x) REFERENCES pairs (b, a));
    "#,
    )
    .await;
    let found = round_trip(&db, "index keys").await;
    let table = |n: &str| {
        found
            .schema
            .tables
            .iter()
            .find(|(q, _)| q.name.as_str() == n)
            .map(|(_, t)| t)
            .expect("the table")
    };
    // Key columns come back in the constraint's order, not the table's.
    let names = |cols: &[bellows::model::Ident]| -> Vec<String> {
        cols.iter().map(|c| c.as_str().to_string()).collect()
    };
    let unique = table("pairs").uniques.values().next().expect("a unique");
    assert_eq!(names(&unique.columns), vec!["b", "a"]);
    let fk = table("refs")
        .foreign_keys
        .values()
        .next()
        .expect("a foreign key");
    assert_eq!(names(&fk.columns), vec!["y", "x"]);
    assert_eq!(names(&fk.ref_columns), vec!["b", "a"]);
    let t = table("people");
    let search = t
        .indexes
        .iter()
        .find(|(n, _)| n.as_str() == "people_search")
        .map(|(_, i)| i)
        .expect("people_search");
    let keys: Vec<String> = search
        .keys
        .iter()
        .map(|k| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                k.target,
                k.order,
                k.nulls,
                k.opclass,
                k.collation.as_ref().map(|c| c.as_str().to_string())
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            r#"Column(Ident("name")) Asc None Some("text_pattern_ops") None"#,
            r#"Expression("lower(code::text)") Desc Some(Last) None None"#,
            r#"Column(Ident("code")) Asc None None Some("C")"#,
        ]
    );
    let include: Vec<&str> = search.include.iter().map(|c| c.as_str()).collect();
    assert_eq!(include, vec!["born"]);
    let plain = t
        .indexes
        .iter()
        .find(|(n, _)| n.as_str() == "people_code")
        .map(|(_, i)| i)
        .expect("people_code");
    assert!(
        plain
            .keys
            .iter()
            .all(|k| k.opclass.is_none() && k.collation.is_none())
    );
    let check = t.checks.values().next().expect("a check");
    assert_eq!(check.expression, "length(code::text) > 2");
    let comments: Vec<Option<&str>> = t.columns.iter().map(|c| c.comment.as_deref()).collect();
    assert_eq!(comments, vec![None, Some("as written"), None, None]);
}

/// A constraint added NOT VALID and never validated is dumped as such,
/// the dump plans to nothing against the same database, and a target that
/// wants it valid gets the VALIDATE (not a drop and re-add).
#[tokio::test]
async fn not_valid_constraints_are_dumped_as_not_valid_and_validated_when_the_target_says_so() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE teams (id bigint PRIMARY KEY);
         CREATE TABLE users (id bigint PRIMARY KEY, team_id bigint, age integer);
         INSERT INTO users VALUES (1, 7, -3);
         ALTER TABLE users ADD CONSTRAINT users_age_sane CHECK (age >= 0) NOT VALID;
         ALTER TABLE users ADD CONSTRAINT users_team_fk FOREIGN KEY (team_id) REFERENCES teams (id) NOT VALID;",
    )
    .await;
    let found = introspect::introspect_url(&db.url, &Options::default())
        .await
        .expect("introspection");
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    assert!(
        yaml.contains("users_age_sane: { expression: age >= 0, not_valid: true }")
            && yaml.contains("not_valid: true }"),
        "{yaml}"
    );
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("the dump reads back");
    let same = bellows::plan::plan(&found.schema, &back, &Default::default()).expect("plans");
    assert!(same.is_empty(), "{:?}", same.steps);
    let valid = spec::read_str(
        Path::new("valid.yaml"),
        &yaml.replace(", not_valid: true", ""),
    )
    .expect("reads");
    let p = bellows::plan::plan(&found.schema, &valid, &Default::default()).expect("plans");
    let steps: Vec<&str> = p.steps.iter().map(|s| s.description.as_str()).collect();
    assert_eq!(
        steps,
        [
            "validate check users_age_sane on public.users",
            "validate foreign key users_team_fk on public.users"
        ]
    );
}

/// A table bellows does not manage (one that inherits from a table out
/// of scope) owns its `serial` sequence: a dump leaves it out with the
/// table (reporting both), reads back, and plans to nothing against the
/// same database, so the plan never drops it.
#[tokio::test]
async fn a_sequence_owned_by_an_unmanaged_table_goes_with_the_table() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE SCHEMA other;
         CREATE TABLE other.base (at date NOT NULL);
         CREATE TABLE events (id bigserial) INHERITS (other.base);
         CREATE TABLE t (id serial PRIMARY KEY);",
    )
    .await;
    let found = read(&db, &["public"]).await;
    // Named as the server names it (the catalog query asks for the
    // identity of such tables only).
    assert!(
        found
            .unmanaged
            .iter()
            .any(|u| u.kind == UnmanagedKind::InheritedTable && u.identity == "public.events"),
        "{:?}",
        found.unmanaged
    );
    assert!(
        found
            .unmanaged
            .iter()
            .any(|u| u.kind == UnmanagedKind::SequenceOfUnmanagedTable
                && u.identity == "public.events_id_seq"),
        "{:?}",
        found.unmanaged
    );
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    assert!(!yaml.contains("events"), "{yaml}");
    assert!(
        yaml.contains("id: { type: serial }"),
        "t keeps its serial: {yaml}"
    );
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("the dump reads back");
    let p = bellows::plan::plan(&found.schema, &back, &Default::default()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
}

/// Partitioned tables and their partitions (range, list with an
/// expression key, hash, default, a partitioned partition, one made
/// standalone and attached) are managed: the dump holds each key and
/// bound and only each partition's own indexes, constraints and
/// triggers (not the copies of its parent's), reads back, and plans to
/// nothing against the same database. A partition whose parent is in a
/// schema out of scope stays unmanaged, as its parent.
#[tokio::test]
async fn partitioned_tables_dump_and_plan_to_nothing() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE accounts (id int PRIMARY KEY);
         CREATE TABLE events (id bigserial, at date NOT NULL, kind text, n int CHECK (n > 0),
                              account_id int REFERENCES accounts, PRIMARY KEY (id, at))
                PARTITION BY RANGE (at);
         CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE events_rest PARTITION OF events DEFAULT;
         CREATE TABLE events_2025 (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         ALTER TABLE events_2025 ADD CONSTRAINT events_2025_own CHECK (n < 100);
         ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE INDEX events_kind ON events (kind);
         CREATE INDEX events_2024_n ON events_2024 (n);
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
         CREATE TRIGGER events_touch BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TABLE labels (k text, h int) PARTITION BY LIST (lower(k));
         CREATE TABLE labels_ab PARTITION OF labels FOR VALUES IN ('a', NULL, 'b') PARTITION BY HASH (h);
         CREATE TABLE labels_ab_0 PARTITION OF labels_ab FOR VALUES WITH (modulus 2, remainder 0);
         CREATE TABLE labels_ab_1 PARTITION OF labels_ab FOR VALUES WITH (modulus 2, remainder 1);
         CREATE TABLE refs (id int PRIMARY KEY, event_id bigint, event_at date,
                            FOREIGN KEY (event_id, event_at) REFERENCES events);
         CREATE SCHEMA other;
         CREATE TABLE other.logs (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE public.logs_2026 PARTITION OF other.logs FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
    )
    .await;
    let found = round_trip(&db, "partitions").await;
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    for want in [
        "partition_by: RANGE (at)",
        "bound: FROM ('2024-01-01') TO ('2025-01-01')",
        "bound: DEFAULT",
        "partition_by: LIST ((lower(k)))",
        "partition_by: HASH (h)",
        "events_2025_own: n < 100",
        "events_2024_n: { columns: [n] }",
    ] {
        assert!(yaml.contains(want), "{want}: {yaml}");
    }
    for copy in [
        "events_2024_kind_idx",
        "events_2024_pkey",
        "events_2025_n_check",
    ] {
        assert!(!yaml.contains(copy), "{copy} is the parent's: {yaml}");
    }
    assert_eq!(
        yaml.matches("events_touch").count(),
        1,
        "the trigger's copies on the partitions are the parent's: {yaml}"
    );
    let scoped = read(&db, &["public"]).await;
    assert!(
        !scoped
            .schema
            .tables
            .keys()
            .any(|q| q.name.as_str() == "logs_2026"),
        "a partition of a table out of scope"
    );
    assert!(
        scoped
            .unmanaged
            .iter()
            .any(|u| u.kind == UnmanagedKind::Partition && u.identity == "public.logs_2026"),
        "{:?}",
        scoped.unmanaged
    );
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("the dump reads back");
    let p = bellows::plan::plan(&found.schema, &back, &Default::default()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
}

/// Privileges on tables, views, sequences and schemas (`public` too)
/// are read (the owner's own left out), dumped with every grantee in `roles:`, read back, and plan
/// to nothing. A file that lists fewer roles leaves the others' grants
/// alone; one that names a role the server lacks is refused before
/// anything runs.
#[tokio::test]
async fn privileges_dump_and_plan_to_nothing_and_other_roles_are_left_alone() {
    let db = TestDb::new().await;
    for r in ["bellows_dump_reader", "bellows_dump_writer"] {
        db.role(r).await;
    }
    db.exec(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, total int);
         CREATE VIEW totals AS SELECT id, total FROM orders;
         GRANT SELECT ON orders TO bellows_dump_reader;
         GRANT SELECT, INSERT, UPDATE ON orders TO bellows_dump_writer;
         GRANT DELETE ON orders TO bellows_dump_writer WITH GRANT OPTION;
         GRANT USAGE ON SEQUENCE orders_id_seq TO bellows_dump_writer;
         GRANT SELECT ON totals TO PUBLIC;
         CREATE SCHEMA reports;
         GRANT USAGE, CREATE ON SCHEMA reports TO bellows_dump_writer;
         GRANT USAGE ON SCHEMA public TO bellows_dump_reader;
         GRANT UPDATE (total), REFERENCES (\"id\", total) ON orders TO bellows_dump_reader;
         CREATE FUNCTION answer(n integer) RETURNS integer LANGUAGE sql AS 'SELECT n';
         GRANT EXECUTE ON FUNCTION answer(integer) TO bellows_dump_reader;
         CREATE TYPE lvl AS ENUM ('a', 'b');
         GRANT USAGE ON TYPE lvl TO bellows_dump_writer;
         REVOKE USAGE ON TYPE lvl FROM PUBLIC;",
    )
    .await;
    let found = round_trip(&db, "privileges").await;
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    for want in [
        "roles: [bellows_dump_reader, bellows_dump_writer, public]",
        "orders: { bellows_dump_reader: [select, update (total), \"references (id, total)\"], bellows_dump_writer: [select, insert, update, delete with grant option] }",
        "orders_id_seq: { bellows_dump_writer: [usage] }",
        "totals: { public: [select] }",
        "schema reports: { bellows_dump_writer: [all] }",
        "function answer(n integer): { bellows_dump_reader: [execute] }",
        // PUBLIC's USAGE, the default, revoked; its EXECUTE on answer
        // is the default, said by saying nothing.
        "type lvl: { bellows_dump_writer: [usage], public: [] }",
        // PUBLIC's USAGE on schema public is PostgreSQL 15's default,
        // said by saying nothing; its owner's are the server's.
        "schema public: { bellows_dump_reader: [usage] }",
    ] {
        assert!(yaml.contains(want), "{want}: {yaml}");
    }
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("the dump reads back");
    let opts = found.plan_options();
    let p = bellows::plan::plan(&found.schema, &back, &opts).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);

    // Only the writer's privileges are stated: the reader's stay.
    let only_writer = yaml
        .replace(
            "roles: [bellows_dump_reader, bellows_dump_writer, public]",
            "roles: [bellows_dump_writer]",
        )
        .replace(
            "bellows_dump_reader: [select, update (total), \"references (id, total)\"], ",
            "",
        )
        .replace("  totals: { public: [select] }\n", "")
        .replace("  schema public: { bellows_dump_reader: [usage] }\n", "")
        .replace(
            "  function answer(n integer): { bellows_dump_reader: [execute] }\n",
            "",
        )
        .replace(
            "bellows_dump_writer: [select, insert, update, delete with grant option]",
            "bellows_dump_writer: [select]",
        )
        .replace(", public: [] }", " }");
    let target = spec::read_str(Path::new("writer.yaml"), &only_writer).expect("reads");
    let p = bellows::plan::plan(&found.schema, &target, &opts).expect("plans");
    let steps: Vec<&str> = p.steps.iter().map(|s| s.description.as_str()).collect();
    assert_eq!(
        steps,
        ["revoke insert, update, delete on public.orders from bellows_dump_writer"],
        "{only_writer}"
    );

    // Said no more for PUBLIC, listed: its USAGE is given back.
    let usage_back = yaml.replace(", public: [] }", " }");
    let target = spec::read_str(Path::new("back.yaml"), &usage_back).expect("reads");
    let p = bellows::plan::plan(&found.schema, &target, &opts).expect("plans");
    let steps: Vec<&str> = p.steps.iter().map(|s| s.description.as_str()).collect();
    assert_eq!(steps, ["grant usage on type public.lvl to public"]);

    let stranger = yaml.replace(
        "roles: [bellows_dump_reader, bellows_dump_writer, public]",
        "roles: [bellows_dump_reader, bellows_dump_writer, public, bellows_no_such_role]",
    );
    let target = spec::read_str(Path::new("stranger.yaml"), &stranger).expect("reads");
    let e = bellows::plan::plan(&found.schema, &target, &opts).expect_err("refused");
    assert!(e.to_string().contains("bellows_no_such_role"), "{e}");
}

/// Plain aggregates (over arguments and over `*`, with every option
/// bellows models) are read, dumped and plan to nothing; an ordered-set
/// one stays unmanaged and is named in the warning.
#[tokio::test]
async fn aggregates_dump_and_plan_to_nothing() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE FUNCTION add_text(s text, v text) RETURNS text LANGUAGE sql AS 'SELECT s || v';
         CREATE FUNCTION bump(s bigint) RETURNS bigint LANGUAGE sql AS 'SELECT s + 1';
         CREATE FUNCTION plus(a bigint, b bigint) RETURNS bigint LANGUAGE sql AS 'SELECT a + b';
         CREATE FUNCTION shout(s text) RETURNS text LANGUAGE sql AS 'SELECT upper(s)';
         CREATE AGGREGATE concat_all(text) (SFUNC = add_text, STYPE = text, FINALFUNC = shout, INITCOND = '>');
         CREATE AGGREGATE tally(*) (SFUNC = bump, STYPE = bigint, COMBINEFUNC = plus, INITCOND = '0', PARALLEL = SAFE);
         COMMENT ON AGGREGATE tally(*) IS 'rows, counted';
         CREATE AGGREGATE my_mode(ORDER BY anyelement) (SFUNC = ordered_set_transition, STYPE = internal, FINALFUNC = mode_final, FINALFUNC_EXTRA);",
    )
    .await;
    let found = round_trip(&db, "aggregates").await;
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    let want = "aggregates:
  concat_all(text): { sfunc: add_text, stype: text, finalfunc: shout, initcond: \">\" }
  tally(): { sfunc: bump, stype: bigint, combinefunc: plus, initcond: \"0\", parallel: safe, comment: \"rows, counted\" }
";
    assert!(yaml.contains(want), "{yaml}");
    let summary = found.unmanaged_summary().unwrap_or_default();
    assert!(
        summary.contains("1 aggregate (public.my_mode("),
        "the ordered-set aggregate stays unmanaged: {summary}"
    );
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("reads back");
    let p = bellows::plan::plan(&found.schema, &back, &found.plan_options()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
}

/// Default privileges, for every schema and for one, of tables,
/// sequences, functions, types and schemas, with PUBLIC's EXECUTE on
/// functions revoked, are read and dumped (not the owner's own), read
/// back and plan to nothing; and a file that says fewer revokes the rest for the roles it lists.
#[tokio::test]
async fn default_privileges_dump_and_plan_to_nothing() {
    let db = TestDb::new().await;
    for r in ["bellows_defacl_owner", "bellows_defacl_reader"] {
        db.role(r).await;
    }
    db.exec(
        "CREATE SCHEMA reports;
         CREATE TABLE reports.daily (id bigint);
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner GRANT SELECT, UPDATE ON TABLES TO bellows_defacl_reader;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner GRANT USAGE ON SEQUENCES TO bellows_defacl_reader WITH GRANT OPTION;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner GRANT USAGE ON TYPES TO bellows_defacl_reader;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner GRANT USAGE ON SCHEMAS TO bellows_defacl_reader;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner IN SCHEMA reports GRANT INSERT ON TABLES TO bellows_defacl_reader;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner IN SCHEMA reports GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
         CREATE SCHEMA elsewhere;
         ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner IN SCHEMA elsewhere GRANT SELECT ON TABLES TO bellows_defacl_reader;",
    )
    .await;
    let found = round_trip(&db, "default privileges").await;
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    let want = "default_privileges:
  for role bellows_defacl_owner:
    tables: { bellows_defacl_reader: [select, update] }
    sequences: { bellows_defacl_reader: [usage with grant option] }
    functions: { public: [] }
    types: { bellows_defacl_reader: [usage] }
    schemas: { bellows_defacl_reader: [usage] }
  for role bellows_defacl_owner in schema elsewhere:
    tables: { bellows_defacl_reader: [select] }
  for role bellows_defacl_owner in schema reports:
    tables: { bellows_defacl_reader: [insert] }
    functions: { public: [execute] }
";
    assert!(yaml.contains(want), "{yaml}");
    assert!(
        yaml.contains("roles: [bellows_defacl_reader, public]"),
        "{yaml}"
    );
    // A superuser is a member of every role.
    assert!(
        found
            .member_of
            .iter()
            .any(|r| r.as_str() == "bellows_defacl_owner")
    );
    let opts = found.plan_options();
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("reads back");
    let p = bellows::plan::plan(&found.schema, &back, &opts).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);

    // Said no more for the roles listed: revoked, PUBLIC's EXECUTE given
    // back.
    let fewer = yaml
        .replace("    types: { bellows_defacl_reader: [usage] }\n", "")
        .replace("    functions: { public: [] }\n", "");
    let target = spec::read_str(Path::new("fewer.yaml"), &fewer).expect("reads");
    let p = bellows::plan::plan(&found.schema, &target, &opts).expect("plans");
    let steps = support::statements(&p);
    assert_eq!(
        steps,
        [
            "ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC",
            "ALTER DEFAULT PRIVILEGES FOR ROLE bellows_defacl_owner REVOKE USAGE ON TYPES FROM bellows_defacl_reader",
        ],
        "{fewer}"
    );

    // Connected as a role that is not a member of the owner, the same
    // change is refused before anything runs.
    db.exec(
        "DO $$ BEGIN CREATE ROLE bellows_defacl_login LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .await;
    let url = support::with_user(&db.url, "bellows_defacl_login");
    let other = bellows::introspect::introspect_url(&url, &Default::default())
        .await
        .expect("read as another role");
    assert!(
        !other
            .member_of
            .iter()
            .any(|r| r.as_str() == "bellows_defacl_owner")
    );
    let e = bellows::plan::plan(&other.schema, &target, &other.plan_options())
        .expect_err("refused")
        .to_string();
    assert!(e.contains("not a member of bellows_defacl_owner"), "{e}");
}

/// Comments on the kinds whose model has no place for one (schemas,
/// enums, range types, domains, collations, sequences, indexes of tables
/// and materialized views, every kind of table constraint) are read,
/// dumped, read back and plan to nothing; comments on what bellows does
/// not manage (a key's own index, an identity's sequence, `public`) are
/// not its.
#[tokio::test]
async fn comments_on_every_kind_dump_and_plan_to_nothing() {
    let yaml = r#"
schemas: { audit: { comment: Audit trail. } }
enums: { mood: { values: [happy, sad], comment: How it went. } }
range_types: { span: { subtype: integer, comment: "Whole numbers, lo to hi." } }
domains: { price: { type: "numeric(12,2)", comment: Never negative. } }
collations: { natural: { provider: icu, locale: en-u-kn-true, comment: "2 before 10." } }
sequences: { invoice_numbers: { start: 1000, comment: "Gap-free? No." } }
tables:
  people:
    columns:
      id: { type: bigint, identity: always }
      email: { type: text }
      boss_id: { type: bigint }
      during: { type: span }
    primary_key: { columns: [id], comment: The key. }
    unique: { people_email: { columns: [email], comment: "One each, 'quoted'." } }
    indexes: { people_during: { columns: [boss_id], comment: Bosses. } }
    checks: { people_email_at: { expression: "email LIKE '%@%'", comment: Has an at. } }
    exclusions: { people_no_overlap: { definition: "USING gist (during WITH &&)", comment: Apart. } }
    foreign_keys:
      people_boss:
        columns: [boss_id]
        references: { table: people, columns: [id] }
        comment: Who they report to.
  audit.log:
    columns:
      id: { type: bigint }
    primary_key: [id]
materialized_views:
  people_count:
    query: SELECT count(*) AS n FROM people
    indexes: { people_count_n: { columns: [n], comment: One row. } }
"#;
    let target = spec::read_str(Path::new("comments.yaml"), yaml).expect("the target reads");
    assert_eq!(target.comments.len(), 13, "{:?}", target.comments);
    let db = TestDb::new().await;
    db.exec(&bellows::sql::postgres::create_all(&target).join(";\n"))
        .await;
    db.exec(
        "COMMENT ON INDEX people_pkey IS 'the key''s own index';
         COMMENT ON SCHEMA public IS 'the server''s';",
    )
    .await;
    let found = round_trip(&db, "comments").await;
    assert_eq!(found.schema.comments, target.comments);
    let dumped = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    let back = spec::read_str(Path::new("dump.yaml"), &dumped).expect("the dump reads back");
    assert_eq!(back.comments, target.comments, "{dumped}");
    let p = bellows::plan::plan(&found.schema, &back, &Default::default()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
}

/// Defaults are read with `pg_get_expr(adbin, 0)`, without the table as
/// context (a default cannot name a column), so the server need not open
/// every table. Here, on defaults of many shapes, the text is the one the
/// table's context gives.
#[tokio::test]
async fn defaults_read_without_their_table_print_as_with_it() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TYPE mood AS ENUM ('happy', 'sad');
         CREATE DOMAIN price AS numeric(12,2) DEFAULT 0;
         CREATE SEQUENCE counter;
         CREATE SCHEMA other;
         CREATE SEQUENCE other.counter;
         CREATE FUNCTION other.pick() RETURNS integer LANGUAGE sql AS 'SELECT 1';
         CREATE TABLE shapes (
             a integer DEFAULT 0,
             b integer DEFAULT -1,
             c bigint DEFAULT nextval('counter'),
             d bigint DEFAULT nextval('other.counter'::regclass),
             e text DEFAULT 'x',
             f varchar(20) DEFAULT 'it''s',
             g timestamptz DEFAULT now(),
             h timestamp DEFAULT CURRENT_TIMESTAMP,
             i date DEFAULT CURRENT_DATE + 1,
             j numeric(10,2) DEFAULT 1.50,
             k boolean DEFAULT (true AND NOT false),
             l mood DEFAULT 'sad',
             m price DEFAULT 2.5,
             n integer[] DEFAULT ARRAY[1, 2, 3],
             o jsonb DEFAULT '{\"k\": [1, null]}'::jsonb,
             p text DEFAULT lower('A' || 'B'),
             q interval DEFAULT '1 day'::interval * 2,
             r integer DEFAULT other.pick(),
             s text DEFAULT CASE WHEN random() > 0.5 THEN 'h' ELSE 't' END,
             t uuid DEFAULT md5('x')::uuid,
             u int4range DEFAULT int4range(1, 10, '[]'),
             v text COLLATE \"C\" DEFAULT ('c' COLLATE \"C\"),
             w double precision DEFAULT 'NaN',
             x smallint DEFAULT (2 + 3) * 4,
             y text DEFAULT current_user,
             z integer GENERATED ALWAYS AS (a + 1) STORED
         );",
    )
    .await;
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT a.attname::text, pg_get_expr(d.adbin, d.adrelid), pg_get_expr(d.adbin, 0)
           FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
          WHERE d.adrelid = 'shapes'::regclass AND a.attgenerated = ''
          ORDER BY a.attnum",
    )
    .fetch_all(&db.pool)
    .await
    .expect("the defaults read");
    assert_eq!(rows.len(), 25, "{rows:?}");
    for (column, with_table, without) in &rows {
        assert!(with_table.is_some(), "{column}: no default read");
        assert_eq!(with_table, without, "column {column}");
    }
    // And the dump plans to nothing against the database it came from.
    let found = introspect::introspect_url(&db.url, &Options::default())
        .await
        .expect("introspection");
    let plan =
        bellows::plan::plan(&found.schema, &found.schema, &found.plan_options()).expect("a plan");
    assert!(plan.is_empty());
    let shapes = found
        .schema
        .tables
        .values()
        .next()
        .expect("the table is read");
    assert_eq!(
        shapes
            .columns
            .iter()
            .filter(|c| c.default.is_some())
            .count(),
        25
    );
}

/// Storage parameters of tables, partitions and indexes (a materialized
/// view's too), and a column's statistics target and distinct-value
/// estimates, are read in one
/// spelling whatever the server kept
/// (`off`, `0.10`, a bare boolean), dumped, read back and plan to
/// nothing; a TOAST table's are left alone, and applying a target
/// without them resets them in place.
#[tokio::test]
async fn storage_parameters_dump_and_plan_to_nothing() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE hits (id bigint PRIMARY KEY, note text)
           WITH (fillfactor = 070, autovacuum_enabled = off, autovacuum_vacuum_scale_factor = 0.10,
                 vacuum_truncate, toast.autovacuum_enabled = false);
         ALTER TABLE hits ALTER COLUMN note SET STATISTICS 800;
         ALTER TABLE hits ALTER COLUMN note SET (n_distinct = -0.50, n_distinct_inherited = 1e3);
         CREATE INDEX hits_note ON hits USING gin (to_tsvector('simple', note)) WITH (fastupdate = off);
         CREATE INDEX hits_id ON hits (id) INCLUDE (note) WITH (FILLFACTOR = 80) WHERE id > 0;
         CREATE TABLE days (d date) PARTITION BY RANGE (d);
         CREATE TABLE days_2024 PARTITION OF days FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
           WITH (parallel_workers = 2);
         CREATE MATERIALIZED VIEW hit_ids WITH (autovacuum_enabled = off) AS SELECT id FROM hits;
         CREATE INDEX hit_ids_id ON hit_ids (id) WITH (fillfactor = 60);",
    )
    .await;
    let found = round_trip(&db, "storage parameters").await;
    let yaml = dump_holding(
        &found,
        &[
            "      note: { type: text, statistics: 800, with: { n_distinct: \"-0.5\", n_distinct_inherited: 1000 } }\n",
            "    with: { autovacuum_enabled: false, autovacuum_vacuum_scale_factor: 0.1, fillfactor: 70, vacuum_truncate: true }\n",
            "      hits_note: { expression: \"to_tsvector('simple'::regconfig, note)\", method: gin, with: { fastupdate: false } }\n",
            "      hits_id: { columns: [id], include: [note], where: (id > 0), with: { fillfactor: 80 } }\n",
            "    with: { parallel_workers: 2 }\n",
            "      hit_ids_id: { columns: [id], with: { fillfactor: 60 } }\n    with: { autovacuum_enabled: false }\n",
        ],
    );
    assert!(!yaml.contains("toast"), "{yaml}");

    // Without them: reset in place (the GIN index built again), and the
    // TOAST table's parameter is still there.
    let bare = yaml
        .replace(
            "    with: { autovacuum_enabled: false, autovacuum_vacuum_scale_factor: 0.1, fillfactor: 70, vacuum_truncate: true }\n",
            "",
        )
        .replace(", with: { fastupdate: false }", "")
        .replace(", with: { fillfactor: 80 }", "");
    let target = spec::read_str(Path::new("bare.yaml"), &bare).expect("reads");
    let p = bellows::plan::plan(&found.schema, &target, &found.plan_options()).expect("plans");
    let sql = support::statements(&p);
    assert!(
        sql.contains(&"ALTER TABLE public.hits RESET (autovacuum_enabled, autovacuum_vacuum_scale_factor, fillfactor, vacuum_truncate)")
            && sql.contains(&"ALTER INDEX public.hits_id RESET (fillfactor)"),
        "{sql:#?}"
    );
    apply_all_and_read(&db, &target).await;
    let toast: String = sqlx::query_scalar(
        "SELECT t.reloptions::text FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname = 'hits'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the TOAST table's options");
    assert_eq!(toast, "{autovacuum_enabled=false}");
}

/// Owners other than the reading role are read for every kind that has
/// one (not a sequence linked to a column, nor schema `public`), dumped,
/// read back and plan to nothing; what the reading role owns is not
/// stated.
#[tokio::test]
async fn owners_dump_and_plan_to_nothing() {
    let db = TestDb::new().await;
    for r in ["bellows_owner_a", "bellows_owner_b"] {
        db.role(r).await;
    }
    db.exec(
        "CREATE SCHEMA billing AUTHORIZATION bellows_owner_a;
         CREATE TABLE billing.invoices (id serial PRIMARY KEY);
         ALTER TABLE billing.invoices OWNER TO bellows_owner_b;
         CREATE TABLE mine (id int);
         CREATE SEQUENCE billing.numbers;
         ALTER SEQUENCE billing.numbers OWNER TO bellows_owner_a;
         CREATE VIEW billing.ids AS SELECT id FROM billing.invoices;
         ALTER VIEW billing.ids OWNER TO bellows_owner_a;
         CREATE MATERIALIZED VIEW billing.counted AS SELECT count(*) AS n FROM billing.invoices;
         ALTER MATERIALIZED VIEW billing.counted OWNER TO bellows_owner_b;
         CREATE TYPE billing.state AS ENUM ('open', 'paid');
         ALTER TYPE billing.state OWNER TO bellows_owner_b;
         CREATE DOMAIN billing.cents AS bigint;
         ALTER DOMAIN billing.cents OWNER TO bellows_owner_a;
         CREATE FUNCTION billing.total(n integer) RETURNS integer LANGUAGE sql AS 'SELECT n';
         ALTER FUNCTION billing.total(integer) OWNER TO bellows_owner_b;
         CREATE PROCEDURE billing.close() LANGUAGE sql AS 'SELECT 1';
         ALTER PROCEDURE billing.close() OWNER TO bellows_owner_a;",
    )
    .await;
    let found = round_trip(&db, "owners").await;
    let yaml = spec::to_yaml(&found.schema, spec::WriteOptions::default());
    let want = "owners:
  billing.counted: bellows_owner_b
  billing.ids: bellows_owner_a
  billing.invoices: bellows_owner_b
  billing.numbers: bellows_owner_a
  schema billing: bellows_owner_a
  procedure billing.close(): bellows_owner_a
  function billing.total(n integer): bellows_owner_b
  type billing.cents: bellows_owner_a
  type billing.state: bellows_owner_b
";
    assert!(yaml.ends_with(want), "{yaml}");
    let back = spec::read_str(Path::new("dump.yaml"), &yaml).expect("reads back");
    let p = bellows::plan::plan(&found.schema, &back, &found.plan_options()).expect("plans");
    assert!(p.is_empty(), "{:?}", p.steps);
    // The reading role giving an object to itself is a change; stating
    // what it already owns is not.
    let me = found.current_user.clone().expect("the reading role");
    let mine = yaml.replace(
        "  billing.ids: bellows_owner_a\n",
        &format!("  billing.ids: {me}\n  mine: {me}\n"),
    );
    let target = spec::read_str(Path::new("mine.yaml"), &mine).expect("reads");
    let p = bellows::plan::plan(&found.schema, &target, &found.plan_options()).expect("plans");
    let sql = support::statements(&p);
    assert_eq!(
        sql,
        [format!(
            "ALTER VIEW billing.ids OWNER TO {}",
            bellows::sql::quote_ident(me.as_str())
        )]
    );
}

/// `ALTER ... OWNER` hands the old owner's privileges (its own and what
/// it was granted) to the new owner: a target that gives a table to
/// another role and grants the old owner some privileges there ends with
/// them (granted after the change, in its step), and the new owner's
/// grants are not revoked from under its ownership. Nothing is left to
/// plan after contract.
#[tokio::test]
async fn an_owner_change_keeps_what_the_target_grants_the_old_owner() {
    let db = TestDb::new().await;
    for r in ["bellows_owner_a", "bellows_owner_b"] {
        db.role(r).await;
    }
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, note text);
         ALTER TABLE t OWNER TO bellows_owner_a;
         GRANT SELECT ON t TO bellows_owner_b;",
    )
    .await;
    let target = spec::read_str(
        Path::new("owner.yaml"),
        "tables:
  t:
    columns:
      id: { type: integer }
      note: { type: text }
    primary_key: [id]
roles: [bellows_owner_a, bellows_owner_b]
grants:
  t: { bellows_owner_a: [select, \"update (note)\"] }
owners:
  t: bellows_owner_b
",
    )
    .expect("target");
    support::dump::apply_all_and_read(&db, &target).await;
    let (acl, columns): (String, String) = sqlx::query_as(
        "SELECT c.relacl::text, a.attacl::text FROM pg_class c
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'note'
          WHERE c.oid = 't'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .expect("acl");
    assert_eq!(
        (acl.as_str(), columns.as_str()),
        (
            "{bellows_owner_b=arwdDxt/bellows_owner_b,bellows_owner_a=r/bellows_owner_b}",
            "{bellows_owner_a=w/bellows_owner_b}"
        )
    );
}

/// Replica identities are read (one whose index was dropped identifies
/// nothing, as the server then takes it), dumped, read back and plan to
/// nothing.
#[tokio::test]
async fn replica_identities_dump_and_plan_to_nothing() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE keyed (id bigint PRIMARY KEY, u bigint NOT NULL);
         CREATE UNIQUE INDEX keyed_u ON keyed (u);
         ALTER TABLE keyed REPLICA IDENTITY USING INDEX keyed_u;
         CREATE TABLE wide (line text);
         ALTER TABLE wide REPLICA IDENTITY FULL;
         CREATE TABLE orphan (u bigint NOT NULL);
         CREATE UNIQUE INDEX orphan_u ON orphan (u);
         ALTER TABLE orphan REPLICA IDENTITY USING INDEX orphan_u;
         DROP INDEX orphan_u;
         CREATE TABLE plain (id bigint PRIMARY KEY);",
    )
    .await;
    let found = round_trip(&db, "replica identities").await;
    let yaml = dump_holding(
        &found,
        &[
            "    replica_identity: { index: keyed_u }\n",
            "  orphan:\n    columns:\n      u: { type: bigint, nullable: false }\n    replica_identity: nothing\n",
            "  wide:\n    columns:\n      line: { type: text }\n    replica_identity: full\n",
        ],
    );
    assert_eq!(yaml.matches("replica_identity").count(), 3, "{yaml}");
}

/// Columns' storage strategies and compression methods are read where
/// they are not the type's (an extension's type and a domain's too),
/// dumped, read back and plan to nothing; a target that changes them is
/// applied in place, and one that names a type's own strategy (an
/// extension's type's, which bellows knows only from the server) is no
/// change.
#[tokio::test]
async fn column_storage_dumps_and_plans_to_nothing() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE EXTENSION hstore;
         CREATE DOMAIN note AS text;
         CREATE TABLE docs (id bigint PRIMARY KEY, body text, n numeric, attrs hstore, memo note, tags text[]);
         ALTER TABLE docs ALTER body SET STORAGE EXTERNAL, ALTER body SET COMPRESSION lz4,
           ALTER n SET STORAGE PLAIN, ALTER attrs SET STORAGE MAIN,
           ALTER memo SET COMPRESSION pglz, ALTER tags SET STORAGE EXTENDED;",
    )
    .await;
    let found = round_trip(&db, "column storage").await;
    let yaml = dump_holding(
        &found,
        &[
            "      body: { type: text, storage: external, compression: lz4 }\n",
            "      n: { type: numeric, storage: plain }\n",
            "      attrs: { type: hstore, storage: main }\n",
            "      memo: { type: note, compression: pglz }\n",
        ],
    );
    assert_eq!(yaml.matches("storage:").count(), 3, "{yaml}");

    let changed = yaml
        .replace(
            "body: { type: text, storage: external, compression: lz4 }",
            "body: { type: text }",
        )
        .replace(
            "n: { type: numeric, storage: plain }",
            "n: { type: numeric }",
        )
        .replace(
            "attrs: { type: hstore, storage: main }",
            "attrs: { type: hstore, storage: extended }",
        )
        .replace(
            "memo: { type: note, compression: pglz }",
            "memo: { type: note, storage: main, compression: lz4 }",
        );
    let target = spec::read_str(Path::new("changed.yaml"), &changed).expect("reads");
    let p = bellows::plan::plan(&found.schema, &target, &found.plan_options()).expect("plans");
    let sql = support::statements(&p);
    assert_eq!(
        sql,
        [
            "ALTER TABLE public.docs ALTER COLUMN attrs SET STORAGE EXTENDED",
            "ALTER TABLE public.docs ALTER COLUMN body SET STORAGE EXTENDED, ALTER COLUMN body SET COMPRESSION default",
            "ALTER TABLE public.docs ALTER COLUMN memo SET STORAGE MAIN, ALTER COLUMN memo SET COMPRESSION lz4",
            "ALTER TABLE public.docs ALTER COLUMN n SET STORAGE MAIN",
        ],
        "{:?}",
        p.steps
    );
    apply_all_and_read(&db, &target).await;
    let live: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT attname::text, attstorage::text, attcompression::text FROM pg_attribute
          WHERE attrelid = 'docs'::regclass AND attname IN ('attrs', 'body', 'memo', 'n') ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("the columns' storage");
    let want = [
        ("attrs", "x", ""),
        ("body", "x", ""),
        ("memo", "m", "l"),
        ("n", "m", ""),
    ];
    assert_eq!(
        live,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())),
    );
}
