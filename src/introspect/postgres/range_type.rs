//! Range types, from `pg_range`: what differs from PostgreSQL's defaults
//! (the subtype's operator class and collation, the derived multirange
//! name) is kept, the rest left out.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "range types",
    |_| Q_RANGES.into(),
    |r, rows, _| r.range_types(rows),
);

const Q_RANGES: &str = concat!(
    "SELECT n.nspname::text, t.typname::text, format_type(r.rngsubtype, NULL),
            CASE WHEN NOT opc.opcdefault THEN opc.opcname::text END,
            CASE WHEN r.rngcollation <> st.typcollation THEN co.collname::text END,
            CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text END,
            CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END,
            mt.typname::text
       FROM pg_range r
       JOIN pg_type t ON t.oid = r.rngtypid
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_type st ON st.oid = r.rngsubtype
       JOIN pg_opclass opc ON opc.oid = r.rngsubopc
       LEFT JOIN pg_collation co ON co.oid = r.rngcollation
       LEFT JOIN pg_type mt ON mt.oid = r.rngmultitypid
      WHERE n.nspname = ANY($1) AND ",
    not_extension_member!("pg_type", "t.oid"),
    " ORDER BY 1, 2"
);

impl Reader {
    fn range_types(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "range types";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "range type")?;
            let type_text: String = get(&row, 2, W)?;
            let subtype = parse_type(&type_text, format_args!("range type {name}"), "subtype")?;
            let collation: Option<String> = get(&row, 4, W)?;
            let multirange: Option<String> = get(&row, 7, W)?;
            let range = RangeType {
                subtype,
                subtype_opclass: get(&row, 3, W)?,
                collation: collation.map(|c| ident(c, "collation")).transpose()?,
                canonical: get(&row, 5, W)?,
                subtype_diff: get(&row, 6, W)?,
                multirange: multirange
                    .filter(|m| *m != default_multirange_name(name.name.as_str()))
                    .map(|m| ident(m, "multirange type"))
                    .transpose()?,
            };
            self.out.schema.range_types.insert(name, range);
        }
        Ok(())
    }
}
