-- The settlement sweep looks for captured payments not yet paid out; a partial index keeps
-- that lookup small however many settled payments there are.
CREATE INDEX payments_unsettled ON payments (captured_ms)
    WHERE settled_ms IS NULL AND captured_ms IS NOT NULL;
