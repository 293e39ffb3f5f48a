//! Schema × Schema → changes. One generic diff-by-name serves every object
//! kind; `renamed_from` hints turn a drop + add into a rename (a
//! declarative diff can never guess one). A hint whose rename already
//! happened (the old name is gone, the new one exists) is simply satisfied.

pub mod postgres;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Column, Ident};

/// A collection of objects by key: a map, or a set (objects that are
/// nothing but their name, like namespaces).
pub trait Keyed {
    type Key: Ord;
    type Value;
    /// Every entry, in key order.
    fn entries(&self) -> impl Iterator<Item = (&Self::Key, &Self::Value)>;
    /// The stored key and value for `key`.
    fn entry(&self, key: &Self::Key) -> Option<(&Self::Key, &Self::Value)>;
}

impl<K: Ord, V> Keyed for BTreeMap<K, V> {
    type Key = K;
    type Value = V;
    fn entries(&self) -> impl Iterator<Item = (&K, &V)> {
        self.iter()
    }
    fn entry(&self, key: &K) -> Option<(&K, &V)> {
        self.get_key_value(key)
    }
}

/// A table's columns, by name (they are stored in table order).
impl Keyed for Vec<Column> {
    type Key = Ident;
    type Value = Column;
    fn entries(&self) -> impl Iterator<Item = (&Ident, &Column)> {
        let mut by_name: Vec<(&Ident, &Column)> = self.iter().map(|c| (&c.name, c)).collect();
        by_name.sort_by(|a, b| a.0.cmp(b.0));
        by_name.into_iter()
    }
    fn entry(&self, key: &Ident) -> Option<(&Ident, &Column)> {
        self.iter().find(|c| &c.name == key).map(|c| (&c.name, c))
    }
}

impl<K: Ord> Keyed for BTreeSet<K> {
    type Key = K;
    type Value = ();
    fn entries(&self) -> impl Iterator<Item = (&K, &())> {
        self.iter().map(|k| (k, &()))
    }
    fn entry(&self, key: &K) -> Option<(&K, &())> {
        self.get(key).map(|k| (k, &()))
    }
}

/// What happened to one named object.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta<'a, K, V> {
    Added(&'a K, &'a V),
    Removed(&'a K, &'a V),
    /// Same name, different definition.
    Altered(&'a K, &'a V, &'a V),
    /// `from` in the old schema is `to` in the new one (definitions may differ).
    Renamed {
        from: &'a K,
        to: &'a K,
        old: &'a V,
        new: &'a V,
    },
}

/// Compares two keyed collections. `renamed_from` reads a new item's hint.
/// Output order: by name, deterministic.
pub fn diff_by_name<'a, C: Keyed>(
    old: &'a C,
    new: &'a C,
    renamed_from: impl Fn(&C::Value) -> Option<&C::Key>,
    same: impl Fn(&C::Value, &C::Value) -> bool,
) -> Vec<Delta<'a, C::Key, C::Value>> {
    let mut out = Vec::new();
    let mut consumed: BTreeSet<&C::Key> = BTreeSet::new();
    for (k, v) in new.entries() {
        if let Some((_, o)) = old.entry(k) {
            if !same(o, v) {
                out.push(Delta::Altered(k, o, v));
            }
            continue;
        }
        match renamed_from(v).and_then(|from| old.entry(from)) {
            Some((from, o)) if new.entry(from).is_none() => {
                consumed.insert(from);
                out.push(Delta::Renamed {
                    from,
                    to: k,
                    old: o,
                    new: v,
                });
            }
            _ => out.push(Delta::Added(k, v)),
        }
    }
    for (k, v) in old.entries() {
        if new.entry(k).is_none() && !consumed.contains(k) {
            out.push(Delta::Removed(k, v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(
        items: &[(&'static str, (i32, Option<&'static str>))],
    ) -> BTreeMap<&'static str, (i32, Option<&'static str>)> {
        items.iter().cloned().collect()
    }

    #[test]
    fn adds_removes_alters_and_renames() {
        let old = m(&[("a", (1, None)), ("b", (2, None)), ("c", (3, None))]);
        let new = m(&[
            ("a", (1, None)),
            ("b", (5, None)),
            ("d", (3, Some("c"))),
            ("e", (9, None)),
        ]);
        let d = diff_by_name(&old, &new, |v| v.1.as_ref(), |x, y| x.0 == y.0);
        assert_eq!(d.len(), 3);
        assert!(matches!(d[0], Delta::Altered(&"b", _, _)));
        assert!(matches!(
            d[1],
            Delta::Renamed {
                from: &"c",
                to: &"d",
                ..
            }
        ));
        assert!(matches!(d[2], Delta::Added(&"e", _)));
    }

    #[test]
    fn a_satisfied_rename_hint_is_no_change() {
        let old = m(&[("d", (3, None))]);
        let new = m(&[("d", (3, Some("c")))]);
        assert!(diff_by_name(&old, &new, |v| v.1.as_ref(), |x, y| x.0 == y.0).is_empty());
    }

    #[test]
    fn a_hint_whose_source_still_exists_is_an_add() {
        let old = m(&[("c", (3, None))]);
        let new = m(&[("c", (3, None)), ("d", (3, Some("c")))]);
        let d = diff_by_name(&old, &new, |v| v.1.as_ref(), |x, y| x.0 == y.0);
        assert!(matches!(d[..], [Delta::Added(&"d", _)]));
    }
}
