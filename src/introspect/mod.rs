//! Reading a live database into the canonical model. One module per
//! dialect; this one holds what they share: options, the result (the model
//! plus the objects bellows does not manage), and errors.

pub mod postgres;
pub mod sqlite;

use std::collections::{BTreeMap, BTreeSet};

use crate::conn::{ConnError, DbError, Target};
pub use crate::model::{ColumnRef, Place, Unmanaged, UnmanagedKind, Via};
use crate::model::{QualifiedName, RoutineKey, Schema};

/// The schema bellows keeps its ledger in: never part of the model.
pub const LEDGER_SCHEMA: &str = "bellows";

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Limit to these schemas; empty means every non-system schema.
    pub schemas: Vec<String>,
    /// Take `empty_tables` from the statistics alone (no page), without
    /// asking the server for each such table's file size: the server
    /// would open every one of them. The caller confirms the tables a
    /// plan asked about with [`confirm_empty_url`].
    pub emptiness_from_statistics: bool,
}

/// What introspection found.
#[derive(Debug, Clone, Default)]
pub struct Introspection {
    pub schema: Schema,
    /// Sorted by kind, then identity.
    pub unmanaged: Vec<Unmanaged>,
    /// How many catalog queries it took (constant, whatever the size).
    pub queries: usize,
    /// How many sessions took part: two when a second one joined the
    /// first's snapshot (it then takes the queries the first has not
    /// taken yet).
    pub sessions: usize,
    /// Managed tables that had no page, so no row, when read.
    pub empty_tables: BTreeSet<QualifiedName>,
    /// `server_version_num` (150004 for 15.4).
    pub server_version: u32,
    /// The database it was read from.
    pub dialect: crate::model::Dialect,
    /// The roles the server has (a plan refuses to grant to another).
    pub server_roles: BTreeSet<crate::model::Ident>,
    /// Those the connecting role is a member of (itself included; all,
    /// for a superuser).
    pub member_of: BTreeSet<crate::model::Ident>,
    /// The connecting role, which owns what a plan makes (and what the
    /// schema's `owners` leaves out).
    pub current_user: Option<crate::model::Ident>,
    /// The storage strategy of each user type a column is of: an
    /// extension's (as `geometry`) is known to a plan only so.
    pub type_storage: BTreeMap<QualifiedName, crate::model::StorageStrategy>,
}

impl Introspection {
    /// What the planner needs to know of the live database besides its
    /// schema.
    pub fn plan_options(&self) -> crate::plan::PlanOptions {
        crate::plan::PlanOptions {
            unmanaged: self.unmanaged.clone(),
            empty_tables: self.empty_tables.clone().into(),
            server_version: Some(self.server_version),
            dialect: self.dialect,
            server_roles: Some(self.server_roles.clone()),
            member_of: Some(self.member_of.clone()),
            current_user: self.current_user.clone(),
            type_storage: self.type_storage.clone(),
        }
    }
}

impl Introspection {
    /// One line per kind: `not managed by bellows: 3 views (public.a, public.b, public.c), ...`.
    /// `None` when everything is managed.
    pub fn unmanaged_summary(&self) -> Option<String> {
        if self.unmanaged.is_empty() {
            return None;
        }
        let mut by_kind: BTreeMap<UnmanagedKind, Vec<&str>> = BTreeMap::new();
        for u in &self.unmanaged {
            by_kind.entry(u.kind).or_default().push(&u.identity);
        }
        let parts: Vec<String> = by_kind
            .iter()
            .map(|(kind, names)| {
                let (one, many) = kind.nouns();
                let noun = if names.len() == 1 { one } else { many };
                let shown: Vec<&str> = names.iter().take(5).copied().collect();
                let more = if names.len() > 5 { ", ..." } else { "" };
                format!("{} {noun} ({}{more})", names.len(), shown.join(", "))
            })
            .collect();
        Some(format!(
            "not managed by bellows (left untouched): {}",
            parts.join("; ")
        ))
    }
}

/// Why introspection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// The connection string is wrong, or no connection could be made.
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// A catalog query failed.
    #[error("reading {what} from the catalog failed: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: DbError,
    },
    /// `--schema` named a schema that does not exist.
    #[error("schema `{0}` does not exist in this database")]
    NoSuchSchema(String),
    /// The catalog holds something the model cannot represent faithfully.
    #[error("{object}: {detail}")]
    Unrepresentable { object: String, detail: String },
    /// The server is older than bellows supports.
    #[error("PostgreSQL {0} is not supported: bellows needs PostgreSQL 12 or later")]
    OldServer(String),
}

/// What a failed catalog query that read `what` becomes.
fn q(what: &'static str) -> impl Fn(sqlx::Error) -> IntrospectError {
    move |source| IntrospectError::Query {
        what,
        source: DbError(source),
    }
}

/// Column `i` of a catalog row read for `what`, whichever the database.
fn get<'r, T, R>(row: &'r R, i: usize, what: &'static str) -> Result<T, IntrospectError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get(i).map_err(q(what))
}

