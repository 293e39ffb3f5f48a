//! Test support: a fresh, uniquely named PostgreSQL database per test,
//! dropped afterwards, so tests run in parallel and leave nothing behind.
//! A test that cannot reach the server fails, saying how to start it.

#![allow(dead_code)] // each test binary uses a different part

pub mod dump;
pub mod random_schema;
pub mod servers;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server tests run against: TEST_DATABASE_URL or the default.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

/// `url` connecting as `user` (no password: the test server trusts local
/// connections).
pub fn with_user(url: &str, user: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let host_end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let host = match url[start..host_end].rfind('@') {
        Some(at) => &url[start + at + 1..host_end],
        None => &url[start..host_end],
    };
    format!("{}{user}@{host}{}", &url[..start], &url[host_end..])
}

async fn admin_connection() -> PgConnection {
    let url = server_url();
    match PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot reach PostgreSQL at {url}: {e}\n\
             These tests need a running server. Start the local one with\n  \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or point TEST_DATABASE_URL at a server where this user may CREATE DATABASE."
        ),
    }
}

/// A database created for one test and dropped when it goes out of scope.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

/// Databases left by test processes that died (a failed run can end before
/// every drop runs) are removed by the next run, once per process.
static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn sweep_leftovers(admin: &mut PgConnection) {
    // Pids mean something only for a server on this machine; a shared
    // server's other clients would look dead from here.
    let url = server_url();
    if !(url.contains("@127.0.0.1") || url.contains("@localhost") || url.contains("@[::1]")) {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'bellows\\_test\\_%'",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let dead = pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists());
        if dead && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        }
    }
}

impl TestDb {
    pub async fn new() -> TestDb {
        SWEPT
            .get_or_init(|| async {
                sweep_leftovers(&mut admin_connection().await).await;
            })
            .await;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "bellows_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = admin_connection().await;
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        let url = with_database(&server_url(), &name);
        let options: PgConnectOptions = url.parse().expect("a valid database URL");
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test database {name}: {e}"));
        TestDb { name, url, pool }
    }

    /// Makes role `name` unless the server has it (roles are the
    /// cluster's: they stay, and tests running at once may race to make
    /// one).
    pub async fn role(&self, name: &str) {
        self.exec(&format!(
            "DO $$ BEGIN CREATE ROLE {}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
            bellows::sql::quote_ident(name)
        ))
        .await;
    }

    /// Runs SQL text (several statements allowed), failing the test on error.
    pub async fn exec(&self, sql: &str) {
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("SQL failed: {e}\n--- SQL ---\n{sql}"));
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await, and the test's runtime is busy running this
        // very drop: a helper thread with its own runtime drops the
        // database. FORCE ends the pool's sessions; the pool itself is
        // left to the test's runtime.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async move {
                let mut admin = admin_connection().await;
                let _ = admin
                    .execute(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .await;
            });
        });
        let _ = handle.join();
    }
}

use sqlx::AssertSqlSafe as Safe;

