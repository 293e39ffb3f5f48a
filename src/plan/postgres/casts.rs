//! Which built-in types PostgreSQL can cast to which: a shadow column is
//! filled through `old::new` in a trigger that fires on every write of the
//! old app, so a cast PostgreSQL lacks must be caught in the plan, not at
//! the first insert after expand.

use crate::model::{BaseType, ColumnType};

/// `pg_cast` of PostgreSQL 15 between built-in types, as (source,
/// target) type names (`typname`), sorted. Casts from and to the string
/// types through their text forms are not listed: PostgreSQL makes those
/// for any type when asked explicitly.
const CASTS: &[(&str, &str)] = &[
    ("bit", "bit"),
    ("bit", "int4"),
    ("bit", "int8"),
    ("bit", "varbit"),
    ("bool", "bpchar"),
    ("bool", "int4"),
    ("bool", "text"),
    ("bool", "varchar"),
    ("box", "circle"),
    ("box", "lseg"),
    ("box", "point"),
    ("box", "polygon"),
    ("bpchar", "bpchar"),
    ("bpchar", "char"),
    ("bpchar", "name"),
    ("bpchar", "text"),
    ("bpchar", "varchar"),
    ("bpchar", "xml"),
    ("char", "bpchar"),
    ("char", "int4"),
    ("char", "text"),
    ("char", "varchar"),
    ("cidr", "bpchar"),
    ("cidr", "inet"),
    ("cidr", "text"),
    ("cidr", "varchar"),
    ("circle", "box"),
    ("circle", "point"),
    ("circle", "polygon"),
    ("date", "timestamp"),
    ("date", "timestamptz"),
    ("daterange", "datemultirange"),
    ("float4", "float8"),
    ("float4", "int2"),
    ("float4", "int4"),
    ("float4", "int8"),
    ("float4", "numeric"),
    ("float8", "float4"),
    ("float8", "int2"),
    ("float8", "int4"),
    ("float8", "int8"),
    ("float8", "numeric"),
    ("inet", "bpchar"),
    ("inet", "cidr"),
    ("inet", "text"),
    ("inet", "varchar"),
    ("int2", "float4"),
    ("int2", "float8"),
    ("int2", "int4"),
    ("int2", "int8"),
    ("int2", "numeric"),
    ("int2", "oid"),
    ("int2", "regclass"),
    ("int2", "regcollation"),
    ("int2", "regconfig"),
    ("int2", "regdictionary"),
    ("int2", "regnamespace"),
    ("int2", "regoper"),
    ("int2", "regoperator"),
    ("int2", "regproc"),
    ("int2", "regprocedure"),
    ("int2", "regrole"),
    ("int2", "regtype"),
    ("int4", "bit"),
    ("int4", "bool"),
    ("int4", "char"),
    ("int4", "float4"),
    ("int4", "float8"),
    ("int4", "int2"),
    ("int4", "int8"),
    ("int4", "money"),
    ("int4", "numeric"),
    ("int4", "oid"),
    ("int4", "regclass"),
    ("int4", "regcollation"),
    ("int4", "regconfig"),
    ("int4", "regdictionary"),
    ("int4", "regnamespace"),
    ("int4", "regoper"),
    ("int4", "regoperator"),
    ("int4", "regproc"),
    ("int4", "regprocedure"),
    ("int4", "regrole"),
    ("int4", "regtype"),
    ("int4range", "int4multirange"),
    ("int8", "bit"),
    ("int8", "float4"),
    ("int8", "float8"),
    ("int8", "int2"),
    ("int8", "int4"),
    ("int8", "money"),
    ("int8", "numeric"),
    ("int8", "oid"),
    ("int8", "regclass"),
    ("int8", "regcollation"),
    ("int8", "regconfig"),
    ("int8", "regdictionary"),
    ("int8", "regnamespace"),
    ("int8", "regoper"),
    ("int8", "regoperator"),
    ("int8", "regproc"),
    ("int8", "regprocedure"),
    ("int8", "regrole"),
    ("int8", "regtype"),
    ("int8range", "int8multirange"),
    ("interval", "interval"),
    ("interval", "time"),
    ("json", "jsonb"),
    ("jsonb", "bool"),
    ("jsonb", "float4"),
    ("jsonb", "float8"),
    ("jsonb", "int2"),
    ("jsonb", "int4"),
    ("jsonb", "int8"),
    ("jsonb", "json"),
    ("jsonb", "numeric"),
    ("lseg", "point"),
    ("macaddr", "macaddr8"),
    ("macaddr8", "macaddr"),
    ("money", "numeric"),
    ("name", "bpchar"),
    ("name", "text"),
    ("name", "varchar"),
    ("numeric", "float4"),
    ("numeric", "float8"),
    ("numeric", "int2"),
    ("numeric", "int4"),
    ("numeric", "int8"),
    ("numeric", "money"),
    ("numeric", "numeric"),
    ("numrange", "nummultirange"),
    ("oid", "int4"),
    ("oid", "int8"),
    ("oid", "regclass"),
    ("oid", "regcollation"),
    ("oid", "regconfig"),
    ("oid", "regdictionary"),
    ("oid", "regnamespace"),
    ("oid", "regoper"),
    ("oid", "regoperator"),
    ("oid", "regproc"),
    ("oid", "regprocedure"),
    ("oid", "regrole"),
    ("oid", "regtype"),
    ("path", "polygon"),
    ("pg_dependencies", "bytea"),
    ("pg_dependencies", "text"),
    ("pg_mcv_list", "bytea"),
    ("pg_mcv_list", "text"),
    ("pg_ndistinct", "bytea"),
    ("pg_ndistinct", "text"),
    ("pg_node_tree", "text"),
    ("point", "box"),
    ("polygon", "box"),
    ("polygon", "circle"),
    ("polygon", "path"),
    ("polygon", "point"),
    ("regclass", "int4"),
    ("regclass", "int8"),
    ("regclass", "oid"),
    ("regcollation", "int4"),
    ("regcollation", "int8"),
    ("regcollation", "oid"),
    ("regconfig", "int4"),
    ("regconfig", "int8"),
    ("regconfig", "oid"),
    ("regdictionary", "int4"),
    ("regdictionary", "int8"),
    ("regdictionary", "oid"),
    ("regnamespace", "int4"),
    ("regnamespace", "int8"),
    ("regnamespace", "oid"),
    ("regoper", "int4"),
    ("regoper", "int8"),
    ("regoper", "oid"),
    ("regoper", "regoperator"),
    ("regoperator", "int4"),
    ("regoperator", "int8"),
    ("regoperator", "oid"),
    ("regoperator", "regoper"),
    ("regproc", "int4"),
    ("regproc", "int8"),
    ("regproc", "oid"),
    ("regproc", "regprocedure"),
    ("regprocedure", "int4"),
    ("regprocedure", "int8"),
    ("regprocedure", "oid"),
    ("regprocedure", "regproc"),
    ("regrole", "int4"),
    ("regrole", "int8"),
    ("regrole", "oid"),
    ("regtype", "int4"),
    ("regtype", "int8"),
    ("regtype", "oid"),
    ("text", "bpchar"),
    ("text", "char"),
    ("text", "name"),
    ("text", "regclass"),
    ("text", "varchar"),
    ("text", "xml"),
    ("time", "interval"),
    ("time", "time"),
    ("time", "timetz"),
    ("timestamp", "date"),
    ("timestamp", "time"),
    ("timestamp", "timestamp"),
    ("timestamp", "timestamptz"),
    ("timestamptz", "date"),
    ("timestamptz", "time"),
    ("timestamptz", "timestamp"),
    ("timestamptz", "timestamptz"),
    ("timestamptz", "timetz"),
    ("timetz", "time"),
    ("timetz", "timetz"),
    ("tsrange", "tsmultirange"),
    ("tstzrange", "tstzmultirange"),
    ("varbit", "bit"),
    ("varbit", "varbit"),
    ("varchar", "bpchar"),
    ("varchar", "char"),
    ("varchar", "name"),
    ("varchar", "regclass"),
    ("varchar", "text"),
    ("varchar", "varchar"),
    ("varchar", "xml"),
    ("xid8", "xid"),
    ("xml", "bpchar"),
    ("xml", "text"),
    ("xml", "varchar"),
];

