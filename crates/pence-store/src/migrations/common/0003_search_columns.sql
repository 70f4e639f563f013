-- What search filters on beyond the request: card details (filled by the card pages), the
-- settlement date and the agreement. NULL until a payment has them.
ALTER TABLE payments ADD COLUMN cardholder_name TEXT;
ALTER TABLE payments ADD COLUMN first_digits TEXT;
ALTER TABLE payments ADD COLUMN last_digits TEXT;
ALTER TABLE payments ADD COLUMN card_brand TEXT;
ALTER TABLE payments ADD COLUMN settled_ms BIGINT;
ALTER TABLE payments ADD COLUMN agreement_id TEXT;
