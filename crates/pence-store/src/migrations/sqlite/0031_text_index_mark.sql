-- The trigram index (0008) is filled behind a mark instead of by an insert trigger: the
-- writer thread indexes new payments in batches when it has nothing queued (and every few
-- groups under load), so a create no longer pays for its trigrams and FTS5 flushes one
-- segment a batch instead of one a group commit. Payments above the mark are not in the
-- index yet; a search's trigram hint takes them as candidates too, so results stay exact
-- (store/search.rs). Payments are never deleted, so their rowids only grow.
CREATE TABLE text_index_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    upto INTEGER NOT NULL
);
INSERT INTO text_index_mark (id, upto) VALUES (1, (SELECT COALESCE(MAX(rowid), 0) FROM payments));
DROP TRIGGER payments_text_insert;
-- Changes to what is indexed are mirrored; what is above the mark is indexed as it is then.
DROP TRIGGER payments_text_update;
CREATE TRIGGER payments_text_update AFTER UPDATE OF reference, email, cardholder_name ON payments
WHEN (old.reference IS NOT new.reference OR old.email IS NOT new.email
    OR old.cardholder_name IS NOT new.cardholder_name)
    AND old.rowid <= (SELECT upto FROM text_index_mark WHERE id = 1)
BEGIN
    INSERT INTO payments_text (payments_text, rowid, reference, email, cardholder_name)
    VALUES ('delete', old.rowid, old.reference, old.email, old.cardholder_name);
    INSERT INTO payments_text (rowid, reference, email, cardholder_name)
    VALUES (new.rowid, new.reference, new.email, new.cardholder_name);
END;
DROP TRIGGER payments_text_delete;
CREATE TRIGGER payments_text_delete AFTER DELETE ON payments
WHEN old.rowid <= (SELECT upto FROM text_index_mark WHERE id = 1)
BEGIN
    INSERT INTO payments_text (payments_text, rowid, reference, email, cardholder_name)
    VALUES ('delete', old.rowid, old.reference, old.email, old.cardholder_name);
END;
