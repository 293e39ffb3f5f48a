//! Routine signatures and bodies read with PostgreSQL's grammar: the
//! argument lists and results a target file (or the catalog) spells,
//! and what an SQL-standard body names.

use pg_query::protobuf::Token;

use super::parse::{SyntaxError, parse, query_relations};

/// Checks an SQL-standard routine body (`BEGIN ATOMIC ... END` or
/// `RETURN expr`) with PostgreSQL's grammar.
pub fn check_standard_body(body: &str) -> Result<(), SyntaxError> {
    const PREFIX: &str = "CREATE FUNCTION f() LANGUAGE sql ";
    parse(&format!("{PREFIX}{body}")).map_err(|mut e| {
        e.offset = e
            .offset
            .map(|o| o.saturating_sub(PREFIX.len()).min(body.len()));
        e
    })
}

/// Splits `name(arguments)`, a routine as a target file keys it, into
/// the name and the argument list's text; `None` when it has no
/// parenthesized list at its end. A `(` inside a double-quoted name
/// part is part of the name.
pub fn split_signature(text: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => {
                let rest = text[i + 1..].trim_end();
                let args = rest.strip_suffix(')')?;
                return Some((text[..i].trim_end(), args));
            }
            _ => {}
        }
    }
    None
}

/// Reads an argument list as `CREATE FUNCTION name(...)` takes it and
/// `pg_get_function_arguments` prints it: `[mode] [name] type [DEFAULT
/// expr | = expr]`, separated by commas. A type must be one bellows can
/// read (a `%TYPE` reference is not: write the type).
pub fn parse_arguments(text: &str) -> Result<Vec<crate::model::Arg>, SyntaxError> {
    use crate::model::{Arg, ArgMode, ColumnType, Ident};
    // PostgreSQL's grammar first, for its errors and their places.
    const PREFIX: &str = "CREATE FUNCTION f(";
    parse(&format!("{PREFIX}{text}) RETURNS void LANGUAGE sql AS ''")).map_err(|mut e| {
        e.offset = e
            .offset
            .map(|o| o.saturating_sub(PREFIX.len()).min(text.len()));
        e
    })?;
    let tokens = pg_query::scan(text).map_err(|e| SyntaxError {
        message: e.to_string(),
        offset: None,
    })?;
    // Each argument's tokens, split at commas outside parentheses.
    let mut args: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
    let mut depth = 0i32;
    for t in &tokens.tokens {
        let (a, b) = (t.start as usize, t.end as usize);
        match &text[a..b] {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            "," if depth == 0 => {
                args.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if t.token != Token::SqlComment as i32 && t.token != Token::CComment as i32 {
            args.last_mut().expect("one list at least").push((a, b));
        }
    }
    let mut out = Vec::new();
    for toks in args {
        let Some(&(first, _)) = toks.first() else {
            if out.is_empty() && tokens.tokens.is_empty() {
                break;
            }
            return Err(SyntaxError {
                message: "an argument is missing between two commas".into(),
                offset: None,
            });
        };
        let word = |i: usize| -> String {
            toks.get(i)
                .map(|&(a, b)| text[a..b].to_ascii_lowercase())
                .unwrap_or_default()
        };
        let mut at = 0;
        let mode = match word(0).as_str() {
            "in" => ArgMode::In,
            "out" => ArgMode::Out,
            "inout" => ArgMode::InOut,
            "variadic" => ArgMode::Variadic,
            _ => ArgMode::In,
        };
        if matches!(word(0).as_str(), "in" | "out" | "inout" | "variadic") {
            at = 1;
        }
        let mut depth = 0i32;
        let mut split = None;
        for (i, &(a, b)) in toks.iter().enumerate().skip(at) {
            match &text[a..b] {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                "=" if depth == 0 => split = Some((i, b)),
                w if depth == 0 && w.eq_ignore_ascii_case("default") => split = Some((i, b)),
                _ => {}
            }
            if split.is_some() {
                break;
            }
        }
        let end = split.map_or(toks.len(), |(i, _)| i);
        let default = split.map(|(_, b)| {
            let last = toks.last().map_or(b, |&(_, e)| e);
            text[b..last].trim().to_string()
        });
        let Some(&(ty_start, _)) = toks.get(at) else {
            return Err(SyntaxError {
                message: "an argument has no type".into(),
                offset: Some(first),
            });
        };
        let ty_end = toks[..end].last().map_or(ty_start, |&(_, b)| b);
        let whole = &text[ty_start..ty_end.max(ty_start)];
        let bad_type = |t: &str, why: String| SyntaxError {
            message: if t.contains("%type") || t.contains("%TYPE") || t.contains("%Type") {
                format!(
                    "`{t}` is not a type bellows can read: write the type a `%TYPE` reference stands for"
                )
            } else {
                format!("`{t}` is not a type bellows can read: {why}")
            },
            offset: Some(ty_start),
        };
        // `name type`, or a type alone (`double precision` is a type).
        let (name, ty) = match ColumnType::parse(whole) {
            Ok(ty) => (None, ty),
            Err(first_try) => {
                let (na, nb) = toks[at];
                let rest_start = toks.get(at + 1).map_or(nb, |&(a, _)| a);
                let rest = &text[rest_start..ty_end.max(rest_start)];
                match ColumnType::parse(rest) {
                    Ok(ty) if !rest.is_empty() => {
                        let raw = &text[na..nb];
                        let name = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                            Some(q) => q.replace("\"\"", "\""),
                            None => raw.to_lowercase(),
                        };
                        let name = Ident::new(name).map_err(|e| SyntaxError {
                            message: e.to_string(),
                            offset: Some(na),
                        })?;
                        (Some(name), ty)
                    }
                    _ => return Err(bad_type(whole, first_try)),
                }
            }
        };
        out.push(Arg {
            mode,
            name,
            ty: strip_modifiers(ty),
            default,
        });
    }
    Ok(out)
}

/// What a function returns, in one spelling: `SETOF type`, `TABLE(name
/// type, ...)` or a type, types as `Display` writes them, without
/// modifiers. `pg_get_function_result`'s text and a file's give the same.
pub fn canonical_returns(text: &str) -> Result<String, SyntaxError> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let ty = |s: &str, at: usize| -> Result<String, SyntaxError> {
        crate::model::ColumnType::parse(s.trim())
            .map(|ty| strip_modifiers(ty).to_string())
            .map_err(|why| SyntaxError {
                message: format!("`{}` is not a type bellows can read: {why}", s.trim()),
                offset: Some(at),
            })
    };
    if let Some(rest) = lower.strip_prefix("setof")
        && rest.starts_with(char::is_whitespace)
    {
        let at = t.len() - rest.len();
        return Ok(format!("SETOF {}", ty(&t[at..], at)?));
    }
    if let Some(rest) = lower.strip_prefix("table")
        && rest.trim_start().starts_with('(')
        && rest.trim_end().ends_with(')')
    {
        let open = t.find('(').expect("checked");
        let inner = &t[open + 1..t.len() - 1];
        let cols = parse_arguments(inner).map_err(|mut e| {
            e.offset = e.offset.map(|o| o + open + 1);
            e
        })?;
        let cols: Vec<String> = cols.iter().map(ToString::to_string).collect();
        return Ok(format!("TABLE({})", cols.join(", ")));
    }
    ty(t, 0)
}

