//! GRANT and REVOKE on relations.

use super::qualified;
use crate::model::GrantKey;

/// `GRANT privilege, ... ON TABLE | SEQUENCE object TO grantee [WITH
/// GRANT OPTION]`.
pub fn grant_sql(g: &GrantKey, privileges: &[&str], grantable: bool) -> String {
    format!(
        "GRANT {} ON {} {} TO {}{}",
        privileges.join(", "),
        g.on.keyword(),
        qualified(&g.object),
        g.grantee_sql(),
        if grantable { " WITH GRANT OPTION" } else { "" }
    )
}

/// `REVOKE [GRANT OPTION FOR] privilege, ... ON TABLE | SEQUENCE object
/// FROM grantee`.
pub fn revoke_sql(g: &GrantKey, privileges: &[&str], option_only: bool) -> String {
    format!(
        "REVOKE {}{} ON {} {} FROM {}",
        if option_only { "GRANT OPTION FOR " } else { "" },
        privileges.join(", "),
        g.on.keyword(),
        qualified(&g.object),
        g.grantee_sql()
    )
}
