//! Comments on the objects whose model has no place for one (schemas,
//! enum, range and domain types, collations, sequences, indexes, table
//! constraints, statistics objects), read in one query once every object is, and kept only
//! for the objects the model holds.

use super::*;
use crate::model::CommentOn;

pub(super) const KIND: KindQuery = KindQuery::new(
    "comments",
    |_| Q_COMMENTS.into(),
    |r, rows, _| r.comments(rows),
);

const Q_COMMENTS: &str = "
    SELECT 'schema', n.nspname::text, NULL::text, NULL::text, d.description
      FROM pg_description d
      JOIN pg_namespace n ON d.classoid = 'pg_namespace'::regclass AND d.objoid = n.oid
     WHERE d.objsubid = 0 AND n.nspname = ANY($1)
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, n.nspname::text,
           t.typname::text, NULL, d.description
      FROM pg_description d
      JOIN pg_type t ON d.classoid = 'pg_type'::regclass AND d.objoid = t.oid
      JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE d.objsubid = 0 AND t.typtype IN ('e', 'r', 'd') AND n.nspname = ANY($1)
    UNION ALL
    SELECT 'collation', n.nspname::text, c.collname::text, NULL, d.description
      FROM pg_description d
      JOIN pg_collation c ON d.classoid = 'pg_collation'::regclass AND d.objoid = c.oid
      JOIN pg_namespace n ON n.oid = c.collnamespace
     WHERE n.nspname = ANY($1)
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'index' END, n.nspname::text,
           c.relname::text, NULL, d.description
      FROM pg_description d
      JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE d.objsubid = 0 AND c.relkind IN ('S', 'i', 'I') AND n.nspname = ANY($1)
    UNION ALL
    SELECT 'constraint', n.nspname::text, r.relname::text, co.conname::text, d.description
      FROM pg_description d
      JOIN pg_constraint co ON d.classoid = 'pg_constraint'::regclass AND d.objoid = co.oid
      JOIN pg_class r ON r.oid = co.conrelid
      JOIN pg_namespace n ON n.oid = r.relnamespace
     WHERE n.nspname = ANY($1)
    UNION ALL
    SELECT 'statistics', n.nspname::text, s.stxname::text, NULL, d.description
      FROM pg_description d
      JOIN pg_statistic_ext s ON d.classoid = 'pg_statistic_ext'::regclass AND d.objoid = s.oid
      JOIN pg_namespace n ON n.oid = s.stxnamespace
     WHERE n.nspname = ANY($1)
    ORDER BY 1, 2, 3, 4";

impl Reader {
    fn comments(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "comments";
        for row in rows {
            let kind: String = get(&row, 0, W)?;
            let schema: String = get(&row, 1, W)?;
            let name: Option<String> = get(&row, 2, W)?;
            let sub: Option<String> = get(&row, 3, W)?;
            let text: String = get(&row, 4, W)?;
            let q = |noun| qname(schema.clone(), name.clone().unwrap_or_default(), noun);
            let on = match kind.as_str() {
                "schema" => CommentOn::Schema(ident(schema.clone(), "schema")?),
                "type" => CommentOn::Type(q("type")?),
                "domain" => CommentOn::Domain(q("domain")?),
                "collation" => CommentOn::Collation(q("collation")?),
                "sequence" => CommentOn::Sequence(q("sequence")?),
                "index" => CommentOn::Index(q("index")?),
                "statistics" => CommentOn::Statistics(q("statistics object")?),
                _ => CommentOn::Constraint(
                    q("table")?,
                    ident(sub.unwrap_or_default(), "constraint")?,
                ),
            };
            // Others' comments (an unmanaged index, a key's own index,
            // an identity's sequence) are not the schema's.
            if self.out.schema.has(&on) {
                self.out.schema.comments.insert(on, text);
            }
        }
        Ok(())
    }
}
