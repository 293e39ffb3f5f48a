//! PostgreSQL's driver: how to reach the database (a small pool, and
//! sessions of their own for CONCURRENTLY statements), its live schema,
//! and how a step runs there.

use sqlx::PgPool;

use super::backfill::backfill;
use super::ledger;
use super::session::error_class;
use super::steps::{concurrent, transactional};
use crate::apply::ApplyError;
use crate::apply::driver::{Driver, ErrorClass, Ledger, StepRun};
use crate::apply::state::StepMark;
use crate::conn::PgConnInfo;
use crate::introspect::{self, Introspection, Options};
use crate::model::Schema;

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
    /// Read over one of the pool's connections, with a second to share
    /// the catalog queries when the pool gives one within a moment.
    async fn read_live(&self) -> Result<Introspection, ApplyError> {
        // The first is taken before the second asks, so that the second
        // can never hold the pool's last connection while the first waits.
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))?;
        // The second is taken out of the pool (which opens another when it
        // needs one): it is dropped if it cannot join, whatever state it
        // was left in, and never goes back to the pool in a transaction.
        let wait = std::time::Duration::from_millis(500);
        let second = tokio::spawn({
            let pool = self.pool.clone();
            async move { tokio::time::timeout(wait, pool.acquire()).await }
        });
        let helper = async { Some(second.await.ok()?.ok()?.ok()?.detach()) };
        Ok(
            introspect::postgres::introspect_with(&mut conn, Some(helper), &Options::default())
                .await?,
        )
    }

    async fn canonicalize(
        &self,
        target: &mut Schema,
        pending: &introspect::Pending,
    ) -> Result<Vec<String>, ApplyError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))?;
        Ok(introspect::postgres::canonicalize(&mut conn, target, pending).await?)
    }

    /// A transactional step marks itself done in its own transaction (a
    /// crash can never leave it run but unrecorded); a CONCURRENTLY step
    /// or a backfill, which have no one transaction, after they end.
    async fn run_step(&self, s: &StepRun<'_>) -> Result<(), ApplyError> {
        if let Some(b) = &s.step.backfill {
            backfill(self, s, b).await?;
        } else if s.step.transactional {
            return transactional(self, s).await;
        } else {
            concurrent(self, s).await?;
        }
        self.set_status(s.id, s.pos, StepMark::Done).await
    }

    fn error_class(&self, sqlstate: Option<&str>) -> ErrorClass {
        error_class(sqlstate)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
