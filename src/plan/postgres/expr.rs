//! What can be told about an SQL expression without a database.

/// Whether a default is a constant PostgreSQL can store once (a literal,
/// possibly cast): `ADD COLUMN ... DEFAULT <constant>` is then a catalog
/// change (PostgreSQL 11+). Anything with a function call (`now()`,
/// `gen_random_uuid()`, `nextval(...)`) is treated as volatile: bellows
/// cannot know a function's volatility offline, and guessing wrong would
/// rewrite the table under ACCESS EXCLUSIVE.
pub fn is_constant(expr: &str) -> bool {
    let mut chars = expr.chars().peekable();
    let mut prev_word = String::new();
    let mut after_cast = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // Skip a string literal ('' is an escaped quote).
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') | None => break,
                        Some(_) => {}
                    }
                }
                prev_word.clear();
            }
            '(' if !prev_word.is_empty() && !after_cast => return false,
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                after_cast = true;
                prev_word.clear();
            }
            c if c.is_alphanumeric() || c == '_' || c == '"' || c == '.' => prev_word.push(c),
            ' ' => {}
            _ => {
                prev_word.clear();
                after_cast = false;
            }
        }
        if c == ' ' && !prev_word.is_empty() {
            // `current_timestamp` and friends are functions without parentheses.
            if is_niladic(&prev_word) {
                return false;
            }
        }
    }
    !is_niladic(&prev_word) && !expr.trim().is_empty()
}

fn is_niladic(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "current_timestamp"
            | "current_date"
            | "current_time"
            | "localtime"
            | "localtimestamp"
            | "current_user"
            | "session_user"
            | "user"
            | "current_role"
            | "current_catalog"
            | "current_schema"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_casts_are_constant() {
        for e in [
            "0",
            "'free'",
            "'free'::text",
            "true",
            "'{}'::jsonb",
            "'pending'::order_status",
            "'x'::varchar(10)",
            "-1.5",
            "NULL",
            "'a(b)'",
        ] {
            assert!(is_constant(e), "{e}");
        }
    }

    #[test]
    fn calls_are_not() {
        for e in [
            "now()",
            "gen_random_uuid()",
            "nextval('s'::regclass)",
            "CURRENT_TIMESTAMP",
            "lower('X')",
            "(now() + interval '1 day')",
            "current_timestamp + '1 day'::interval",
        ] {
            assert!(!is_constant(e), "{e}");
        }
    }
}
