//! The names PostgreSQL chooses for implicit objects (`users_pkey`,
//! `users_id_seq`), so that YAML can leave them out and still describe
//! exactly what the database holds.

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
