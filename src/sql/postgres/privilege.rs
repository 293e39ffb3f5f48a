//! GRANT and REVOKE on relations, ALTER ... OWNER TO, and COMMENT ON
//! what holds no comment of its own.

use super::qualified;
use crate::model::{
    CommentOn, DefaultGrantKey, GrantKey, GrantObject, GrantOn, Ident, PUBLIC_ROLE, RoutineKind,
    Schema,
};
use crate::sql::quote_ident;

/// `TABLE | SEQUENCE | SCHEMA object`, as GRANT and REVOKE name it.
fn grant_object(on: &GrantOn) -> String {
    match on {
        GrantOn::Relation(q, k) => format!("{} {}", k.keyword(), qualified(q)),
        GrantOn::Column(q, _) => format!("TABLE {}", qualified(q)),
        GrantOn::Schema(s) => format!("SCHEMA {}", quote_ident(s.as_str())),
        GrantOn::Routine(k) => format!("ROUTINE {}", super::routine_signature(k)),
        GrantOn::Type(q) => format!("TYPE {}", qualified(q)),
    }
}

/// `ALTER TABLE | VIEW | ... object OWNER TO role`, the object's kind
/// as `schema` has it.
pub fn owner_sql(schema: &Schema, on: &GrantOn, role: &Ident) -> String {
    let object = match on {
        GrantOn::Relation(q, GrantObject::Table) => {
            let kind = match schema.views.get(q) {
                Some(v) => v.sql_kind(),
                None => "TABLE",
            };
            format!("{kind} {}", qualified(q))
        }
        GrantOn::Type(q) if schema.domains.contains_key(q) => format!("DOMAIN {}", qualified(q)),
        GrantOn::Routine(k) => {
            let kind = match schema.routines.get(k).map(|r| r.kind) {
                Some(RoutineKind::Procedure) => "PROCEDURE",
                Some(RoutineKind::Function) => "FUNCTION",
                None => "ROUTINE",
            };
            format!("{kind} {}", super::routine_signature(k))
        }
        other => grant_object(other),
    };
    format!("ALTER {object} OWNER TO {}", quote_ident(role.as_str()))
}

/// `GRANT privilege, ... ON TABLE | SEQUENCE | SCHEMA object TO grantee
/// [WITH GRANT OPTION]`.
pub fn grant_sql(g: &GrantKey, privileges: &[&str], grantable: bool) -> String {
    format!(
        "GRANT {} ON {} TO {}{}",
        privilege_list(&g.on, privileges),
        grant_object(&g.on),
        g.grantee_sql(),
        if grantable { " WITH GRANT OPTION" } else { "" }
    )
}

/// `REVOKE [GRANT OPTION FOR] privilege, ... ON TABLE | SEQUENCE | SCHEMA
/// object FROM grantee`.
pub fn revoke_sql(g: &GrantKey, privileges: &[&str], option_only: bool) -> String {
    format!(
        "REVOKE {}{} ON {} FROM {}",
        if option_only { "GRANT OPTION FOR " } else { "" },
        privilege_list(&g.on, privileges),
        grant_object(&g.on),
        g.grantee_sql()
    )
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN SCHEMA s]`.
fn default_privileges_for(k: &DefaultGrantKey) -> String {
    let mut s = format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {}",
        quote_ident(k.owner.as_str())
    );
    if let Some(schema) = &k.schema {
        s.push_str(" IN SCHEMA ");
        s.push_str(&quote_ident(schema.as_str()));
    }
    s
}

/// `PUBLIC` or the quoted role.
fn default_grantee(k: &DefaultGrantKey) -> String {
    if k.grantee.as_str() == PUBLIC_ROLE {
        "PUBLIC".into()
    } else {
        quote_ident(k.grantee.as_str())
    }
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN SCHEMA s] GRANT privilege,
/// ... ON TABLES | ... TO grantee [WITH GRANT OPTION]`.
pub fn default_grant_sql(k: &DefaultGrantKey, privileges: &[&str], grantable: bool) -> String {
    format!(
        "{} GRANT {} ON {} TO {}{}",
        default_privileges_for(k),
        privileges.join(", "),
        k.objects.word().to_uppercase(),
        default_grantee(k),
        if grantable { " WITH GRANT OPTION" } else { "" }
    )
}

/// `ALTER DEFAULT PRIVILEGES ... REVOKE [GRANT OPTION FOR] privilege, ...
/// ON TABLES | ... FROM grantee`.
pub fn default_revoke_sql(k: &DefaultGrantKey, privileges: &[&str], option_only: bool) -> String {
    format!(
        "{} REVOKE {}{} ON {} FROM {}",
        default_privileges_for(k),
        if option_only { "GRANT OPTION FOR " } else { "" },
        privileges.join(", "),
        k.objects.word().to_uppercase(),
        default_grantee(k),
    )
}

/// `SELECT, UPDATE`; on a column, each with it: `SELECT (c), UPDATE (c)`.
fn privilege_list(on: &GrantOn, privileges: &[&str]) -> String {
    match on {
        GrantOn::Column(_, c) => {
            let c = quote_ident(c.as_str());
            privileges
                .iter()
                .map(|p| format!("{p} ({c})"))
                .collect::<Vec<_>>()
                .join(", ")
        }
        _ => privileges.join(", "),
    }
}

/// `COMMENT ON` the object `on` names, `IS NULL` for none.
pub fn comment_sql(on: &CommentOn, comment: Option<&str>) -> String {
    let object = match on {
        CommentOn::Schema(s) => format!("SCHEMA {}", quote_ident(s.as_str())),
        CommentOn::Type(q) => format!("TYPE {}", qualified(q)),
        CommentOn::Domain(q) => format!("DOMAIN {}", qualified(q)),
        CommentOn::Collation(q) => format!("COLLATION {}", qualified(q)),
        CommentOn::Sequence(q) => format!("SEQUENCE {}", qualified(q)),
        CommentOn::Index(q) => format!("INDEX {}", qualified(q)),
        CommentOn::Statistics(q) => format!("STATISTICS {}", qualified(q)),
        CommentOn::Constraint(t, c) => {
            format!("CONSTRAINT {} ON {}", quote_ident(c.as_str()), qualified(t))
        }
    };
    let value = super::comment_literal(comment);
    format!("COMMENT ON {object} IS {value}")
}
