//! Privileges on relations, their columns, schemas, routines and types,
//! for the roles the target names. A grant is a catalog change that locks
//! no table: made in expand (in the phase its object is made, for one
//! made again later: a view, a column swapped for its retyped shadow, a
//! function dropped and made, an enum rebuilt), revoked in contract (the
//! old app may still need it), or from an object the plan makes, right
//! after the making (PUBLIC's EXECUTE on a new function the file denies
//! it). A grant to a role the target does not name is left alone, and
//! one on an object that goes (or is renamed: grants follow a rename)
//! goes with it. Default privileges, and what they give the objects a
//! plan makes: `default_privilege.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::kind::{Kind, objects};
use super::*;
use crate::sql::postgres::{grant_sql, revoke_sql};

pub(super) struct Grants;

impl Kind for Grants {
    objects!(in schema.grants: BTreeMap<GrantKey, Privileges>);

    fn same(_: &Planner<'_>, _: (), a: &Privileges, b: &Privileges) -> bool {
        a == b
    }

    fn added<'a>(p: &mut Planner<'a>, _: (), g: &'a GrantKey, new: &'a Privileges) {
        if p.reset_by_defaults(g) || p.on_rebuilt_table(g) || p.taken_by_owner_change(g) {
            return;
        }
        // Under the name the object is renamed from, the live grants: they
        // followed the rename.
        let live = match &g.on {
            GrantOn::Relation(q, k) => p.renamed_from_live(q).and_then(|from| {
                p.cur.grants.get(&GrantKey {
                    on: GrantOn::Relation(from.clone(), *k),
                    grantee: g.grantee.clone(),
                })
            }),
            GrantOn::Column(q, c) => p.renamed_from_live(q).and_then(|from| {
                p.cur.grants.get(&GrantKey {
                    on: GrantOn::Column(from.clone(), c.clone()),
                    grantee: g.grantee.clone(),
                })
            }),
            GrantOn::Schema(_) | GrantOn::Routine(_) | GrantOn::Type(_) => None,
        }
        .cloned()
        .unwrap_or_else(|| g.fresh());
        p.change_grants(g, &live, new);
    }

    fn removed<'a>(p: &mut Planner<'a>, _: (), g: &'a GrantKey, old: &'a Privileges) {
        if !p.tgt.roles.contains(&g.grantee)
            || !p.object_stays(g)
            || p.reset_by_defaults(g)
            || p.on_rebuilt_table(g)
            || p.taken_by_owner_change(g)
        {
            return;
        }
        p.change_grants(g, old, &g.fresh());
    }

    fn altered<'a>(
        p: &mut Planner<'a>,
        _: (),
        g: &'a GrantKey,
        old: &'a Privileges,
        new: &'a Privileges,
    ) {
        if !p.reset_by_defaults(g) && !p.on_rebuilt_table(g) && !p.taken_by_owner_change(g) {
            p.change_grants(g, old, new);
        }
    }

    /// An object made anew under a live one's name (a view in place of
    /// a table, a materialized view in place of a view) starts with no
    /// grant, even where the lists compare equal: they are made again. And
    /// a role the target names must exist on the server the plan is for:
    /// GRANT to another would fail halfway.
    fn finish<'a>(p: &mut Planner<'a>, _: ()) {
        p.refuse_grants_to_owners();
        p.reset_made_objects();
        let (cur, tgt) = (p.cur, p.tgt);
        for (g, privileges) in &tgt.grants {
            if p.reset_by_defaults(g) {
                continue;
            }
            let anew = g.on.relation().is_some_and(|q| p.made_anew(q))
                || p.column_swapped(g)
                || made_again(&g.on).is_some_and(|r| !p.makers_of(&r).is_empty());
            if cur.grants.get(g) == Some(privileges) && anew {
                p.change_grants(g, &g.fresh(), privileges);
            }
        }
        let Some(known) = p.server_roles else {
            return;
        };
        // The roles the file names, and the owners of its default
        // privileges.
        let owners = p.tgt.default_grants.keys().map(|k| &k.owner);
        let missing: Vec<&str> = p
            .tgt
            .roles
            .iter()
            .chain(owners)
            .filter(|r| r.as_str() != PUBLIC_ROLE && !known.contains(*r))
            .map(Ident::as_str)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            p.error(PlanError::Unsupported {
                object: missing.join(", "),
                what: format!(
                    "granting privileges to role(s) {} that the server does not have",
                    missing.join(", ")
                ),
                hint: "create the roles first (bellows does not manage roles), or take them out of `roles:` and `default_privileges:`".into(),
            });
        }
    }
}

