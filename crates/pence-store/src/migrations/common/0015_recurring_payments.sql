-- A refused agreement payment: whether trying again may succeed (state.can_retry).
ALTER TABLE payments ADD COLUMN can_retry BOOLEAN;

-- Idempotency-Key of agreement payments (reference §9): one per service and key, forgotten
-- after a day by the sweep.
CREATE TABLE idempotency_keys (
    service_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (service_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
