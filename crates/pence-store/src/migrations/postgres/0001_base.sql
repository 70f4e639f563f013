CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    live BOOLEAN NOT NULL,
    payment_provider TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    rate_limit_post BIGINT,
    rate_limit_get BIGINT,
    moto_enabled BOOLEAN NOT NULL,
    moto_api_enabled BOOLEAN NOT NULL,
    recurring_enabled BOOLEAN NOT NULL,
    zero_amount_enabled BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    token_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reference TEXT NOT NULL,
    description TEXT NOT NULL,
    return_url TEXT,
    language TEXT NOT NULL,
    email TEXT,
    delayed_capture BOOLEAN NOT NULL,
    moto BOOLEAN NOT NULL,
    authorisation_mode TEXT NOT NULL,
    metadata TEXT,
    prefilled_cardholder_name TEXT,
    prefilled_line1 TEXT,
    prefilled_line2 TEXT,
    prefilled_postcode TEXT,
    prefilled_city TEXT,
    prefilled_country TEXT,
    payment_provider TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX payments_by_service_created ON payments (service_id, created_ms DESC);

CREATE TABLE payment_events (
    id BIGSERIAL PRIMARY KEY,
    payment_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX payment_events_by_payment ON payment_events (payment_id, id);
