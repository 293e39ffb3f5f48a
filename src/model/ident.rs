//! Identifiers as a type: `Ident` holds a name exactly as the database stores
//! it (case preserved, never quoted), `QualifiedName` a schema-qualified one.
//! Quoting for SQL happens in one place only, `crate::sql::quote_ident`.

use std::fmt;

/// PostgreSQL keeps identifiers to NAMEDATALEN - 1 = 63 bytes and silently
/// truncates longer ones; bellows refuses them instead, so that what the
/// YAML says is what the database holds.
pub const MAX_IDENT_BYTES: usize = 63;

/// The schema an unqualified name lives in.
pub const DEFAULT_SCHEMA: &str = "public";

/// Why a string cannot be an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// The empty string is no name.
    #[error("an identifier cannot be empty")]
    Empty,
    /// Longer than PostgreSQL keeps.
    #[error("identifier `{0}` is {1} bytes long; PostgreSQL keeps at most 63 bytes")]
    TooLong(String, usize),
    /// NUL cannot be stored in a catalog name.
    #[error("identifier contains a NUL character")]
    Nul,
}

/// One SQL identifier, exactly as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ident(String);

impl Ident {
    /// Checks the rules every database bellows targets shares.
    pub fn new(name: impl Into<String>) -> Result<Ident, IdentError> {
        let name = name.into();
        if name.is_empty() {
            return Err(IdentError::Empty);
        }
        if name.contains('\0') {
            return Err(IdentError::Nul);
        }
        if name.len() > MAX_IDENT_BYTES {
            let len = name.len();
            return Err(IdentError::TooLong(name, len));
        }
        Ok(Ident(name))
    }

    /// The raw name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `schema.name`. In YAML an unqualified name means the `public` schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    pub schema: Ident,
    pub name: Ident,
}

impl QualifiedName {
    pub fn new(schema: Ident, name: Ident) -> Self {
        QualifiedName { schema, name }
    }

    /// A name in the default schema.
    pub fn public(name: Ident) -> Self {
        QualifiedName {
            schema: Ident(DEFAULT_SCHEMA.to_string()),
            name,
        }
    }

    /// Parses the YAML spelling: `name`, `schema.name`, where a part that
    /// contains a dot or a double quote is written in double quotes with
    /// inner quotes doubled, as in SQL (`"odd.schema"."a ""b"""`). Unquoted
    /// parts are taken literally: case is preserved, nothing is folded.
    pub fn parse(text: &str) -> Result<QualifiedName, String> {
        let parts = split_parts(text)?;
        match parts.as_slice() {
            [name] => Ok(QualifiedName::public(
                Ident::new(name.clone()).map_err(|e| e.to_string())?,
            )),
            [schema, name] => Ok(QualifiedName::new(
                Ident::new(schema.clone()).map_err(|e| e.to_string())?,
                Ident::new(name.clone()).map_err(|e| e.to_string())?,
            )),
            _ => Err(format!(
                "`{text}` has {} dot-separated parts; write `name` or `schema.name`, and put a part that contains a dot in double quotes",
                parts.len()
            )),
        }
    }

    /// The YAML spelling that `parse` reads back; `public.` is left out.
    pub fn to_yaml_key(&self) -> String {
        let name = yaml_part(self.name.as_str());
        if self.schema.as_str() == DEFAULT_SCHEMA {
            name
        } else {
            format!("{}.{}", yaml_part(self.schema.as_str()), name)
        }
    }
}

/// Parses exactly two dot-separated parts (`table.column`), with the
/// quoting rules of `QualifiedName::parse`.
pub fn parse_pair(text: &str) -> Result<(Ident, Ident), String> {
    match split_parts(text)?.as_slice() {
        [a, b] => Ok((
            Ident::new(a.clone()).map_err(|e| e.to_string())?,
            Ident::new(b.clone()).map_err(|e| e.to_string())?,
        )),
        parts => Err(format!(
            "`{text}` has {} dot-separated part(s), expected two; put a part that contains a dot in double quotes",
            parts.len()
        )),
    }
}

