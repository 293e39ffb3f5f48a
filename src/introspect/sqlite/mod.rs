//! Reading a SQLite file into the model: tables from `sqlite_schema`,
//! their columns, indexes and foreign keys from the `pragma_*` table
//! functions, and what only the `CREATE TABLE` text holds (constraint
//! names, CHECKs, generated columns, collations, AUTOINCREMENT) from that
//! text (`create_sql.rs`). SQLite has one namespace per file: its tables
//! are the model's unqualified (`public`) names. Views are read with
//! their query as written; triggers are reported, not managed; a table
//! the model cannot hold faithfully (a VIRTUAL generated column, a
//! deferrable key, a virtual table) is an error that names it, never
//! read half.

mod create_sql;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

use super::{IntrospectError, Introspection, Options, get, q};
use crate::model::{
    Check, Column, ColumnType, Deferrable, Dialect, FkAction, FkMatch, ForeignKey, Ident, Identity,
    Index, IndexKey, KeyTarget, NotValid, Place, PrimaryKey, QualifiedName, SortOrder, Table,
    Unique, Unmanaged, UnmanagedKind,
};

/// Leaves out the tables, indexes, views and triggers whose names bellows
/// or SQLite itself keeps for its own (`bellows_*` is the ledger).
macro_rules! own_names {
    ($m:literal) => {
        concat!(
            $m,
            "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND ",
            $m,
            "name NOT LIKE 'bellows\\_%' ESCAPE '\\'"
        )
    };
}

type Result<T> = std::result::Result<T, IntrospectError>;

fn ident(name: &str, what: &str) -> Result<Ident> {
    Ident::new(name).map_err(|e| IntrospectError::Unrepresentable {
        object: format!("{what} {name}"),
        detail: e.to_string(),
    })
}

fn unrepresentable(table: &str, detail: impl Into<String>) -> IntrospectError {
    IntrospectError::Unrepresentable {
        object: format!("table {table}"),
        detail: detail.into(),
    }
}

/// Reads the schema of the open database, in one read transaction.
pub async fn introspect(conn: &mut SqliteConnection, opts: &Options) -> Result<Introspection> {
    if let Some(s) = opts.schemas.iter().find(|s| *s != "main") {
        return Err(IntrospectError::NoSuchSchema(format!(
            "{s}` (a SQLite file has one schema, `main"
        )));
    }
    let mut tx = conn.begin().await.map_err(q("a read transaction"))?;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&mut *tx)
        .await
        .map_err(q("the SQLite version"))?;
    let mut out = Introspection {
        server_version: version_number(&version),
        dialect: Dialect::Sqlite,
        sessions: 1,
        ..Introspection::default()
    };
    let objects = sqlx::query(concat!(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE ",
        own_names!(""),
        " ORDER BY type, name"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(q("sqlite_schema"))?;
    out.queries += 1;
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut index_texts: BTreeMap<String, String> = BTreeMap::new();
    for row in &objects {
        let kind: String = get(row, 0, "sqlite_schema")?;
        let name: String = get(row, 1, "sqlite_schema")?;
        let table: String = get(row, 2, "sqlite_schema")?;
        let sql: Option<String> = get(row, 3, "sqlite_schema")?;
        match kind.as_str() {
            "table" => {
                texts.insert(name, sql.unwrap_or_default());
            }
            "index" => {
                if let Some(sql) = sql {
                    index_texts.insert(name, sql);
                }
            }
            "view" => {
                let sql = sql.unwrap_or_default();
                let (columns, query) = create_sql::read_view(&sql).ok_or_else(|| {
                    IntrospectError::Unrepresentable {
                        object: format!("view {name}"),
                        detail: format!("its CREATE VIEW text could not be read: {sql}"),
                    }
                })?;
                let mut view = crate::model::View::new(&query);
                view.columns = columns
                    .iter()
                    .map(|c| ident(c, "column"))
                    .collect::<Result<_>>()?;
                out.schema
                    .views
                    .insert(QualifiedName::public(ident(&name, "view")?), view);
            }
            "trigger" => out.unmanaged.push(Unmanaged {
                kind: UnmanagedKind::Trigger,
                identity: format!("{name} on {table}"),
                place: Place::Table {
                    table: QualifiedName::public(ident(&table, "table")?),
                    name: ident(&name, "trigger")?,
                },
                depends_on: Vec::new(),
                definition: sql.clone(),
            }),
            _ => {}
        }
    }
    let mut tables: BTreeMap<String, (Table, create_sql::CreateTable)> = BTreeMap::new();
    for (name, sql) in &texts {
        if sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE") {
            return Err(unrepresentable(
                name,
                "a virtual table (a module's, such as FTS or R*Tree) is not managed by bellows; keep it in a file of its own, or drop it",
            ));
        }
        let parsed = create_sql::read(sql).ok_or_else(|| {
            unrepresentable(
                name,
                format!("its CREATE TABLE text could not be read: {sql}"),
            )
        })?;
        if sql.to_ascii_lowercase().contains("deferrable") {
            return Err(unrepresentable(
                name,
                "a DEFERRABLE constraint is not modeled for SQLite yet; a plan would lose it",
            ));
        }
        let table = Table {
            strict: parsed.strict,
            without_rowid: parsed.without_rowid,
            ..Table::default()
        };
        tables.insert(name.clone(), (table, parsed));
    }
    read_columns(&mut tx, &mut tables).await?;
    read_indexes(&mut tx, &mut tables, &index_texts).await?;
    read_foreign_keys(&mut tx, &mut tables).await?;
    out.queries += 3;
    for (name, (table, parsed)) in tables {
        let qn = QualifiedName::public(ident(&name, "table")?);
        let mut used: BTreeSet<String> = table
            .checks
            .keys()
            .map(|k| k.as_str().to_string())
            .collect();
        let mut table = table;
        for c in parsed.checks {
            let cname = match c.name {
                Some(n) => n,
                None => (0..)
                    .map(|i| {
                        if i == 0 {
                            format!("{name}_check")
                        } else {
                            format!("{name}_check{i}")
                        }
                    })
                    .find(|n| !used.contains(n))
                    .unwrap_or_default(),
            };
            used.insert(cname.clone());
            table.checks.insert(
                ident(&cname, "check")?,
                Check {
                    expression: c.expression,
                    no_inherit: false,
                    not_valid: NotValid(false),
                    renamed_from: None,
                },
            );
        }
        let empty: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {})",
            crate::sql::quote_ident(&name)
        )))
        .fetch_one(&mut *tx)
        .await
        .map_err(q("whether a table has rows"))?;
        if empty {
            out.empty_tables.insert(qn.clone());
        }
        out.schema.tables.insert(qn, table);
    }
    tx.rollback()
        .await
        .map_err(q("the end of the read transaction"))?;
    out.unmanaged.sort();
    Ok(out)
}

