-- How a test service's webhook subscription is delivered to badly on purpose (the control
-- API, issue 15; `webhook::DeliveryFaults`). No row: delivered properly.
CREATE TABLE webhook_delivery_faults (
    webhook_id TEXT PRIMARY KEY,
    duplicate BOOLEAN NOT NULL,
    out_of_order BOOLEAN NOT NULL,
    delay_ms BIGINT NOT NULL,
    drop_first_attempts BIGINT NOT NULL,
    wrong_secret BOOLEAN NOT NULL
);
