//! Row-level security policies of managed tables: kind, command, roles,
//! `USING` and `WITH CHECK` as the server prints them, and comment. A
//! policy on a table bellows does not manage is reported, not read.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "policies",
    |_| Q_POLICIES.into(),
    |r, rows, _| r.policies(rows),
);

const Q_POLICIES: &str = "
    SELECT n.nspname::text, c.relname::text, p.polname::text, p.polpermissive, p.polcmd::text,
           array(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid)::text END
                   FROM unnest(p.polroles) r(oid) ORDER BY 1),
           pg_get_expr(p.polqual, p.polrelid, true), pg_get_expr(p.polwithcheck, p.polrelid, true),
           d.description, (pg_identify_object('pg_policy'::regclass, p.oid, 0)).identity
      FROM pg_policy p
      JOIN pg_class c ON c.oid = p.polrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_policy'::regclass
     WHERE n.nspname = ANY($1)
     ORDER BY 1, 2, 3";

impl Reader {
    fn policies(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "policies";
        for row in rows {
            let table = qname(get(&row, 0, W)?, get(&row, 1, W)?, "table")?;
            let name = ident(get(&row, 2, W)?, "policy")?;
            if !self.out.schema.tables.contains_key(&table) {
                let identity: String = get(&row, 9, W)?;
                self.note(
                    UnmanagedKind::Policy,
                    identity,
                    Place::Table { table, name },
                );
                continue;
            }
            let key = PolicyKey { table, name };
            let permissive: bool = get(&row, 3, W)?;
            let command: String = get(&row, 4, W)?;
            let command = match command.as_str() {
                "*" => PolicyCommand::All,
                "r" => PolicyCommand::Select,
                "a" => PolicyCommand::Insert,
                "w" => PolicyCommand::Update,
                "d" => PolicyCommand::Delete,
                other => {
                    return Err(IntrospectError::Unrepresentable {
                        object: format!("policy {key}"),
                        detail: format!("unknown command `{other}`"),
                    });
                }
            };
            let names: Vec<String> = get(&row, 5, W)?;
            let mut roles = Vec::with_capacity(names.len());
            for r in names {
                roles.push(ident(r, "role")?);
            }
            roles.sort();
            let policy = Policy {
                restrictive: !permissive,
                command,
                roles,
                using: get(&row, 6, W)?,
                with_check: get(&row, 7, W)?,
                comment: get(&row, 8, W)?,
            };
            self.out.schema.policies.insert(key, policy);
        }
        Ok(())
    }
}
