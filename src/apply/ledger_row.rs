//! The ledger's rows as bellows reads them back, whichever database holds
//! them: one decoder per record, so both dialects' ledgers agree on what
//! a row means. A column that does not decode (a ledger written by
//! another bellows version, or edited by hand) is a `CorruptLedger`
//! error naming the column, never a panic.

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::ApplyError;
use super::driver::LatestRow;
use super::state::{Migration, MigrationState, StepState, phase_from};
use super::status::StepStatus;
use crate::plan::Plan;

/// A row of either database's ledger, read column by column.
pub(crate) trait LedgerRow {
    fn text(&self, i: usize) -> Result<String, ApplyError>;
    fn maybe_text(&self, i: usize) -> Result<Option<String>, ApplyError>;
    fn int(&self, i: usize) -> Result<i64, ApplyError>;
    fn maybe_int(&self, i: usize) -> Result<Option<i64>, ApplyError>;
}

fn column<'r, R, T>(row: &'r R, i: usize) -> Result<T, ApplyError>
where
    R: Row,
    usize: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(i).map_err(|e| {
        let name = row.columns().get(i).map(sqlx::Column::name).unwrap_or("?");
        ApplyError::CorruptLedger(format!("column {name}: {e}"))
    })
}

impl<R> LedgerRow for R
where
    R: Row,
    usize: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, i: usize) -> Result<String, ApplyError> {
        column(self, i)
    }

    fn maybe_text(&self, i: usize) -> Result<Option<String>, ApplyError> {
        column(self, i)
    }

    fn int(&self, i: usize) -> Result<i64, ApplyError> {
        column(self, i)
    }

    fn maybe_int(&self, i: usize) -> Result<Option<i64>, ApplyError> {
        column(self, i)
    }
}

/// A migration (or abort) from a row of `id, state, plan, completed_phase,
/// phase_schema, target_schema`, the plan as JSON text.
pub(crate) fn migration(row: &impl LedgerRow) -> Result<Migration, ApplyError> {
    let plan: Plan = serde_json::from_str(&row.text(2)?)
        .map_err(|e| ApplyError::CorruptLedger(e.to_string()))?;
    Ok(Migration {
        id: row.int(0)?,
        state: MigrationState::parse(&row.text(1)?)?,
        plan,
        completed_phase: row.maybe_text(3)?.as_deref().and_then(phase_from),
        phase_schema: row.maybe_text(4)?,
        target_schema: row.text(5)?,
    })
}

/// The latest record from a row of `id, kind, aborts, state,
/// completed_phase`.
pub(crate) fn latest(row: &impl LedgerRow) -> Result<LatestRow, ApplyError> {
    Ok(LatestRow {
        id: row.int(0)?,
        kind: row.text(1)?,
        aborts: row.maybe_int(2)?,
        state: MigrationState::parse(&row.text(3)?)?,
        completed_phase: row.maybe_text(4)?,
    })
}

/// A step's status from a row of `position, phase, description, status,
/// rows_done, error, sqlstate`.
pub(crate) fn step_status(row: &impl LedgerRow) -> Result<StepStatus, ApplyError> {
    let position = row.int(0)?;
    Ok(StepStatus {
        position: i32::try_from(position)
            .map_err(|_| ApplyError::CorruptLedger(format!("step position {position}")))?,
        phase: row.text(1)?,
        description: row.text(2)?,
        status: StepState::parse(&row.text(3)?)?,
        rows_done: row.int(4)?,
        error: row.maybe_text(5)?,
        sqlstate: row.maybe_text(6)?,
    })
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    async fn row(select: &str) -> sqlx::sqlite::SqliteRow {
        let mut c = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(select.to_string()))
            .fetch_one(&mut c)
            .await
            .expect("a row")
    }

    #[tokio::test]
    async fn a_step_row_decodes_or_is_a_corrupt_ledger_naming_the_column() {
        let s =
            step_status(&row("SELECT 3, 'expand', 'create table t', 'done', 12, NULL, NULL").await)
                .expect("a valid row");
        assert_eq!(
            (s.position, s.phase.as_str(), s.status, s.rows_done, s.error),
            (3, "expand", StepState::Done, 12, None)
        );
        for (select, says) in [
            (
                "SELECT 'third' AS position, 'expand', 'd', 'done', 0, NULL, NULL",
                "column position",
            ),
            (
                "SELECT 3, 'expand', 'd', 'exploded', 0, NULL, NULL",
                "unknown step status `exploded`",
            ),
            (
                "SELECT 4294967296, 'expand', 'd', 'done', 0, NULL, NULL",
                "step position 4294967296",
            ),
        ] {
            match step_status(&row(select).await) {
                Err(ApplyError::CorruptLedger(m)) => assert!(m.contains(says), "{m}"),
                other => panic!("{select}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_migration_row_with_a_plan_this_version_cannot_read_is_a_corrupt_ledger() {
        match migration(&row("SELECT 1, 'in_flight', '{\"steps\": 7}', NULL, NULL, ''").await) {
            Err(ApplyError::CorruptLedger(_)) => {}
            other => panic!("{other:?}"),
        }
        let l = latest(&row("SELECT 2, 'abort', 1, 'done', NULL").await).expect("a valid row");
        assert_eq!(
            (l.id, l.kind.as_str(), l.aborts, l.state),
            (2, "abort", Some(1), MigrationState::Done)
        );
    }
}
