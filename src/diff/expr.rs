//! Comparing SQL expressions the way PostgreSQL stores them. The server
//! prints what it stored in its own words: `position('@' in email) > 0`
//! comes back as `POSITION(('@'::text) IN (email)) > 0`, a partial index's
//! `deleted_at IS NULL` as `(deleted_at IS NULL)`. Comparison (never
//! output) goes through `normalize`, so those are not spurious changes.

use crate::model::{BaseType, ColumnType};

/// A comparison key for an expression: whitespace collapsed, unquoted
/// text lower-cased, casts the server adds to string literals dropped,
/// parentheses around a single token or around the whole dropped.
pub fn normalize(expr: &str) -> String {
    normalize_with(expr, &|_| true)
}

/// A comparison key for a column default. The server casts a default's
/// literals to the column's type (`'x'` on a varchar column is stored as
/// `'x'::character varying`), and only that cast is its own spelling: a
/// cast to another type is part of the value's meaning, and stays. After
/// `varchar → text` the stored `'x'::character varying` is no longer what
/// the target's `'x'` means on a text column, so the default is reset.
pub fn normalize_default(expr: &str, ty: &ColumnType) -> String {
    let own = type_key(ty);
    normalize_with(expr, &|cast: &str| {
        ColumnType::parse(cast).is_ok_and(|t| type_key(&t) == own)
    })
}

/// Whether two defaults are the same on a column of type `ty`.
pub fn same_default(a: Option<&str>, b: Option<&str>, ty: &ColumnType) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || normalize_default(a, ty) == normalize_default(b, ty),
        _ => false,
    }
}

/// A type without its modifiers (the server prints a literal's cast to
/// `varchar(20)` as `::character varying`), and a user type without its
/// schema (printed bare when it is on the search path).
fn type_key(ty: &ColumnType) -> String {
    let mut ty = ty.clone();
    if let BaseType::Named { schema, .. } = &mut ty.base {
        *schema = None;
    }
    let text = ty.to_string();
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn normalize_with(expr: &str, strip_cast: &dyn Fn(&str) -> bool) -> String {
    let mut s = tokens(expr);
    expand_between(&mut s);
    loop {
        let before = s.len();
        strip_literal_casts(&mut s, strip_cast);
        unwrap_single_tokens(&mut s);
        strip_outer(&mut s);
        if s.len() == before {
            break;
        }
    }
    unquote_numbers(&mut s);
    s.join(" ")
}

/// A number the server prints as a string literal (a negative default is
/// stored as `'-1'::integer`) and a signed number as written (`-1`, or
/// `- 1` once tokenized) compare as one token.
fn unquote_numbers(s: &mut Vec<String>) {
    let number = |t: &str| {
        let t = t.strip_prefix('-').unwrap_or(t);
        !t.is_empty()
            && t.chars().next().is_some_and(|c| c.is_ascii_digit())
            && t.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    for t in s.iter_mut() {
        if let Some(inner) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\''))
            && number(inner)
        {
            *t = inner.to_string();
        }
    }
    let mut i = 0;
    while i + 1 < s.len() {
        let unary = i == 0
            || matches!(
                s[i - 1].as_str(),
                "(" | "," | "=" | "<" | ">" | "+" | "-" | "*" | "/"
            );
        if s[i] == "-" && unary && number(&s[i + 1]) && !s[i + 1].starts_with('-') {
            let merged = format!("-{}", s[i + 1]);
            s.splice(i..i + 2, [merged]);
        }
        i += 1;
    }
}

/// Whether two expressions are the same once normalized.
pub fn same_sql(a: &str, b: &str) -> bool {
    a == b || normalize(a) == normalize(b)
}

/// Same as `same_sql` for optional expressions.
pub fn same_opt_sql(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same_sql(a, b),
        _ => false,
    }
}

