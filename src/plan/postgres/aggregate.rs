//! Aggregates. A new one is made in expand, after its support functions;
//! one whose state function, initial state or parallel safety changes is
//! replaced in place (`CREATE OR REPLACE AGGREGATE`, in expand; abort puts
//! the old one back); one whose state type or final function changes (so
//! may its result) is dropped and made again in contract, in one
//! transaction; one the target no longer has is dropped in contract with
//! the functions, after every other contract step (a view dropped there
//! may call it) and before its support functions go.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::{comment_aggregate, create_aggregate, drop_aggregate};

pub(super) struct Aggregates;

impl Kind for Aggregates {
    objects!(in schema.aggregates: BTreeMap<RoutineKey, Aggregate>);

    fn same(_: &Planner<'_>, _: (), a: &Aggregate, b: &Aggregate) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), key: &'a RoutineKey, a: &'a Aggregate) {
        let step = new_step(
            ObjectKind::Function,
            key.to_string(),
            Action::Create,
            Phase::Expand,
            format!("create aggregate {key}"),
        )
        .sql_all(create_aggregate(key, a, false))
        .provides(Resource::Function(key.clone()))
        .requires_all(p.support_of(p.tgt, key, a))
        .undo_with(vec![
            undo_step(
                ObjectKind::Function,
                key.to_string(),
                format!("drop aggregate {key}"),
            )
            .sql(drop_aggregate(key))
            .removes(Resource::Function(key.clone())),
        ]);
        p.push(step);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), key: &'a RoutineKey, a: &'a Aggregate) {
        let step = new_step(
            ObjectKind::Function,
            key.to_string(),
            Action::Drop,
            Phase::Contract,
            format!("drop aggregate {key}"),
        )
        .sql(drop_aggregate(key))
        .hazard(
            HazardKind::UntrackedDependencies,
            format!("drops aggregate {key}: queries that call it (the application's, other functions' bodies) fail from contract on"),
        )
        .removes(Resource::Function(key.clone()))
        // Before its support functions go.
        .requires_all(p.support_of(p.cur, key, a));
        p.push(step);
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        key: &'a RoutineKey,
        o: &'a Aggregate,
        n: &'a Aggregate,
    ) {
        let only_comment = Aggregate {
            comment: n.comment.clone(),
            ..o.clone()
        } == *n;
        if only_comment {
            p.push(
                new_step(
                    ObjectKind::Comment,
                    key.to_string(),
                    Action::Alter,
                    Phase::Expand,
                    format!("comment on aggregate {key}"),
                )
                .sql(comment_aggregate(key, n.comment.as_deref()))
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Comment,
                        key.to_string(),
                        format!("put back the comment on aggregate {key}"),
                    )
                    .sql(comment_aggregate(key, o.comment.as_deref())),
                ]),
            );
            return;
        }
        // The result type follows the state type or the final function:
        // CREATE OR REPLACE cannot change it.
        let in_place = o.stype == n.stype && o.finalfunc == n.finalfunc;
        let mut sql = create_aggregate(key, n, in_place);
        if n.comment.is_none() && o.comment.is_some() {
            sql.push(comment_aggregate(key, None));
        }
        let step = if in_place {
            let mut undo = create_aggregate(key, o, true);
            if o.comment.is_none() && n.comment.is_some() {
                undo.push(comment_aggregate(key, None));
            }
            new_step(
                ObjectKind::Function,
                key.to_string(),
                Action::Replace,
                Phase::Expand,
                format!("replace aggregate {key} in place (calls from then on, the old app's too, use the new definition)"),
            )
            .sql_all(sql)
            .undo_with(vec![
                undo_step(
                    ObjectKind::Function,
                    key.to_string(),
                    format!("put back aggregate {key} as it was"),
                )
                .sql_all(undo),
            ])
        } else {
            new_step(
                ObjectKind::Function,
                key.to_string(),
                Action::Replace,
                Phase::Contract,
                format!("drop and make again aggregate {key}: its state type or final function changes, which CREATE OR REPLACE cannot do"),
            )
            .sql(drop_aggregate(key))
            .sql_all(sql)
            .hazard(
                HazardKind::MayFail,
                format!("fails (and changes nothing) if a view or other object the plan keeps uses aggregate {key}"),
            )
        };
        let step = step
            .provides(Resource::Function(key.clone()))
            .requires_all(p.support_of(p.tgt, key, n));
        p.push(step);
    }
}

