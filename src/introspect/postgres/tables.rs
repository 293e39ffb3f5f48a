//! Tables: relations and their columns, a query each (their constraints
//! are read in `constraints.rs`, their indexes in `indexes.rs`), and
//! whether tables are empty.

use super::*;
use crate::sql::postgres::{
    ON_TABLE, partition_bound, partition_key, read_column_options, read_storage,
};

pub(super) const RELATIONS: KindQuery = KindQuery::new(
    "tables",
    |cx| {
        Q_RELATIONS.replace(
            "{EMPTY}",
            if cx.emptiness_from_statistics {
                ""
            } else {
                EMPTY_FILE
            },
        )
    },
    |r, rows, _| r.relations(rows),
);
pub(super) const COLUMNS: KindQuery = KindQuery::new(
    "columns",
    |cx| {
        Q_COLUMNS.replace(
            "{COMPRESSION}",
            if cx.pg14 {
                "nullif(a.attcompression::text, '')"
            } else {
                "NULL::text"
            },
        )
    },
    |r, rows, _| r.columns(rows),
);
/// `indnullsnotdistinct`, new in PostgreSQL 15, or `false` before it.
pub(super) fn nulls_not_distinct(cx: &Context) -> &'static str {
    if cx.pg15 {
        "i.indnullsnotdistinct"
    } else {
        "false"
    }
}

/// Besides no page in the statistics, no page in the table's file (the
/// server opens the table to look: a relcache entry each, the bulk of
/// this query on a database of empty tables).
const EMPTY_FILE: &str = " AND pg_relation_size(c.oid) = 0";

/// `{EMPTY}` is replaced by `EMPTY_FILE`, or by nothing when emptiness is
/// taken from the statistics and confirmed later (`still_empty`).
const Q_RELATIONS: &str = concat!(
    "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relispartition,
            c.relpersistence::text, d.description,
            EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid),
            c.relrowsecurity,
            CASE WHEN c.relkind IN ('f', 'p') OR c.relispartition
                   OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
                 THEN (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity END,
            c.relkind = 'r' AND c.relpages = 0{EMPTY},
            c.relforcerowsecurity,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
            pn.nspname::text, pc.relname::text,
            CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
            coalesce(c.reloptions::text[], '{}'), c.relreplident::text,
            (SELECT ri.relname::text FROM pg_index i JOIN pg_class ri ON ri.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisreplident),
            CASE WHEN NOT c.relispartition THEN
              array(SELECT pn.nspname::text FROM pg_inherits i
                      JOIN pg_class pc ON pc.oid = i.inhparent
                      JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                     WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) END,
            CASE WHEN NOT c.relispartition THEN
              array(SELECT pc.relname::text FROM pg_inherits i
                      JOIN pg_class pc ON pc.oid = i.inhparent
                     WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) END
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_description d
              ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
       LEFT JOIN pg_inherits pi ON c.relispartition AND pi.inhrelid = c.oid
       LEFT JOIN pg_class pc ON pc.oid = pi.inhparent
       LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1) AND ",
    not_extension_member!("pg_class", "c.oid"),
    " ORDER BY 1, 2"
);

/// A default cannot name a column, so it is printed without the table as
/// context (`0`): the same text, without the server opening every table
/// to learn its column names (a third of this query's time). A generated
/// column's expression names columns and needs the table.
const Q_COLUMNS: &str = "
    SELECT n.nspname::text, c.relname::text, a.attname::text,
           format_type(a.atttypid, a.atttypmod), a.attnotnull,
           CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0)
                ELSE pg_get_expr(ad.adbin, ad.adrelid) END,
           a.attidentity::text, a.attgenerated::text,
           CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END,
           d.description, a.attnum::int4, nullif(a.attstattarget::int4, -1),
           CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END, {COMPRESSION},
           CASE WHEN t.typnamespace <> 'pg_catalog'::regnamespace THEN t.typstorage::text END,
           coalesce(a.attoptions::text[], '{}')
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      LEFT JOIN pg_description d
             ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
     WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY 1, 2, a.attnum";

/// Of `tables`, those with no page in the statistics nor in their file.
pub async fn still_empty(
    conn: &mut PgConnection,
    tables: &[QualifiedName],
) -> Result<BTreeSet<QualifiedName>> {
    let (schemas, names): (Vec<&str>, Vec<&str>) = tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str()))
        .unzip();
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN unnest($1::text[], $2::text[]) AS w(s, t) ON w.s = n.nspname AND w.t = c.relname
          WHERE c.relkind = 'r' AND c.relpages = 0{EMPTY_FILE}"
    );
    // A statement with parameters runs in a transaction (a pooler keeps
    // its two round trips on one server connection).
    let mut tx = conn.begin().await.map_err(q("empty tables"))?;
    let rows: Vec<(String, String)> = crate::conn::postgres::query_as(sqlx::AssertSqlSafe(sql))
        .bind(schemas)
        .bind(names)
        .fetch_all(&mut *tx)
        .await
        .map_err(q("empty tables"))?;
    tx.rollback().await.map_err(q("empty tables"))?;
    rows.into_iter()
        .map(|(s, t)| qname(s, t, "table"))
        .collect()
}

