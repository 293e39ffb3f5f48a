//! Row-level security DDL: policies and a table's flags.

use super::qualified;
use crate::model::*;
use crate::sql::quote_ident;

/// `TO` roles: `PUBLIC` is a keyword, any other name an identifier.
fn roles(p: &Policy) -> String {
    p.roles
        .iter()
        .map(|r| {
            if r.as_str() == PUBLIC_ROLE {
                "PUBLIC".to_string()
            } else {
                quote_ident(r.as_str())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn on(key: &PolicyKey) -> String {
    format!(
        "{} ON {}",
        quote_ident(key.name.as_str()),
        qualified(&key.table)
    )
}

/// `CREATE POLICY` for `p`, then its comment.
pub fn create_policy(key: &PolicyKey, p: &Policy) -> Vec<String> {
    let mut s = format!("CREATE POLICY {}", on(key));
    if p.restrictive {
        s.push_str(" AS RESTRICTIVE");
    }
    if p.command != PolicyCommand::All {
        s.push_str(&format!(" FOR {}", p.command.as_str().to_uppercase()));
    }
    s.push_str(&format!(" TO {}", roles(p)));
    if let Some(u) = &p.using {
        s.push_str(&format!(" USING ({u})"));
    }
    if let Some(c) = &p.with_check {
        s.push_str(&format!(" WITH CHECK ({c})"));
    }
    let mut out = vec![s];
    if p.comment.is_some() {
        out.push(policy_comment(key, p.comment.as_deref()));
    }
    out
}

/// `ALTER POLICY` taking a policy to `p`'s roles and clauses; `None` when
/// it cannot (`ALTER POLICY` neither changes the command or the kind nor
/// removes a clause).
pub fn alter_policy(key: &PolicyKey, o: &Policy, p: &Policy) -> Option<String> {
    let removes = (o.using.is_some() && p.using.is_none())
        || (o.with_check.is_some() && p.with_check.is_none());
    if o.command != p.command || o.restrictive != p.restrictive || removes {
        return None;
    }
    let mut s = format!("ALTER POLICY {} TO {}", on(key), roles(p));
    if let Some(u) = &p.using {
        s.push_str(&format!(" USING ({u})"));
    }
    if let Some(c) = &p.with_check {
        s.push_str(&format!(" WITH CHECK ({c})"));
    }
    Some(s)
}

pub fn drop_policy(key: &PolicyKey) -> String {
    format!("DROP POLICY {}", on(key))
}

pub fn policy_comment(key: &PolicyKey, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON POLICY {} IS {}",
        on(key),
        super::comment_literal(comment)
    )
}

/// The `ALTER TABLE`s that take `table`'s row-level security from `o` to
/// `n`.
pub fn row_security(table: &QualifiedName, o: RowSecurity, n: RowSecurity) -> Vec<String> {
    let mut out = Vec::new();
    let t = qualified(table);
    if o.enabled != n.enabled {
        let verb = if n.enabled { "ENABLE" } else { "DISABLE" };
        out.push(format!("ALTER TABLE {t} {verb} ROW LEVEL SECURITY"));
    }
    if o.forced != n.forced {
        let verb = if n.forced { "FORCE" } else { "NO FORCE" };
        out.push(format!("ALTER TABLE {t} {verb} ROW LEVEL SECURITY"));
    }
    out
}
