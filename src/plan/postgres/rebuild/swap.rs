//! Rows kept in step and copied (a sync trigger, a batched copy), and the
//! swap in contract.

use std::collections::BTreeSet;

use super::super::sync::batch_statement;
use super::super::view_reads::reads;
use super::super::*;
use super::Referencing;
use crate::plan::CopyRows;
use crate::sql::postgres::{
    create_policy, create_statistics, create_trigger, foreign_key_def, row_security,
};

impl Planner<'_> {
    /// The sync trigger on the live table (expand) and the batched copy
    /// (migrate). Returns the statements that drop the trigger, for the
    /// swap, and what the swap waits for.
    pub(super) fn copy_online(
        &mut self,
        name: &QualifiedName,
        beside: &QualifiedName,
        key: &[Ident],
        conflict: &[Ident],
        columns: &[Ident],
        partitions: &[QualifiedName],
    ) -> (Vec<String>, Vec<Resource>) {
        let trigger = self.helper(
            &[
                Space::Trigger(name.clone()),
                Space::Function(name.schema.clone()),
            ],
            &[name.name.as_str()],
            "bellows_copy",
            format!("the trigger that makes each write to {name} in {beside} too"),
        );
        let function = QualifiedName::new(name.schema.clone(), trigger.clone());
        let list = |prefix: &str, cols: &[Ident]| {
            cols.iter()
                .map(|c| format!("{prefix}{}", qi(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // TRUNCATE fires no row trigger: a statement trigger empties the
        // new table too, or the rows would come back at the swap.
        let truncate = self.helper(
            &[Space::Trigger(name.clone())],
            &[name.name.as_str(), "truncate"],
            "bellows_copy",
            format!("the trigger that empties {beside} when {name} is truncated"),
        );
        let truncated = QualifiedName::new(name.schema.clone(), truncate.clone());
        let body = format!(
            "IF TG_OP = 'TRUNCATE' THEN TRUNCATE {b}; RETURN NULL; END IF; \
             IF TG_OP IN ('UPDATE', 'DELETE') THEN DELETE FROM {b} WHERE ({k}) = ({ok}); END IF; \
             IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO {b} ({c}) VALUES ({nc}); END IF; RETURN NULL;",
            b = qt(beside),
            k = list("", key),
            ok = list("OLD.", key),
            c = list("", columns),
            nc = list("NEW.", columns),
        );
        let drops = vec![
            format!("DROP TRIGGER IF EXISTS {} ON {}", qi(&trigger), qt(name)),
            format!("DROP TRIGGER IF EXISTS {} ON {}", qi(&truncate), qt(name)),
            format!("DROP FUNCTION IF EXISTS {}()", qt(&function)),
        ];
        let mut undo = undo_step(
            ObjectKind::SyncTrigger,
            name.to_string(),
            format!("drop the trigger that copies writes to {name} into {beside}"),
        )
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .removes(Resource::Trigger(function.clone()))
        .removes(Resource::Trigger(truncated.clone()));
        for s in &drops {
            undo = undo.sql(s.clone());
        }
        let made: Vec<Resource> = partitions.iter().map(Resource::table).collect();
        self.push(
            new_step(
                ObjectKind::SyncTrigger,
                name.to_string(),
                Action::Create,
                Phase::Expand,
                format!("make every write to {name} in {beside} too, while its rows are copied"),
            )
            .sql(format!(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $bellows$ BEGIN {body} END $bellows$",
                qt(&function)
            ))
            .sql(format!(
                "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}()",
                qi(&trigger),
                qt(name),
                qt(&function)
            ))
            .sql(format!(
                "CREATE TRIGGER {} AFTER TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()",
                qi(&truncate),
                qt(name),
                qt(&function)
            ))
            .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
            .hazard(
                HazardKind::OldAppVisible,
                format!("from now on a write to {name} that {beside} refuses (a row no partition takes, a value a key or check of the target refuses) fails"),
            )
            .requires(Resource::table(beside))
            .requires_all(made.clone())
            .provides(Resource::Trigger(function.clone()))
            .provides(Resource::Trigger(truncated))
            .undo_with(vec![undo]),
        );
        let fill = Backfill {
            table: name.clone(),
            key: key.to_vec(),
            column: key[0].clone(),
            expression: qi(&key[0]),
            only_null: false,
            also: Vec::new(),
            copy: Some(CopyRows {
                into: beside.clone(),
                columns: columns.to_vec(),
                conflict: conflict.to_vec(),
            }),
        };
        let mut step = new_step(
            ObjectKind::Table,
            name.to_string(),
            Action::Backfill,
            Phase::Migrate,
            format!(
                "copy the rows of {name} into {beside}, in batches by ({})",
                list("", key).replace('"', "")
            ),
        )
        .sql(batch_statement(&fill))
        .lock(LockLevel::RowExclusive, Cost::Batched)
        .hazard(
            HazardKind::MayFail,
            format!("fails on a row {beside} refuses (no partition takes it, a key or check refuses it); nothing is lost: change the row or the target, and apply again"),
        )
        .requires(Resource::Trigger(function.clone()))
        .provides(Resource::Copied(beside.clone()))
        .undo_nothing();
        step.backfill = Some(fill);
        self.push(step);
        (
            drops,
            vec![
                Resource::Copied(beside.clone()),
                Resource::Trigger(function),
            ],
        )
    }

    /// The contract step that swaps the new table in (see [`Swap`]), and
    /// the validation of the foreign keys it adds again.
    pub(super) fn swap_in(
        &mut self,
        name: &QualifiedName,
        beside: &QualifiedName,
        old: &Table,
        new: &Table,
        swap: Swap,
    ) {
        let schema = &name.schema;
        let mut sql = Vec::new();
        let mut hazards = Vec::new();
        match &swap.copied {
            Some(drop_trigger) => sql.extend(drop_trigger.iter().cloned()),
            None => {
                let cols = super::table::list(&swap.columns);
                sql.push(format!("LOCK TABLE {} IN SHARE MODE", qt(name)));
                sql.push(format!(
                    "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
                    qt(beside),
                    qt(name)
                ));
                hazards.push((
                    HazardKind::LongLock,
                    format!("{name} has no primary key or unique key over NOT NULL columns to keep a copy in step by: its rows are copied here while writes to it wait (reads go on until the swap); add a key in a plan of its own first to copy them online"),
                ));
            }
        }
        for r in &swap.referencing {
            sql.push(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                qt(&r.table),
                qi(&r.name)
            ));
        }
        // A sequence a live column owns would go with the table.
        for (s, seq) in &self.cur.sequences {
            let Some((t, _)) = &seq.owned_by else {
                continue;
            };
            if s.schema != *schema || *t != name.name {
                continue;
            }
            let keep = self
                .tgt
                .sequences
                .get(s)
                .and_then(|n| n.owned_by.as_ref())
                .filter(|(nt, nc)| *nt == name.name && new.column(nc.as_str()).is_some());
            let owner = match keep {
                Some((_, nc)) => format!("{}.{}", qt(beside), qi(nc)),
                None => "NONE".to_string(),
            };
            sql.push(format!("ALTER SEQUENCE {} OWNED BY {owner}", qt(s)));
        }
        let mut seq_renames = Vec::new();
        for c in &new.columns {
            if let Some(kind) = c.identity {
                let (take_over, rename) =
                    self.take_over_identity((name, &c.name), (beside, &c.name), name, c, kind);
                sql.extend(take_over);
                seq_renames.extend(rename);
            }
        }
        sql.push(format!("DROP TABLE {}", qt(name)));
        sql.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            qt(beside),
            qi(&name.name)
        ));
        sql.extend(seq_renames);
        if let Some(h) = &swap.arbiter {
            sql.push(format!("DROP INDEX {}.{}", qi(schema), qi(h)));
        }
        for (tmp, fin) in &swap.renames {
            sql.push(format!(
                "ALTER INDEX {}.{} RENAME TO {}",
                qi(schema),
                qi(tmp),
                qi(fin)
            ));
        }
        // What fires on the new table, and who sees which rows of it: from
        // the swap on, as the target has it (a table starts without).
        let mut functions = Vec::new();
        for (k, t) in self.tgt.triggers.iter().filter(|(k, _)| k.table == *name) {
            sql.extend(create_trigger(k, t));
            functions.push(Resource::Function(RoutineKey {
                name: t.function.clone(),
                args: Vec::new(),
            }));
        }
        if let Some(rs) = self.tgt.row_security.get(name) {
            sql.extend(row_security(name, RowSecurity::default(), *rs));
        }
        for (k, p) in self.tgt.policies.iter().filter(|(k, _)| k.table == *name) {
            sql.extend(create_policy(k, p));
        }
        // Statistics objects went with the live table (the ANALYZE after
        // the swap fills them).
        let statistics: Vec<&QualifiedName> = self
            .tgt
            .extended_statistics
            .iter()
            .filter(|(_, s)| s.table == *name)
            .map(|(k, s)| {
                sql.extend(create_statistics(k, s));
                k
            })
            .collect();
        for r in &swap.referencing {
            sql.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
                qt(&r.table),
                qi(&r.name),
                foreign_key_def(&r.fk)
            ));
        }
        for c in &old.columns {
            if new.column(c.name.as_str()).is_none() {
                hazards.push((
                    HazardKind::DataLoss,
                    format!("column {} of {name} goes with the old table", c.name),
                ));
            }
        }
        let gone_index = old
            .indexes
            .keys()
            .chain(old.uniques.keys())
            .chain(old.primary_key.iter().map(|p| &p.name))
            .filter(|i| {
                !new.indexes.contains_key(*i)
                    && !new.uniques.contains_key(*i)
                    && new.primary_key.as_ref().is_none_or(|p| p.name != **i)
            });
        for i in gone_index {
            hazards.push((
                HazardKind::IndexDropped,
                format!("index {i} goes with the old table"),
            ));
        }
        let over: BTreeSet<QualifiedName> = self
            .all_views()
            .filter(|(_, v)| reads(v, name, None))
            .map(|(v, _)| v.clone())
            .collect();
        let around = self.views_over(over, &[], Phase::Contract);
        let made = Resource::Made(Box::new(Resource::table(name)));
        let mut step = new_step(
            ObjectKind::Table,
            name.to_string(),
            Action::Swap,
            Phase::Contract,
            format!("swap in the new partitioning of {name}, built beside it as {beside}"),
        )
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires_all(swap.needs)
        .requires_all(functions)
        .removes(Resource::table(beside))
        .provides(made.clone());
        if swap.copied.is_none() {
            step = step.lock(LockLevel::AccessExclusive, Cost::Rewrite);
        }
        if !swap.referencing.is_empty() {
            step = step.gives_way();
        }
        for (tmp, fin) in &swap.renames {
            step = step
                .removes(Resource::index(schema, tmp))
                .provides(Resource::index(schema, fin));
        }
        for n in new.constraint_names() {
            step = step.provides(Resource::constraint(name, n));
        }
        for k in statistics {
            step = step
                .provides(Resource::Statistics(k.clone()))
                .provides(Resource::Made(Box::new(Resource::Statistics(k.clone()))));
        }
        for (kind, message) in hazards {
            step = step.hazard(kind, message);
        }
        self.push(around.wrap(step, sql));
        for r in swap.referencing {
            self.push(
                new_step(
                    ObjectKind::ForeignKey,
                    format!("{}.{}", r.table, r.name),
                    Action::Validate,
                    Phase::Contract,
                    format!(
                        "validate foreign key {} on {} → {name}, added again over the new table",
                        r.name, r.table
                    ),
                )
                .sql(format!(
                    "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                    qt(&r.table),
                    qi(&r.name)
                ))
                .lock(LockLevel::ShareUpdateExclusive, Cost::Scan)
                .unlimited()
                .hazard(
                    HazardKind::ValidationScan,
                    format!("scans {} once; reads and writes go on", r.table),
                )
                .requires(made.clone()),
            );
        }
    }
}

/// What the swap does besides dropping the live table and renaming the new
/// one.
pub(super) struct Swap {
    /// The statements that drop the sync trigger, when rows were copied
    /// online; none: the swap copies them, while writes wait.
    pub(super) copied: Option<Vec<String>>,
    /// The columns copied.
    pub(super) columns: Vec<Ident>,
    /// Keys and indexes of the new table: temporary name, final name.
    pub(super) renames: Vec<(Ident, Ident)>,
    /// The helper unique index the copy used, dropped.
    pub(super) arbiter: Option<Ident>,
    pub(super) referencing: Vec<Referencing>,
    pub(super) needs: Vec<Resource>,
}
