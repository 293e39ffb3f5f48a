//! Collations. PostgreSQL 15 and 16 keep an ICU collation's locale in
//! `colliculocale`, 17 in `colllocale`: the row is read as JSON so one
//! query serves both.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "collations",
    |_| Q_COLLATIONS.into(),
    |r, rows, _| r.collations(rows),
);

const Q_COLLATIONS: &str = concat!(
    "SELECT n.nspname::text, co.collname::text, co.collprovider::text, co.collisdeterministic,
            co.collcollate, co.collctype,
            coalesce(to_jsonb(co)->>'colllocale', to_jsonb(co)->>'colliculocale'),
            (pg_identify_object('pg_collation'::regclass, co.oid, 0)).identity
       FROM pg_collation co
       JOIN pg_namespace n ON n.oid = co.collnamespace
      WHERE n.nspname = ANY($1) AND ",
    not_extension_member!("pg_collation", "co.oid"),
    " ORDER BY 1, 2"
);

impl Reader {
    fn collations(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "collations";
        for row in rows {
            let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "collation")?;
            let provider: String = get(&row, 2, W)?;
            let deterministic: bool = get(&row, 3, W)?;
            let collate: Option<String> = get(&row, 4, W)?;
            let ctype: Option<String> = get(&row, 5, W)?;
            let icu: Option<String> = get(&row, 6, W)?;
            let collation = match (provider.as_str(), collate, icu) {
                ("c", Some(locale), _) => Collation {
                    provider: CollationProvider::Libc,
                    ctype: ctype.filter(|c| *c != locale),
                    locale,
                    deterministic,
                },
                ("i", _, Some(locale)) => Collation {
                    provider: CollationProvider::Icu,
                    locale,
                    ctype: None,
                    deterministic,
                },
                // Another provider (PostgreSQL 17's builtin): reported.
                _ => {
                    let identity: String = get(&row, 7, W)?;
                    self.note(UnmanagedKind::Collation, identity, Place::Schema(name));
                    continue;
                }
            };
            self.out.schema.collations.insert(name, collation);
        }
        Ok(())
    }
}
