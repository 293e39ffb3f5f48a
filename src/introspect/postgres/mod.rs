//! PostgreSQL introspection: one catalog query per object kind for the
//! whole database (never one per table), inside a single read-only,
//! repeatable-read transaction, so the cost stays flat per object and the
//! picture is consistent. Types, defaults and expressions come from
//! `format_type`, `pg_get_expr`, `pg_get_constraintdef` and
//! `pg_get_indexdef`, printed with `search_path = public`, which is how the
//! YAML format writes them. Each kind's file holds its query (`$1` is
//! the list of schemas in scope) and the reader of its rows; `KINDS`
//! lists them in the order they run.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection};

use super::{
    ColumnRef, IntrospectError, Introspection, LEDGER_SCHEMA, Options, Place, Unmanaged,
    UnmanagedKind, Via, get, q,
};
use crate::conn::postgres::{query, query_scalar};
use crate::model::*;

type Result<T> = std::result::Result<T, IntrospectError>;

/// Objects that belong to an extension are the extension's, not the user's.
macro_rules! not_extension_member {
    ($class:literal, $oid:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '",
            $class,
            "'::regclass AND xd.objid = ",
            $oid,
            " AND xd.deptype = 'e')"
        )
    };
}

/// Three arrays in one order, as [`grants`] reads them: the privileges
/// on an object (privileges column `$acl`, owner column `$owner`) granted
/// to others than its owner, their grantees ('' for PUBLIC), and whether
/// each may be granted on.
macro_rules! grant_arrays {
    ($acl:literal, $owner:literal) => {
        concat!(
            "array(SELECT a.privilege_type::text FROM aclexplode(", $acl, ") a
                   WHERE a.grantee <> ", $owner, " ORDER BY a.grantee, a.privilege_type),
            array(SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END
                    FROM aclexplode(", $acl, ") a WHERE a.grantee <> ", $owner,
            " ORDER BY a.grantee, a.privilege_type),
            array(SELECT a.is_grantable FROM aclexplode(", $acl, ") a
                   WHERE a.grantee <> ", $owner, " ORDER BY a.grantee, a.privilege_type)"
        )
    };
}

const Q_SCHEMAS: &str = concat!(
    "SELECT n.nspname::text FROM pg_namespace n
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', $1)
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND ",
    not_extension_member!("pg_namespace", "n.oid"),
    " ORDER BY 1"
);

mod aggregate;
mod collation;
mod comment;
mod composite_type;
mod constraints;
mod domain;
mod enum_type;
mod extended_statistics;
mod extension;
mod indexes;
mod owner;
mod partition;
mod policy;
mod privilege;
mod range_type;
mod routine;
mod sequence;
mod tables;
mod trigger;
mod unmanaged;
mod view;

pub use tables::still_empty;
pub use view::{canonicalize, canonicalize_offline};

fn ident(text: String, what: &str) -> Result<Ident> {
    Ident::new(text.clone()).map_err(|e| IntrospectError::Unrepresentable {
        object: format!("{what} `{text}`"),
        detail: e.to_string(),
    })
}

/// The type the server printed (`format_type`) as `what` ("type",
/// "subtype", ...) of `object`, or an error that names both.
fn parse_type(text: &str, object: std::fmt::Arguments<'_>, what: &str) -> Result<ColumnType> {
    ColumnType::parse(text).map_err(|e| IntrospectError::Unrepresentable {
        object: object.to_string(),
        detail: format!("{what} `{text}`: {e}"),
    })
}

fn qname(schema: String, name: String, what: &str) -> Result<QualifiedName> {
    Ok(QualifiedName::new(ident(schema, what)?, ident(name, what)?))
}

/// Reads the whole schema over `conn`. Read-only: it runs in a
/// `READ ONLY` transaction that is rolled back.
pub async fn introspect(conn: &mut PgConnection, opts: &Options) -> Result<Introspection> {
    introspect_with(conn, None::<std::future::Ready<Option<PgConnection>>>, opts).await
}

