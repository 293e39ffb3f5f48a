//! A scratch database for a benchmark: made on the server that
//! TEST_DATABASE_URL names (default postgres://postgres@127.0.0.1:5432/postgres)
//! and dropped afterwards, whatever the benchmark's outcome.

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

type Error = Box<dyn std::error::Error>;

/// Runs `f` with the URL of a new database called `name`, then drops it.
pub async fn with_database<F, Fut, T>(name: &str, f: F) -> Result<T, Error>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let url = match server.rsplit_once('/') {
        Some((root, _)) => format!("{root}/{name}"),
        None => return Err("TEST_DATABASE_URL needs a database path".into()),
    };
    let mut admin = PgConnection::connect(&server).await?;
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let result = f(url).await;
    admin
        .execute(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    result
}
