//! Type normalization against a real PostgreSQL: every spelling a user
//! may write parses to the same `ColumnType` as what the server stores
//! and prints back with `format_type`.

mod support;

use bellows::model::{ColumnType, TypeSpec};
use support::TestDb;

/// Spellings users write; each must be accepted by PostgreSQL and must
/// normalize to the same type PostgreSQL reports for it.
const SPELLINGS: &[&str] = &[
    "int",
    "integer",
    "int4",
    "INT",
    "bigint",
    "int8",
    "smallint",
    "int2",
    "real",
    "float4",
    "float8",
    "double precision",
    "float",
    "float(10)",
    "float(40)",
    "numeric",
    "numeric(10)",
    "numeric(12,2)",
    "decimal(5,1)",
    "boolean",
    "bool",
    "text",
    "varchar",
    "varchar(20)",
    "character varying(20)",
    "char",
    "char(3)",
    "character(3)",
    "bpchar",
    "bytea",
    "date",
    "time",
    "time(3)",
    "time with time zone",
    "timetz(2)",
    "timestamp",
    "timestamp(0)",
    "timestamp without time zone",
    "timestamptz",
    "timestamp(3) with time zone",
    "interval",
    "interval(2)",
    "interval year to month",
    "interval day to second(3)",
    "bit",
    "bit(8)",
    "bit varying(5)",
    "varbit",
    "uuid",
    "json",
    "jsonb",
    "inet",
    "cidr",
    "macaddr",
    "money",
    "xml",
    "tsvector",
    "point",
    "int4range",
    "\"char\"",
    "int[]",
    "integer[][]",
    "text[3]",
    "varchar(10)[]",
    "integer array",
    "timestamptz[]",
    "pg_catalog.int8",
];

#[tokio::test]
async fn spellings_normalize_like_postgres_stores_them() {
    let db = TestDb::new().await;
    let cols: Vec<String> = SPELLINGS
        .iter()
        .enumerate()
        .map(|(i, t)| format!("c{i} {t}"))
        .collect();
    db.exec(&format!("CREATE TABLE t ({})", cols.join(", ")))
        .await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT attname::text, format_type(atttypid, atttypmod)
           FROM pg_attribute
          WHERE attrelid = 't'::regclass AND attnum > 0
          ORDER BY attnum",
    )
    .fetch_all(&db.pool)
    .await
    .expect("catalog query");
    assert_eq!(rows.len(), SPELLINGS.len());
    for ((_, printed), written) in rows.iter().zip(SPELLINGS) {
        let ours = ColumnType::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
        let theirs = ColumnType::parse(printed).unwrap_or_else(|e| {
            panic!("PostgreSQL printed `{printed}` for `{written}`, which does not parse: {e}")
        });
        assert_eq!(
            ours, theirs,
            "`{written}` is stored as `{printed}`, but they normalize differently"
        );
    }
}

#[tokio::test]
async fn canonical_spellings_create_identical_columns() {
    let db = TestDb::new().await;
    let canonical: Vec<String> = SPELLINGS
        .iter()
        .map(|t| ColumnType::parse(t).expect("parses").to_string())
        .collect();
    let cols = |types: &[String]| {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("c{i} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let written: Vec<String> = SPELLINGS.iter().map(|s| s.to_string()).collect();
    db.exec(&format!(
        "CREATE TABLE a ({}); CREATE TABLE b ({});",
        cols(&written),
        cols(&canonical)
    ))
    .await;
    // attndims is left out on purpose: PostgreSQL records the declared
    // dimensions but never enforces them, so bellows does not model them.
    let differing: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), format_type(b.atttypid, b.atttypmod)
           FROM pg_attribute a JOIN pg_attribute b ON b.attname = a.attname
          WHERE a.attrelid = 'a'::regclass AND b.attrelid = 'b'::regclass AND a.attnum > 0
            AND (a.atttypid, a.atttypmod) IS DISTINCT FROM (b.atttypid, b.atttypmod)",
    )
    .fetch_all(&db.pool)
    .await
    .expect("catalog query");
    let report: Vec<String> = differing
        .iter()
        .map(|(c, x, y)| {
            let i: usize = c[1..].parse().unwrap_or(0);
            format!(
                "`{}` -> canonical `{}`: {x} vs {y}",
                SPELLINGS[i], canonical[i]
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "canonical spellings change the type:\n{}",
        report.join("\n")
    );
    let serial = TypeSpec::parse("serial").expect("serial parses");
    assert!(matches!(serial, TypeSpec::Serial(_)));
}
