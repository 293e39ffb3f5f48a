//! Triggers on tables (and `INSTEAD OF` triggers on views): when they fire (timing, events, `UPDATE OF`
//! columns, row or statement, `WHEN`), the function they call with its
//! arguments, and whether they are enabled. A trigger is keyed by its
//! table and name; its function is a managed function (or one bellows
//! does not manage, named as it is).

use std::fmt;

use super::{Deferrable, Ident, QualifiedName};

/// A trigger's table and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TriggerKey {
    pub table: QualifiedName,
    pub name: Ident,
}

/// `name on schema.table`.
impl fmt::Display for TriggerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.name, self.table)
    }
}

/// `BEFORE`, `AFTER` or `INSTEAD OF` (on a view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timing {
    Before,
    After,
    InsteadOf,
}

impl Timing {
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Before => "before",
            Timing::After => "after",
            Timing::InsteadOf => "instead_of",
        }
    }

    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            Timing::Before => "BEFORE",
            Timing::After => "AFTER",
            Timing::InsteadOf => "INSTEAD OF",
        }
    }
}

/// `ENABLE` / `DISABLE TRIGGER`, and the session replication roles it
/// fires under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Enabled {
    /// Fires in the default `origin` (and `local`) replication role.
    #[default]
    Origin,
    Disabled,
    /// Fires only when `session_replication_role = replica`.
    Replica,
    /// Fires whatever the replication role.
    Always,
}

impl Enabled {
    pub fn as_str(self) -> &'static str {
        match self {
            Enabled::Origin => "origin",
            Enabled::Disabled => "disabled",
            Enabled::Replica => "replica",
            Enabled::Always => "always",
        }
    }
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub timing: Timing,
    pub insert: bool,
    /// `UPDATE`, with its `OF` columns (empty: any column).
    pub update: Option<Vec<Ident>>,
    pub delete: bool,
    pub truncate: bool,
    /// `FOR EACH ROW` (else `FOR EACH STATEMENT`).
    pub for_each_row: bool,
    /// The `WHEN` condition, as SQL text.
    pub when: Option<String>,
    /// The function it calls (a trigger function takes no declared
    /// arguments).
    pub function: QualifiedName,
    /// The literal arguments passed to it (`TG_ARGV`).
    pub arguments: Vec<String>,
    pub enabled: Enabled,
    pub comment: Option<String>,
    /// `REFERENCING OLD TABLE AS name`: the relation a statement-level
    /// `AFTER` trigger's function reads the changed rows' old versions
    /// from.
    pub old_table: Option<Ident>,
    /// `REFERENCING NEW TABLE AS name`: the rows' new versions.
    pub new_table: Option<Ident>,
    /// `CREATE CONSTRAINT TRIGGER` (an `AFTER` row trigger), deferrable
    /// as it says; `None` for a plain trigger.
    pub constraint: Option<Deferrable>,
}

/// A trigger without transition tables hashes as it did before they
/// were modeled, so that fingerprints of migrations in flight stay the
/// same.
impl std::hash::Hash for Trigger {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let Trigger {
            timing,
            insert,
            update,
            delete,
            truncate,
            for_each_row,
            when,
            function,
            arguments,
            enabled,
            comment,
            old_table,
            new_table,
            constraint,
        } = self;
        timing.hash(state);
        insert.hash(state);
        update.hash(state);
        delete.hash(state);
        truncate.hash(state);
        for_each_row.hash(state);
        when.hash(state);
        function.hash(state);
        arguments.hash(state);
        enabled.hash(state);
        comment.hash(state);
        if old_table.is_some() || new_table.is_some() {
            ("referencing", old_table, new_table).hash(state);
        }
        if constraint.is_some() {
            ("constraint", constraint).hash(state);
        }
    }
}

impl Trigger {
    /// The events, in SQL's order: `INSERT`, `UPDATE [OF ...]`, `DELETE`,
    /// `TRUNCATE`.
    pub fn event_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.insert {
            out.push("insert");
        }
        if self.update.is_some() {
            out.push("update");
        }
        if self.delete {
            out.push("delete");
        }
        if self.truncate {
            out.push("truncate");
        }
        out
    }

    /// Whether the trigger's definition names column `c` (in `UPDATE OF`,
    /// or as `NEW.c` / `OLD.c` in `WHEN`): the server then refuses to drop
    /// or retype the column while the trigger is there.
    pub fn names_column(&self, c: &Ident) -> bool {
        self.update.as_ref().is_some_and(|cols| cols.contains(c))
            || self
                .when
                .as_deref()
                .is_some_and(|w| crate::sql::row_reference(w, c.as_str()))
    }
}
