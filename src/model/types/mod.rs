//! Column types, normalized: every spelling PostgreSQL accepts for one type
//! (`int`, `integer`, `int4`; `timestamptz`, `timestamp with time zone`, ...)
//! parses to one value, so two schemas that the database stores identically
//! never differ here. `Display` writes the one canonical spelling that
//! `dump` uses.
//!
//! Type names follow SQL identifier rules: unquoted words fold to lower case,
//! `"Quoted"` names keep their case. An unqualified name that is not a
//! built-in type means a type in the `public` schema.

use super::ident::{Ident, QualifiedName};

mod postgres;

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

    /// The user-defined type this is of (or an array of): a schema-
    /// qualified named type, as an enum or a domain.
    pub fn user_type(&self) -> Option<QualifiedName> {
        match &self.base {
            BaseType::Named {
                schema: Some(s),
                name,
                ..
            } => Some(QualifiedName::new(s.clone(), name.clone())),
            _ => None,
        }
    }

    /// The lowest and highest value of an integer type (bigint's for any
    /// other), as a sequence of it counts.
    pub fn integer_range(&self) -> (i64, i64) {
        match self.base {
            BaseType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
            BaseType::Integer => (i32::MIN as i64, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
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
    /// Parses a type as PostgreSQL spells it.
    pub fn parse(text: &str) -> Result<TypeSpec, String> {
        postgres::parse(text)
    }
}
