-- Disputes (sandbox dispute cards). The payment carries when its announced dispute is due and
-- whether one was raised: refunds check `disputed` in their conditional update, so a refund
-- and a dispute racing each other are settled by the database.
ALTER TABLE payments ADD COLUMN disputed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE payments ADD COLUMN dispute_due_ms BIGINT;
CREATE INDEX payments_dispute_due ON payments (dispute_due_ms) WHERE dispute_due_ms IS NOT NULL;

CREATE TABLE disputes (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    payment_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    won BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    net_amount BIGINT,
    evidence_due_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    due_ms BIGINT,
    settled_ms BIGINT
);
-- Search disputes: a service's disputes newest first; the lifecycle sweep: those with a step due.
CREATE INDEX disputes_by_service_created ON disputes (service_id, created_ms);
CREATE INDEX disputes_due ON disputes (due_ms) WHERE due_ms IS NOT NULL;
