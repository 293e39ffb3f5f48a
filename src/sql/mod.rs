//! SQL text helpers shared by every dialect: the one place identifiers and
//! literals are quoted. Nothing else in bellows builds SQL by pasting names.

pub mod postgres;
pub mod sqlite;

/// Keywords PostgreSQL does not accept as bare identifiers (reserved,
/// type/function-name and column-name keywords; PostgreSQL's own
/// `quote_ident` quotes exactly these and leaves unreserved ones bare).
const KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// Whether `word` is one of PostgreSQL's keywords that cannot stand bare
/// for a name.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.binary_search(&word).is_ok()
}

/// Whether `name` must be double-quoted to be read back unchanged.
/// Whether PL/pgSQL source (or a trigger's `WHEN`) refers to `NEW.<column>` or `OLD.<column>`
/// (keywords and unquoted names in any case, the name quoted when it must
/// be, spaces around the dot allowed).
pub fn row_reference(source: &str, column: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    let quoted = needs_quotes(column);
    let target = if quoted {
        format!("\"{}\"", column.replace('"', "\"\""))
    } else {
        column.to_string()
    };
    for record in ["new", "old"] {
        for (i, _) in lower.match_indices(record) {
            let before = lower[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
                continue;
            }
            let rest = lower[i + record.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('.') else {
                continue;
            };
            let rest = rest.trim_start();
            // Quoted names are compared as written; unquoted ones fold.
            let start = source.len() - rest.len();
            let tail = if quoted { &source[start..] } else { rest };
            if let Some(after) = tail.strip_prefix(target.as_str()) {
                let next = after.chars().next();
                if quoted || !next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    return true;
                }
            }
        }
    }
    false
}

pub fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    !(first_ok && rest_ok) || KEYWORDS.binary_search(&name).is_ok()
}

/// The identifier as SQL text: bare when that reads back the same,
/// double-quoted (inner quotes doubled) otherwise. The only function in
/// bellows that quotes identifiers.
pub fn quote_ident(name: &str) -> String {
    if needs_quotes(name) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// A string literal: single quotes, inner quotes doubled. Backslashes are
/// plain characters under `standard_conforming_strings` (on since 9.1).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_references_are_found_and_others_are_not() {
        let body = "BEGIN NEW.updated_at := now(); IF old . Email IS DISTINCT FROM new.\"Mixed\" THEN END IF; x := new_total; RETURN NEW; END";
        assert!(row_reference(body, "updated_at"));
        assert!(row_reference(body, "email"));
        assert!(row_reference(body, "Mixed"));
        assert!(!row_reference(body, "total"));
        assert!(!row_reference(body, "updated"));
        assert!(!row_reference(body, "mixed"));
    }

    #[test]
    fn keyword_list_is_sorted_for_binary_search() {
        let mut sorted = KEYWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, KEYWORDS);
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("1st"), "\"1st\"");
        assert_eq!(quote_ident("ünï"), "\"ünï\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