/// Connects to the database a connection string names and reads its
/// schema (see [`Target::parse`] for what the string may be).
pub async fn introspect_url(url: &str, opts: &Options) -> Result<Introspection, IntrospectError> {
    introspect_target(&Target::parse(url)?, opts).await
}

/// Puts the views and routines of `target` in the words of the server at
/// `url` (see [`postgres::canonicalize`]); connects only when one's text
/// differs from the live one's. Returns notes on those the server could
/// not read yet.
pub async fn canonicalize_url(
    url: &str,
    live: &Schema,
    target: &mut Schema,
) -> Result<Vec<String>, IntrospectError> {
    let pending = to_canonicalize(live, target);
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    match Target::parse(url)? {
        Target::Postgres(info) => {
            use sqlx::Connection;
            let mut conn = info.connect().await?;
            let r = postgres::canonicalize(&mut conn, target, &pending).await;
            let _ = conn.close().await;
            r
        }
        // SQLite keeps a view's text as written; its plans refuse views.
        Target::Sqlite(_) => Ok(Vec::new()),
    }
}

/// `schema`'s views and routines in the words of the scratch database at `url`
/// (`--dev-url`, for a plan between two files); see
/// [`postgres::canonicalize_offline`].
pub async fn canonicalize_offline_url(
    url: &str,
    schema: &mut Schema,
) -> Result<Vec<String>, IntrospectError> {
    if schema.views.is_empty() && schema.routines.is_empty() {
        return Ok(Vec::new());
    }
    match Target::parse(url)? {
        Target::Postgres(info) => {
            use sqlx::Connection;
            let mut conn = info.connect().await?;
            let r = postgres::canonicalize_offline(&mut conn, schema).await;
            let _ = conn.close().await;
            r
        }
        Target::Sqlite(_) => Ok(Vec::new()),
    }
}

/// What of a target the server must read to put it in its words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    pub views: Vec<QualifiedName>,
    pub routines: Vec<RoutineKey>,
    /// Partitions whose bound is not written as the live one's: the
    /// server prints a value in its own way (`'2024-01-01'` of a
    /// timestamptz key as `'2024-01-01 00:00:00+00'`).
    pub partitions: Vec<QualifiedName>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.views.is_empty() && self.routines.is_empty() && self.partitions.is_empty()
    }
}

/// The target's views and routines the server must read: views whose
/// text (or column list) is not the live view's, routines that are not
/// as the live one under their key. The others take the live one's facts.
pub fn to_canonicalize(live: &Schema, target: &mut Schema) -> Pending {
    let mut pending = Pending::default();
    for (name, v) in target.views.iter_mut() {
        match live.views.get(name) {
            Some(l) if l.query == v.query && v.columns.is_empty() => v.facts = l.facts.clone(),
            _ => pending.views.push(name.clone()),
        }
    }
    for (key, r) in target.routines.iter_mut() {
        match live.routines.get(key) {
            Some(l) if l == r => r.facts = l.facts.clone(),
            _ => pending.routines.push(key.clone()),
        }
    }
    for (name, t) in &target.tables {
        let (Some(tp), Some(lp)) = (
            &t.partition_of,
            live.tables.get(name).and_then(|l| l.partition_of.as_ref()),
        ) else {
            continue;
        };
        if tp.parent == lp.parent && tp.bound != lp.bound {
            pending.partitions.push(name.clone());
        }
    }
    pending
}

/// Of `tables`, which still have no page and no row (see
/// [`Options::emptiness_from_statistics`]); SQLite's read is exact, so
/// all of them there.
pub async fn confirm_empty_url(
    url: &str,
    tables: &[QualifiedName],
) -> Result<BTreeSet<QualifiedName>, IntrospectError> {
    if tables.is_empty() {
        return Ok(BTreeSet::new());
    }
    match Target::parse(url)? {
        Target::Postgres(info) => {
            use sqlx::Connection;
            let mut conn = info.connect().await?;
            let r = postgres::still_empty(&mut conn, tables).await;
            let _ = conn.close().await;
            r
        }
        Target::Sqlite(_) => Ok(tables.iter().cloned().collect()),
    }
}

/// Connects to `target` and reads its schema.
pub async fn introspect_target(
    target: &Target,
    opts: &Options,
) -> Result<Introspection, IntrospectError> {
    match target {
        Target::Postgres(info) => {
            use sqlx::Connection;
            // A second session shares the catalog queries; it connects
            // beside the first, which does not wait for it. One that
            // cannot connect (soon) only means the first runs them all.
            let wait = std::time::Duration::from_secs(2);
            let second = tokio::spawn({
                let info = info.clone();
                async move { tokio::time::timeout(wait, info.connect()).await }
            });
            let helper = async { second.await.ok()?.ok()?.ok() };
            let mut conn = info.connect().await?;
            let r = postgres::introspect_with(&mut conn, Some(helper), opts).await;
            let _ = conn.close().await;
            r
        }
        Target::Sqlite(info) => {
            use sqlx::Connection;
            let mut conn = info
                .connect(false, std::time::Duration::from_secs(5))
                .await?;
            let r = sqlite::introspect(&mut conn, opts).await;
            let _ = conn.close().await;
            r
        }
    }
}