fn tokens(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' || c == '"' {
            let mut t = String::new();
            t.push(c);
            chars.next();
            while let Some(d) = chars.next() {
                t.push(d);
                if d == c {
                    if chars.peek() == Some(&c) {
                        t.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            out.push(t);
        } else if c.is_alphanumeric() || c == '_' || c == '$' || c == '.' {
            let mut t = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '$' || d == '.' {
                    t.extend(d.to_lowercase());
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(t);
        } else if c == ':' {
            chars.next();
            if chars.peek() == Some(&':') {
                chars.next();
                out.push("::".into());
            } else {
                out.push(":".into());
            }
        } else {
            out.push(c.to_string());
            chars.next();
        }
    }
    out
}

fn is_atom(t: &str) -> bool {
    t.starts_with('\'')
        || t.starts_with('"')
        || t.chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// `x BETWEEN a AND b` → `x >= a AND x <= b` (single-token operands), as
/// PostgreSQL stores it.
fn expand_between(s: &mut Vec<String>) {
    let mut i = 1;
    while i + 3 < s.len() {
        if s[i] == "between"
            && s[i + 2] == "and"
            && is_atom(&s[i - 1])
            && is_atom(&s[i + 1])
            && is_atom(&s[i + 3])
        {
            let (x, a, b) = (s[i - 1].clone(), s[i + 1].clone(), s[i + 3].clone());
            let with: Vec<String> = [
                x.as_str(),
                ">",
                "=",
                a.as_str(),
                "and",
                x.as_str(),
                "<",
                "=",
                b.as_str(),
            ]
            .iter()
            .map(|t| t.to_string())
            .collect();
            s.splice(i - 1..i + 4, with);
        }
        i += 1;
    }
}

/// `'x'::text` → `'x'`, also `::character varying`, `::varchar(10)`,
/// `::a.b[]`, for the casts `strip` accepts (given the type's text).
fn strip_literal_casts(s: &mut Vec<String>, strip: &dyn Fn(&str) -> bool) {
    let mut i = 0;
    while i + 2 < s.len() + 1 {
        if i + 1 < s.len() && s[i].starts_with('\'') && s[i + 1] == "::" {
            let mut j = i + 2;
            // type name words (`character varying`, `double precision`)
            while j < s.len()
                && s[j]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '"')
            {
                j += 1;
                if !matches!(
                    s.get(j - 1).map(String::as_str),
                    Some(
                        "character"
                            | "double"
                            | "bit"
                            | "time"
                            | "timestamp"
                            | "with"
                            | "without"
                            | "zone"
                    )
                ) {
                    break;
                }
            }
            if j < s.len() && s[j] == "(" {
                while j < s.len() && s[j] != ")" {
                    j += 1;
                }
                j += 1;
            }
            while j + 1 < s.len() && s[j] == "[" && s[j + 1] == "]" {
                j += 2;
            }
            let end = j.min(s.len());
            if strip(&s[i + 2..end].join(" ")) {
                s.drain(i + 1..end);
            }
        }
        i += 1;
    }
}

/// `( x )` → `x` when x is one token and the parenthesis is not a call's.
fn unwrap_single_tokens(s: &mut Vec<String>) {
    let mut i = 0;
    while i + 2 < s.len() {
        let is_call = i > 0
            && is_atom(&s[i - 1])
            && !s[i - 1].starts_with('\'')
            && !matches!(
                s[i - 1].as_str(),
                "in" | "and"
                    | "or"
                    | "not"
                    | "is"
                    | "then"
                    | "else"
                    | "when"
                    | "like"
                    | "ilike"
                    | "between"
                    | "on"
                    | "by"
                    | "from"
                    | "where"
                    | "select"
                    | "case"
                    | "distinct"
            );
        if s[i] == "(" && s[i + 2] == ")" && is_atom(&s[i + 1]) && !is_call {
            s.remove(i + 2);
            s.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Parentheses around the whole expression.
fn strip_outer(s: &mut Vec<String>) {
    while s.len() >= 2 && s[0] == "(" && s[s.len() - 1] == ")" {
        let mut depth = 0i32;
        let encloses = s.iter().enumerate().all(|(i, t)| {
            if t == "(" {
                depth += 1;
            } else if t == ")" {
                depth -= 1;
            }
            depth > 0 || i == s.len() - 1
        });
        if !encloses {
            return;
        }
        s.remove(s.len() - 1);
        s.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_spellings_match_what_people_write() {
        for (written, stored) in [
            (
                "position('@' in email) > 0",
                "POSITION(('@'::text) IN (email)) > 0",
            ),
            ("deleted_at IS NULL", "(deleted_at IS NULL)"),
            ("status <> 'shipped'", "(status <> 'shipped'::order_status)"),
            ("'free'", "'free'::text"),
            ("'x'", "'x'::character varying"),
            ("-1", "'-1'::integer"),
            ("f(-1, 2)", "f('-1'::integer, 2)"),
            ("lower(email)", "lower(email)"),
            ("price > 0", "(price > 0)"),
            ("age BETWEEN 0 AND 150", "age >= 0 AND age <= 150"),
        ] {
            assert!(
                same_sql(written, stored),
                "{written} vs {stored}: {} / {}",
                normalize(written),
                normalize(stored)
            );
        }
    }

    #[test]
    fn different_expressions_stay_different() {
        for (a, b) in [
            ("price > 0", "price >= 0"),
            ("lower(email)", "upper(email)"),
            ("'A'", "'a'"),
            ("\"Col\" > 0", "col > 0"),
            ("f(a)", "f((a, b))"),
            ("a - 1", "a - 2"),
        ] {
            assert!(!same_sql(a, b), "{a} vs {b}");
        }
    }

    #[test]
    fn a_default_keeps_casts_to_other_types_than_its_columns() {
        let ty = |t: &str| ColumnType::parse(t).expect("type");
        // The server's own cast to the column's type is spelling.
        for (t, written, stored) in [
            ("varchar(20)", "'x'", "'x'::character varying"),
            ("text", "'x'", "'x'::text"),
            ("public.mood", "'happy'", "'happy'::mood"),
            ("integer", "-1", "'-1'::integer"),
            ("text[]", "'{}'", "'{}'::text[]"),
            ("timestamptz", "now()", "now()"),
        ] {
            assert!(
                same_default(Some(written), Some(stored), &ty(t)),
                "{t}: {written} vs {stored}"
            );
        }
        // A cast to another type is not: after varchar → text in place,
        // the stored default still casts to varchar.
        assert!(!same_default(
            Some("'x'::character varying"),
            Some("'x'::text"),
            &ty("text")
        ));
        assert!(!same_default(
            Some("'x'::character varying"),
            None,
            &ty("text")
        ));
    }
}
