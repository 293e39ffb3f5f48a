//! PostgreSQL's storage parameters (`reloptions`) of tables and of the
//! indexes of its own access methods: which exist, what values they
//! take, the one spelling each value is kept in, and which can be
//! changed without blocking reads and writes. An index of another access
//! method (an extension's) takes any name, its value kept as written.

use std::collections::BTreeMap;

use super::{quote_ident, quote_literal};
use crate::model::StorageParams;

/// What a parameter is on: a table, a column, or an index of the named
/// method.
const TABLE: &str = "table";
const COLUMN: &str = "column";

#[derive(Clone, Copy)]
enum Ty {
    Bool,
    Int(i64, i64),
    Real(f64, f64),
    /// The words it takes, then synonyms and the word each stands for.
    Words(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    ),
}

struct Param {
    name: &'static str,
    /// `TABLE` or index access methods.
    on: &'static [&'static str],
    ty: Ty,
    /// Changed under SHARE UPDATE EXCLUSIVE (reads and writes go on);
    /// else ACCESS EXCLUSIVE.
    brief: bool,
}

/// What the autovacuum parameters are on: a table.
const AV: &[&str] = &[TABLE];
const MAX: i64 = i32::MAX as i64;
const AGE: i64 = 2_000_000_000;
const ON_OFF: &[(&str, &str)] = &[
    ("true", "on"),
    ("yes", "on"),
    ("1", "on"),
    ("false", "off"),
    ("no", "off"),
    ("0", "off"),
];

/// As PostgreSQL 15 to 18 define them (`reloptions.c`).
#[rustfmt::skip]
const PARAMS: &[Param] = &[
    p("fillfactor", &[TABLE], Ty::Int(10, 100), true),
    p("fillfactor", &["btree", "hash", "gist", "spgist"], Ty::Int(10, 100), true),
    p("autovacuum_enabled", AV, Ty::Bool, true),
    p("autovacuum_vacuum_threshold", AV, Ty::Int(0, MAX), true),
    p("autovacuum_vacuum_max_threshold", AV, Ty::Int(-1, MAX), true),
    p("autovacuum_vacuum_insert_threshold", AV, Ty::Int(-1, MAX), true),
    p("autovacuum_analyze_threshold", AV, Ty::Int(0, MAX), true),
    p("autovacuum_vacuum_cost_limit", AV, Ty::Int(1, 10_000), true),
    p("autovacuum_freeze_min_age", AV, Ty::Int(0, 1_000_000_000), true),
    p("autovacuum_multixact_freeze_min_age", AV, Ty::Int(0, 1_000_000_000), true),
    p("autovacuum_freeze_max_age", AV, Ty::Int(100_000, AGE), true),
    p("autovacuum_multixact_freeze_max_age", AV, Ty::Int(10_000, AGE), true),
    p("autovacuum_freeze_table_age", AV, Ty::Int(0, AGE), true),
    p("autovacuum_multixact_freeze_table_age", AV, Ty::Int(0, AGE), true),
    p("log_autovacuum_min_duration", AV, Ty::Int(-1, MAX), true),
    p("autovacuum_vacuum_cost_delay", AV, Ty::Real(0.0, 100.0), true),
    p("autovacuum_vacuum_scale_factor", AV, Ty::Real(0.0, 100.0), true),
    p("autovacuum_vacuum_insert_scale_factor", AV, Ty::Real(0.0, 100.0), true),
    p("autovacuum_analyze_scale_factor", AV, Ty::Real(0.0, 100.0), true),
    p("vacuum_max_eager_freeze_failure_rate", AV, Ty::Real(0.0, 1.0), true),
    p("toast_tuple_target", &[TABLE], Ty::Int(128, 8160), true),
    p("parallel_workers", &[TABLE], Ty::Int(0, 1024), true),
    p("vacuum_truncate", &[TABLE], Ty::Bool, true),
    p("vacuum_index_cleanup", &[TABLE], Ty::Words(&["auto", "on", "off"], ON_OFF), true),
    p("user_catalog_table", &[TABLE], Ty::Bool, false),
    p("deduplicate_items", &["btree"], Ty::Bool, true),
    p("vacuum_cleanup_index_scale_factor", &["btree"], Ty::Real(0.0, 1e10), true),
    p("buffering", &["gist"], Ty::Words(&["auto", "on", "off"], &[]), false),
    p("fastupdate", &["gin"], Ty::Bool, false),
    p("gin_pending_list_limit", &["gin"], Ty::Int(64, MAX), false),
    p("pages_per_range", &["brin"], Ty::Int(1, 131_072), false),
    p("autosummarize", &["brin"], Ty::Bool, false),
    // A column's (`ALTER COLUMN ... SET (...)`, attribute options).
    p("n_distinct", &[COLUMN], Ty::Real(-1.0, f64::MAX), true),
    p("n_distinct_inherited", &[COLUMN], Ty::Real(-1.0, f64::MAX), true),
];