/// The spelling `parse_pair` reads back.
pub fn pair_to_yaml(a: &Ident, b: &Ident) -> String {
    format!("{}.{}", yaml_part(a.as_str()), yaml_part(b.as_str()))
}

impl QualifiedName {
    /// The name without its schema, for a database that has one
    /// namespace (SQLite): `users`, not `public.users`.
    pub fn unqualified(&self) -> Unqualified<'_> {
        Unqualified(self)
    }
}

/// A [`QualifiedName`] shown without its schema.
pub struct Unqualified<'a>(&'a QualifiedName);

impl fmt::Display for Unqualified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&yaml_part(self.0.name.as_str()))
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            yaml_part(self.schema.as_str()),
            yaml_part(self.name.as_str())
        )
    }
}

/// One part of a dotted name, quoted when it holds a dot or a double
/// quote (so that `split_parts` reads it back).
pub fn quote_part(part: &str) -> String {
    yaml_part(part)
}

/// The parts of a dotted name written with `quote_part`.
pub fn split_parts(text: &str) -> Result<Vec<String>, String> {
    split_parts_with(text, str::to_string)
}

/// [`split_parts`], with each unquoted part passed through `unquoted`
/// (SQL folds unquoted names; YAML keeps them as written).
pub fn split_parts_with(
    text: &str,
    unquoted: impl Fn(&str) -> String,
) -> Result<Vec<String>, String> {
    split_qualified(text, &unquoted)
}

fn yaml_part(part: &str) -> String {
    if part.contains('.') || part.contains('"') {
        format!("\"{}\"", part.replace('"', "\"\""))
    } else {
        part.to_string()
    }
}

fn split_qualified(text: &str, unquoted: &dyn Fn(&str) -> String) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(format!("`{text}` has an unclosed double quote")),
                }
            }
            match chars.peek() {
                None | Some('.') => {}
                Some(c) => {
                    return Err(format!(
                        "`{text}`: unexpected `{c}` after a quoted part; write `schema.name`"
                    ));
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '"' {
                    return Err(format!(
                        "`{text}`: a part that contains a double quote must itself be quoted, with the quote doubled"
                    ));
                }
                part.push(c);
                chars.next();
            }
            part = unquoted(&part);
        }
        parts.push(part);
        // Both branches above stop only at a '.' or at the end.
        if chars.next().is_none() {
            break;
        }
    }
    Ok(parts)
}

// In plans (JSON, the ledger) an identifier is its text and a qualified
// name its dotted spelling, parts quoted as `QualifiedName::parse` reads.

impl serde::Serialize for Ident {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Ident {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ident::new(text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for QualifiedName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for QualifiedName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        QualifiedName::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QualifiedName {
        QualifiedName::parse(s).unwrap()
    }

    #[test]
    fn unqualified_names_are_public_and_literal() {
        assert_eq!(q("Users").schema.as_str(), "public");
        assert_eq!(q("Users").name.as_str(), "Users");
        assert_eq!(q("billing.invoices").schema.as_str(), "billing");
    }

    #[test]
    fn quoted_parts_round_trip() {
        for (schema, name) in [("a.b", "c\"d"), ("x", "has space"), ("ü", "\"")] {
            let n = QualifiedName::new(Ident::new(schema).unwrap(), Ident::new(name).unwrap());
            assert_eq!(q(&n.to_yaml_key()), n, "{}", n.to_yaml_key());
        }
    }

    #[test]
    fn malformed_names_are_errors() {
        assert!(QualifiedName::parse("a.b.c").is_err());
        assert!(QualifiedName::parse("\"open").is_err());
        assert!(QualifiedName::parse("a\"b").is_err());
        assert!(QualifiedName::parse("\"a\"x").is_err());
        assert!(QualifiedName::parse("").is_err());
        assert!(QualifiedName::parse("a.").is_err());
    }

    #[test]
    fn identifiers_longer_than_63_bytes_are_refused() {
        assert!(Ident::new("x".repeat(63)).is_ok());
        assert!(matches!(
            Ident::new("x".repeat(64)),
            Err(IdentError::TooLong(_, 64))
        ));
    }
}
