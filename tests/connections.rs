//! Connections as users make them, against real servers: TLS per sslmode
//! (the local server, and a private cluster that requires client
//! certificates and passwords), libpq keyword strings, the PG* variables
//! and ~/.pgpass; passwords that never show in any output; and the whole
//! workflow through PgBouncer in transaction pooling mode.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::TestDb;
use support::servers::{Cluster, PgBouncer};

/// The PG* variables a test must not inherit from whoever runs it.
const PG_VARS: &[&str] = &[
    "DATABASE_URL",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGOPTIONS",
    "PGAPPNAME",
];

/// Runs the binary with a clean environment plus `env`; HOME is a folder
/// without ~/.pgpass or ~/.postgresql unless `env` says otherwise.
fn bellows(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    let mut c = Command::new(env!("CARGO_BIN_EXE_bellows"));
    c.args(args);
    for v in PG_VARS {
        c.env_remove(v);
    }
    c.env("HOME", home.path());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the bellows binary runs")
}

fn ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(out: &Output, what: &str) -> String {
    assert!(!out.status.success(), "{what} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const TABLE: &str = "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)";

/// The local server has SSL on: sslmode=require encrypts (and before
/// bellows had TLS, failed with "SQLx was built without TLS support").
#[tokio::test]
async fn sslmode_require_works_against_the_local_server() {
    let db = TestDb::new().await;
    db.exec(TABLE).await;
    let url = format!(
        "{}?sslmode=require",
        db.url.split('?').next().unwrap_or(&db.url)
    );
    let dump = ok(
        &bellows(&["dump", "--database-url", &url], &[]),
        "dump over TLS",
    );
    assert!(dump.contains("items:"), "{dump}");
}

/// A CA, a server certificate for `localhost` only, and a client
/// certificate for `postgres`, all signed by the CA; and a second CA.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    other_ca: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.self_signed(&key).expect("CA certificate");
        (cert.pem(), Issuer::new(p, key))
    };
    let (ca_pem, issuer) = ca("bellows test CA");
    let (other_ca, _) = ca("someone else's CA");
    let leaf = |sans: Vec<String>, cn: &str| {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(sans).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.signed_by(&key, &issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".to_string()], "localhost");
    let (client_cert, client_key) = leaf(Vec::new(), "postgres");
    Pki {
        ca: ca_pem,
        server_cert,
        server_key,
        client_cert,
        client_key,
        other_ca,
    }
}

/// A private cluster that only takes TLS with a client certificate from
/// `postgres`, and a password from `app`: every sslmode, the files libpq
/// reads from ~/.postgresql, ~/.pgpass, PGPASSWORD, and a whole apply over
/// verify-full.
#[tokio::test]
async fn tls_modes_certificates_and_passwords_against_a_private_cluster() {
    let pki = pki();
    let cluster = Cluster::start(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\npassword_encryption = 'scram-sha-256'\n",
        "local all all trust\n\
         hostssl all postgres 127.0.0.1/32 cert\n\
         host all app 127.0.0.1/32 scram-sha-256\n\
         host all all 127.0.0.1/32 reject\n",
        &[
            ("server.crt", pki.server_cert.clone()),
            ("server.key", pki.server_key.clone()),
            ("ca.crt", pki.ca.clone()),
        ],
    );
    let files = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        p.display().to_string()
    };
    let ca = write("ca.crt", &pki.ca);
    let other_ca = write("other.crt", &pki.other_ca);
    let cert = write("client.crt", &pki.client_cert);
    let key = write("client.key", &pki.client_key);
    let port = cluster.port.to_string();
    // Set up over the Unix socket, which pg_hba trusts.
    let socket = format!(
        "host={} port={port} user=postgres dbname=postgres",
        cluster.socket.display()
    );
    let setup = bellows::conn::Target::parse(&socket).expect("socket target");
    let bellows::conn::Target::Postgres(info) = setup else {
        panic!("a keyword string is PostgreSQL's")
    };
    let mut admin = info.connect().await.expect("socket connection");
    for sql in [
        "CREATE ROLE app LOGIN PASSWORD 'AppPassMARK'",
        "CREATE DATABASE shop OWNER app",
    ] {
        sqlx::raw_sql(sql).execute(&mut admin).await.expect("setup");
    }
    let dsn = |extra: &str| format!("host=localhost port={port} dbname=shop user=postgres {extra}");

    // verify-full: the CA, the host name and the client certificate check out.
    let full = dsn(&format!(
        "sslmode=verify-full sslrootcert={ca} sslcert={cert} sslkey={key}"
    ));
    ok(
        &bellows(&["dump", "--database-url", &full], &[]),
        "verify-full",
    );
    // The certificate names localhost, not 127.0.0.1: verify-full refuses,
    // verify-ca (the CA only) accepts.
    let by_ip = |mode: &str| {
        format!(
            "host=127.0.0.1 port={port} dbname=shop user=postgres sslmode={mode} sslrootcert={ca} sslcert={cert} sslkey={key}"
        )
    };
    let err = fails(
        &bellows(&["dump", "--database-url", &by_ip("verify-full")], &[]),
        "verify-full on a name the certificate lacks",
    );
    assert!(
        err.contains("certificate not valid for name \"127.0.0.1\""),
        "{err}"
    );
    ok(
        &bellows(&["dump", "--database-url", &by_ip("verify-ca")], &[]),
        "verify-ca",
    );
    // Another CA: the server's certificate is not trusted.
    let err = fails(
        &bellows(
            &[
                "dump",
                "--database-url",
                &dsn(&format!(
                    "sslmode=verify-full sslrootcert={other_ca} sslcert={cert} sslkey={key}"
                )),
            ],
            &[],
        ),
        "verify-full with the wrong CA",
    );
    assert!(err.contains("UnknownIssuer"), "{err}");
    // Without a client certificate the server says no; without TLS too.
    let err = fails(
        &bellows(&["dump", "--database-url", &dsn("sslmode=require")], &[]),
        "no client certificate",
    );
    assert!(err.contains("certificate"), "{err}");
    let err = fails(
        &bellows(&["dump", "--database-url", &dsn("sslmode=disable")], &[]),
        "sslmode=disable",
    );
    assert!(
        err.contains("pg_hba.conf") || err.contains("rejects"),
        "{err}"
    );
    // verify-full with nothing to verify against is refused before connecting.
    let err = fails(
        &bellows(
            &["dump", "--database-url", &dsn("sslmode=verify-full")],
            &[],
        ),
        "verify-full without a root certificate",
    );
    assert!(err.contains("sslrootcert"), "{err}");
    // libpq's defaults: ~/.postgresql/root.crt, postgresql.crt and .key.
    let home = tempfile::tempdir().expect("home");
    let pg = home.path().join(".postgresql");
    std::fs::create_dir(&pg).expect("dir");
    for (name, text) in [
        ("root.crt", &pki.ca),
        ("postgresql.crt", &pki.client_cert),
        ("postgresql.key", &pki.client_key),
    ] {
        std::fs::write(pg.join(name), text).expect("write");
    }
    let home_s = home.path().display().to_string();
    ok(
        &bellows(
            &["dump", "--database-url", &dsn("sslmode=verify-full")],
            &[("HOME", &home_s)],
        ),
        "certificates from ~/.postgresql",
    );
    // PG* variables alone, as for psql.
    ok(
        &bellows(
            &["dump"],
            &[
                ("HOME", &home_s),
                ("PGHOST", "localhost"),
                ("PGPORT", &port),
                ("PGDATABASE", "shop"),
                ("PGUSER", "postgres"),
                ("PGSSLMODE", "verify-full"),
            ],
        ),
        "the PG* environment",
    );

    // Passwords: wrong, from PGPASSWORD, from ~/.pgpass, from passfile=.
    let app =
        format!("host=127.0.0.1 port={port} dbname=shop user=app sslmode=require sslrootcert={ca}");
    let err = fails(
        &bellows(&["dump", "--database-url", &app], &[]),
        "no password",
    );
    assert!(err.contains("password"), "{err}");
    ok(
        &bellows(
            &["dump", "--database-url", &app],
            &[("PGPASSWORD", "AppPassMARK")],
        ),
        "PGPASSWORD",
    );
    std::fs::write(
        home.path().join(".pgpass"),
        format!("# host:port:db:user:password\n127.0.0.1:{port}:*:app:AppPassMARK\n"),
    )
    .expect("pgpass");
    ok(
        &bellows(&["dump", "--database-url", &app], &[("HOME", &home_s)]),
        "~/.pgpass",
    );
    let passfile = write("passfile", "*:*:shop:app:AppPassMARK\n");
    ok(
        &bellows(
            &[
                "dump",
                "--database-url",
                &format!("{app} passfile={passfile}"),
            ],
            &[],
        ),
        "passfile=",
    );

    // A whole migration over verify-full with a client certificate.
    let target = files.path().join("target.yaml");
    std::fs::write(
        &target,
        "tables:\n  items:\n    columns:\n      id: { type: bigint }\n      name: { type: text, nullable: false }\n    primary_key: [id]\n    indexes:\n      items_name_idx: { columns: [name] }\n",
    )
    .expect("target");
    let out = bellows(
        &[
            "apply",
            "--database-url",
            &full,
            "--target",
            &target.display().to_string(),
            "--phase",
            "all",
        ],
        &[],
    );
    ok(&out, "apply --phase all over verify-full");
    let plan = ok(
        &bellows(
            &[
                "plan",
                "--database-url",
                &full,
                "--target",
                &target.display().to_string(),
                "--exit-code",
            ],
            &[],
        ),
        "re-plan",
    );
    assert!(plan.contains("No changes"), "{plan}");
}

