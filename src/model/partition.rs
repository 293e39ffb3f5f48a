//! Declarative partitioning: a partitioned table's key, and a partition's
//! parent and bound. A partition's columns are its parent's; its own
//! indexes and constraints are those it has beside the ones it inherits.

use super::ident::QualifiedName;

/// How a partitioned table routes rows to its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartitionStrategy {
    Range,
    List,
    Hash,
}

impl PartitionStrategy {
    pub const ALL: [PartitionStrategy; 3] = [
        PartitionStrategy::Range,
        PartitionStrategy::List,
        PartitionStrategy::Hash,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            PartitionStrategy::Range => "RANGE",
            PartitionStrategy::List => "LIST",
            PartitionStrategy::Hash => "HASH",
        }
    }
}

/// `PARTITION BY strategy (key)`: the table holds no row itself, its
/// partitions do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionKey {
    pub strategy: PartitionStrategy,
    /// The key's elements as PostgreSQL's deparser writes them (columns,
    /// `(expression)`s, with their collations and operator classes),
    /// without the enclosing parentheses: `created_at`, `lower(k), id`.
    pub key: String,
}

impl PartitionKey {
    /// `RANGE (created_at)`, what follows `PARTITION BY`.
    pub fn sql(&self) -> String {
        format!("{} ({})", self.strategy.keyword(), self.key)
    }
}

/// Which rows a partition takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartitionBound {
    /// `DEFAULT`: the rows no other partition takes.
    Default,
    /// What follows `FOR VALUES`, as the deparser writes it:
    /// `FROM ('2024-01-01') TO ('2025-01-01')`, `IN ('eu', 'uk')`,
    /// `WITH (modulus 4, remainder 0)`.
    Values(String),
}

impl PartitionBound {
    /// `DEFAULT` or `FOR VALUES ...`, as `PARTITION OF` and `ATTACH
    /// PARTITION` take it.
    pub fn sql(&self) -> String {
        match self {
            PartitionBound::Default => "DEFAULT".into(),
            PartitionBound::Values(v) => format!("FOR VALUES {v}"),
        }
    }
}

/// `PARTITION OF parent bound`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionOf {
    pub parent: QualifiedName,
    pub bound: PartitionBound,
}
