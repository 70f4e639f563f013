//! Opening a database from a URL: `postgres://…` for PostgreSQL, anything else is SQLite
//! (`sqlite://path`, `sqlite:path` or a plain file path).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use pence_store_error::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;

use crate::db::Db;
use crate::migrate::Schema;
use crate::postgres::{err, PgDb, IDLE_BEFORE_PING};
use crate::sqlite::SqliteDb;

/// Tuning knobs; the defaults suit a 2-core machine.
#[derive(Debug, Clone)]
pub struct Options {
    /// Read connections.
    pub max_connections: u32,
    /// Most changes one group commit carries.
    pub max_batch: usize,
    /// Group-commit writers (PostgreSQL only; SQLite has one writer).
    pub writers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 4,
            max_batch: 512,
            // Two, not three: each writer's group is one statement run by one PostgreSQL
            // backend, so two keep both cores of a small machine busy while groups stay
            // large (PostgreSQL's work per row falls with the group's size). Measured on 2
            // cores, 64 clients: 3 writers 20,700-21,700 creates/s (groups of 11), 2 writers
            // 22,700-24,700/s (groups of 16), 5 or 8 writers fewer again.
            writers: 2,
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// The SQLite file `url` names; `None` for PostgreSQL.
pub fn sqlite_file(url: &str) -> Option<&Path> {
    (!is_postgres(url)).then(|| Path::new(sqlite_path(url)))
}

/// Opens the database at `url` and brings `schema` up to date in it.
pub(crate) async fn open(
    url: &str,
    options: Options,
    schema: &'static Schema,
) -> Result<Arc<dyn Db>, StoreError> {
    if is_postgres(url) {
        let connect = PgConnectOptions::from_str(url)
            .map_err(err)?
            .disable_statement_logging();
        // One connection first, so that a server that cannot be reached is reported at once
        // with its cause ("Connection refused"), not as the pool's timeout ten seconds on.
        sqlx::Connection::close(
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&connect)
                .await
                .map_err(err)?,
        )
        .await
        .map_err(err)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections * 4 + options.writers as u32)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out by default: a second round trip for
            // each query (a quarter of a get's time in a profile). Only a connection that has
            // been idle a while is pinged now (a dead one is dropped and another taken); one
            // that dies under load fails its query, which a read retries once.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    Ok(meta.idle_for < IDLE_BEFORE_PING
                        || sqlx::Connection::ping(conn).await.is_ok())
                })
            })
            .connect_with(connect)
            .await
            .map_err(err)?;
        crate::postgres::migrate::run(&pool, schema).await?;
        Ok(Arc::new(PgDb::new(
            pool,
            options.writers,
            options.max_batch,
        )))
    } else {
        let path = sqlite_path(url).to_string();
        if let Some(parent) = Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::driver(&parent.display().to_string(), e))?;
            }
        }
        let readers = options.max_connections as usize;
        let max_batch = options.max_batch;
        let db =
            tokio::task::spawn_blocking(move || SqliteDb::open(&path, readers, max_batch, schema))
                .await
                .map_err(|e| StoreError::driver("opening sqlite", e))??;
        Ok(Arc::new(db))
    }
}

/// Creates an empty schema (tests give each test its own on one PostgreSQL database).
pub async fn create_postgres_schema(url: &str, schema: &str) -> Result<(), StoreError> {
    if !schema
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(StoreError::database(format!("bad schema name {schema:?}")));
    }
    let mut conn = PgConnectOptions::from_str(url)
        .map_err(err)?
        .disable_statement_logging()
        .connect()
        .await
        .map_err(err)?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .map_err(err)?;
    Ok(())
}
