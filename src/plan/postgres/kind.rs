//! The planner's seam per object kind. A kind says where its objects are
//! in a schema, how they are keyed (the collection's key) and compared,
//! and which steps an add, a drop, an alteration and a rename become; the
//! generic driver diffs the two schemas and hands each change to it.
//! [`KINDS`] lists every kind, in the order the planner visits them.

use super::Planner;
use crate::diff::{Delta, Keyed, diff_by_name};
use crate::model::Schema;

/// One kind of object at the top of a schema.
pub(super) trait Kind {
    /// Its objects in a schema, by key.
    type Objects: Keyed + 'static;

    fn objects(schema: &Schema) -> &Self::Objects;

    /// The key a target object says it had before (a rename hint).
    fn renamed_from(_new: &Value<Self>) -> Option<&Key<Self>> {
        None
    }

    /// Whether two objects under one key need no change.
    fn same(p: &Planner<'_>, old: &Value<Self>, new: &Value<Self>) -> bool;

    fn added<'a>(p: &mut Planner<'a>, key: &'a Key<Self>, new: &'a Value<Self>);

    fn removed<'a>(p: &mut Planner<'a>, key: &'a Key<Self>, old: &'a Value<Self>);

    fn altered<'a>(
        p: &mut Planner<'a>,
        key: &'a Key<Self>,
        old: &'a Value<Self>,
        new: &'a Value<Self>,
    );

    /// Only kinds with [`Kind::renamed_from`] are ever renamed.
    fn renamed<'a>(
        _p: &mut Planner<'a>,
        _from: &'a Key<Self>,
        _to: &'a Key<Self>,
        _old: &'a Value<Self>,
        _new: &'a Value<Self>,
    ) {
    }

    /// After every change of the kind has been handed over.
    fn finish(_p: &mut Planner<'_>) {}
}

pub(super) type Key<K> = <<K as Kind>::Objects as Keyed>::Key;
pub(super) type Value<K> = <<K as Kind>::Objects as Keyed>::Value;

/// Diffs one kind's objects and hands each change to its rule.
fn drive<K: Kind>(p: &mut Planner<'_>) {
    let (cur, tgt) = (p.cur, p.tgt);
    let deltas = diff_by_name(K::objects(cur), K::objects(tgt), K::renamed_from, |a, b| {
        K::same(p, a, b)
    });
    for d in deltas {
        match d {
            Delta::Added(k, v) => K::added(p, k, v),
            Delta::Removed(k, v) => K::removed(p, k, v),
            Delta::Altered(k, old, new) => K::altered(p, k, old, new),
            Delta::Renamed { from, to, old, new } => K::renamed(p, from, to, old, new),
        }
    }
    K::finish(p);
}

/// Every kind of object, in the order the planner visits them: what
/// others depend on first. A new kind is one line here.
pub(super) const KINDS: &[fn(&mut Planner<'_>)] = &[
    drive::<super::namespace::Namespaces>,
    drive::<super::extension::Extensions>,
    drive::<super::enum_type::Enums>,
    drive::<super::sequence::Sequences>,
    drive::<super::table::Tables>,
];
