//! A table's `triggers:`: name to when it fires and the function it calls.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::*;
use crate::spec::de::{Checked, Located, OrderedMap};
use crate::spec::read::{Reader, err, ident, sql_expression};
use crate::spec::write::{Y, bool_y, key, sql, text};

/// A trigger (on a view: `instead_of`, for each row).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// `before` or `after`; on a view, `instead_of`.
    pub timing: Located<TimingSpec>,
    /// What fires it: `insert`, `update`, `delete`, `truncate`.
    pub events: Located<Vec<Located<EventSpec>>>,
    /// `UPDATE OF` these columns only (with the `update` event).
    pub update_of: Option<Vec<Located<String>>>,
    /// `row` (the default: once per row) or `statement`.
    pub for_each: Option<ForEachSpec>,
    /// `WHEN`: a condition on `NEW` and `OLD`, as SQL.
    pub when: Option<Located<String>>,
    /// The trigger function (`name` or `schema.name`).
    pub function: Located<String>,
    /// Literal arguments the function gets in `TG_ARGV`.
    #[serde(default)]
    pub arguments: Vec<String>,
    /// `origin` (the default), `disabled`, `replica` or `always`.
    pub enabled: Option<EnabledSpec>,
    pub comment: Option<String>,
    /// `REFERENCING OLD TABLE AS` this name: an `after` trigger on one
    /// `update` or `delete` event reads the changed rows' old versions
    /// from it.
    pub old_table: Option<Located<String>>,
    /// `REFERENCING NEW TABLE AS` this name (one `insert` or `update`
    /// event): the rows' new versions.
    pub new_table: Option<Located<String>>,
    /// `CREATE CONSTRAINT TRIGGER`: an `after` row trigger that can be
    /// `deferrable` (and `initially_deferred`) to the end of the
    /// transaction.
    pub constraint: Option<Located<bool>>,
    pub deferrable: Option<Located<bool>>,
    pub initially_deferred: Option<Located<bool>>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimingSpec {
    Before,
    After,
    InsteadOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventSpec {
    Insert,
    Update,
    Delete,
    Truncate,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForEachSpec {
    Row,
    Statement,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnabledSpec {
    Origin,
    Disabled,
    Replica,
    Always,
}

/// Reads the triggers of `name`, a table (`Some`) or a view (`None`),
/// into the schema.
pub(in crate::spec) fn read(
    r: &mut Reader,
    name: &QualifiedName,
    table: Option<&Table>,
    triggers: OrderedMap<Checked<TriggerSpec>>,
) {
    for (k, v) in triggers.0 {
        let Some(trigger_name) = ident(r.diags, &k, "trigger") else {
            continue;
        };
        let Checked::Valid(spec) = v else { continue };
        let key = TriggerKey {
            table: name.clone(),
            name: trigger_name,
        };
        let what = format!("trigger `{}` on `{name}`", key.name);
        if key.name.as_str().ends_with("_bellows_sync") {
            err(
                r.diags,
                k.span(),
                format!(
                    "{what}: names ending in `_bellows_sync` are kept for the sync triggers bellows makes during a migration"
                ),
            );
            continue;
        }
        if r.schema.triggers.contains_key(&key) {
            err(r.diags, k.span(), format!("{what} is defined twice"));
            continue;
        }
        if let Some(t) = read_one(r, table, &what, spec) {
            // A constraint trigger's name is one of the table's
            // constraint names.
            if t.constraint.is_some()
                && table.is_some_and(|t| t.constraint_names().any(|c| c == &key.name))
            {
                err(
                    r.diags,
                    k.span(),
                    format!(
                        "{what}: a constraint trigger's name is a constraint name, and the table has a constraint of that name"
                    ),
                );
                continue;
            }
            r.schema.triggers.insert(key, t);
        }
    }
}

fn read_one(
    r: &mut Reader,
    table: Option<&Table>,
    what: &str,
    spec: TriggerSpec,
) -> Option<Trigger> {
    let on_view = table.is_none();
    let instead = matches!(spec.timing.value, TimingSpec::InsteadOf);
    if on_view != instead {
        let why = if on_view {
            "a trigger on a view is `timing: instead_of` (for each row)"
        } else {
            "`instead_of` is for triggers on views"
        };
        err(r.diags, spec.timing.span(), format!("{what}: {why}"));
        return None;
    }
    if on_view {
        let statement = matches!(spec.for_each, Some(ForEachSpec::Statement));
        if spec.update_of.is_some() || spec.when.is_some() || statement {
            let at = spec
                .update_of
                .as_ref()
                .and_then(|c| c.first())
                .and_then(|c| c.span())
                .or_else(|| spec.when.as_ref().and_then(|w| w.span()))
                .or_else(|| spec.timing.span());
            err(
                r.diags,
                at,
                format!(
                    "{what}: an `instead_of` trigger fires for each row, without `update_of` or `when`"
                ),
            );
            return None;
        }
    }
    let events: Vec<EventSpec> = spec.events.value.iter().map(|e| e.value).collect();
    if events.is_empty() {
        err(
            r.diags,
            spec.events.span(),
            format!("{what} has no events: list at least one of insert, update, delete, truncate"),
        );
        return None;
    }
    for (i, e) in spec.events.value.iter().enumerate() {
        if events[..i].contains(&e.value) {
            err(r.diags, e.span(), format!("{what} lists an event twice"));
            return None;
        }
    }
    let for_each_row = !matches!(spec.for_each, Some(ForEachSpec::Statement));
    if for_each_row && events.contains(&EventSpec::Truncate) {
        err(
            r.diags,
            spec.events.span(),
            format!(
                "{what}: a `truncate` trigger fires once per statement: add `for_each: statement`"
            ),
        );
        return None;
    }
    let mut update = events.contains(&EventSpec::Update).then(Vec::new);
    if let Some(cols) = &spec.update_of {
        let Some(list) = update.as_mut() else {
            err(
                r.diags,
                cols.first().and_then(|c| c.span()),
                format!("{what}: `update_of` needs the `update` event"),
            );
            return None;
        };
        let table = table?;
        for c in cols {
            let col = ident(r.diags, c, "column")?;
            if table.column(col.as_str()).is_none() {
                err(
                    r.diags,
                    c.span(),
                    format!(
                        "{what}: `update_of` names column `{col}`, which the table does not have ({})",
                        super::column_list(table)
                    ),
                );
                return None;
            }
            list.push(col);
        }
    }
    let when = match &spec.when {
        Some(w) => Some(sql_expression(r.diags, w, &format!("{what}: `when`"))?),
        None => None,
    };
    if let (Some(w), Some(l)) = (&when, &spec.when) {
        if !for_each_row && row_refs(w).next().is_some() {
            err(
                r.diags,
                l.span(),
                format!(
                    "{what}: a statement trigger's `when` cannot see `NEW` or `OLD`; make it `for_each: row`"
                ),
            );
            return None;
        }
        if let Some(c) = table.and_then(|t| table_refs_missing(t, w)) {
            err(
                r.diags,
                l.span(),
                format!("{what}: `when` refers to `{c}`, which the table does not have"),
            );
            return None;
        }
    }
    let partitioned = table.is_some_and(|t| t.partition_of.is_some() || t.partition_by.is_some());
    let (old_table, new_table) = transition_tables(r, what, &spec, &events, partitioned)?;
    let constraint = constraint_trigger(r, what, &spec, for_each_row)?;
    let function = match QualifiedName::parse(&spec.function.value) {
        Ok(q) => q,
        Err(e) => {
            err(
                r.diags,
                spec.function.span(),
                format!("{what}: invalid function name: {e}"),
            );
            return None;
        }
    };
    Some(Trigger {
        timing: match spec.timing.value {
            TimingSpec::Before => Timing::Before,
            TimingSpec::After => Timing::After,
            TimingSpec::InsteadOf => Timing::InsteadOf,
        },
        insert: events.contains(&EventSpec::Insert),
        update,
        delete: events.contains(&EventSpec::Delete),
        truncate: events.contains(&EventSpec::Truncate),
        for_each_row,
        when,
        function,
        arguments: spec.arguments,
        enabled: match spec.enabled {
            None | Some(EnabledSpec::Origin) => Enabled::Origin,
            Some(EnabledSpec::Disabled) => Enabled::Disabled,
            Some(EnabledSpec::Replica) => Enabled::Replica,
            Some(EnabledSpec::Always) => Enabled::Always,
        },
        comment: spec.comment,
        old_table,
        new_table,
        constraint,
    })
}

/// Whether the trigger is a constraint trigger, and how deferrable: an
/// `after` row trigger without transition tables, as PostgreSQL allows;
/// `deferrable` and `initially_deferred` only for one.
fn constraint_trigger(
    r: &mut Reader,
    what: &str,
    spec: &TriggerSpec,
    for_each_row: bool,
) -> Option<Option<Deferrable>> {
    let flag = |f: &Option<Located<bool>>| f.as_ref().is_some_and(|f| f.value);
    let (deferrable, deferred) = (flag(&spec.deferrable), flag(&spec.initially_deferred));
    let Some(at) = spec.constraint.as_ref().filter(|c| c.value) else {
        let set = [&spec.deferrable, &spec.initially_deferred];
        if let Some(f) = set.into_iter().flatten().find(|f| f.value) {
            err(
                r.diags,
                f.span(),
                format!("{what}: only a constraint trigger (`constraint: true`) is deferrable"),
            );
            return None;
        }
        return Some(None);
    };
    let why = if !matches!(spec.timing.value, TimingSpec::After) {
        Some("a constraint trigger is `timing: after`")
    } else if !for_each_row {
        Some("a constraint trigger fires for each row")
    } else if spec.old_table.is_some() || spec.new_table.is_some() {
        Some("a constraint trigger has no transition tables")
    } else if deferred && spec.deferrable.as_ref().is_some_and(|d| !d.value) {
        Some("`initially_deferred` needs `deferrable`")
    } else {
        None
    };
    if let Some(why) = why {
        err(r.diags, at.span(), format!("{what}: {why}"));
        return None;
    }
    Some(Some(if deferred {
        Deferrable::InitiallyDeferred
    } else if deferrable {
        Deferrable::InitiallyImmediate
    } else {
        Deferrable::No
    }))
}

/// The trigger's transition tables, with PostgreSQL's rules for them:
/// an `after` trigger on exactly one of insert, update and delete,
/// without `update_of`; the old rows for update or delete, the new ones
/// for insert or update, under two different names; a row trigger's
/// not on a partitioned table or a partition (`partitioned`).
fn transition_tables(
    r: &mut Reader,
    what: &str,
    spec: &TriggerSpec,
    events: &[EventSpec],
    partitioned: bool,
) -> Option<(Option<Ident>, Option<Ident>)> {
    let (old, new) = (spec.old_table.as_ref(), spec.new_table.as_ref());
    let Some(first) = old.or(new) else {
        return Some((None, None));
    };
    let fail = |r: &mut Reader, at: &Located<String>, why: &str| {
        err(r.diags, at.span(), format!("{what}: {why}"));
        None
    };
    if !matches!(spec.timing.value, TimingSpec::After) {
        return fail(r, first, "only an `after` trigger has transition tables");
    }
    if events.len() != 1 || events.contains(&EventSpec::Truncate) {
        return fail(
            r,
            first,
            "a trigger with transition tables fires on exactly one of insert, update and delete",
        );
    }
    if spec.update_of.is_some() {
        return fail(
            r,
            first,
            "a trigger with transition tables cannot have `update_of`",
        );
    }
    if partitioned && !matches!(spec.for_each, Some(ForEachSpec::Statement)) {
        return fail(
            r,
            first,
            "a row trigger on a partitioned table or a partition has no transition tables: make it `for_each: statement`",
        );
    }
    if let Some(o) = old
        && events[0] == EventSpec::Insert
    {
        return fail(
            r,
            o,
            "`old_table` is for an update or delete trigger: an insert has no old rows",
        );
    }
    if let Some(n) = new
        && events[0] == EventSpec::Delete
    {
        return fail(
            r,
            n,
            "`new_table` is for an insert or update trigger: a delete has no new rows",
        );
    }
    let old_table = match old {
        Some(o) => Some(ident(r.diags, o, "transition table")?),
        None => None,
    };
    let new_table = match new {
        Some(n) => Some(ident(r.diags, n, "transition table")?),
        None => None,
    };
    if let (Some(o), Some(n)) = (&old_table, &new_table)
        && o == n
    {
        return fail(
            r,
            first,
            "`old_table` and `new_table` need two different names",
        );
    }
    Some((old_table, new_table))
}

/// A `NEW.x` or `OLD.x` in `when` whose `x` the table does not have.
fn table_refs_missing(table: &Table, when: &str) -> Option<String> {
    row_refs(when).find(|name| !table.columns.iter().any(|c| c.name.as_str() == name))
}

/// The columns `when` names as `NEW.x` or `OLD.x` (folded unless quoted).
fn row_refs(when: &str) -> impl Iterator<Item = String> + '_ {
    let lower = when.to_ascii_lowercase();
    let mut found = Vec::new();
    for record in ["new.", "old."] {
        for (i, _) in lower.match_indices(record) {
            let before = lower[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
                continue;
            }
            let rest = &when[i + record.len()..];
            let name: String = if let Some(q) = rest.strip_prefix('"') {
                q.split('"').next().unwrap_or_default().to_string()
            } else {
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                    .collect::<String>()
                    .to_lowercase()
            };
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found.into_iter()
}

/// The triggers of `table` (or view) in `schema`, for its entry.
pub(in crate::spec) fn write(schema: &Schema, table: &QualifiedName) -> Option<Y> {
    let entries: Vec<(String, Y)> = schema
        .triggers
        .iter()
        .filter(|(k, _)| &k.table == table)
        .map(|(k, t)| (key(k.name.as_str()), trigger(t)))
        .collect();
    (!entries.is_empty()).then_some(Y::Block(entries))
}

fn trigger(t: &Trigger) -> Y {
    let mut m = vec![("timing".to_string(), Y::S(t.timing.as_str().into()))];
    m.push((
        "events".into(),
        Y::FlowSeq(
            t.event_names()
                .into_iter()
                .map(|e| Y::S(e.into()))
                .collect(),
        ),
    ));
    if let Some(cols) = t.update.as_ref().filter(|c| !c.is_empty()) {
        m.push(("update_of".into(), crate::spec::write::idents(cols)));
    }
    if !t.for_each_row {
        m.push(("for_each".into(), Y::S("statement".into())));
    }
    if let Some(w) = &t.when {
        m.push(("when".into(), sql(w)));
    }
    if let Some(o) = &t.old_table {
        m.push(("old_table".into(), text(o.as_str())));
    }
    if let Some(n) = &t.new_table {
        m.push(("new_table".into(), text(n.as_str())));
    }
    if let Some(d) = t.constraint {
        m.push(("constraint".into(), bool_y(true)));
        match d {
            Deferrable::No => {}
            Deferrable::InitiallyImmediate => m.push(("deferrable".into(), bool_y(true))),
            Deferrable::InitiallyDeferred => m.push(("initially_deferred".into(), bool_y(true))),
        }
    }
    m.push(("function".into(), text(&t.function.to_yaml_key())));
    if !t.arguments.is_empty() {
        m.push((
            "arguments".into(),
            Y::FlowSeq(t.arguments.iter().map(|a| text(a)).collect()),
        ));
    }
    if t.enabled != Enabled::Origin {
        m.push(("enabled".into(), Y::S(t.enabled.as_str().into())));
    }
    if let Some(c) = &t.comment {
        m.push(("comment".into(), text(c)));
    }
    Y::Block(m)
}
