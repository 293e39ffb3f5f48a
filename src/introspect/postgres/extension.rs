//! Extensions, with their schema and installed version (plpgsql, which
//! every database has, is left out).

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "extensions",
    |_| Q_EXTENSIONS.into(),
    |r, rows, cx| r.extensions(rows, &cx.scope, cx.all_schemas),
);

const Q_EXTENSIONS: &str = "
    SELECT e.extname::text, n.nspname::text, e.extversion
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql'
     ORDER BY 1";

impl Reader {
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
}
