//! Privileges on the relations bellows manages (tables, views,
//! materialized views, sequences), their columns, its schemas (`public`
//! too: PUBLIC there only where it differs from PostgreSQL 15's USAGE),
//! routines and types, to others than their owner, from
//! `aclexplode` of their ACLs (PUBLIC on a routine or type only where it
//! lacks its default EXECUTE or USAGE); default privileges (the owner's
//! own left out); and the roles the server has, which a plan checks the
//! file's against, with those the connecting role is a member of.

use super::*;

pub(super) const KIND: KindQuery = KindQuery::new(
    "privileges",
    |_| Q_GRANTS.into(),
    |r, rows, _| r.grants(rows),
);

pub(super) const ROLES: KindQuery = KindQuery::new(
    "roles",
    |_| {
        "SELECT rolname::text, pg_has_role(current_user, oid, 'MEMBER'), rolname = current_user
           FROM pg_roles ORDER BY 1"
            .into()
    },
    |r, rows, _| r.server_roles(rows),
);

const Q_GRANTS: &str = concat!(
    "SELECT n.nspname::text, n.nspname::text, 'N',
            CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END,
            a.privilege_type::text, a.is_grantable, NULL::text
       FROM pg_namespace n
       CROSS JOIN LATERAL aclexplode(n.nspacl) a
      WHERE n.nspname = ANY($1) AND n.nspname <> 'public' AND a.grantee <> n.nspowner
        AND ",
    not_extension_member!("pg_namespace", "n.oid"),
    // Schema `public`: every grantee but its owner (a NULL ACL is the
    // owner's alone), and a row with no privilege when PUBLIC has none.
    " UNION ALL
     SELECT n.nspname::text, n.nspname::text, 'N',
            CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END,
            a.privilege_type::text, a.is_grantable, NULL::text
       FROM pg_namespace n
       CROSS JOIN LATERAL aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
      WHERE n.nspname = 'public' AND a.grantee <> n.nspowner
      UNION ALL
     SELECT n.nspname::text, n.nspname::text, 'N', '', '', false, NULL::text
       FROM pg_namespace n
      WHERE n.nspname = 'public' AND NOT EXISTS (
            SELECT FROM aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
             WHERE a.grantee = 0)
      UNION ALL
     SELECT n.nspname::text, c.relname::text, c.relkind::text,
            CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END,
            a.privilege_type::text, a.is_grantable, NULL::text
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL aclexplode(c.relacl) a
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname = ANY($1)
        AND a.grantee <> c.relowner AND ",
    not_extension_member!("pg_class", "c.oid"),
    " UNION ALL
     SELECT n.nspname::text, c.relname::text, 'C',
            CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END,
            a.privilege_type::text, a.is_grantable, att.attname::text
       FROM pg_attribute att
       JOIN pg_class c ON c.oid = att.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL aclexplode(att.attacl) a
      WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND att.attnum > 0
        AND NOT att.attisdropped AND att.attacl IS NOT NULL AND a.grantee <> c.relowner AND ",
    not_extension_member!("pg_class", "c.oid"),
    " UNION ALL
     SELECT n.nspname::text, p.proname::text, 'F',
            pg_get_userbyid(a.grantee)::text,
            a.privilege_type::text, a.is_grantable, pg_get_function_identity_arguments(p.oid)
       FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace
       CROSS JOIN LATERAL aclexplode(p.proacl) a
      WHERE n.nspname = ANY($1) AND p.proacl IS NOT NULL
        AND a.grantee <> p.proowner AND a.grantee <> 0 AND ",
    not_extension_member!("pg_proc", "p.oid"),
    " UNION ALL
     SELECT n.nspname::text, t.typname::text, 'T',
            pg_get_userbyid(a.grantee)::text,
            a.privilege_type::text, a.is_grantable, NULL
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       CROSS JOIN LATERAL aclexplode(t.typacl) a
      WHERE n.nspname = ANY($1) AND t.typacl IS NOT NULL AND t.typtype IN ('e', 'd', 'r', 'c')
        AND a.grantee <> t.typowner AND a.grantee <> 0 AND ",
    not_extension_member!("pg_type", "t.oid"),
    // PUBLIC without its default EXECUTE on a routine, USAGE on a type:
    // a row with no privilege.
    " UNION ALL
     SELECT n.nspname::text, p.proname::text, 'F', '', '', false,
            pg_get_function_identity_arguments(p.oid)
       FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1) AND p.proacl IS NOT NULL
        AND NOT EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AND ",
    not_extension_member!("pg_proc", "p.oid"),
    " UNION ALL
     SELECT n.nspname::text, t.typname::text, 'T', '', '', false, NULL
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = ANY($1) AND t.typacl IS NOT NULL AND t.typtype IN ('e', 'd', 'r', 'c')
        AND NOT EXISTS (SELECT FROM aclexplode(t.typacl) a WHERE a.grantee = 0) AND ",
    not_extension_member!("pg_type", "t.oid"),
    // Default privileges: the schema ('' for every schema), the owner,
    // 'd' and the kind of object; not the owner's own, nor PUBLIC's
    // EXECUTE and USAGE for every schema (the defaults), whose absence is
    // a row with no privilege.
    " UNION ALL
     SELECT COALESCE(n.nspname::text, ''), pg_get_userbyid(d.defaclrole)::text,
            'd' || d.defaclobjtype::text,
            CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee)::text END,
            a.privilege_type::text, a.is_grantable, NULL
       FROM pg_default_acl d
       LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
       CROSS JOIN LATERAL aclexplode(d.defaclacl) a
      WHERE (d.defaclnamespace = 0 OR n.nspname = ANY($1)) AND a.grantee <> d.defaclrole
        AND NOT (a.grantee = 0 AND d.defaclnamespace = 0 AND d.defaclobjtype IN ('f', 'T'))
      UNION ALL
     SELECT '', pg_get_userbyid(d.defaclrole)::text, 'd' || d.defaclobjtype::text, '', '', false, NULL
       FROM pg_default_acl d
      WHERE d.defaclnamespace = 0 AND d.defaclobjtype IN ('f', 'T')
        AND NOT EXISTS (SELECT FROM aclexplode(d.defaclacl) a WHERE a.grantee = 0)
      ORDER BY 1, 2, 3, 7, 4, 5"
);

