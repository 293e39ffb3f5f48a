//! Sequences, standalone or owned by a column (`serial`), and the options
//! a sequence and an identity column's sequence share.

use super::ident::Ident;
use super::types::ColumnType;

/// A sequence. Options left `None` take PostgreSQL's defaults for the
/// sequence's data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// `smallint`, `integer` or `bigint` (the default).
    pub data_type: ColumnType,
    pub options: SequenceOptions,
    /// `OWNED BY table.column`: the table is in the sequence's schema.
    pub owned_by: Option<(Ident, Ident)>,
}

/// Every option, as when the options were fields of the sequence itself,
/// so that a schema's fingerprint is what it was.
impl std::hash::Hash for Sequence {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let Sequence {
            data_type,
            options,
            owned_by,
        } = self;
        data_type.hash(state);
        options.hash_every_option(state);
        owned_by.hash(state);
    }
}

impl Sequence {
    /// A sequence with every option at its default.
    pub fn new(data_type: ColumnType) -> Self {
        Sequence {
            data_type,
            options: SequenceOptions::default(),
            owned_by: None,
        }
    }

    /// The same sequence with each option that equals PostgreSQL's
    /// default for its type and direction left out, as introspection
    /// reads it (so `start: 1` is no change from no `start`).
    pub fn canonical(&self) -> Sequence {
        Sequence {
            data_type: self.data_type.clone(),
            options: self.options.canonical(&self.data_type),
            owned_by: self.owned_by.clone(),
        }
    }
}

/// The options of a sequence, standalone or an identity column's; `None`
/// (and no cycle) is PostgreSQL's default for the type and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SequenceOptions {
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub cache: Option<i64>,
    pub cycle: bool,
}

impl SequenceOptions {
    /// Whether every option is at its default, as `serial` and a plain
    /// identity column make them.
    pub fn is_default(&self) -> bool {
        *self == SequenceOptions::default()
    }

    /// The same options with each one that equals PostgreSQL's default
    /// for a sequence of `ty` left out.
    pub fn canonical(&self, ty: &ColumnType) -> SequenceOptions {
        let inc = self.increment.unwrap_or(1);
        let (type_min, type_max) = ty.integer_range();
        let (dmin, dmax) = if inc > 0 {
            (1, type_max)
        } else {
            (type_min, -1)
        };
        let min = self.min_value.unwrap_or(dmin);
        let max = self.max_value.unwrap_or(dmax);
        let dstart = if inc > 0 { min } else { max };
        SequenceOptions {
            start: self.start.filter(|&v| v != dstart),
            increment: Some(inc).filter(|&v| v != 1),
            min_value: Some(min).filter(|&v| v != dmin),
            max_value: Some(max).filter(|&v| v != dmax),
            cache: self.cache.filter(|&v| v != 1),
            cycle: self.cycle,
        }
    }

    fn hash_every_option<H: std::hash::Hasher>(&self, state: &mut H) {
        let SequenceOptions {
            start,
            increment,
            min_value,
            max_value,
            cache,
            cycle,
        } = self;
        std::hash::Hash::hash(
            &(start, increment, min_value, max_value, cache, cycle),
            state,
        );
    }
}

/// Nothing while every option is the default, so that an identity
/// column's hash (and a schema's fingerprint) is what it was before
/// options were kept.
impl std::hash::Hash for SequenceOptions {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if !self.is_default() {
            self.hash_every_option(state);
        }
    }
}
