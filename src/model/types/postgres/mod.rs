//! PostgreSQL's spelling of types: the grammar `type:` strings are read
//! with, and the one canonical spelling `Display` writes.

use super::*;
use crate::model::ident::DEFAULT_SCHEMA;

mod family;
mod spelling;
mod storage;
#[cfg(test)]
mod tests;

/// Built-in types outside the named variants: written bare, never qualified.
const CATALOG_TYPES: &[&str] = &[
    "uuid",
    "json",
    "jsonb",
    "jsonpath",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "money",
    "tsvector",
    "tsquery",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "oid",
    "regclass",
    "regtype",
    "regproc",
    "regprocedure",
    "regnamespace",
    "regrole",
    "regconfig",
    "pg_lsn",
    "pg_snapshot",
    "txid_snapshot",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "int4multirange",
    "int8multirange",
    "nummultirange",
    "tsmultirange",
    "tstzmultirange",
    "datemultirange",
    "name",
    "char",
    "xid",
    "xid8",
    "cid",
    "tid",
    "record",
    "void",
    "refcursor",
    "regoper",
    "regoperator",
    "regcollation",
    "regdictionary",
    // Pseudo-types: what functions take and return.
    "trigger",
    "event_trigger",
    "internal",
    "cstring",
    "language_handler",
    "fdw_handler",
    "table_am_handler",
    "index_am_handler",
    "tsm_handler",
    "any",
    "anyelement",
    "anyarray",
    "anynonarray",
    "anyenum",
    "anyrange",
    "anymultirange",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblenonarray",
    "anycompatiblerange",
    "anycompatiblemultirange",
];

const INTERVAL_FIELDS: &[&str] = &[
    "year to month",
    "day to hour",
    "day to minute",
    "day to second",
    "hour to minute",
    "hour to second",
    "minute to second",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
];

/// A `type:` string as a type (or the serial shorthand).
pub(super) fn parse(text: &str) -> Result<TypeSpec, String> {
    let tokens = tokenize(text)?;
    let mut p = TypeParser {
        tokens,
        pos: 0,
        text,
    };
    let spec = p.parse()?;
    if p.pos != p.tokens.len() {
        return Err(format!(
            "unexpected `{}` in type `{text}`",
            p.tokens[p.pos].show()
        ));
    }
    Ok(spec)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted word, folded to lower case.
    Word(String),
    /// A double-quoted identifier, case kept.
    Quoted(String),
    Number(String),
    Punct(char),
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Number(w) => w.clone(),
            Tok::Quoted(q) => format!("\"{q}\""),
            Tok::Punct(c) => c.to_string(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_alphabetic() || c == '_' {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    w.extend(c.to_lowercase());
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Word(w));
        } else if c.is_ascii_digit() || c == '-' || c == '+' {
            let mut w = String::new();
            w.push(c);
            chars.next();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_digit() || c == '.' {
                    w.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Number(w));
        } else if c == '"' {
            chars.next();
            let mut q = String::new();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        q.push('"');
                    }
                    Some('"') => break,
                    Some(c) => q.push(c),
                    None => return Err(format!("unclosed double quote in type `{text}`")),
                }
            }
            out.push(Tok::Quoted(q));
        } else if "()[],.".contains(c) {
            out.push(Tok::Punct(c));
            chars.next();
        } else if c == '\'' {
            // Modifiers of extension types may be string literals.
            let mut q = String::from("'");
            chars.next();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        q.push_str("''");
                    }
                    Some('\'') => break,
                    Some(c) => q.push(c),
                    None => return Err(format!("unclosed quote in type `{text}`")),
                }
            }
            q.push('\'');
            out.push(Tok::Number(q));
        } else {
            return Err(format!("unexpected `{c}` in type `{text}`"));
        }
    }
    if out.is_empty() {
        return Err("the type is empty".to_string());
    }
    Ok(out)
}

struct TypeParser<'a> {
    tokens: Vec<Tok>,
    pos: usize,
    text: &'a str,
}

