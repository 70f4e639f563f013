//! Schema migrations: those whose SQL is the same on both engines listed once (`common/`),
//! each engine's own beside them, applied in version order at start and recorded in
//! `schema_migrations`. On PostgreSQL an advisory lock keeps two starting nodes apart; on
//! SQLite the writer connection's exclusive transaction does.

use pence_core::StoreError;
use sqlx::PgPool;

/// Migrations whose SQL is the same on both engines.
const COMMON: &[(i64, &str)] = &[
    (2, include_str!("migrations/common/0002_refunds.sql")),
    (3, include_str!("migrations/common/0003_search_columns.sql")),
    (4, include_str!("migrations/common/0004_card_journey.sql")),
    (5, include_str!("migrations/common/0005_settlement.sql")),
    (6, include_str!("migrations/common/0006_refund_search.sql")),
    (7, include_str!("migrations/common/0007_disputes.sql")),
    (9, include_str!("migrations/common/0009_search_order.sql")),
    (11, include_str!("migrations/common/0011_webhooks.sql")),
    (12, include_str!("migrations/common/0012_card_filters.sql")),
    (13, include_str!("migrations/common/0013_agreements.sql")),
    (
        14,
        include_str!("migrations/common/0014_agreement_payments.sql"),
    ),
    (
        15,
        include_str!("migrations/common/0015_recurring_payments.sql"),
    ),
    (16, include_str!("migrations/common/0016_moto_masking.sql")),
    (
        17,
        include_str!("migrations/common/0017_frozen_payments.sql"),
    ),
    (
        18,
        include_str!("migrations/common/0018_service_clocks.sql"),
    ),
    (19, include_str!("migrations/common/0019_fault_rules.sql")),
    (
        20,
        include_str!("migrations/common/0020_triggered_messages.sql"),
    ),
    (
        21,
        include_str!("migrations/common/0021_delivery_faults.sql"),
    ),
    (22, include_str!("migrations/common/0022_emails.sql")),
    (
        23,
        include_str!("migrations/common/0023_email_delivery.sql"),
    ),
];

/// SQLite's own.
const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("migrations/sqlite/0001_base.sql")),
    (8, include_str!("migrations/sqlite/0008_text_search.sql")),
    (
        10,
        include_str!("migrations/sqlite/0010_payment_counts.sql"),
    ),
];

/// PostgreSQL's own.
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("migrations/postgres/0001_base.sql")),
    (8, include_str!("migrations/postgres/0008_text_search.sql")),
    (
        10,
        include_str!("migrations/postgres/0010_payment_counts.sql"),
    ),
];

/// An engine's migrations in version order: its own among the common ones.
fn in_order(own: &'static [(i64, &'static str)]) -> Vec<&'static (i64, &'static str)> {
    let mut all: Vec<_> = COMMON.iter().chain(own).collect();
    all.sort_by_key(|(version, _)| *version);
    all
}

const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)";
const LOCK_KEY: i64 = 0x70656e6365; // "pence"

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn sqlite(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    use crate::sqlite::err;
    conn.execute_batch(CREATE_TABLE).map_err(err)?;
    for (version, sql) in in_order(SQLITE) {
        conn.execute_batch("BEGIN EXCLUSIVE").map_err(err)?;
        let done: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [version],
                |r| r.get(0),
            )
            .map_err(err)?;
        let applied = if done {
            Ok(())
        } else {
            conn.execute_batch(sql)
                .and_then(|_| {
                    conn.execute(
                        "INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, ?2)",
                        [*version, now_ms()],
                    )
                })
                .map(|_| tracing::info!(version, "applied migration"))
        };
        match applied {
            Ok(()) => conn.execute_batch("COMMIT").map_err(err)?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(err(e));
            }
        }
    }
    Ok(())
}

pub(crate) async fn postgres(pool: &PgPool) -> Result<(), StoreError> {
    use crate::postgres::err;
    let mut conn = pool.acquire().await.map_err(err)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    let result = async {
        sqlx::query(CREATE_TABLE)
            .execute(&mut *conn)
            .await
            .map_err(err)?;
        for (version, sql) in in_order(POSTGRES) {
            let done: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(err)?;
            if done.is_some() {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(err)?;
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(err)?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)")
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            tx.commit().await.map_err(err)?;
            tracing::info!(version, "applied migration");
        }
        Ok::<(), StoreError>(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_has_every_version_once() {
        for own in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = in_order(own).iter().map(|(v, _)| *v).collect();
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            assert_eq!(versions, expected);
        }
    }
}