impl Planner<'_> {
    /// The support functions of aggregate `key` that `schema` declares
    /// (a built-in one, or one bellows does not manage, is always there),
    /// and its schema when not `public`.
    fn support_of(&self, schema: &Schema, key: &RoutineKey, a: &Aggregate) -> Vec<Resource> {
        let mut out: Vec<Resource> = a
            .support_functions(key)
            .into_iter()
            .filter(|f| schema.routines.contains_key(f))
            .map(Resource::Function)
            .collect();
        if key.name.schema.as_str() != DEFAULT_SCHEMA {
            out.push(Resource::Schema(key.name.schema.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    const SFUNC: &str = "functions:\n  add_text(s text, v text): { returns: text, language: sql, body: SELECT s || v }\n";

    #[test]
    fn an_aggregate_is_made_after_its_function_and_dropped_before_it() {
        plans_to(
            "",
            &format!("{SFUNC}aggregates:\n  concat_all(text): {{ sfunc: add_text, stype: text, initcond: '' }}\n"),
            "
            expand: create function public.add_text(text, text)
                SET LOCAL search_path = public
                SET LOCAL check_function_bodies = off
                CREATE FUNCTION public.add_text(s text, v text)
             RETURNS text
             LANGUAGE sql
            AS $body$SELECT s || v$body$
            expand: create aggregate public.concat_all(text)
                CREATE AGGREGATE public.concat_all(text) (SFUNC = public.add_text, STYPE = text, INITCOND = '')
            ",
        );
        plans_to(
            &format!(
                "{SFUNC}aggregates:\n  concat_all(text): {{ sfunc: add_text, stype: text }}\n"
            ),
            "",
            "
            contract: drop aggregate public.concat_all(text)
                DROP AGGREGATE public.concat_all(text)
            contract: drop function public.add_text(text, text)
                DROP FUNCTION public.add_text(text, text)
            ",
        );
    }

    #[test]
    fn a_function_a_kept_aggregate_calls_cannot_be_dropped() {
        let from = crate::testing::schema(&format!(
            "{SFUNC}aggregates:\n  concat_all(text): {{ sfunc: add_text, stype: text }}\n"
        ));
        let mut to = from.clone();
        to.routines.clear();
        let e = crate::plan::plan(&from, &to, &Default::default())
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("aggregate public.concat_all(text) uses it"),
            "{e}"
        );
    }

    #[test]
    fn a_changed_aggregate_is_replaced_in_place_unless_its_result_may_change() {
        let f = |agg: &str| format!("{SFUNC}aggregates:\n  concat_all(text): {agg}\n");
        plans_to(
            &f("{ sfunc: add_text, stype: text }"),
            &f("{ sfunc: add_text, stype: text, initcond: '-', parallel: safe }"),
            "
            expand: replace aggregate public.concat_all(text) in place (calls from then on, the old app's too, use the new definition)
                CREATE OR REPLACE AGGREGATE public.concat_all(text) (SFUNC = public.add_text, STYPE = text, INITCOND = '-', PARALLEL = SAFE)
            ",
        );
        plans_to(
            &f("{ sfunc: add_text, stype: text }"),
            &f("{ sfunc: add_text, stype: text, finalfunc: upper }"),
            "
            contract: drop and make again aggregate public.concat_all(text): its state type or final function changes, which CREATE OR REPLACE cannot do
                DROP AGGREGATE public.concat_all(text)
                CREATE AGGREGATE public.concat_all(text) (SFUNC = public.add_text, STYPE = text, FINALFUNC = public.upper)
            ",
        );
    }
}
