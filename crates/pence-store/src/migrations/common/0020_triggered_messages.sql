-- Webhook messages a test service asked for through the control API (issue 15), marked so
-- in the delivery log.
ALTER TABLE webhook_messages ADD COLUMN triggered BOOLEAN NOT NULL DEFAULT FALSE;
