//! Composite types (a `pg_type` of type `c` whose `pg_class` row is of
//! kind `c`, not a table's row type): attributes in order, each with its
//! type and a collation other than its type's; the type's comment.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "composite types",
    |_| Q_COMPOSITES.into(),
    |r, rows, _| r.composite_types(rows),
);

const Q_COMPOSITES: &str = concat!(
    "SELECT n.nspname::text, t.typname::text, a.attname::text,
            format_type(a.atttypid, a.atttypmod),
            CASE WHEN a.attcollation <> at.typcollation THEN co.collname::text END,
            d.description
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type at ON at.oid = a.atttypid
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
      WHERE t.typtype = 'c' AND n.nspname = ANY($1) AND ",
    not_extension_member!("pg_type", "t.oid"),
    " ORDER BY 1, 2, a.attnum"
);

impl Reader {
    fn composite_types(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "composite types";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "composite type")?;
            let attr = ident(get(&row, 2, W)?, "attribute")?;
            let type_text: String = get(&row, 3, W)?;
            let ty = parse_type(
                &type_text,
                format_args!("attribute {attr} of composite type {name}"),
                "type",
            )?;
            let collation: Option<String> = get(&row, 4, W)?;
            let comment: Option<String> = get(&row, 5, W)?;
            let t = self.out.schema.composite_types.entry(name).or_default();
            t.comment = comment;
            t.attributes.push(Attribute {
                name: attr,
                ty,
                collation: collation.map(|c| ident(c, "collation")).transpose()?,
            });
        }
        Ok(())
    }
}
