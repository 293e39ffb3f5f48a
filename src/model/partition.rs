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

    /// The key's elements, split at the commas outside parentheses and
    /// quotes: `a, (b, c)` is `a` and `(b, c)`.
    pub fn elements(&self) -> Vec<&str> {
        split_top_level(&self.key)
    }

    /// The key's columns when every element is a plain column; `None`
    /// when one is an expression.
    pub fn plain_columns(&self) -> Option<Vec<String>> {
        self.elements().into_iter().map(Self::column_of).collect()
    }

    /// The column a partition key element names when it is a plain column
    /// (`at`, `"Mixed Case"`, with a collation or operator class after it),
    /// not an expression.
    pub fn column_of(element: &str) -> Option<String> {
        let e = element.trim();
        if let Some(rest) = e.strip_prefix('"') {
            let mut name = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        name.push('"');
                        continue;
                    }
                    let after: String = chars.collect();
                    return (after.is_empty() || after.starts_with(char::is_whitespace))
                        .then_some(name);
                }
                name.push(c);
            }
            return None;
        }
        let first = e.split_whitespace().next()?;
        let bare = first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
        (bare && !first.starts_with(|c: char| c.is_ascii_digit())).then(|| first.to_string())
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

/// `a, lower(b), (c || d)` split at the commas outside parentheses and
/// quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    let mut quote: Option<char> = None;
    for (i, ch) in text.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_element_names_a_column_only_when_it_is_one() {
        let col = PartitionKey::column_of;
        assert_eq!(col("at").as_deref(), Some("at"));
        assert_eq!(col("code COLLATE \"C\"").as_deref(), Some("code"));
        assert_eq!(
            col("\"Mixed \"\"Case\"\"\"").as_deref(),
            Some("Mixed \"Case\"")
        );
        assert_eq!(col("\"a\" text_pattern_ops").as_deref(), Some("a"));
        assert_eq!(col("(lower(k))"), None);
        assert_eq!(col("lower(k)"), None);
        assert_eq!(
            split_top_level("a, (b, c), 'x,y'"),
            ["a", "(b, c)", "'x,y'"]
        );
        let key = |k: &str| PartitionKey {
            strategy: PartitionStrategy::Range,
            key: k.to_string(),
        };
        assert_eq!(
            key("a, \"B\"").plain_columns(),
            Some(vec!["a".to_string(), "B".to_string()])
        );
        assert_eq!(key("a, (lower(b))").plain_columns(), None);
    }
}
