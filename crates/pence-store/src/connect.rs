//! Opening a database from a URL: `postgres://…` for PostgreSQL, anything else is SQLite
//! (`sqlite://path`, `sqlite:path` or a plain file path).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use pence_core::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;

use crate::batch::Batcher;
use crate::engine::Engine;
use crate::migrate;
use crate::store::SqlStore;

/// Tuning knobs; the defaults suit a 2-core machine.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Read connections (SQLite) or all connections (PostgreSQL).
    pub max_connections: u32,
    /// Most writes one group commit carries.
    pub max_batch: usize,
    /// Group-commit writers (PostgreSQL only; SQLite has one writer).
    pub writers: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            max_batch: 256,
            writers: 2,
        }
    }
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::Database(e.to_string()),
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens (and migrates) the database at `url`.
pub async fn connect(url: &str, options: StoreOptions) -> Result<SqlStore, StoreError> {
    let engine = if is_postgres(url) {
        let connect = PgConnectOptions::from_str(url)
            .map_err(db_err)?
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections + options.writers as u32)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        migrate::postgres(&pool).await?;
        Engine::Postgres(pool)
    } else {
        let base = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(db_err)?
        } else {
            if let Some(parent) = Path::new(url).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Database(format!("{}: {e}", parent.display())))?;
                }
            }
            SqliteConnectOptions::new().filename(url)
        };
        // WAL with synchronous=FULL: a commit is on disk (fsync'd) before it returns.
        let base = base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .disable_statement_logging();
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await
            .map_err(db_err)?;
        migrate::sqlite(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .connect_with(base.read_only(true))
            .await
            .map_err(db_err)?;
        Engine::Sqlite { read, write }
    };
    let writers = match &engine {
        Engine::Sqlite { .. } => 1,
        Engine::Postgres(_) => options.writers.max(1),
    };
    let batcher = Batcher::start(engine.clone(), options.max_batch, writers);
    Ok(SqlStore::new(engine, batcher))
}

/// Creates an empty schema (tests give each test its own on one PostgreSQL database).
pub async fn create_postgres_schema(url: &str, schema: &str) -> Result<(), StoreError> {
    if !schema
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(StoreError::Database(format!("bad schema name {schema:?}")));
    }
    let mut conn = PgConnectOptions::from_str(url)
        .map_err(db_err)?
        .disable_statement_logging()
        .connect()
        .await
        .map_err(db_err)?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
