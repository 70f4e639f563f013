-- SQLite's UPDATE has no RETURNING a following statement can read, so the freezing sweep's
-- hour counts (0029) are kept by a trigger on the one column only that sweep sets.
CREATE TRIGGER frozen_hour_counts_add AFTER UPDATE OF frozen_seq ON payments
WHEN old.frozen_seq IS NULL AND new.frozen_seq IS NOT NULL BEGIN
    INSERT INTO frozen_hour_counts (service_id, status, hour, n)
    VALUES (new.service_id, new.status, new.created_ms / 3600000, 1)
    ON CONFLICT (service_id, status, hour) DO UPDATE SET n = n + 1;
END;
