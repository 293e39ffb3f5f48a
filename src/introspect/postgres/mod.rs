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

    let rows = fetch(
        &mut tx,
        Q_EXTENSIONS,
        &scope,
        "extensions",
        &mut r.out.queries,
    )
    .await?;
    r.extensions(rows, &scope, opts.schemas.is_empty())?;
    let rows = fetch(&mut tx, Q_ENUMS, &scope, "enum types", &mut r.out.queries).await?;
    r.enums(rows)?;
    let rows = fetch(
        &mut tx,
        Q_SEQUENCES,
        &scope,
        "sequences",
        &mut r.out.queries,
    )
    .await?;
    r.sequences(rows)?;
    let rows = fetch(&mut tx, Q_RELATIONS, &scope, "tables", &mut r.out.queries).await?;
    r.relations(rows)?;
    let rows = fetch(&mut tx, Q_COLUMNS, &scope, "columns", &mut r.out.queries).await?;
    r.columns(rows)?;
    let nnd = if pg15 {
        "i.indnullsnotdistinct"
    } else {
        "false"
    };
    let constraints = Q_CONSTRAINTS.replace("{NND}", nnd);
    let rows = fetch_owned(
        &mut tx,
        constraints,
        &scope,
        "constraints",
        &mut r.out.queries,
    )
    .await?;
    r.constraints(rows)?;
    let indexes = Q_INDEXES.replace("{NND}", nnd);
    let rows = fetch_owned(&mut tx, indexes, &scope, "indexes", &mut r.out.queries).await?;
    r.indexes(rows)?;
    let rows = fetch(
        &mut tx,
        Q_UNMANAGED,
        &scope,
        "functions, triggers, types and policies",
        &mut r.out.queries,
    )
    .await?;
    r.unmanaged(rows)?;
    let rows = fetch(
        &mut tx,
        Q_DEPENDENCIES,
        &scope,
        "dependencies",
        &mut r.out.queries,
    )
    .await?;
    r.dependencies(rows)?;
    let rows = fetch(
        &mut tx,
        Q_TRIGGER_BODIES,
        &scope,
        "trigger functions",
        &mut r.out.queries,
    )
    .await?;
    r.trigger_bodies(rows)?;
    tx.rollback()
        .await
        .map_err(q("the end of the read-only transaction"))?;

    r.out.unmanaged.sort();
    r.out.unmanaged.dedup();
    Ok(r.out)
}

async fn fetch(
    conn: &mut PgConnection,
    sql: &'static str,
    scope: &[String],
    what: &'static str,
    count: &mut usize,
) -> Result<Vec<PgRow>> {
    *count += 1;
    query(sql)
        .bind(scope)
        .fetch_all(conn)
        .await
        .map_err(q(what))
}

