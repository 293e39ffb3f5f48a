//! Triggers. A new one is made in expand, after its table, the columns
//! it names and its function; one the target no longer has is dropped in
//! contract, before the columns it names go. A changed one is dropped
//! and made again in one expand transaction (abort puts the old one
//! back), the transaction that replaces its function when the plan
//! replaces that in place too; a change of its enabled state or comment
//! alone is one `ALTER`.
//! Making one, enabling or disabling it takes a SHARE ROW EXCLUSIVE
//! lock on the table, dropping one ACCESS EXCLUSIVE, each for a catalog
//! change. A trigger that names a column a step drops or retypes (`UPDATE
//! OF`, `WHEN`), which PostgreSQL refuses under it, is dropped and made
//! again around that step, in its transaction: see
//! [`Planner::triggers_around`].

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::diff::postgres::same_opt_sql;
use crate::sql::postgres::{
    create_policy, create_trigger, drop_policy, drop_trigger, trigger_comment, trigger_enabled,
};

pub(super) struct Triggers;

impl Kind for Triggers {
    objects!(in schema.triggers: BTreeMap<TriggerKey, Trigger>);

    fn same(_: &Planner<'_>, _: (), a: &Trigger, b: &Trigger) -> bool {
        same_trigger(a, b)
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), key: &'a TriggerKey, t: &'a Trigger) {
        if p.triggers_done.contains(key) || p.moves_with_its_table(key, t) {
            return;
        }
        p.add_trigger(key, t);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), key: &'a TriggerKey, t: &'a Trigger) {
        // A dropped table or view takes its triggers with it; a renamed
        // table keeps those the target keeps.
        if p.triggers_done.contains(key)
            || !(p.tgt.tables.contains_key(&key.table) || p.tgt.views.contains_key(&key.table))
        {
            return;
        }
        p.drop_trigger(key, t);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        key: &'a TriggerKey,
        o: &'a Trigger,
        n: &'a Trigger,
    ) {
        if !p.triggers_done.contains(key) {
            p.alter_trigger(key, o, n);
        }
    }

    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        p.check_trigger_columns();
    }
}

/// Whether two triggers are the same, `WHEN` compared as the server
/// stores expressions.
pub(super) fn same_trigger(a: &Trigger, b: &Trigger) -> bool {
    same_opt_sql(a.when.as_deref(), b.when.as_deref())
        && Trigger {
            when: None,
            ..a.clone()
        } == Trigger {
            when: None,
            ..b.clone()
        }
}

