//! What a SQLite file cannot hold, or bellows does not plan for it yet:
//! each is refused with where it is and what to write instead, all at
//! once, before anything is planned.

use crate::model::{DEFAULT_INDEX_METHOD, Identity, Schema};
use crate::plan::PlanError;

fn refuse(
    errors: &mut Vec<PlanError>,
    object: impl Into<String>,
    what: impl Into<String>,
    hint: impl Into<String>,
) {
    errors.push(PlanError::Unsupported {
        object: object.into(),
        what: what.into(),
        hint: hint.into(),
    });
}

/// SQLite's built-in collations.
const COLLATIONS: [&str; 3] = ["binary", "nocase", "rtrim"];

pub(super) fn unsupported(s: &Schema, errors: &mut Vec<PlanError>) {
    let kinds: [(&str, bool, &str); 18] = [
        (
            "schemas",
            s.schemas.is_empty(),
            "a SQLite file has one namespace: write its tables unqualified",
        ),
        (
            "extensions",
            s.extensions.is_empty(),
            "SQLite loads extensions per connection, not per file",
        ),
        (
            "enums",
            s.enums.is_empty(),
            "use a text column with a CHECK (status IN ('a', 'b'))",
        ),
        (
            "domains",
            s.domains.is_empty(),
            "use the base type and a CHECK on the column",
        ),
        (
            "range types",
            s.range_types.is_empty(),
            "SQLite has none: use two columns",
        ),
        (
            "composite types",
            s.composite_types.is_empty(),
            "SQLite has none: use columns, or a JSON text column",
        ),
        (
            "collations",
            s.collations.is_empty(),
            "SQLite's collations are binary, nocase and rtrim, or registered by the application",
        ),
        (
            "sequences",
            s.sequences.is_empty(),
            "an `integer` primary key takes the next number by itself (`identity: by_default` makes it AUTOINCREMENT)",
        ),
        (
            "functions and procedures",
            s.routines.is_empty(),
            "SQLite has no stored functions",
        ),
        (
            "aggregates",
            s.aggregates.is_empty(),
            "SQLite has no stored aggregates",
        ),
        (
            "triggers",
            s.triggers.is_empty(),
            "bellows does not plan SQLite triggers yet; keep them out of the target (it leaves the file's own alone)",
        ),
        (
            "row-level security",
            s.row_security.is_empty(),
            "SQLite has no row-level security",
        ),
        (
            "policies",
            s.policies.is_empty(),
            "SQLite has no row-level security",
        ),
        (
            "statistics objects",
            s.extended_statistics.is_empty(),
            "SQLite has no `CREATE STATISTICS`: its `ANALYZE` gathers statistics of the indexes",
        ),
        (
            "grants",
            s.grants.is_empty() && s.roles.is_empty(),
            "SQLite has no roles: access is the file's",
        ),
        (
            "default privileges",
            s.default_grants.is_empty(),
            "SQLite has no roles",
        ),
        (
            "owners",
            s.owners.is_empty(),
            "SQLite has no roles: the file is its owner's",
        ),
        (
            "comments",
            s.comments.is_empty(),
            "SQLite keeps no comments on objects; write them in the YAML as `# …`",
        ),
    ];
    for (kind, empty, hint) in kinds {
        if !empty {
            refuse(errors, "SQLite", format!("{kind} in the target"), hint);
        }
    }
    for (name, v) in &s.views {
        let obj = format!("view {}", name.unqualified());
        if name.schema.as_str() != crate::model::DEFAULT_SCHEMA {
            refuse(
                errors,
                &obj,
                "a view in a schema of its own",
                "a SQLite file has one namespace: write the view unqualified",
            );
        }
        if v.materialized.is_some() {
            refuse(
                errors,
                &obj,
                "a materialized view",
                "SQLite has none: make it a table the application fills, or a plain view",
            );
        }
        if v.check_option.is_some() || v.security_barrier || v.security_invoker {
            refuse(
                errors,
                &obj,
                "check_option, security_barrier or security_invoker",
                "SQLite's views are read-only queries with none of these; leave them out",
            );
        }
        if v.comment.is_some() {
            refuse(
                errors,
                &obj,
                "a comment",
                "SQLite keeps no comments; write them in the YAML as `# …`",
            );
        }
    }
    for (name, t) in &s.tables {
        let name_s = name.unqualified();
        let obj = format!("table {name_s}");
        if name.schema.as_str() != crate::model::DEFAULT_SCHEMA {
            refuse(
                errors,
                &obj,
                "a table in a schema of its own",
                "a SQLite file has one namespace: write the table unqualified",
            );
        }
        if t.comment.is_some() || t.columns.iter().any(|c| c.comment.is_some()) {
            refuse(
                errors,
                &obj,
                "a comment",
                "SQLite keeps no comments; write them in the YAML as `# …`",
            );
        }
        if t.without_rowid && t.primary_key.is_none() {
            refuse(
                errors,
                &obj,
                "a WITHOUT ROWID table without a primary key",
                "SQLite keeps such a table's rows by its primary key: give it one",
            );
        }
        if t.strict {
            for c in &t.columns {
                let ty = c.ty.to_string();
                if !["integer", "real", "text", "blob", "any"].contains(&ty.as_str()) {
                    refuse(
                        errors,
                        format!("column {name_s}.{}", c.name),
                        format!("type `{ty}` in a STRICT table"),
                        "a STRICT table's columns are int, integer, real, text, blob or any",
                    );
                }
            }
        }
        if t.unlogged {
            refuse(
                errors,
                &obj,
                "an unlogged table",
                "SQLite has no unlogged tables",
            );
        }
        if t.replica_identity != crate::model::ReplicaIdentity::Default {
            refuse(
                errors,
                &obj,
                "a replica identity",
                "SQLite has no logical replication; leave `replica_identity` out",
            );
        }
        if !t.storage.is_empty() {
            refuse(
                errors,
                &obj,
                "storage parameters (`with:`)",
                "SQLite has none for a table; leave `with` out",
            );
        }
        if t.partition_by.is_some() || t.partition_of.is_some() {
            refuse(
                errors,
                &obj,
                "partitioning",
                "SQLite has no partitioned tables",
            );
        }
        if !t.inherits.is_empty() {
            refuse(
                errors,
                &obj,
                "table inheritance (`inherits`)",
                "SQLite has no table inheritance; give the table the columns itself",
            );
        }
        if !t.exclusions.is_empty() {
            refuse(
                errors,
                &obj,
                "an exclusion constraint",
                "SQLite has none; a unique index may do",
            );
        }
        let rowid = super::ddl::rowid_column(t).map(|c| &c.name);
        for c in &t.columns {
            match c.identity {
                Some(Identity::ByDefault)
                    if rowid == Some(&c.name) && c.identity_options.is_default() => {}
                Some(_) => refuse(
                    errors,
                    format!("column {name_s}.{}", c.name),
                    "an identity column",
                    "SQLite numbers rows by an `integer` primary key column of its own; make this the table's only primary key column, `type: integer`, with `identity` (AUTOINCREMENT: numbers are never used again) and no identity options (start, increment, …: SQLite has none), or none",
                ),
                None => {}
            }
            if !c.options.is_empty() {
                refuse(
                    errors,
                    format!("column {name_s}.{}", c.name),
                    "distinct-value estimates (`with:`)",
                    "SQLite's ANALYZE takes no per-column estimates; leave the column's `with` out",
                );
            }
            if !c.storage.is_default() {
                refuse(
                    errors,
                    format!("column {name_s}.{}", c.name),
                    "a storage strategy or compression method",
                    "SQLite keeps every value in its row, uncompressed; leave `storage` and `compression` out",
                );
            }
            if c.statistics.0.is_some() {
                refuse(
                    errors,
                    format!("column {name_s}.{}", c.name),
                    "a statistics target",
                    "SQLite's ANALYZE keeps no per-column target; leave `statistics` out",
                );
            }
            if let Some(coll) = &c.collation
                && !COLLATIONS.contains(&coll.as_str().to_ascii_lowercase().as_str())
            {
                refuse(
                    errors,
                    format!("column {name_s}.{}", c.name),
                    format!("collation {coll}"),
                    "SQLite's collations are binary, nocase and rtrim",
                );
            }
        }
        let deferrable = t
            .primary_key
            .as_ref()
            .is_some_and(|p| p.deferrable != Default::default())
            || t.uniques
                .values()
                .any(|u| u.deferrable != Default::default())
            || t.foreign_keys
                .values()
                .any(|f| f.deferrable != Default::default());
        if deferrable {
            refuse(
                errors,
                &obj,
                "a deferrable constraint",
                "bellows does not plan deferrable constraints for SQLite yet",
            );
        }
        // SQLite makes one index for keys over the same columns, and
        // none for a unique key over the primary key's.
        let mut sets: Vec<&Vec<crate::model::Ident>> =
            t.primary_key.iter().map(|p| &p.columns).collect();
        for (n, u) in &t.uniques {
            if sets.contains(&&u.columns) {
                refuse(
                    errors,
                    &obj,
                    format!("unique key {n} over the same columns as another key"),
                    "SQLite keeps one index for both, so one of them would be lost; drop the repeat",
                );
            }
            sets.push(&u.columns);
        }
        if t.uniques.values().any(|u| u.nulls_not_distinct) {
            refuse(
                errors,
                &obj,
                "a unique constraint with NULLS NOT DISTINCT",
                "SQLite's unique keys let NULLs repeat; make the columns NOT NULL",
            );
        }
        if t.checks.values().any(|c| c.not_valid.0)
            || t.foreign_keys.values().any(|f| f.not_valid.0)
        {
            refuse(
                errors,
                &obj,
                "a NOT VALID constraint",
                "SQLite checks every row when the table is made; leave `not_valid` out",
            );
        }
        for (n, ix) in &t.indexes {
            let odd = ix.method != DEFAULT_INDEX_METHOD
                || !ix.include.is_empty()
                || ix.nulls_not_distinct
                || !ix.storage.is_empty()
                || ix
                    .keys
                    .iter()
                    .any(|k| k.opclass.is_some() || k.nulls.is_some());
            if odd {
                refuse(
                    errors,
                    format!("index {n} on {name_s}"),
                    "an index method, INCLUDE, operator class, NULLS order, NULLS NOT DISTINCT or storage parameters",
                    "SQLite indexes are b-trees of plain keys (ASC / DESC, COLLATE)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::schema;

    #[test]
    fn storage_parameters_are_refused_where_they_are() {
        let s = schema(
            "tables:\n  t:\n    columns:\n      a: { type: integer }\n    indexes:\n      t_a: { columns: [a], with: { fillfactor: 70 } }\n    with: { fillfactor: 70 }\n",
        );
        let mut errors = Vec::new();
        super::unsupported(&s, &mut errors);
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 2, "{said:#?}");
        assert!(
            said[0].contains("storage parameters (`with:`)"),
            "{said:#?}"
        );
        assert!(
            said[1].contains("index t_a on t") && said[1].contains("storage parameters"),
            "{said:#?}"
        );
    }

    #[test]
    fn a_table_that_inherits_is_refused() {
        let s = schema(
            "tables:\n  p:\n    columns:\n      a: { type: integer }\n  c:\n    inherits: [p]\n",
        );
        let mut errors = Vec::new();
        super::unsupported(&s, &mut errors);
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 1, "{said:#?}");
        assert!(
            said[0].contains("table inheritance (`inherits`)"),
            "{said:#?}"
        );
    }
}
