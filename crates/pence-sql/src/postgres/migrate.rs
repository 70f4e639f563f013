//! Applying a `Schema`'s migrations on PostgreSQL, under the schema's advisory lock so two
//! starting nodes apply each version once.

use pence_store_error::StoreError;
use sqlx::PgPool;

use super::err;
use crate::migrate::{create_table, in_order, now_ms, summarise, Schema};

pub(crate) async fn run(pool: &PgPool, schema: &Schema) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(err)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(schema.lock_key)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    let result = async {
        sqlx::query(&create_table(schema))
            .execute(&mut *conn)
            .await
            .map_err(err)?;
        let done_sql = format!("SELECT version FROM {} WHERE version = $1", schema.table);
        let record_sql = format!(
            "INSERT INTO {} (version, applied_ms) VALUES ($1, $2)",
            schema.table
        );
        let mut applied_now = Vec::new();
        for (version, sql) in in_order(schema.common, schema.postgres) {
            let done: Option<(i64,)> = sqlx::query_as(&done_sql)
                .bind(version)
                .fetch_optional(&mut *conn)
                .await
                .map_err(err)?;
            if done.is_some() {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(err)?;
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(err)?;
            sqlx::query(&record_sql)
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            tx.commit().await.map_err(err)?;
            applied_now.push(*version);
        }
        summarise(&applied_now);
        Ok::<(), StoreError>(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(schema.lock_key)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    result
}
