//! Storage parameters of a table, a materialized view or an index that
//! stays: set and reset in place in expand (the old application reads
//! and writes as before).
//! Most take SHARE UPDATE EXCLUSIVE, which lets reads and writes go on;
//! an index parameter that would take ACCESS EXCLUSIVE (a GIN index's
//! `fastupdate`, a BRIN index's `pages_per_range`, ...) is changed by
//! building the index again beside the old one instead.

use super::*;
use crate::sql::postgres::{ON_TABLE, alter_storage, storage_change_is_brief};

impl Planner<'_> {
    pub(super) fn table_storage(&mut self, name: &QualifiedName, old: &Table, new: &Table) {
        if old.storage == new.storage {
            return;
        }
        let step = storage_step(
            (ObjectKind::Table, "TABLE", ON_TABLE),
            (name.to_string(), format!("table {name}")),
            &qt(name),
            (&old.storage, &new.storage),
        )
        .requires(Resource::table(name));
        self.push(step);
    }

    /// A materialized view that stays with its query: its parameters
    /// changed in place, as a table's.
    pub(super) fn matview_storage(
        &mut self,
        name: &QualifiedName,
        old: &StorageParams,
        new: &StorageParams,
    ) {
        if old == new {
            return;
        }
        let step = storage_step(
            (ObjectKind::View, "MATERIALIZED VIEW", ON_TABLE),
            (name.to_string(), format!("materialized view {name}")),
            &qt(name),
            (old, new),
        )
        .requires(Resource::View(name.clone()));
        self.push(step);
    }

    /// Index `name` on `table`, which differs from its target only in
    /// storage parameters, has them changed in place if they all can be
    /// without ACCESS EXCLUSIVE (then true; else nothing is planned).
    pub(super) fn index_storage(
        &mut self,
        table: &QualifiedName,
        name: &Ident,
        o: &Index,
        n: &Index,
    ) -> bool {
        if !storage_change_is_brief(&o.method, &o.storage, &n.storage) {
            return false;
        }
        let index = QualifiedName::new(table.schema.clone(), name.clone());
        let step = storage_step(
            (ObjectKind::Index, "INDEX", &o.method),
            (
                format!("{}.{name}", table.schema),
                format!("index {name} on {table}"),
            ),
            &qt(&index),
            (&o.storage, &n.storage),
        )
        .requires(Resource::index(&table.schema, name));
        self.push(step);
        true
    }
}

/// Sets and resets `old`'s parameters to `new`'s in expand; its undo
/// puts `old`'s back.
fn storage_step(
    (kind, sql_kind, on): (ObjectKind, &str, &str),
    (object, label): (String, String),
    relation: &str,
    (old, new): (&StorageParams, &StorageParams),
) -> Step {
    let brief = storage_change_is_brief(on, old, new);
    let (set, reset) = old.changes(new);
    let mut what: Vec<String> = set.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    what.extend(reset.iter().map(|k| format!("{k} back to its default")));
    let level = if brief {
        LockLevel::ShareUpdateExclusive
    } else {
        LockLevel::AccessExclusive
    };
    new_step(
        kind,
        object.clone(),
        Action::Alter,
        Phase::Expand,
        format!("set storage parameters of {label}: {}", what.join(", ")),
    )
    .sql_all(alter_storage(sql_kind, relation, old, new))
    .undo_with(vec![
        undo_step(
            kind,
            object,
            format!("restore the storage parameters of {label}"),
        )
        .sql_all(alter_storage(sql_kind, relation, new, old)),
    ])
    .lock(level, Cost::Metadata)
}

#[cfg(test)]
mod tests {
    use crate::testing::{outline_of, plans_to};

    fn t(with: &str, index_with: &str) -> String {
        format!(
            "tables:\n  t:\n    columns:\n      id: {{ type: bigint }}\n      body: {{ type: text }}\n    indexes:\n      t_id: {{ columns: [id]{index_with} }}\n{with}"
        )
    }

    #[test]
    fn a_tables_parameters_are_set_and_reset_in_place() {
        plans_to(
            &t("    with: { fillfactor: 70, autovacuum_enabled: false }\n", ""),
            &t("    with: { fillfactor: 80, autovacuum_vacuum_scale_factor: 0.01 }\n", ""),
            "
            expand: set storage parameters of table public.t: autovacuum_vacuum_scale_factor = 0.01, fillfactor = 80, autovacuum_enabled back to its default
                ALTER TABLE public.t SET (autovacuum_vacuum_scale_factor = 0.01, fillfactor = 80)
                ALTER TABLE public.t RESET (autovacuum_enabled)
            ",
        );
    }

    #[test]
    fn the_same_values_spelled_otherwise_are_no_change() {
        assert_eq!(
            outline_of(
                &t(
                    "    with: { fillfactor: 70, autovacuum_enabled: off, autovacuum_vacuum_scale_factor: 1e-2 }\n",
                    ""
                ),
                &t(
                    "    with: { FillFactor: \"070\", autovacuum_enabled: false, autovacuum_vacuum_scale_factor: 0.010 }\n",
                    ""
                ),
            ),
            ""
        );
    }

    #[test]
    fn an_index_parameter_that_takes_a_brief_lock_is_changed_in_place() {
        plans_to(
            &t("", ", with: { fillfactor: 70 }"),
            &t("", ", with: { deduplicate_items: false }"),
            "
            expand: set storage parameters of index t_id on public.t: deduplicate_items = false, fillfactor back to its default
                ALTER INDEX public.t_id SET (deduplicate_items = false)
                ALTER INDEX public.t_id RESET (fillfactor)
            ",
        );
    }

    #[test]
    fn an_index_parameter_that_would_block_reads_rebuilds_the_index_beside_it() {
        let gin = |with: &str| {
            t("", "").replace(
                "t_id: { columns: [id] }",
                &format!(
                    "t_id: {{ expression: \"to_tsvector('simple', body)\", method: gin{with} }}"
                ),
            )
        };
        plans_to(
            &gin(""),
            &gin(", with: { fastupdate: false }"),
            "
            expand: build the new definition of index t_id on public.t as t_id_bellows_new
                CREATE INDEX CONCURRENTLY t_id_bellows_new ON public.t USING gin ((to_tsvector('simple', body))) WITH (fastupdate = false)
            contract: drop index t_id on public.t
                DROP INDEX CONCURRENTLY IF EXISTS public.t_id
            contract: give t_id_bellows_new its final name t_id
                ALTER INDEX public.t_id_bellows_new RENAME TO t_id
            ",
        );
    }

    #[test]
    fn a_new_table_and_index_are_made_with_theirs() {
        plans_to(
            "",
            &t(
                "    with: { fillfactor: 50 }\n",
                ", with: { fillfactor: 90 }",
            ),
            "
            expand: create table public.t
                CREATE TABLE public.t (id bigint, body text) WITH (fillfactor = 50)
            expand: build index t_id on public.t
                CREATE INDEX CONCURRENTLY t_id ON public.t USING btree (id) WITH (fillfactor = 90)
            ",
        );
    }
}
