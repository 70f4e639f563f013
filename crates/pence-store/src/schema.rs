//! Pence's own schema: its tables' migrations (`migrations/`, those whose SQL is the same on
//! both engines in `common/`), recorded in `schema_migrations`, and the work SQLite's writer
//! does when idle. The engine layer (pence-sql) runs them.

use pence_sql::Schema;

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
    (36, include_str!("migrations/common/0036_payment_links.sql")),
    (
        37,
        include_str!("migrations/common/0037_message_overrides.sql"),
    ),
    (38, include_str!("migrations/common/0038_sweeps_held.sql")),
    (39, include_str!("migrations/common/0039_webhook_chaos.sql")),
    (40, include_str!("migrations/common/0040_snapshots.sql")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use pence_sql::in_order;

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