/// A few rows per table, so backfills and validations have work to do.
pub async fn seed(db: &TestDb, schema: &bellows::model::Schema) {
    for (name, t) in &schema.tables {
        let cols: Vec<_> = t
            .columns
            .iter()
            .filter(|c| {
                c.identity.is_none()
                    && c.generated.is_none()
                    && c.default.as_deref().is_none_or(|d| !d.contains("nextval"))
            })
            .collect();
        for i in 1..=3 {
            let values: Vec<String> = cols
                .iter()
                .map(|c| match schema.base_type(&c.ty).to_string().as_str() {
                    "bigint" | "integer" | "smallint" => i.to_string(),
                    "text" | "varchar(100)" if c.name.as_str().contains("email") => {
                        format!("'v{i}@example.com'")
                    }
                    "text" | "varchar(100)" => format!("'{i}'"),
                    "jsonb" => format!("'{{\"kind\": \"k{i}\"}}'"),
                    "numeric(10,2)" => format!("{i}.50"),
                    // An enum's labels in turn, so its rows differ too.
                    ty => match schema
                        .enums
                        .iter()
                        .find(|(q, _)| q.to_string() == ty || q.name.as_str() == ty)
                    {
                        Some((_, e)) if !e.values.is_empty() => {
                            bellows::sql::quote_literal(&e.values[(i - 1) % e.values.len()])
                        }
                        _ => "DEFAULT".to_string(),
                    },
                })
                .collect();
            let sql = if cols.is_empty() {
                format!(
                    "INSERT INTO {} DEFAULT VALUES",
                    bellows::sql::postgres::qualified(name)
                )
            } else {
                format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    bellows::sql::postgres::qualified(name),
                    cols.iter()
                        .map(|c| bellows::sql::quote_ident(c.name.as_str()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    values.join(", ")
                )
            };
            // Tables with foreign keys to empty tables refuse rows: fine.
            let _ = sqlx::raw_sql(Safe(sql)).execute(&db.pool).await;
        }
    }
}

/// For every column of `from` that `to` keeps (under its name or a new
/// one, in its table or the table's new name) without a backfill: its
/// name in `to`, its (values, distinct values) now, and the query that
/// counts them in `to`'s terms, to run after the plan. A plan that
/// overwrites or loses values changes the counts.
pub async fn value_counts(
    db: &TestDb,
    from: &bellows::model::Schema,
    to: &bellows::model::Schema,
) -> Vec<(String, (i64, i64), String)> {
    use bellows::sql::{postgres::qualified, quote_ident};
    // Types without an equality operator are told apart by their text.
    let no_equality = |ty: &str| {
        [
            "circle", "point", "box", "polygon", "path", "line", "lseg", "json",
        ]
        .contains(&ty)
    };
    let count = |t: &bellows::model::QualifiedName, c: &str, ty: &str| {
        let c = quote_ident(c);
        let distinct = if no_equality(ty) {
            format!("{c}::text")
        } else {
            c.clone()
        };
        format!(
            "SELECT count({c})::bigint, count(DISTINCT {distinct})::bigint FROM {}",
            qualified(t),
        )
    };
    let mut out = Vec::new();
    for (tn, t) in &to.tables {
        let from_name = match from.tables.contains_key(tn) {
            true => tn.clone(),
            false => match &t.renamed_from {
                Some(r) => r.clone(),
                None => continue,
            },
        };
        let Some(ft) = from.tables.get(&from_name) else {
            continue;
        };
        for c in t.columns.iter().filter(|c| c.backfill.is_none()) {
            let old = ft
                .column(c.name.as_str())
                .or_else(|| c.renamed_from.as_ref().and_then(|r| ft.column(r.as_str())));
            let Some(old) = old else { continue };
            let before: (i64, i64) = sqlx::query_as(Safe(count(
                &from_name,
                old.name.as_str(),
                &old.ty.to_string(),
            )))
            .fetch_one(&db.pool)
            .await
            .expect("count values");
            out.push((
                format!("{tn}.{}", c.name),
                before,
                count(tn, c.name.as_str(), &c.ty.to_string()),
            ));
        }
    }
    out
}

/// The planner fixtures that must plan: `schemas/cases/*` but `error_*`, sorted.
/// Every statement of `plan`, in order.
pub fn statements(plan: &bellows::plan::Plan) -> Vec<&str> {
    plan.steps
        .iter()
        .flat_map(|s| s.statements.iter().map(String::as_str))
        .collect()
}

pub fn good_cases() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir("schemas/cases")
        .expect("schemas/cases exists (run from the package root)")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("from.yaml").exists())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .starts_with("error_")
        })
        .collect();
    dirs.sort();
    dirs
}

/// A fixture's name, its two schemas (`from` without hints), and a fresh
/// database holding `from` with a few rows.
pub async fn fixture_db(
    dir: &std::path::Path,
) -> (
    String,
    bellows::model::Schema,
    bellows::model::Schema,
    TestDb,
) {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_string();
    let read = |f: &str| {
        bellows::spec::read_file(&dir.join(f))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
    };
    let (from, to) = (read("from.yaml").without_hints(), read("to.yaml"));
    let db = TestDb::new().await;
    ensure_roles(&db, &[&from, &to]).await;
    db.exec(&bellows::sql::postgres::create_all(&from).join(";\n"))
        .await;
    seed(&db, &from).await;
    (name, from, to, db)
}

/// Makes the roles the schemas grant to (roles are the cluster's, not
/// the database's: they stay, as the server's other roles do; tests run
/// in parallel, so the race to make one is tolerated).
pub async fn ensure_roles(db: &TestDb, schemas: &[&bellows::model::Schema]) {
    let roles: std::collections::BTreeSet<&str> = schemas
        .iter()
        .flat_map(|s| {
            // The roles the file names, those whose new objects its
            // default privileges are for, and the owners it gives.
            s.roles
                .iter()
                .chain(s.default_grants.keys().map(|k| &k.owner))
                .chain(s.owners.values())
                .map(|r| r.as_str())
        })
        .filter(|r| *r != bellows::model::PUBLIC_ROLE)
        .collect();
    for r in roles {
        db.role(r).await;
    }
}

