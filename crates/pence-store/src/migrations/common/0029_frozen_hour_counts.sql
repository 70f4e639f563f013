-- How many frozen payments each service has by status and hour of creation (created_ms /
-- 3,600,000), kept by the freezing sweep in the batch's own transaction (SQLite by 0030's
-- trigger, PostgreSQL in the freeze statement). A search by state and dates alone then counts
-- its whole hours from here and only its partial first and last hours, and what is not
-- frozen, from the payments (store/frozen.rs). Frozen payments keep their public state, so
-- the status they were counted under is one the same state filter names.
CREATE TABLE frozen_hour_counts (
    service_id TEXT NOT NULL,
    status TEXT NOT NULL,
    hour BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (service_id, status, hour)
);
INSERT INTO frozen_hour_counts (service_id, status, hour, n)
    SELECT service_id, status, created_ms / 3600000, COUNT(*) FROM payments
    WHERE frozen_seq IS NOT NULL GROUP BY service_id, status, created_ms / 3600000;
