//! A schema's fingerprint: a 64-bit FNV-1a hash of its canonical model,
//! transition hints left out. It is a drift check (has the schema a plan
//! was made for moved?), not a security measure. It is computed from the
//! model itself, never from a rendering of it, so it costs one walk of
//! the schema and no allocation.

use std::hash::{Hash, Hasher};

use super::Schema;

/// FNV-1a, 64 bits: small, fast, and the same on every run and machine
/// (unlike the standard library's randomly keyed hasher); also the hash
/// in helper objects' names (`naming::hashed_name`). Integers are
/// fed little-endian whatever the platform.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }
    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Schema {
    /// The schema's fingerprint, as 16 hex digits: equal for two schemas
    /// that differ only in transition hints (`renamed_from`, `backfill`).
    pub fn fingerprint(&self) -> String {
        let mut h = Fnv64::default();
        self.hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnType, Ident, QualifiedName, Table};

    fn schema(hint: Option<&str>, ty: &str) -> Schema {
        let mut col = Column::new(Ident::new("email").unwrap(), ColumnType::parse(ty).unwrap());
        col.renamed_from = hint.map(|h| Ident::new(h).unwrap());
        col.backfill = hint.map(|_| "'x'".to_string());
        let mut s = Schema::default();
        s.tables.insert(
            QualifiedName::public(Ident::new("users").unwrap()),
            Table {
                columns: vec![col],
                ..Table::default()
            },
        );
        s
    }

    #[test]
    fn hints_do_not_count_and_definitions_do() {
        let plain = schema(None, "text");
        assert_eq!(
            plain.fingerprint(),
            schema(Some("mail"), "text").fingerprint()
        );
        assert_eq!(plain.fingerprint(), plain.without_hints().fingerprint());
        assert_ne!(
            plain.fingerprint(),
            schema(None, "varchar(10)").fingerprint()
        );
        assert_ne!(plain.fingerprint(), Schema::default().fingerprint());
        assert_eq!(plain.fingerprint().len(), 16);
    }

    #[test]
    fn the_hash_is_fnv_1a() {
        // The published FNV-1a 64 test vector for "a".
        let mut h = Fnv64::default();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    /// A plan in flight carries its target's fingerprint: a change to how
    /// the model is laid out must not change it. The value was computed
    /// before sequences and identity columns shared `SequenceOptions`.
    #[test]
    fn a_fingerprint_survives_a_change_of_the_models_layout() {
        let s = crate::testing::schema(
            "sequences:\n  a: { type: integer, start: 5, increment: 2, cache: 10, cycle: true }\n  b: {}\ntables:\n  t:\n    columns:\n      id: { type: bigint, identity: { generated: always, start: 100, increment: 5 } }\n      n: { type: integer, identity: by_default }\n",
        );
        assert_eq!(s.fingerprint(), "084c6f4ca228b018");
    }
}
