//! The names PostgreSQL chooses for implicit objects (`users_pkey`,
//! `users_id_seq`), so that YAML can leave them out and still describe
//! exactly what the database holds.

use std::hash::Hasher;

use super::fingerprint::Fnv64;
use super::ident::MAX_IDENT_BYTES;

/// PostgreSQL's `makeObjectName`: `name1[_name2]_label`, shortening the
/// longer of the two names one character at a time until the whole fits
/// in 63 bytes, cutting only at character boundaries.
pub fn object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let overhead = label.len() + 1 + usize::from(name2.is_some());
    let avail = MAX_IDENT_BYTES.saturating_sub(overhead);
    let mut n1 = name1.len();
    let mut n2 = name2.map_or(0, str::len);
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    let mut out = clip(name1, n1);
    if let Some(name2) = name2 {
        out.push('_');
        out.push_str(&clip(name2, n2));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// The name of a helper object bellows creates (a shadow column, a sync
/// trigger, a NOT NULL check, an index under construction), derived from
/// the names of what it serves: `<parts joined by _>_<label>`, as
/// PostgreSQL names its implicit objects, while that fits in 63 bytes.
/// A longer one is cut, with a hash of all of `parts` before the label
/// (see [`hashed_name`]): deterministic, within 63 bytes, and distinct for
/// distinct parts even when they share a long prefix.
pub fn derived_name(parts: &[&str], label: &str) -> String {
    let plain = format!("{}_{label}", parts.join("_"));
    if plain.len() <= MAX_IDENT_BYTES {
        plain
    } else {
        hashed_name(parts, label)
    }
}

/// `<parts, cut to fit>_<8 hex digits>_<label>`, the hash over every part
/// (separated, so `a_b`+`c` and `a`+`b_c` differ): for names too long for
/// [`derived_name`]'s plain form, and to tell apart two plain forms that
/// happen to be equal.
pub fn hashed_name(parts: &[&str], label: &str) -> String {
    let mut fnv = Fnv64::default();
    for (i, p) in parts.iter().chain(std::iter::once(&label)).enumerate() {
        if i > 0 {
            fnv.write(&[0xff]);
        }
        fnv.write(p.as_bytes());
    }
    let h = fnv.finish();
    let suffix = format!("_{:08x}_{label}", (h ^ (h >> 32)) as u32);
    let mut avail = MAX_IDENT_BYTES.saturating_sub(suffix.len());
    let joined = parts.join("_");
    avail = avail.min(joined.len());
    while !joined.is_char_boundary(avail) {
        avail -= 1;
    }
    format!("{}{suffix}", &joined[..avail])
}

/// `<table>_pkey`.
pub fn primary_key_name(table: &str) -> String {
    object_name(table, None, "pkey")
}

/// `<table>_<column>_seq`, the sequence behind a `serial` column.
pub fn serial_sequence_name(table: &str, column: &str) -> String {
    object_name(table, Some(column), "seq")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_joined() {
        assert_eq!(primary_key_name("users"), "users_pkey");
        assert_eq!(serial_sequence_name("users", "id"), "users_id_seq");
    }

    #[test]
    fn derived_names_fit_and_stay_apart() {
        assert_eq!(
            derived_name(&["users", "email"], "not_null"),
            "users_email_not_null"
        );
        let t = "t".repeat(63);
        let a = format!("{}_first_col", "c".repeat(52));
        let b = format!("{}_other_col", "c".repeat(52));
        let x = derived_name(&[&t, &a], "bellows_sync");
        let y = derived_name(&[&t, &b], "bellows_sync");
        assert!(x.len() <= 63 && y.len() <= 63, "{x} {y}");
        assert_ne!(x, y);
        assert!(x.ends_with("_bellows_sync"));
        assert_eq!(x, derived_name(&[&t, &a], "bellows_sync"), "deterministic");
        assert_ne!(
            hashed_name(&["a_b", "c"], "x"),
            hashed_name(&["a", "b_c"], "x")
        );
        // Helper names live on in databases mid-migration: the hash must
        // never change (FNV-1a 64 over the parts, 0xff between them).
        assert_eq!(
            hashed_name(&["users", "email"], "bellows_new"),
            "users_email_b1a083d6_bellows_new"
        );
        // Cut at a character boundary.
        let u = "é".repeat(40);
        assert!(derived_name(&[&u, &u], "bellows_new").len() <= 63);
    }

    #[test]
    fn long_names_are_cut_like_postgres() {
        // Checked against PostgreSQL 15: CREATE TABLE with a 60-character
        // name and a serial column `id` gives this sequence name.
        let t = "t".repeat(60);
        let seq = serial_sequence_name(&t, "id");
        assert_eq!(seq, format!("{}_id_seq", "t".repeat(56)));
        assert!(seq.len() <= 63);
        let pk = primary_key_name(&t);
        assert_eq!(pk, format!("{}_pkey", "t".repeat(58)));
    }
}
