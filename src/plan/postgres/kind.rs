//! The planner's seam per object kind. A kind says where its objects are
//! (in a schema, or in a table), how they are keyed (the collection's key)
//! and compared, and which steps an add, a drop, an alteration and a
//! rename become; the generic driver diffs the two versions and hands each
//! change to it. [`KINDS`] lists the kinds of a schema and [`TABLE_KINDS`]
//! the keyed kinds inside a table, each in the order the planner visits
//! them.

use super::Planner;
use crate::diff::{Delta, Keyed, diff_by_name};
use crate::model::{QualifiedName, Schema, Table};

/// Where a kind's objects are, in one line inside its `impl Kind`:
/// `objects!(in schema.enums: BTreeMap<QualifiedName, EnumType>)`, or
/// `objects!(in table.indexes: BTreeMap<Ident, Index>, renamed)` for one
/// whose objects carry a `renamed_from` hint, `constraint` for a table
/// constraint (renamed in place by RENAME CONSTRAINT when unchanged).
macro_rules! objects {
    (in schema.$field:ident: $objects:ty $(, $renamed:ident)?) => {
        type Holder = crate::model::Schema;
        type At<'a> = ();
        type Objects = $objects;
        fn objects(holder: &crate::model::Schema) -> &$objects {
            &holder.$field
        }
        $(objects!(@$renamed);)?
    };
    (in table.$field:ident: $objects:ty $(, $renamed:ident)?) => {
        type Holder = crate::model::Table;
        type At<'a> = super::kind::InTable<'a>;
        type Objects = $objects;
        fn objects(holder: &crate::model::Table) -> &$objects {
            &holder.$field
        }
        $(objects!(@$renamed);)?
    };
    (@renamed) => {
        fn renamed_from(new: &super::kind::Value<Self>) -> Option<&super::kind::Key<Self>> {
            new.renamed_from.as_ref()
        }
    };
    // A table constraint: renamed in place with RENAME CONSTRAINT.
    (@constraint) => {
        objects!(@renamed);
        fn rename<'a>(
            p: &mut super::Planner<'a>,
            t: super::kind::InTable<'a>,
            from: &'a crate::model::Ident,
            to: &'a crate::model::Ident,
            _: &'a super::kind::Value<Self>,
        ) -> bool {
            p.rename_constraint(t.name, from, to);
            true
        }
    };
}
pub(super) use objects;

/// One kind of object.
pub(super) trait Kind {
    /// What holds the objects: a [`Schema`] or a [`Table`].
    type Holder: 'static;
    /// Where a change happens: `()` in a schema, [`InTable`] in a table.
    type At<'a>: Copy;
    /// Its objects, by key.
    type Objects: Keyed + 'static;

    fn objects(holder: &Self::Holder) -> &Self::Objects;

    /// The key a target object says it had before (a rename hint).
    fn renamed_from(_new: &Value<Self>) -> Option<&Key<Self>> {
        None
    }

    /// Whether two objects under one key need no change.
    fn same(p: &Planner<'_>, at: Self::At<'_>, old: &Value<Self>, new: &Value<Self>) -> bool;

    fn added<'a>(p: &mut Planner<'a>, at: Self::At<'a>, key: &'a Key<Self>, new: &'a Value<Self>);

    fn removed<'a>(p: &mut Planner<'a>, at: Self::At<'a>, key: &'a Key<Self>, old: &'a Value<Self>);

    fn altered<'a>(
        p: &mut Planner<'a>,
        at: Self::At<'a>,
        key: &'a Key<Self>,
        old: &'a Value<Self>,
        new: &'a Value<Self>,
    );

    /// Only kinds with [`Kind::renamed_from`] are ever renamed: in place
    /// when the definition stays and the kind can ([`Kind::rename`]),
    /// else dropped under the old name and made under the new one.
    fn renamed<'a>(
        p: &mut Planner<'a>,
        at: Self::At<'a>,
        from: &'a Key<Self>,
        to: &'a Key<Self>,
        old: &'a Value<Self>,
        new: &'a Value<Self>,
    ) {
        if Self::same(p, at, old, new) && Self::rename(p, at, from, to, old) {
            return;
        }
        Self::removed(p, at, from, old);
        Self::added(p, at, to, new);
    }

    /// Renames an unchanged object in place; false when this one cannot
    /// be, and is dropped and made again instead.
    fn rename<'a>(
        _p: &mut Planner<'a>,
        _at: Self::At<'a>,
        _from: &'a Key<Self>,
        _to: &'a Key<Self>,
        _old: &'a Value<Self>,
    ) -> bool {
        false
    }

    /// After every change of the kind (in this place) has been handed over.
    fn finish<'a>(_p: &mut Planner<'a>, _at: Self::At<'a>) {}
}

