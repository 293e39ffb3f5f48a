//! Indexes (those no constraint owns): a query and its reader.

use super::tables::{RowTable, nulls_not_distinct};
use super::*;

pub(super) const INDEXES: KindQuery = KindQuery::new(
    "indexes",
    |cx| Q_INDEXES.replace("{NND}", nulls_not_distinct(cx)),
    |r, rows, _| r.indexes(rows),
);

const Q_INDEXES: &str = "
    WITH other_opclass AS MATERIALIZED (
         SELECT oid, opcname::text FROM pg_opclass WHERE NOT opcdefault)
    SELECT n.nspname::text, c.relname::text, ic.relname::text, i.indisunique, am.amname::text,
           i.indnkeyatts::int4, i.indisvalid,
           ARRAY(SELECT CASE WHEN k.num = 0 THEN NULL ELSE
                        (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = k.num) END
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord),
           ARRAY(SELECT CASE WHEN k.num = 0 THEN pg_get_indexdef(i.indexrelid, k.ord::int4, true) END
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord),
           ARRAY(SELECT o.opt::int4 FROM unnest(i.indoption::int2[]) WITH ORDINALITY o(opt, ord) ORDER BY o.ord),
           ARRAY(SELECT o.opcname FROM unnest(i.indclass::oid[]) WITH ORDINALITY x(cls, ord)
                   LEFT JOIN other_opclass o ON o.oid = x.cls ORDER BY x.ord),
           ARRAY(SELECT CASE WHEN x.coll = 0 OR x.coll = COALESCE(a.attcollation, 0)
                             OR (k.num = 0 AND x.coll = 100) THEN NULL
                             ELSE (SELECT co.collname::text FROM pg_collation co WHERE co.oid = x.coll) END
                   FROM unnest(i.indcollation::oid[]) WITH ORDINALITY x(coll, ord)
                   JOIN unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ON k.ord = x.ord
                   LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                  ORDER BY x.ord),
           pg_get_expr(i.indpred, i.indrelid),
           {NND},
           coalesce(ic.reloptions::text[], '{}')
      FROM pg_index i
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_am am ON am.oid = ic.relam
     WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname = ANY($1)
       AND NOT EXISTS (SELECT 1 FROM pg_inherits ih WHERE ih.inhrelid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                        WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
     ORDER BY 1, 2, 3";

impl Reader {
    pub(super) fn indexes(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "indexes";
        let mut tables = RowTable::default();
        for row in rows {
            let Some(table) = tables.of(&row, &self.managed, W)? else {
                continue;
            };
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
            // Only an expression key's definition is read.
            let defs: Vec<Option<String>> = get(&row, 8, W)?;
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
                    None => KeyTarget::Expression(def.ok_or_else(|| {
                        IntrospectError::Unrepresentable {
                            object: format!("index {name} on {table}"),
                            detail: format!("key {} has neither a column nor a definition", i + 1),
                        }
                    })?),
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
            let method: String = get(&row, 4, W)?;
            let reloptions: Vec<String> = get(&row, 14, W)?;
            let index = Index {
                unique: get(&row, 3, W)?,
                storage: crate::sql::postgres::read_storage(&method, &reloptions),
                method,
                keys,
                include,
                predicate: get(&row, 12, W)?,
                nulls_not_distinct: get(&row, 13, W)?,
                renamed_from: None,
            };
            if let Some(t) = self.table(table) {
                t.indexes.insert(name, index);
            } else if let Some(m) = self
                .out
                .schema
                .views
                .get_mut(table)
                .and_then(|v| v.materialized.as_mut())
            {
                m.indexes.insert(name, index);
            }
        }
        Ok(())
    }
}
