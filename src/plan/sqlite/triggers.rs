//! The file's triggers, which bellows leaves alone: SQLite keeps each as
//! its CREATE TRIGGER text, which a table rebuild makes again word for
//! word; a change that would break one is refused.

use super::{Planner, mentions};
use crate::model::{Ident, QualifiedName, Unmanaged, UnmanagedKind};
use crate::plan::PlanError;

impl<'a> Planner<'a> {
    /// The file's triggers (which bellows leaves alone) that are on
    /// `table` or name it in their body.
    pub(super) fn triggers_around(&self, table: &QualifiedName) -> Vec<&'a Unmanaged> {
        self.opts
            .unmanaged
            .iter()
            .filter(|u| u.kind == UnmanagedKind::Trigger)
            .filter(|u| {
                matches!(&u.place, crate::model::Place::Table { table: t, .. } if t == table)
                    || u.definition
                        .as_deref()
                        .is_none_or(|d| mentions(d, &table.name))
            })
            .collect()
    }

    /// Refuses `what` when one of the triggers around `table` names one
    /// of `columns` (SQLite would refuse the change, or the trigger could
    /// not be made again as it was).
    pub(super) fn guard_triggers(
        &mut self,
        table: &QualifiedName,
        columns: &[&Ident],
        what: String,
    ) {
        let hits: Vec<String> = self
            .triggers_around(table)
            .into_iter()
            .filter(|u| {
                columns
                    .iter()
                    .any(|c| u.definition.as_deref().is_none_or(|d| mentions(d, c)))
            })
            .map(|u| u.to_string())
            .collect();
        if !hits.is_empty() {
            self.errors.push(PlanError::BreaksUnmanaged {
                change: what,
                dependents: hits.join(", "),
            });
        }
    }
}
