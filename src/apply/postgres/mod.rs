//! What `apply` says to PostgreSQL: the driver (`driver.rs`), the
//! ledger's tables and statements, the apply lock's lease, a step's
//! session settings, running steps and backfills, and watching a waiting
//! statement's blockers in `pg_locks`.

mod backfill;
mod driver;
mod health;
mod ledger;
mod lock;
mod session;
mod steps;
mod watch;

pub(super) use driver::PgDriver;
