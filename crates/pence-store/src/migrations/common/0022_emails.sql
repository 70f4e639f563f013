-- The emails paying users get (GOV.UK Pay's email notifications; pence-core/src/emails.rs):
-- which a service sends, and each one written with the change that caused it, for the
-- control API's email sink (issue 15).
ALTER TABLE services ADD COLUMN email_payment_confirmed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE services ADD COLUMN email_refund_issued BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE services ADD COLUMN email_custom_paragraph TEXT;
CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX emails_by_service ON emails (service_id, created_ms);