const fn p(name: &'static str, on: &'static [&'static str], ty: Ty, brief: bool) -> Param {
    Param {
        name,
        on,
        ty,
        brief,
    }
}

/// Whether PostgreSQL defines the parameters of `on` (a table, or an
/// index of one of its own access methods).
fn known(on: &str) -> bool {
    PARAMS.iter().any(|p| p.on.contains(&on))
}

fn param(on: &str, name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name == name && p.on.contains(&on))
}

/// Why a parameter is refused.
#[derive(Debug, PartialEq)]
pub enum ParamError {
    /// The name is not one PostgreSQL defines for what it is on; the
    /// names it does define.
    Name(String, Vec<&'static str>),
    /// The value is not one the parameter takes.
    Value(String),
    /// A parameter of the table's TOAST table (`toast.*`), which bellows
    /// leaves as it is.
    Toast(String),
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamError::Name(why, _) | ParamError::Value(why) | ParamError::Toast(why) => {
                f.write_str(why)
            }
        }
    }
}

/// `name` and `value` of a parameter of `on` (`table` or an index access
/// method) in their canonical spelling: the name in lower case, a
/// boolean as `true`/`false`, a number as the shortest spelling of its
/// value, a word in lower case. Refused, with why: a name PostgreSQL does
/// not define for `on`, or a value it would refuse.
pub fn storage_param(on: &str, name: &str, value: &str) -> Result<(String, String), ParamError> {
    let name = name.trim().to_ascii_lowercase();
    let value = value.trim();
    let Some(p) = param(on, &name) else {
        if name.starts_with("toast.") && on == TABLE {
            return Err(ParamError::Toast(format!(
                "`{name}` is a parameter of the table's TOAST table, which bellows does not manage yet"
            )));
        }
        if known(on) {
            let mut names: Vec<&'static str> = PARAMS
                .iter()
                .filter(|p| p.on.contains(&on))
                .map(|p| p.name)
                .collect();
            names.dedup();
            let what = match on {
                TABLE => "a storage parameter of a table or materialized view".to_string(),
                COLUMN => "an option of a column".to_string(),
                _ => format!("a storage parameter of a {on} index"),
            };
            return Err(ParamError::Name(format!("`{name}` is not {what}"), names));
        }
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if plain {
            Ok((name, value.to_string()))
        } else {
            Err(ParamError::Name(
                format!("`{name}` is not a storage parameter name"),
                Vec::new(),
            ))
        };
    };
    let bad = |what: &str| {
        Err(ParamError::Value(format!(
            "`{name}` takes {what}, not `{value}`"
        )))
    };
    let canonical = match p.ty {
        Ty::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => "true".to_string(),
            "false" | "off" | "no" | "0" => "false".to_string(),
            _ => return bad("true or false"),
        },
        Ty::Int(lo, hi) => match value.strip_prefix('+').unwrap_or(value).parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => n.to_string(),
            _ => return bad(&format!("a whole number from {lo} to {hi}")),
        },
        Ty::Real(lo, hi) => match value.parse::<f64>() {
            Ok(x) if x >= lo && x <= hi => x.to_string(),
            _ if hi == f64::MAX => return bad(&format!("a number of at least {lo}")),
            _ => return bad(&format!("a number from {lo} to {hi}")),
        },
        Ty::Words(words, synonyms) => {
            let v = value.to_ascii_lowercase();
            match synonyms.iter().find(|(s, _)| *s == v) {
                Some((_, w)) => w.to_string(),
                None if words.contains(&v.as_str()) => v,
                None => return bad(&format!("one of {}", words.join(", "))),
            }
        }
    };
    Ok((name, canonical))
}

