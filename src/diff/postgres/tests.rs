//! Expression comparison against the server's own spellings.

use super::*;

#[test]
fn server_spellings_match_what_people_write() {
    for (written, stored) in [
        (
            "position('@' in email) > 0",
            "POSITION(('@'::text) IN (email)) > 0",
        ),
        ("deleted_at IS NULL", "(deleted_at IS NULL)"),
        ("status <> 'shipped'", "(status <> 'shipped'::order_status)"),
        ("'free'", "'free'::text"),
        ("'x'", "'x'::character varying"),
        ("-1", "'-1'::integer"),
        ("f(-1, 2)", "f('-1'::integer, 2)"),
        ("lower(email)", "lower(email)"),
        ("price > 0", "(price > 0)"),
        ("age BETWEEN 0 AND 150", "age >= 0 AND age <= 150"),
        ("price > 0", "(price > (0)::numeric)"),
        ("a > 0 AND (b < 1 OR c)", "((a > 0) AND ((b < 1) OR c))"),
        ("name NOT LIKE 'x%'", "(name !~~ 'x%'::text)"),
        (
            "kind IN ('a', 'b')",
            "(kind = ANY (ARRAY['a'::text, 'b'::text]))",
        ),
        ("x != 1", "(x <> 1)"),
    ] {
        assert!(
            same_sql(written, stored),
            "{written} vs {stored}: {} / {}",
            normalize(written),
            normalize(stored)
        );
    }
}

#[test]
fn different_expressions_stay_different() {
    for (a, b) in [
        ("price > 0", "price >= 0"),
        ("lower(email)", "upper(email)"),
        ("'A'", "'a'"),
        ("\"Col\" > 0", "col > 0"),
        ("f(a)", "f((a, b))"),
        ("a - 1", "a - 2"),
        ("a AND b OR c", "a AND (b OR c)"),
        ("kind IN ('a', 'b')", "kind IN ('a', 'c')"),
    ] {
        assert!(!same_sql(a, b), "{a} vs {b}");
    }
}

#[test]
fn a_column_cast_to_its_own_type_is_spelling() {
    let cols = |n: &str| match n {
        "c" => ColumnType::parse("text").ok(),
        "n" => ColumnType::parse("integer").ok(),
        _ => None,
    };
    assert!(same_sql_for(
        "c IS NULL OR length(c::text) < 50",
        &cols,
        "((c IS NULL) OR (length(c) < 50))",
        &cols
    ));
    let vc = |n: &str| (n == "v").then(|| ColumnType::parse("varchar(20)").expect("type"));
    assert!(same_sql_for(
        "v LIKE 'a%'",
        &vc,
        "((v)::text ~~ 'a%'::text)",
        &vc
    ));
    assert!(same_sql_for(
        "v IN ('x', 'y')",
        &vc,
        "((v)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying])::text[]))",
        &vc
    ));
    // A cast to another type stays.
    assert!(!same_sql_for(
        "length(n::text) < 5",
        &cols,
        "length(n) < 5",
        &cols
    ));
    assert!(same_sql_for(
        "length(n::text) < 5",
        &cols,
        "(length((n)::text) < 5)",
        &cols
    ));
    // A domain over numeric(12,2) is read as its base: the server's
    // cast of it to bare numeric changes no value.
    let money = |n: &str| (n == "m").then(|| ColumnType::parse("numeric(12,2)").expect("type"));
    assert!(same_sql_for(
        "m >= 1",
        &money,
        "((m)::numeric >= (1)::numeric)",
        &money
    ));
    // A cast that narrows stays.
    assert!(!same_sql_for(
        "m >= 1",
        &money,
        "((m)::numeric(4,0) >= (1)::numeric)",
        &money
    ));
    let bits = |n: &str| (n == "b").then(|| ColumnType::parse("bit(8)").expect("type"));
    assert!(!same_sql_for("b = B'1'", &bits, "((b)::bit = B'1')", &bits));
}

#[test]
fn a_default_keeps_casts_to_other_types_than_its_columns() {
    let ty = |t: &str| ColumnType::parse(t).expect("type");
    // The server's own cast to the column's type is spelling.
    for (t, written, stored) in [
        ("varchar(20)", "'x'", "'x'::character varying"),
        ("text", "'x'", "'x'::text"),
        ("public.mood", "'happy'", "'happy'::mood"),
        ("integer", "-1", "'-1'::integer"),
        ("text[]", "'{}'", "'{}'::text[]"),
        ("timestamptz", "now()", "now()"),
        ("bigint", "nextval('s1')", "nextval('s1'::regclass)"),
    ] {
        assert!(
            same_default(Some(written), Some(stored), &ty(t)),
            "{t}: {written} vs {stored}"
        );
    }
    // A cast to another type is not: after varchar → text in place,
    // the stored default still casts to varchar.
    assert!(!same_default(
        Some("'x'::character varying"),
        Some("'x'::text"),
        &ty("text")
    ));
    assert!(!same_default(
        Some("'x'::character varying"),
        None,
        &ty("text")
    ));
}
