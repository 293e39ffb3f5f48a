//! `status`: the last migration (or abort) and its steps, and what is
//! happening to it: an apply running now, one that stopped (interrupted,
//! or its process is gone), a failed step, or a migration waiting for its
//! next phase. A step the ledger shows as running while no live apply
//! holds the lock reads as interrupted.

use super::driver::{Driver, Holder};
use super::state::{MigrationState, StepState};
use super::*;

/// What is happening to the last migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// An apply (or abort) is running it now.
    Running,
    /// It stopped partway (a stop request, or its process died): the same
    /// command resumes it.
    Interrupted,
    /// A step failed: fix the cause and run the same command again.
    Failed,
    /// Between phases: the next one is to be run.
    Waiting,
    /// Done, or aborted.
    Finished,
}

/// The last migration or abort, for `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub migration: Option<i64>,
    /// `apply`, or `abort` (of `aborts`).
    pub kind: Option<String>,
    pub aborts: Option<i64>,
    pub state: Option<MigrationState>,
    pub completed_phase: Option<String>,
    pub activity: Option<Activity>,
    /// The next command to run, when there is one.
    pub next: Option<String>,
    /// Who holds the apply lock, if anyone.
    pub holder: Option<Holder>,
    pub steps: Vec<StepStatus>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepStatus {
    pub position: i32,
    pub phase: String,
    pub description: String,
    pub status: StepState,
    pub rows_done: i64,
    pub error: Option<String>,
    pub sqlstate: Option<String>,
}

/// The last migration (or abort) and its steps.
pub async fn status(url: &str) -> Result<Status, ApplyError> {
    on_driver!(url, |db| read_status(db))
}

async fn read_status<D: Driver>(db: &D) -> Result<Status, ApplyError> {
    let mut st = Status {
        migration: None,
        kind: None,
        aborts: None,
        state: None,
        completed_phase: None,
        activity: None,
        next: None,
        holder: None,
        steps: Vec::new(),
    };
    if !db.exists().await? {
        return Ok(st);
    }
    st.holder = db.holder().await?;
    let alive = st.holder.as_ref().is_some_and(Holder::alive);
    let Some((m, steps)) = db.latest().await? else {
        return Ok(st);
    };
    st.steps = steps;
    for s in &mut st.steps {
        // A step left running by an apply that is gone was interrupted.
        if s.status == StepState::Running && !alive {
            s.status = StepState::Interrupted;
        }
    }
    let state = m.state;
    let completed = m.completed_phase;
    let has = |s: StepState| st.steps.iter().any(|x| x.status == s);
    let is_abort = m.kind == "abort";
    let activity = if has(StepState::Running) {
        Activity::Running
    } else if has(StepState::Failed) {
        Activity::Failed
    } else if has(StepState::Interrupted) {
        Activity::Interrupted
    } else if matches!(state, MigrationState::Done | MigrationState::Aborted) {
        Activity::Finished
    } else {
        Activity::Waiting
    };
    st.next = match (activity, is_abort) {
        (Activity::Running | Activity::Finished, _) => None,
        (_, true) => Some("bellows abort".to_string()),
        (Activity::Failed | Activity::Interrupted, false) => {
            let phase = st
                .steps
                .iter()
                .find(|x| matches!(x.status, StepState::Failed | StepState::Interrupted))
                .map(|x| x.phase.clone())
                .unwrap_or_else(|| "expand".into());
            Some(format!("bellows apply --phase {phase}"))
        }
        (Activity::Waiting, false) => {
            let next = match completed.as_deref() {
                None => "expand",
                Some("expand") => "migrate",
                _ => "contract",
            };
            Some(format!("bellows apply --phase {next}"))
        }
    };
    st.migration = Some(m.id);
    st.kind = Some(m.kind);
    st.aborts = m.aborts;
    st.state = Some(state);
    st.completed_phase = completed;
    st.activity = Some(activity);
    Ok(st)
}