/// The settings of each reading transaction. Types and expressions print
/// unqualified for public, as YAML writes them. No JIT: a catalog query's
/// cost estimate passes jit_above_cost (its anti-joins on pg_depend), and
/// compiling it took 45 ms of a query that runs in 1 ms, on a server with
/// JIT on (the default). No parallel workers: the catalog queries already
/// run on two sessions, and a worker beside each only competes with them
/// (and with the server's own traffic) for the cores; at 10,000 tables on
/// two cores `bellows plan` took 0.89 times as long without them
/// (`examples/plan_bench.rs`).
const SESSION: &str = "SET LOCAL search_path = public; SET LOCAL jit = off; \
                       SET LOCAL max_parallel_workers_per_gather = 0";

/// How long a second session may take to join the first one's snapshot
/// once it is connected, before it gives up and leaves the first to run
/// every query alone.
const JOIN_WITHIN: std::time::Duration = std::time::Duration::from_millis(500);

/// The snapshot of the transaction on `tx`, for a second session to
/// share: the two then see one picture of the catalog. `None` on a
/// standby, which cannot export one (and not in a savepoint: a snapshot
/// is exported from the top transaction only).
async fn export_snapshot(tx: &mut PgConnection) -> Result<Option<String>> {
    query_scalar("SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_export_snapshot() END")
        .fetch_one(tx)
        .await
        .map_err(q("a snapshot to share"))
}

/// The second session's part: once `open` gives it a connection, it
/// joins snapshot `id`, read-only, and takes the queries the first has
/// not taken yet (`next`), until none is left. It gives nothing when it
/// cannot connect or join within [`JOIN_WITHIN`] (a transaction pooler
/// with no server session to spare lets it wait until the first's
/// transaction ends). Returns its rows, and whether it joined.
async fn help(
    open: impl Future<Output = Option<PgConnection>>,
    id: &str,
    next: &std::sync::atomic::AtomicUsize,
    cx: &Context,
) -> (Result<Vec<(usize, Vec<PgRow>)>>, bool) {
    let Some(mut conn) = open.await else {
        return (Ok(Vec::new()), false);
    };
    let set = format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}; {SESSION}",
        crate::sql::quote_literal(id)
    );
    let join = sqlx::raw_sql(sqlx::AssertSqlSafe(set)).execute(&mut conn);
    // A connection given up on is dropped, not closed: the server rolls
    // back whatever it was in.
    if !matches!(tokio::time::timeout(JOIN_WITHIN, join).await, Ok(Ok(_))) {
        return (Ok(Vec::new()), false);
    }
    let rows = fetch_shared(&mut conn, next, cx).await;
    if rows.is_ok() {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
        let _ = conn.close().await;
    }
    (rows, true)
}

