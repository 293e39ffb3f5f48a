//! PostgreSQL planning rules, one file per object kind. Each rule cites
//! the locking fact it relies on. Shared here: the planner state, step
//! construction, and helpers for SQL text.

mod aggregate;
mod analyze;
mod casts;
mod collation;
mod column;
mod column_add;
mod column_storage;
mod comment;
mod composite_type;

pub use column::binary_coercible;
pub use lock_level::LockLevel;
mod constraint;
mod default_privilege;
mod domain;
mod enum_rebuild;
mod enum_type;
mod exclusion;
mod expr;
mod extended_statistics;
mod extension;
mod fk_binding;
mod foreign_key;
mod generated;
mod index;
mod inherit;
mod key_move;
mod keys;
mod kind;
mod lock_level;
mod matview;
mod names;
mod namespace;
mod one_pass;
mod owner;
mod paging;
mod partition;
mod partition_change;
mod policy;
mod privilege;
mod range_type;
mod rebuild;
mod replica;
mod routine;
mod sequence;
mod shadow;
mod statistics;
mod storage;
mod sync;
mod table;
mod trigger;
mod view;
mod view_around;
mod view_reads;

use std::collections::{BTreeMap, BTreeSet};

use super::PlanError;
pub(super) use super::build::{new_step, undo_step};
use super::step::*;
use crate::model::*;
use crate::model::{Unmanaged, Via};
use crate::sql::quote_ident;
use names::Space;

