-- A payment journey: recorded before the user is sent to the payment pages, then kept up to
-- date from the return, webhooks and the mop-up. `rank` orders statuses so a finished journey
-- never goes back (4 = finished).
CREATE TABLE pence_journeys (
    journey_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    description TEXT NOT NULL,
    amount BIGINT NOT NULL,
    payment_id TEXT UNIQUE,
    -- SHA-256 of the secret the user comes back with (in the return URL or a sealed cookie).
    return_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    rank BIGINT NOT NULL,
    code TEXT,
    message TEXT,
    started_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    resolved_by TEXT,
    refund_status TEXT,
    refund_available BIGINT,
    refund_submitted BIGINT,
    -- When the refund summary was true (a message's created_date or a check's time).
    refund_at TEXT,
    -- The mop-up's claim, so several instances never check one journey at once.
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    checked_ms BIGINT,
    -- The mop-up run that last checked it (so one run checks each journey once).
    checked_run TEXT
);
CREATE INDEX pence_journeys_open ON pence_journeys (rank, started_ms);

-- Webhook messages as received (signature checked), stored before the 200.
CREATE TABLE pence_webhook_inbox (
    message_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    -- How many times it was received (GOV.UK Pay sends again when a 200 is late or lost).
    deliveries BIGINT NOT NULL DEFAULT 1,
    -- pending, processed, duplicate, unmatched, failed, held
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    processed_ms BIGINT
);
CREATE INDEX pence_webhook_inbox_due ON pence_webhook_inbox (state, next_ms);

-- Every event processed, once: by message id and by what it says happened.
CREATE TABLE pence_webhook_events (
    message_id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_date TEXT NOT NULL,
    journey_id TEXT,
    status TEXT NOT NULL,
    processed_ms BIGINT NOT NULL,
    UNIQUE (resource_id, event_type, created_date)
);
