//! PostgreSQL connection strings, read the way libpq (and so psql) reads
//! them, so bellows drops into deploy scripts that already work with psql:
//!
//! - `postgres://user:pass@host:port/db?sslmode=require` URLs and keyword
//!   strings (`host=db port=5432 dbname=app user=app sslmode=verify-full`);
//! - what the string leaves out comes from `PGHOST`, `PGPORT`, `PGUSER`,
//!   `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, ... and the password from
//!   `~/.pgpass` (or `PGPASSFILE`, `passfile=`);
//! - TLS per `sslmode` (disable, allow, prefer, require, verify-ca,
//!   verify-full) with `sslrootcert` (a file, or `system`), `sslcert` and
//!   `sslkey`, defaulting to `~/.postgresql/root.crt`, `postgresql.crt`
//!   and `postgresql.key` as libpq does.
//!
//! Also the rules that keep bellows safe behind a transaction-pooling
//! PgBouncer: see [`query`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool};

use super::{ConnError, DbError};

mod connect;
mod pooler;
#[cfg(test)]
mod tests;

use connect::env_lookup;
pub use pooler::{query, query_as, query_scalar};

/// A server error's DETAIL and HINT, one indented line each; nothing
/// for an error that is not PostgreSQL's.
pub(super) fn notes(d: &dyn sqlx::error::DatabaseError) -> String {
    let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() else {
        return String::new();
    };
    let mut s = String::new();
    if let Some(detail) = pg.detail() {
        s.push_str(&format!("\n  detail: {detail}"));
    }
    if let Some(hint) = pg.hint() {
        s.push_str(&format!("\n  hint: {hint}"));
    }
    s
}

/// The libpq parameters bellows understands, in the order libpq lists them.
pub const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "options",
    "application_name",
    "fallback_application_name",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
];

/// libpq parameters that exist but that bellows does not implement: an
/// error says so rather than quietly doing something else.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("service", "name the connection's parameters directly"),
    (
        "target_session_attrs",
        "bellows connects to one server; point it at the primary",
    ),
    (
        "load_balance_hosts",
        "bellows connects to one server; point it at the primary",
    ),
    (
        "requiressl",
        "deprecated in libpq; use sslmode=require instead",
    ),
    ("sslcrl", "certificate revocation lists are not checked"),
    ("sslcrldir", "certificate revocation lists are not checked"),
    ("sslpassword", "use an unencrypted key file for sslkey"),
    ("sslcompression", "TLS compression is not supported"),
    ("sslsni", "SNI is always sent"),
    ("ssl_min_protocol_version", "bellows uses TLS 1.2 or 1.3"),
    ("ssl_max_protocol_version", "bellows uses TLS 1.2 or 1.3"),
    (
        "sslcertmode",
        "a client certificate is sent when sslcert is set",
    ),
    ("sslnegotiation", "bellows negotiates TLS the standard way"),
    (
        "gssencmode",
        "GSSAPI encryption is not supported; use sslmode",
    ),
    ("krbsrvname", "Kerberos authentication is not supported"),
    ("gsslib", "GSSAPI authentication is not supported"),
    ("gssdelegation", "GSSAPI authentication is not supported"),
    ("channel_binding", "SCRAM channel binding is not supported"),
    ("require_auth", "the server's authentication method is used"),
    ("requirepeer", "peer checks on sockets are not supported"),
    ("replication", "bellows needs an ordinary connection"),
    ("client_encoding", "bellows always talks UTF8"),
    ("keepalives", "TCP keepalive settings are the system's"),
    ("keepalives_idle", "TCP keepalive settings are the system's"),
    (
        "keepalives_interval",
        "TCP keepalive settings are the system's",
    ),
    (
        "keepalives_count",
        "TCP keepalive settings are the system's",
    ),
    ("tcp_user_timeout", "TCP settings are the system's"),
];

/// The environment variable that supplies each parameter, as in libpq.
const ENV: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("options", "PGOPTIONS"),
    ("application_name", "PGAPPNAME"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
];

/// A PostgreSQL connection string, as given: parameters by libpq keyword.
/// Never prints its password (`Debug` and [`PgConnInfo::display`] hide it).
#[derive(Clone, Default)]
pub struct PgConnInfo {
    given: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for PgConnInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgConnInfo({})", self.display())
    }
}

