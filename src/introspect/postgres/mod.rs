//! PostgreSQL introspection: one catalog query per object kind for the
//! whole database (never one per table), inside a single read-only,
//! repeatable-read transaction, so the cost stays flat per object and the
//! picture is consistent. Types, defaults and expressions come from
//! `format_type`, `pg_get_expr`, `pg_get_constraintdef` and
//! `pg_get_indexdef`, printed with `search_path = public`, which is how the
//! YAML format writes them.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Row};

use super::{
    ColumnRef, IntrospectError, Introspection, LEDGER_SCHEMA, Options, Place, Unmanaged,
    UnmanagedKind, Via,
};
use crate::conn::DbError;
use crate::conn::postgres::{query, query_scalar};
use crate::model::*;

type Result<T> = std::result::Result<T, IntrospectError>;

mod queries;
mod tables;
mod unmanaged;

use queries::*;

fn q(what: &'static str) -> impl FnOnce(sqlx::Error) -> IntrospectError {
    move |source| IntrospectError::Query {
        what,
        source: DbError(source),
    }
}

fn ident(text: String, what: &str) -> Result<Ident> {
    Ident::new(text.clone()).map_err(|e| IntrospectError::Unrepresentable {
        object: format!("{what} `{text}`"),
        detail: e.to_string(),
    })
}

fn qname(schema: String, name: String, what: &str) -> Result<QualifiedName> {
    Ok(QualifiedName::new(ident(schema, what)?, ident(name, what)?))
}

/// Reads the whole schema over `conn`. Read-only: it runs in a
/// `READ ONLY` transaction that is rolled back.
pub async fn introspect(conn: &mut PgConnection, opts: &Options) -> Result<Introspection> {
    // Everything in one transaction: a consistent picture, and through a
    // transaction pooler every statement reaches the same server session.
    // Types and expressions print unqualified for public, as YAML writes them.
    let mut tx = conn.begin().await.map_err(q("a read-only transaction"))?;
    sqlx::raw_sql(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
         SET LOCAL search_path = public",
    )
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

    let mut r = Reader {
        out: Introspection {
            server_version: version_num,
            dialect: Dialect::Postgres,
            ..Introspection::default()
        },
        managed: BTreeSet::new(),
        unmanaged_tables: BTreeSet::new(),
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
    };
    for k in KINDS {
        r.out.queries += 1;
        let rows = query(sqlx::AssertSqlSafe((k.sql)(&cx)))
            .bind(&cx.scope)
            .fetch_all(&mut *tx)
            .await
            .map_err(q(k.what))?;
        (k.read)(&mut r, rows, &cx)?;
    }
    tx.rollback()
        .await
        .map_err(q("the end of the read-only transaction"))?;

    r.out.unmanaged.sort();
    r.out.unmanaged.dedup();
    Ok(r.out)
}

/// What every kind's query and reader may need to know.
struct Context {
    /// The schemas read.
    scope: Vec<String>,
    /// Whether the user named no schemas (then every schema is read).
    all_schemas: bool,
    /// PostgreSQL 15 or later.
    pg15: bool,
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

/// `indnullsnotdistinct`, new in PostgreSQL 15, or `false` before it.
fn nulls_not_distinct(cx: &Context) -> &'static str {
    if cx.pg15 {
        "i.indnullsnotdistinct"
    } else {
        "false"
    }
}

/// Every kind's query, in the order they are read: what a reader looks up
/// (the tables, for columns; the managed objects, for what depends on
/// them) is read before it. A new kind is one entry here.
const KINDS: &[KindQuery] = &[
    KindQuery::new(
        "extensions",
        |_| Q_EXTENSIONS.into(),
        |r, rows, cx| r.extensions(rows, &cx.scope, cx.all_schemas),
    ),
    KindQuery::new("enum types", |_| Q_ENUMS.into(), |r, rows, _| r.enums(rows)),
    KindQuery::new(
        "sequences",
        |_| Q_SEQUENCES.into(),
        |r, rows, _| r.sequences(rows),
    ),
    KindQuery::new(
        "tables",
        |_| Q_RELATIONS.into(),
        |r, rows, _| r.relations(rows),
    ),
    KindQuery::new(
        "columns",
        |_| Q_COLUMNS.into(),
        |r, rows, _| r.columns(rows),
    ),
    KindQuery::new(
        "constraints",
        |cx| Q_CONSTRAINTS.replace("{NND}", nulls_not_distinct(cx)),
        |r, rows, _| r.constraints(rows),
    ),
    KindQuery::new(
        "indexes",
        |cx| Q_INDEXES.replace("{NND}", nulls_not_distinct(cx)),
        |r, rows, _| r.indexes(rows),
    ),
    KindQuery::new(
        "functions, triggers, types and policies",
        |_| Q_UNMANAGED.into(),
        |r, rows, _| r.unmanaged(rows),
    ),
    KindQuery::new(
        "dependencies",
        |_| Q_DEPENDENCIES.into(),
        |r, rows, _| r.dependencies(rows),
    ),
    KindQuery::new(
        "trigger functions",
        |_| Q_TRIGGER_BODIES.into(),
        |r, rows, _| r.trigger_bodies(rows),
    ),
];

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    i: usize,
    what: &'static str,
) -> Result<T> {
    row.try_get(i).map_err(q(what))
}

