//! SQL read with PostgreSQL's own grammar (libpg_query, through the
//! `pg_query` crate), offline: an expression in a target file that
//! PostgreSQL could not parse is found when the file is read, with where
//! in the expression, rather than when a step runs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};

use pg_query::protobuf::Token;

/// Why a piece of SQL does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// PostgreSQL's message, e.g. `syntax error at or near ">"`.
    pub message: String,
    /// Byte offset in the text where it noticed, when it says.
    pub offset: Option<usize>,
}

// libpg_query's C interface (pg_query.h). The `pg_query` crate links the
// library but keeps the error's position to itself, so the two functions
// needed are declared here; the layouts are libpg_query's, stable since
// its first release.
#[repr(C)]
struct PgQueryError {
    message: *mut c_char,
    funcname: *mut c_char,
    filename: *mut c_char,
    lineno: c_int,
    cursorpos: c_int,
    context: *mut c_char,
}

#[repr(C)]
struct PgQueryParseResult {
    parse_tree: *mut c_char,
    stderr_buffer: *mut c_char,
    error: *mut PgQueryError,
}

unsafe extern "C" {
    fn pg_query_parse(input: *const c_char) -> PgQueryParseResult;
    fn pg_query_free_parse_result(result: PgQueryParseResult);
}

/// Parses `sql` with PostgreSQL's grammar (statements, not their meaning:
/// names are not looked up).
pub(super) fn parse(sql: &str) -> Result<(), SyntaxError> {
    let input = CString::new(sql).map_err(|e| SyntaxError {
        message: "SQL text cannot contain a NUL character".into(),
        offset: Some(e.nul_position()),
    })?;
    // SAFETY: `input` is a valid NUL-terminated string that outlives the
    // call; the result is freed exactly once, after its error (if any) has
    // been copied out.
    unsafe {
        let result = pg_query_parse(input.as_ptr());
        let outcome = if result.error.is_null() {
            Ok(())
        } else {
            let e = &*result.error;
            let message = if e.message.is_null() {
                "the SQL does not parse".to_string()
            } else {
                CStr::from_ptr(e.message).to_string_lossy().into_owned()
            };
            // A 1-based character position in the input; 0 when unknown.
            let offset = usize::try_from(e.cursorpos)
                .ok()
                .filter(|&p| p > 0)
                .and_then(|p| {
                    sql.char_indices()
                        .nth(p - 1)
                        .map(|(b, _)| b)
                        .or(Some(sql.len()))
                });
            Err(SyntaxError { message, offset })
        };
        pg_query_free_parse_result(result);
        outcome
    }
}

/// Checks that `expr` is one SQL expression, as it will be written into
/// `CHECK (...)`, `DEFAULT ...`, an index key or `WHERE ...`: it parses,
/// and it cannot reach outside the parentheses bellows puts around it (an
/// unbalanced `)` or a `;` would change the statement it is pasted into).
pub fn check_expression(expr: &str) -> Result<(), SyntaxError> {
    let tokens = pg_query::scan(expr).map_err(|e| SyntaxError {
        message: e.to_string(),
        offset: None,
    })?;
    let mut depth = 0i64;
    for t in &tokens.tokens {
        let at = usize::try_from(t.start).ok();
        if t.token == Token::Ascii40 as i32 {
            depth += 1;
        } else if t.token == Token::Ascii41 as i32 {
            depth -= 1;
            if depth < 0 {
                return Err(SyntaxError {
                    message: "a `)` closes a parenthesis the expression never opened".into(),
                    offset: at,
                });
            }
        } else if t.token == Token::Ascii59 as i32 {
            return Err(SyntaxError {
                message: "a `;` ends the statement: an expression cannot contain one".into(),
                offset: at,
            });
        } else if t.token == Token::SqlComment as i32 {
            return Err(SyntaxError {
                message: "a `--` comment would swallow what follows the expression in the statement it goes into; write `/* ... */` instead".into(),
                offset: at,
            });
        }
    }
    const PREFIX: &str = "SELECT (";
    parse(&format!("{PREFIX}{expr})")).map_err(|mut e| {
        e.offset = e
            .offset
            .map(|o| o.saturating_sub(PREFIX.len()).min(expr.len()));
        e
    })
}

