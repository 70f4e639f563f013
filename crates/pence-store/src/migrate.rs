//! Schema migrations: those whose SQL is the same on both engines listed once (`common/`),
//! each engine's own beside them, applied in version order at start and recorded in a table
//! of versions (`schema_migrations` for Pence). On PostgreSQL an advisory lock keeps two
//! starting nodes apart; on SQLite the writer connection's exclusive transaction does.
//! Other users of the engine layer (`pence-connector`) bring their own `Schema`.

use pence_core::StoreError;
use sqlx::PgPool;

/// A set of migrations and where they are recorded.
#[derive(Debug)]
pub struct Schema {
    /// The table recording applied versions (so several schemas can share one database).
    pub table: &'static str,
    /// The PostgreSQL advisory lock held while migrating.
    pub lock_key: i64,
    /// Migrations whose SQL is the same on both engines.
    pub common: &'static [(i64, &'static str)],
    pub sqlite: &'static [(i64, &'static str)],
    pub postgres: &'static [(i64, &'static str)],
    /// Work SQLite's writer does in batches when nothing is queued (and every few groups
    /// under load), each run one transaction: statements whose last changes a row while
    /// there is more to do.
    pub sqlite_idle: &'static [&'static str],
}

/// Pence's own schema.
pub(crate) const PENCE: Schema = Schema {
    table: "schema_migrations",
    lock_key: 0x70656e6365, // "pence"
    common: COMMON,
    sqlite: SQLITE,
    postgres: POSTGRES,
    sqlite_idle: TEXT_INDEXING,
};

/// Fills the trigram index and counts each service's payments behind their mark (SQLite's
/// 0031 and 0032), 2,000 payments a batch.
const TEXT_INDEXING: &[&str] = &[
    "INSERT INTO payments_text (rowid, reference, email, cardholder_name) \
     SELECT rowid, reference, email, cardholder_name FROM payments \
     WHERE rowid > (SELECT upto FROM text_index_mark WHERE id = 1) ORDER BY rowid LIMIT 2000",
    "INSERT INTO payment_counts (service_id, shard, n) \
     SELECT service_id, 0, COUNT(*) FROM (SELECT service_id FROM payments \
     WHERE rowid > (SELECT upto FROM text_index_mark WHERE id = 1) ORDER BY rowid LIMIT 2000) \
     WHERE true GROUP BY service_id \
     ON CONFLICT (service_id, shard) DO UPDATE SET n = n + excluded.n",
    "UPDATE text_index_mark SET upto = (SELECT MAX(rowid) FROM (SELECT rowid FROM payments \
     WHERE rowid > upto ORDER BY rowid LIMIT 2000)) \
     WHERE id = 1 AND EXISTS (SELECT 1 FROM payments WHERE rowid > upto)",
];

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
    (
        24,
        include_str!("migrations/common/0024_refund_settlement.sql"),
    ),
    (26, include_str!("migrations/common/0026_staff.sql")),
    (
        27,
        include_str!("migrations/common/0027_webhook_messages_by_payment.sql"),
    ),
    (
        28,
        include_str!("migrations/common/0028_api_key_last_use.sql"),
    ),
    (
        29,
        include_str!("migrations/common/0029_frozen_hour_counts.sql"),
    ),
    (33, include_str!("migrations/common/0033_search_counts.sql")),
    (
        34,
        include_str!("migrations/common/0034_sign_in_attempts.sql"),
    ),
    (
        35,
        include_str!("migrations/common/0035_instance_settings.sql"),
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
    (25, include_str!("migrations/sqlite/0025_rate_windows.sql")),
    (
        30,
        include_str!("migrations/sqlite/0030_frozen_hour_trigger.sql"),
    ),
    (
        31,
        include_str!("migrations/sqlite/0031_text_index_mark.sql"),
    ),
    (
        32,
        include_str!("migrations/sqlite/0032_payment_counts_mark.sql"),
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
    (
        25,
        include_str!("migrations/postgres/0025_rate_windows.sql"),
    ),
];

/// An engine's migrations in version order: its own among the common ones.
fn in_order(
    common: &'static [(i64, &'static str)],
    own: &'static [(i64, &'static str)],
) -> Vec<&'static (i64, &'static str)> {
    let mut all: Vec<_> = common.iter().chain(own).collect();
    all.sort_by_key(|(version, _)| *version);
    all
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn create_table(schema: &Schema) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        schema.table
    )
}

pub(crate) fn sqlite(conn: &rusqlite::Connection, schema: &Schema) -> Result<(), StoreError> {
    use crate::sqlite::err;
    conn.execute_batch(&create_table(schema)).map_err(err)?;
    let done_sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE version = ?1)",
        schema.table
    );
    let record_sql = format!(
        "INSERT INTO {} (version, applied_ms) VALUES (?1, ?2)",
        schema.table
    );
    let mut applied_now = Vec::new();
    for (version, sql) in in_order(schema.common, schema.sqlite) {
        conn.execute_batch("BEGIN EXCLUSIVE").map_err(err)?;
        let done: bool = conn
            .query_row(&done_sql, [version], |r| r.get(0))
            .map_err(err)?;
        let applied = if done {
            Ok(())
        } else {
            conn.execute_batch(sql)
                .and_then(|_| conn.execute(&record_sql, [*version, now_ms()]))
                .map(|_| applied_now.push(*version))
        };
        match applied {
            Ok(()) => conn.execute_batch("COMMIT").map_err(err)?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(err(e));
            }
        }
    }
    summarise(&applied_now);
    Ok(())
}

/// One line for the migrations a start applied, however many (none: nothing said).
fn summarise(applied: &[i64]) {
    if let (Some(first), Some(last)) = (applied.first(), applied.last()) {
        tracing::info!(
            count = applied.len(),
            "applied {} migrations ({first} to {last})",
            applied.len()
        );
    }
}

pub(crate) async fn postgres(pool: &PgPool, schema: &Schema) -> Result<(), StoreError> {
    use crate::postgres::err;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every version is used once: by both engines (common) or by one; an engine skips
    /// the other's own versions.
    #[test]
    fn each_engine_has_every_version_once() {
        let mut all = std::collections::BTreeSet::new();
        for own in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = in_order(COMMON, own).iter().map(|(v, _)| *v).collect();
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
            all.extend(versions);
        }
        let expected: Vec<i64> = (1..=all.len() as i64).collect();
        assert_eq!(all.into_iter().collect::<Vec<_>>(), expected);
    }
}
