//! Enum types, with their labels in sort order.

use super::*;

pub(super) const KIND: KindQuery =
    KindQuery::new("enum types", |_| Q_ENUMS.into(), |r, rows, _| r.enums(rows));

const Q_ENUMS: &str = concat!(
    "SELECT n.nspname::text, t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE n.nspname = ANY($1) AND ",
    not_extension_member!("pg_type", "t.oid"),
    " GROUP BY 1, 2 ORDER BY 1, 2"
);

impl Reader {
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
}
