//! A table's partitioning changed: a partition made a table of its own
//! is detached (its rows stay, in it); a table partitioned, made plain
//! again or given another key is built beside and swapped in
//! (`rebuild/`); a partition moved to another parent or given another
//! bound, or a table made a partition, would move rows in ways bellows
//! does not do online: refused, with the way round.

use std::collections::BTreeSet;

use super::*;
use crate::sql::quote_literal;

impl Planner<'_> {
    /// A change of a table's partitioning: a partition made a table of its
    /// own is detached, a table partitioned anew is rebuilt beside (true
    /// for both: its columns are planned there); a partition's new parent
    /// or bound, or a table made a partition, is refused.
    pub(super) fn partitioning_change(
        &mut self,
        name: &QualifiedName,
        old: &Table,
        new: &Table,
    ) -> bool {
        if let (Some(of), None, None) = (&old.partition_of, &new.partition_of, &new.partition_by) {
            match self.detach_to_own_table(name, of, old, new) {
                Ok(()) => return true,
                Err(why) => {
                    self.error(PlanError::Unsupported {
                        object: name.to_string(),
                        what: format!("making partition {name} a table of its own: {why}"),
                        hint: format!(
                            "detach it by hand first (ALTER TABLE {} DETACH PARTITION {name} CONCURRENTLY), then plan again",
                            of.parent
                        ),
                    });
                    return true;
                }
            }
        }
        // Partitioned, no longer, or by another key: built beside and
        // swapped in.
        if self.rebuilds(name) {
            self.rebuild_table(name, old, new);
            return true;
        }
        // Only a table renamed in the same plan, or a partition, gets here.
        const BESIDE: &str = "bellows builds a table with a new partitioning beside the old one and swaps it in, but not while it is renamed or is itself a partition: rename it (or detach it) in a plan of its own first";
        const COPY: &str = "rows would move between tables, which bellows does not do online: create the new table beside the old, copy the rows, and swap by hand";
        let moved = |a: &PartitionOf, b: &PartitionOf| {
            a.parent != b.parent && self.renamed_from_live(&b.parent) != Some(&a.parent)
        };
        let change: Option<(String, String)> = match (&old.partition_of, &new.partition_of) {
            (None, Some(b)) => Some((
                format!("making existing table {name} a partition of {}", b.parent),
                format!(
                    "attach it by hand first (ALTER TABLE {} ATTACH PARTITION {name} {}; a valid CHECK that matches the bound spares the scan under lock)",
                    b.parent,
                    b.bound.sql()
                ),
            )),
            (Some(a), None) => Some((
                format!("making partition {name} a table of its own"),
                format!(
                    "detach it by hand first (ALTER TABLE {} DETACH PARTITION {name} CONCURRENTLY), then plan again",
                    a.parent
                ),
            )),
            (Some(a), Some(b)) if moved(a, b) => Some((
                format!("moving partition {name} from {} to {}", a.parent, b.parent),
                COPY.to_string(),
            )),
            (Some(a), Some(b)) if a.bound != b.bound => Some((
                format!(
                    "changing the bound of partition {name} from `{}` to `{}`",
                    a.bound.sql(),
                    b.bound.sql()
                ),
                format!(
                    "if the two mean the same values, write the database's (`bellows dump` shows it); otherwise {COPY}"
                ),
            )),
            _ => None,
        };
        let change = change.or_else(|| match (&old.partition_by, &new.partition_by) {
            (None, Some(_)) => Some((
                format!("partitioning existing table {name}"),
                BESIDE.to_string(),
            )),
            (Some(_), None) => Some((
                format!("making partitioned table {name} a plain table"),
                BESIDE.to_string(),
            )),
            (Some(a), Some(b)) if a != b => Some((
                format!(
                    "changing the partition key of {name} from {} to {}",
                    a.sql(),
                    b.sql()
                ),
                BESIDE.to_string(),
            )),
            _ => None,
        });
        if let Some((what, hint)) = change {
            self.error(PlanError::Unsupported {
                object: name.to_string(),
                what,
                hint,
            });
        }
        false
    }

    /// Partition `name` of `of.parent` made a table of its own: detached
    /// in contract (the old app reads its rows through the parent until
    /// then), keeping the columns the parent has then; those the target
    /// leaves out (one the parent gains in this plan, say) are dropped
    /// after. Refused (with the reason) where the detached table would
    /// need more: an index or constraint the server copies from the parent
    /// under a name it picks, a column the parent lacks or that differs.
    fn detach_to_own_table(
        &mut self,
        name: &QualifiedName,
        of: &PartitionOf,
        old: &Table,
        new: &Table,
    ) -> Result<(), String> {
        let tgt = self.tgt;
        let parent_now = if tgt.tables.contains_key(&of.parent) {
            Some(&of.parent)
        } else {
            tgt.tables
                .iter()
                .find(|(_, n)| n.renamed_from.as_ref() == Some(&of.parent))
                .map(|(q, _)| q)
        };
        let Some(parent) = parent_now.and_then(|q| tgt.tables.get(q)) else {
            return Err(format!("its partitioned table {} goes", of.parent));
        };
        if old.partition_by.is_some() {
            return Err("it is partitioned itself".into());
        }
        let Some(live_parent) = self.cur.tables.get(&of.parent) else {
            return Err(format!("its partitioned table {} is not live", of.parent));
        };
        for p in [live_parent, parent] {
            let copied = p.primary_key.is_some()
                || !p.indexes.is_empty()
                || !p.uniques.is_empty()
                || !p.checks.is_empty()
                || !p.foreign_keys.is_empty()
                || !p.exclusions.is_empty();
            if copied {
                return Err(format!(
                    "it would keep copies of {}'s indexes and constraints, under names the server picks",
                    of.parent
                ));
            }
        }
        // The live parent's columns stay as they are (the parent may gain
        // some): the partition has them when it is detached.
        for c in &live_parent.columns {
            let kept = parent.columns.iter().find(|p| p.name == c.name);
            if kept.is_none_or(|k| !self.same_column_of_partition(c, k)) {
                return Err(format!(
                    "column {} of {} changes in the same plan",
                    c.name, of.parent
                ));
            }
        }
        let mut order = Vec::new();
        for c in &new.columns {
            let Some(i) = parent.columns.iter().position(|p| p.name == c.name) else {
                return Err(format!(
                    "its column {} is not one of {}'s",
                    c.name, of.parent
                ));
            };
            if c.comment.is_some() || !self.same_column_of_partition(&parent.columns[i], c) {
                return Err(format!(
                    "its column {} differs from {}'s (or has a comment)",
                    c.name, of.parent
                ));
            }
            order.push(i);
        }
        if !order.is_sorted() {
            return Err(format!("its columns are not in {}'s order", of.parent));
        }
        if self.detach_partition(name, old) != Some(true) {
            return Err(format!(
                "{} is not its partitioned table in the target",
                of.parent
            ));
        }
        let mut concurrently = false;
        if let Some(step) = self.steps.last_mut() {
            step.hazards.push(Hazard {
                kind: HazardKind::OldAppVisible,
                message: format!(
                    "the rows of {name} no longer show in {}, nor go there when written through it",
                    of.parent
                ),
            });
            concurrently = step.statements.iter().any(|s| s.ends_with("CONCURRENTLY"));
        }
        if concurrently {
            self.drop_check_of_detach(name, old, new);
        }
        for c in &parent.columns {
            if new.column(c.name.as_str()).is_none() {
                self.drop_column(name, c);
                if let Some(step) = self.steps.last_mut() {
                    step.requires.push(Resource::Detached(name.clone()));
                }
            }
        }
        Ok(())
    }

    /// DETACH CONCURRENTLY leaves on the table a CHECK that repeats the
    /// partition's bound, under a name the server picks (unless one of
    /// its own implied it): dropped after, by what it is not, any CHECK
    /// but those the plan knows.
    fn drop_check_of_detach(&mut self, name: &QualifiedName, old: &Table, new: &Table) {
        let known: BTreeSet<&Ident> = old.checks.keys().chain(new.checks.keys()).collect();
        let known = known
            .iter()
            .map(|c| quote_literal(c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "DO $bellows$ DECLARE c name; BEGIN FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = {}::regclass AND contype = 'c' AND conname <> ALL (ARRAY[{known}]::name[]) LOOP EXECUTE format('ALTER TABLE {} DROP CONSTRAINT %I', c); END LOOP; END $bellows$",
            quote_literal(&qt(name)),
            qt(name).replace('\'', "''").replace('%', "%%"),
        );
        let step = new_step(
            ObjectKind::Check,
            format!("{name}:detach-check"),
            Action::Drop,
            Phase::Contract,
            format!("drop the CHECK that DETACH CONCURRENTLY added to {name} (it repeats the partition's bound)"),
        )
        .sql(sql)
        .lock(LockLevel::AccessExclusive, Cost::Metadata)
        .requires(Resource::Detached(name.clone()));
        self.push(step);
    }

    /// Whether a partition's column `a` (as its parent has it) and `b`
    /// are the same, comments aside.
    fn same_column_of_partition(&self, a: &Column, b: &Column) -> bool {
        let strip = |c: &Column| Column {
            comment: None,
            ..c.clone()
        };
        super::column::same_column(self, &strip(a), &strip(b))
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{plans_to, schema};

    const PARENT: &str = "  m:\n    columns:\n      id: { type: bigint }\n      day: { type: date, nullable: false }\n{extra}    partition_by: range (day)\n  m_a:\n    partition_of: m\n    bound: FROM ('2006-01-01') TO ('2006-02-01')\n";

    fn parent(extra: &str) -> String {
        format!("tables:\n{}", PARENT.replace("{extra}", extra))
    }

    #[test]
    fn a_partition_made_a_table_of_its_own_is_detached_and_loses_what_the_parent_gained() {
        let from = format!(
            "{}  m_b:\n    partition_of: m\n    bound: FROM ('2006-02-01') TO ('2006-03-01')\n",
            parent("")
        );
        let to = format!(
            "{}  m_b:\n    columns:\n      id: {{ type: bigint }}\n      day: {{ type: date, nullable: false }}\n",
            parent("      extra: { type: text }\n")
        );
        plans_to(
            &from,
            &to,
            "
            expand: add column public.m.extra
                ALTER TABLE public.m ADD COLUMN extra text
            contract: detach partition public.m_b from public.m
                ALTER TABLE public.m DETACH PARTITION public.m_b CONCURRENTLY
            contract: drop column public.m_b.extra
                ALTER TABLE public.m_b DROP COLUMN extra
            contract: drop the CHECK that DETACH CONCURRENTLY added to public.m_b (it repeats the partition's bound)
                DO $bellows$ DECLARE c name; BEGIN FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'public.m_b'::regclass AND contype = 'c' AND conname <> ALL (ARRAY[]::name[]) LOOP EXECUTE format('ALTER TABLE public.m_b DROP CONSTRAINT %I', c); END LOOP; END $bellows$
            ",
        );
    }

    #[test]
    fn a_detached_partition_that_would_need_more_is_refused_with_the_reason() {
        let from = format!(
            "{}  m_b:\n    partition_of: m\n    bound: FROM ('2006-02-01') TO ('2006-03-01')\n",
            parent("")
        );
        let to = format!(
            "{}  m_b:\n    columns:\n      id: {{ type: bigint }}\n      day: {{ type: date, nullable: false }}\n      other: {{ type: text }}\n",
            parent("")
        );
        let e = crate::plan::plan(&schema(&from), &schema(&to), &Default::default())
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("making partition public.m_b a table of its own: its column other is not one of public.m's")
                && e.contains("DETACH PARTITION"),
            "{e}"
        );
    }
}
