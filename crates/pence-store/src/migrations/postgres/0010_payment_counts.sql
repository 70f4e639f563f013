-- How many payments each service has, kept by triggers in the inserting transaction: an
-- unfiltered search's total (GOV.UK Pay's `total`) without counting a million index entries.
-- Each connection adds to its own shard (by backend pid), so concurrent writers rarely wait
-- on one row; rows are taken in service order, so they cannot deadlock.
CREATE TABLE payment_counts (
    service_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (service_id, shard)
);
INSERT INTO payment_counts (service_id, shard, n)
    SELECT service_id, 0, COUNT(*) FROM payments GROUP BY service_id;

CREATE FUNCTION payment_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payment_counts (service_id, shard, n)
        SELECT service_id, pg_backend_pid() % 16, COUNT(*) FROM new_rows
        GROUP BY service_id ORDER BY service_id
    ON CONFLICT (service_id, shard) DO UPDATE SET n = payment_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER payment_counts_insert AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payment_counts_add();

CREATE FUNCTION payment_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payment_counts (service_id, shard, n)
        SELECT service_id, pg_backend_pid() % 16, -COUNT(*) FROM old_rows
        GROUP BY service_id ORDER BY service_id
    ON CONFLICT (service_id, shard) DO UPDATE SET n = payment_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payment_counts_remove();
