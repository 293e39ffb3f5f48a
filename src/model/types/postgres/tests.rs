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