/// Whether `expr` may name `name`: one of its words is that identifier
/// (unquoted words compare in lower case, as PostgreSQL folds them). A
/// cautious reading: a function, alias or field of that name counts too,
/// and an expression that does not scan counts as naming everything.
pub fn mentions(expr: &str, name: &str) -> bool {
    let Ok(scanned) = pg_query::scan(expr) else {
        return true;
    };
    scanned.tokens.iter().any(|t| {
        let (Ok(start), Ok(end)) = (usize::try_from(t.start), usize::try_from(t.end)) else {
            return true;
        };
        let Some(text) = expr.get(start..end) else {
            return true;
        };
        match text.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\"\"", "\"") == name,
            None => text.to_lowercase() == name,
        }
    })
}

/// Checks that `query` is one query a view can be defined by: a
/// `SELECT` (or `VALUES`, or a set operation of them, with `WITH`), and
/// nothing after it.
pub fn check_query(query: &str) -> Result<(), SyntaxError> {
    parse(query)?;
    let parsed =
        pg_query::parse(query, pg_query::ParserOptions::default()).map_err(|e| SyntaxError {
            message: e.to_string(),
            offset: None,
        })?;
    let stmts = &parsed.protobuf.stmts;
    if stmts.len() != 1 {
        return Err(SyntaxError {
            message: format!(
                "a view is one query, and this is {} statements",
                stmts.len()
            ),
            offset: stmts
                .get(1)
                .and_then(|s| usize::try_from(s.stmt_location).ok()),
        });
    }
    match stmts[0].stmt.as_ref().and_then(|n| n.node.as_ref()) {
        Some(pg_query::NodeEnum::SelectStmt(s)) if s.into_clause.is_none() => Ok(()),
        Some(pg_query::NodeEnum::SelectStmt(_)) => Err(SyntaxError {
            message: "SELECT ... INTO creates a table; a view's query cannot".into(),
            offset: None,
        }),
        _ => Err(SyntaxError {
            message: "a view's query must be a SELECT (or VALUES)".into(),
            offset: Some(0),
        }),
    }
}