/// Whether grants on `on` are on the object `owned` (a key of
/// `owners:`) names: that object, or a column of it.
pub(super) fn on_owned(owned: &GrantOn, on: &GrantOn) -> bool {
    match (owned, on) {
        (GrantOn::Relation(q, _), GrantOn::Column(t, _)) => q == t,
        _ => owned == on,
    }
}

impl<'a> Planner<'a> {
    /// The owner change, old owner to new, of the object stated under
    /// `on` in `owners:` (a column's: its table's) that stays, and the
    /// key it is stated under.
    pub(super) fn owner_change(&self, on: &GrantOn) -> Option<(&'a GrantOn, &'a Ident, &'a Ident)> {
        let (key, new) = self.tgt.stated_owner(on)?;
        let old = self
            .cur
            .stated_owner(on)
            .map(|(_, r)| r)
            .or(self.current_user)?;
        (old != new && !self.owned_object_made(key)).then_some((key, old, new))
    }

    /// Who owns the object of `on` once the plan is done: the owner the
    /// target states, else the live one, else (a new object, or one the
    /// planning role owns) the planning role, when known.
    fn owner_after(&self, on: &GrantOn) -> Option<&'a Ident> {
        self.tgt
            .stated_owner(on)
            .or_else(|| self.cur.stated_owner(on))
            .map(|(_, r)| r)
            .or(self.current_user)
    }

    /// A grant to the role that owns the object is refused: an owner
    /// holds every privilege on what it owns, and the catalog lists none
    /// of them as grants, so the plan would grant it again forever (and
    /// apply's check after contract would fail).
    fn refuse_grants_to_owners(&mut self) {
        let tgt = self.tgt;
        for (g, privileges) in &tgt.grants {
            if privileges.is_empty() || self.owner_after(&g.on) != Some(&g.grantee) {
                continue;
            }
            let names: Vec<&str> = privileges.keys().map(String::as_str).collect();
            self.error(PlanError::Unsupported {
                object: g.on.to_string(),
                what: format!(
                    "granting {} on {} to {}, which owns it: an owner holds every privilege on what it owns, and PostgreSQL lists none of them as grants",
                    lower(&names),
                    g.on,
                    g.grantee
                ),
                hint: format!("take {} out of the grants on {}", g.grantee, g.on),
            });
        }
    }

    /// Whether grantee `g`'s privileges are the owner change's to give:
    /// `ALTER ... OWNER` hands the old owner's (its own, and what it was
    /// granted) to the new owner, merged with what that one held. So
    /// what the target grants the old owner is granted again after the
    /// change, in its step, and what the new owner holds is not revoked
    /// (it is the owner's then).
    fn taken_by_owner_change(&self, g: &GrantKey) -> bool {
        self.owner_change(&g.on)
            .is_some_and(|(_, old, new)| g.grantee == *old || g.grantee == *new)
    }
}

