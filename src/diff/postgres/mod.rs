//! Comparing SQL expressions the way PostgreSQL stores them. The server
//! prints what it stored in its own words: `position('@' in email) > 0`
//! comes back as `POSITION(('@'::text) IN (email)) > 0`, a partial index's
//! `deleted_at IS NULL` as `(deleted_at IS NULL)`. Comparison (never
//! output) goes through `normalize`, so those are not spurious changes.

use std::collections::HashMap;

use crate::model::{BaseType, ColumnType};

/// A comparison key for an expression: whitespace collapsed, unquoted
/// text lower-cased, casts the server adds to string literals dropped,
/// parentheses around a single token or around the whole dropped.
pub fn normalize(expr: &str) -> String {
    NORMALIZED.with(|cache| {
        if let Some(key) = cache.borrow().get(expr) {
            return key.clone();
        }
        let key = normalize_text(expr);
        let mut cache = cache.borrow_mut();
        if cache.len() >= KEPT {
            cache.clear();
        }
        cache.insert(expr.to_string(), key.clone());
        key
    })
}

thread_local! {
    /// Keys by text: an expression goes through PostgreSQL's parser, and a
    /// schema repeats its checks and defaults table after table.
    static NORMALIZED: std::cell::RefCell<HashMap<String, String>> = Default::default();
}

/// The most texts each memo here keeps before it starts again.
const KEPT: usize = 100_000;

fn normalize_text(expr: &str) -> String {
    let canonical = crate::sql::postgres::canonical_expression(expr);
    let mut s = tokens(canonical.as_deref().unwrap_or(expr));
    expand_between(&mut s);
    server_operators(&mut s);
    loop {
        let before = s.len();
        strip_literal_casts(&mut s);
        unwrap_single_tokens(&mut s);
        strip_outer(&mut s);
        if s.len() == before {
            break;
        }
    }
    unquote_numbers(&mut s);
    s.join(" ")
}

/// A comparison key for a column default. The server casts a default's
/// literals to the column's type (`'x'` on a varchar column is stored as
/// `'x'::character varying`), and only that cast is its own spelling: a
/// cast to another type is part of the value's meaning, and stays. After
/// `varchar → text` the stored `'x'::character varying` is no longer what
/// the target's `'x'` means on a text column, so the default is reset.
pub fn normalize_default(expr: &str, ty: &ColumnType) -> String {
    let mut s = tokens(expr);
    strip_outer(&mut s);
    // Only a cast of the whole default is about the column; the casts
    // inside (`nextval('s'::regclass)`) are the server's spelling.
    if s.len() >= 3 && s[0].starts_with('\'') && s[1] == "::" {
        let cast = s[2..].join(" ");
        if let Ok(t) = ColumnType::parse(&cast) {
            return if type_key(&t) == type_key(ty) {
                normalize(&s[0])
            } else {
                format!("{} :: {}", normalize(&s[0]), type_key(&t))
            };
        }
    }
    normalize(expr)
}

thread_local! {
    /// Defaults normalized, by column type and text: a schema repeats a
    /// few defaults (`0`, `now()`, `'x'::text`) thousands of times.
    static DEFAULTS: std::cell::RefCell<HashMap<ColumnType, HashMap<String, String>>> =
        Default::default();
}

/// Whether `a` and `b` normalize alike, through `by_text`.
fn same_normalized(
    by_text: &mut HashMap<String, String>,
    a: &str,
    b: &str,
    ty: &ColumnType,
) -> bool {
    for t in [a, b] {
        if !by_text.contains_key(t) {
            by_text.insert(t.to_string(), normalize_default(t, ty));
        }
    }
    by_text.get(a) == by_text.get(b)
}

/// Whether two defaults are the same on a column of type `ty`.
pub fn same_default(a: Option<&str>, b: Option<&str>, ty: &ColumnType) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a == b
                || DEFAULTS.with(|cache| {
                    let mut cache = cache.borrow_mut();
                    if cache.values().map(HashMap::len).sum::<usize>() > KEPT {
                        cache.clear();
                    }
                    match cache.get_mut(ty) {
                        Some(by_text) => same_normalized(by_text, a, b, ty),
                        None => {
                            let mut by_text = HashMap::new();
                            let same = same_normalized(&mut by_text, a, b, ty);
                            cache.insert(ty.clone(), by_text);
                            same
                        }
                    }
                })
        }
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

