-- Agreements for recurring payments (reference §7), and what happened to them.
CREATE TABLE agreements (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    reference TEXT NOT NULL,
    description TEXT NOT NULL,
    user_identifier TEXT,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    cancelled_ms BIGINT,
    version BIGINT NOT NULL,
    -- The payment instrument, once a payment sets the agreement up.
    instrument_created_ms BIGINT,
    cardholder_name TEXT,
    first_digits TEXT,
    last_digits TEXT,
    card_brand TEXT,
    card_expiry TEXT,
    card_type TEXT,
    billing_line1 TEXT,
    billing_line2 TEXT,
    billing_postcode TEXT,
    billing_city TEXT,
    billing_country TEXT
);
CREATE INDEX agreements_by_service_created ON agreements (service_id, created_ms DESC, id DESC);
CREATE INDEX agreements_by_service_reference ON agreements (service_id, LOWER(reference));
CREATE TABLE agreement_events (
    agreement_id TEXT NOT NULL REFERENCES agreements (id),
    service_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX agreement_events_by_agreement ON agreement_events (agreement_id, created_ms);