/// A password marker that must never appear in any output.
const MARK: &str = "S3cretMARKxyz";

/// Every output path with a password in the URL, in `?password=`, in a
/// keyword string and in PGPASSWORD: help, connection errors, plan, apply
/// (including a failed step), status (text and JSON), diff, abort, and the
/// ledger the database keeps. (The local server trusts local connections,
/// so it accepts any password.)
#[tokio::test]
async fn passwords_never_show_in_any_output() {
    let db = TestDb::new().await;
    db.exec("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO items VALUES (1, 'a'), (2, 'a')").await;
    let (host, port, user) = support::servers::upstream();
    let url = format!("postgres://{user}:{MARK}@{host}:{port}/{}", db.name);
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("t.yaml");
    // A unique index over duplicates: expand fails, so the failure path prints.
    std::fs::write(
        &target,
        "tables:\n  items:\n    columns:\n      id: { type: bigint }\n      name: { type: text, nullable: false }\n      note: { type: text }\n    primary_key: [id]\n    indexes:\n      items_name_key: { columns: [name], unique: true }\n",
    )
    .expect("target");
    let t = target.display().to_string();
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut run = |label: &str, args: &[&str], env: &[(&str, &str)]| {
        outputs.push((label.to_string(), bellows(args, env)));
    };
    run(
        "apply -h with DATABASE_URL",
        &["apply", "-h"],
        &[("DATABASE_URL", &url)],
    );
    run(
        "plan --help with DATABASE_URL",
        &["plan", "--help"],
        &[("DATABASE_URL", &url)],
    );
    run("dump", &["dump", "--database-url", &url], &[]);
    run(
        "plan",
        &["plan", "--database-url", &url, "--target", &t],
        &[],
    );
    run(
        "plan json",
        &["plan", "--target", &t, "--format", "json"],
        &[("DATABASE_URL", &url)],
    );
    run(
        "diff",
        &["diff", "--database-url", &url, "--target", &t],
        &[],
    );
    run(
        "apply (fails)",
        &[
            "apply",
            "--database-url",
            &url,
            "--target",
            &t,
            "--phase",
            "expand",
        ],
        &[],
    );
    run("status", &["status", "--database-url", &url], &[]);
    run(
        "status json",
        &["status", "--database-url", &url, "--format", "json"],
        &[],
    );
    run(
        "abort dry run",
        &["abort", "--database-url", &url, "--dry-run"],
        &[],
    );
    run("abort", &["abort", "--database-url", &url], &[]);
    let bad_db = format!("postgres://{user}@{host}:{port}/no_such_db_here?password={MARK}");
    run(
        "?password= to a missing database",
        &["dump", "--database-url", &bad_db],
        &[],
    );
    let refused = format!("postgres://{user}:{MARK}@127.0.0.1:1/x");
    run(
        "connection refused",
        &["dump", "--database-url", &refused],
        &[],
    );
    let dsn = format!("host=127.0.0.1 port=1 user=x password={MARK} dbname=x");
    run("keyword string", &["dump", "--database-url", &dsn], &[]);
    let dsn_quoted = format!("host=127.0.0.1 port=1 dbname=x password='{MARK} with space'");
    run(
        "quoted keyword value",
        &["dump", "--database-url", &dsn_quoted],
        &[],
    );
    run(
        "bad keyword string",
        &["dump", "--database-url", &format!("host=db {MARK}")],
        &[],
    );
    run(
        "PGPASSWORD",
        &["dump"],
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", "1"),
            ("PGPASSWORD", MARK),
        ],
    );
    run(
        "PGPASSWORD, bad db",
        &["status"],
        &[
            ("PGHOST", &host),
            ("PGPORT", &port.to_string()),
            ("PGUSER", &user),
            ("PGDATABASE", "no_such_db"),
            ("PGPASSWORD", MARK),
        ],
    );
    let mut failed_somewhere = false;
    for (label, out) in &outputs {
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(MARK), "{label} shows the password:\n{text}");
        failed_somewhere |= !out.status.success();
    }
    assert!(failed_somewhere, "the error paths were exercised");
    let apply_err = String::from_utf8_lossy(&outputs[6].1.stderr).to_string();
    assert!(apply_err.contains("23505"), "the failing step: {apply_err}");
    // Nothing the ledger keeps mentions it either.
    let ledger: String = sqlx::query_scalar(
        "SELECT coalesce(string_agg(t::text, ' '), '') FROM (
             SELECT m::text AS t FROM bellows.migrations m
             UNION ALL SELECT s::text FROM bellows.steps s) x",
    )
    .fetch_one(&db.pool)
    .await
    .expect("ledger");
    assert!(!ledger.is_empty() && !ledger.contains(MARK), "{ledger}");
}