/// The table the rows being read are about (columns 0 and 1: schema and
/// name), built and looked up once per table rather than once per row:
/// the queries return rows table by table.
#[derive(Default)]
pub(super) struct RowTable {
    current: Option<(QualifiedName, bool)>,
}

impl RowTable {
    /// `row`'s table if bellows manages it (is in `managed`).
    pub(super) fn of(
        &mut self,
        row: &PgRow,
        managed: &BTreeSet<QualifiedName>,
        what: &'static str,
    ) -> Result<Option<&QualifiedName>> {
        let (schema, name): (&str, &str) = (get(row, 0, what)?, get(row, 1, what)?);
        let same = self
            .current
            .as_ref()
            .is_some_and(|(t, _)| t.schema.as_str() == schema && t.name.as_str() == name);
        if !same {
            let table = qname(schema.to_string(), name.to_string(), "table")?;
            let is_managed = managed.contains(&table);
            self.current = Some((table, is_managed));
        }
        Ok(match &self.current {
            Some((table, true)) => Some(table),
            _ => None,
        })
    }
}

/// The columns of the table whose rows are being read (the rows come
/// table by table), put in the model when the next table's rows begin:
/// one lookup of the table a table, not three a column.
struct ColumnBatch {
    table: QualifiedName,
    columns: Vec<Column>,
    numbers: BTreeMap<i32, Ident>,
}

