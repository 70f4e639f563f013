-- The card journey: what the user entered (never the full number or CVC), the provider's
-- answer, capture times; tokens already exchanged; each service's card-page settings.
ALTER TABLE payments ADD COLUMN card_expiry TEXT;
ALTER TABLE payments ADD COLUMN card_type TEXT;
ALTER TABLE payments ADD COLUMN billing_line1 TEXT;
ALTER TABLE payments ADD COLUMN billing_line2 TEXT;
ALTER TABLE payments ADD COLUMN billing_postcode TEXT;
ALTER TABLE payments ADD COLUMN billing_city TEXT;
ALTER TABLE payments ADD COLUMN billing_country TEXT;
ALTER TABLE payments ADD COLUMN provider_id TEXT;
ALTER TABLE payments ADD COLUMN three_ds_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE payments ADD COLUMN corporate_surcharge BIGINT;
ALTER TABLE payments ADD COLUMN capture_submit_ms BIGINT;
ALTER TABLE payments ADD COLUMN captured_ms BIGINT;
-- The background sweeps (expiry, capture) look payments up by status and age.
CREATE INDEX payments_by_status_created ON payments (status, created_ms);

CREATE TABLE used_tokens (
    token_hash TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL,
    used_ms BIGINT NOT NULL
);

ALTER TABLE services ADD COLUMN accepted_brands TEXT NOT NULL
    DEFAULT 'visa,master-card,american-express,diners-club,discover,jcb,unionpay';
ALTER TABLE services ADD COLUMN accepted_card_types TEXT NOT NULL DEFAULT 'all';
ALTER TABLE services ADD COLUMN block_prepaid BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE services ADD COLUMN collect_billing_address BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE services ADD COLUMN email_collection TEXT NOT NULL DEFAULT 'mandatory';
ALTER TABLE services ADD COLUMN surcharge_credit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN surcharge_debit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN surcharge_prepaid_debit BIGINT NOT NULL DEFAULT 0;
