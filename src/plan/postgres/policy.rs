//! Row-level security. A new policy is made in expand, after its table
//! and the columns it names; one the target drops goes in contract,
//! before them. A changed one is changed in expand in one statement
//! (`ALTER POLICY`) or, when that cannot make the change (its command or
//! kind changes, or a clause goes), dropped and made again in one
//! transaction: the rule never lapses between two statements. A table
//! starts enforcing row-level security in expand, once its new policies
//! are there, and stops in contract, before its dropped policies go.
//! Each takes ACCESS EXCLUSIVE on the table for a catalog change. A policy
//! that names a column a step drops or retypes goes and comes back
//! around that step, in its transaction (see
//! [`Planner::triggers_around`]).

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::diff::postgres::same_opt_sql;
use crate::sql::postgres::{
    alter_policy, create_policy, drop_policy, policy_comment, row_security,
};

pub(super) struct Policies;

impl Kind for Policies {
    objects!(in schema.policies: BTreeMap<PolicyKey, Policy>);

    fn same(_: &Planner<'_>, _: (), a: &Policy, b: &Policy) -> bool {
        same_policy(a, b)
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), key: &'a PolicyKey, n: &'a Policy) {
        if !p.policies_done.contains(key) && !p.policy_moves_with_its_table(key, n) {
            p.add_policy(key, n);
        }
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), key: &'a PolicyKey, o: &'a Policy) {
        // A dropped table takes its policies with it; a renamed one keeps
        // those the target keeps.
        if !p.policies_done.contains(key) && p.tgt.tables.contains_key(&key.table) {
            p.drop_policy(key, o);
        }
    }

    fn altered<'a>(p: &mut Planner<'a>, _: (), key: &'a PolicyKey, o: &'a Policy, n: &'a Policy) {
        if !p.policies_done.contains(key) {
            p.alter_policy(key, o, n);
        }
    }

    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        p.check_policy_columns();
    }
}

/// A table's row-level security flags.
pub(super) struct RowSecurities;

impl Kind for RowSecurities {
    objects!(in schema.row_security: BTreeMap<QualifiedName, RowSecurity>);

    fn same(_: &Planner<'_>, _: (), a: &RowSecurity, b: &RowSecurity) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), table: &'a QualifiedName, n: &'a RowSecurity) {
        // A table built beside gets them at the swap.
        if p.rebuilds(table) {
            return;
        }
        // A renamed table keeps its flags.
        let o = p
            .renamed_from_live(table)
            .and_then(|f| p.cur.row_security.get(f))
            .copied()
            .unwrap_or_default();
        p.row_security(table, o, *n);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), table: &'a QualifiedName, o: &'a RowSecurity) {
        if p.tgt.tables.contains_key(table) && !p.rebuilds(table) {
            p.row_security(table, *o, RowSecurity::default());
        }
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        table: &'a QualifiedName,
        o: &'a RowSecurity,
        n: &'a RowSecurity,
    ) {
        if !p.rebuilds(table) {
            p.row_security(table, *o, *n);
        }
    }
}

/// Equal, the clauses compared as the server stores expressions.
pub(super) fn same_policy(a: &Policy, b: &Policy) -> bool {
    same_opt_sql(a.using.as_deref(), b.using.as_deref())
        && same_opt_sql(a.with_check.as_deref(), b.with_check.as_deref())
        && a.restrictive == b.restrictive
        && a.command == b.command
        && a.roles == b.roles
        && a.comment == b.comment
}

/// Whether `p`'s clauses name column `column`.
pub(super) fn policy_names(p: &Policy, column: &Ident) -> bool {
    [&p.using, &p.with_check]
        .into_iter()
        .flatten()
        .any(|e| super::constraint::mentions(e, column.as_str()))
}

