//! The script that builds a whole schema on an empty database (tests and
//! fixtures use it; on a live database the planner's safe steps run
//! instead).

use super::*;

/// Statements that create `schema` from nothing, in dependency order:
/// namespaces, extensions, enums, collations, range types, domains, sequences, functions with string
/// bodies, tables with their own constraints, sequence ownership,
/// indexes, foreign keys, comments, functions with SQL-standard bodies,
/// aggregates,
/// views (each after the views it names), triggers, policies, statistics
/// objects, grants and
/// the comments kept apart from their objects; last, default privileges.
pub fn create_all(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for s in &schema.schemas {
        out.push(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(s.as_str())
        ));
    }
    for (name, e) in &schema.extensions {
        let mut s = format!(
            "CREATE EXTENSION IF NOT EXISTS {}",
            quote_ident(name.as_str())
        );
        if let Some(sc) = &e.schema {
            s.push_str(&format!(" SCHEMA {}", quote_ident(sc.as_str())));
        }
        if let Some(v) = &e.version {
            s.push_str(&format!(" VERSION {}", quote_literal(v)));
        }
        out.push(s);
    }
    for (name, e) in &schema.enums {
        let labels: Vec<String> = e.values.iter().map(|v| quote_literal(v)).collect();
        out.push(format!(
            "CREATE TYPE {} AS ENUM ({})",
            qualified(name),
            labels.join(", ")
        ));
    }
    for (name, c) in &schema.collations {
        out.push(create_collation(name, c));
    }
    for (name, r) in &schema.range_types {
        out.push(create_range_type(name, r));
    }
    for (name, d) in domains_in_order(schema) {
        out.push(create_domain(name, d));
    }
    for (name, t) in &schema.composite_types {
        out.push(create_composite_type(name, t));
        if let Some(c) = &t.comment {
            out.push(format!(
                "COMMENT ON TYPE {} IS {}",
                qualified(name),
                quote_literal(c)
            ));
        }
    }
    for (name, s) in &schema.sequences {
        out.push(create_sequence(name, s));
    }
    // Routines whose body is a string before the tables, whose defaults,
    // checks and indexes may call them, with their bodies unchecked until
    // they run (as pg_dump does); SQL-standard bodies, which are resolved
    // when made, after the tables.
    let (standard, string): (Vec<_>, Vec<_>) = schema
        .routines
        .iter()
        .partition(|(_, r)| r.sql_standard_body());
    if !string.is_empty() {
        out.push("SET check_function_bodies = off".to_string());
    }
    for (key, r) in string {
        out.extend(create_routine(key, r, false));
    }
    for (name, t) in partition::parents_first(schema) {
        let mut parts: Vec<String> = t.columns.iter().map(column_def).collect();
        if let Some(pk) = &t.primary_key {
            parts.push(format!(
                "CONSTRAINT {} PRIMARY KEY ({}){}",
                quote_ident(pk.name.as_str()),
                ident_list(&pk.columns),
                deferrable_sql(pk.deferrable)
            ));
        }
        for (n, u) in &t.uniques {
            parts.push(format!(
                "CONSTRAINT {} {}",
                quote_ident(n.as_str()),
                unique_def(u)
            ));
        }
        // A NOT VALID check is added after the table (CREATE TABLE has no
        // such form), with the foreign keys.
        for (n, c) in t.checks.iter().filter(|(_, c)| !c.not_valid.0) {
            parts.push(format!(
                "CONSTRAINT {} {}",
                quote_ident(n.as_str()),
                check_def(c)
            ));
        }
        for (n, e) in &t.exclusions {
            parts.push(format!(
                "CONSTRAINT {} {}",
                quote_ident(n.as_str()),
                exclusion_def(e)
            ));
        }
        out.push(partition::create_table_sql(name, t, &parts));
    }
    for (name, s) in &schema.sequences {
        if let Some((t, c)) = &s.owned_by {
            out.push(format!(
                "ALTER SEQUENCE {} OWNED BY {}.{}.{}",
                qualified(name),
                quote_ident(name.schema.as_str()),
                quote_ident(t.as_str()),
                quote_ident(c.as_str())
            ));
        }
    }
    for (name, t) in &schema.tables {
        for (n, ix) in &t.indexes {
            out.push(create_index(name, n, ix, false));
        }
        for c in &t.columns {
            out.extend(super::new_column_settings(name, c, true));
        }
        if t.replica_identity != ReplicaIdentity::Default {
            out.push(super::replica_identity_sql(name, &t.replica_identity));
        }
    }
    for (name, t) in &schema.tables {
        for (n, fk) in &t.foreign_keys {
            out.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}{}",
                qualified(name),
                quote_ident(n.as_str()),
                foreign_key_def(fk),
                if fk.not_valid.0 { " NOT VALID" } else { "" }
            ));
        }
        for (n, c) in t.checks.iter().filter(|(_, c)| c.not_valid.0) {
            out.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
                qualified(name),
                quote_ident(n.as_str()),
                check_def(c)
            ));
        }
    }
    for (name, t) in &schema.tables {
        if let Some(c) = &t.comment {
            out.push(format!(
                "COMMENT ON TABLE {} IS {}",
                qualified(name),
                quote_literal(c)
            ));
        }
        for col in &t.columns {
            if let Some(c) = &col.comment {
                out.push(format!(
                    "COMMENT ON COLUMN {}.{} IS {}",
                    qualified(name),
                    quote_ident(col.name.as_str()),
                    quote_literal(c)
                ));
            }
        }
    }
    for (key, r) in standard {
        out.extend(create_routine(key, r, false));
    }
    // Views' names resolve with the default search_path (`public`).
    // Aggregates once every function is, before the views that call them.
    for (key, a) in &schema.aggregates {
        out.extend(create_aggregate(key, a, false));
    }
    for name in views_in_order(schema) {
        out.extend(create_view(name, &schema.views[name], false));
    }
    // Triggers last: a view's are on it.
    for (key, t) in &schema.triggers {
        out.extend(create_trigger(key, t));
    }
    for (key, p) in &schema.policies {
        out.extend(create_policy(key, p));
    }
    for (name, s) in &schema.extended_statistics {
        out.extend(create_statistics(name, s));
    }
    for (table, flags) in &schema.row_security {
        out.extend(row_security(table, RowSecurity::default(), *flags));
    }
    for (g, privileges) in &schema.grants {
        out.extend(from_fresh(
            &g.fresh(),
            privileges,
            |names, grantable, revoke| {
                if revoke {
                    revoke_sql(g, names, false)
                } else {
                    grant_sql(g, names, grantable)
                }
            },
        ));
    }
    for (on, role) in &schema.owners {
        out.push(super::owner_sql(schema, on, role));
    }
    for (on, c) in &schema.comments {
        out.push(comment_sql(on, Some(c)));
    }
    // Last, so that they give the objects above nothing.
    for (k, privileges) in &schema.default_grants {
        out.extend(from_fresh(
            &k.fresh(),
            privileges,
            |names, grantable, revoke| {
                if revoke {
                    default_revoke_sql(k, names, false)
                } else {
                    default_grant_sql(k, names, grantable)
                }
            },
        ));
    }
    out
}

/// From what a grantee holds with nothing said (`fresh`) to
/// `privileges`: the statements `sql(names, grantable, revoke)` makes,
/// revokes of what `fresh` holds beyond them, then grants.
fn from_fresh(
    fresh: &Privileges,
    privileges: &Privileges,
    sql: impl Fn(&[&str], bool, bool) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    let revoked: Vec<&str> = fresh
        .keys()
        .filter(|p| !privileges.contains_key(*p))
        .map(String::as_str)
        .collect();
    if !revoked.is_empty() {
        out.push(sql(&revoked, false, true));
    }
    for grantable in [false, true] {
        let names: Vec<&str> = privileges
            .iter()
            .filter(|(p, o)| **o == grantable && fresh.get(*p) != Some(o))
            .map(|(p, _)| p.as_str())
            .collect();
        if !names.is_empty() {
            out.push(sql(&names, grantable, false));
        }
    }
    out
}