fn keyword(name: &str) -> Result<&'static str, ConnError> {
    if let Some(k) = KEYWORDS.iter().find(|k| **k == name) {
        return Ok(k);
    }
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(k, _)| *k == name) {
        return Err(ConnError::Unsupported {
            name: name.to_string(),
            why: why.to_string(),
        });
    }
    // The aliases sqlx (and so earlier bellows versions) accepted in URLs.
    let alias = match name {
        "ssl-mode" => Some("sslmode"),
        "ssl-root-cert" | "ssl-ca" => Some("sslrootcert"),
        "ssl-cert" => Some("sslcert"),
        "ssl-key" => Some("sslkey"),
        _ => None,
    };
    if let Some(a) = alias {
        return Ok(a);
    }
    Err(ConnError::UnknownParameter {
        name: name.to_string(),
        suggestion: crate::suggest::did_you_mean(name, KEYWORDS),
    })
}

fn invalid(reason: impl Into<String>) -> ConnError {
    ConnError::Invalid {
        reason: reason.into(),
    }
}

/// `%XX` decoding, as libpq does for every part of a URL.
fn percent_decode(text: &str, part: &str) -> Result<String, ConnError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "invalid percent-encoding in the URL's {part} (write a literal % as %25)"
                    ))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(format!("the URL's {part} is not UTF-8")))
}

impl PgConnInfo {
    fn set(&mut self, name: &str, value: String) -> Result<(), ConnError> {
        let k = keyword(name)?;
        self.given.insert(k, value);
        Ok(())
    }

    /// `postgres[ql]://[user[:password]@][host][:port][/dbname][?param=value&...]`.
    pub fn parse_url(text: &str) -> Result<PgConnInfo, ConnError> {
        let rest = text
            .split_once("://")
            .map(|(_, r)| r)
            .ok_or_else(|| invalid("a URL starts with postgres:// or postgresql://"))?;
        let mut info = PgConnInfo::default();
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match main.find('/') {
            Some(i) => (&main[..i], Some(&main[i + 1..])),
            None => (main, None),
        };
        // The last `@` ends the user part, so an unencoded `@` in a
        // password still works.
        let hostspec = match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                let (user, password) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if !user.is_empty() {
                    info.set("user", percent_decode(user, "user name")?)?;
                }
                if let Some(p) = password {
                    info.set("password", percent_decode(p, "password")?)?;
                }
                &authority[at + 1..]
            }
            None => authority,
        };
        if hostspec.contains(',') {
            return Err(ConnError::Unsupported {
                name: "host".into(),
                why: "a list of hosts (libpq's failover) is not supported; point bellows at the primary".into(),
            });
        }
        if !hostspec.is_empty() {
            let (host, port) = if let Some(inner) = hostspec.strip_prefix('[') {
                let (h, after) = inner
                    .split_once(']')
                    .ok_or_else(|| invalid("an IPv6 host in brackets needs its `]`"))?;
                let port =
                    match after {
                        "" => None,
                        p => Some(p.strip_prefix(':').ok_or_else(|| {
                            invalid(format!("unexpected `{p}` after the IPv6 host"))
                        })?),
                    };
                (h.to_string(), port)
            } else {
                match hostspec.rsplit_once(':') {
                    Some((h, p)) => (percent_decode(h, "host")?, Some(p)),
                    None => (percent_decode(hostspec, "host")?, None),
                }
            };
            if !host.is_empty() {
                info.set("host", host)?;
            }
            if let Some(p) = port.filter(|p| !p.is_empty()) {
                info.set("port", p.to_string())?;
            }
        }
        if let Some(db) = path.filter(|p| !p.is_empty()) {
            info.set("dbname", percent_decode(db, "database name")?)?;
        }
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                invalid(format!(
                    "URL parameter `{pair}` has no value; write `name=value`"
                ))
            })?;
            let k = percent_decode(k, "parameter name")?;
            let v = percent_decode(v, "parameter value")?;
            info.set(&k, v)?;
        }
        info.check()?;
        Ok(info)
    }

    /// libpq's keyword form: `name = value` pairs separated by spaces; a
    /// value with spaces is single-quoted, with `\'` and `\\` escapes.
    pub fn parse_keywords(text: &str) -> Result<PgConnInfo, ConnError> {
        let mut info = PgConnInfo::default();
        let mut chars = text.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_none() {
                break;
            }
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' || c.is_whitespace() {
                    break;
                }
                name.push(c);
                chars.next();
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.next() != Some('=') {
                // Only a known keyword is echoed: a stray word may be a password.
                let what = if KEYWORDS.contains(&name.as_str()) {
                    format!("`{name}` has no value")
                } else {
                    "a word has no `=`".to_string()
                };
                return Err(invalid(format!(
                    "{what}: a keyword string is `name=value` pairs separated by spaces, e.g. `host=db dbname=app`"
                )));
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut value = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(c) => value.push(c),
                            None => {
                                return Err(invalid(format!(
                                    "the value of `{name}` ends in a lone backslash"
                                )));
                            }
                        },
                        Some('\'') => break,
                        Some(c) => value.push(c),
                        None => {
                            return Err(invalid(format!(
                                "the quoted value of `{name}` has no closing quote"
                            )));
                        }
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    chars.next();
                    if c == '\\' {
                        match chars.next() {
                            Some(e) => value.push(e),
                            None => {
                                return Err(invalid(format!(
                                    "the value of `{name}` ends in a lone backslash"
                                )));
                            }
                        }
                    } else {
                        value.push(c);
                    }
                }
            }
            info.set(&name, value)?;
        }
        info.check()?;
        Ok(info)
    }

    /// Values that can be checked without the environment.
    fn check(&self) -> Result<(), ConnError> {
        if let Some(h) = self.given.get("host")
            && h.contains(',')
        {
            return Err(ConnError::Unsupported {
                name: "host".into(),
                why: "a list of hosts (libpq's failover) is not supported; point bellows at the primary".into(),
            });
        }
        if let Some(p) = self.given.get("port") {
            parse_port(p)?;
        }
        if let Some(m) = self.given.get("sslmode") {
            parse_sslmode(m)?;
        }
        if let Some(t) = self.given.get("connect_timeout") {
            parse_timeout(t)?;
        }
        if let Some(o) = self.given.get("options") {
            parse_options(o)?;
        }
        Ok(())
    }

    /// The passwords this string holds (for output scrubbing).
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.given.get("password").cloned().into_iter().collect();
        if let Ok(p) = std::env::var("PGPASSWORD")
            && !p.is_empty()
        {
            out.push(p);
        }
        out
    }

    /// Where this connects, as a URL without the password (`:***` shows
    /// that one was given); parameters from the environment included.
    pub fn display(&self) -> String {
        let mut r = self.resolve(&env_lookup);
        if r.user.is_none() {
            r.user = whoami::username().ok();
        }
        let mut s = String::from("postgres://");
        if let Some(u) = &r.user {
            s.push_str(u);
            if self.given.contains_key("password") {
                s.push_str(":***");
            }
            s.push('@');
        }
        let host = r.hostaddr.as_ref().or(r.host.as_ref());
        let socket = host.is_some_and(|h| h.starts_with('/'));
        if let Some(h) = host.filter(|_| !socket) {
            if h.contains(':') {
                s.push_str(&format!("[{h}]"));
            } else {
                s.push_str(h);
            }
        }
        if let Some(p) = &r.port {
            s.push_str(&format!(":{p}"));
        }
        if let Some(d) = &r.dbname {
            s.push('/');
            s.push_str(d);
        }
        let mut params = Vec::new();
        if let Some(h) = host.filter(|_| socket) {
            params.push(format!("host={h}"));
        }
        if let Some(m) = self.given.get("sslmode") {
            params.push(format!("sslmode={m}"));
        }
        if !params.is_empty() {
            s.push('?');
            s.push_str(&params.join("&"));
        }
        s
    }
}

