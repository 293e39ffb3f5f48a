//! Comments kept apart from their objects (schemas, enum, range and
//! domain types, collations, sequences, indexes, table constraints). A
//! `COMMENT ON` is a catalog change that locks no table and that no app
//! reads: one step in expand, undone by putting the old text back. An
//! object this plan makes (or makes again: an index rebuilt and renamed
//! in contract, a constraint replaced, an enum rebuilt) starts without
//! one, so its comment follows the step that makes it, in that phase.

use std::collections::BTreeMap;

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::comment_sql;

pub(super) struct Comments;

impl Kind for Comments {
    objects!(in schema.comments: BTreeMap<CommentOn, String>);

    fn same(_: &Planner<'_>, _: (), a: &String, b: &String) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), on: &'a CommentOn, new: &'a String) {
        p.comment_on(on, None, Some(new));
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), on: &'a CommentOn, old: &'a String) {
        // One on an object that goes, goes with it.
        if p.tgt.has(on) {
            p.comment_on(on, Some(old), None);
        }
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        on: &'a CommentOn,
        old: &'a String,
        new: &'a String,
    ) {
        p.comment_on(on, Some(old), Some(new));
    }

    /// An object made again under its live name has lost the comment
    /// that compares equal.
    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        let (cur, tgt) = (p.cur, p.tgt);
        for (on, c) in &tgt.comments {
            if cur.comments.get(on) == Some(c) && !p.makers(on).is_empty() {
                p.comment_on(on, Some(c), Some(c));
            }
        }
    }
}

/// The resource of the object `on` names.
fn resource(on: &CommentOn) -> Resource {
    match on {
        CommentOn::Schema(s) => Resource::Schema(s.clone()),
        CommentOn::Type(q) | CommentOn::Domain(q) => Resource::Type(q.clone()),
        CommentOn::Collation(q) => Resource::Collation(q.clone()),
        CommentOn::Sequence(q) => Resource::Sequence(q.clone()),
        CommentOn::Index(q) => Resource::Index(q.clone()),
        CommentOn::Statistics(q) => Resource::Statistics(q.clone()),
        CommentOn::Constraint(t, c) => Resource::Constraint(t.clone(), c.clone()),
    }
}

impl Planner<'_> {
    /// The steps of this plan that make the object `on` names.
    fn makers(&self, on: &CommentOn) -> Vec<usize> {
        self.makers_of(&resource(on))
    }

    /// The steps of this plan that make (or make again) the object of
    /// resource `r`: those that provide it, or say they made it.
    pub(super) fn makers_of(&self, r: &Resource) -> Vec<usize> {
        let made = Resource::Made(Box::new(r.clone()));
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.provides.contains(r) || s.provides.contains(&made))
            .map(|(i, _)| i)
            .collect()
    }

    /// What must follow the making of the object of `r` in this plan
    /// waits for: the `Made` marker the making steps now provide, and the
    /// latest of their phases. None when the plan does not make it.
    pub(super) fn after_making(&mut self, r: &Resource) -> Option<(Resource, Phase)> {
        let makers = self.makers_of(r);
        let made = Resource::Made(Box::new(r.clone()));
        let mut phase = None;
        for &i in &makers {
            phase = phase.max(Some(self.steps[i].phase));
            if !self.steps[i].provides.contains(&made) {
                self.steps[i].provides.push(made.clone());
            }
        }
        phase.map(|p| (made, p))
    }

    /// The comment on `on` from `old` to `new`: after the steps that make
    /// the object, if this plan does (its undo goes with theirs), else in
    /// expand.
    fn comment_on(&mut self, on: &CommentOn, old: Option<&String>, new: Option<&String>) {
        let after = self.after_making(&resource(on));
        let phase = after.as_ref().map_or(Phase::Expand, |(_, p)| *p);
        let what = if new.is_some() {
            format!("comment on {on}")
        } else {
            format!("drop the comment on {on}")
        };
        let mut step = new_step(
            ObjectKind::Comment,
            on.to_string(),
            Action::Alter,
            phase,
            what,
        )
        .sql(comment_sql(on, new.map(String::as_str)));
        step = match after {
            None => step.undo_with(vec![
                undo_step(
                    ObjectKind::Comment,
                    on.to_string(),
                    format!("restore the comment on {on}"),
                )
                .sql(comment_sql(on, old.map(String::as_str))),
            ]),
            Some((made, _)) => step.requires(made).undo_nothing(),
        };
        self.push(step);
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plans_to;

    #[test]
    fn a_comment_is_set_in_expand_and_follows_an_object_made_again() {
        plans_to(
            "schemas: [audit]\nenums: { mood: [a, b] }\ntables:\n  t:\n    columns:\n      id: { type: bigint }\n      m: { type: text }\n    primary_key: [id]\n    indexes:\n      t_m: { columns: [m], comment: On m. }\n",
            "schemas: { audit: { comment: Audit trail. } }\nenums: { mood: { values: [b, a], comment: Feelings. } }\ntables:\n  t:\n    columns:\n      id: { type: bigint }\n      m: { type: text }\n    primary_key: { columns: [id], comment: The key. }\n    indexes:\n      t_m: { columns: [m], unique: true, comment: On m. }\n",
            "
            expand: create enum public.mood_bellows_new: public.mood with its values in their new order
                CREATE TYPE public.mood_bellows_new AS ENUM ('b', 'a')
            expand: build the new definition of index t_m on public.t as t_m_bellows_new
                CREATE UNIQUE INDEX CONCURRENTLY t_m_bellows_new ON public.t USING btree (m)
            expand: comment on constraint t_pkey on public.t
                COMMENT ON CONSTRAINT t_pkey ON public.t IS 'The key.'
            expand: comment on schema audit
                COMMENT ON SCHEMA audit IS 'Audit trail.'
            contract: drop the old enum public.mood and give public.mood_bellows_new its name
                DROP TYPE public.mood
                ALTER TYPE public.mood_bellows_new RENAME TO mood
            contract: drop index t_m on public.t
                DROP INDEX CONCURRENTLY IF EXISTS public.t_m
            contract: give t_m_bellows_new its final name t_m
                ALTER INDEX public.t_m_bellows_new RENAME TO t_m
            contract: comment on index public.t_m
                COMMENT ON INDEX public.t_m IS 'On m.'
            contract: comment on type public.mood
                COMMENT ON TYPE public.mood IS 'Feelings.'
            ",
        );
    }
}