/// A type without its modifiers, as PostgreSQL keeps an argument's or a
/// result's type (`varchar(10)` is `varchar` there).
pub fn strip_modifiers(mut ty: crate::model::ColumnType) -> crate::model::ColumnType {
    use crate::model::BaseType;
    ty.base = match ty.base {
        BaseType::Numeric(_) => BaseType::Numeric(None),
        BaseType::Varchar(_) => BaseType::Varchar(None),
        BaseType::Char(_) => BaseType::Char(None),
        BaseType::Time { tz, .. } => BaseType::Time {
            precision: None,
            tz,
        },
        BaseType::Timestamp { tz, .. } => BaseType::Timestamp {
            precision: None,
            tz,
        },
        BaseType::Interval { .. } => BaseType::Interval {
            fields: None,
            precision: None,
        },
        BaseType::Bit(_) => BaseType::Bit(None),
        BaseType::Varbit(_) => BaseType::Varbit(None),
        BaseType::Named { schema, name, .. } => BaseType::Named {
            schema,
            name,
            modifiers: Vec::new(),
        },
        other => other,
    };
    ty
}

/// The relations an SQL-standard routine body (`BEGIN ATOMIC ... END`
/// or `RETURN expr`) names, as [`query_relations`] finds them.
pub fn body_relations(body: &str) -> Vec<crate::model::QualifiedName> {
    let t = body.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("return") {
        return query_relations(&format!("SELECT {}", &t[t.len() - rest.len()..]));
    }
    let Some(start) = lower.find("atomic") else {
        return Vec::new();
    };
    let inner = &t[start + "atomic".len()..];
    let inner = match inner.to_ascii_lowercase().rfind("end") {
        Some(e) => &inner[..e],
        None => inner,
    };
    query_relations(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relations_a_standard_body_names_are_found() {
        let names =
            |b: &str| -> Vec<String> { body_relations(b).iter().map(|q| q.to_string()).collect() };
        assert_eq!(
            names("BEGIN ATOMIC\n  SELECT count(*) FROM users;\n  SELECT 1 FROM app.orders;\nEND"),
            ["app.orders", "public.users"]
        );
        assert_eq!(
            names("RETURN (SELECT max(id) FROM items)"),
            ["public.items"]
        );
        assert!(names("RETURN 1").is_empty());
    }

    #[test]
    fn argument_lists_read_as_postgres_prints_them() {
        let args = parse_arguments(
            "a integer, b text DEFAULT 'x'::text, OUT c double precision, VARIADIC \"Rest\" int[], timestamp with time zone, n numeric(10,2) = 0",
        )
        .expect("parses");
        let shown: Vec<String> = args.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "a integer",
                "b text DEFAULT 'x'::text",
                "OUT c double precision",
                "VARIADIC \"Rest\" integer[]",
                "timestamptz",
                "n numeric DEFAULT 0",
            ]
        );
        assert!(parse_arguments("").expect("none").is_empty());
        let e = parse_arguments("a integer,, b text").expect_err("empty argument");
        assert!(e.message.contains("syntax error"), "{e:?}");
        let e = parse_arguments("a users.id%TYPE").expect_err("a %TYPE");
        assert!(e.message.contains("not a type bellows can read"), "{e:?}");
        assert_eq!(split_signature("app.f(a int)"), Some(("app.f", "a int")));
        assert_eq!(split_signature("\"f(x\"()"), Some(("\"f(x\"", "")));
        assert_eq!(split_signature("f"), None);
        assert_eq!(
            canonical_returns("SETOF  Orders").expect("ok"),
            "SETOF orders"
        );
        assert_eq!(
            canonical_returns("TABLE(id int, total numeric(12,2))").expect("ok"),
            "TABLE(id integer, total numeric)"
        );
        assert_eq!(canonical_returns("varchar(20)").expect("ok"), "varchar");
    }
}
