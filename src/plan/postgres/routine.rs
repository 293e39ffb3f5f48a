//! Functions and procedures. A new one is made in expand, before the
//! tables (whose defaults, checks and indexes may call it), with its body
//! checked when it runs, as `pg_dump` does; one with an SQL-standard body,
//! which the server resolves when it is made, after the tables and views
//! it names. A changed one that `CREATE OR REPLACE` can take is replaced
//! in place in expand (no lock a caller waits for: a call in flight
//! finishes with the old definition); abort puts the old one back. One
//! that cannot be replaced so (its result, output arguments or argument
//! names change) is dropped and made again in contract, in one
//! transaction, with its owner and privileges given back; one the target
//! no longer has is dropped in contract, after every other contract step
//! (a default, view or index dropped there may still call it), or, when
//! its SQL-standard body reads a column or table the plan drops, before
//! that. A changed argument list is another routine (an overload): the
//! new one is made in expand beside the old, which goes in contract,
//! unless the two cannot stand side by side (a call would match both):
//! then one contract transaction swaps them.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::{create_routine, routine_comment, routine_signature};

pub(super) struct Routines;

impl Kind for Routines {
    objects!(in schema.routines: BTreeMap<RoutineKey, Routine>);

    fn same(_: &Planner<'_>, _: (), a: &Routine, b: &Routine) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), key: &'a RoutineKey, r: &'a Routine) {
        match replaced_overload(p.cur, p.tgt, key) {
            Some((old_key, old)) => p.swap_overload(old_key, old, key, r),
            None => p.add_routine(key, r),
        }
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), key: &'a RoutineKey, r: &'a Routine) {
        // One a new overload replaces goes with that one's step.
        let replaced = p
            .tgt
            .routines
            .keys()
            .filter(|k| !p.cur.routines.contains_key(*k))
            .any(|k| replaced_overload(p.cur, p.tgt, k).is_some_and(|(o, _)| o == key));
        if !replaced {
            p.drop_routine(key, r);
        }
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        key: &'a RoutineKey,
        o: &'a Routine,
        n: &'a Routine,
    ) {
        p.alter_routine(key, o, n);
    }
}

/// The settings a routine's statements run with: names resolve as in a
/// target file; a string body is checked when it runs.
fn routine_settings(r: &Routine) -> Vec<String> {
    let mut out = vec![view::VIEW_SEARCH_PATH.to_string()];
    if !r.sql_standard_body() {
        out.push("SET LOCAL check_function_bodies = off".to_string());
    }
    out
}

/// `DROP FUNCTION` (or `PROCEDURE`) of `key`.
fn drop_sql(key: &RoutineKey, kind: RoutineKind) -> String {
    format!("DROP {} {}", kind.keyword(), routine_signature(key))
}

/// What gives a routine made again its owner and privileges, as `facts`
/// found them.
fn ownership(key: &RoutineKey, kind: RoutineKind, facts: &RoutineFacts) -> Vec<String> {
    let sig = routine_signature(key);
    let what = kind.keyword();
    let mut out = Vec::new();
    if let Some(o) = &facts.owner {
        out.push(format!("ALTER {what} {sig} OWNER TO {}", qi(o)));
    }
    if let Some(grants) = &facts.grants {
        out.push(format!("REVOKE ALL ON {what} {sig} FROM PUBLIC"));
        for g in grants {
            out.push(format!(
                "GRANT {} ON {what} {sig} TO {}{}",
                g.privilege,
                g.grantee.as_ref().map_or_else(|| "PUBLIC".to_string(), qi),
                if g.grantable {
                    " WITH GRANT OPTION"
                } else {
                    ""
                }
            ));
        }
    }
    out
}

/// The routine of the current schema that the new `key` replaces and
/// cannot stand beside: the target drops it, and a call that
/// matches it would match both (the new one takes its arguments
/// first, then only ones with defaults, or the other way round), so
/// while both exist the server refuses such calls as ambiguous.
fn replaced_overload<'a>(
    cur: &'a Schema,
    tgt: &'a Schema,
    key: &RoutineKey,
) -> Option<(&'a RoutineKey, &'a Routine)> {
    let new = tgt.routines.get(key)?;
    let optional = |r: &Routine| {
        r.args
            .iter()
            .filter(|a| a.mode.is_input() && a.default.is_some())
            .count()
    };
    let clash = |short: &[ColumnType], long: &[ColumnType], defaults: usize| {
        short.len() < long.len() && long.len() - defaults <= short.len() && long.starts_with(short)
    };
    cur.routines
        .iter()
        .filter(|(k, _)| k.name == key.name && !tgt.routines.contains_key(*k))
        .find(|(k, old)| {
            clash(&k.args, &key.args, optional(new)) || clash(&key.args, &k.args, optional(old))
        })
}