/// `3.45.1` → 3045001.
fn version_number(v: &str) -> u32 {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    a * 1_000_000 + b * 1000 + c
}

/// A default as SQLite keeps it, with one pair of parentheses around the
/// whole taken off: bellows writes an expression default in them.
pub fn default_text(stored: &str) -> String {
    let t = stored.trim();
    create_sql::inside_parentheses(t)
        .unwrap_or(t)
        .trim()
        .to_string()
}

/// A declared type as the model holds it: SQLite keeps any text, which
/// decides the column's affinity; no type at all is BLOB affinity.
pub fn column_type(declared: &str) -> std::result::Result<ColumnType, String> {
    let t = declared.trim();
    ColumnType::parse(if t.is_empty() { "blob" } else { t })
}

async fn read_columns(
    tx: &mut SqliteConnection,
    tables: &mut BTreeMap<String, (Table, create_sql::CreateTable)>,
) -> Result<()> {
    const W: &str = "columns";
    let rows = sqlx::query(concat!(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden
           FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p
          WHERE m.type = 'table' AND ",
        own_names!("m."),
        " ORDER BY m.name, p.cid"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(q(W))?;
    let mut pk: BTreeMap<String, Vec<(i64, Ident)>> = BTreeMap::new();
    for row in &rows {
        let tname: String = get(row, 0, W)?;
        let Some((table, parsed)) = tables.get_mut(&tname) else {
            continue;
        };
        let name: String = get(row, 1, W)?;
        let declared: String = get(row, 2, W)?;
        let hidden: i64 = get(row, 6, W)?;
        let ty = column_type(&declared).map_err(|e| {
            unrepresentable(&tname, format!("column {name}: type `{declared}`: {e}"))
        })?;
        let cname = ident(&name, "column")?;
        let mut col = Column::new(cname.clone(), ty);
        col.nullable = get::<i64, _>(row, 3, W)? == 0;
        col.default = get::<Option<String>, _>(row, 4, W)?.map(|d| default_text(&d));
        if hidden == 2 {
            return Err(unrepresentable(
                &tname,
                format!(
                    "column {name} is a VIRTUAL generated column, which bellows does not model; make it STORED"
                ),
            ));
        }
        if hidden == 3 {
            col.generated = parsed
                .generated
                .iter()
                .find(|(c, _, _)| c.eq_ignore_ascii_case(&name))
                .map(|(_, e, _)| e.clone());
        }
        if let Some((_, coll)) = parsed
            .collations
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(&name))
        {
            col.collation = Some(ident(&coll.to_ascii_lowercase(), "collation")?);
        }
        let pos: i64 = get(row, 5, W)?;
        if pos > 0 {
            pk.entry(tname.clone()).or_default().push((pos, cname));
        }
        table.columns.push(col);
    }
    for (tname, mut cols) in pk {
        let Some((table, parsed)) = tables.get_mut(&tname) else {
            continue;
        };
        cols.sort();
        let columns: Vec<Ident> = cols.into_iter().map(|(_, c)| c).collect();
        let named = parsed
            .named
            .iter()
            .find(|k| k.kind == create_sql::KeyKind::Primary)
            .map(|k| k.name.clone());
        for c in table
            .columns
            .iter_mut()
            .filter(|c| columns.contains(&c.name))
        {
            c.nullable = false;
        }
        if parsed.autoincrement
            && let Some(c) = table.columns.iter_mut().find(|c| c.name == columns[0])
        {
            c.identity = Some(Identity::ByDefault);
        }
        table.primary_key = Some(PrimaryKey {
            name: ident(
                &named.unwrap_or_else(|| format!("{tname}_pkey")),
                "primary key",
            )?,
            columns,
            deferrable: Deferrable::No,
            renamed_from: None,
        });
    }
    Ok(())
}

fn named_key(
    parsed: &create_sql::CreateTable,
    kind: create_sql::KeyKind,
    columns: &[Ident],
) -> Option<String> {
    parsed
        .named
        .iter()
        .find(|k| {
            k.kind == kind
                && k.columns.len() == columns.len()
                && k.columns
                    .iter()
                    .zip(columns)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b.as_str()))
        })
        .map(|k| k.name.clone())
}

