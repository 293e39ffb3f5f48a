//! Secrets never reach the terminal. The library never prints a password
//! (connection strings display without one), and as a second line of
//! defense every text the binary writes passes through `scrub`, which
//! replaces each password it has seen in a connection string or in
//! PGPASSWORD with `***`.

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers the secrets of a connection string.
pub fn register(target: &bellows::conn::Target) {
    let mut s = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for secret in target.secrets() {
        // Very short "passwords" would blank out ordinary words.
        if secret.len() >= 4 && !s.contains(&secret) {
            s.push(secret);
        }
    }
    // Longest first, so a secret that contains another is hidden whole.
    s.sort_by_key(|x| std::cmp::Reverse(x.len()));
}

/// The text with every known secret (and its URL-encoded form) replaced.
pub fn scrub(text: &str) -> String {
    let s = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for secret in s.iter() {
        out = out.replace(secret.as_str(), "***");
        let encoded = percent_encode(secret);
        if encoded != *secret {
            out = out.replace(&encoded, "***");
        }
    }
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed_plain_and_encoded() {
        let t = bellows::conn::Target::parse("postgres://u:p%40ssMARK@h/db").expect("parses");
        register(&t);
        assert_eq!(scrub("x p@ssMARK y p%40ssMARK"), "x *** y ***");
    }
}