/// For the queries whose text depends on the server version; the only
/// substitution is a fixed column name chosen in this module.
async fn fetch_owned(
    conn: &mut PgConnection,
    sql: String,
    scope: &[String],
    what: &'static str,
    count: &mut usize,
) -> Result<Vec<PgRow>> {
    *count += 1;
    query(sqlx::AssertSqlSafe(sql))
        .bind(scope)
        .fetch_all(conn)
        .await
        .map_err(q(what))
}

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

    fn relations(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "tables";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            let kind: String = get(&row, 2, W)?;
            let is_partition: bool = get(&row, 3, W)?;
            let persistence: String = get(&row, 4, W)?;
            let comment: Option<String> = get(&row, 5, W)?;
            let inherits: bool = get(&row, 6, W)?;
            let rls: bool = get(&row, 7, W)?;
            let acl: bool = get(&row, 8, W)?;
            let identity: String = get(&row, 9, W)?;
            // No page at all: no row (a table whose rows were deleted
            // keeps its pages until VACUUM truncates them, and counts as
            // not empty).
            let empty: bool = get(&row, 10, W)?;
            if empty {
                self.out.empty_tables.insert(name.clone());
            }
            let unmanaged_kind = match kind.as_str() {
                "v" => Some(UnmanagedKind::View),
                "m" => Some(UnmanagedKind::MaterializedView),
                "f" => Some(UnmanagedKind::ForeignTable),
                "p" => Some(UnmanagedKind::PartitionedTable),
                _ if is_partition => Some(UnmanagedKind::Partition),
                _ if inherits => Some(UnmanagedKind::InheritedTable),
                _ => None,
            };
            if let Some(k) = unmanaged_kind {
                if matches!(kind.as_str(), "p" | "r") {
                    self.unmanaged_tables.insert(name.clone());
                }
                self.note(k, identity, Place::Schema(name));
                continue;
            }
            if persistence == "u" {
                self.note(UnmanagedKind::UnloggedTable, identity.clone(), Place::Other);
            }
            if rls {
                self.note(
                    UnmanagedKind::RowLevelSecurity,
                    identity.clone(),
                    Place::Other,
                );
            }
            if acl {
                self.note(UnmanagedKind::Privileges, identity, Place::Other);
            }
            self.managed.insert(name.clone());
            self.out.schema.tables.insert(
                name,
                Table {
                    comment,
                    ..Table::default()
                },
            );
        }
        Ok(())
    }

    fn table(&mut self, name: &QualifiedName) -> Option<&mut Table> {
        self.out.schema.tables.get_mut(name)
    }

    fn columns(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "columns";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let col_name: String = get(&row, 2, W)?;
            let type_text: String = get(&row, 3, W)?;
            let ty =
                ColumnType::parse(&type_text).map_err(|e| IntrospectError::Unrepresentable {
                    object: format!("column {table}.{col_name}"),
                    detail: format!("type `{type_text}`: {e}"),
                })?;
            let mut c = Column::new(ident(col_name, "column")?, ty);
            let not_null: bool = get(&row, 4, W)?;
            c.nullable = !not_null;
            let expr: Option<String> = get(&row, 5, W)?;
            let identity: String = get(&row, 6, W)?;
            let generated: String = get(&row, 7, W)?;
            c.identity = match identity.as_str() {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ => None,
            };
            if generated == "s" {
                c.generated = expr;
            } else {
                c.default = expr;
            }
            let collation: Option<String> = get(&row, 8, W)?;
            c.collation = collation.map(|x| ident(x, "collation")).transpose()?;
            c.comment = get(&row, 9, W)?;
            if let Some(t) = self.table(&table) {
                t.columns.push(c);
            }
        }
        Ok(())
    }

    fn constraints(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "constraints";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let name = ident(get(&row, 2, W)?, "constraint")?;
            let kind: String = get(&row, 3, W)?;
            let cols: Vec<String> = get(&row, 4, W)?;
            let cols: Vec<Ident> = cols
                .into_iter()
                .map(|c| ident(c, "column"))
                .collect::<Result<_>>()?;
            let deferrable = match (get::<bool>(&row, 12, W)?, get::<bool>(&row, 13, W)?) {
                (false, _) => Deferrable::No,
                (true, false) => Deferrable::InitiallyImmediate,
                (true, true) => Deferrable::InitiallyDeferred,
            };
            let def: String = get(&row, 15, W)?;
            let identity = format!(
                "{} on {}",
                crate::sql::quote_ident(name.as_str()),
                crate::sql::postgres::qualified(&table)
            );
            match kind.as_str() {
                "p" => {
                    if let Some(t) = self.table(&table) {
                        t.primary_key = Some(PrimaryKey {
                            name,
                            columns: cols,
                            renamed_from: None,
                        });
                    }
                }
                "u" => {
                    let nnd: bool = get(&row, 16, W)?;
                    if let Some(t) = self.table(&table) {
                        t.uniques.insert(
                            name,
                            Unique {
                                columns: cols,
                                nulls_not_distinct: nnd,
                                deferrable,
                                renamed_from: None,
                            },
                        );
                    }
                }
                "c" => {
                    let no_inherit: bool = get(&row, 14, W)?;
                    let expression =
                        check_expression(&def).ok_or_else(|| IntrospectError::Unrepresentable {
                            object: format!("check constraint {identity}"),
                            detail: format!("unexpected definition `{def}`"),
                        })?;
                    if let Some(t) = self.table(&table) {
                        t.checks.insert(
                            name,
                            Check {
                                expression,
                                no_inherit,
                                renamed_from: None,
                            },
                        );
                    }
                }
                "f" => {
                    let ref_table = qname(get(&row, 5, W)?, get(&row, 6, W)?, "table")?;
                    if !self.managed.contains(&ref_table) {
                        self.note(
                            UnmanagedKind::ForeignKeyToUnmanaged,
                            identity,
                            Place::Table { table, name },
                        );
                        continue;
                    }
                    let ref_cols: Vec<String> = get(&row, 8, W)?;
                    let action = |code: String| match code.as_str() {
                        "r" => FkAction::Restrict,
                        "c" => FkAction::Cascade,
                        "n" => FkAction::SetNull,
                        "d" => FkAction::SetDefault,
                        _ => FkAction::NoAction,
                    };
                    let fk = ForeignKey {
                        columns: cols,
                        ref_table,
                        ref_columns: ref_cols
                            .into_iter()
                            .map(|c| ident(c, "column"))
                            .collect::<Result<_>>()?,
                        on_update: action(get(&row, 9, W)?),
                        on_delete: action(get(&row, 10, W)?),
                        match_type: if get::<String>(&row, 11, W)? == "f" {
                            FkMatch::Full
                        } else {
                            FkMatch::Simple
                        },
                        deferrable,
                        renamed_from: None,
                    };
                    if let Some(t) = self.table(&table) {
                        t.foreign_keys.insert(name, fk);
                    }
                }
                _ => self.note(
                    UnmanagedKind::ExclusionConstraint,
                    identity,
                    Place::Table { table, name },
                ),
            }
        }
        Ok(())
    }

    fn indexes(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "indexes";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let name = ident(get(&row, 2, W)?, "index")?;
            let valid: bool = get(&row, 6, W)?;
            if !valid {
                let identity = format!(
                    "{}.{}",
                    crate::sql::quote_ident(table.schema.as_str()),
                    crate::sql::quote_ident(name.as_str())
                );
                self.note(
                    UnmanagedKind::InvalidIndex,
                    identity,
                    Place::Schema(QualifiedName::new(table.schema.clone(), name)),
                );
                continue;
            }
            let nkey: i32 = get(&row, 5, W)?;
            let cols: Vec<Option<String>> = get(&row, 7, W)?;
            let defs: Vec<String> = get(&row, 8, W)?;
            let options: Vec<i32> = get(&row, 9, W)?;
            let opclasses: Vec<Option<String>> = get(&row, 10, W)?;
            let collations: Vec<Option<String>> = get(&row, 11, W)?;
            let mut keys = Vec::new();
            let mut include = Vec::new();
            for (i, (col, def)) in cols.into_iter().zip(defs).enumerate() {
                if i as i32 >= nkey {
                    if let Some(c) = col {
                        include.push(ident(c, "column")?);
                    }
                    continue;
                }
                let opt = options.get(i).copied().unwrap_or(0);
                let desc = opt & 1 != 0;
                let nulls_first = opt & 2 != 0;
                let order = if desc {
                    SortOrder::Desc
                } else {
                    SortOrder::Asc
                };
                // Only a placement that differs from the direction's default.
                let nulls = match (desc, nulls_first) {
                    (false, true) => Some(NullsOrder::First),
                    (true, false) => Some(NullsOrder::Last),
                    _ => None,
                };
                let target = match col {
                    Some(c) => KeyTarget::Column(ident(c, "column")?),
                    None => KeyTarget::Expression(def),
                };
                keys.push(IndexKey {
                    target,
                    order,
                    nulls,
                    opclass: opclasses.get(i).cloned().flatten(),
                    collation: collations
                        .get(i)
                        .cloned()
                        .flatten()
                        .map(|c| ident(c, "collation"))
                        .transpose()?,
                });
            }
            let index = Index {
                unique: get(&row, 3, W)?,
                method: get(&row, 4, W)?,
                keys,
                include,
                predicate: get(&row, 12, W)?,
                nulls_not_distinct: get(&row, 13, W)?,
                renamed_from: None,
            };
            if let Some(t) = self.table(&table) {
                t.indexes.insert(name, index);
            }
        }
        Ok(())
    }

    fn unmanaged(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "unmanaged objects";
        for row in rows {
            let kind: String = get(&row, 0, W)?;
            let identity: String = get(&row, 1, W)?;
            let schema: Option<String> = get(&row, 2, W)?;
            let name: Option<String> = get(&row, 3, W)?;
            let table: Option<String> = get(&row, 4, W)?;
            let place = match (schema, name, table) {
                (Some(s), Some(n), Some(t)) => Place::Table {
                    table: qname(s, t, "table")?,
                    name: ident(n, "name")?,
                },
                (Some(s), Some(n), None) => Place::Schema(qname(s, n, "name")?),
                _ => Place::Other,
            };
            let kind = match kind.as_str() {
                "procedure" => UnmanagedKind::Procedure,
                "aggregate" => UnmanagedKind::Aggregate,
                "trigger" => UnmanagedKind::Trigger,
                "domain" => UnmanagedKind::Domain,
                "range" => UnmanagedKind::RangeType,
                "composite" => UnmanagedKind::CompositeType,
                "policy" => UnmanagedKind::Policy,
                "rule" => UnmanagedKind::Rule,
                "collation" => UnmanagedKind::Collation,
                "event trigger" => UnmanagedKind::EventTrigger,
                _ => UnmanagedKind::Function,
            };
            self.note(kind, identity, place);
        }
        Ok(())
    }

    fn dependencies(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "dependencies";
        let mut deps: BTreeMap<String, BTreeSet<ColumnRef>> = BTreeMap::new();
        for row in rows {
            let view: Option<String> = get(&row, 0, W)?;
            let object: String = get(&row, 1, W)?;
            let table = qname(get(&row, 2, W)?, get(&row, 3, W)?, "table")?;
            if !self.managed.contains(&table) {
                continue;
            }
            let column: Option<String> = get(&row, 4, W)?;
            let column = column.map(|c| ident(c, "column")).transpose()?;
            deps.entry(view.unwrap_or(object))
                .or_default()
                .insert(ColumnRef {
                    table,
                    column,
                    via: Via::Catalog,
                });
        }
        // Views are keyed by their relation identity (see the query), the
        // rest by their own; both are pg_identify_object's text.
        for u in &mut self.out.unmanaged {
            if let Some(d) = deps.get(&u.identity) {
                u.depends_on = d.iter().cloned().collect();
            }
        }
        Ok(())
    }

    /// The columns each trigger's function refers to, where the catalog
    /// does not say (it records only `UPDATE OF` and `WHEN`): `NEW.col` and
    /// `OLD.col` in PL/pgSQL, the column's name in other languages'
    /// source, and column names among the arguments of a C function (as
    /// `tsvector_update_trigger` takes them).
    fn trigger_bodies(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "trigger functions";
        let mut deps: BTreeMap<String, BTreeSet<ColumnRef>> = BTreeMap::new();
        for row in rows {
            let identity: String = get(&row, 0, W)?;
            let table = qname(get(&row, 1, W)?, get(&row, 2, W)?, "table")?;
            let language: String = get(&row, 3, W)?;
            let source: Option<String> = get(&row, 4, W)?;
            let args: Vec<u8> = get(&row, 5, W)?;
            let Some(t) = self.out.schema.tables.get(&table) else {
                continue;
            };
            let args: Vec<String> = args
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let source = source.unwrap_or_default();
            for c in &t.columns {
                let name = c.name.as_str();
                let used = match language.as_str() {
                    "c" | "internal" => args.iter().any(|a| a == name),
                    "plpgsql" => plpgsql_row_reference(&source, name),
                    _ => mentions_word(&source, name) || args.iter().any(|a| a == name),
                };
                if used {
                    deps.entry(identity.clone()).or_default().insert(ColumnRef {
                        table: table.clone(),
                        column: Some(c.name.clone()),
                        via: Via::Body,
                    });
                }
            }
        }
        for u in &mut self.out.unmanaged {
            if let Some(d) = deps.get(&u.identity) {
                u.depends_on.extend(d.iter().cloned());
                u.depends_on.sort();
                u.depends_on.dedup();
            }
        }
        Ok(())
    }
}