/// The string types: any type casts to and from them through its text
/// form (PostgreSQL's I/O conversion casts, explicit only).
const STRINGS: &[&str] = &["text", "varchar", "bpchar", "name"];

/// `typname` of a built-in base type; `None` for a user type.
fn typname(b: &BaseType) -> Option<&str> {
    Some(match b {
        BaseType::SmallInt => "int2",
        BaseType::Integer => "int4",
        BaseType::BigInt => "int8",
        BaseType::Real => "float4",
        BaseType::Double => "float8",
        BaseType::Numeric(_) => "numeric",
        BaseType::Boolean => "bool",
        BaseType::Text => "text",
        BaseType::Varchar(_) => "varchar",
        BaseType::Char(_) => "bpchar",
        BaseType::Bytea => "bytea",
        BaseType::Date => "date",
        BaseType::Time { tz: false, .. } => "time",
        BaseType::Time { tz: true, .. } => "timetz",
        BaseType::Timestamp { tz: false, .. } => "timestamp",
        BaseType::Timestamp { tz: true, .. } => "timestamptz",
        BaseType::Interval { .. } => "interval",
        BaseType::Bit(_) => "bit",
        BaseType::Varbit(_) => "varbit",
        BaseType::Named {
            schema: None, name, ..
        } => name.as_str(),
        BaseType::Named { .. } => return None,
    })
}

/// Whether PostgreSQL can cast a value of `from` to `to` with `::`, both
/// resolved to their base types; `None` when a user type is involved
/// (bellows casts those through their text form; whether the text fits is
/// the data's).
pub fn can_cast(from: &ColumnType, to: &ColumnType) -> Option<bool> {
    let (a, b) = (typname(&from.base)?, typname(&to.base)?);
    let string = |t: &str| STRINGS.contains(&t);
    if from.array != to.array {
        // An array casts only through its text form.
        return Some((!from.array && string(a)) || (!to.array && string(b)));
    }
    // Arrays cast element by element.
    Some(a == b || string(a) || string(b) || CASTS.binary_search(&(a, b)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ColumnType {
        ColumnType::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_table_is_sorted_and_what_postgresql_casts_is_known() {
        assert!(
            CASTS.windows(2).all(|w| w[0] < w[1]),
            "CASTS must stay sorted"
        );
        assert_eq!(can_cast(&t("integer"), &t("bigint")), Some(true));
        assert_eq!(can_cast(&t("integer"), &t("numeric(12,2)")), Some(true));
        assert_eq!(can_cast(&t("integer"), &t("uuid")), Some(false));
        assert_eq!(can_cast(&t("timestamp"), &t("integer")), Some(false));
        assert_eq!(can_cast(&t("text"), &t("uuid")), Some(true));
        assert_eq!(can_cast(&t("jsonb"), &t("text")), Some(true));
        assert_eq!(can_cast(&t("integer[]"), &t("bigint[]")), Some(true));
        assert_eq!(can_cast(&t("integer[]"), &t("integer")), Some(false));
        assert_eq!(can_cast(&t("mood"), &t("text")), None);
    }
}