impl Reader {
    fn grants(&mut self, rows: Vec<PgRow>) -> Result<()> {
        const W: &str = "privileges";
        let mut on_public = Privileges::new();
        for row in rows {
            let kind: String = get(&row, 2, W)?;
            if let Some(code) = kind.strip_prefix('d') {
                self.default_grant(&row, code)?;
                continue;
            }
            let on = if kind == "F" || kind == "T" {
                let name = qname(get(&row, 0, W)?, get(&row, 1, W)?, "routine or type")?;
                let on = if kind == "T" {
                    GrantOn::Type(name)
                } else {
                    let arguments: String = get(&row, 6, W)?;
                    match crate::sql::postgres::parse_arguments(&arguments) {
                        Ok(args) => GrantOn::Routine(RoutineKey::of(name, &args)),
                        // Not one bellows could have read as a routine.
                        Err(_) => continue,
                    }
                };
                let managed = match &on {
                    GrantOn::Routine(k) => self.out.schema.routines.contains_key(k),
                    GrantOn::Type(q) => self.out.schema.has_type(q),
                    _ => false,
                };
                if !managed {
                    continue;
                }
                on
            } else if kind == "C" {
                let object = qname(get(&row, 0, W)?, get(&row, 1, W)?, "relation")?;
                let column = ident(get(&row, 6, W)?, "column")?;
                let has = self
                    .out
                    .schema
                    .tables
                    .get(&object)
                    .is_some_and(|t| t.column(column.as_str()).is_some());
                if !has || !self.managed.contains(&object) {
                    continue;
                }
                GrantOn::Column(object, column)
            } else if kind == "N" {
                let s = ident(get(&row, 0, W)?, "schema")?;
                if !self.out.schema.schemas.contains(&s) && s.as_str() != DEFAULT_SCHEMA {
                    continue;
                }
                GrantOn::Schema(s)
            } else {
                let object = qname(get(&row, 0, W)?, get(&row, 1, W)?, "relation")?;
                if kind == "S" {
                    if !self.out.schema.sequences.contains_key(&object) {
                        continue;
                    }
                    GrantOn::Relation(object, GrantObject::Sequence)
                } else {
                    let managed = self.managed.contains(&object)
                        || self.out.schema.views.contains_key(&object);
                    if !managed {
                        continue;
                    }
                    GrantOn::Relation(object, GrantObject::Table)
                }
            };
            let grantee: String = get(&row, 3, W)?;
            let grantee = if grantee.is_empty() {
                ident(PUBLIC_ROLE.to_string(), "role")?
            } else {
                ident(grantee, "role")?
            };
            let privilege: String = get(&row, 4, W)?;
            let key = GrantKey { on, grantee };
            // PUBLIC on schema `public`: kept aside, stated only where it
            // differs from what PostgreSQL 15 gives it.
            if key.grantee.as_str() == PUBLIC_ROLE && key.on == GrantOn::Schema(public_schema()?) {
                if !privilege.is_empty() {
                    let grantable: bool = get(&row, 5, W)?;
                    on_public.insert(privilege, grantable);
                }
                continue;
            }
            if privilege.is_empty() {
                // PUBLIC without its default on a routine or type.
                self.out.schema.roles.insert(key.grantee.clone());
                self.out.schema.grants.entry(key).or_default();
                continue;
            }
            // A privilege this version does not model (MAINTAIN, new in
            // PostgreSQL 17) is left alone.
            if !key.on.kind().privileges().contains(&privilege.as_str()) {
                continue;
            }
            let grantable: bool = get(&row, 5, W)?;
            self.out.schema.roles.insert(key.grantee.clone());
            self.out
                .schema
                .grants
                .entry(key)
                .or_default()
                .insert(privilege, grantable);
        }
        if on_public != public_default() {
            let key = GrantKey {
                on: GrantOn::Schema(public_schema()?),
                grantee: ident(PUBLIC_ROLE.to_string(), "role")?,
            };
            self.out.schema.roles.insert(key.grantee.clone());
            self.out.schema.grants.insert(key, on_public);
        }
        Ok(())
    }