/// A relation's `reloptions` as the server keeps them (`name=value`), in
/// canonical spelling. A value the server kept is kept: one this table
/// of parameters does not know (a later PostgreSQL's) as it reads.
pub fn read_storage(on: &str, reloptions: &[String]) -> StorageParams {
    let params: BTreeMap<String, String> = reloptions
        .iter()
        .map(|o| {
            let (k, v) = o.split_once('=').unwrap_or((o.as_str(), "true"));
            storage_param(on, k, v).unwrap_or_else(|_| (k.to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    StorageParams::new(params)
}

/// ` WITH (name = value, ...)`, or nothing.
pub fn with_clause(params: &StorageParams) -> String {
    if params.is_empty() {
        return String::new();
    }
    let list: Vec<String> = params.iter().map(|(k, v)| assignment(k, v)).collect();
    format!(" WITH ({})", list.join(", "))
}

fn assignment(name: &str, value: &str) -> String {
    format!("{} = {}", quote_ident(name), value_sql(value))
}

/// A number or a lower-case word as it is (`70`, `0.01`, `off`), anything
/// else as a string literal.
fn value_sql(value: &str) -> String {
    let number = value.parse::<f64>().is_ok_and(f64::is_finite)
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.e".contains(c));
    let word = !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if number || word {
        value.to_string()
    } else {
        quote_literal(value)
    }
}

/// `ALTER {kind} {relation} SET (...)` for the parameters `new` adds or
/// changes and `... RESET (...)` for those it leaves out: `kind` is
/// `TABLE` or `INDEX`, `relation` its quoted name.
pub fn alter_storage(
    kind: &str,
    relation: &str,
    old: &StorageParams,
    new: &StorageParams,
) -> Vec<String> {
    let (set, reset) = old.changes(new);
    let mut sql = Vec::new();
    if !set.is_empty() {
        let list: Vec<String> = set.iter().map(|(k, v)| assignment(k, v)).collect();
        sql.push(format!("ALTER {kind} {relation} SET ({})", list.join(", ")));
    }
    if !reset.is_empty() {
        let list: Vec<String> = reset.iter().map(|k| quote_ident(k)).collect();
        sql.push(format!(
            "ALTER {kind} {relation} RESET ({})",
            list.join(", ")
        ));
    }
    sql
}

/// Whether changing `old` to `new` on `on` (`table` or an index access
/// method) takes only SHARE UPDATE EXCLUSIVE (reads and writes go on);
/// else it takes ACCESS EXCLUSIVE, as a parameter bellows does not know
/// may.
pub fn storage_change_is_brief(on: &str, old: &StorageParams, new: &StorageParams) -> bool {
    let (set, reset) = old.changes(new);
    set.iter()
        .map(|(k, _)| *k)
        .chain(reset)
        .all(|k| param(on, k).is_some_and(|p| p.brief))
}

/// The `on` of a table's parameters.
pub const ON_TABLE: &str = TABLE;
/// The `on` of a column's options.
pub const ON_COLUMN: &str = COLUMN;

/// A column's `attoptions` that bellows manages (`n_distinct`,
/// `n_distinct_inherited`), in canonical spelling; what else a server
/// keeps there is left alone.
pub fn read_column_options(attoptions: &[String]) -> StorageParams {
    let known: Vec<String> = attoptions
        .iter()
        .filter(|o| param(COLUMN, o.split_once('=').map_or(o.as_str(), |(k, _)| k)).is_some())
        .cloned()
        .collect();
    read_storage(COLUMN, &known)
}

/// `ALTER TABLE ... ALTER COLUMN ... SET (...)` and `RESET (...)` taking a
/// column's options from `old` to `new`.
pub fn alter_column_options(
    table: &crate::model::QualifiedName,
    column: &crate::model::Ident,
    old: &StorageParams,
    new: &StorageParams,
) -> Vec<String> {
    let relation = format!(
        "{} ALTER COLUMN {}",
        super::qualified(table),
        quote_ident(column.as_str())
    );
    alter_storage("TABLE", &relation, old, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(on: &str, k: &str, v: &str) -> (String, String) {
        storage_param(on, k, v).unwrap()
    }

    #[test]
    fn values_take_one_spelling() {
        assert_eq!(
            ok(TABLE, "FillFactor", "070"),
            ("fillfactor".into(), "70".into())
        );
        assert_eq!(
            ok(TABLE, "autovacuum_enabled", "OFF"),
            ("autovacuum_enabled".into(), "false".into())
        );
        assert_eq!(
            ok(TABLE, "autovacuum_vacuum_scale_factor", "1e-2").1,
            ok(TABLE, "autovacuum_vacuum_scale_factor", "0.010").1
        );
        assert_eq!(ok(TABLE, "vacuum_index_cleanup", "yes").1, "on");
        assert_eq!(ok("gist", "buffering", "AUTO").1, "auto");
        assert_eq!(ok("bloom", "col1", "3"), ("col1".into(), "3".into()));
    }

    #[test]
    fn names_and_values_postgresql_refuses_are_refused() {
        let err = |on, k, v| storage_param(on, k, v).unwrap_err().to_string();
        match storage_param(TABLE, "fillfactr", "70") {
            Err(ParamError::Name(why, known)) => {
                assert_eq!(
                    why,
                    "`fillfactr` is not a storage parameter of a table or materialized view"
                );
                assert!(known.contains(&"fillfactor") && known.contains(&"autovacuum_enabled"));
            }
            other => panic!("{other:?}"),
        }
        assert!(err(TABLE, "toast.autovacuum_enabled", "off").contains("TOAST table"));
        assert!(err("gin", "fillfactor", "70").contains("not a storage parameter of a gin index"));
        assert_eq!(
            err(TABLE, "fillfactor", "5"),
            "`fillfactor` takes a whole number from 10 to 100, not `5`"
        );
        assert!(err(TABLE, "fillfactor", "70.5").contains("whole number"));
        assert!(err(TABLE, "autovacuum_enabled", "maybe").contains("true or false"));
        assert!(err(TABLE, "vacuum_index_cleanup", "sometimes").contains("auto, on, off"));
        assert!(err("bloom", "a b", "1").contains("not a storage parameter name"));
    }

    #[test]
    fn what_the_server_keeps_is_read_back_the_same() {
        let read = read_storage(
            TABLE,
            &[
                "fillfactor=70".into(),
                "autovacuum_enabled".into(),
                "some_new_one=X".into(),
            ],
        );
        let p: Vec<(&str, &str)> = read.iter().collect();
        assert_eq!(
            p,
            [
                ("autovacuum_enabled", "true"),
                ("fillfactor", "70"),
                ("some_new_one", "X")
            ]
        );
    }

    #[test]
    fn sql_sets_resets_and_knows_its_lock() {
        let a = read_storage(
            TABLE,
            &["fillfactor=70".into(), "autovacuum_enabled=false".into()],
        );
        let b = read_storage(
            TABLE,
            &["fillfactor=80".into(), "user_catalog_table=true".into()],
        );
        assert_eq!(
            with_clause(&a),
            " WITH (autovacuum_enabled = false, fillfactor = 70)"
        );
        assert_eq!(
            alter_storage("TABLE", "public.t", &a, &b),
            [
                "ALTER TABLE public.t SET (fillfactor = 80, user_catalog_table = true)",
                "ALTER TABLE public.t RESET (autovacuum_enabled)"
            ]
        );
        assert!(storage_change_is_brief(
            TABLE,
            &a,
            &read_storage(TABLE, &["fillfactor=90".into()])
        ));
        assert!(!storage_change_is_brief(TABLE, &a, &b));
        let odd = read_storage("bloom", &["length=80".into(), "note=Two words".into()]);
        assert_eq!(with_clause(&odd), " WITH (length = 80, note = 'Two words')");
        assert!(!storage_change_is_brief(
            "bloom",
            &StorageParams::default(),
            &odd
        ));
    }
}
