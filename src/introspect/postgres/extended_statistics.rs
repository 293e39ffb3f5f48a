//! Statistics objects (`pg_statistic_ext`) on managed tables, in their
//! table's schema: columns, expressions as the server prints them, kinds,
//! target. One in another schema, or on anything but a managed table (a
//! materialized view, a table bellows does not manage), is reported, not
//! read.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "statistics objects",
    |cx| {
        Q_STATISTICS.replace(
            "{EXPRESSIONS}",
            if cx.pg14 {
                "coalesce(pg_get_statisticsobjdef_expressions(s.oid), '{}')"
            } else {
                "'{}'::text[]"
            },
        )
    },
    |r, rows, _| r.extended_statistics(rows),
);

/// `stxstattarget` is -1 for "unset" before PostgreSQL 17 and NULL from
/// it; `stxkind` has `e` besides the kinds an object names when it has
/// expressions.
const Q_STATISTICS: &str = "
    SELECT n.nspname::text, c.relname::text, s.stxname::text, sn.nspname::text,
           ARRAY(SELECT a.attname::text FROM unnest(s.stxkeys::int2[]) k(num)
                   JOIN pg_attribute a ON a.attrelid = s.stxrelid AND a.attnum = k.num ORDER BY k.num),
           {EXPRESSIONS},
           ARRAY(SELECT k::text FROM unnest(s.stxkind) k ORDER BY 1),
           coalesce(s.stxstattarget::int4, -1),
           (pg_identify_object('pg_statistic_ext'::regclass, s.oid, 0)).identity
      FROM pg_statistic_ext s
      JOIN pg_class c ON c.oid = s.stxrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_namespace sn ON sn.oid = s.stxnamespace
     WHERE n.nspname = ANY($1) OR sn.nspname = ANY($1)
     ORDER BY 1, 2, 3";

impl Reader {
    fn extended_statistics(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "statistics objects";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            let name = qname(get(&row, 3, W)?, get(&row, 2, W)?, "statistics object")?;
            if !self.out.schema.tables.contains_key(&table) || name.schema != table.schema {
                let identity: String = get(&row, 8, W)?;
                self.note(
                    UnmanagedKind::StatisticsObject,
                    identity,
                    Place::Statistics(name),
                );
                continue;
            }
            let columns: Vec<String> = get(&row, 4, W)?;
            let expressions: Vec<String> = get(&row, 5, W)?;
            let kinds: Vec<String> = get(&row, 6, W)?;
            let target: i32 = get(&row, 7, W)?;
            let stx = ExtendedStatistics {
                table,
                kinds: kinds
                    .iter()
                    .filter_map(|k| match k.as_str() {
                        "d" => Some(StatisticsKind::Ndistinct),
                        "f" => Some(StatisticsKind::Dependencies),
                        "m" => Some(StatisticsKind::Mcv),
                        _ => None,
                    })
                    .collect(),
                columns: columns
                    .into_iter()
                    .map(|c| ident(c, "column"))
                    .collect::<Result<_>>()?,
                expressions,
                target: StatisticsTarget((target >= 0).then_some(target)),
                renamed_from: None,
            };
            self.out.schema.extended_statistics.insert(name, stx);
        }
        Ok(())
    }
}
