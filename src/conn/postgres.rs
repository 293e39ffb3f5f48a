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

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool, Postgres, SqlSafeStr};

use super::{ConnError, DbError};

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

    /// Every parameter: the given value, else the environment's.
    fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Resolved {
        let get = |k: &str| -> Option<String> {
            self.given.get(k).cloned().or_else(|| {
                ENV.iter()
                    .find(|(name, _)| *name == k)
                    .and_then(|(_, var)| env(var))
                    .filter(|v| !v.is_empty())
            })
        };
        Resolved {
            host: get("host"),
            hostaddr: get("hostaddr"),
            port: get("port"),
            dbname: get("dbname"),
            user: get("user"),
            password: get("password"),
            passfile: get("passfile"),
            connect_timeout: get("connect_timeout"),
            options: get("options"),
            application_name: get("application_name")
                .or_else(|| self.given.get("fallback_application_name").cloned()),
            sslmode: get("sslmode"),
            sslrootcert: get("sslrootcert"),
            sslcert: get("sslcert"),
            sslkey: get("sslkey"),
        }
    }

    /// The driver's options: this string, then the environment, then
    /// libpq's defaults (password file, certificates in ~/.postgresql).
    /// Statements are never cached on the server session and no
    /// `extra_float_digits` is sent: both break a transaction pooler.
    pub fn connect_options(&self) -> Result<PgConnectOptions, ConnError> {
        self.options_with(&env_lookup, home_dir().as_deref())
    }

    fn options_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<PgConnectOptions, ConnError> {
        let r = self.resolve(env);
        let mut o = PgConnectOptions::new_without_pgpass()
            .statement_cache_capacity(0)
            .extra_float_digits(None)
            .application_name(r.application_name.as_deref().unwrap_or("bellows"));
        if let Some(h) = &r.host {
            o = if h.starts_with('/') {
                o.socket(h)
            } else {
                o.host(h)
            };
        }
        if let Some(a) = &r.hostaddr {
            a.parse::<std::net::IpAddr>()
                .map_err(|_| ConnError::BadValue {
                    name: "hostaddr".into(),
                    why: format!("`{a}` is not an IP address"),
                })?;
            o = o.host(a);
        }
        if let Some(p) = &r.port {
            o = o.port(parse_port(p)?);
        }
        // libpq's default user is the operating system's user name.
        match &r.user {
            Some(u) => o = o.username(u),
            None => {
                if let Ok(u) = whoami::username() {
                    o = o.username(&u);
                }
            }
        }
        if let Some(d) = &r.dbname {
            o = o.database(d);
        }
        if let Some(opts) = &r.options {
            o = o.options(parse_options(opts)?);
        }
        let password = match &r.password {
            Some(p) => Some(p.clone()),
            None => {
                let file = r
                    .passfile
                    .as_ref()
                    .map(PathBuf::from)
                    .or_else(|| home.map(|h| h.join(".pgpass")));
                let host = o
                    .get_socket()
                    .map(|_| "localhost".to_string())
                    .unwrap_or_else(|| {
                        if o.get_host().starts_with('/') {
                            "localhost".to_string()
                        } else {
                            o.get_host().to_string()
                        }
                    });
                let db = o.get_database().unwrap_or(o.get_username()).to_string();
                file.and_then(|f| pgpass(&f, &host, o.get_port(), &db, o.get_username()))
            }
        };
        if let Some(p) = &password {
            o = o.password(p);
        }
        // TLS, as libpq: files in ~/.postgresql are the defaults.
        let mut mode = match &r.sslmode {
            Some(m) => parse_sslmode(m)?,
            None => PgSslMode::Prefer,
        };
        let pgdir = home.map(|h| h.join(".postgresql"));
        let root = match r.sslrootcert.as_deref() {
            Some("system") => Some(RootCert::System),
            Some(f) => Some(RootCert::File(PathBuf::from(f))),
            None => pgdir
                .as_ref()
                .map(|d| d.join("root.crt"))
                .filter(|f| f.exists())
                .map(RootCert::File),
        };
        // libpq: with a root certificate at hand, `require` verifies the CA.
        if matches!(mode, PgSslMode::Require) && root.is_some() {
            mode = PgSslMode::VerifyCa;
        }
        if matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull) && root.is_none() {
            return Err(ConnError::NoRootCert {
                mode: if matches!(mode, PgSslMode::VerifyCa) {
                    "verify-ca"
                } else {
                    "verify-full"
                },
                default: pgdir
                    .map(|d| d.join("root.crt").display().to_string())
                    .unwrap_or_else(|| "~/.postgresql/root.crt".to_string()),
            });
        }
        o = o.ssl_mode(mode);
        match root {
            Some(RootCert::File(f)) => {
                if !f.exists() {
                    return Err(ConnError::BadValue {
                        name: "sslrootcert".into(),
                        why: format!("{} does not exist", f.display()),
                    });
                }
                o = o.ssl_root_cert(f);
            }
            // The system's CAs are always trusted (rustls-native-certs);
            // an empty extra set replaces a `system` read from the
            // environment, which the driver would take for a file name.
            Some(RootCert::System) => o = o.ssl_root_cert_from_pem(Vec::new()),
            None => {}
        }
        let cert = r.sslcert.map(PathBuf::from).or_else(|| {
            pgdir
                .as_ref()
                .map(|d| d.join("postgresql.crt"))
                .filter(|f| f.exists())
        });
        let key = r.sslkey.map(PathBuf::from).or_else(|| {
            pgdir
                .as_ref()
                .map(|d| d.join("postgresql.key"))
                .filter(|f| f.exists())
        });
        match (cert, key) {
            (Some(c), Some(k)) => {
                for (name, f) in [("sslcert", &c), ("sslkey", &k)] {
                    if !f.exists() {
                        return Err(ConnError::BadValue {
                            name: name.into(),
                            why: format!("{} does not exist", f.display()),
                        });
                    }
                }
                o = o.ssl_client_cert(c).ssl_client_key(k);
            }
            (Some(_), None) => {
                return Err(ConnError::BadValue {
                    name: "sslcert".into(),
                    why: "a client certificate needs its key: give sslkey=FILE too".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConnError::BadValue {
                    name: "sslkey".into(),
                    why: "a client key needs its certificate: give sslcert=FILE too".into(),
                });
            }
            (None, None) => {}
        }
        Ok(o)
    }

    fn connect_timeout(&self) -> Result<Option<Duration>, ConnError> {
        match self.resolve(&env_lookup).connect_timeout {
            Some(t) => parse_timeout(&t),
            None => Ok(None),
        }
    }

    /// One connection.
    pub async fn connect(&self) -> Result<PgConnection, ConnError> {
        self.connect_with(self.connect_options()?).await
    }

    /// One connection with options changed from this string's (say, a
    /// session setting for a statement that cannot run in a transaction).
    pub async fn connect_with(&self, options: PgConnectOptions) -> Result<PgConnection, ConnError> {
        let target = self.display();
        let fut = PgConnection::connect_with(&options);
        let result = match self.connect_timeout()? {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| ConnError::Timeout {
                    target: target.clone(),
                    seconds: t.as_secs(),
                })?,
            None => fut.await,
        };
        result.map_err(|e| ConnError::Connect {
            target,
            source: DbError(e),
        })
    }

    /// A small pool. One direct connection is made first, so that a wrong
    /// string fails at once instead of after the pool's acquire timeout.
    pub async fn pool(&self, max: u32) -> Result<PgPool, ConnError> {
        let probe = self.connect().await?;
        let _ = probe.close().await;
        let options = self.connect_options()?;
        PgPoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await
            .map_err(|e| ConnError::Connect {
                target: self.display(),
                source: DbError(e),
            })
    }
}