/// What a change does to a table, for the objects that depend on it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Affects<'a> {
    /// Dropped or renamed: everything that depends on it breaks, but for
    /// what follows the table itself (a rename keeps it, a drop takes it
    /// along).
    Table,
    /// Built beside and swapped in: everything that depends on the live
    /// table breaks, or stays behind with it.
    Rebuild,
    /// Dropped: everything that refers to the column breaks, but for what
    /// follows the column itself (dropped with it).
    DropColumn(&'a Ident),
    /// Retyped in place: objects the catalog ties to the column refuse it
    /// (views, rules, policies, triggers' `UPDATE OF` and `WHEN`,
    /// publications' column lists and row filters); a trigger function
    /// that refers to it by name goes on working.
    RetypeColumn(&'a Ident),
    /// Swapped for its shadow in contract (the old column dropped), when
    /// it is retyped or, `renamed`, given a new name: what the catalog
    /// ties to the column refuses it, what follows the column stays
    /// behind with the old one, and when renamed what refers to it by
    /// name breaks.
    SwapColumn { column: &'a Ident, renamed: bool },
}

impl Affects<'_> {
    /// Whether the change to `table` breaks what depends on `d`.
    pub(super) fn breaks(&self, table: &QualifiedName, d: &ColumnRef) -> bool {
        &d.table == table
            && match self {
                Affects::Table => d.via != Via::Identity,
                Affects::Rebuild => true,
                Affects::DropColumn(c) => d.column.as_ref() == Some(*c) && d.via != Via::Identity,
                Affects::RetypeColumn(c) => d.column.as_ref() == Some(*c) && d.via == Via::Catalog,
                Affects::SwapColumn { column, renamed } => {
                    d.column.as_ref() == Some(*column) && (*renamed || d.via != Via::Body)
                }
            }
    }
}

/// Lock waits for ordinary steps use apply's `--lock-timeout`; concurrent
/// index builds wait for every older transaction, so a short lock timeout
/// would fail them and leave an INVALID index: they get their own.
const INDEX_BUILD_LOCK_TIMEOUT_MS: u64 = 60_000;

/// The longest a step that locks two tables waits for a lock: half of
/// PostgreSQL's default `deadlock_timeout` (see `Timeouts`).
const GIVE_WAY_LOCK_TIMEOUT_MS: u64 = 500;

pub(super) fn steps(
    current: &Schema,
    target: &Schema,
    opts: &super::PlanOptions,
) -> Result<Vec<Step>, Vec<PlanError>> {
    let unmanaged = &opts.unmanaged;
    let mut p = Planner {
        cur: current,
        tgt: target,
        unmanaged,
        empty_tables: &opts.empty_tables,
        server_version: opts.server_version,
        server_roles: opts.server_roles.as_ref(),
        member_of: opts.member_of.as_ref(),
        current_user: opts.current_user.as_ref(),
        type_storage: &opts.type_storage,
        names: None,
        steps: Vec::new(),
        errors: Vec::new(),
        filled: BTreeSet::new(),
        swapped: BTreeMap::new(),
        moved: BTreeMap::new(),
        shadow_names: BTreeMap::new(),
        adopted: BTreeSet::new(),
        key_indexes: BTreeMap::new(),
        altered_tables: Vec::new(),
        view_changes: Vec::new(),
        views_done: BTreeSet::new(),
        triggers_done: BTreeSet::new(),
        policies_done: BTreeSet::new(),
    };
    for (name, t) in &target.tables {
        if t.strict || t.without_rowid {
            p.error(PlanError::Unsupported {
                object: format!("table {name}"),
                what: "`strict` / `without_rowid`, which are SQLite's".into(),
                hint: "PostgreSQL checks every column's type and keeps no rowid: leave them out"
                    .into(),
            });
        }
    }
    for kind in kind::KINDS {
        kind(&mut p);
    }
    p.bind_foreign_keys();
    p.order_routine_drops();
    p.one_pass_per_table();
    p.analyze_changed_columns();
    if p.errors.is_empty() {
        Ok(p.steps)
    } else {
        Err(p.errors)
    }
}

pub(super) struct Planner<'a> {
    pub cur: &'a Schema,
    pub tgt: &'a Schema,
    pub unmanaged: &'a [Unmanaged],
    /// Live tables with no rows.
    pub empty_tables: &'a crate::plan::EmptyTables,
    /// The live server's version, when known.
    pub server_version: Option<u32>,
    /// The live server's roles, when known.
    pub server_roles: Option<&'a BTreeSet<Ident>>,
    /// The roles the planning role is a member of, when known.
    pub member_of: Option<&'a BTreeSet<Ident>>,
    /// The planning role, which owns what the plan makes, when known.
    pub current_user: Option<&'a Ident>,
    /// The storage strategy of the extensions' types, when known.
    pub type_storage: &'a BTreeMap<QualifiedName, StorageStrategy>,
    /// Names in use, for the helpers this plan creates and the objects
    /// it adds; gathered at the first use (a plan with nothing to add
    /// needs none).
    names: Option<names::Names>,
    pub steps: Vec<Step>,
    pub errors: Vec<PlanError>,
    /// Columns that migrate fills: indexes on them are built after the
    /// backfill.
    pub filled: BTreeSet<(QualifiedName, Ident)>,
    /// Columns replaced by a retyped shadow in contract, with the shadow:
    /// constraints that mention them are dropped with the old column and
    /// must be re-added, and new indexes are built on the shadow.
    pub swapped: BTreeMap<(QualifiedName, Ident), Ident>,
    /// Every column a shadow replaces in contract (retyped or renamed),
    /// by target table and target column: keys over it are built again
    /// over the shadow (`key_move`).
    moved: BTreeMap<(QualifiedName, Ident), key_move::Moved>,
    /// The retyped columns' shadows, by target table and column, named
    /// at the first ask.
    shadow_names: BTreeMap<(QualifiedName, Ident), Ident>,
    /// Existing unique indexes a new key takes over (by schema and name):
    /// they are not dropped as indexes that went away.
    pub adopted: BTreeSet<QualifiedName>,
    /// Unique indexes over plain columns that this plan builds, by table
    /// and column set.
    pub key_indexes: BTreeMap<(QualifiedName, BTreeSet<Ident>), Vec<Resource>>,
    /// Tables that stay (under their name in the target), whose columns,
    /// keys and indexes are planned once every table is known.
    altered_tables: Vec<(&'a QualifiedName, &'a Table, &'a Table)>,
    /// The views' changes, planned together once all are known.
    view_changes: Vec<view::ViewChange<'a>>,
    /// Views a step already drops, or makes in their target shape: the
    /// view rule plans nothing more for them.
    views_done: BTreeSet<QualifiedName>,
    /// Triggers a step already drops, or makes in their target shape
    /// (around a change to a column they name): the trigger rule plans
    /// nothing more for them.
    triggers_done: BTreeSet<TriggerKey>,
    /// Policies a column change already drops and makes again as the
    /// target has them (or drops for good): the policy rule skips them.
    policies_done: BTreeSet<PolicyKey>,
}

impl Planner<'_> {
    fn names(&mut self) -> &mut names::Names {
        let (cur, tgt, unmanaged) = (self.cur, self.tgt, self.unmanaged);
        self.names
            .get_or_insert_with(|| names::Names::of(cur, tgt, unmanaged))
    }

    pub fn push(&mut self, mut s: Step) {
        // Abort is refused once contract has started: its steps need none.
        if s.phase == Phase::Contract {
            s.undo = None;
        }
        self.steps.push(s);
    }

    pub fn error(&mut self, e: PlanError) {
        self.errors.push(e);
    }

    /// Refuses `what`, a change to `kind` `name` that PostgreSQL cannot
    /// make in place, with the way round it: a new one beside it.
    pub(super) fn cannot_alter(&mut self, kind: &str, name: &QualifiedName, what: &str) {
        self.error(PlanError::Unsupported {
            object: format!("{kind} {name}"),
            what: what.into(),
            hint: format!(
                "PostgreSQL cannot alter it in place: declare a new {kind} under another name, move the columns to it, and drop the old one in a later migration"
            ),
        });
    }

    /// A helper object's name (see `names`); a clash is recorded as a
    /// planning error, and planning goes on with the hashed name so that
    /// every other problem is reported too.
    pub(super) fn helper(
        &mut self,
        spaces: &[names::Space],
        parts: &[&str],
        label: &str,
        purpose: String,
    ) -> Ident {
        match self.names().helper(spaces, parts, label, &purpose) {
            Ok(name) => name,
            Err(e) => {
                self.error(e);
                Ident::new(naming::hashed_name(parts, label)).unwrap_or_else(|_| {
                    // hashed_name is never empty and never longer than 63 bytes.
                    Ident::new(label).expect("labels are valid identifiers")
                })
            }
        }
    }

    /// A new table, index, key, sequence or type takes a name in its
    /// schema. The current holder of that name, if any, keeps it until
    /// contract drops it (tables, indexes and types share one namespace),
    /// so creating it earlier would fail halfway: refused.
    pub fn claim(&mut self, schema: &Ident, name: &Ident, what: impl FnOnce() -> String) {
        if let Some(holder) = self.names().held(schema, name) {
            let holder = holder.to_string();
            self.error(PlanError::NameHeld {
                name: QualifiedName::new(schema.clone(), name.clone()).to_string(),
                what: what(),
                holder,
            });
        }
    }

    /// Refuses a change that would break an object bellows does not
    /// manage (a view, trigger, policy, rule, function), naming it and how
    /// it depends on what changes. Dependencies are per column: a trigger
    /// on a table does not stop a change to a column it never refers to.
    pub fn guard_unmanaged(&mut self, table: &QualifiedName, change: Affects<'_>, what: String) {
        self.guard_routines(table, change, &what);
        let hits: Vec<String> = self
            .unmanaged
            .iter()
            .filter_map(|u| {
                let d = u.depends_on.iter().find(|d| change.breaks(table, d))?;
                let how = match (&d.column, d.via) {
                    (None, Via::Identity) => {
                        "is the live relation's, and would not follow it to its new copy"
                            .to_string()
                    }
                    (None, _) => "depends on the table".to_string(),
                    (Some(c), Via::Catalog) => format!("depends on column {c}"),
                    (Some(c), Via::Body) => format!("its function refers to column {c}"),
                    (Some(c), Via::Identity) => {
                        format!("is on column {c}, and would not follow it to its new copy")
                    }
                };
                Some(format!("{u} ({how})"))
            })
            .collect();
        if !hits.is_empty() {
            self.error(PlanError::BreaksUnmanaged {
                change: what,
                dependents: hits.join(", "),
            });
        }
    }
}

