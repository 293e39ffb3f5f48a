//! Extended statistics (`CREATE STATISTICS`): what the planner gathers
//! about several columns (or expressions) of one table together, so that
//! it stops multiplying the selectivities of correlated conditions. An
//! object is keyed by its schema and name (a namespace of its own, apart
//! from relations) and names the table it is on.

use std::collections::BTreeSet;

use super::{Ident, QualifiedName, StatisticsTarget};

/// A kind of statistics an object gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatisticsKind {
    /// The number of distinct values of each combination.
    Ndistinct,
    /// Functional dependencies between the columns.
    Dependencies,
    /// The most common combinations of values.
    Mcv,
}

impl StatisticsKind {
    /// Every kind, which an object gathers unless it names some.
    pub const ALL: [StatisticsKind; 3] = [
        StatisticsKind::Ndistinct,
        StatisticsKind::Dependencies,
        StatisticsKind::Mcv,
    ];

    /// The SQL word, which is also its name in the YAML format.
    pub fn as_str(self) -> &'static str {
        match self {
            StatisticsKind::Ndistinct => "ndistinct",
            StatisticsKind::Dependencies => "dependencies",
            StatisticsKind::Mcv => "mcv",
        }
    }
}

/// A statistics object on a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedStatistics {
    pub table: QualifiedName,
    /// What it gathers: every kind unless it names some; none for an
    /// object on one expression (which gathers that expression's own
    /// statistics, as an index on it would).
    pub kinds: BTreeSet<StatisticsKind>,
    /// Its plain columns. Their order means nothing (PostgreSQL keeps
    /// them in table order).
    pub columns: BTreeSet<Ident>,
    /// Its expressions, in order, as SQL.
    pub expressions: Vec<String>,
    /// `ALTER STATISTICS ... SET STATISTICS`: how many values it keeps;
    /// unset, the largest of its columns' targets.
    pub target: StatisticsTarget,
    /// A hint for a plan: the name it had before (same schema).
    pub renamed_from: Option<QualifiedName>,
}

hint_free!(ExtendedStatistics { table, kinds, columns, expressions, target } hints { renamed_from });

impl ExtendedStatistics {
    /// Whether it is on one expression alone (which takes no kinds).
    pub fn single_expression(&self) -> bool {
        self.columns.is_empty() && self.expressions.len() == 1
    }
}