/// Runs one future per item, a few at a time (the server has a connection
/// limit), lets every one finish, and then fails with every failure's
/// message together (one broken fixture must not hide the others).
/// Returns how many ran.
pub async fn run_bounded<T, F, Fut>(items: Vec<T>, f: F) -> usize
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for item in items {
        let slots = slots.clone();
        let fut = f(item);
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("semaphore open");
            fut.await;
        });
    }
    let mut done = 0;
    let mut failures = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(()) => done += 1,
            Err(e) if e.is_panic() => {
                let p = e.into_panic();
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a task panicked".to_string());
                failures.push(msg);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n\n{}",
        failures.len(),
        done + failures.len(),
        failures.join("\n\n----------\n\n")
    );
    done
}

#[test]
fn database_urls_are_rewritten_for_another_user() {
    assert_eq!(
        with_user(
            "postgres://postgres@127.0.0.1:5432/db?sslmode=disable",
            "other"
        ),
        "postgres://other@127.0.0.1:5432/db?sslmode=disable"
    );
    assert_eq!(
        with_user("postgres://a:secret@host/db", "other"),
        "postgres://other@host/db"
    );
    assert_eq!(
        with_user("postgres://host", "other"),
        "postgres://other@host"
    );
}

#[test]
fn database_urls_are_rewritten() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

/// Runs an SQL script with psql (`-v ON_ERROR_STOP=1`), failing the test
/// with psql's output when a statement fails.
pub fn psql(url: &str, script: &str, label: &str) -> String {
    let program = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("psql"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file())
        .expect("psql is not installed: apt-get install postgresql-client (.ci/run does)");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("plan.sql");
    std::fs::write(&file, script).expect("write the script");
    let out = std::process::Command::new(program)
        .arg(url)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&file)
        .output()
        .expect("psql runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{label}: the script failed under psql:\n{text}\n--- script ---\n{script}"
    );
    text
}

/// What must match after contract; expressions are printed by the server
/// in its own words, so they are compared through the plan instead.
pub fn shape(t: &bellows::model::Table) -> String {
    let mut cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            format!(
                "{} {} null={} identity={:?} default={}",
                c.name,
                c.ty,
                c.nullable,
                c.identity,
                c.default.is_some()
            )
        })
        .collect();
    cols.sort();
    format!(
        "columns {cols:?}\npk {:?}\nunique {:?}\nfk {:?}\nchecks {:?}\nindexes {:?}",
        t.primary_key.as_ref().map(|p| (&p.name, &p.columns)),
        t.uniques
            .iter()
            .map(|(n, u)| (n, &u.columns))
            .collect::<Vec<_>>(),
        t.foreign_keys
            .iter()
            .map(|(n, f)| (n, &f.columns, &f.ref_table, &f.ref_columns))
            .collect::<Vec<_>>(),
        t.checks.keys().collect::<Vec<_>>(),
        t.indexes
            .iter()
            .map(|(n, i)| (n, i.unique, i.keys.len()))
            .collect::<Vec<_>>(),
    )
}

/// The plan from the live database at `db` to the target file text
/// `yaml`, its views and functions read by the server first as `plan`
/// does; with the notes on those it could not read.
pub async fn plan_live(db: &TestDb, yaml: &str) -> (bellows::plan::Plan, Vec<String>) {
    let live = bellows::introspect::introspect_url(&db.url, &Default::default())
        .await
        .expect("introspect");
    let mut target =
        bellows::spec::read_str(std::path::Path::new("target.yaml"), yaml).expect("target reads");
    let notes = bellows::introspect::canonicalize_url(&db.url, &live.schema, &mut target)
        .await
        .expect("canonicalize");
    let p = bellows::plan::plan(&live.schema, &target, &live.plan_options()).expect("plans");
    (p, notes)
}

/// `phase: description` of each step.
pub fn outline(p: &bellows::plan::Plan) -> Vec<String> {
    p.steps
        .iter()
        .map(|s| format!("{}: {}", s.phase.name(), s.description))
        .collect()
}