/// An object of a schema that is made and dropped whole (an enum, a
/// collation, a domain, a range type): how plans word it, its DROP
/// keyword, and the resources it makes.
pub(super) struct SchemaObject<'n> {
    pub kind: ObjectKind,
    /// `create {noun} {name}`, `drop {noun} {name}`.
    pub noun: &'static str,
    /// `DROP {keyword} name`.
    pub keyword: &'static str,
    pub name: &'n QualifiedName,
    pub made: Vec<Resource>,
}

impl SchemaObject<'_> {
    /// Made by `sql` in expand, after its schema; abort drops it again.
    pub(super) fn create(&self, sql: String) -> Step {
        let (kind, name, noun) = (self.kind, self.name, self.noun);
        new_step(
            kind,
            name.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create {noun} {name}"),
        )
        .sql(sql)
        .requires(Resource::Schema(name.schema.clone()))
        .provides_all(self.made.clone())
        .undo_with(vec![
            undo_step(kind, name.to_string(), format!("drop {noun} {name}"))
                .sql(format!("DROP {} IF EXISTS {}", self.keyword, qt(name)))
                .removes_all(self.made.clone()),
        ])
    }

    /// Dropped in contract, after what used it; `lost` says what code
    /// that names it meets from then on.
    pub(super) fn drop(&self, lost: String) -> Step {
        let (name, noun) = (self.name, self.noun);
        new_step(
            self.kind,
            name.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop {noun} {name}"),
        )
        .sql(format!("DROP {} {}", self.keyword, qt(name)))
        .hazard(HazardKind::UntrackedDependencies, lost)
        .removes_all(self.made.clone())
        .requires(Resource::Schema(name.schema.clone()))
    }
}

