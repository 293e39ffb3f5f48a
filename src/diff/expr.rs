//! Comparing SQL expressions the way PostgreSQL stores them. The server
//! prints what it stored in its own words: `position('@' in email) > 0`
//! comes back as `POSITION(('@'::text) IN (email)) > 0`, a partial index's
//! `deleted_at IS NULL` as `(deleted_at IS NULL)`. Comparison (never
//! output) goes through `normalize`, so those are not spurious changes.

/// A comparison key for an expression: whitespace collapsed, unquoted
/// text lower-cased, casts the server adds to string literals dropped,
/// parentheses around a single token or around the whole dropped.
pub fn normalize(expr: &str) -> String {
    let mut s = tokens(expr);
    expand_between(&mut s);
    loop {
        let before = s.len();
        strip_literal_casts(&mut s);
        unwrap_single_tokens(&mut s);
        strip_outer(&mut s);
        if s.len() == before {
            break;
        }
    }
    s.join(" ")
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

/// `'x'::text` → `'x'`, also `::character varying`, `::varchar(10)`, `::a.b[]`.
fn strip_literal_casts(s: &mut Vec<String>) {
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
            s.drain(i + 1..j.min(s.len()));
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
        ] {
            assert!(!same_sql(a, b), "{a} vs {b}");
        }
    }
}
