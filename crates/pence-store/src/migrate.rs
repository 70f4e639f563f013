//! Schema migrations, one list per engine, applied in order at start and recorded in
//! `schema_migrations`. On PostgreSQL an advisory lock keeps two starting nodes apart.

use pence_core::StoreError;
use sqlx::{PgPool, SqlitePool};

use crate::connect::db_err;

const SQLITE: &[(i64, &str)] = &[(1, include_str!("migrations/sqlite/0001_base.sql"))];
const POSTGRES: &[(i64, &str)] = &[(1, include_str!("migrations/postgres/0001_base.sql"))];

const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)";
const LOCK_KEY: i64 = 0x70656e6365; // "pence"

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

macro_rules! apply {
    ($pool:expr, $list:expr) => {{
        sqlx::query(CREATE_TABLE)
            .execute($pool)
            .await
            .map_err(db_err)?;
        for (version, sql) in $list {
            let mut tx = $pool.begin().await.map_err(db_err)?;
            let done: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if done.is_none() {
                sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(db_err)?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)")
                    .bind(version)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tracing::info!(version, "applied migration");
            }
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }};
}

pub(crate) async fn sqlite(pool: &SqlitePool) -> Result<(), StoreError> {
    apply!(pool, SQLITE)
}

pub(crate) async fn postgres(pool: &PgPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let result: Result<(), StoreError> = apply!(pool, POSTGRES);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    result
}
