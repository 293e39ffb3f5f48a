//! Building steps: the constructor and the builder methods every
//! dialect's rules use.

use super::LockLevel;
use super::step::*;

pub(super) fn new_step(
    kind: ObjectKind,
    object: impl Into<String>,
    action: Action,
    phase: Phase,
    description: impl Into<String>,
) -> Step {
    Step {
        id: StepId {
            kind,
            object: object.into(),
            action,
        },
        phase,
        description: description.into(),
        statements: Vec::new(),
        transactional: true,
        lock: Lock {
            level: LockLevel::None,
            cost: Cost::Metadata,
        },
        hazards: Vec::new(),
        timeouts: Timeouts {
            lock_timeout_ms: None,
            lock_timeout_cap_ms: None,
            statement_timeout_ms: None,
        },
        backfill: None,
        provides: Vec::new(),
        requires: Vec::new(),
        removes: Vec::new(),
        undo: None,
    }
}

/// A step of an undo: a catalog change in its own short transaction.
pub(super) fn undo_step(
    kind: ObjectKind,
    object: impl Into<String>,
    description: impl Into<String>,
) -> Step {
    new_step(kind, object, Action::Undo, Phase::Expand, description)
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
}

impl Step {
    pub(super) fn sql(mut self, s: impl Into<String>) -> Self {
        self.statements.push(s.into());
        self
    }
    pub(super) fn sql_all(mut self, s: impl IntoIterator<Item = String>) -> Self {
        self.statements.extend(s);
        self
    }
    pub(super) fn lock(mut self, level: LockLevel, cost: Cost) -> Self {
        self.lock = Lock { level, cost };
        self
    }
    pub(super) fn hazard(mut self, kind: HazardKind, message: impl Into<String>) -> Self {
        self.hazards.push(Hazard {
            kind,
            message: message.into(),
        });
        self
    }
    pub(super) fn provides(mut self, r: Resource) -> Self {
        self.provides.push(r);
        self
    }
    pub(super) fn requires(mut self, r: Resource) -> Self {
        self.requires.push(r);
        self
    }
    pub(super) fn requires_all(mut self, rs: impl IntoIterator<Item = Resource>) -> Self {
        self.requires.extend(rs);
        self
    }
    pub(super) fn provides_all(mut self, rs: impl IntoIterator<Item = Resource>) -> Self {
        self.provides.extend(rs);
        self
    }
    pub(super) fn removes(mut self, r: Resource) -> Self {
        self.removes.push(r);
        self
    }
    pub(super) fn removes_all(mut self, rs: impl IntoIterator<Item = Resource>) -> Self {
        self.removes.extend(rs);
        self
    }
    /// Abort takes this step back with these steps.
    pub(super) fn undo_with(mut self, steps: Vec<Step>) -> Self {
        self.undo = Some(Undo::Steps { steps });
        self
    }
    /// Abort has nothing to take back for this step.
    pub(super) fn undo_nothing(mut self) -> Self {
        self.undo = Some(Undo::Nothing);
        self
    }
    /// What this step did stays after abort, for `reason`.
    pub(super) fn undo_stays(mut self, reason: impl Into<String>) -> Self {
        self.undo = Some(Undo::Stays {
            reason: reason.into(),
        });
        self
    }
    /// A drop that is half of a replacement does not remove the name.
    pub(super) fn removes_unless(self, replaced: bool, r: Resource) -> Self {
        if replaced { self } else { self.removes(r) }
    }
    /// `CONCURRENTLY` statements cannot run inside a transaction block.
    pub(super) fn outside_transaction(mut self) -> Self {
        self.transactional = false;
        self
    }
}
