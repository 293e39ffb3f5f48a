//! Real servers a test starts for itself, from Debian's packages, on a
//! free local port, and stops when it is done: PgBouncer in transaction
//! pooling mode in front of the test server, and a private PostgreSQL
//! cluster for settings the shared server does not have (TLS with client
//! certificates). A missing package fails the test with how to install it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            panic!(
                "{what} did not start listening on port {port}; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// The `postgres` system user's ids, which servers run as when the tests
/// run as root (neither PostgreSQL nor PgBouncer runs as root).
fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres"))
                .then(|| (f[2].parse().expect("uid"), f[3].parse().expect("gid")))
        })
        .expect("a `postgres` system user (Debian's postgresql package creates it)")
}

/// A command run as the server user: itself, or `postgres` under root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Hands a file or folder to the server user.
fn give(path: &Path) {
    if is_root() {
        let (uid, gid) = postgres_ids();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

fn find_program(name: &str, also: &[&str], install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .chain(also.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed; this test starts its own. Install it with `{install}` (.ci/run does)")
        })
}

/// `host`, `port` and `user` of the test server (TEST_DATABASE_URL).
pub fn upstream() -> (String, u16, String) {
    let url = super::server_url();
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(&url);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (u.split(':').next().unwrap_or("postgres"), h),
        None => ("postgres", authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().unwrap_or(5432)),
        None => (hostport, 5432),
    };
    (host.to_string(), port, user.to_string())
}

/// PgBouncer in transaction pooling mode in front of the test server,
/// with a small pool so that server sessions really change hands.
pub struct PgBouncer {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// A pooler with two server sessions per database and user.
    pub fn start() -> PgBouncer {
        PgBouncer::start_with_pool(2)
    }

    /// A pooler with `pool_size` server sessions per database and user.
    pub fn start_with_pool(pool_size: u32) -> PgBouncer {
        let program = find_program(
            "pgbouncer",
            &["/usr/sbin/pgbouncer"],
            "apt-get install pgbouncer",
        );
        let version = Command::new(&program)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        // "PgBouncer 1.18.0": max_prepared_statements exists from 1.21 on;
        // 0 turns its prepared-statement support off, the hard case.
        let minor: u32 = version
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.split('.').nth(1))
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .expect("chmod");
        let port = free_port();
        let (host, upstream_port, user) = upstream();
        let log = dir.path().join("pgbouncer.log");
        let mut ini = format!(
            "[databases]\n* = host={host} port={upstream_port} user={user}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = any\npool_mode = transaction\ndefault_pool_size = {pool_size}\n\
             max_client_conn = 100\nlogfile = {}\npidfile = {}\n",
            log.display(),
            dir.path().join("pgbouncer.pid").display()
        );
        if minor >= 21 {
            ini.push_str("max_prepared_statements = 0\n");
        }
        let conf = dir.path().join("pgbouncer.ini");
        std::fs::write(&conf, ini).expect("write pgbouncer.ini");
        give(&conf);
        let child = as_server_user(&program)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer starts");
        let bouncer = PgBouncer {
            port,
            child,
            _dir: dir,
        };
        wait_for_port(port, "PgBouncer", &log);
        bouncer
    }

    /// A URL of database `db` through the pooler.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // runuser passes SIGTERM on to PgBouncer.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// The newest installed PostgreSQL's programs (initdb, pg_ctl).
fn pg_bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").is_file());
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().expect(
        "PostgreSQL's server programs in /usr/lib/postgresql/*/bin (apt-get install postgresql)",
    )
}

/// A temporary folder, and in it an empty data folder that only the
/// server user may enter (as initdb and pg_basebackup want it).
fn data_folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("chmod");
    give(&data);
    (dir, data)
}

/// A PostgreSQL cluster of a test's own, on a free port.
pub struct Cluster {
    pub port: u16,
    /// The folder of its Unix socket.
    pub socket: PathBuf,
    pub dir: tempfile::TempDir,
    data: PathBuf,
    bindir: PathBuf,
}

impl Cluster {
    /// Creates and starts a cluster: `files` (name, contents) are written
    /// into its data folder with owner-only access (certificates, keys),
    /// `conf` is appended to postgresql.conf and `hba` replaces
    /// pg_hba.conf.
    pub fn start(conf: &str, hba: &str, files: &[(&str, String)]) -> Cluster {
        let bindir = pg_bindir();
        let (dir, data) = data_folder();
        let out = as_server_user(&bindir.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (name, contents) in files {
            let p = data.join(name);
            std::fs::write(&p, contents).expect("write a file");
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod");
            give(&p);
        }
        Cluster::launch(bindir, dir, data, conf, Some(hba))
    }

    /// Starts a streaming replica of this cluster (which must allow
    /// replication connections): a base backup with its recovery
    /// settings (`pg_basebackup -R`), `conf` appended to its
    /// postgresql.conf, on a port of its own.
    pub fn replica(&self, conf: &str) -> Cluster {
        let (dir, data) = data_folder();
        let out = as_server_user(&self.bindir.join("pg_basebackup"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-R", "-X", "stream", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("pg_basebackup runs");
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster::launch(self.bindir.clone(), dir, data, conf, None)
    }

    /// Starts the cluster in `data` on a free port, with `conf` appended
    /// to its postgresql.conf and `hba` (if given) as its pg_hba.conf.
    fn launch(
        bindir: PathBuf,
        dir: tempfile::TempDir,
        data: PathBuf,
        conf: &str,
        hba: Option<&str>,
    ) -> Cluster {
        let port = free_port();
        let socket = dir.path().join("socket");
        std::fs::create_dir(&socket).expect("socket dir");
        give(&socket);
        let mut pgconf = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        pgconf.push_str(&format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\n{conf}\n",
            socket.display()
        ));
        std::fs::write(data.join("postgresql.conf"), pgconf).expect("conf");
        if let Some(hba) = hba {
            std::fs::write(data.join("pg_hba.conf"), hba).expect("hba");
        }
        let log = dir.path().join("server.log");
        std::fs::write(&log, "").expect("log");
        give(&log);
        let out = as_server_user(&bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "the private cluster did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        wait_for_port(port, "the private cluster", &log);
        Cluster {
            port,
            socket,
            dir,
            data,
            bindir,
        }
    }

    /// The URL of database `db` on this cluster, as `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