/// The whole workflow through PgBouncer in transaction pooling mode, where
/// server sessions change hands between transactions: named prepared
/// statements ("sqlx_s_1 already exists") or session settings would break.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_workflow_runs_through_pgbouncer_in_transaction_mode() {
    let bouncer = PgBouncer::start();
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, legacy text);
         INSERT INTO accounts SELECT g, 'user ' || g, 'x' FROM generate_series(1, 2000) g;",
    )
    .await;
    let url = bouncer.url(&db.name);
    let dir = tempfile::tempdir().expect("tmp");
    let v2 = dir.path().join("v2.yaml");
    std::fs::write(
        &v2,
        "tables:\n  accounts:\n    columns:\n      id: { type: bigint }\n      name: { type: text, nullable: false }\n      name_length: { type: integer, nullable: false, backfill: \"length(name)\" }\n    primary_key: [id]\n    indexes:\n      accounts_name_idx: { columns: [name] }\n    checks:\n      accounts_name_length_positive: \"name_length > 0\"\n",
    )
    .expect("v2");
    let v2s = v2.display().to_string();
    let dump = ok(
        &bellows(&["dump", "--database-url", &url], &[]),
        "dump through PgBouncer",
    );
    assert!(dump.contains("accounts:"), "{dump}");
    let plan = ok(
        &bellows(&["plan", "--database-url", &url, "--target", &v2s], &[]),
        "plan through PgBouncer",
    );
    assert!(plan.contains("backfill"), "{plan}");
    let mut notes = String::new();
    for phase in ["expand", "migrate", "contract"] {
        let mut args = vec![
            "apply",
            "--database-url",
            &url,
            "--phase",
            phase,
            "--batch-size",
            "300",
        ];
        if phase == "expand" {
            args.extend(["--target", &v2s]);
        }
        if phase == "contract" {
            args.extend(["--allow-hazard", "data-loss"]);
        }
        let out = bellows(&args, &[]);
        ok(&out, &format!("apply --phase {phase} through PgBouncer"));
        notes.push_str(&String::from_utf8_lossy(&out.stderr));
        let status = ok(
            &bellows(&["status", "--database-url", &url, "--format", "json"], &[]),
            "status through PgBouncer",
        );
        let v: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
        assert_eq!(v["completed_phase"], phase, "{v}");
    }
    // The index build could not take bellows's timeouts: it says so.
    assert!(notes.contains("transaction pooler"), "{notes}");
    let wrong: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts WHERE name_length IS DISTINCT FROM length(name)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert_eq!(wrong, 0, "every row backfilled");
    let again = ok(
        &bellows(&["plan", "--database-url", &url, "--target", &v2s], &[]),
        "re-plan",
    );
    assert!(again.contains("No changes"), "{again}");
    // A second migration: expand, then abort, through the pooler.
    let v3 = dir.path().join("v3.yaml");
    std::fs::write(
        &v3,
        std::fs::read_to_string(&v2).expect("v2").replace(
            "    primary_key: [id]\n",
            "      email: { type: text, backfill: \"name || '@example.com'\" }\n    primary_key: [id]\n",
        ),
    )
    .expect("v3");
    let v3s = v3.display().to_string();
    ok(
        &bellows(
            &[
                "apply",
                "--database-url",
                &url,
                "--target",
                &v3s,
                "--phase",
                "expand",
            ],
            &[],
        ),
        "expand v3",
    );
    ok(
        &bellows(&["abort", "--database-url", &url], &[]),
        "abort through PgBouncer",
    );
    let back = ok(
        &bellows(&["plan", "--database-url", &url, "--target", &v2s], &[]),
        "plan after abort",
    );
    assert!(back.contains("No changes"), "{back}");
    assert!(Path::new(&v3s).exists());
}