impl Planner<'_> {
    /// What making `r` needs first: for an SQL-standard body, the target's
    /// tables and views it names (the server resolves them when it is
    /// made).
    fn routine_requirements(&self, r: &Routine) -> Vec<Resource> {
        // A table's or view's row type in the signature (`RETURNS SETOF
        // customer`, an argument of type `orders`) must exist first, as
        // must, for a body in SQL-standard form, what the body reads.
        let signature = r
            .args
            .iter()
            .map(|a| a.ty.to_string())
            .chain(r.returns.clone())
            .flat_map(|text| type_words(&text));
        let body = if r.sql_standard_body() {
            crate::sql::postgres::body_relations(&r.body)
        } else {
            Vec::new()
        };
        let mut out: Vec<Resource> = signature
            .chain(body)
            .filter_map(|q| {
                if self.tgt.views.contains_key(&q) {
                    Some(Resource::View(q))
                } else if self.tgt.tables.contains_key(&q) {
                    Some(Resource::Table(q))
                } else {
                    None
                }
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn add_routine(&mut self, key: &RoutineKey, r: &Routine) {
        let noun = r.kind.noun();
        let mut step = new_step(
            ObjectKind::Function,
            key.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create {noun} {key}"),
        )
        .sql_all(routine_settings(r))
        .sql_all(create_routine(key, r, false))
        .provides(Resource::Function(key.clone()))
        .requires_all(self.routine_requirements(r))
        .undo_with(vec![
            undo_step(
                ObjectKind::Function,
                key.to_string(),
                format!("drop {noun} {key}"),
            )
            .sql(drop_sql(key, r.kind))
            .removes(Resource::Function(key.clone())),
        ]);
        if key.name.schema.as_str() != DEFAULT_SCHEMA {
            step = step.requires(Resource::Schema(key.name.schema.clone()));
        }
        self.push(step);
    }

    /// A new overload that cannot stand beside the one it replaces: both
    /// go in one contract transaction, the old one dropped and the new
    /// one made.
    fn swap_overload(
        &mut self,
        old_key: &RoutineKey,
        old: &Routine,
        key: &RoutineKey,
        new: &Routine,
    ) {
        let noun = new.kind.noun();
        self.remake(
            (old_key, old),
            (key, new),
            format!("{key} replaces it and cannot stand beside it (a call that matches one matches both), so it must be dropped first"),
            format!("replace {} {old_key} by {noun} {key}: while both existed, a call that matches one would match both and fail as ambiguous", old.kind.noun()),
            format!("{old_key} goes and {key} comes only in contract: code that calls it with the new arguments works from then on"),
        );
    }

    /// Drops `old` and makes `new` in one contract transaction, giving
    /// back the owner and privileges the old one had; refused (`why` it
    /// must be dropped) while the catalog records dependents, which
    /// would block the drop.
    fn remake(
        &mut self,
        (old_key, old): (&RoutineKey, &Routine),
        (key, new): (&RoutineKey, &Routine),
        why: String,
        description: String,
        hazard: String,
    ) {
        let facts = old.facts.clone().unwrap_or_default();
        if !facts.dependents.is_empty() {
            self.error(PlanError::Unsupported {
                object: format!("{} {old_key}", old.kind.noun()),
                what: format!("{why}, and {} use it", facts.dependents.join(", ")),
                hint: "make the new version under another name or argument list, move what uses the old one there, and drop that in a later migration".into(),
            });
            return;
        }
        let mut sql = routine_settings(new);
        sql.push(drop_sql(old_key, old.kind));
        sql.extend(create_routine(key, new, false));
        sql.extend(ownership(key, new.kind, &facts));
        let step = new_step(
            ObjectKind::Function,
            key.to_string(),
            Action::Replace,
            Phase::Contract,
            description,
        )
        .sql_all(sql)
        .hazard(HazardKind::UntrackedDependencies, hazard)
        .requires_all(self.routine_requirements(new))
        .provides(Resource::Function(key.clone()))
        .removes(Resource::Function(old_key.clone()));
        self.push(step);
    }

    fn drop_routine(&mut self, key: &RoutineKey, r: &Routine) {
        let noun = r.kind.noun();
        let dependents = r
            .facts
            .as_ref()
            .map(|f| f.dependents.clone())
            .unwrap_or_default();
        // Managed triggers that call it: the target must drop them too
        // (they go first: every other contract step runs before this one).
        let calls = |t: &Trigger| key.args.is_empty() && t.function == key.name;
        let managed: Vec<&TriggerKey> = self
            .cur
            .triggers
            .iter()
            .filter(|(_, t)| calls(t))
            .map(|(k, _)| k)
            .collect();
        let mut kept: Vec<String> = self
            .tgt
            .triggers
            .iter()
            .filter(|(_, t)| calls(t))
            .map(|(k, _)| format!("trigger {k}"))
            .collect();
        // Aggregates the target keeps that it supports.
        kept.extend(
            self.tgt
                .aggregates
                .iter()
                .filter(|(k, a)| a.support_functions(k).contains(key))
                .map(|(k, _)| format!("aggregate {k}")),
        );
        // Column defaults that call it and stay as they are: the plan
        // changes a default in expand and drops a column before this.
        for (table, column) in r.facts.iter().flat_map(|f| &f.defaults) {
            let column_of = |s: &'_ Schema| {
                s.tables
                    .get(table)
                    .and_then(|t| t.column(column.as_str()))
                    .cloned()
            };
            if let (Some(now), Some(then)) = (column_of(self.cur), column_of(self.tgt))
                && crate::diff::postgres::same_default(
                    now.default.as_deref(),
                    then.default.as_deref(),
                    &now.ty,
                )
            {
                kept.push(format!("the default of column {}", col_name(table, column)));
            }
        }
        // What else the catalog records and the plan never drops.
        kept.extend(
            dependents
                .iter()
                .filter(|d| {
                    let trigger = d.strip_prefix("trigger ").and_then(|d| d.split(' ').next());
                    match trigger {
                        Some(n) => !managed.iter().any(|k| {
                            crate::sql::quote_ident(k.name.as_str()) == n || k.name.as_str() == n
                        }),
                        None => d.starts_with("policy ") || d.starts_with("rule "),
                    }
                })
                .cloned(),
        );
        if !kept.is_empty() {
            self.error(PlanError::Unsupported {
                object: format!("{noun} {key}"),
                what: format!(
                    "the target drops it, but {} uses it",
                    kept.join(", ")
                ),
                hint: format!(
                    "declare it under `{}s:` in the target to keep it (`bellows dump` writes it), or drop what uses it first",
                    noun
                ),
            });
            return;
        }
        let mut message = format!(
            "drops {noun} {key}: code that calls it (the application, other functions' bodies) fails from contract on"
        );
        if !dependents.is_empty() {
            message.push_str(&format!(
                "; the catalog records {} as using it, which this plan must drop first",
                dependents.join(", ")
            ));
        }
        let mut step = new_step(
            ObjectKind::Function,
            key.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop {noun} {key}"),
        )
        .sql(drop_sql(key, r.kind))
        .hazard(HazardKind::UntrackedDependencies, message)
        .removes(Resource::Function(key.clone()));
        // Before what its SQL-standard body reads goes.
        for d in r.facts.iter().flat_map(|f| &f.reads) {
            step = step.requires(match &d.column {
                Some(c) => Resource::column(&d.table, c),
                None => Resource::table(&d.table),
            });
        }
        if key.name.schema.as_str() != DEFAULT_SCHEMA {
            step = step.requires(Resource::Schema(key.name.schema.clone()));
        }
        self.push(step);
    }

    fn alter_routine(&mut self, key: &RoutineKey, o: &Routine, n: &Routine) {
        let noun = n.kind.noun();
        let only_comment = Routine {
            comment: n.comment.clone(),
            ..o.clone()
        } == *n;
        if only_comment {
            let sql = |c: Option<&str>| routine_comment(key, n.kind, c);
            self.push(
                new_step(
                    ObjectKind::Comment,
                    key.to_string(),
                    Action::Alter,
                    Phase::Expand,
                    format!("comment on {noun} {key}"),
                )
                .sql(sql(n.comment.as_deref()))
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Comment,
                        key.to_string(),
                        format!("restore the comment on {noun} {key}"),
                    )
                    .sql(sql(o.comment.as_deref())),
                ]),
            );
            return;
        }
        let comment = |from: &Routine, to: &Routine| -> Vec<String> {
            if from.comment == to.comment {
                Vec::new()
            } else {
                vec![routine_comment(key, to.kind, to.comment.as_deref())]
            }
        };
        let definition = |r: &Routine| -> Vec<String> {
            let mut sql = create_routine(key, r, true);
            if r.comment.is_some() {
                sql.pop();
            }
            sql
        };
        match o.replaceable_by(n) {
            Ok(()) => {
                let step = new_step(
                    ObjectKind::Function,
                    key.to_string(),
                    Action::Replace,
                    Phase::Expand,
                    format!("replace {noun} {key} in place (calls from then on, the old app's too, run the new definition)"),
                )
                .sql_all(routine_settings(n))
                .sql_all(definition(n))
                .sql_all(comment(o, n))
                .requires_all(self.routine_requirements(n))
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Function,
                        key.to_string(),
                        format!("put back the old definition of {noun} {key}"),
                    )
                    .sql_all(routine_settings(o))
                    .sql_all(definition(o))
                    .sql_all(comment(n, o)),
                ]);
                self.push(step);
            }
            Err(why) => self.remake(
                (key, o),
                (key, n),
                format!("{why}, so it must be dropped and made again"),
                format!("drop and make again {noun} {key}: {why}, which CREATE OR REPLACE cannot do"),
                format!("{noun} {key} changes in a way its callers may notice ({why}); code that calls it expecting the old definition fails from contract on"),
            ),
        }
    }

    /// Refuses a change to `table` (`change`) that a function's
    /// SQL-standard body reads, as the server recorded it, when the
    /// function stays: as it is, or changed into a body that reads it
    /// still (when the server has read the target's). One the target
    /// drops goes before the change (see [`Planner::order_routine_drops`]).
    pub(super) fn guard_routines(
        &mut self,
        table: &QualifiedName,
        change: Affects<'_>,
        what: &str,
    ) {
        let mut hits = Vec::new();
        for (key, r) in &self.tgt.routines {
            let facts = match self.cur.routines.get(key) {
                Some(live) if live == r => live.facts.as_ref(),
                _ => r.facts.as_ref(),
            };
            let Some(d) = facts.and_then(|f| f.reads.iter().find(|d| change.breaks(table, d)))
            else {
                continue;
            };
            let how = match &d.column {
                Some(c) => format!("its SQL-standard body reads column {c}"),
                None => format!("its SQL-standard body reads {}", d.table),
            };
            hits.push(format!("{} {key} ({how})", r.kind.noun()));
        }
        if !hits.is_empty() {
            self.error(PlanError::Unsupported {
                object: hits.join(", "),
                what: format!("{what} under it (the server refuses)"),
                hint: "change the function's body in the target so it no longer reads it, or drop the function".into(),
            });
        }
    }

    /// Routines the plan drops go after every other contract step: a
    /// default, check, index or view dropped there may still call one.
    /// One whose SQL-standard body reads what a contract step drops goes
    /// before that step instead.
    pub(super) fn order_routine_drops(&mut self) {
        // Each dropped routine, with what its body reads (its step
        // requires those, so it runs before they go).
        let dropped: Vec<(Resource, Vec<Resource>)> = self
            .steps
            .iter()
            .filter(|s| s.phase == Phase::Contract && s.id.kind == ObjectKind::Function)
            .flat_map(|s| {
                s.removes
                    .iter()
                    .filter(|r| !s.provides.contains(r))
                    .map(|r| {
                        let reads = s
                            .requires
                            .iter()
                            .filter(|q| matches!(q, Resource::Column(..) | Resource::Table(_)))
                            .cloned()
                            .collect();
                        (r.clone(), reads)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        for s in &mut self.steps {
            if s.phase != Phase::Contract || s.id.kind == ObjectKind::Function {
                continue;
            }
            for (f, reads) in &dropped {
                if !s.removes.iter().any(|r| reads.contains(r)) {
                    s.requires.push(f.clone());
                }
            }
        }
    }
}

/// The names a type's text holds (`SETOF customer`, `TABLE(id integer,
/// row public.orders)`, `"Odd".t[]`), each as a relation would be named;
/// keywords and built-in types come along and match no relation.
fn type_words(text: &str) -> Vec<QualifiedName> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for ch in text.chars().chain([' ']) {
        if ch == '"' {
            quoted = !quoted;
            word.push(ch);
        } else if quoted || ch.is_alphanumeric() || matches!(ch, '_' | '$' | '.') {
            word.push(ch);
        } else if !word.is_empty()
            && let Ok(q) = QualifiedName::parse(&std::mem::take(&mut word))
        {
            out.push(q);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::type_words;
    use crate::testing::plans_to;

    #[test]
    fn a_signature_names_the_relations_whose_row_types_it_uses() {
        let words: Vec<String> = type_words(r#"TABLE(id integer, o "Odd".orders[]) "#)
            .iter()
            .map(|q| q.to_string())
            .collect();
        assert_eq!(
            words,
            [
                "public.TABLE",
                "public.id",
                "public.integer",
                "public.o",
                "Odd.orders"
            ]
        );
    }

    #[test]
    fn a_function_over_a_new_tables_row_type_is_made_after_the_table() {
        plans_to(
            "",
            "tables:\n  customer: { columns: { id: { type: bigint } } }\nfunctions:\n  best():\n    returns: SETOF customer\n    language: sql\n    body: SELECT * FROM customer\n",
            "
            expand: create table public.customer
                CREATE TABLE public.customer (id bigint)
            expand: create function public.best()
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                CREATE FUNCTION public.best()
             RETURNS SETOF customer
             LANGUAGE sql
            AS $body$SELECT * FROM customer$body$
            ",
        );
    }
}
