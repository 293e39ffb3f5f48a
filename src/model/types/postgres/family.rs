//! Which built-in types PostgreSQL compares with which: what a foreign
//! key's columns and the key they reference must share.

use super::super::BaseType;

impl BaseType {
    /// The kind of values PostgreSQL compares this built-in type with: a
    /// foreign key's columns and the key they reference must be of one
    /// (`integer` with `bigint` or `numeric`, `varchar` with `text`), as
    /// PostgreSQL finds no equality between `integer` and `uuid`. `None`
    /// for a user type.
    pub fn comparison_family(&self) -> Option<&str> {
        Some(match self {
            BaseType::SmallInt
            | BaseType::Integer
            | BaseType::BigInt
            | BaseType::Real
            | BaseType::Double
            | BaseType::Numeric(_) => "number",
            BaseType::Text | BaseType::Varchar(_) | BaseType::Char(_) => "string",
            BaseType::Date | BaseType::Timestamp { .. } => "date and time",
            BaseType::Time { .. } => "time of day",
            BaseType::Interval { .. } => "interval",
            BaseType::Boolean => "boolean",
            BaseType::Bytea => "bytea",
            BaseType::Bit(_) | BaseType::Varbit(_) => "bit string",
            BaseType::Named {
                schema: None, name, ..
            } => match name.as_str() {
                "inet" | "cidr" => "network address",
                other => other,
            },
            BaseType::Named { .. } => return None,
        })
    }
}
