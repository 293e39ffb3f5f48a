//! Sequences, standalone or owned by a column (`serial`).

use super::ident::Ident;
use super::types::ColumnType;

/// A sequence. Options left `None` take PostgreSQL's defaults for the
/// sequence's data type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sequence {
    /// `smallint`, `integer` or `bigint` (the default).
    pub data_type: ColumnType,
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub cache: Option<i64>,
    pub cycle: bool,
    /// `OWNED BY table.column`: the table is in the sequence's schema.
    pub owned_by: Option<(Ident, Ident)>,
}

impl Sequence {
    /// A sequence with every option at its default.
    pub fn new(data_type: ColumnType) -> Self {
        Sequence {
            data_type,
            start: None,
            increment: None,
            min_value: None,
            max_value: None,
            cache: None,
            cycle: false,
            owned_by: None,
        }
    }

    /// The same sequence with each option that equals PostgreSQL's
    /// default for its type and direction left out, as introspection
    /// reads it (so `start: 1` is no change from no `start`).
    pub fn canonical(&self) -> Sequence {
        let inc = self.increment.unwrap_or(1);
        let (type_min, type_max) = self.data_type.integer_range();
        let (dmin, dmax) = if inc > 0 {
            (1, type_max)
        } else {
            (type_min, -1)
        };
        let min = self.min_value.unwrap_or(dmin);
        let max = self.max_value.unwrap_or(dmax);
        let dstart = if inc > 0 { min } else { max };
        Sequence {
            data_type: self.data_type.clone(),
            start: self.start.filter(|&v| v != dstart),
            increment: Some(inc).filter(|&v| v != 1),
            min_value: Some(min).filter(|&v| v != dmin),
            max_value: Some(max).filter(|&v| v != dmax),
            cache: self.cache.filter(|&v| v != 1),
            cycle: self.cycle,
            owned_by: self.owned_by.clone(),
        }
    }

    /// Whether every option is at its default, as `serial` creates it.
    pub fn has_default_options(&self) -> bool {
        self.start.is_none()
            && self.increment.is_none()
            && self.min_value.is_none()
            && self.max_value.is_none()
            && self.cache.is_none()
            && !self.cycle
    }
}
