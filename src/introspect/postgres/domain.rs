//! Domains: the base type, default, NOT NULL and collation from
//! `pg_type`, the checks from `pg_constraint` (PostgreSQL 17 also keeps a
//! domain's NOT NULL there, as `contype = 'n'`, which is left to
//! `typnotnull`).

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "domains",
    |_| Q_DOMAINS.into(),
    |r, rows, _| r.domains(rows),
);

const Q_DOMAINS: &str = concat!(
    "SELECT n.nspname::text, t.typname::text, format_type(t.typbasetype, t.typtypmod),
            t.typnotnull, pg_get_expr(t.typdefaultbin, 0),
            CASE WHEN t.typcollation <> b.typcollation THEN co.collname::text END,
            ARRAY(SELECT c.conname::text FROM pg_constraint c
                   WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname),
            ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                   WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname)
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_type b ON b.oid = t.typbasetype
       LEFT JOIN pg_collation co ON co.oid = t.typcollation
      WHERE t.typtype = 'd' AND n.nspname = ANY($1) AND ",
    not_extension_member!("pg_type", "t.oid"),
    " ORDER BY 1, 2"
);

impl Reader {
    fn domains(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "domains";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "domain")?;
            let type_text: String = get(&row, 2, W)?;
            let ty = parse_type(&type_text, format_args!("domain {name}"), "type")?;
            let collation: Option<String> = get(&row, 5, W)?;
            let names: Vec<String> = get(&row, 6, W)?;
            let defs: Vec<String> = get(&row, 7, W)?;
            let mut checks = BTreeMap::new();
            for (n, def) in names.into_iter().zip(defs) {
                let expr = constraints::check_expression(&def).ok_or_else(|| {
                    IntrospectError::Unrepresentable {
                        object: format!("check {n} of domain {name}"),
                        detail: format!("`{def}` is not a CHECK the reader knows"),
                    }
                })?;
                checks.insert(ident(n, "constraint")?, expr);
            }
            let domain = Domain {
                ty,
                collation: collation.map(|c| ident(c, "collation")).transpose()?,
                default: get(&row, 4, W)?,
                not_null: get(&row, 3, W)?,
                checks,
            };
            self.out.schema.domains.insert(name, domain);
        }
        Ok(())
    }
}
