//! The `idempotency_keys` table: the key an agreement payment was created with, written in
//! the creation's transaction (reference §9).

use pence_core::payment::idempotency::{IdempotencyKey, WINDOW_MS};
use pence_core::StoreError;

use super::columns;
use pence_sql::{vals, Row, Stmt};

columns! {
    KEY_COLUMNS, key_values(k: &IdempotencyKey) {
        service_id: &k.service_id,
        idempotency_key: &k.key,
        fingerprint: &k.fingerprint,
        payment_id: &k.payment_id,
        created_ms: k.created_ms,
    }
}

pub(crate) const SELECT_KEY: &str = "SELECT service_id, idempotency_key, fingerprint, \
    payment_id, created_ms FROM idempotency_keys WHERE service_id = $1 AND idempotency_key = $2";

pub(crate) const PURGE: &str = "DELETE FROM idempotency_keys WHERE created_ms < $1 \
    AND service_id NOT IN (SELECT id FROM services WHERE clock_offset_ms <> 0) \
    RETURNING payment_id";
/// The same for one service whose clock is moved.
pub(crate) const PURGE_SERVICE: &str = "DELETE FROM idempotency_keys WHERE created_ms < $1 \
    AND service_id = $2 RETURNING payment_id";

/// The key's row, replacing one of the same name the sweep has not purged yet although it
/// expired. Two creates racing with the same live key: the second breaks the primary key
/// and is refused (`Duplicate`).
pub(crate) fn key_rows(k: &IdempotencyKey) -> Vec<Stmt> {
    vec![
        Stmt::exec(
            "DELETE FROM idempotency_keys \
             WHERE service_id = $1 AND idempotency_key = $2 AND created_ms <= $3",
            vals![&k.service_id, &k.key, k.created_ms - WINDOW_MS],
        ),
        Stmt::insert("idempotency_keys", KEY_COLUMNS, key_values(k)),
    ]
}

pub(crate) fn key_from(mut r: Row) -> Result<IdempotencyKey, StoreError> {
    Ok(IdempotencyKey {
        service_id: r.text("service_id")?,
        key: r.text("idempotency_key")?,
        fingerprint: r.text("fingerprint")?,
        payment_id: r.text("payment_id")?,
        created_ms: r.i64("created_ms")?,
    })
}