    /// A row of default privileges: of objects of kind `code` made by
    /// the owner.
    fn default_grant(&mut self, row: &PgRow, code: &str) -> Result<()> {
        const W: &str = "default privileges";
        let Some(objects) = DefaultObjects::from_catalog(code) else {
            // A kind this version does not model (large objects, new in
            // PostgreSQL 16) is left alone.
            return Ok(());
        };
        let schema: String = get(row, 0, W)?;
        let schema = if schema.is_empty() {
            None
        } else {
            Some(ident(schema, "schema")?)
        };
        let grantee: String = get(row, 3, W)?;
        let grantee = if grantee.is_empty() {
            PUBLIC_ROLE.to_string()
        } else {
            grantee
        };
        let key = DefaultGrantKey {
            owner: ident(get(row, 1, W)?, "role")?,
            schema,
            objects,
            grantee: ident(grantee, "role")?,
        };
        let privilege: String = get(row, 4, W)?;
        if !privilege.is_empty() && !objects.object().privileges().contains(&privilege.as_str()) {
            return Ok(());
        }
        self.out.schema.roles.insert(key.grantee.clone());
        let set = self.out.schema.default_grants.entry(key).or_default();
        if !privilege.is_empty() {
            let grantable: bool = get(row, 5, W)?;
            set.insert(privilege, grantable);
        }
        Ok(())
    }

    fn server_roles(&mut self, rows: Vec<PgRow>) -> Result<()> {
        for row in rows {
            let name: String = get(&row, 0, "roles")?;
            let member: bool = get(&row, 1, "roles")?;
            let me: bool = get(&row, 2, "roles")?;
            if let Ok(i) = Ident::new(name) {
                if member {
                    self.out.member_of.insert(i.clone());
                }
                if me {
                    self.out.current_user = Some(i.clone());
                }
                self.out.server_roles.insert(i);
            }
        }
        Ok(())
    }
}

/// Schema `public`.
fn public_schema() -> Result<Ident> {
    ident(DEFAULT_SCHEMA.to_string(), "schema")
}

/// What PUBLIC holds on schema `public` in a new PostgreSQL 15 database.
fn public_default() -> Privileges {
    Privileges::from([("USAGE".to_string(), false)])
}