fn parse_port(p: &str) -> Result<u16, ConnError> {
    p.parse::<u16>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| ConnError::BadValue {
            name: "port".into(),
            why: format!("`{p}` is not a port number (1 to 65535)"),
        })
}

fn parse_sslmode(m: &str) -> Result<PgSslMode, ConnError> {
    PgSslMode::from_str(m).map_err(|_| ConnError::BadValue {
        name: "sslmode".into(),
        why: format!(
            "`{m}` is not an SSL mode; use disable, allow, prefer, require, verify-ca or verify-full"
        ),
    })
}

fn parse_timeout(t: &str) -> Result<Option<Duration>, ConnError> {
    let secs: i64 = t.trim().parse().map_err(|_| ConnError::BadValue {
        name: "connect_timeout".into(),
        why: format!("`{t}` is not a whole number of seconds"),
    })?;
    // libpq: zero or negative waits forever; less than 2 s means 2 s.
    Ok((secs > 0).then(|| Duration::from_secs(secs.max(2) as u64)))
}

/// libpq's `options`: `-c name=value` and `--name=value` switches, with
/// `\ ` for a space inside a value.
fn parse_options(text: &str) -> Result<Vec<(String, String)>, ConnError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let bad = |w: &str| ConnError::BadValue {
        name: "options".into(),
        why: format!("`{w}`: bellows understands `-c name=value` and `--name=value` here"),
    };
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let setting = if w == "-c" {
            words.next().ok_or_else(|| bad(&w))?
        } else if let Some(s) = w.strip_prefix("-c") {
            s.to_string()
        } else if let Some(s) = w.strip_prefix("--") {
            s.to_string()
        } else {
            return Err(bad(&w));
        };
        let (k, v) = setting.split_once('=').ok_or_else(|| bad(&setting))?;
        out.push((k.replace('-', "_"), v.to_string()));
    }
    Ok(out)
}