impl Planner<'_> {
    /// What making `t` needs first: its table, the columns it names and
    /// its function, when this plan makes them.
    fn trigger_requirements(&self, key: &TriggerKey, t: &Trigger) -> Vec<Resource> {
        let mut out = vec![if self.tgt.views.contains_key(&key.table) {
            Resource::View(key.table.clone())
        } else {
            Resource::table(&key.table)
        }];
        for c in t.update.iter().flatten() {
            out.push(Resource::column(&key.table, c));
        }
        out.push(Resource::Function(RoutineKey {
            name: t.function.clone(),
            args: Vec::new(),
        }));
        out
    }

    /// A trigger of a table the target renames, unchanged: it goes with
    /// the table. (A changed one is refused: change it in a migration of
    /// its own.)
    fn moves_with_its_table(&mut self, key: &TriggerKey, t: &Trigger) -> bool {
        let Some(from) = self.renamed_from_live(&key.table) else {
            return false;
        };
        let old = TriggerKey {
            table: from.clone(),
            name: key.name.clone(),
        };
        match self.cur.triggers.get(&old) {
            Some(o) if same_trigger(o, t) => true,
            _ => {
                self.error(PlanError::Unsupported {
                    object: format!("trigger {key}"),
                    what: format!("a new or changed trigger on a table renamed from {from}"),
                    hint: "rename the table in one migration and change its triggers in the next"
                        .into(),
                });
                true
            }
        }
    }

    fn add_trigger(&mut self, key: &TriggerKey, t: &Trigger) {
        let step = new_step(
            ObjectKind::Trigger,
            key.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create trigger {key}"),
        )
        .sql_all(create_trigger(key, t))
        .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
        .requires_all(self.trigger_requirements(key, t))
        .undo_with(vec![
            undo_step(
                ObjectKind::Trigger,
                key.to_string(),
                format!("drop trigger {key}"),
            )
            .sql(drop_trigger(key))
            .lock(LockLevel::AccessExclusive, Cost::Metadata),
        ]);
        self.push(step);
    }

    fn drop_trigger(&mut self, key: &TriggerKey, t: &Trigger) {
        let mut step = new_step(
            ObjectKind::Trigger,
            key.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop trigger {key}"),
        )
        .sql(drop_trigger(key))
        .lock(LockLevel::AccessExclusive, Cost::Metadata);
        // Before the columns it names go (PostgreSQL refuses them under it).
        if let Some(table) = self.cur.tables.get(&key.table) {
            for c in &table.columns {
                if t.names_column(&c.name) {
                    step = step.requires(Resource::column(&key.table, &c.name));
                }
            }
        }
        self.push(step);
    }

    fn alter_trigger(&mut self, key: &TriggerKey, o: &Trigger, n: &Trigger) {
        let rest_same = |a: &Trigger, b: &Trigger| {
            same_trigger(
                a,
                &Trigger {
                    enabled: a.enabled,
                    comment: a.comment.clone(),
                    ..b.clone()
                },
            )
        };
        if rest_same(o, n) {
            let mut sql = Vec::new();
            let mut back = Vec::new();
            if o.enabled != n.enabled {
                sql.push(trigger_enabled(key, n.enabled));
                back.push(trigger_enabled(key, o.enabled));
            }
            if o.comment != n.comment {
                sql.push(trigger_comment(key, n.comment.as_deref()));
                back.push(trigger_comment(key, o.comment.as_deref()));
            }
            self.push(
                new_step(
                    ObjectKind::Trigger,
                    key.to_string(),
                    Action::Alter,
                    Phase::Expand,
                    format!("alter trigger {key}"),
                )
                .sql_all(sql)
                .lock(LockLevel::ShareRowExclusive, Cost::Metadata)
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Trigger,
                        key.to_string(),
                        format!("put back trigger {key} as it was"),
                    )
                    .sql_all(back)
                    .lock(LockLevel::ShareRowExclusive, Cost::Metadata),
                ]),
            );
            return;
        }
        let remake = |t: &Trigger| {
            let mut sql = vec![drop_trigger(key)];
            sql.extend(create_trigger(key, t));
            sql
        };
        let undo = undo_step(
            ObjectKind::Trigger,
            key.to_string(),
            format!("put back trigger {key} as it was"),
        )
        .sql_all(remake(o))
        .lock(LockLevel::AccessExclusive, Cost::Metadata);
        // Its function replaced in place by this plan: in that step's
        // transaction, so that no write fires the old trigger with the new
        // body, nor the new trigger with the old one.
        let function = RoutineKey {
            name: n.function.clone(),
            args: Vec::new(),
        }
        .to_string();
        let requires = self.trigger_requirements(key, n);
        let replaced = self.steps.iter_mut().find(|s| {
            s.id.kind == ObjectKind::Function
                && s.id.action == Action::Replace
                && s.phase == Phase::Expand
                && s.transactional
                && s.id.object == function
        });
        if let Some(s) = replaced {
            s.statements.extend(remake(n));
            s.lock = Lock {
                level: s.lock.level.max(LockLevel::AccessExclusive),
                cost: s.lock.cost,
            };
            s.description = format!(
                "{}, and replace trigger {key} with it in one transaction (no write fires the old trigger with the new definition, nor the new one with the old)",
                s.description
            );
            s.requires.extend(requires);
            if let Some(Undo::Steps { steps }) = &mut s.undo {
                steps.insert(0, undo);
            }
            return;
        }
        self.push(
            new_step(
                ObjectKind::Trigger,
                key.to_string(),
                Action::Replace,
                Phase::Expand,
                format!("replace trigger {key} (dropped and made again in one transaction: writes from then on, the old app's too, fire the new definition)"),
            )
            .sql_all(remake(n))
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
            .requires_all(requires)
            .undo_with(vec![undo]),
        );
    }

    /// Refuses a trigger the target keeps whose function would use a
    /// column the target drops from its table: `NEW.col` / `OLD.col` in a
    /// PL/pgSQL function the target declares, or the column's name among
    /// the arguments of a function it does not (as
    /// `tsvector_update_trigger` takes them).
    fn check_trigger_columns(&mut self) {
        let mut errors = Vec::new();
        for (key, t) in &self.tgt.triggers {
            let (Some(old), Some(new)) = (
                self.cur.tables.get(&key.table),
                self.tgt.tables.get(&key.table),
            ) else {
                continue;
            };
            let function = self.tgt.routines.get(&RoutineKey {
                name: t.function.clone(),
                args: Vec::new(),
            });
            for c in &old.columns {
                if new.column(c.name.as_str()).is_some() {
                    continue;
                }
                let how = match function {
                    Some(f) if f.language.as_str() == "plpgsql" => {
                        crate::sql::row_reference(&f.body, c.name.as_str())
                            .then(|| format!("calls {}, whose body refers to", t.function))
                    }
                    Some(_) => None,
                    None => t
                        .arguments
                        .iter()
                        .any(|a| a == c.name.as_str())
                        .then(|| format!("passes to {} the name of", t.function)),
                };
                if let Some(how) = how {
                    errors.push(PlanError::TriggerUsesGone {
                        trigger: key.to_string(),
                        column: c.name.to_string(),
                        how,
                    });
                }
            }
        }
        for e in errors {
            self.error(e);
        }
    }

    /// The live triggers on `table` that name `column`, which a step of
    /// `phase` that drops or retypes the column must have out of the way:
    /// their `DROP TRIGGER`s, and the `CREATE TRIGGER`s that make them
    /// again after it (as the target has them, when it keeps them and
    /// the step is in contract or the target's definition is what the
    /// step leaves; a trigger the target drops stays dropped in contract).
    /// Those it leaves in their final shape are marked done.
    pub(super) fn triggers_around(
        &mut self,
        table: &QualifiedName,
        column: &Ident,
        phase: Phase,
    ) -> TriggersAround {
        let tgt = self.tgt;
        let hits = self
            .cur
            .triggers
            .iter()
            .filter(|(k, t)| &k.table == table && t.names_column(column));
        let triggers = remade(
            hits,
            &tgt.triggers,
            phase,
            &mut self.triggers_done,
            |k| k.name.to_string(),
            drop_trigger,
            create_trigger,
        );
        // Policies too: PostgreSQL will not drop or retype a column one
        // names.
        let hits = self
            .cur
            .policies
            .iter()
            .filter(|(k, p)| &k.table == table && super::policy::policy_names(p, column));
        let policies = remade(
            hits,
            &tgt.policies,
            phase,
            &mut self.policies_done,
            |k| k.name.to_string(),
            drop_policy,
            create_policy,
        );
        TriggersAround {
            drops: [triggers.drops, policies.drops].concat(),
            creates: [triggers.creates, policies.creates].concat(),
            dropped: triggers.dropped,
            made_again: triggers.made_again,
            policies_dropped: policies.dropped,
            policies_made_again: policies.made_again,
        }
    }
}