/// The relations (tables and views) `query` (or any statement) names, common table
/// expressions left out, sorted: what a view reads, as far as its text
/// says, for when the server has not said (a name without a schema is in
/// `public`, as names in a target resolve). Empty when it does not parse.
pub fn query_relations(query: &str) -> Vec<crate::model::QualifiedName> {
    use crate::model::{DEFAULT_SCHEMA, Ident, QualifiedName};
    let Ok(parsed) = pg_query::parse(query, pg_query::ParserOptions::default()) else {
        return Vec::new();
    };
    let mut out: Vec<QualifiedName> = parsed
        .tables()
        .into_iter()
        .filter_map(|t| {
            let (schema, name) = t.split_once('.').unwrap_or((DEFAULT_SCHEMA, t.as_str()));
            Some(QualifiedName::new(
                Ident::new(schema).ok()?,
                Ident::new(name).ok()?,
            ))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `expr` as PostgreSQL's own deparser writes it: parentheses only where
/// the grammar needs them, one spelling of each operator and keyword
/// (`!=` is `<>`), casts as `x::t`. Expressions the server stored and the
/// same expressions as people write them differ much less this way.
/// `None` when it does not parse as one expression.
pub fn canonical_expression(expr: &str) -> Option<String> {
    thread_local! {
        static SEEN: RefCell<HashMap<String, Option<String>>> = RefCell::new(HashMap::new());
    }
    // Parsing and deparsing cost microseconds an expression, and a schema
    // repeats its expressions (one default on many columns, the same
    // check on many tables): each distinct text is deparsed once. The
    // map is only looked up, never iterated, so its order is of no
    // consequence; it is emptied if it grows past a bound.
    const BOUND: usize = 1 << 16;
    if let Some(hit) = SEEN.with(|seen| seen.borrow().get(expr).cloned()) {
        return hit;
    }
    let canonical = deparse(expr);
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.len() >= BOUND {
            seen.clear();
        }
        seen.insert(expr.to_string(), canonical.clone());
    });
    canonical
}

/// What follows `EXCLUDE` in an exclusion constraint (`USING gist (c
/// WITH &&) WHERE (...)`), checked to be one such definition and written
/// as PostgreSQL's deparser writes it, so the target's spelling and the
/// server's compare equal. The error points into `def`.
pub fn canonical_exclusion(def: &str) -> Result<String, SyntaxError> {
    canonical_clause(
        "ALTER TABLE bellows_t ADD CONSTRAINT bellows_c EXCLUDE ",
        def,
        "this is not one exclusion definition (`USING method (element WITH operator, ...)`, optionally `WHERE (predicate)`)",
    )
}

/// What follows `PARTITION BY` (`RANGE (created_at)`), checked and
/// written as the deparser writes it (as [`canonical_exclusion`]).
pub fn canonical_partition_key(def: &str) -> Result<String, SyntaxError> {
    canonical_clause(
        "CREATE TABLE bellows_t (bellows_c int) PARTITION BY ",
        def,
        "this is not one partition key (`range (column, ...)`, `list (expression)`, `hash (column)`)",
    )
}

/// A partition's bound (`FOR VALUES FROM (1) TO (10)`, `DEFAULT`),
/// checked and written as the deparser writes it.
pub fn canonical_partition_bound(def: &str) -> Result<String, SyntaxError> {
    canonical_clause(
        "CREATE TABLE bellows_p PARTITION OF bellows_t ",
        def,
        "this is not one partition bound (`FOR VALUES FROM (...) TO (...)`, `FOR VALUES IN (...)`, `FOR VALUES WITH (modulus m, remainder r)`, or `DEFAULT`)",
    )
}

/// `def` pasted after `prefix` must make one statement; the deparser's
/// text of it after the (deparsed) prefix. The error points into `def`.
fn canonical_clause(prefix: &str, def: &str, what: &str) -> Result<String, SyntaxError> {
    let sql = format!("{prefix}{def}");
    let shifted = |mut e: SyntaxError| {
        e.offset = e
            .offset
            .map(|o| o.saturating_sub(prefix.len()).min(def.len()));
        e
    };
    let not_one = || SyntaxError {
        message: what.into(),
        offset: None,
    };
    // Parsed once; only a definition that does not parse is read again,
    // by the parser that says where it stopped.
    let Ok(parsed) = pg_query::parse(&sql, pg_query::ParserOptions::default()) else {
        parse(&sql).map_err(shifted)?;
        return Err(not_one());
    };
    if parsed.protobuf.stmts.len() != 1 || def.contains(';') {
        return Err(not_one());
    }
    let text = pg_query::deparse(&parsed.protobuf, Default::default()).map_err(|_| not_one())?;
    // The deparser writes the prefix in its own words too: the clause is
    // what follows the prefix's last word.
    let anchor = prefix.trim_end().rsplit(' ').next().unwrap_or(prefix);
    let at = text
        .to_ascii_uppercase()
        .find(&format!(" {} ", anchor.to_ascii_uppercase()))
        .ok_or_else(not_one)?;
    Ok(text[at + anchor.len() + 2..].to_string())
}

/// [`canonical_exclusion`] as a check.
pub fn check_exclusion(def: &str) -> Result<(), SyntaxError> {
    canonical_exclusion(def).map(|_| ())
}

fn deparse(expr: &str) -> Option<String> {
    if expr.contains(';') {
        return None;
    }
    let parsed = pg_query::parse(
        &format!("SELECT {expr}"),
        pg_query::ParserOptions::default(),
    )
    .ok()?;
    let text = pg_query::deparse(&parsed.protobuf, Default::default()).ok()?;
    text.strip_prefix("SELECT ").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_compare_as_the_deparser_writes_them() {
        let server = canonical_exclusion("USING gist (c WITH &&)").expect("parses");
        assert_eq!(
            canonical_exclusion("using GIST ( c with && )").as_deref(),
            Ok(server.as_str())
        );
        let both =
            canonical_exclusion("USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled)")
                .expect("parses");
        assert!(both.contains("WHERE"), "{both}");
        let e = canonical_exclusion("USING gist (c WITH &&) garbage").expect_err("syntax");
        assert!(e.offset.is_some_and(|o| o <= 30), "{e:?}");
        assert!(canonical_exclusion("USING gist (c WITH &&); DROP TABLE t").is_err());
    }

    #[test]
    fn partition_keys_and_bounds_compare_as_the_deparser_writes_them() {
        for (a, b) in [
            ("RANGE (at)", "range ( at )"),
            ("LIST (lower(k))", "list (LOWER(k))"),
            ("HASH (a, b)", "hash (a,b)"),
        ] {
            assert_eq!(
                canonical_partition_key(a),
                canonical_partition_key(b),
                "{a}"
            );
        }
        assert_eq!(
            canonical_partition_key("range (at)").as_deref(),
            Ok("RANGE (at)")
        );
        for (a, b) in [
            (
                "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                "for values from ('2024-01-01') to ('2025-01-01')",
            ),
            (
                "FOR VALUES IN ('a', NULL, 'b')",
                "for values in ('a',null,'b')",
            ),
            (
                "FOR VALUES WITH (modulus 2, remainder 0)",
                "FOR VALUES WITH (MODULUS 2, REMAINDER 0)",
            ),
            (
                "FOR VALUES FROM (MINVALUE) TO (10)",
                "for values from (minvalue) to (10)",
            ),
            ("DEFAULT", "default"),
        ] {
            assert_eq!(
                canonical_partition_bound(a),
                canonical_partition_bound(b),
                "{a}"
            );
        }
        assert!(canonical_partition_key("RANGE (at); DROP TABLE t").is_err());
        assert!(canonical_partition_key("sideways (at)").is_err());
        assert!(canonical_partition_bound("FOR VALUES FROM (1)").is_err());
    }

    #[test]
    fn an_expression_mentions_the_names_it_holds() {
        assert!(mentions("score::bigint", "score"));
        assert!(mentions("upper(Name)", "name"));
        assert!(mentions("\"Full Name\" || 'x'", "Full Name"));
        assert!(
            !mentions("\"Name\"", "name"),
            "a quoted name keeps its case"
        );
        assert!(
            !mentions("'score' || id", "score"),
            "a string is not a name"
        );
        assert!(!mentions("scores + 1", "score"));
        assert!(mentions("'unterminated", "x"), "what does not scan counts");
    }

    #[test]
    fn a_view_query_is_one_select() {
        assert_eq!(check_query("SELECT id FROM t WHERE x > 0"), Ok(()));
        assert_eq!(
            check_query("WITH a AS (SELECT 1) SELECT * FROM a UNION SELECT 2"),
            Ok(())
        );
        assert_eq!(check_query("VALUES (1), (2)"), Ok(()));
        let e = check_query("SELECT 1; SELECT 2").expect_err("two");
        assert!(e.message.contains("2 statements"), "{e:?}");
        let e = check_query("DELETE FROM t").expect_err("not a select");
        assert!(e.message.contains("must be a SELECT"), "{e:?}");
        let e = check_query("SELECT 1 INTO t").expect_err("into");
        assert!(e.message.contains("INTO"), "{e:?}");
        let e = check_query("SELECT id FROM WHERE").expect_err("syntax");
        assert!(e.message.contains("syntax error"), "{e:?}");
        assert_eq!(e.offset, Some(15));
    }

    #[test]
    fn the_relations_a_query_names_are_found_without_its_ctes() {
        let names: Vec<String> = query_relations(
            "WITH recent AS (SELECT * FROM Orders) SELECT * FROM recent JOIN app.\"Users\" u USING (id) WHERE EXISTS (SELECT 1 FROM items)",
        )
        .iter()
        .map(|q| q.to_string())
        .collect();
        assert_eq!(names, ["app.Users", "public.items", "public.orders"]);
        assert!(query_relations("SELECT FROM WHERE").is_empty());
    }

    #[test]
    fn expressions_postgres_reads_pass() {
        for e in [
            "id > 0",
            "position('@' in email) > 0",
            "lower(email)",
            "now()",
            "'free'::text",
            "deleted_at IS NULL AND (a, b) > (1, 2)",
            "CASE WHEN x THEN 'a;b' ELSE $$)$$ END",
            "\"Mixed Case\" <> ''",
            "x /* a comment */ + 1",
        ] {
            assert_eq!(check_expression(e), Ok(()), "{e}");
        }
    }

    #[test]
    fn broken_expressions_are_caught_where_they_break() {
        let e = check_expression("id > > 0").expect_err("does not parse");
        assert!(e.message.contains("syntax error"), "{e:?}");
        assert_eq!(e.offset, Some(5), "the second `>`");
        let e = check_expression("lower(").expect_err("unclosed");
        assert!(e.message.contains("syntax error"), "{e:?}");
        let e = check_expression("1) OR (true").expect_err("escapes");
        assert_eq!(e.offset, Some(1));
        assert!(check_expression("1; DROP TABLE users").is_err());
        assert!(check_expression("1 -- )").is_err());
        assert!(check_expression("x -- a comment\n + 1").is_err());
    }
}
