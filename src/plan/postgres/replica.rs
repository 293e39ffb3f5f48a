//! `REPLICA IDENTITY`: what logical replication writes of an updated or
//! deleted row. A catalog change under ACCESS EXCLUSIVE (held for
//! milliseconds, under `lock_timeout`), made in expand, or once its table
//! exists (a table built beside is swapped in in contract). An index that
//! is built again becomes the identity as soon as it is built, so that
//! the table is never without one while the old index is dropped and the
//! new one takes its name. A new table gets its own after it is made.

use super::*;
use crate::sql::postgres::replica_identity_sql;

impl Planner<'_> {
    /// After every table and index is planned: the replica identity of
    /// each target table that changes, or whose table or index the plan
    /// makes (again).
    pub(super) fn replica_identities(&mut self) {
        let tgt = self.tgt;
        let made = self.phases_made_in();
        for (name, t) in &tgt.tables {
            let want = &t.replica_identity;
            if self.rebuilds(name) {
                // Built beside with the identity it starts with (the
                // default) and swapped in in contract: set after.
                if *want != ReplicaIdentity::Default {
                    let made = Resource::Made(Box::new(Resource::table(name)));
                    self.push(
                        identity_step(name, want, Phase::Contract)
                            .requires(made)
                            .undo_nothing(),
                    );
                }
                continue;
            }
            let live_name = self.renamed_from_live(name).unwrap_or(name);
            let live = self.cur.tables.get(live_name).map(|l| &l.replica_identity);
            let mut needs = vec![Resource::table(name)];
            if let ReplicaIdentity::Index(i) = want {
                needs.push(Resource::index(&name.schema, i));
                needs.push(Resource::constraint(name, i));
            }
            let made_in = needs.iter().filter_map(|r| made.get(r).copied()).max();
            let remade = matches!(want, ReplicaIdentity::Index(_)) && made_in.is_some();
            let default = ReplicaIdentity::Default;
            if live.unwrap_or(&default) == want && !(remade && live.is_some()) {
                continue;
            }
            if live.is_none() && *want == default {
                continue;
            }
            // An index built again under another name identifies the rows
            // from its build on, so that none goes without one while the
            // old index is dropped and the new one renamed in contract.
            let (want, needs, made_in) = match self.built_again(want, name) {
                Some(tmp) => {
                    let r = Resource::index(&name.schema, &tmp);
                    (ReplicaIdentity::Index(tmp), vec![r], Some(Phase::Expand))
                }
                None => (want.clone(), needs, made_in),
            };
            let want = &want;
            let mut step =
                identity_step(name, want, made_in.unwrap_or(Phase::Expand)).requires_all(needs);
            step = match live {
                Some(old) if step.phase == Phase::Expand => step.undo_with(vec![
                    undo_step(
                        ObjectKind::Table,
                        name.to_string(),
                        format!("restore the replica identity of {name}"),
                    )
                    .sql(replica_identity_sql(name, old)),
                ]),
                _ => step.undo_nothing(),
            };
            if *want == ReplicaIdentity::Nothing && live.is_some() {
                step = step.hazard(
                    HazardKind::OldAppVisible,
                    format!("UPDATE and DELETE of {name} fail while a publication publishes them"),
                );
            }
            self.push(step);
        }
    }
}

impl Planner<'_> {
    /// The name index `i` of `table` is built again under, when the plan
    /// replaces it (a step gives that one the name `i` in contract).
    fn built_again(&self, want: &ReplicaIdentity, table: &QualifiedName) -> Option<Ident> {
        let ReplicaIdentity::Index(i) = want else {
            return None;
        };
        let final_name = Resource::index(&table.schema, i);
        self.steps
            .iter()
            .filter(|s| s.id.action == Action::Rename && s.provides.contains(&final_name))
            .flat_map(|s| &s.removes)
            .find_map(|r| match r {
                Resource::Index(q) if q.schema == table.schema && &q.name != i => {
                    Some(q.name.clone())
                }
                _ => None,
            })
    }
}

fn identity_step(name: &QualifiedName, want: &ReplicaIdentity, phase: Phase) -> Step {
    new_step(
        ObjectKind::Table,
        name.to_string(),
        Action::Alter,
        phase,
        format!("set the replica identity of {name} to {}", describe(want)),
    )
    .sql(replica_identity_sql(name, want))
    .lock(LockLevel::AccessExclusive, Cost::Metadata)
}

fn describe(r: &ReplicaIdentity) -> String {
    match r {
        ReplicaIdentity::Default => "its primary key (the default)".into(),
        ReplicaIdentity::Full => "every column (FULL)".into(),
        ReplicaIdentity::Nothing => "nothing".into(),
        ReplicaIdentity::Index(i) => format!("index {i}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    fn t(identity: &str, index: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      u: {{ type: bigint, nullable: false }}\n    primary_key: [id]\n    indexes:\n      t_u: {{ columns: [{index}], unique: true }}\n{identity}"
        )
    }

    #[test]
    fn a_changed_identity_is_set_in_expand() {
        plans_to(
            &t("", "u"),
            &t("    replica_identity: full\n", "u"),
            "
            expand: set the replica identity of public.t to every column (FULL)
                ALTER TABLE public.t REPLICA IDENTITY FULL
            ",
        );
        plans_to(
            &t("    replica_identity: full\n", "u"),
            &t("    replica_identity: { index: t_u }\n", "u"),
            "
            expand: set the replica identity of public.t to index t_u
                ALTER TABLE public.t REPLICA IDENTITY USING INDEX t_u
            ",
        );
    }

    #[test]
    fn an_identity_index_built_again_identifies_rows_from_its_build_on() {
        plans_to(
            &t("    replica_identity: { index: t_u }\n", "u"),
            &t("    replica_identity: { index: t_u }\n", "u, id"),
            "
            expand: build the new definition of index t_u on public.t as t_u_bellows_new
                CREATE UNIQUE INDEX CONCURRENTLY t_u_bellows_new ON public.t USING btree (u, id)
            expand: set the replica identity of public.t to index t_u_bellows_new
                ALTER TABLE public.t REPLICA IDENTITY USING INDEX t_u_bellows_new
            contract: drop index t_u on public.t
                DROP INDEX CONCURRENTLY IF EXISTS public.t_u
            contract: give t_u_bellows_new its final name t_u
                ALTER INDEX public.t_u_bellows_new RENAME TO t_u
            ",
        );
    }

    #[test]
    fn a_new_table_gets_its_identity_after_its_index() {
        plans_to(
            "",
            &t("    replica_identity: { index: t_u }\n", "u"),
            "
            expand: create table public.t
                CREATE TABLE public.t (id bigint NOT NULL, u bigint NOT NULL, CONSTRAINT t_pkey PRIMARY KEY (id))
            expand: build index t_u on public.t
                CREATE UNIQUE INDEX CONCURRENTLY t_u ON public.t USING btree (u)
            expand: set the replica identity of public.t to index t_u
                ALTER TABLE public.t REPLICA IDENTITY USING INDEX t_u
            ",
        );
    }
}
