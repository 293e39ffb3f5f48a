//! Enum types.

/// An enum type: its labels, in sort order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumType {
    pub values: Vec<String>,
}
