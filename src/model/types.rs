//! Column types, normalized: every spelling PostgreSQL accepts for one type
//! (`int`, `integer`, `int4`; `timestamptz`, `timestamp with time zone`, ...)
//! parses to one value, so two schemas that the database stores identically
//! never differ here. `Display` writes the one canonical spelling that
//! `dump` uses.
//!
//! Type names follow SQL identifier rules: unquoted words fold to lower case,
//! `"Quoted"` names keep their case. An unqualified name that is not a
//! built-in type means a type in the `public` schema.

use std::fmt;

use super::ident::{DEFAULT_SCHEMA, Ident};

/// A column's type: a base type, maybe as an array. PostgreSQL ignores
/// declared array sizes and dimensions (`int[3][4]` is `int[]`: any
/// array of int fits), so neither is kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColumnType {
    pub base: BaseType,
    pub array: bool,
}

/// The base types bellows knows by name; everything else is `Named`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BaseType {
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    /// `numeric`, `numeric(p)` (= scale 0) or `numeric(p, s)`.
    Numeric(Option<(u16, i16)>),
    Boolean,
    Text,
    Varchar(Option<u32>),
    /// `char(n)`; `None` is `bpchar`, blank-padded with no length limit.
    Char(Option<u32>),
    Bytea,
    Date,
    Time {
        precision: Option<u8>,
        tz: bool,
    },
    Timestamp {
        precision: Option<u8>,
        tz: bool,
    },
    Interval {
        fields: Option<String>,
        precision: Option<u8>,
    },
    Bit(Option<u32>),
    Varbit(Option<u32>),
    /// Any other type: a built-in one (`schema: None`, as `uuid`, `jsonb`,
    /// `inet`) or a user-defined one (enum, domain, extension type), with
    /// its type modifiers as written (`geometry(Point,4326)`).
    Named {
        schema: Option<Ident>,
        name: Ident,
        modifiers: Vec<String>,
    },
}

/// Integer-backed `serial` sugar, resolved by the spec reader into an
/// integer column with an owned sequence and a `nextval` default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialKind {
    Small,
    Regular,
    Big,
}

impl SerialKind {
    pub fn column_type(self) -> ColumnType {
        let base = match self {
            SerialKind::Small => BaseType::SmallInt,
            SerialKind::Regular => BaseType::Integer,
            SerialKind::Big => BaseType::BigInt,
        };
        ColumnType { base, array: false }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            SerialKind::Small => "smallserial",
            SerialKind::Regular => "serial",
            SerialKind::Big => "bigserial",
        }
    }

    /// The serial kind whose column type this is, if any.
    pub fn for_type(ty: &ColumnType) -> Option<SerialKind> {
        if ty.array {
            return None;
        }
        match ty.base {
            BaseType::SmallInt => Some(SerialKind::Small),
            BaseType::Integer => Some(SerialKind::Regular),
            BaseType::BigInt => Some(SerialKind::Big),
            _ => None,
        }
    }
}

/// What a `type:` string can mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSpec {
    Plain(ColumnType),
    Serial(SerialKind),
}

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

impl ColumnType {
    pub fn new(base: BaseType) -> Self {
        ColumnType { base, array: false }
    }

    /// Parses a type as SQL spells it; see the module comment.
    pub fn parse(text: &str) -> Result<ColumnType, String> {
        match TypeSpec::parse(text)? {
            TypeSpec::Plain(t) => Ok(t),
            TypeSpec::Serial(k) => Err(format!(
                "`{}` is shorthand for a column with a sequence and cannot be used here",
                k.keyword()
            )),
        }
    }

    /// Whether this is one of the integer types (identity and serial need one).
    pub fn is_integer(&self) -> bool {
        !self.array
            && matches!(
                self.base,
                BaseType::SmallInt | BaseType::Integer | BaseType::BigInt
            )
    }
}

impl TypeSpec {
    pub fn parse(text: &str) -> Result<TypeSpec, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ColumnType {
        ColumnType::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn aliases_are_one_value() {
        let groups: &[&[&str]] = &[
            &["int", "integer", "int4", "INT", "pg_catalog.int4"],
            &["bigint", "int8"],
            &["smallint", "int2"],
            &["varchar", "character varying", "VARCHAR"],
            &["varchar(20)", "character varying(20)", "char varying (20)"],
            &["timestamptz", "timestamp with time zone", "TIMESTAMPTZ"],
            &["timestamp", "timestamp without time zone"],
            &["timestamptz(3)", "timestamp(3) with time zone"],
            &["timetz", "time with time zone"],
            &["bool", "boolean"],
            &["float8", "double precision", "float", "float(53)"],
            &["float4", "real", "float(24)"],
            &["numeric(10,0)", "numeric(10)", "decimal(10)"],
            &["char", "character", "char(1)"],
            &["bit", "bit(1)"],
            &["varbit(3)", "bit varying(3)"],
            &[
                "int[]",
                "integer[]",
                "int4[3]",
                "integer array",
                "int[][]",
                "int[2][3]",
            ],
        ];
        for group in groups {
            let first = t(group[0]);
            for other in &group[1..] {
                assert_eq!(t(other), first, "{} vs {}", group[0], other);
            }
        }
    }

    #[test]
    fn canonical_spelling_reparses_to_itself() {
        for s in [
            "integer",
            "bigint[]",
            "numeric(12,2)",
            "varchar(255)",
            "char(2)",
            "bpchar",
            "timestamptz(3)",
            "time",
            "interval day to second(3)",
            "interval(2)",
            "uuid",
            "jsonb[]",
            "order_status",
            "billing.\"Status\"",
            "public.uuid",
            "\"char\"",
            "geometry(Point,4326)",
            "double precision",
            "public.text",
            "\"true\"",
            "app.\"select\"",
        ] {
            let ty = t(s);
            assert_eq!(t(&ty.to_string()), ty, "{s} -> {ty}");
        }
    }

    #[test]
    fn user_types_default_to_public() {
        match t("order_status").base {
            BaseType::Named { schema, .. } => assert_eq!(schema.unwrap().as_str(), "public"),
            other => panic!("{other:?}"),
        }
        assert_eq!(t("order_status"), t("public.order_status"));
        assert_eq!(t("order_status").to_string(), "order_status");
        assert_eq!(t("\"Mixed\"").to_string(), "\"Mixed\"");
    }

    #[test]
    fn serial_is_sugar() {
        assert_eq!(
            TypeSpec::parse("serial8").unwrap(),
            TypeSpec::Serial(SerialKind::Big)
        );
        assert!(ColumnType::parse("bigserial").is_err());
    }

    #[test]
    fn bad_types_are_errors() {
        for s in [
            "",
            "true",
            "select",
            "false",
            "varchar(0)",
            "numeric(1,2,3)",
            "double",
            "int(",
            "timestamptz with time zone",
            "a.b.c",
            "int]",
            "float(60)",
        ] {
            assert!(ColumnType::parse(s).is_err(), "{s} should fail");
        }
    }
}
