//! Owners of the objects bellows manages (schemas but `public`, whose
//! owner is the server's; relations; sequences not linked to a column,
//! which take their table's; functions and procedures; types) that the
//! role reading them does not own: a file that says nothing of an owner
//! leaves it as it is, so only what differs from the default is stated.

use super::*;

pub(super) const KIND: KindQuery =
    KindQuery::new("owners", |_| Q_OWNERS.into(), |r, rows, _| r.owners(rows));

/// Kind (`N` schema, a relkind, `F` routine, `T` type), schema, name,
/// routine arguments, owner.
const Q_OWNERS: &str = concat!(
    "WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user)
     SELECT 'N', n.nspname::text, NULL::text, NULL::text, pg_get_userbyid(n.nspowner)::text
       FROM pg_namespace n
      WHERE n.nspname = ANY($1) AND n.nspname <> 'public'
        AND n.nspowner <> (SELECT oid FROM me) AND ",
    not_extension_member!("pg_namespace", "n.oid"),
    " UNION ALL
     SELECT c.relkind::text, n.nspname::text, c.relname::text, NULL, pg_get_userbyid(c.relowner)::text
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname = ANY($1)
        AND c.relowner <> (SELECT oid FROM me)
        AND NOT EXISTS (SELECT FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                           AND c.relkind = 'S') AND ",
    not_extension_member!("pg_class", "c.oid"),
    " UNION ALL
     SELECT 'F', n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid),
            pg_get_userbyid(p.proowner)::text
       FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p')
        AND p.proowner <> (SELECT oid FROM me) AND ",
    not_extension_member!("pg_proc", "p.oid"),
    " UNION ALL
     SELECT 'T', n.nspname::text, t.typname::text, NULL, pg_get_userbyid(t.typowner)::text
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = ANY($1) AND t.typtype IN ('e', 'd', 'r', 'c')
        AND t.typowner <> (SELECT oid FROM me) AND ",
    not_extension_member!("pg_type", "t.oid"),
    " ORDER BY 1, 2, 3, 4"
);

impl Reader {
    fn owners(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "owners";
        for row in rows {
            let kind: String = get(&row, 0, W)?;
            let schema: String = get(&row, 1, W)?;
            let owner = ident(get(&row, 4, W)?, "role")?;
            let on = match kind.as_str() {
                "N" => {
                    let s = ident(schema, "schema")?;
                    if !self.out.schema.schemas.contains(&s) {
                        continue;
                    }
                    GrantOn::Schema(s)
                }
                "F" | "T" => {
                    let name = qname(schema, get(&row, 2, W)?, "routine or type")?;
                    if kind == "T" {
                        if !self.out.schema.has_type(&name) {
                            continue;
                        }
                        GrantOn::Type(name)
                    } else {
                        let arguments: String = get(&row, 3, W)?;
                        let Ok(args) = crate::sql::postgres::parse_arguments(&arguments) else {
                            continue;
                        };
                        let key = RoutineKey::of(name, &args);
                        if !self.out.schema.routines.contains_key(&key) {
                            continue;
                        }
                        GrantOn::Routine(key)
                    }
                }
                relkind => {
                    let name = qname(schema, get(&row, 2, W)?, "relation")?;
                    if relkind == "S" {
                        if !self.out.schema.sequences.contains_key(&name) {
                            continue;
                        }
                        GrantOn::Relation(name, GrantObject::Sequence)
                    } else {
                        if !self.managed.contains(&name)
                            && !self.out.schema.views.contains_key(&name)
                        {
                            continue;
                        }
                        GrantOn::Relation(name, GrantObject::Table)
                    }
                }
            };
            self.out.schema.owners.insert(on, owner);
        }
        Ok(())
    }
}
