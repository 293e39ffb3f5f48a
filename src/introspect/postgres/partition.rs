//! Partitions whose parent is out of bellows's reach, and the target's
//! partition bounds in the server's words.

use super::*;

impl Reader {
    /// A partition or a table that inherits whose parent bellows does not
    /// manage (it is in a schema out of scope, a foreign table, or itself
    /// such a table) is not managed either: it is reported, as its parent
    /// is.
    pub(super) fn leave_partitions_of_unmanaged_tables(&mut self) {
        loop {
            let orphans: Vec<(QualifiedName, bool)> = self
                .out
                .schema
                .tables
                .iter()
                .filter(|(_, t)| {
                    t.partition_of
                        .iter()
                        .map(|p| &p.parent)
                        .chain(&t.inherits)
                        .any(|p| !self.out.schema.tables.contains_key(p))
                })
                .map(|(q, t)| (q.clone(), t.partition_of.is_some()))
                .collect();
            if orphans.is_empty() {
                return;
            }
            for (q, partition) in orphans {
                self.out.schema.tables.remove(&q);
                self.out.schema.row_security.remove(&q);
                self.managed.remove(&q);
                let identity = crate::sql::postgres::qualified(&q);
                let kind = if partition {
                    UnmanagedKind::Partition
                } else {
                    UnmanagedKind::InheritedTable
                };
                self.note(kind, identity, Place::Schema(q));
            }
        }
    }
}

/// The bounds of the target's partitions `pending`, as the server prints
/// them: each made on a temporary copy of its live parent, in `tx` (which
/// the caller rolls back). A bound the server refuses stays as written,
/// with a note.
pub(super) async fn read_bounds(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    target: &mut Schema,
    pending: &[QualifiedName],
) -> Result<Vec<String>> {
    const W: &str = "the target's partition bounds";
    let mut notes = Vec::new();
    for name in pending {
        let Some(of) = target.tables.get(name).and_then(|t| t.partition_of.clone()) else {
            continue;
        };
        let Some(key) = target
            .tables
            .get(&of.parent)
            .and_then(|t| t.partition_by.clone())
        else {
            continue;
        };
        sqlx::raw_sql("SAVEPOINT bellows_bound")
            .execute(&mut **tx)
            .await
            .map_err(q(W))?;
        let made = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TEMP TABLE bellows_bound_parent (LIKE {}) PARTITION BY {}; \
             CREATE TEMP TABLE bellows_bound_part PARTITION OF bellows_bound_parent {}",
            crate::sql::postgres::qualified(&of.parent),
            key.sql(),
            of.bound.sql()
        )))
        .execute(&mut **tx)
        .await;
        let read = match made {
            Ok(_) => sqlx::query_scalar::<_, String>(
                "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c
                  WHERE c.oid = 'pg_temp.bellows_bound_part'::regclass",
            )
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e
                .as_database_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())),
        };
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT bellows_bound")
            .execute(&mut **tx)
            .await
            .map_err(q(W))?;
        match read.map(|text| crate::sql::postgres::partition_bound(&text)) {
            Ok(Ok(bound)) => {
                if let Some(t) = target.tables.get_mut(name)
                    && let Some(p) = &mut t.partition_of
                {
                    p.bound = bound;
                }
            }
            Ok(Err(e)) => notes.push(format!(
                "the server's text of the bound of partition {name} did not read back ({}); it is compared as written",
                e.message
            )),
            Err(why) => notes.push(format!(
                "the server cannot read the bound of partition {name} against the live database ({why}); it is compared as written"
            )),
        }
    }
    Ok(notes)
}