/// As [`introspect`], with a second session to share the catalog queries
/// when `helper` gives one: the first does not wait for it, but starts on
/// the queries; the second joins the first one's snapshot when it is
/// connected (see [`help`]) and from then on each takes the next query
/// not yet taken. The rows are read in `KINDS` order as before. The
/// helper is a future that is polled only here: it should already be
/// connecting (a spawned task), so that the two connect at once.
pub async fn introspect_with(
    conn: &mut PgConnection,
    helper: Option<impl Future<Output = Option<PgConnection>>>,
    opts: &Options,
) -> Result<Introspection> {
    // Everything in one transaction: a consistent picture, and through a
    // transaction pooler every statement reaches the same server session.
    let mut tx = conn.begin().await.map_err(q("a read-only transaction"))?;
    let set = format!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; {SESSION}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(set))
        .execute(&mut *tx)
        .await
        .map_err(q("a read-only transaction"))?;
    let version: String = query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut *tx)
        .await
        .map_err(q("the server version"))?;
    let version_num: u32 = version.trim().parse().unwrap_or(0);
    if version_num < 120000 {
        return Err(IntrospectError::OldServer(version));
    }
    let pg15 = version_num >= 150000;
    let pg14 = version_num >= 140000;

    let mut r = Reader {
        out: Introspection {
            server_version: version_num,
            dialect: Dialect::Postgres,
            ..Introspection::default()
        },
        managed: BTreeSet::new(),
        column_numbers: BTreeMap::new(),
        identity_options: BTreeMap::new(),
    };

    let all: Vec<String> = query_scalar(Q_SCHEMAS)
        .bind(LEDGER_SCHEMA)
        .fetch_all(&mut *tx)
        .await
        .map_err(q("schemas"))?;
    r.out.queries += 1;
    let scope: Vec<String> = if opts.schemas.is_empty() {
        all
    } else {
        for s in &opts.schemas {
            if !all.contains(s) {
                return Err(IntrospectError::NoSuchSchema(s.clone()));
            }
        }
        let mut s = opts.schemas.clone();
        s.sort();
        s.dedup();
        s
    };
    for s in &scope {
        if s != DEFAULT_SCHEMA {
            r.out.schema.schemas.insert(ident(s.clone(), "schema")?);
        }
    }

    let cx = Context {
        scope,
        all_schemas: opts.schemas.is_empty(),
        pg15,
        pg14,
        emptiness_from_statistics: opts.emptiness_from_statistics,
    };
    let shared = match helper {
        Some(open) => export_snapshot(&mut tx).await?.map(|id| (open, id)),
        None => None,
    };
    r.out.sessions = 1;
    match shared {
        None => {
            for k in KINDS {
                r.out.queries += 1;
                let rows = fetch(&mut tx, k, &cx).await?;
                (k.read)(&mut r, rows, &cx)?;
            }
        }
        Some((open, id)) => {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let (a, (b, joined)) = tokio::join!(
                fetch_shared(&mut tx, &next, &cx),
                help(open, &id, &next, &cx)
            );
            if joined {
                r.out.sessions = 2;
            }
            let mut rows: Vec<(usize, Vec<PgRow>)> = a?.into_iter().chain(b?).collect();
            rows.sort_by_key(|(i, _)| *i);
            for ((_, rows), k) in rows.into_iter().zip(KINDS) {
                r.out.queries += 1;
                (k.read)(&mut r, rows, &cx)?;
            }
        }
    }
    tx.rollback()
        .await
        .map_err(q("the end of the read-only transaction"))?;

    r.leave_sequences_of_unmanaged_tables();
    r.out.unmanaged.sort();
    r.out.unmanaged.dedup();
    Ok(r.out)
}

/// Takes the next kind's query not yet taken (`next`) and fetches its
/// rows, until none is left: one of two sessions sharing the work.
async fn fetch_shared(
    conn: &mut PgConnection,
    next: &std::sync::atomic::AtomicUsize,
    cx: &Context,
) -> Result<Vec<(usize, Vec<PgRow>)>> {
    let mut got = Vec::new();
    loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(k) = KINDS.get(i) else {
            return Ok(got);
        };
        got.push((i, fetch(conn, k, cx).await?));
    }
}

/// The rows of one kind's query.
async fn fetch(conn: &mut PgConnection, k: &KindQuery, cx: &Context) -> Result<Vec<PgRow>> {
    query(sqlx::AssertSqlSafe((k.sql)(cx)))
        .bind(&cx.scope)
        .fetch_all(conn)
        .await
        .map_err(q(k.what))
}

/// What every kind's query and reader may need to know.
struct Context {
    /// The schemas read.
    scope: Vec<String>,
    /// Whether the user named no schemas (then every schema is read).
    all_schemas: bool,
    /// PostgreSQL 15 or later.
    pg15: bool,
    /// PostgreSQL 14 or later (SQL-standard function bodies).
    pg14: bool,
    /// See [`Options::emptiness_from_statistics`].
    emptiness_from_statistics: bool,
}

/// One catalog query per kind of object, for the whole database: what it
/// reads (for errors), its text (some depend on the server version; the
/// only substitution is a column name chosen here), and the reader that
/// takes its rows into the model.
struct KindQuery {
    what: &'static str,
    sql: fn(&Context) -> String,
    read: fn(&mut Reader, Vec<PgRow>, &Context) -> Result<()>,
}