impl Planner<'_> {
    /// The columns of `table` (as the target has it) that `p` names.
    fn policy_columns(&self, table: &QualifiedName, p: &Policy) -> Vec<Resource> {
        self.tgt
            .tables
            .get(table)
            .into_iter()
            .flat_map(|t| &t.columns)
            .filter(|c| policy_names(p, &c.name))
            .map(|c| Resource::column(table, &c.name))
            .collect()
    }

    /// A policy of a table the target renames, unchanged: it goes with
    /// the table. A changed one is refused (change it in a migration of
    /// its own).
    fn policy_moves_with_its_table(&mut self, key: &PolicyKey, n: &Policy) -> bool {
        let Some(from) = self.renamed_from_live(&key.table) else {
            return false;
        };
        let old = PolicyKey {
            table: from.clone(),
            name: key.name.clone(),
        };
        if !self
            .cur
            .policies
            .get(&old)
            .is_some_and(|o| same_policy(o, n))
        {
            self.error(PlanError::Unsupported {
                object: format!("policy {key}"),
                what: format!("a new or changed policy on a table renamed from {from}"),
                hint: "rename the table in one migration and change its policies in the next"
                    .into(),
            });
        }
        true
    }

    fn policy_step(&self, key: &PolicyKey, action: Action, phase: Phase, what: String) -> Step {
        new_step(ObjectKind::Policy, key.to_string(), action, phase, what)
            .lock(LockLevel::AccessExclusive, Cost::Metadata)
    }

    fn add_policy(&mut self, key: &PolicyKey, n: &Policy) {
        let mut step = self
            .policy_step(
                key,
                Action::Create,
                Phase::Expand,
                format!("create policy {key}"),
            )
            .sql_all(create_policy(key, n))
            .requires(Resource::table(&key.table))
            .requires_all(self.policy_columns(&key.table, n))
            .provides(Resource::Policy(key.table.clone(), key.name.clone()))
            .undo_with(vec![
                undo_step(
                    ObjectKind::Policy,
                    key.to_string(),
                    format!("drop policy {key}"),
                )
                .sql(drop_policy(key))
                .lock(LockLevel::AccessExclusive, Cost::Metadata),
            ]);
        let enforced = |s: &Schema| s.row_security.get(&key.table).is_some_and(|f| f.enabled);
        if n.restrictive && enforced(self.cur) && enforced(self.tgt) {
            step = step.hazard(
                HazardKind::OldAppVisible,
                format!(
                    "from expand on, the old app too sees and writes only the rows of {} that restrictive policy {} allows",
                    key.table, key.name
                ),
            );
        }
        self.push(step);
    }

    fn drop_policy(&mut self, key: &PolicyKey, o: &Policy) {
        // Before the columns it names go, and after the table stops
        // enforcing row-level security, if it does.
        let mut step = self
            .policy_step(
                key,
                Action::Drop,
                Phase::Contract,
                format!("drop policy {key}"),
            )
            .sql(drop_policy(key))
            .requires(Resource::RowSecurity(key.table.clone()));
        if let Some(t) = self.cur.tables.get(&key.table) {
            for c in t.columns.iter().filter(|c| policy_names(o, &c.name)) {
                step = step.requires(Resource::column(&key.table, &c.name));
            }
        }
        self.push(step);
    }

    fn alter_policy(&mut self, key: &PolicyKey, o: &Policy, n: &Policy) {
        let rule_same = same_policy(
            o,
            &Policy {
                comment: o.comment.clone(),
                ..n.clone()
            },
        );
        if rule_same {
            let back = policy_comment(key, o.comment.as_deref());
            self.push(
                self.policy_step(
                    key,
                    Action::Alter,
                    Phase::Expand,
                    format!("comment on policy {key}"),
                )
                .sql(policy_comment(key, n.comment.as_deref()))
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Policy,
                        key.to_string(),
                        format!("put back the comment on policy {key}"),
                    )
                    .sql(back),
                ]),
            );
            return;
        }
        // The new rule in one statement, or in one transaction.
        let change = |from: &Policy, to: &Policy| -> Vec<String> {
            let mut sql = match alter_policy(key, from, to) {
                Some(s) => vec![s],
                None => {
                    let mut v = vec![drop_policy(key)];
                    v.extend(create_policy(
                        key,
                        &Policy {
                            comment: None,
                            ..to.clone()
                        },
                    ));
                    v
                }
            };
            if from.comment != to.comment || (sql.len() > 1 && to.comment.is_some()) {
                sql.push(policy_comment(key, to.comment.as_deref()));
            }
            sql
        };
        let forward = change(o, n);
        let how = if forward[0].starts_with("ALTER POLICY") {
            "in place"
        } else {
            "dropped and made again in one transaction"
        };
        self.push(
            self.policy_step(
                key,
                Action::Replace,
                Phase::Expand,
                format!("change policy {key} ({how}: queries from then on, the old app's too, follow the new rule)"),
            )
            .sql_all(forward)
            .requires_all(self.policy_columns(&key.table, n))
            .hazard(
                HazardKind::OldAppVisible,
                format!(
                    "from expand on, the old app's queries on {} see and write the rows the new definition of policy {} allows",
                    key.table, key.name
                ),
            )
            .undo_with(vec![
                undo_step(
                    ObjectKind::Policy,
                    key.to_string(),
                    format!("put back policy {key} as it was"),
                )
                .sql_all(change(n, o))
                .lock(LockLevel::AccessExclusive, Cost::Metadata),
            ]),
        );
    }

    /// `table`'s row-level security from `o` to `n`: what turns on in
    /// expand, once the table's policies are there; what turns off in
    /// contract, before its dropped policies go.
    fn row_security(&mut self, table: &QualifiedName, o: RowSecurity, n: RowSecurity) {
        let on = RowSecurity {
            enabled: o.enabled || n.enabled,
            forced: o.forced || n.forced,
        };
        let object = table.to_string();
        let turn_on = row_security(table, o, on);
        if !turn_on.is_empty() {
            let policies: Vec<Resource> = self
                .tgt
                .policies
                .keys()
                .filter(|k| &k.table == table)
                .map(|k| Resource::Policy(k.table.clone(), k.name.clone()))
                .collect();
            self.push(
                new_step(
                    ObjectKind::Policy,
                    object.clone(),
                    Action::Alter,
                    Phase::Expand,
                    if on.enabled != o.enabled {
                        format!("enforce row-level security on {table}")
                    } else {
                        format!("force row-level security on {table} (its owner too)")
                    },
                )
                .sql_all(turn_on)
                .lock(LockLevel::AccessExclusive, Cost::Metadata)
                .requires(Resource::table(table))
                .requires_all(policies)
                .provides(Resource::RowSecurity(table.clone()))
                .hazard(
                    HazardKind::OldAppVisible,
                    if on.enabled != o.enabled {
                        format!(
                            "from expand on, the old app too sees and writes only the rows of {table} its policies grant (none, for a role no policy names)"
                        )
                    } else {
                        format!(
                            "from expand on, the owner of {table} too sees and writes only the rows its policies grant"
                        )
                    },
                )
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Policy,
                        object.clone(),
                        format!("put back row-level security on {table} as it was"),
                    )
                    .sql_all(row_security(table, on, o))
                    .lock(LockLevel::AccessExclusive, Cost::Metadata),
                ]),
            );
        }
        let turn_off = row_security(table, on, n);
        if !turn_off.is_empty() {
            self.push(
                new_step(
                    ObjectKind::Policy,
                    object,
                    Action::Drop,
                    Phase::Contract,
                    format!("stop enforcing row-level security on {table}"),
                )
                .sql_all(turn_off)
                .lock(LockLevel::AccessExclusive, Cost::Metadata)
                .requires(Resource::table(table))
                .provides(Resource::RowSecurity(table.clone())),
            );
        }
    }

    /// Refuses a policy the target keeps that names a column the target
    /// drops from its table: the drop would fail under it.
    fn check_policy_columns(&mut self) {
        let mut errors = Vec::new();
        for (key, p) in &self.tgt.policies {
            let (Some(old), Some(new)) = (
                self.cur.tables.get(&key.table),
                self.tgt.tables.get(&key.table),
            ) else {
                continue;
            };
            for c in &old.columns {
                if new.column(c.name.as_str()).is_none() && policy_names(p, &c.name) {
                    errors.push(PlanError::PolicyUsesGone {
                        policy: key.to_string(),
                        column: c.name.to_string(),
                    });
                }
            }
        }
        for e in errors {
            self.error(e);
        }
    }
}
