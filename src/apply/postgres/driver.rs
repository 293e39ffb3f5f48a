//! PostgreSQL's driver: how to reach the database (a small pool, and
//! sessions of their own for CONCURRENTLY statements), its live schema,
//! and how a step runs there.

use sqlx::PgPool;

use super::backfill::backfill;
use super::ledger;
use super::session::error_class;
use super::steps::{concurrent, transactional};
use crate::apply::driver::{Driver, ErrorClass, Ledger, StepRow};
use crate::apply::state::StepState;
use crate::apply::{ApplyError, ApplyOptions, Observer};
use crate::conn::PgConnInfo;
use crate::introspect::{self, Introspection, Options};
use crate::plan::Step;

pub(in crate::apply) struct PgDriver {
    pub info: PgConnInfo,
    pub pool: PgPool,
}

impl PgDriver {
    pub async fn open(info: PgConnInfo) -> Result<PgDriver, ApplyError> {
        let pool = info.pool(3).await?;
        Ok(PgDriver { info, pool })
    }

    /// A transaction on a connection of the pool's own (returned to the
    /// pool when the transaction ends); `what` names it in an error.
    pub async fn begin(
        &self,
        what: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ApplyError> {
        ledger::begin(&self.pool, what).await
    }
}

impl Driver for PgDriver {
    /// Read over one of the pool's connections.
    async fn read_live(&self) -> Result<Introspection, ApplyError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))?;
        Ok(introspect::postgres::introspect(&mut conn, &Options::default()).await?)
    }

    /// A transactional step marks itself done in its own transaction (a
    /// crash can never leave it run but unrecorded); a CONCURRENTLY step
    /// or a backfill, which have no one transaction, after they end.
    async fn run_step(
        &self,
        id: i64,
        pos: usize,
        step: &Step,
        row: &StepRow,
        opts: &ApplyOptions,
        obs: &dyn Observer,
    ) -> Result<(), ApplyError> {
        if let Some(b) = &step.backfill {
            backfill(self, id, pos, step, b, row, opts, obs).await?;
        } else if step.transactional {
            return transactional(self, id, pos, step, opts, obs).await;
        } else {
            concurrent(self, step, opts, obs).await?;
        }
        self.set_status(id, pos, StepState::Done, None).await
    }

    fn error_class(&self, sqlstate: Option<&str>) -> ErrorClass {
        error_class(sqlstate)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