impl KindQuery {
    const fn new(
        what: &'static str,
        sql: fn(&Context) -> String,
        read: fn(&mut Reader, Vec<PgRow>, &Context) -> Result<()>,
    ) -> KindQuery {
        KindQuery { what, sql, read }
    }
}

/// Every kind's query, in the order they are read: what a reader looks up
/// (the tables, for columns; the managed objects, for what depends on
/// them) is read before it. A new kind is its file (the query, and the
/// reader that takes its rows into the model) and one line here.
const KINDS: &[KindQuery] = &[
    extension::KIND,
    enum_type::KIND,
    collation::KIND,
    domain::KIND,
    range_type::KIND,
    composite_type::KIND,
    sequence::KIND,
    tables::RELATIONS,
    tables::COLUMNS,
    constraints::CONSTRAINTS,
    view::KIND,
    // After the views: a materialized view's indexes are read with them.
    indexes::INDEXES,
    view::READS,
    routine::KIND,
    aggregate::KIND,
    trigger::KIND,
    policy::KIND,
    extended_statistics::KIND,
    privilege::KIND,
    privilege::ROLES,
    // After every object it may be on.
    owner::KIND,
    // After every object it may be on.
    comment::KIND,
    unmanaged::UNMANAGED,
    unmanaged::DEPENDENCIES,
    unmanaged::TRIGGER_BODIES,
];

/// Runs `ddl` in a savepoint of the transaction on `tx`: `Ok(Err(why))`,
/// with the server's message, when the server refuses it (the savepoint
/// is rolled back, so the transaction goes on); `Err` when the
/// transaction itself fails.
async fn in_savepoint(
    tx: &mut PgConnection,
    ddl: &str,
    what: &'static str,
) -> Result<std::result::Result<(), String>> {
    let sql = format!("SAVEPOINT bellows_try;\n{ddl};\nRELEASE SAVEPOINT bellows_try");
    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *tx)
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(e) => {
            sqlx::raw_sql("ROLLBACK TO SAVEPOINT bellows_try")
                .execute(&mut *tx)
                .await
                .map_err(q(what))?;
            Ok(Err(match e.as_database_error() {
                Some(d) => d.message().to_string(),
                None => e.to_string(),
            }))
        }
    }
}

/// Grants from three array columns of `row` starting at `at`: the
/// privileges, the grantees (`''` for PUBLIC) and whether each may be
/// granted on, as the queries' `aclexplode` gives them.
fn grants(row: &PgRow, at: usize, what: &'static str) -> Result<Vec<ViewGrant>> {
    let privileges: Vec<String> = get(row, at, what)?;
    let grantees: Vec<String> = get(row, at + 1, what)?;
    let grantable: Vec<bool> = get(row, at + 2, what)?;
    let mut out = Vec::with_capacity(privileges.len());
    for ((privilege, grantee), grantable) in privileges.into_iter().zip(grantees).zip(grantable) {
        out.push(ViewGrant {
            privilege,
            grantee: match grantee.as_str() {
                "" => None,
                _ => Some(ident(grantee, "role")?),
            },
            grantable,
        });
    }
    Ok(out)
}

struct Reader {
    out: Introspection,
    /// Tables in the model.
    managed: BTreeSet<QualifiedName>,
    /// Each managed table's columns by number, for the constraints,
    /// which list their columns so.
    column_numbers: BTreeMap<QualifiedName, BTreeMap<i32, Ident>>,
    /// Identity columns' sequence options, by table and column, read with
    /// the sequences and taken by the columns.
    identity_options: BTreeMap<(QualifiedName, Ident), SequenceOptions>,
}

impl Reader {
    fn note(&mut self, kind: UnmanagedKind, identity: String, place: Place) {
        self.out.unmanaged.push(Unmanaged {
            kind,
            identity,
            place,
            depends_on: Vec::new(),
            definition: None,
        });
    }
}