/// Objects of one kind dropped around a change and made again after it.
#[derive(Default)]
struct Remade {
    drops: Vec<String>,
    creates: Vec<String>,
    dropped: Vec<String>,
    made_again: Vec<String>,
}

/// The live objects `hits` dropped around a step of `phase`, and what
/// comes back after it: the target's definition (then final, so marked
/// done), nothing in contract when the target drops the object (done
/// too), else the live definition, for the object's own rule to change.
fn remade<'v, K: Ord + Clone + 'v, V: 'v>(
    hits: impl Iterator<Item = (&'v K, &'v V)>,
    target: &'v BTreeMap<K, V>,
    phase: Phase,
    done: &mut std::collections::BTreeSet<K>,
    name: impl Fn(&K) -> String,
    drop: impl Fn(&K) -> String,
    create: impl Fn(&K, &V) -> Vec<String>,
) -> Remade {
    let mut out = Remade::default();
    for (key, current) in hits {
        out.drops.push(drop(key));
        out.dropped.push(name(key));
        let back = match target.get(key) {
            Some(t) => {
                done.insert(key.clone());
                Some(t)
            }
            None if phase == Phase::Contract => {
                done.insert(key.clone());
                None
            }
            None => Some(current),
        };
        if let Some(t) = back {
            out.creates.extend(create(key, t));
            out.made_again.push(name(key));
        }
    }
    out
}

