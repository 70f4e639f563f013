-- Webhooks (issue 5). A subscription wants some event types; each of its secrets is kept by
-- version so a rotation signs only messages created after it.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    tag TEXT NOT NULL UNIQUE,
    callback_url TEXT NOT NULL,
    description TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    secret_version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX webhooks_by_service ON webhooks (service_id);
CREATE TABLE webhook_event_types (
    webhook_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    PRIMARY KEY (webhook_id, event_type)
);
CREATE TABLE webhook_secrets (
    webhook_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    secret TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, version)
);
-- The outbox: one row per message per subscription, written with the change that causes it.
-- A delivery worker holds a message under `claim` until `lease_ms`.
CREATE TABLE webhook_messages (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_ms BIGINT NOT NULL,
    resource TEXT NOT NULL,
    secret_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    claim TEXT,
    lease_ms BIGINT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
-- Claiming: a subscription's pending messages by when they are due.
CREATE INDEX webhook_messages_due ON webhook_messages (webhook_id, next_attempt_ms) WHERE status = 'pending';
CREATE INDEX webhook_messages_by_webhook ON webhook_messages (webhook_id, created_ms);
-- Recording a batch: the messages a claim holds (few at any time).
CREATE INDEX webhook_messages_claimed ON webhook_messages (claim) WHERE claim IS NOT NULL;
CREATE TABLE webhook_attempts (
    message_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    response_ms BIGINT NOT NULL,
    response_body TEXT
);
CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id, at_ms);
