//! Storage parameters of a table or an index (`WITH (fillfactor = 70,
//! autovacuum_vacuum_scale_factor = 0.01)`): by name, each value in the
//! one spelling its dialect reads it back as, so that two sets that mean
//! the same are equal.

use std::collections::BTreeMap;

/// Storage parameters by lower-case name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct StorageParams(BTreeMap<String, String>);

impl StorageParams {
    /// `params` are already in their canonical spelling (the dialect's
    /// reader and the YAML reader make them so).
    pub fn new(params: BTreeMap<String, String>) -> StorageParams {
        StorageParams(params)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// In name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The names `other` sets to another value or adds, with its value,
    /// and the names it leaves out, each in name order.
    pub fn changes<'a>(
        &'a self,
        other: &'a StorageParams,
    ) -> (Vec<(&'a str, &'a str)>, Vec<&'a str>) {
        let set = other
            .iter()
            .filter(|(k, v)| self.get(k) != Some(*v))
            .collect();
        let reset = self
            .0
            .keys()
            .filter(|k| !other.0.contains_key(*k))
            .map(String::as_str)
            .collect();
        (set, reset)
    }
}

/// None hashes as nothing at all, so that a table or index without
/// storage parameters keeps the fingerprint it had before they were
/// modeled (a migration in flight is recognized by it).
impl std::hash::Hash for StorageParams {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if !self.0.is_empty() {
            ("storage", &self.0).hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{DefaultHasher, Hash, Hasher};

    fn params(p: &[(&str, &str)]) -> StorageParams {
        StorageParams::new(
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn none_hashes_as_nothing_and_some_as_something() {
        let hash = |x: &dyn Fn(&mut DefaultHasher)| {
            let mut h = DefaultHasher::new();
            x(&mut h);
            h.finish()
        };
        let nothing = hash(&|_| {});
        assert_eq!(hash(&|h| StorageParams::default().hash(h)), nothing);
        assert_ne!(hash(&|h| params(&[("fillfactor", "70")]).hash(h)), nothing);
    }

    #[test]
    fn changes_name_what_to_set_and_what_to_reset() {
        let old = params(&[("fillfactor", "70"), ("autovacuum_enabled", "false")]);
        let new = params(&[("fillfactor", "80"), ("parallel_workers", "4")]);
        assert_eq!(
            old.changes(&new),
            (
                vec![("fillfactor", "80"), ("parallel_workers", "4")],
                vec!["autovacuum_enabled"]
            )
        );
        assert_eq!(new.changes(&new), (vec![], vec![]));
    }
}