/// Triggers dropped before a change to a column they name and made again
/// after it, in its transaction.
#[derive(Default)]
pub(super) struct TriggersAround {
    /// `DROP TRIGGER`s.
    pub drops: Vec<String>,
    /// `CREATE TRIGGER`s of those that come back.
    pub creates: Vec<String>,
    /// The names of those dropped, and of those made again.
    pub dropped: Vec<String>,
    pub made_again: Vec<String>,
    /// The same for the policies that name the column.
    pub policies_dropped: Vec<String>,
    pub policies_made_again: Vec<String>,
}

impl TriggersAround {
    /// These and `other`'s (on other tables: no trigger is in both).
    pub fn extend(&mut self, other: TriggersAround) {
        self.drops.extend(other.drops);
        self.creates.extend(other.creates);
        self.dropped.extend(other.dropped);
        self.made_again.extend(other.made_again);
        self.policies_dropped.extend(other.policies_dropped);
        self.policies_made_again.extend(other.policies_made_again);
    }

    /// `trigger a dropped and made again`, `policy p dropped`, ...: one
    /// part for the triggers and one for the policies, if any.
    pub fn describe(&self) -> Vec<String> {
        let part = |(one, many): (&str, &str), dropped: &[String], made_again: &[String]| {
            if dropped.is_empty() {
                return None;
            }
            let again = if made_again.is_empty() {
                String::new()
            } else if made_again.len() == dropped.len() {
                " and made again".to_string()
            } else {
                format!(", {} made again", made_again.join(", "))
            };
            Some(format!(
                "{} {} dropped{again}",
                if dropped.len() == 1 { one } else { many },
                dropped.join(", ")
            ))
        };
        part(("trigger", "triggers"), &self.dropped, &self.made_again)
            .into_iter()
            .chain(part(
                ("policy", "policies"),
                &self.policies_dropped,
                &self.policies_made_again,
            ))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::outline_of;

    fn schema(body: &str, events: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      n: {{ type: bigint }}\n    triggers:\n      t_touch: {{ timing: before, events: [{events}], function: touch }}\nfunctions:\n  touch():\n    returns: trigger\n    language: plpgsql\n    body: |\n      BEGIN {body} RETURN NEW; END\n"
        )
    }

    #[test]
    fn a_trigger_and_its_function_replaced_together_change_in_one_transaction() {
        let plan = outline_of(
            &schema("NEW.n := 1;", "insert"),
            &schema("NEW.n := 2;", "insert, update"),
        );
        let steps: Vec<&str> = plan.lines().filter(|l| is_step(l)).collect();
        assert_eq!(
            steps,
            [
                "expand: replace function public.touch() in place (calls from then on, the old app's too, run the new definition), and replace trigger t_touch on public.t with it in one transaction (no write fires the old trigger with the new definition, nor the new one with the old)"
            ],
            "{plan}"
        );
        let body = plan.find("NEW.n := 2;").expect("the new body");
        let trigger = plan
            .find("CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE")
            .expect("the new trigger");
        assert!(
            !plan[..body].contains("DROP TRIGGER") && body < trigger,
            "{plan}"
        );
        // Alone, each is its own step.
        assert_eq!(
            outline_of(
                &schema("NEW.n := 1;", "insert"),
                &schema("NEW.n := 1;", "update")
            )
            .lines()
            .filter(|l| is_step(l))
            .count(),
            1
        );
    }

    fn is_step(line: &str) -> bool {
        ["expand: ", "migrate: ", "contract: "]
            .iter()
            .any(|p| line.starts_with(p))
    }
}