impl TypeParser<'_> {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Tok::Word(x)) if x == w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_words(&mut self, ws: &[&str]) -> bool {
        let all = ws
            .iter()
            .enumerate()
            .all(|(i, w)| matches!(self.tokens.get(self.pos + i), Some(Tok::Word(x)) if x == w));
        if all {
            self.pos += ws.len();
        }
        all
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.tokens.get(self.pos) == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `( a, b, ... )`, each modifier kept as its token text.
    fn modifiers(&mut self) -> Result<Vec<String>, String> {
        let mut mods = Vec::new();
        if !self.eat_punct('(') {
            return Ok(mods);
        }
        loop {
            match self.tokens.get(self.pos).cloned() {
                Some(Tok::Number(n)) | Some(Tok::Word(n)) => {
                    mods.push(n);
                    self.pos += 1;
                }
                Some(Tok::Quoted(q)) => {
                    mods.push(q);
                    self.pos += 1;
                }
                _ => return Err(format!("expected a type modifier in `{}`", self.text)),
            }
            if self.eat_punct(')') {
                return Ok(mods);
            }
            if !self.eat_punct(',') {
                return Err(format!("expected `,` or `)` in `{}`", self.text));
            }
        }
    }

    fn number_mods(&mut self, max: usize, what: &str) -> Result<Vec<i64>, String> {
        let mods = self.modifiers()?;
        if mods.len() > max {
            return Err(format!(
                "{what} takes at most {max} modifier(s), `{}` has {}",
                self.text,
                mods.len()
            ));
        }
        mods.iter()
            .map(|m| {
                m.parse::<i64>().map_err(|_| {
                    format!("{what} modifier `{m}` in `{}` is not a number", self.text)
                })
            })
            .collect()
    }

    fn length(&mut self, what: &str) -> Result<Option<u32>, String> {
        let mods = self.number_mods(1, what)?;
        match mods.first() {
            None => Ok(None),
            Some(&n) if (1..=10_485_760).contains(&n) => Ok(Some(n as u32)),
            Some(n) => Err(format!(
                "length {n} for {what} in `{}` is out of range (1 to 10485760)",
                self.text
            )),
        }
    }

    fn precision(&mut self, what: &str, max: i64) -> Result<Option<u8>, String> {
        let mods = self.number_mods(1, what)?;
        match mods.first() {
            None => Ok(None),
            Some(&n) if (0..=max).contains(&n) => Ok(Some(n as u8)),
            Some(n) => Err(format!(
                "precision {n} for {what} in `{}` is out of range (0 to {max})",
                self.text
            )),
        }
    }

    fn time_zone(&mut self) -> Result<Option<bool>, String> {
        if self.eat_words(&["with", "time", "zone"]) {
            Ok(Some(true))
        } else if self.eat_words(&["without", "time", "zone"]) {
            Ok(Some(false))
        } else {
            Ok(None)
        }
    }

    fn parse(&mut self) -> Result<TypeSpec, String> {
        if let Some(k) = self.serial() {
            return Ok(TypeSpec::Serial(k));
        }
        let base = self.base()?;
        let mut array = false;
        if self.eat_word("array") {
            array = true;
            if self.eat_punct('[') {
                self.array_size()?;
            }
        } else {
            while self.eat_punct('[') {
                self.array_size()?;
                array = true;
            }
        }
        Ok(TypeSpec::Plain(ColumnType { base, array }))
    }

    fn array_size(&mut self) -> Result<(), String> {
        if let Some(Tok::Number(_)) = self.tokens.get(self.pos) {
            self.pos += 1;
        }
        if self.eat_punct(']') {
            Ok(())
        } else {
            Err(format!("expected `]` in `{}`", self.text))
        }
    }

    fn serial(&mut self) -> Option<SerialKind> {
        let kind = match self.tokens.as_slice() {
            [Tok::Word(w)] => match w.as_str() {
                "smallserial" | "serial2" => SerialKind::Small,
                "serial" | "serial4" => SerialKind::Regular,
                "bigserial" | "serial8" => SerialKind::Big,
                _ => return None,
            },
            _ => return None,
        };
        self.pos = 1;
        Some(kind)
    }

    fn base(&mut self) -> Result<BaseType, String> {
        let first = match self.tokens.get(self.pos).cloned() {
            Some(t) => t,
            None => return Err(format!("missing type name in `{}`", self.text)),
        };
        let (word, quoted) = match first {
            Tok::Word(w) => (w, false),
            Tok::Quoted(q) => (q, true),
            other => {
                return Err(format!(
                    "a type name must come first in `{}`, found `{}`",
                    self.text,
                    other.show()
                ));
            }
        };
        // A qualified name: `schema.type` (pg_catalog means built-in).
        if self.tokens.get(self.pos + 1) == Some(&Tok::Punct('.')) {
            self.pos += 2;
            let (name, name_quoted) = match self.tokens.get(self.pos).cloned() {
                Some(Tok::Word(w)) => (w, false),
                Some(Tok::Quoted(q)) => (q, true),
                _ => {
                    return Err(format!(
                        "expected a type name after `{word}.` in `{}`",
                        self.text
                    ));
                }
            };
            if word == "pg_catalog" && !quoted && !name_quoted {
                // Re-read the bare name so `pg_catalog.int4` is `integer`.
                return self.base();
            }
            return self.named(Some(word), name);
        }
        if quoted {
            return self.named(None, word);
        }
        self.pos += 1;
        let base = match word.as_str() {
            "smallint" | "int2" => BaseType::SmallInt,
            "integer" | "int" | "int4" => BaseType::Integer,
            "bigint" | "int8" => BaseType::BigInt,
            "real" | "float4" => BaseType::Real,
            "float8" => BaseType::Double,
            "double" => {
                if !self.eat_word("precision") {
                    return Err(format!("expected `double precision` in `{}`", self.text));
                }
                BaseType::Double
            }
            "float" => match self.number_mods(1, "float")?.first() {
                None => BaseType::Double,
                Some(&p) if (1..=24).contains(&p) => BaseType::Real,
                Some(&p) if (25..=53).contains(&p) => BaseType::Double,
                Some(p) => {
                    return Err(format!(
                        "precision {p} for float in `{}` is out of range (1 to 53)",
                        self.text
                    ));
                }
            },
            "numeric" | "decimal" | "dec" => {
                let mods = self.number_mods(2, "numeric")?;
                match mods.as_slice() {
                    [] => BaseType::Numeric(None),
                    [p, rest @ ..] => {
                        if !(1..=1000).contains(p) {
                            return Err(format!(
                                "numeric precision {p} in `{}` is out of range (1 to 1000)",
                                self.text
                            ));
                        }
                        let s = rest.first().copied().unwrap_or(0);
                        if !(-1000..=1000).contains(&s) {
                            return Err(format!(
                                "numeric scale {s} in `{}` is out of range (-1000 to 1000)",
                                self.text
                            ));
                        }
                        BaseType::Numeric(Some((*p as u16, s as i16)))
                    }
                }
            }
            "boolean" | "bool" => BaseType::Boolean,
            "text" => BaseType::Text,
            "varchar" => BaseType::Varchar(self.length("varchar")?),
            "character" | "char" => {
                if self.eat_word("varying") {
                    BaseType::Varchar(self.length("varchar")?)
                } else {
                    // `char` without a length is char(1), as in PostgreSQL.
                    let n = self.length("char")?;
                    if self.eat_word("varying") {
                        BaseType::Varchar(n)
                    } else {
                        BaseType::Char(Some(n.unwrap_or(1)))
                    }
                }
            }
            "bpchar" => BaseType::Char(self.length("bpchar")?),
            "bytea" => BaseType::Bytea,
            "date" => BaseType::Date,
            "time" | "timetz" | "timestamp" | "timestamptz" => {
                let precision = self.precision(&word, 6)?;
                let tz_word = word.ends_with("tz");
                let tz = match self.time_zone()? {
                    Some(_) if tz_word => {
                        return Err(format!(
                            "`{word}` already says the time zone in `{}`",
                            self.text
                        ));
                    }
                    Some(tz) => tz,
                    None => tz_word,
                };
                if word.starts_with("timestamp") {
                    BaseType::Timestamp { precision, tz }
                } else {
                    BaseType::Time { precision, tz }
                }
            }
            "interval" => {
                let mut precision = self.precision("interval", 6)?;
                let mut fields = None;
                for f in INTERVAL_FIELDS {
                    let ws: Vec<&str> = f.split(' ').collect();
                    if self.eat_words(&ws) {
                        fields = Some(f.to_string());
                        break;
                    }
                }
                if fields.is_some() && precision.is_none() {
                    precision = self.precision("interval", 6)?;
                }
                BaseType::Interval { fields, precision }
            }
            "bit" => {
                if self.eat_word("varying") {
                    BaseType::Varbit(self.length("bit varying")?)
                } else {
                    BaseType::Bit(Some(self.length("bit")?.unwrap_or(1)))
                }
            }
            "varbit" => BaseType::Varbit(self.length("varbit")?),
            _ => {
                self.pos -= 1;
                return self.named(None, word);
            }
        };
        Ok(base)
    }

    /// A type by name; `self.pos` is at the name token.
    fn named(&mut self, schema: Option<String>, name: String) -> Result<BaseType, String> {
        // A bare keyword is no type name (`type: true` is YAML's boolean,
        // or a slip); PostgreSQL would not parse it either.
        let bare = matches!(self.tokens.get(self.pos), Some(Tok::Word(_)));
        if schema.is_none()
            && bare
            && crate::sql::is_keyword(&name)
            && !CATALOG_TYPES.contains(&name.as_str())
        {
            let yaml = if matches!(name.as_str(), "true" | "false" | "null") {
                " (a bare `true`, `false` or `null` in YAML is not text either)"
            } else {
                ""
            };
            return Err(format!(
                "`{name}` is an SQL keyword, not a type{yaml}; a type that really has this name is written in double quotes: `\"{name}\"`"
            ));
        }
        self.pos += 1;
        let modifiers = self.modifiers()?;
        let schema = match schema {
            Some(s) => Some(s),
            None if CATALOG_TYPES.contains(&name.as_str()) => None,
            None => Some(DEFAULT_SCHEMA.to_string()),
        };
        let schema = match schema {
            Some(s) => Some(Ident::new(s).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(BaseType::Named {
            schema,
            name: Ident::new(name).map_err(|e| e.to_string())?,
            modifiers,
        })
    }
}
