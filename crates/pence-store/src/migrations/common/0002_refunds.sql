-- Sum of refunds submitted or succeeded (errored ones give their amount back), kept on the
-- payment so that a refund's availability check and its insert are one conditional update.
ALTER TABLE payments ADD COLUMN refund_submitted BIGINT NOT NULL DEFAULT 0;

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id, created_ms);