impl Step {
    /// Long scans (index builds, validation) must not hit statement_timeout.
    pub(super) fn unlimited(mut self) -> Self {
        self.timeouts.statement_timeout_ms = Some(0);
        self
    }
    /// A step that locks two tables in turn waits for each lock less than
    /// PostgreSQL's default `deadlock_timeout`: in a lock cycle with a
    /// client it is the one that gives way, and is retried.
    pub(super) fn gives_way(mut self) -> Self {
        self.timeouts.lock_timeout_cap_ms = Some(GIVE_WAY_LOCK_TIMEOUT_MS);
        self
    }
    pub(super) fn index_build_timeouts(mut self) -> Self {
        self.timeouts.lock_timeout_ms = Some(INDEX_BUILD_LOCK_TIMEOUT_MS);
        self.timeouts.statement_timeout_ms = Some(0);
        self
    }
}

/// `schema.name`, quoted.
pub(super) fn qt(q: &QualifiedName) -> String {
    crate::sql::postgres::qualified(q)
}

/// An identifier, quoted.
pub(super) fn qi(i: &Ident) -> String {
    quote_ident(i.as_str())
}

pub(super) use crate::sql::postgres::comment_literal;

/// Expand: `COMMENT ON <what> name` (`what` is `table`, `view`, ...)
/// from `old` to `new`, after `requires`; abort puts `old` back.
pub(super) fn comment_step(
    what: &str,
    name: &QualifiedName,
    old: Option<&str>,
    new: Option<&str>,
    requires: Resource,
) -> Step {
    let sql = |c: Option<&str>| {
        format!(
            "COMMENT ON {} {} IS {}",
            what.to_uppercase(),
            qt(name),
            comment_literal(c)
        )
    };
    new_step(
        ObjectKind::Comment,
        name.to_string(),
        Action::Alter,
        Phase::Expand,
        format!("comment on {what} {name}"),
    )
    .sql(sql(new))
    .requires(requires)
    .undo_with(vec![
        undo_step(
            ObjectKind::Comment,
            name.to_string(),
            format!("restore the comment on {what} {name}"),
        )
        .sql(sql(old)),
    ])
}

/// `schema.table.column` for messages and step ids.
pub(super) fn col_name(t: &QualifiedName, c: &Ident) -> String {
    format!("{t}.{}", c.as_str())
}