enum RootCert {
    System,
    File(PathBuf),
}

/// Every parameter after the environment is applied.
struct Resolved {
    host: Option<String>,
    hostaddr: Option<String>,
    port: Option<String>,
    dbname: Option<String>,
    user: Option<String>,
    password: Option<String>,
    passfile: Option<String>,
    connect_timeout: Option<String>,
    options: Option<String>,
    application_name: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    sslcert: Option<String>,
    sslkey: Option<String>,
}

fn env_lookup(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
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

/// The password for a connection from a password file, as libpq reads
/// it: `host:port:database:user:password` lines, `*` matching anything,
/// `\:` and `\\` escapes, the first matching line winning; `localhost`
/// matches a Unix-socket connection.
fn pgpass(file: &Path, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Statements that stay safe behind a transaction-pooling PgBouncer.
//
// Between transactions, a pooler in transaction mode may hand this
// client's server session to another client, and give this client another
// session. So:
// - a statement with parameters goes out unnamed, never as a named
//   prepared statement the server session keeps (`sqlx_s_1 already
//   exists`): use these functions, never `sqlx::query` directly;
// - such a statement runs inside an explicit transaction, because the
//   driver parses it and executes it in two round trips;
// - session settings are only made with SET LOCAL, inside a transaction.
// ---------------------------------------------------------------------------

/// A statement with parameters, unnamed.
pub fn query<'q>(sql: impl SqlSafeStr) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    sqlx::query(sql).persistent(false)
}

/// A statement whose result is one column, unnamed.
pub fn query_scalar<'q, O>(
    sql: impl SqlSafeStr,
) -> sqlx::query::QueryScalar<'q, Postgres, O, PgArguments>
where
    (O,): for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_scalar(sql).persistent(false)
}