/// A connection error says what the server said (and its SQLSTATE), not
/// the server's own source position, which reads like a line of the
/// user's file ("... does not exist at line 948").
#[tokio::test]
async fn connection_errors_read_as_the_server_meant_them() {
    let (host, port, user) = support::servers::upstream();
    let url = format!("postgres://{user}@{host}:{port}/no_such_database_here");
    let out = bellows(&["dump", "--database-url", &url], &[]);
    let err = fails(&out, "a missing database");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("database \"no_such_database_here\" does not exist (SQLSTATE 3D000)"),
        "{err}"
    );
    assert!(!err.contains(" at line "), "{err}");
}

/// Introspection shares its catalog queries between two sessions on one
/// snapshot. Through a transaction pooler with a single server session the
/// second cannot join while the first's transaction holds that session:
/// it gives up within a moment and the first reads alone; with two it
/// joins. Either way the picture is the one a direct read gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_shares_its_queries_or_reads_alone_behind_a_pooler() {
    let db = TestDb::new().await;
    db.exec(
        "CREATE TABLE teams (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);
         CREATE TABLE users (id bigint PRIMARY KEY, team_id bigint REFERENCES teams (id), email text CHECK (email <> ''));
         CREATE INDEX ON users (email);
         CREATE VIEW team_users AS SELECT t.name, u.email FROM teams t JOIN users u ON u.team_id = t.id;",
    )
    .await;
    let read = |url: String| async move {
        let started = std::time::Instant::now();
        let found = bellows::introspect::introspect_url(&url, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("introspection through {url}: {e}"));
        (
            bellows::spec::to_yaml(&found.schema, Default::default()),
            found.sessions,
            started.elapsed(),
        )
    };
    let (direct, sessions, _) = read(db.url.clone()).await;
    assert!(direct.contains("team_users"), "{direct}");
    assert_eq!(sessions, 2, "directly, two sessions share the queries");
    for (pool, want) in [(1, 1), (2, 2)] {
        let bouncer = PgBouncer::start_with_pool(pool);
        let (through, sessions, took) = read(bouncer.url(&db.name)).await;
        assert_eq!(through, direct, "pool of {pool}");
        assert_eq!(sessions, want, "pool of {pool}: sessions");
        assert!(
            took < std::time::Duration::from_secs(10),
            "pool of {pool}: took {took:?}"
        );
    }
}
