use super::connect::pgpass;
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
    let u = url("postgres://app:p%40ss@db.example:6543/shop?sslmode=require&application_name=x");
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
