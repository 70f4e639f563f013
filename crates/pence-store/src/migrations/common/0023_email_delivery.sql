-- Emails passed on to an SMTP server when the node has one (`[email] smtp_url`): when one
-- was sent, or is being sent (a claim, like webhook messages'), and the last failure.
ALTER TABLE emails ADD COLUMN sent_ms BIGINT;
ALTER TABLE emails ADD COLUMN claim_until_ms BIGINT;
ALTER TABLE emails ADD COLUMN tries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE emails ADD COLUMN last_error TEXT;
CREATE INDEX emails_unsent ON emails (created_ms) WHERE sent_ms IS NULL;