struct Reader {
    out: Introspection,
    /// Tables in the model.
    managed: BTreeSet<QualifiedName>,
    /// Tables seen but not modeled (partitioned, partitions, children).
    unmanaged_tables: BTreeSet<QualifiedName>,
}

impl Reader {
    fn note(&mut self, kind: UnmanagedKind, identity: String, place: Place) {
        self.out.unmanaged.push(Unmanaged {
            kind,
            identity,
            place,
            depends_on: Vec::new(),
        });
    }

    fn extensions(&mut self, rows: Vec<PgRow>, scope: &[String], all: bool) -> Result<()> {
        for row in rows {
            let name: String = get(&row, 0, "extensions")?;
            let schema: String = get(&row, 1, "extensions")?;
            let version: String = get(&row, 2, "extensions")?;
            if !all && !scope.contains(&schema) {
                continue;
            }
            let ext = Extension {
                schema: (schema != DEFAULT_SCHEMA)
                    .then(|| ident(schema, "schema"))
                    .transpose()?,
                version: Some(version),
            };
            self.out
                .schema
                .extensions
                .insert(ident(name, "extension")?, ext);
        }
        Ok(())
    }

    fn enums(&mut self, rows: Vec<PgRow>) -> Result<()> {
        for row in rows {
            let name = qname(
                get(&row, 0, "enum types")?,
                get(&row, 1, "enum types")?,
                "enum",
            )?;
            let values: Vec<String> = get(&row, 2, "enum types")?;
            self.out.schema.enums.insert(name, EnumType { values });
        }
        Ok(())
    }

    fn sequences(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "sequences";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "sequence")?;
            let deptype: Option<String> = get(&row, 9, W)?;
            if deptype.as_deref() == Some("i") {
                // An identity column's sequence is part of the column.
                continue;
            }
            let type_text: String = get(&row, 2, W)?;
            let data_type =
                ColumnType::parse(&type_text).map_err(|e| IntrospectError::Unrepresentable {
                    object: format!("sequence {name}"),
                    detail: e,
                })?;
            let (start, inc, min, max, cache): (i64, i64, i64, i64, i64) = (
                get(&row, 3, W)?,
                get(&row, 4, W)?,
                get(&row, 5, W)?,
                get(&row, 6, W)?,
                get(&row, 7, W)?,
            );
            let type_max = match data_type.base {
                BaseType::SmallInt => i16::MAX as i64,
                BaseType::Integer => i32::MAX as i64,
                _ => i64::MAX,
            };
            let type_min = match data_type.base {
                BaseType::SmallInt => i16::MIN as i64,
                BaseType::Integer => i32::MIN as i64,
                _ => i64::MIN,
            };
            // Leave out what equals PostgreSQL's default for the type and
            // direction, so that a dump shows only what was chosen.
            let (dmin, dmax) = if inc > 0 {
                (1, type_max)
            } else {
                (type_min, -1)
            };
            let min_value = (min != dmin).then_some(min);
            let max_value = (max != dmax).then_some(max);
            let dstart = if inc > 0 { min } else { max };
            let mut seq = Sequence::new(data_type);
            seq.start = (start != dstart).then_some(start);
            seq.increment = (inc != 1).then_some(inc);
            seq.min_value = min_value;
            seq.max_value = max_value;
            seq.cache = (cache != 1).then_some(cache);
            seq.cycle = get(&row, 8, W)?;
            let tschema: Option<String> = get(&row, 10, W)?;
            let tname: Option<String> = get(&row, 11, W)?;
            let cname: Option<String> = get(&row, 12, W)?;
            if let (Some(ts), Some(t), Some(c)) = (tschema, tname, cname) {
                // The model keeps owners in the sequence's own schema.
                if ts == name.schema.as_str() {
                    seq.owned_by = Some((ident(t, "table")?, ident(c, "column")?));
                }
            }
            self.out.schema.sequences.insert(name, seq);
        }
        Ok(())
    }
}
