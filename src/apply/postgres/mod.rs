//! What `apply` says to PostgreSQL: the ledger's tables and statements,
//! the apply lock's lease, watching a waiting statement's blockers in
//! `pg_locks`, and a step's session settings.

pub(super) mod ledger;
pub(super) mod lock;
pub(super) mod session;
pub(super) mod watch;
