//! Aggregates (`CREATE AGGREGATE`) of the plain kind: a state type, the
//! function that folds each row into the state, and optionally a final
//! and a combine function and an initial state. Ordered-set, hypothetical
//! and moving aggregates, and those with serial functions or a sort
//! operator, are left unmanaged.

use super::ident::QualifiedName;
use super::routine::{Parallel, RoutineKey};
use super::types::ColumnType;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aggregate {
    /// The state transition function: `sfunc(state, args...)`.
    pub sfunc: QualifiedName,
    /// The state's type.
    pub stype: ColumnType,
    /// `finalfunc(state)`, which makes the result from the state.
    pub finalfunc: Option<QualifiedName>,
    /// `combinefunc(state, state)`, for parallel aggregation.
    pub combinefunc: Option<QualifiedName>,
    /// The initial state, as text (NULL when absent).
    pub initcond: Option<String>,
    pub parallel: Parallel,
    pub comment: Option<String>,
}

impl Aggregate {
    /// The functions it calls, by the signatures PostgreSQL looks them up
    /// with, for aggregate `key`.
    pub fn support_functions(&self, key: &RoutineKey) -> Vec<RoutineKey> {
        let mut sfunc_args = vec![self.stype.clone()];
        sfunc_args.extend(key.args.iter().cloned());
        let mut out = vec![RoutineKey {
            name: self.sfunc.clone(),
            args: sfunc_args,
        }];
        if let Some(f) = &self.finalfunc {
            out.push(RoutineKey {
                name: f.clone(),
                args: vec![self.stype.clone()],
            });
        }
        if let Some(f) = &self.combinefunc {
            out.push(RoutineKey {
                name: f.clone(),
                args: vec![self.stype.clone(), self.stype.clone()],
            });
        }
        out
    }
}
