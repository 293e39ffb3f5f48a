//! CREATE, DROP and COMMENT ON an aggregate.

use super::{comment_literal, qualified, type_sql};
use crate::model::{Aggregate, Parallel, RoutineKey};
use crate::sql::quote_literal;

/// `schema.name(type, ...)`, `schema.name(*)` for none: the aggregate as
/// its statements name it.
pub fn aggregate_signature(key: &RoutineKey) -> String {
    if key.args.is_empty() {
        return format!("{}(*)", qualified(&key.name));
    }
    let types: Vec<String> = key.args.iter().map(type_sql).collect();
    format!("{}({})", qualified(&key.name), types.join(", "))
}

/// `CREATE [OR REPLACE] AGGREGATE ...`, then its comment.
pub fn create_aggregate(key: &RoutineKey, a: &Aggregate, or_replace: bool) -> Vec<String> {
    let mut options = vec![
        format!("SFUNC = {}", qualified(&a.sfunc)),
        format!("STYPE = {}", type_sql(&a.stype)),
    ];
    if let Some(f) = &a.finalfunc {
        options.push(format!("FINALFUNC = {}", qualified(f)));
    }
    if let Some(f) = &a.combinefunc {
        options.push(format!("COMBINEFUNC = {}", qualified(f)));
    }
    if let Some(i) = &a.initcond {
        options.push(format!("INITCOND = {}", quote_literal(i)));
    }
    if a.parallel != Parallel::Unsafe {
        options.push(format!("PARALLEL = {}", a.parallel.as_str().to_uppercase()));
    }
    let mut out = vec![format!(
        "CREATE {}AGGREGATE {} ({})",
        if or_replace { "OR REPLACE " } else { "" },
        aggregate_signature(key),
        options.join(", ")
    )];
    if let Some(c) = &a.comment {
        out.push(comment_aggregate(key, Some(c)));
    }
    out
}

pub fn drop_aggregate(key: &RoutineKey) -> String {
    format!("DROP AGGREGATE {}", aggregate_signature(key))
}

pub fn comment_aggregate(key: &RoutineKey, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON AGGREGATE {} IS {}",
        aggregate_signature(key),
        comment_literal(comment)
    )
}
