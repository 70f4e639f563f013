-- Search totals without recounting the past (store/frozen.rs). A payment whose public state
-- is final never again matches a search differently; a sweep marks such payments frozen in
-- numbered batches. Each batch takes the next `freeze_state.seq` under that row's lock, so
-- batches commit in the order of their numbers: whoever sees batch N sees every batch before.
ALTER TABLE payments ADD COLUMN frozen_seq BIGINT;
-- What is not frozen, or frozen after a cached count was taken: the rest of a total.
CREATE INDEX payments_by_service_frozen ON payments (service_id, frozen_seq);
-- The sweep's work. The statuses are those of `Status::state_is_final` (a test keeps the
-- two lists equal; the sweep's query names the same list, so the index serves it).
CREATE INDEX payments_to_freeze ON payments (id) WHERE frozen_seq IS NULL AND status IN ('AUTHORISATION REJECTED', 'AUTHORISATION ABORTED', 'AUTHORISATION CANCELLED', 'AUTHORISATION ERROR', 'AUTHORISATION TIMEOUT', 'AUTHORISATION UNEXPECTED ERROR', 'CAPTURED', 'CAPTURE ERROR', 'EXPIRE CANCEL READY', 'EXPIRE CANCEL SUBMITTED', 'EXPIRE CANCEL FAILED', 'EXPIRED', 'USER CANCEL READY', 'USER CANCEL SUBMITTED', 'USER CANCELLED', 'USER CANCEL ERROR', 'SYSTEM CANCEL READY', 'SYSTEM CANCEL SUBMITTED', 'SYSTEM CANCELLED', 'SYSTEM CANCEL ERROR');
CREATE TABLE freeze_state (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO freeze_state (id, seq) VALUES (1, 0);
