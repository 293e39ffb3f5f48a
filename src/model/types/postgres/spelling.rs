//! The one canonical spelling of each type, as `dump` writes it and the
//! grammar reads it back.

use std::fmt;

use super::*;

/// Writes a type name part the way SQL reads it back: bare when it is a
/// lower-case word that is not a keyword, double-quoted otherwise.
fn type_name_part(s: &str) -> String {
    let bare = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && (!crate::sql::is_keyword(s) || CATALOG_TYPES.contains(&s));
    if bare {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

impl fmt::Display for BaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |name: &str, n: &Option<u32>| match n {
            Some(n) => format!("{name}({n})"),
            None => name.to_string(),
        };
        let prec = |name: &str, p: &Option<u8>| match p {
            Some(p) => format!("{name}({p})"),
            None => name.to_string(),
        };
        let s = match self {
            BaseType::SmallInt => "smallint".to_string(),
            BaseType::Integer => "integer".to_string(),
            BaseType::BigInt => "bigint".to_string(),
            BaseType::Real => "real".to_string(),
            BaseType::Double => "double precision".to_string(),
            BaseType::Numeric(None) => "numeric".to_string(),
            BaseType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            BaseType::Boolean => "boolean".to_string(),
            BaseType::Text => "text".to_string(),
            BaseType::Varchar(n) => opt("varchar", n),
            BaseType::Char(None) => "bpchar".to_string(),
            BaseType::Char(n) => opt("char", n),
            BaseType::Bytea => "bytea".to_string(),
            BaseType::Date => "date".to_string(),
            BaseType::Time { precision, tz } => {
                prec(if *tz { "timetz" } else { "time" }, precision)
            }
            BaseType::Timestamp { precision, tz } => {
                prec(if *tz { "timestamptz" } else { "timestamp" }, precision)
            }
            BaseType::Interval { fields, precision } => {
                let mut s = "interval".to_string();
                if let Some(fl) = fields {
                    s.push(' ');
                    s.push_str(fl);
                }
                if let Some(p) = precision {
                    s.push_str(&format!("({p})"));
                }
                s
            }
            BaseType::Bit(n) => opt("bit", n),
            BaseType::Varbit(n) => opt("varbit", n),
            BaseType::Named {
                schema,
                name,
                modifiers,
            } => {
                let mut s = String::new();
                if let Some(schema) = schema {
                    let is_public = schema.as_str() == DEFAULT_SCHEMA;
                    // `public.x` is written bare unless bare would mean a built-in.
                    if !is_public
                        || CATALOG_TYPES.contains(&name.as_str())
                        || is_keyword_type(name.as_str())
                    {
                        s.push_str(&type_name_part(schema.as_str()));
                        s.push('.');
                    }
                } else if name.as_str() == "char" {
                    // The one-byte internal type must stay quoted.
                    return write!(f, "\"char\"");
                }
                s.push_str(&type_name_part(name.as_str()));
                if !modifiers.is_empty() {
                    s.push('(');
                    s.push_str(&modifiers.join(","));
                    s.push(')');
                }
                s
            }
        };
        f.write_str(&s)
    }
}

/// Words the parser reads as a built-in type: a user type of that name in
/// `public` must be written qualified.
fn is_keyword_type(name: &str) -> bool {
    matches!(
        name,
        "smallint"
            | "int2"
            | "integer"
            | "int"
            | "int4"
            | "bigint"
            | "int8"
            | "real"
            | "float4"
            | "float8"
            | "double"
            | "float"
            | "numeric"
            | "decimal"
            | "boolean"
            | "bool"
            | "text"
            | "varchar"
            | "character"
            | "char"
            | "bpchar"
            | "bytea"
            | "date"
            | "time"
            | "timetz"
            | "timestamp"
            | "timestamptz"
            | "interval"
            | "bit"
            | "varbit"
            | "serial"
            | "serial2"
            | "serial4"
            | "serial8"
            | "smallserial"
            | "bigserial"
            | "pg_catalog"
    )
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.base)?;
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}
