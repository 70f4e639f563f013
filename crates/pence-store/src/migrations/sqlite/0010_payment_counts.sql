-- How many payments each service has, kept by a trigger in the inserting transaction: an
-- unfiltered search's total (GOV.UK Pay's `total`) without counting a million index entries.
-- SQLite has one writer, so one row a service is enough.
CREATE TABLE payment_counts (
    service_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (service_id, shard)
);
INSERT INTO payment_counts (service_id, shard, n)
    SELECT service_id, 0, COUNT(*) FROM payments GROUP BY service_id;
CREATE TRIGGER payment_counts_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payment_counts (service_id, shard, n) VALUES (new.service_id, 0, 1)
    ON CONFLICT (service_id, shard) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments BEGIN
    UPDATE payment_counts SET n = n - 1 WHERE service_id = old.service_id AND shard = 0;
END;