/// A statement whose rows map to a tuple, unnamed.
pub fn query_as<'q, O>(sql: impl SqlSafeStr) -> sqlx::query::QueryAs<'q, Postgres, O, PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as(sql).persistent(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(text: &str) -> PgConnInfo {
        PgConnInfo::parse_keywords(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn url(text: &str) -> PgConnInfo {
        PgConnInfo::parse_url(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn urls_are_read_like_libpq() {
        let u =
            url("postgres://app:p%40ss@db.example:6543/shop?sslmode=require&application_name=x");
        assert_eq!(u.given["user"], "app");
        assert_eq!(u.given["password"], "p@ss");
        assert_eq!(u.given["host"], "db.example");
        assert_eq!(u.given["port"], "6543");
        assert_eq!(u.given["dbname"], "shop");
        assert_eq!(u.given["sslmode"], "require");
        let sock = url("postgresql://%2Fvar%2Frun%2Fpostgresql/db");
        assert_eq!(sock.given["host"], "/var/run/postgresql");
        let v6 = url("postgres://u@[::1]:5433/db");
        assert_eq!(v6.given["host"], "::1");
        assert_eq!(v6.given["port"], "5433");
        let at = url("postgres://u:p@ss@h/db");
        assert_eq!(at.given["password"], "p@ss");
        assert!(url("postgres://").given.is_empty());
    }

    #[test]
    fn keyword_strings_are_read_like_libpq() {
        let k = kw(
            "host=db port = 5433 dbname='my db' user=app password='it\\'s \\\\ secret' sslmode=verify-full",
        );
        assert_eq!(k.given["host"], "db");
        assert_eq!(k.given["port"], "5433");
        assert_eq!(k.given["dbname"], "my db");
        assert_eq!(k.given["password"], "it's \\ secret");
        assert!(kw("").given.is_empty());
        assert!(PgConnInfo::parse_keywords("host").is_err());
        assert!(PgConnInfo::parse_keywords("host='db").is_err());
    }

    #[test]
    fn unknown_and_unsupported_parameters_are_errors() {
        match PgConnInfo::parse_keywords("hots=db") {
            Err(ConnError::UnknownParameter { suggestion, .. }) => {
                assert_eq!(suggestion, Some("host"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            PgConnInfo::parse_url("postgres://h/db?target_session_attrs=read-write"),
            Err(ConnError::Unsupported { .. })
        ));
        assert!(matches!(
            PgConnInfo::parse_url("postgres://a,b/db"),
            Err(ConnError::Unsupported { .. })
        ));
        assert!(matches!(
            PgConnInfo::parse_keywords("sslmode=strict"),
            Err(ConnError::BadValue { .. })
        ));
        assert!(matches!(
            PgConnInfo::parse_keywords("port=99999"),
            Err(ConnError::BadValue { .. })
        ));
    }

    #[test]
    fn the_password_is_never_displayed() {
        for text in [
            "postgres://app:S3cretMARK@db/app",
            "postgres://app@db/app?password=S3cretMARK",
            "host=db user=app password=S3cretMARK dbname=app",
        ] {
            let t = crate::conn::Target::parse(text).expect("parses");
            let shown = format!("{t} {t:?} {}", t.display());
            assert!(!shown.contains("S3cretMARK"), "{shown}");
            assert!(shown.contains("app:***@db"), "{shown}");
        }
    }

    #[test]
    fn the_environment_fills_what_the_string_leaves_out() {
        let env = |v: &str| match v {
            "PGHOST" => Some("envhost".to_string()),
            "PGPORT" => Some("6000".to_string()),
            "PGDATABASE" => Some("envdb".to_string()),
            "PGUSER" => Some("envuser".to_string()),
            _ => None,
        };
        let o = kw("dbname=given")
            .options_with(&env, None)
            .expect("options");
        assert_eq!(o.get_host(), "envhost");
        assert_eq!(o.get_port(), 6000);
        assert_eq!(o.get_database(), Some("given"));
        assert_eq!(o.get_username(), "envuser");
    }

    #[test]
    fn pgpass_supplies_the_password() {
        let dir = std::env::temp_dir().join(format!("bellows-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join(".pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:no\ndb\\:x:5432:*:app:first\ndb:5432:*:app:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .expect("write");
        assert_eq!(
            pgpass(&file, "db", 5432, "shop", "app").as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass(&file, "db:x", 5432, "shop", "app").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass(&file, "else", 1, "d", "u").as_deref(),
            Some("fallback")
        );
        let o = kw(&format!("host=db user=app passfile={}", file.display()))
            .options_with(&no_env, None)
            .expect("options");
        let shown = format!("{o:?}");
        assert!(shown.contains("pa:ss"), "the password file was read");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn verifying_modes_need_a_root_certificate() {
        let home = std::env::temp_dir().join(format!("bellows-home-{}", std::process::id()));
        std::fs::create_dir_all(&home).expect("dir");
        let err = kw("host=db sslmode=verify-full")
            .options_with(&no_env, Some(&home))
            .expect_err("no root.crt");
        assert!(matches!(err, ConnError::NoRootCert { .. }), "{err}");
        assert!(err.to_string().contains("sslrootcert=system"), "{err}");
        let ok =
            kw("host=db sslmode=verify-full sslrootcert=system").options_with(&no_env, Some(&home));
        assert!(ok.is_ok());
        std::fs::create_dir_all(home.join(".postgresql")).expect("dir");
        std::fs::write(home.join(".postgresql/root.crt"), "").expect("write");
        let o = kw("host=db sslmode=require")
            .options_with(&no_env, Some(&home))
            .expect("options");
        assert!(
            matches!(o.get_ssl_mode(), PgSslMode::VerifyCa),
            "libpq: require with a root.crt verifies the CA"
        );
        std::fs::remove_dir_all(&home).ok();
    }

    #[test]
    fn options_are_split_into_settings() {
        assert_eq!(
            parse_options("-c search_path=a,b --lock-timeout=2s -cstatement_timeout=0 -c x=a\\ b")
                .expect("ok"),
            vec![
                ("search_path".to_string(), "a,b".to_string()),
                ("lock_timeout".to_string(), "2s".to_string()),
                ("statement_timeout".to_string(), "0".to_string()),
                ("x".to_string(), "a b".to_string()),
            ]
        );
        assert!(parse_options("-x").is_err());
    }
}

#[cfg(test)]
mod pooler_rules {
    /// Every statement with parameters goes through `query`, `query_scalar`
    /// or `query_as` above: a direct `sqlx::query` would prepare a named
    /// statement, which breaks behind a transaction pooler.
    #[test]
    fn no_statement_bypasses_the_unnamed_helpers() {
        let mut offenders = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.ends_with("conn/postgres.rs") || path.extension().is_none_or(|e| e != "rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable");
                for (n, line) in text.lines().enumerate() {
                    for bad in [
                        "sqlx::query(",
                        "sqlx::query_scalar(",
                        "sqlx::query_as(",
                        "sqlx::query_with(",
                    ] {
                        if line.contains(bad) {
                            offenders.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "use crate::conn::postgres::{{query, query_scalar, query_as}} instead:\n{}",
            offenders.join("\n")
        );
    }
}