impl Planner<'_> {
    /// From `old` privileges of grantee `g` to `new`: what is granted (or
    /// made grantable) in expand, one step; what is revoked (or no longer
    /// grantable) in contract, another.
    fn change_grants(&mut self, g: &GrantKey, old: &Privileges, new: &Privileges) {
        // What a swapped column held goes with it: its shadow starts bare.
        let none = Privileges::new();
        let old = if self.column_swapped(g) { &none } else { old };
        let made = self.grant_object_made(g);
        let Change {
            plain,
            with_option,
            revoked,
            option_revoked,
        } = Change::between(g.on.kind(), old, new);
        let (r, phase) = self.grant_object(g);
        let id = format!("{}:{}", g.on, g.grantee);
        if !plain.is_empty() || !with_option.is_empty() {
            let mut sql = Vec::new();
            let mut undo = Vec::new();
            let mut said = Vec::new();
            if !plain.is_empty() {
                sql.push(grant_sql(g, &plain, false));
                undo.push(revoke_sql(g, &plain, false));
                said.push(lower(&plain));
            }
            if !with_option.is_empty() {
                sql.push(grant_sql(g, &with_option, true));
                // A privilege held before keeps it; only the option goes.
                let (had, fresh): (Vec<&str>, Vec<&str>) =
                    with_option.iter().partition(|p| old.contains_key(**p));
                if !had.is_empty() {
                    undo.push(revoke_sql(g, &had, true));
                }
                if !fresh.is_empty() {
                    undo.push(revoke_sql(g, &fresh, false));
                }
                said.push(format!("{} with grant option", lower(&with_option)));
            }
            let what = format!("grant {} on {} to {}", said.join("; "), g.on, g.grantee);
            let mut step = new_step(ObjectKind::Grant, id.clone(), Action::Create, phase, what)
                .sql_all(sql)
                .requires_all(r.clone())
                .undo_with(vec![
                    undo_step(
                        ObjectKind::Grant,
                        id.clone(),
                        format!("take back what was granted on {} to {}", g.on, g.grantee),
                    )
                    .sql_all(undo),
                ]);
            if g.grantee.as_str() == PUBLIC_ROLE && !made {
                let mut given = plain.clone();
                given.extend(&with_option);
                step = step.hazard(
                    HazardKind::AccessWidened,
                    format!("every role gains {} on {}", lower(&given), g.on),
                );
            }
            self.push(step);
        }
        if !revoked.is_empty() || !option_revoked.is_empty() {
            let mut sql = Vec::new();
            let mut said = Vec::new();
            if !revoked.is_empty() {
                sql.push(revoke_sql(g, &revoked, false));
                said.push(lower(&revoked));
            }
            if !option_revoked.is_empty() {
                sql.push(revoke_sql(g, &option_revoked, true));
                said.push(format!("the grant option for {}", lower(&option_revoked)));
            }
            let what = format!("revoke {} on {} from {}", said.join("; "), g.on, g.grantee);
            // From an object this plan makes, at once: no app has used it
            // yet (PUBLIC's EXECUTE on a new function, say).
            let (phase, made) = if made {
                (phase, true)
            } else {
                (Phase::Contract, false)
            };
            let mut step = new_step(ObjectKind::Grant, id, Action::Drop, phase, what)
                .sql_all(sql)
                .requires_all(r);
            if !revoked.is_empty() && !made {
                let still = if self.public_keeps(g, &revoked) {
                    " (but PUBLIC has it, so the role still does)"
                } else {
                    ""
                };
                step = step.hazard(
                    HazardKind::OldAppVisible,
                    format!("{} loses {} on {}{still}", g.grantee, lower(&revoked), g.on),
                );
            }
            if step.phase != Phase::Contract {
                // Before contract, abort gives back what was taken.
                let (with_option, plain): (Vec<&str>, Vec<&str>) =
                    revoked.iter().partition(|p| old.get(**p) == Some(&true));
                let with_option: Vec<&str> =
                    with_option.into_iter().chain(option_revoked).collect();
                let mut undo = Vec::new();
                if !plain.is_empty() {
                    undo.push(grant_sql(g, &plain, false));
                }
                if !with_option.is_empty() {
                    undo.push(grant_sql(g, &with_option, true));
                }
                step = step.undo_with(vec![
                    undo_step(
                        ObjectKind::Grant,
                        format!("{}:{}", g.on, g.grantee),
                        format!("give back what was revoked on {} from {}", g.on, g.grantee),
                    )
                    .sql_all(undo),
                ]);
            }
            self.push(step);
        }
    }

    /// Whether relation `q` is live under another kind than the target's
    /// (table, view, materialized view), so the plan drops and makes it.
    pub(super) fn made_anew(&self, q: &QualifiedName) -> bool {
        let kind = |s: &Schema| {
            if s.tables.contains_key(q) {
                Some(0)
            } else {
                s.views
                    .get(q)
                    .map(|v| if v.is_materialized() { 2 } else { 1 })
            }
        };
        matches!((kind(self.cur), kind(self.tgt)), (Some(a), Some(b)) if a != b)
    }

    /// Whether `g` is on a column that contract swaps for its retyped
    /// shadow.
    fn column_swapped(&self, g: &GrantKey) -> bool {
        matches!(&g.on, GrantOn::Column(q, c) if self.swapped.contains_key(&(q.clone(), c.clone())))
    }

    /// Whether PUBLIC holds each of `privileges` on the object of `g`
    /// after the plan (a role other than PUBLIC revoked them).
    fn public_keeps(&self, g: &GrantKey, privileges: &[&str]) -> bool {
        if g.grantee.as_str() == PUBLIC_ROLE {
            return false;
        }
        let public = GrantKey {
            on: g.on.clone(),
            grantee: Ident::new(PUBLIC_ROLE).expect("a valid name"),
        };
        // Stated by the target when it lists PUBLIC; else as it is live.
        let states = if self.tgt.roles.contains(&public.grantee) {
            self.tgt
        } else {
            self.cur
        };
        let held = states
            .grants
            .get(&public)
            .cloned()
            .unwrap_or_else(|| public.fresh());
        privileges.iter().all(|p| held.contains_key(*p))
    }

    /// Whether this plan makes the object of `g` (anew, or again under its
    /// name), so that it starts with what a fresh object holds.
    pub(super) fn grant_object_made(&self, g: &GrantKey) -> bool {
        let live = match &g.on {
            GrantOn::Relation(q, GrantObject::Sequence) => self.cur.sequences.contains_key(q),
            GrantOn::Relation(q, _) => {
                (self.cur.tables.contains_key(q)
                    || self.cur.views.contains_key(q)
                    || self.renamed_from_live(q).is_some())
                    && !self.made_anew(q)
            }
            GrantOn::Column(q, c) => {
                let table = self.renamed_from_live(q).unwrap_or(q);
                let from = self
                    .tgt
                    .tables
                    .get(q)
                    .and_then(|t| t.column(c.as_str()))
                    .and_then(|t| t.renamed_from.as_ref());
                self.cur.tables.get(table).is_some_and(|t| {
                    t.column(c.as_str()).is_some()
                        || from.is_some_and(|f| t.column(f.as_str()).is_some())
                }) && !self.column_swapped(g)
            }
            GrantOn::Schema(s) => self.cur.schemas.contains(s) || s.as_str() == DEFAULT_SCHEMA,
            GrantOn::Routine(k) => {
                self.cur.routines.contains_key(k)
                    && self.makers_of(&Resource::Function(k.clone())).is_empty()
            }
            GrantOn::Type(q) => {
                self.cur.has_type(q) && self.makers_of(&Resource::Type(q.clone())).is_empty()
            }
        };
        !live
    }

    /// Whether the object of live grant `g` is in the target under the
    /// same name and kind.
    pub(super) fn object_stays(&self, g: &GrantKey) -> bool {
        match &g.on {
            GrantOn::Relation(q, GrantObject::Sequence) => self.tgt.sequences.contains_key(q),
            GrantOn::Relation(q, _) => {
                self.tgt.tables.contains_key(q) || self.tgt.views.contains_key(q)
            }
            GrantOn::Column(q, c) => self
                .tgt
                .tables
                .get(q)
                .is_some_and(|t| t.column(c.as_str()).is_some()),
            GrantOn::Schema(s) => self.tgt.schemas.contains(s) || s.as_str() == DEFAULT_SCHEMA,
            GrantOn::Routine(k) => self.tgt.routines.contains_key(k),
            GrantOn::Type(q) => self.tgt.has_type(q),
        }
    }

    /// The object of `g` as a resource, and the phase it is (re)made in
    /// by this plan (expand when it is not).
    pub(super) fn grant_object(&mut self, g: &GrantKey) -> (Option<Resource>, Phase) {
        // A routine or type the plan makes (again: a function dropped and
        // made, an enum rebuilt) is granted after the making, ordered by
        // its `Made` marker (its own resource is also the drop's).
        let after = |p: &mut Self, r: Resource| match p.after_making(&r) {
            Some((made, phase)) => (Some(made), phase),
            None => (None, Phase::Expand),
        };
        let r = match &g.on {
            GrantOn::Routine(k) => return after(self, Resource::Function(k.clone())),
            GrantOn::Type(q) => return after(self, Resource::Type(q.clone())),
            GrantOn::Relation(q, GrantObject::Sequence) => Resource::Sequence(q.clone()),
            GrantOn::Relation(q, _) if self.tgt.views.contains_key(q) => Resource::View(q.clone()),
            GrantOn::Relation(q, _) => Resource::table(q),
            // A column swapped for its retyped shadow in contract is a new
            // column, with none of the old one's privileges.
            GrantOn::Column(q, c) if self.column_swapped(g) => Resource::swapped(q, c),
            GrantOn::Column(q, c) => Resource::column(q, c),
            GrantOn::Schema(s) => Resource::Schema(s.clone()),
        };
        let phase = self
            .steps
            .iter()
            .filter(|s| s.provides.contains(&r))
            .map(|s| s.phase)
            .max()
            .unwrap_or(Phase::Expand);
        (Some(r), phase)
    }
}

