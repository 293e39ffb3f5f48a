//! A migration's life, whatever database holds the ledger: its state,
//! its steps' statuses, and the one function that decides whether a
//! phase may run now.

use super::ApplyError;
use crate::plan::{Phase, Plan};

/// Where a migration is in its life. The only ways on: `InFlight` to
/// `Done` (contract finished) or to `Aborting` (abort started), and
/// `Aborting` to `Aborted` (its undo finished).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    InFlight,
    Aborting,
    Aborted,
    Done,
}

impl MigrationState {
    pub fn name(self) -> &'static str {
        match self {
            MigrationState::InFlight => "in_flight",
            MigrationState::Aborting => "aborting",
            MigrationState::Aborted => "aborted",
            MigrationState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Result<MigrationState, ApplyError> {
        [
            MigrationState::InFlight,
            MigrationState::Aborting,
            MigrationState::Aborted,
            MigrationState::Done,
        ]
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| ApplyError::CorruptLedger(format!("unknown migration state `{s}`")))
    }
}

/// A step's status in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed,
    /// An abort left the object in place (see the step's error).
    Skipped,
    /// Stopped by a signal; runs again on resume.
    Interrupted,
}

impl StepState {
    pub fn name(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Result<StepState, ApplyError> {
        [
            StepState::Pending,
            StepState::Running,
            StepState::Done,
            StepState::Failed,
            StepState::Skipped,
            StepState::Interrupted,
        ]
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| ApplyError::CorruptLedger(format!("unknown step status `{s}`")))
    }

    /// Whether the step is finished for good.
    pub fn finished(self) -> bool {
        matches!(self, StepState::Done | StepState::Skipped)
    }
}

/// What apply records of a step as it runs: its new status and, where
/// it stopped short, why.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StepMark<'a> {
    Running,
    Done,
    /// Failed: the error, with its SQLSTATE if the server gave one.
    Failed {
        message: &'a str,
        sqlstate: Option<&'a str>,
    },
    /// Left in place by an abort, and why.
    Skipped {
        why: &'a str,
        sqlstate: Option<&'a str>,
    },
    /// Stopped on request (or by the database's health): where, and why.
    Interrupted {
        why: &'a str,
    },
}

impl StepMark<'_> {
    /// The status the ledger keeps.
    pub fn state(&self) -> StepState {
        match self {
            StepMark::Running => StepState::Running,
            StepMark::Done => StepState::Done,
            StepMark::Failed { .. } => StepState::Failed,
            StepMark::Skipped { .. } => StepState::Skipped,
            StepMark::Interrupted { .. } => StepState::Interrupted,
        }
    }

    /// The error text and SQLSTATE the ledger keeps: none while running
    /// and once done.
    pub fn error(&self) -> (Option<&str>, Option<&str>) {
        match *self {
            StepMark::Running | StepMark::Done => (None, None),
            StepMark::Failed { message, sqlstate } => (Some(message), sqlstate),
            StepMark::Skipped { why, sqlstate } => (Some(why), sqlstate),
            StepMark::Interrupted { why } => (Some(why), None),
        }
    }
}

/// A migration, or an abort of one (`aborts`), as the ledger has it.
#[derive(Debug, Clone)]
pub struct Migration {
    pub id: i64,
    pub state: MigrationState,
    pub plan: Plan,
    pub completed_phase: Option<Phase>,
    pub phase_schema: Option<String>,
    pub target_schema: String,
}

impl Migration {
    /// The one place that decides whether `phase` may run now.
    pub fn may_run(&self, phase: Phase) -> Result<(), String> {
        if self.state == MigrationState::Aborting {
            return Err("it is being aborted; run `bellows abort` again to finish that".into());
        }
        if self.completed_phase >= Some(phase) {
            return Err(format!("{} is already done", phase.name()));
        }
        let before = match phase {
            Phase::Expand => None,
            Phase::Migrate => Some(Phase::Expand),
            Phase::Contract => Some(Phase::Migrate),
        };
        if self.completed_phase != before {
            let next = match self.completed_phase {
                None => "expand",
                Some(Phase::Expand) => "migrate",
                Some(_) => "contract",
            };
            return Err(format!(
                "its next phase is {next}: run `apply --phase {next}`"
            ));
        }
        Ok(())
    }
}

pub fn phase_from(s: &str) -> Option<Phase> {
    Phase::ALL.into_iter().find(|p| p.name() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: MigrationState, completed: Option<Phase>) -> Migration {
        Migration {
            id: 1,
            state,
            plan: Plan {
                version: 1,
                current_fingerprint: String::new(),
                target_fingerprint: String::new(),
                dialect: Default::default(),
                steps: Vec::new(),
            },
            completed_phase: completed,
            phase_schema: None,
            target_schema: String::new(),
        }
    }

    #[test]
    fn phases_run_in_order_once_each() {
        let legal = [
            (None, Phase::Expand),
            (Some(Phase::Expand), Phase::Migrate),
            (Some(Phase::Migrate), Phase::Contract),
        ];
        for completed in [
            None,
            Some(Phase::Expand),
            Some(Phase::Migrate),
            Some(Phase::Contract),
        ] {
            for phase in Phase::ALL {
                let r = at(MigrationState::InFlight, completed).may_run(phase);
                assert_eq!(
                    r.is_ok(),
                    legal.contains(&(completed, phase)),
                    "{phase:?} after {completed:?}: {r:?}"
                );
            }
        }
        let err = at(MigrationState::InFlight, Some(Phase::Expand))
            .may_run(Phase::Contract)
            .unwrap_err();
        assert!(err.contains("apply --phase migrate"), "{err}");
        let err = at(MigrationState::InFlight, Some(Phase::Migrate))
            .may_run(Phase::Expand)
            .unwrap_err();
        assert!(err.contains("expand is already done"), "{err}");
    }

    #[test]
    fn nothing_runs_while_an_abort_is_under_way() {
        for phase in Phase::ALL {
            let err = at(MigrationState::Aborting, None)
                .may_run(phase)
                .unwrap_err();
            assert!(err.contains("being aborted"), "{err}");
        }
    }

    #[test]
    fn states_and_statuses_read_back_what_they_write() {
        for s in [
            MigrationState::InFlight,
            MigrationState::Aborting,
            MigrationState::Aborted,
            MigrationState::Done,
        ] {
            assert_eq!(MigrationState::parse(s.name()).ok(), Some(s));
        }
        assert!(MigrationState::parse("paused").is_err());
        assert!(StepState::parse("done").is_ok_and(StepState::finished));
        assert!(StepState::parse("weird").is_err());
        assert_eq!(phase_from("migrate"), Some(Phase::Migrate));
    }
}