/// The operators the server stores for what people write: `LIKE` is
/// `~~` (`NOT LIKE` `!~~`, `ILIKE` `~~*`), and `x IN (a, b)` is
/// `x = ANY (ARRAY[a, b])`.
fn server_operators(s: &mut Vec<String>) {
    let mut i = 0;
    while i < s.len() {
        let not = i > 0 && s[i - 1] == "not";
        let op = match s[i].as_str() {
            "like" => Some("~~"),
            "ilike" => Some("~~*"),
            _ => None,
        };
        if let Some(op) = op {
            // Operators are tokenized a character each.
            let chars = |o: &str| o.chars().map(|c| c.to_string()).collect::<Vec<_>>();
            if not {
                let with = chars(&format!("!{op}"));
                let n = with.len();
                s.splice(i - 1..=i, with);
                i += n - 1;
            } else {
                let with = chars(op);
                let n = with.len();
                s.splice(i..=i, with);
                i += n;
            }
            continue;
        } else if s[i] == "in" && i > 0 && s.get(i + 1).is_some_and(|t| t == "(") {
            // Only a list of atoms: `IN (SELECT ...)` stays.
            let mut j = i + 2;
            let mut atoms = true;
            while j < s.len() && s[j] != ")" {
                if s[j] != "," && !is_atom(&s[j]) && s[j] != "::" {
                    atoms = false;
                }
                j += 1;
            }
            if atoms && j < s.len() && !s[i + 2..j].iter().any(|t| t == "select") {
                let mut with: Vec<String> = ["=", "any", "(", "array", "["]
                    .iter()
                    .map(|t| t.to_string())
                    .collect();
                with.extend(s[i + 2..j].iter().cloned());
                with.extend(["]".to_string(), ")".to_string()]);
                s.splice(i..=j, with);
            }
        }
        i += 1;
    }
}

/// `'x'::text` → `'x'`, also `::character varying`, `::varchar(10)`, `::a.b[]`.
fn strip_literal_casts(s: &mut Vec<String>) {
    // A string or a number; `]` ends an ARRAY[...] of them, which the
    // server casts as a whole (`x IN ('a', 'b')` on a varchar column).
    let literal =
        |t: &str| t.starts_with('\'') || t.starts_with(|c: char| c.is_ascii_digit()) || t == "]";
    let mut i = 0;
    while i + 2 < s.len() + 1 {
        if i + 1 < s.len() && literal(&s[i]) && s[i + 1] == "::" {
            let j = type_end(s, i + 2);
            s.drain(i + 1..j);
        }
        i += 1;
    }
}

/// Where the type name that starts at `start` ends: its words
/// (`character varying`, `double precision`), modifiers and `[]`.
fn type_end(s: &[String], start: usize) -> usize {
    let mut j = start;
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
                "character" | "double" | "bit" | "time" | "timestamp" | "with" | "without" | "zone"
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
    j.min(s.len())
}

/// A comparison key for an expression over a table's columns: as
/// `normalize`, and a cast of a column to its own type (which the server
/// drops: `c::text` on a text column is stored as `c`), or of a varchar
/// column to text (which the server adds), is dropped too.
pub fn normalize_for(expr: &str, column_type: &dyn Fn(&str) -> Option<ColumnType>) -> String {
    let text = normalize(expr);
    let mut s: Vec<String> = text.split(' ').map(str::to_string).collect();
    let mut i = 0;
    while i + 2 < s.len() {
        if s[i + 1] == "::" {
            let name = match s[i].strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(quoted) => Some(quoted.replace("\"\"", "\"")),
                None if is_atom(&s[i]) && !s[i].starts_with('\'') => Some(s[i].clone()),
                None => None,
            };
            let j = type_end(&s, i + 2);
            // Its own type, or text for a varchar or char column (the
            // server writes that implicit cast out).
            let own = name.and_then(|n| column_type(&n)).is_some_and(|t| {
                ColumnType::parse(&s[i + 2..j].join(" ")).is_ok_and(|c| {
                    c == t
                        || (c.array == t.array && unlimited(&t.base).is_some_and(|u| u == c.base))
                        || (c.base == BaseType::Text
                            && !c.array
                            && !t.array
                            && matches!(t.base, BaseType::Varchar(_) | BaseType::Char(_)))
                })
            });
            if own {
                s.drain(i + 1..j);
            }
        }
        i += 1;
    }
    let mut s = tokens(&s.join(" "));
    loop {
        let before = s.len();
        unwrap_single_tokens(&mut s);
        strip_outer(&mut s);
        if s.len() == before {
            break;
        }
    }
    s.join(" ")
}

/// `base` without the length, precision or scale that only limit its
/// values (`numeric(12,2)` → `numeric`), when a cast to that changes no
/// value of it: the server casts a domain's value to its base type so
/// (`(total)::numeric` for a domain over `numeric(12,2)`). None where the
/// bare name means a limit of its own (`bit` is `bit(1)`, `char` is
/// `char(1)`) or there is none to drop.
fn unlimited(base: &BaseType) -> Option<BaseType> {
    Some(match base {
        BaseType::Numeric(Some(_)) => BaseType::Numeric(None),
        BaseType::Varchar(Some(_)) => BaseType::Varchar(None),
        BaseType::Char(Some(_)) => BaseType::Char(None),
        BaseType::Timestamp {
            precision: Some(_),
            tz,
        } => BaseType::Timestamp {
            precision: None,
            tz: *tz,
        },
        BaseType::Time {
            precision: Some(_),
            tz,
        } => BaseType::Time {
            precision: None,
            tz: *tz,
        },
        _ => return None,
    })
}

/// Whether two expressions over the columns of their tables are the same.
pub fn same_sql_for(
    a: &str,
    a_columns: &dyn Fn(&str) -> Option<ColumnType>,
    b: &str,
    b_columns: &dyn Fn(&str) -> Option<ColumnType>,
) -> bool {
    a == b || normalize_for(a, a_columns) == normalize_for(b, b_columns)
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
mod tests;