/// Whether PL/pgSQL source refers to `NEW.<column>` or `OLD.<column>`
/// (keywords and unquoted names in any case, the name quoted when it must
/// be, spaces around the dot allowed).
fn plpgsql_row_reference(source: &str, column: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    let quoted = crate::sql::needs_quotes(column);
    let target = if quoted {
        format!("\"{}\"", column.replace('"', "\"\""))
    } else {
        column.to_string()
    };
    for record in ["new", "old"] {
        for (i, _) in lower.match_indices(record) {
            let before = lower[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
                continue;
            }
            let rest = lower[i + record.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('.') else {
                continue;
            };
            let rest = rest.trim_start();
            // Quoted names are compared as written; unquoted ones fold.
            let start = source.len() - rest.len();
            let tail = if quoted { &source[start..] } else { rest };
            if let Some(after) = tail.strip_prefix(target.as_str()) {
                let next = after.chars().next();
                if quoted || !next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `text` has `word` as a whole word (case-insensitive for a name
/// that needs no quotes), or in double or single quotes.
fn mentions_word(text: &str, word: &str) -> bool {
    if text.contains(&format!("\"{word}\"")) || text.contains(&format!("'{word}'")) {
        return true;
    }
    let (hay, needle) = if crate::sql::needs_quotes(word) {
        (text.to_string(), word.to_string())
    } else {
        (text.to_ascii_lowercase(), word.to_string())
    };
    hay.match_indices(&needle).any(|(i, _)| {
        let w = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        !w(hay[..i].chars().next_back()) && !w(hay[i + needle.len()..].chars().next())
    })
}

/// `CHECK (expr)[ NO INHERIT][ NOT VALID]` → `expr`, with one pair of
/// parentheses around the whole expression removed, since PostgreSQL adds
/// them and people do not write them.
pub fn check_expression(def: &str) -> Option<String> {
    let rest = def.strip_prefix("CHECK ")?;
    let inner = balanced_prefix(rest)?;
    let mut expr = inner.trim().to_string();
    while expr.starts_with('(') && balanced_prefix(&expr).map(str::len) == Some(expr.len() - 2) {
        expr = expr[1..expr.len() - 1].trim().to_string();
    }
    Some(expr)
}

/// For text starting with `(`, the contents up to the matching `)`,
/// skipping parentheses inside string literals and quoted identifiers.
fn balanced_prefix(text: &str) -> Option<&str> {
    if !text.starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plpgsql_row_references_are_found_and_others_are_not() {
        let body = "BEGIN NEW.updated_at := now(); IF old . Email IS DISTINCT FROM new.\"Mixed\" THEN END IF; x := new_total; RETURN NEW; END";
        assert!(plpgsql_row_reference(body, "updated_at"));
        assert!(plpgsql_row_reference(body, "email"));
        assert!(plpgsql_row_reference(body, "Mixed"));
        assert!(!plpgsql_row_reference(body, "total"));
        assert!(!plpgsql_row_reference(body, "updated"));
        assert!(!plpgsql_row_reference(body, "mixed"));
    }

    #[test]
    fn check_definitions_lose_the_wrapper() {
        assert_eq!(
            check_expression("CHECK ((price > 0))").as_deref(),
            Some("price > 0")
        );
        assert_eq!(
            check_expression("CHECK (price > 0) NOT VALID").as_deref(),
            Some("price > 0")
        );
        assert_eq!(
            check_expression("CHECK ((a > 0) AND (b > 0)) NO INHERIT").as_deref(),
            Some("(a > 0) AND (b > 0)")
        );
        assert_eq!(
            check_expression("CHECK (x <> ')'::text)").as_deref(),
            Some("x <> ')'::text")
        );
        assert_eq!(check_expression("UNIQUE (x)"), None);
    }
}