/// The resource of a routine or type a grant is on: what a plan may make
/// again under the same name.
pub(super) fn made_again(on: &GrantOn) -> Option<Resource> {
    match on {
        GrantOn::Routine(k) => Some(Resource::Function(k.clone())),
        GrantOn::Type(q) => Some(Resource::Type(q.clone())),
        _ => None,
    }
}

/// What changes from one set of privileges to another, each list in
/// PostgreSQL's order.
pub(super) struct Change {
    /// Granted, without the grant option.
    pub plain: Vec<&'static str>,
    /// Granted with the grant option (held before without it, or not).
    pub with_option: Vec<&'static str>,
    /// Revoked.
    pub revoked: Vec<&'static str>,
    /// Kept, but no longer with the grant option.
    pub option_revoked: Vec<&'static str>,
}

impl Change {
    pub(super) fn between(kind: GrantObject, old: &Privileges, new: &Privileges) -> Change {
        let names = |f: &dyn Fn(&str, bool) -> bool, from: &Privileges| -> Vec<&'static str> {
            kind.privileges()
                .iter()
                .copied()
                .filter(|p| from.get(*p).is_some_and(|o| f(p, *o)))
                .collect()
        };
        Change {
            plain: names(&|p, o| !o && !old.contains_key(p), new),
            with_option: names(&|p, o| o && old.get(p) != Some(&true), new),
            revoked: names(&|p, _| !new.contains_key(p), old),
            option_revoked: names(&|p, o| o && new.get(p) == Some(&false), old),
        }
    }
}

/// `select, insert`.
pub(super) fn lower(privileges: &[&str]) -> String {
    privileges
        .iter()
        .map(|p| p.to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
