-- Search payments matches reference, email and cardholder name anywhere in the text
-- (case-insensitive LIKE '%x%'), which no B-tree index can serve. A trigram FTS5 index over
-- the three columns finds the candidate rows for any fragment of 3+ characters; the LIKE
-- still decides. Kept in step with the payments table by triggers.
CREATE VIRTUAL TABLE payments_text USING fts5(
    reference, email, cardholder_name,
    content = 'payments', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO payments_text (payments_text) VALUES ('rebuild');

CREATE TRIGGER payments_text_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payments_text (rowid, reference, email, cardholder_name)
    VALUES (new.rowid, new.reference, new.email, new.cardholder_name);
END;
CREATE TRIGGER payments_text_update AFTER UPDATE OF reference, email, cardholder_name ON payments
WHEN old.reference IS NOT new.reference OR old.email IS NOT new.email
    OR old.cardholder_name IS NOT new.cardholder_name
BEGIN
    INSERT INTO payments_text (payments_text, rowid, reference, email, cardholder_name)
    VALUES ('delete', old.rowid, old.reference, old.email, old.cardholder_name);
    INSERT INTO payments_text (rowid, reference, email, cardholder_name)
    VALUES (new.rowid, new.reference, new.email, new.cardholder_name);
END;
CREATE TRIGGER payments_text_delete AFTER DELETE ON payments BEGIN
    INSERT INTO payments_text (payments_text, rowid, reference, email, cardholder_name)
    VALUES ('delete', old.rowid, old.reference, old.email, old.cardholder_name);
END;
