//! Turning the parameters into a connection: the environment's values,
//! `.pgpass`, and TLS per `sslmode`.

use super::*;

impl PgConnInfo {
    /// Every parameter: the given value, else the environment's.
    pub(super) fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Resolved {
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

    pub(super) fn options_with(
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
pub(super) struct Resolved {
    pub(super) host: Option<String>,
    pub(super) hostaddr: Option<String>,
    pub(super) port: Option<String>,
    pub(super) dbname: Option<String>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) passfile: Option<String>,
    pub(super) connect_timeout: Option<String>,
    pub(super) options: Option<String>,
    pub(super) application_name: Option<String>,
    pub(super) sslmode: Option<String>,
    pub(super) sslrootcert: Option<String>,
    pub(super) sslcert: Option<String>,
    pub(super) sslkey: Option<String>,
}

pub(super) fn env_lookup(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The password for a connection from a password file, as libpq reads
/// it: `host:port:database:user:password` lines, `*` matching anything,
/// `\:` and `\\` escapes, the first matching line winning; `localhost`
/// matches a Unix-socket connection.
pub(super) fn pgpass(file: &Path, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
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
