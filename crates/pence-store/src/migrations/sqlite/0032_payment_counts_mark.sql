-- Each service's payment count (0010) is kept behind the trigram index's mark (0031) instead of
-- by an insert trigger: a statement firing a trigger makes SQLite keep a sub-journal of every
-- page the statement touches, which was a quarter of a create's work in the writer. The
-- writer's idle work counts each batch of new payments as it indexes their text, in the same
-- transaction that moves the mark, so `payment_counts` counts exactly the payments at or
-- below the mark and a total adds those above it (store/payments.rs), in one statement.
DROP TRIGGER payment_counts_insert;
UPDATE payment_counts SET n = n - (
    SELECT COUNT(*) FROM payments
    WHERE +payments.service_id = payment_counts.service_id
      AND payments.rowid > (SELECT upto FROM text_index_mark WHERE id = 1)
) WHERE shard = 0;
DROP TRIGGER payment_counts_delete;
CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments
WHEN old.rowid <= (SELECT upto FROM text_index_mark WHERE id = 1)
BEGIN
    UPDATE payment_counts SET n = n - 1 WHERE service_id = old.service_id AND shard = 0;
END;
