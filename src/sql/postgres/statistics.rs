//! Statistics objects' DDL.

use super::qualified;
use crate::model::*;
use crate::sql::quote_ident;

/// `CREATE STATISTICS` for `s` named `name`, then its target if set.
pub fn create_statistics(name: &QualifiedName, s: &ExtendedStatistics) -> Vec<String> {
    let mut sql = format!("CREATE STATISTICS {}", qualified(name));
    let all = StatisticsKind::ALL.iter().all(|k| s.kinds.contains(k));
    if !s.kinds.is_empty() && !all {
        let kinds: Vec<&str> = s.kinds.iter().map(|k| k.as_str()).collect();
        sql.push_str(&format!(" ({})", kinds.join(", ")));
    }
    let elements: Vec<String> = s
        .columns
        .iter()
        .map(|c| quote_ident(c.as_str()))
        .chain(s.expressions.iter().map(|e| format!("({e})")))
        .collect();
    sql.push_str(&format!(
        " ON {} FROM {}",
        elements.join(", "),
        qualified(&s.table)
    ));
    let mut out = vec![sql];
    if s.target.0.is_some() {
        out.push(statistics_target(name, s.target));
    }
    out
}

/// `ALTER STATISTICS ... SET STATISTICS`: `-1` (before PostgreSQL 17's
/// `DEFAULT`, which it still takes) for an unset target.
pub fn statistics_target(name: &QualifiedName, target: StatisticsTarget) -> String {
    format!(
        "ALTER STATISTICS {} SET STATISTICS {}",
        qualified(name),
        target.0.unwrap_or(-1)
    )
}

pub fn drop_statistics(name: &QualifiedName) -> String {
    format!("DROP STATISTICS IF EXISTS {}", qualified(name))
}