pub(super) type Key<K> = <<K as Kind>::Objects as Keyed>::Key;
pub(super) type Value<K> = <<K as Kind>::Objects as Keyed>::Value;

/// A table that stays, as it is and as the target has it: where the kinds
/// inside a table make their changes.
#[derive(Clone, Copy)]
pub(super) struct InTable<'a> {
    /// The table's name in the target.
    pub name: &'a QualifiedName,
    pub old: &'a Table,
    pub new: &'a Table,
}

/// Diffs one kind's objects between two holders and hands each change to
/// its rule.
fn drive<'a, K: Kind>(p: &mut Planner<'a>, at: K::At<'a>, cur: &'a K::Holder, tgt: &'a K::Holder) {
    let deltas = diff_by_name(K::objects(cur), K::objects(tgt), K::renamed_from, |a, b| {
        K::same(p, at, a, b)
    });
    for d in deltas {
        match d {
            Delta::Added(k, v) => K::added(p, at, k, v),
            Delta::Removed(k, v) => K::removed(p, at, k, v),
            Delta::Altered(k, old, new) => K::altered(p, at, k, old, new),
            Delta::Renamed { from, to, old, new } => K::renamed(p, at, from, to, old, new),
        }
    }
    K::finish(p, at);
}

/// A kind of the schema.
fn in_schema<K: Kind<Holder = Schema>>(p: &mut Planner<'_>)
where
    for<'a> K::At<'a>: Default,
{
    let (cur, tgt) = (p.cur, p.tgt);
    drive::<K>(p, Default::default(), cur, tgt);
}

/// A kind inside a table.
pub(super) fn in_table<'a, K>(p: &mut Planner<'a>, t: InTable<'a>)
where
    K: Kind<Holder = Table> + for<'b> Kind<At<'b> = InTable<'b>>,
{
    drive::<K>(p, t, t.old, t.new);
}

/// Every kind of a schema, in the order the planner visits them: what
/// others depend on first. A new kind is one line here.
pub(super) const KINDS: &[fn(&mut Planner<'_>)] = &[
    in_schema::<super::namespace::Namespaces>,
    in_schema::<super::extension::Extensions>,
    in_schema::<super::enum_type::Enums>,
    in_schema::<super::collation::Collations>,
    in_schema::<super::range_type::RangeTypes>,
    in_schema::<super::domain::Domains>,
    in_schema::<super::composite_type::CompositeTypes>,
    in_schema::<super::sequence::Sequences>,
    in_schema::<super::routine::Routines>,
    in_schema::<super::aggregate::Aggregates>,
    in_schema::<super::table::Tables>,
    in_schema::<super::view::Views>,
    in_schema::<super::trigger::Triggers>,
    in_schema::<super::policy::Policies>,
    in_schema::<super::policy::RowSecurities>,
    in_schema::<super::extended_statistics::ExtendedStatisticsKind>,
    // Last: a grant or a comment runs in the phase its object is made in.
    in_schema::<super::default_privilege::DefaultGrants>,
    in_schema::<super::privilege::Grants>,
    in_schema::<super::owner::Owners>,
    in_schema::<super::comment::Comments>,
];

/// The keyed kinds inside a table that stays, in the order they are
/// visited (after its columns, comment and primary key). A new kind is
/// one line here.
pub(super) const TABLE_KINDS: &[for<'a> fn(&mut Planner<'a>, InTable<'a>)] = &[
    in_table::<super::keys::Uniques>,
    in_table::<super::constraint::Checks>,
    in_table::<super::exclusion::Exclusions>,
    in_table::<super::foreign_key::ForeignKeys>,
    in_table::<super::index::Indexes>,
];