impl Reader {
    pub(super) fn relations(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "tables";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            let kind: String = get(&row, 2, W)?;
            if kind == "v" || kind == "m" {
                // Read by the views' own query.
                continue;
            }
            let is_partition: bool = get(&row, 3, W)?;
            let persistence: String = get(&row, 4, W)?;
            let comment: Option<String> = get(&row, 5, W)?;
            let inherits: bool = get(&row, 6, W)?;
            let rls: bool = get(&row, 7, W)?;
            // Asked for only where a note or an error may need it: for
            // every table, it was half of this query's time.
            let identity = || {
                get::<Option<String>, _>(&row, 8, W)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| name.to_string())
            };
            // No page at all: no row (a table whose rows were deleted
            // keeps its pages until VACUUM truncates them, and counts as
            // not empty). The file is only looked at where the statistics
            // say the table has no page: statistics that say it has some
            // may be stale, but then the table counts as not empty, which
            // is the safe side.
            let empty: bool = get(&row, 9, W)?;
            if empty {
                self.out.empty_tables.insert(name.clone());
            }
            let unmanaged_kind = match kind.as_str() {
                "f" => Some(UnmanagedKind::ForeignTable),
                _ => None,
            };
            if let Some(k) = unmanaged_kind {
                self.note(k, identity(), Place::Schema(name));
                continue;
            }
            let partition_by = match get::<Option<String>, _>(&row, 11, W)? {
                Some(def) => {
                    Some(
                        partition_key(&def).map_err(|_| IntrospectError::Unrepresentable {
                            object: format!("partitioned table {}", identity()),
                            detail: format!("unexpected partition key `{def}`"),
                        })?,
                    )
                }
                None => None,
            };
            let partition_of = if is_partition {
                let parent = qname(get(&row, 12, W)?, get(&row, 13, W)?, "table")?;
                let def: String = get(&row, 14, W)?;
                let bound =
                    partition_bound(&def).map_err(|_| IntrospectError::Unrepresentable {
                        object: format!("partition {}", identity()),
                        detail: format!("unexpected partition bound `{def}`"),
                    })?;
                Some(PartitionOf { parent, bound })
            } else {
                None
            };
            let forced: bool = get(&row, 10, W)?;
            if rls || forced {
                let flags = RowSecurity {
                    enabled: rls,
                    forced,
                };
                self.out.schema.row_security.insert(name.clone(), flags);
            }
            // A table that inherits: its parents, in order (one whose
            // parent is not managed is left, below).
            let inherits = if inherits && !is_partition {
                let schemas: Vec<String> = get(&row, 18, W)?;
                let names: Vec<String> = get(&row, 19, W)?;
                schemas
                    .into_iter()
                    .zip(names)
                    .map(|(s, n)| qname(s, n, "table"))
                    .collect::<Result<Vec<_>>>()?
            } else {
                Vec::new()
            };
            self.managed.insert(name.clone());
            self.out.schema.tables.insert(
                name,
                Table {
                    comment,
                    inherits,
                    unlogged: persistence == "u",
                    partition_by,
                    partition_of,
                    storage: read_storage(ON_TABLE, &get::<Vec<String>, _>(&row, 15, W)?),
                    replica_identity: replica_identity(
                        &get::<String, _>(&row, 16, W)?,
                        get(&row, 17, W)?,
                    )?,
                    ..Table::default()
                },
            );
        }
        self.leave_partitions_of_unmanaged_tables();
        // A parent's own rows may be none while the tables that inherit
        // from it hold some, which a change carried down to them reaches
        // (a NOT NULL column added, say): it never counts as empty.
        for t in self.out.schema.tables.values() {
            for parent in &t.inherits {
                self.out.empty_tables.remove(parent);
            }
        }
        Ok(())
    }

    pub(super) fn table(&mut self, name: &QualifiedName) -> Option<&mut Table> {
        self.out.schema.tables.get_mut(name)
    }

    pub(super) fn columns(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "columns";
        let mut tables = RowTable::default();
        let mut batch: Option<ColumnBatch> = None;
        // A schema spells few types: each is parsed once.
        let mut types: std::collections::HashMap<String, ColumnType> = Default::default();
        for row in rows {
            let Some(table) = tables.of(&row, &self.managed, W)? else {
                continue;
            };
            let mut capacity = 0;
            if let Some(done) = batch.take_if(|b| b.table != *table) {
                capacity = done.columns.len();
                self.take_columns(done);
            }
            let batch = batch.get_or_insert_with(|| ColumnBatch {
                table: table.clone(),
                columns: Vec::with_capacity(capacity),
                numbers: BTreeMap::new(),
            });
            let col_name: String = get(&row, 2, W)?;
            let type_text: String = get(&row, 3, W)?;
            let ty = match types.get(type_text.as_str()) {
                Some(ty) => ty.clone(),
                None => {
                    let ty = parse_type(
                        &type_text,
                        format_args!("column {table}.{col_name}"),
                        "type",
                    )?;
                    types.insert(type_text, ty.clone());
                    ty
                }
            };
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
            if c.identity.is_some()
                && let Some(o) = self
                    .identity_options
                    .remove(&(table.clone(), c.name.clone()))
            {
                c.identity_options = o;
            }
            let collation: Option<String> = get(&row, 8, W)?;
            c.collation = collation.map(|x| ident(x, "collation")).transpose()?;
            c.comment = get(&row, 9, W)?;
            c.statistics = StatisticsTarget(get(&row, 11, W)?);
            c.storage = storage(get(&row, 12, W)?, get(&row, 13, W)?);
            c.options = read_column_options(&get::<Vec<String>, _>(&row, 15, W)?);
            if let (Some(u), false) = (c.ty.user_type(), c.ty.array)
                && let Some(s) = storage(get(&row, 14, W)?, None).strategy
            {
                self.out.type_storage.insert(u, s);
            }
            let number: i32 = get(&row, 10, W)?;
            batch.numbers.insert(number, c.name.clone());
            batch.columns.push(c);
        }
        if let Some(done) = batch {
            self.take_columns(done);
        }
        Ok(())
    }

    /// Puts one table's columns in the model, and their numbers beside.
    /// A partition's columns are its parent's: only their numbers are
    /// kept, for the partition's own constraints.
    fn take_columns(&mut self, b: ColumnBatch) {
        let ColumnBatch {
            table,
            columns,
            numbers,
        } = b;
        if let Some(t) = self.table(&table)
            && t.partition_of.is_none()
        {
            if t.columns.is_empty() {
                t.columns = columns;
            } else {
                t.columns.extend(columns);
            }
        }
        self.column_numbers
            .entry(table)
            .or_default()
            .extend(numbers);
    }
}

/// `relreplident` and the index marked as the replica identity: `i`
/// without one (it was dropped) identifies nothing, as PostgreSQL reads it.
fn replica_identity(code: &str, index: Option<String>) -> Result<ReplicaIdentity> {
    Ok(match (code, index) {
        ("f", _) => ReplicaIdentity::Full,
        ("i", Some(i)) => ReplicaIdentity::Index(ident(i, "index")?),
        ("n" | "i", _) => ReplicaIdentity::Nothing,
        _ => ReplicaIdentity::Default,
    })
}

/// A column's `attstorage` where it is not its type's, and its
/// `attcompression` where set. A letter this version does not know (a
/// later PostgreSQL's) reads as the default.
fn storage(strategy: Option<String>, compression: Option<String>) -> ColumnStorage {
    ColumnStorage {
        strategy: match strategy.as_deref() {
            Some("p") => Some(StorageStrategy::Plain),
            Some("x") => Some(StorageStrategy::Extended),
            Some("e") => Some(StorageStrategy::External),
            Some("m") => Some(StorageStrategy::Main),
            _ => None,
        },
        compression: match compression.as_deref() {
            Some("p") => Some(Compression::Pglz),
            Some("l") => Some(Compression::Lz4),
            _ => None,
        },
    }
}
