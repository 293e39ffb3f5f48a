//! The database apply works on: how to reach it (for sessions of their
//! own, such as a concurrent index build's) and a small pool.

use sqlx::PgPool;

use super::ApplyError;
use crate::conn::{PgConnInfo, Target};
use crate::introspect::{self, Introspection, Options};

pub(super) struct Db {
    pub info: PgConnInfo,
    pub pool: PgPool,
}

impl Db {
    pub async fn open(url: &str) -> Result<Db, ApplyError> {
        match Target::parse(url)? {
            Target::Postgres(info) => {
                let pool = info.pool(3).await?;
                Ok(Db { info, pool })
            }
        }
    }

    /// The live schema, read over one of the pool's connections.
    pub async fn read_live(&self) -> Result<Introspection, ApplyError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ApplyError::ledger("get a connection"))?;
        Ok(introspect::postgres::introspect(&mut conn, &Options::default()).await?)
    }

    /// A transaction on a connection of the pool's own (returned to the
    /// pool when the transaction ends); `what` names it in an error.
    pub async fn begin(
        &self,
        what: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ApplyError> {
        super::ledger::begin(&self.pool, what).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