fn joined(columns: &[Ident]) -> String {
    columns
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join("_")
}

async fn read_indexes(
    tx: &mut SqliteConnection,
    tables: &mut BTreeMap<String, (Table, create_sql::CreateTable)>,
    index_texts: &BTreeMap<String, String>,
) -> Result<()> {
    const W: &str = "indexes";
    let rows = sqlx::query(concat!(
        "SELECT m.name, il.name, il.\"unique\", il.origin, ix.seqno, ix.cid, ix.name, ix.\"desc\", ix.coll
           FROM sqlite_schema m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ix
          WHERE m.type = 'table' AND ",
        own_names!("m."),
        " AND ix.key = 1
          ORDER BY m.name, il.name, ix.seqno"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(q(W))?;
    // (table, index) → (unique, origin, [(cid, column, desc, collation)])
    type Keys = Vec<(i64, Option<String>, bool, String)>;
    let mut found: BTreeMap<(String, String), (bool, String, Keys)> = BTreeMap::new();
    for row in &rows {
        let e = found.entry((get(row, 0, W)?, get(row, 1, W)?)).or_insert((
            get::<i64, _>(row, 2, W)? != 0,
            get(row, 3, W)?,
            Vec::new(),
        ));
        e.2.push((
            get(row, 5, W)?,
            get(row, 6, W)?,
            get::<i64, _>(row, 7, W)? != 0,
            get(row, 8, W)?,
        ));
    }
    for ((tname, iname), (unique, origin, keys)) in found {
        let Some((table, parsed)) = tables.get_mut(&tname) else {
            continue;
        };
        match origin.as_str() {
            "pk" => continue,
            "u" => {
                let columns = keys
                    .iter()
                    .map(|(_, c, _, _)| ident(c.as_deref().unwrap_or_default(), "column"))
                    .collect::<Result<Vec<_>>>()?;
                let name = named_key(parsed, create_sql::KeyKind::Unique, &columns)
                    .unwrap_or_else(|| format!("{tname}_{}_key", joined(&columns)));
                table.uniques.insert(
                    ident(&name, "unique constraint")?,
                    Unique {
                        columns,
                        nulls_not_distinct: false,
                        deferrable: Deferrable::No,
                        renamed_from: None,
                    },
                );
            }
            _ => {
                let (texts, predicate) = index_texts
                    .get(&iname)
                    .and_then(|sql| create_sql::index_parts(sql))
                    .ok_or_else(|| {
                        unrepresentable(
                            &tname,
                            format!("index {iname}: its CREATE INDEX text could not be read"),
                        )
                    })?;
                let mut index_keys = Vec::new();
                for (i, (cid, column, desc, coll)) in keys.into_iter().enumerate() {
                    let target = match (cid, column) {
                        (c, Some(name)) if c >= 0 => KeyTarget::Column(ident(&name, "column")?),
                        _ => {
                            let text = texts.get(i).cloned().unwrap_or_default();
                            // Written in parentheses, as bellows writes it.
                            KeyTarget::Expression(default_text(strip_order(&text)))
                        }
                    };
                    index_keys.push(IndexKey {
                        target,
                        order: if desc {
                            SortOrder::Desc
                        } else {
                            SortOrder::Asc
                        },
                        nulls: None,
                        opclass: None,
                        collation: (!coll.eq_ignore_ascii_case("binary"))
                            .then(|| ident(&coll.to_ascii_lowercase(), "collation"))
                            .transpose()?,
                    });
                }
                table.indexes.insert(
                    ident(&iname, "index")?,
                    Index {
                        unique,
                        method: crate::model::DEFAULT_INDEX_METHOD.to_string(),
                        keys: index_keys,
                        include: Vec::new(),
                        predicate,
                        nulls_not_distinct: false,
                        storage: Default::default(),
                        renamed_from: None,
                    },
                );
            }
        }
    }
    Ok(())
}

/// An index key's text without its ASC / DESC (the pragma says which).
fn strip_order(text: &str) -> &str {
    let t = text.trim();
    for suffix in [" asc", " desc"] {
        if t.len() > suffix.len() && t[t.len() - suffix.len()..].eq_ignore_ascii_case(suffix) {
            return t[..t.len() - suffix.len()].trim_end();
        }
    }
    t
}

fn action(text: &str) -> FkAction {
    match text.to_ascii_uppercase().as_str() {
        "RESTRICT" => FkAction::Restrict,
        "CASCADE" => FkAction::Cascade,
        "SET NULL" => FkAction::SetNull,
        "SET DEFAULT" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

async fn read_foreign_keys(
    tx: &mut SqliteConnection,
    tables: &mut BTreeMap<String, (Table, create_sql::CreateTable)>,
) -> Result<()> {
    const W: &str = "foreign keys";
    let rows = sqlx::query(concat!(
        "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete
           FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f
          WHERE m.type = 'table' AND ",
        own_names!("m."),
        " ORDER BY m.name, f.id, f.seq"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(q(W))?;
    type Fk = (String, Vec<String>, Vec<Option<String>>, String, String);
    let mut found: BTreeMap<(String, i64), Fk> = BTreeMap::new();
    for row in &rows {
        let e = found.entry((get(row, 0, W)?, get(row, 1, W)?)).or_insert((
            get(row, 2, W)?,
            Vec::new(),
            Vec::new(),
            get(row, 5, W)?,
            get(row, 6, W)?,
        ));
        e.1.push(get(row, 3, W)?);
        e.2.push(get(row, 4, W)?);
    }
    let pks: BTreeMap<String, Vec<Ident>> = tables
        .iter()
        .filter_map(|(n, (t, _))| {
            Some((
                n.to_ascii_lowercase(),
                t.primary_key.as_ref()?.columns.clone(),
            ))
        })
        .collect();
    for ((tname, _), (parent, from, to, on_update, on_delete)) in found {
        let Some((table, parsed)) = tables.get_mut(&tname) else {
            continue;
        };
        let columns = from
            .iter()
            .map(|c| ident(c, "column"))
            .collect::<Result<Vec<_>>>()?;
        let ref_columns = if to.iter().all(Option::is_some) {
            to.iter()
                .flatten()
                .map(|c| ident(c, "column"))
                .collect::<Result<Vec<_>>>()?
        } else {
            pks.get(&parent.to_ascii_lowercase()).cloned().ok_or_else(|| {
                unrepresentable(&tname, format!("a foreign key references {parent}, which has no primary key to stand for its columns"))
            })?
        };
        let name = named_key(parsed, create_sql::KeyKind::Foreign, &columns)
            .unwrap_or_else(|| format!("{tname}_{}_fkey", joined(&columns)));
        table.foreign_keys.insert(
            ident(&name, "foreign key")?,
            ForeignKey {
                columns,
                ref_table: QualifiedName::public(ident(&parent, "table")?),
                ref_columns,
                on_delete: action(&on_delete),
                on_update: action(&on_update),
                match_type: FkMatch::Simple,
                deferrable: Deferrable::No,
                not_valid: NotValid(false),
                renamed_from: None,
            },
        );
    }
    Ok(())
}
